//! Projects: the example resource, kept in memory.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use actix_web::http::header::ContentType;
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use shared_claims::actix::{Authenticated, SessionChecked};
use shared_claims::{AccessClaims, ErrorBody, Role};
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

/// How many projects the store holds at most (API.md §4): without a cap,
/// anyone who can register could fill the process's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectLimits {
    /// Projects one owner (one token `sub`) may hold.
    pub per_owner: usize,
    /// Projects of all owners together.
    pub total: usize,
}

impl Default for ProjectLimits {
    fn default() -> Self {
        Self {
            per_owner: 1_000,
            total: 100_000,
        }
    }
}

/// Why a project was not stored: 409 `limit_reached`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitReached {
    /// The caller already owns [`ProjectLimits::per_owner`] projects.
    #[error("you already own {0} projects, the most one owner may have")]
    PerOwner(usize),
    /// The store already holds [`ProjectLimits::total`] projects.
    #[error("the service already holds {0} projects, the most it keeps")]
    Total(usize),
}

impl From<LimitReached> for Error {
    fn from(e: LimitReached) -> Self {
        Error::LimitReached(e.to_string())
    }
}

/// The projects, shared by every worker.
#[derive(Debug, Default)]
pub struct ProjectStore {
    limits: ProjectLimits,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Oldest first.
    projects: Vec<Project>,
    /// How many projects each owner holds, so the cap is checked without a scan.
    per_owner: HashMap<String, usize>,
    /// `projects` as the JSON body of `GET /api/projects`, built by the first
    /// read after a change and then shared by every read until the next one:
    /// a read copies a reference, never the list.
    listing: Option<Bytes>,
}

impl ProjectStore {
    /// An empty store with other caps than API.md's (tests use small ones).
    pub fn with_limits(limits: ProjectLimits) -> Self {
        Self {
            limits,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change below leaves the list, the counts and the listing
        // consistent before anything that could panic (serialisation only
        // fills the cache), so a poisoned lock guards a consistent state.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every project, oldest first.
    pub fn list(&self) -> Vec<Project> {
        self.lock().projects.clone()
    }

    /// Every project, oldest first, as a JSON array: the body of
    /// `GET /api/projects`, serialised once per change.
    pub fn listing(&self) -> serde_json::Result<Bytes> {
        let mut inner = self.lock();
        if let Some(listing) = &inner.listing {
            return Ok(listing.clone());
        }
        let listing = Bytes::from(serde_json::to_vec(&inner.projects)?);
        inner.listing = Some(listing.clone());
        Ok(listing)
    }

    /// Adds a project unless its owner or the store is at its cap. The check
    /// and the insert hold one lock, so racing requests cannot pass the cap
    /// together.
    pub fn insert(&self, project: Project) -> Result<(), LimitReached> {
        let mut inner = self.lock();
        if inner.projects.len() >= self.limits.total {
            return Err(LimitReached::Total(self.limits.total));
        }
        let owned = inner.per_owner.get(&project.owner).copied().unwrap_or(0);
        if owned >= self.limits.per_owner {
            return Err(LimitReached::PerOwner(self.limits.per_owner));
        }
        inner.per_owner.insert(project.owner.clone(), owned + 1);
        inner.projects.push(project);
        inner.listing = None;
        Ok(())
    }

    /// Removes the project with this id; whether there was one.
    pub fn remove(&self, id: Uuid) -> bool {
        let mut inner = self.lock();
        let Some(at) = inner.projects.iter().position(|p| p.id == id) else {
            return false;
        };
        let removed = inner.projects.remove(at);
        if let Some(owned) = inner.per_owner.get_mut(&removed.owner) {
            *owned -= 1;
            if *owned == 0 {
                inner.per_owner.remove(&removed.owner);
            }
        }
        inner.listing = None;
        true
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
pub async fn list(
    _user: Authenticated,
    store: web::Data<ProjectStore>,
) -> Result<HttpResponse, Error> {
    let listing = store
        .listing()
        .map_err(|e| Error::Internal(format!("cannot serialise the project list: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(listing))
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
        (status = 409, body = ErrorBody, description = "`limit_reached`: the caller already owns 1,000 \
            projects, or the service already holds 100,000."),
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
    store.insert(project.clone())?;
    Ok(HttpResponse::Created().json(project))
}

/// Deletes a project.
///
/// `DELETE /api/projects/{id}`: admins only. When the service is configured
/// for it (`INTROSPECTION_CLIENT_ID`), the token's session must also still be
/// live at the auth-service.
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
            for another issuer or audience; with session checks on, also a token whose session \
            ended).", headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"resource-service\"`, with \
                `error=\"invalid_token\"` and `error_description` for a refused token (RFC 6750)."),
        )),
        (status = 403, body = ErrorBody, description = "`insufficient_role`: the caller is not an admin."),
        (status = 404, body = ErrorBody, description = "`not_found`: no such project."),
        (status = 503, body = ErrorBody, description = "`not_ready`: with session checks on, the \
            auth-service could not be asked whether the token's session is live."),
    )
)]
pub async fn delete(
    user: Authenticated,
    store: web::Data<ProjectStore>,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    remove(user.require(Role::Admin)?, &store, &id)
}

/// [`delete`] behind the session check: the route table picks this one when
/// introspection is configured, so the document describes both.
pub async fn delete_session_checked(
    user: SessionChecked,
    store: web::Data<ProjectStore>,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    remove(user.require(Role::Admin)?, &store, &id)
}

fn remove(_admin: &AccessClaims, store: &ProjectStore, id: &str) -> Result<HttpResponse, Error> {
    // A string that is not a UUID cannot name a project.
    let id = Uuid::parse_str(id).map_err(|_| Error::NotFound)?;
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
        store.insert(project.clone()).expect("room for a project");
        assert_eq!(store.list(), std::slice::from_ref(&project));
        assert!(store.remove(project.id));
        assert!(!store.remove(project.id));
        assert!(store.list().is_empty());
    }
}
