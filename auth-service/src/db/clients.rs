//! Queries on `clients`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::clients;
use super::AnyConnection;

/// A row of `clients`.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub secret_hash: String,
    pub created_at: NaiveDateTime,
}

/// Registers a client.
pub fn insert(conn: &mut AnyConnection, client: &ClientRow) -> QueryResult<usize> {
    diesel::insert_into(clients::table)
        .values(client)
        .execute(conn)
}

/// Every client, oldest first.
pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<ClientRow>> {
    clients::table
        .order((clients::created_at.asc(), clients::id.asc()))
        .load(conn)
}

/// Removes a client; 0 when there was none with this id.
pub fn delete(conn: &mut AnyConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(clients::table.find(id)).execute(conn)
}

/// The stored hash of a client's secret.
pub fn secret_hash(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<String>> {
    clients::table
        .find(id)
        .select(clients::secret_hash)
        .first(conn)
        .optional()
}
