//! The route tables of `docs/API.md` (§3 for the auth-service, §4 for the
//! resource-service), read from the file so the document checks follow the
//! contract as written rather than a copy of it.

use std::collections::BTreeSet;

/// A route of API.md's tables: its method, path template and every status
/// its success and errors columns name.
#[derive(Debug)]
pub(super) struct ContractRoute {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) statuses: BTreeSet<u16>,
}

/// The routes of the table in API.md's section whose heading starts with
/// `heading` (`## 3.`).
pub(super) fn contract_routes(heading: &str) -> Vec<ContractRoute> {
    let api_md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/API.md"))
        .expect("docs/API.md");
    let section: Vec<&str> = api_md
        .lines()
        .skip_while(|line| !line.starts_with(heading))
        .skip(1)
        .take_while(|line| !line.starts_with("## "))
        .collect();
    let routes: Vec<ContractRoute> = section
        .iter()
        .filter(|line| line.starts_with('|'))
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            let (method, path) = cells.first()?.split_once(' ')?;
            let is_method = ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method);
            if !is_method || !path.starts_with('/') || cells.len() < 3 {
                return None;
            }
            // The last two columns are "success" and "errors".
            let statuses = cells[cells.len() - 2..]
                .iter()
                .flat_map(|cell| statuses_in(cell))
                .collect();
            Some(ContractRoute {
                method: method.to_owned(),
                path: path.to_owned(),
                statuses,
            })
        })
        .collect();
    assert!(
        routes.len() >= 6,
        "API.md {heading}: expected a table of routes, found {routes:?}"
    );
    routes
}

/// The HTTP statuses named in a table cell: runs of exactly three digits
/// from 100 to 599 (so `RFC 6749 §5.1` names none).
fn statuses_in(cell: &str) -> Vec<u16> {
    // Commas stay inside words so that a count such as "100,000" is one
    // word, not the status 100.
    cell.split(|c: char| !c.is_ascii_alphanumeric() && c != ',')
        .map(|word| word.trim_matches(','))
        .filter(|word| word.len() == 3)
        .filter_map(|word| word.parse::<u16>().ok())
        .filter(|status| (100..600).contains(status))
        .collect()
}

#[test]
fn the_contract_tables_are_read_with_their_statuses() {
    let register = contract_routes("## 3.")
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/auth/register")
        .expect("POST /auth/register in API.md §3");
    assert_eq!(
        register.statuses,
        BTreeSet::from([201, 400, 403, 409]),
        "{register:?}"
    );
    assert_eq!(statuses_in("200 RFC 6749 §5.1: `{access_token}`"), [200]);
}
