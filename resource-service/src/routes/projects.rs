//! Projects: the example resource, kept in memory.

use std::sync::{Mutex, MutexGuard, PoisonError};

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use shared_claims::actix::Authenticated;
use shared_claims::{ErrorBody, Role};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Error;

/// A project as stored and as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Project {
    /// Its id, a random UUID.
    pub id: Uuid,
    /// Its name, trimmed, 1 to [`ProjectName::MAX_CHARS`] characters.
    pub name: String,
    /// The creator's user id (the token's `sub`).
    #[schema(format = Uuid)]
    pub owner: String,
}

/// A validated project name: trimmed, not empty, at most
/// [`ProjectName::MAX_CHARS`] characters. [`ProjectName::parse`] is the only way in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName(String);

impl ProjectName {
    /// The longest name, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Trims `raw` and checks it.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(Error::InvalidRequest("name must not be empty".into()));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(Error::InvalidRequest(format!(
                "name must be at most {} characters",
                Self::MAX_CHARS
            )));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The projects, shared by every worker.
#[derive(Debug, Default)]
pub struct ProjectStore {
    projects: Mutex<Vec<Project>>,
}

impl ProjectStore {
    fn lock(&self) -> MutexGuard<'_, Vec<Project>> {
        // Every change below is a single push or remove, so a panic while the
        // lock was held cannot have left the list half-changed.
        self.projects.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every project, oldest first.
    pub fn list(&self) -> Vec<Project> {
        self.lock().clone()
    }

    /// Adds a project.
    pub fn insert(&self, project: Project) {
        self.lock().push(project);
    }

    /// Removes the project with this id; whether there was one.
    pub fn remove(&self, id: Uuid) -> bool {
        let mut projects = self.lock();
        let before = projects.len();
        projects.retain(|p| p.id != id);
        projects.len() != before
    }
}

/// The body of `POST /api/projects`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewProject {
    /// The wanted name: trimmed, then 1 to 200 characters.
    #[schema(example = "Apollo", min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
}

/// Lists the projects.
///
/// `GET /api/projects`: every project.
#[utoipa::path(
    get,
    path = "/api/projects",
    operation_id = "list_projects",
    tag = "projects",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every project, oldest first.", body = Vec<Project>),
        (status = 401, body = ErrorBody, description = "No access token (`unauthorized`), or a refused one \
            (`invalid_token`: malformed, badly signed, expired, not yet valid, of the wrong type, or \
            for another issuer or audience).", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"resource-service\"`, with \
                `error=\"invalid_token\"` and `error_description` for a refused token (RFC 6750)."),
        )),
    )
)]
pub async fn list(_user: Authenticated, store: web::Data<ProjectStore>) -> HttpResponse {
    HttpResponse::Ok().json(store.list())
}

/// Creates a project.
///
/// `POST /api/projects`: creates a project owned by the caller.
#[utoipa::path(
    post,
    path = "/api/projects",
    operation_id = "create_project",
    tag = "projects",
    security(("bearer" = [])),
    request_body = NewProject,
    responses(
        (status = 201, description = "The new project.", body = Project),
        (status = 400, body = ErrorBody, description = "`invalid_request`: a malformed body, a missing \
            field, or a name that is blank or over 200 characters."),
        (status = 401, body = ErrorBody, description = "No access token (`unauthorized`), or a refused one \
            (`invalid_token`: malformed, badly signed, expired, not yet valid, of the wrong type, or \
            for another issuer or audience).", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"resource-service\"`, with \
                `error=\"invalid_token\"` and `error_description` for a refused token (RFC 6750)."),
        )),
        (status = 413, body = ErrorBody, description = "`payload_too_large`: the body is over 16 KiB."),
        (status = 415, body = ErrorBody, description = "`unsupported_media_type`: the body is not `application/json`."),
    )
)]
pub async fn create(
    user: Authenticated,
    store: web::Data<ProjectStore>,
    body: web::Json<NewProject>,
) -> Result<HttpResponse, Error> {
    let name = ProjectName::parse(&body.name)?;
    let project = Project {
        id: Uuid::new_v4(),
        name: name.into_inner(),
        owner: user.into_claims().sub,
    };
    store.insert(project.clone());
    Ok(HttpResponse::Created().json(project))
}

/// Deletes a project.
///
/// `DELETE /api/projects/{id}`: admins only.
#[utoipa::path(
    delete,
    path = "/api/projects/{id}",
    operation_id = "delete_project",
    tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The project id.")),
    responses(
        (status = 204, description = "The project is deleted."),
        (status = 401, body = ErrorBody, description = "No access token (`unauthorized`), or a refused one \
            (`invalid_token`: malformed, badly signed, expired, not yet valid, of the wrong type, or \
            for another issuer or audience).", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"resource-service\"`, with \
                `error=\"invalid_token\"` and `error_description` for a refused token (RFC 6750)."),
        )),
        (status = 403, body = ErrorBody, description = "`insufficient_role`: the caller is not an admin."),
        (status = 404, body = ErrorBody, description = "`not_found`: no such project."),
    )
)]
pub async fn delete(
    user: Authenticated,
    store: web::Data<ProjectStore>,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    user.require(Role::Admin)?;
    // A string that is not a UUID cannot name a project.
    let id = Uuid::parse_str(&id).map_err(|_| Error::NotFound)?;
    if store.remove(id) {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(Error::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed() {
        let name = ProjectName::parse("  Apollo \n").expect("a valid name");
        assert_eq!(name.into_inner(), "Apollo");
    }

    #[test]
    fn blank_names_are_refused() {
        for blank in ["", "   ", "\t\n"] {
            assert!(ProjectName::parse(blank).is_err(), "{blank:?}");
        }
    }

    #[test]
    fn the_limit_counts_characters_not_bytes() {
        assert!(ProjectName::parse(&"é".repeat(200)).is_ok());
        assert!(ProjectName::parse(&"a".repeat(201)).is_err());
    }

    #[test]
    fn removing_reports_whether_the_project_existed() {
        let store = ProjectStore::default();
        let project = Project {
            id: Uuid::new_v4(),
            name: "p".into(),
            owner: "u".into(),
        };
        store.insert(project.clone());
        assert_eq!(store.list(), std::slice::from_ref(&project));
        assert!(store.remove(project.id));
        assert!(!store.remove(project.id));
        assert!(store.list().is_empty());
    }
}
