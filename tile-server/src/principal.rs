//! Who is calling (a user or an API client), their role, their counties, and the
//! permission matrix: which role may do which action.
//!
//! Plain data, a leaf of the crate: [`crate::auth`] resolves a principal from a token,
//! [`crate::db`] reads and writes the rows it comes from, and both import it from here
//! (so neither imports the other for it). A refusal is a [`Denied`], which the HTTP
//! layer and the store each turn into their own error.
//!
//! ```
//! use tile_server::auth::{Action, Role};
//! assert!(Role::Reviewer.allows(Action::Review));
//! assert!(!Role::Registration.allows(Action::ReadSpatial)); // no coordinates leave
//! assert!(!Role::Surveyor.allows(Action::SeePii));
//! ```

use ipnet::IpNet;
use serde::Serialize;
use utoipa::ToSchema;

/// Roles. The first four are people; `Registration` is the registration system (登记系统).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 测绘员: reads, hands in result packages.
    Surveyor,
    /// 审核员: reads, accepts or returns submissions, sees owner data.
    Reviewer,
    /// Batch importer: reads and writes cadastral objects.
    Importer,
    /// Everything.
    Admin,
    /// API client of the registration system: unit tables only, read-only, no coordinates.
    Registration,
}

impl Role {
    /// All roles, for permission-matrix tests.
    pub const ALL: [Role; 5] = [Role::Surveyor, Role::Reviewer, Role::Importer, Role::Admin, Role::Registration];

    /// Parses the `users.role` column.
    pub fn from_db(s: &str) -> Option<Role> {
        Some(match s {
            "surveyor" => Role::Surveyor,
            "reviewer" => Role::Reviewer,
            "importer" => Role::Importer,
            "admin" => Role::Admin,
            _ => return None,
        })
    }

    /// The name used in the database and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Surveyor => "surveyor",
            Role::Reviewer => "reviewer",
            Role::Importer => "importer",
            Role::Admin => "admin",
            Role::Registration => "registration",
        }
    }

    /// The permission matrix.
    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        use Role::*;
        match (self, action) {
            (Admin, _) => true,
            (_, ReadUnitTable) => true,
            (Registration, _) => false,
            (_, ReadSpatial) => true,
            (Importer, WriteCadastre) => true,
            (Surveyor, Submit) => true,
            (Reviewer, Review | SeePii) => true,
            _ => false,
        }
    }
}

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read objects with geometry (parcels, buildings, boundary points).
    ReadSpatial,
    /// Read unit tables, units, address search, change feed (no coordinates).
    ReadUnitTable,
    /// Create or edit parcels, buildings, households.
    WriteCadastre,
    /// Hand in a result package.
    Submit,
    /// List and decide submissions.
    Review,
    /// See owner names and ID numbers unmasked.
    SeePii,
    /// Change legal status flags (查封 sealed, 抵押 mortgaged): these come from
    /// registration; only an administrator sets them by hand.
    WriteLegalStatus,
}

impl Action {
    /// Verb phrase for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Action::ReadSpatial => "read spatial data",
            Action::ReadUnitTable => "read unit tables",
            Action::WriteCadastre => "write cadastral data",
            Action::Submit => "hand in submissions",
            Action::Review => "review submissions",
            Action::SeePii => "see personal data",
            Action::WriteLegalStatus => "change legal status (查封 sealed / 抵押 mortgaged)",
        }
    }
}

/// Whether a principal is a person or a system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A user account.
    User {
        /// `users.user_id`.
        user_id: i64,
        /// `users.username`.
        username: String,
    },
    /// An API client.
    Client {
        /// `api_clients.client_pk`.
        client_pk: i64,
        /// `api_clients.client_id`.
        client_id: String,
    },
}

/// An authenticated caller, resolved from a bearer token.
#[derive(Debug, Clone)]
pub struct Principal {
    /// User or client.
    pub kind: PrincipalKind,
    /// Role (clients are always `Registration`).
    pub role: Role,
    /// Counties (6-digit codes) the caller may see.
    pub counties: Vec<String>,
    /// Home county (written into audit rows of writes without another county).
    pub home_county: String,
    /// Own rate limit, if any.
    pub rate_limit_per_minute: Option<u32>,
    /// Addresses the caller may call from; empty = any.
    pub allowed_ips: Vec<IpNet>,
}

/// A principal refused: its role may not do something, or an object is outside its counties.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The role may not (verb phrase, e.g. "review submissions"); HTTP 403 `forbidden`.
    #[error("your role may not {0}")]
    Action(&'static str),
    /// The county is outside the caller's scope; HTTP 403 `county_forbidden`.
    #[error("county {0} is outside your scope")]
    County(String),
}

impl Principal {
    /// Fails (403 at the HTTP edge) unless the role allows `action`.
    pub fn require(&self, action: Action) -> Result<(), Denied> {
        if self.role.allows(action) {
            Ok(())
        } else {
            Err(Denied::Action(action.describe()))
        }
    }

    /// Fails (403 `county_forbidden` at the HTTP edge) unless `county` is in scope.
    pub fn require_county(&self, county: &str) -> Result<(), Denied> {
        if self.counties.iter().any(|c| c == county) {
            Ok(())
        } else {
            Err(Denied::County(county.to_owned()))
        }
    }

    /// Whether owner data may be shown unmasked.
    pub fn may_see_pii(&self) -> bool {
        self.role.allows(Action::SeePii)
    }

    /// `user:<name>` or `client:<id>`, as written in the audit log.
    pub fn actor(&self) -> String {
        match &self.kind {
            PrincipalKind::User { username, .. } => format!("user:{username}"),
            PrincipalKind::Client { client_id, .. } => format!("client:{client_id}"),
        }
    }

    /// The user id, if a user.
    pub fn user_id(&self) -> Option<i64> {
        match self.kind {
            PrincipalKind::User { user_id, .. } => Some(user_id),
            PrincipalKind::Client { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_is_read_only_without_geometry() {
        for a in [Action::ReadSpatial, Action::WriteCadastre, Action::Submit, Action::Review, Action::SeePii] {
            assert!(!Role::Registration.allows(a), "{a:?}");
        }
        assert!(Role::Registration.allows(Action::ReadUnitTable));
    }

    #[test]
    fn only_reviewer_and_admin_see_pii() {
        let seers: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(Action::SeePii)).collect();
        assert_eq!(seers, vec![Role::Reviewer, Role::Admin]);
    }

    #[test]
    fn writers() {
        let w: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(Action::WriteCadastre)).collect();
        assert_eq!(w, vec![Role::Importer, Role::Admin]);
    }

    #[test]
    fn only_admin_changes_legal_status() {
        let w: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(Action::WriteLegalStatus)).collect();
        assert_eq!(w, vec![Role::Admin]);
    }

    #[test]
    fn db_names_roundtrip() {
        for r in Role::ALL.into_iter().filter(|r| *r != Role::Registration) {
            assert_eq!(Role::from_db(r.as_str()), Some(r));
        }
        assert_eq!(Role::from_db("registration"), None);
    }
}
