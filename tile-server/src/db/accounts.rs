//! Users and API clients as stored, and every change to them, audited with the
//! operator or user who made it. Hashes arrive computed: passwords and secrets are
//! checked and hashed in [`crate::auth::accounts`], never here. Tokens are in
//! [`crate::db::sessions`].

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use sqlx::PgPool;

use crate::db::audit::{self, AuditEntry};
use crate::db::error::{Result, StoreError};
use crate::principal::{Principal, PrincipalKind, Role};

/// The audit role of an operator at the command line (`cli:<name>`).
pub const OPERATOR_ROLE: &str = "operator";

/// A user account. `P` is what stands for the password: the plain text an operator
/// gives ([`crate::auth::accounts::NewUser`], checked and hashed there) or its hash as
/// stored ([`UserRecord`]). One shape for both, so the two cannot drift apart.
#[derive(Debug, Clone)]
pub struct UserAccount<'a, P> {
    /// Login name.
    pub username: &'a str,
    /// The password: plain text on the way in, [`Hashed`] on the way to the store.
    pub password: P,
    /// Role.
    pub role: Role,
    /// Counties in scope; the first is the home county.
    pub counties: &'a [&'a str],
}

/// An API client. `S` stands for the secret, as `P` does for [`UserAccount`]'s password.
#[derive(Debug, Clone)]
pub struct ClientAccount<'a, S> {
    /// Client id used to log in.
    pub client_id: &'a str,
    /// The secret: plain text on the way in, [`Hashed`] on the way to the store.
    pub secret: S,
    /// Counties in scope; the first is the home county.
    pub counties: &'a [&'a str],
    /// Own rate limit per minute.
    pub rate_limit_per_minute: Option<u32>,
    /// CIDR allow-list; empty = any address.
    pub allowed_ips: &'a [&'a str],
}

/// An argon2id PHC string: all the store keeps of a password or a secret.
#[derive(Debug, Clone, Copy)]
pub struct Hashed<'a>(pub &'a str);

/// A user account to store.
pub type UserRecord<'a> = UserAccount<'a, Hashed<'a>>;

/// An API client to store.
pub type ClientRecord<'a> = ClientAccount<'a, Hashed<'a>>;

impl<'a, P> UserAccount<'a, P> {
    /// The same account with `password` standing for its password (its hash, say).
    pub fn with_password<Q>(&self, password: Q) -> UserAccount<'a, Q> {
        UserAccount { username: self.username, password, role: self.role, counties: self.counties }
    }
}

impl<'a, S> ClientAccount<'a, S> {
    /// The same client with `secret` standing for its secret (its hash, say).
    pub fn with_secret<T>(&self, secret: T) -> ClientAccount<'a, T> {
        ClientAccount {
            client_id: self.client_id,
            secret,
            counties: self.counties,
            rate_limit_per_minute: self.rate_limit_per_minute,
            allowed_ips: self.allowed_ips,
        }
    }
}

fn home_county<'a>(counties: &[&'a str]) -> Result<&'a str> {
    counties.first().copied().ok_or_else(|| StoreError::Invalid("at least one county is required".into()))
}

/// Stores a user; the audit row names `actor` (`cli:<operator>` from the command
/// line). Returns its id. A taken name is [`StoreError::Duplicate`] (`users_username_key`).
pub async fn insert_user(pool: &PgPool, user: &UserRecord<'_>, actor: &str) -> Result<i64> {
    let home = home_county(user.counties)?;
    let mut tx = pool.begin().await.map_err(StoreError::db("starting user creation"))?;
    let id = sqlx::query_scalar!(
        "INSERT INTO users (county, counties, username, password_hash, role) VALUES ($1, $2, $3, $4, $5) RETURNING user_id",
        home,
        user.counties as _,
        user.username,
        user.password.0,
        user.role.as_str(),
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(StoreError::db("creating user"))?;
    let entry = AuditEntry {
        county: home,
        action: "account.create_user",
        object_type: "user",
        object_key: user.username,
        before: None,
        after: Some(serde_json::json!({ "role": user.role.as_str(), "counties": user.counties })),
    };
    audit::insert(&mut tx, actor, OPERATOR_ROLE, entry).await.map_err(StoreError::db("auditing user creation"))?;
    tx.commit().await.map_err(StoreError::db("committing user creation"))?;
    Ok(id)
}

/// Stores an API client, audited with `actor`; returns its internal key. A taken id
/// is [`StoreError::Duplicate`] (`api_clients_client_id_key`).
pub async fn insert_client(pool: &PgPool, client: &ClientRecord<'_>, actor: &str) -> Result<i64> {
    let home = home_county(client.counties)?;
    let limit = client.rate_limit_per_minute.map(|l| i32::try_from(l).unwrap_or(i32::MAX));
    let mut tx = pool.begin().await.map_err(StoreError::db("starting client creation"))?;
    let pk = sqlx::query_scalar!(
        "INSERT INTO api_clients (county, counties, client_id, secret_hash, rate_limit_per_minute, allowed_ips)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING client_pk",
        home,
        client.counties as _,
        client.client_id,
        client.secret.0,
        limit,
        client.allowed_ips as _,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(StoreError::db("creating API client"))?;
    let entry = AuditEntry {
        county: home,
        action: "account.create_client",
        object_type: "client",
        object_key: client.client_id,
        before: None,
        after: Some(serde_json::json!({
            "counties": client.counties, "rate_limit_per_minute": limit, "allowed_ips": client.allowed_ips
        })),
    };
    audit::insert(&mut tx, actor, OPERATOR_ROLE, entry).await.map_err(StoreError::db("auditing client creation"))?;
    tx.commit().await.map_err(StoreError::db("committing client creation"))?;
    Ok(pk)
}

/// A `users` row as logins read it.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) user_id: i64,
    pub(crate) username: String,
    pub(crate) county: String,
    pub(crate) counties: Vec<String>,
    pub(crate) password_hash: String,
    pub(crate) role: String,
    pub(crate) disabled: bool,
    pub(crate) password_changed_at: DateTime<Utc>,
    pub(crate) must_change_password: bool,
}

/// An `api_clients` row as logins read it.
#[derive(sqlx::FromRow)]
pub(crate) struct ClientRow {
    pub(crate) client_pk: i64,
    pub(crate) client_id: String,
    pub(crate) county: String,
    pub(crate) counties: Vec<String>,
    pub(crate) secret_hash: String,
    pub(crate) rate_limit_per_minute: Option<i32>,
    pub(crate) allowed_ips: Vec<String>,
    pub(crate) disabled: bool,
}

impl UserRow {
    /// An enabled user found through a token (no password fields needed).
    pub(crate) fn resolved(
        user_id: i64,
        username: String,
        county: String,
        counties: Vec<String>,
        role: String,
    ) -> Self {
        Self {
            user_id,
            username,
            county,
            counties,
            password_hash: String::new(),
            role,
            disabled: false,
            password_changed_at: Utc::now(),
            must_change_password: false,
        }
    }

    pub(crate) fn principal(self) -> Result<Principal> {
        let role = Role::from_db(&self.role).ok_or_else(|| StoreError::Internal {
            context: format!("user {} has an unknown role {:?}", self.username, self.role),
            source: None,
        })?;
        Ok(Principal {
            kind: PrincipalKind::User { user_id: self.user_id, username: self.username },
            role,
            counties: self.counties,
            home_county: self.county,
            rate_limit_per_minute: None,
            allowed_ips: Vec::new(),
        })
    }
}

impl ClientRow {
    /// An enabled client found through a token.
    pub(crate) fn resolved(
        client_pk: i64,
        client_id: String,
        county: String,
        counties: Vec<String>,
        rate_limit_per_minute: Option<i32>,
        allowed_ips: Vec<String>,
    ) -> Self {
        Self {
            client_pk,
            client_id,
            county,
            counties,
            secret_hash: String::new(),
            rate_limit_per_minute,
            allowed_ips,
            disabled: false,
        }
    }

    pub(crate) fn principal(self) -> Principal {
        Principal {
            kind: PrincipalKind::Client { client_pk: self.client_pk, client_id: self.client_id },
            role: Role::Registration,
            counties: self.counties,
            home_county: self.county,
            rate_limit_per_minute: self.rate_limit_per_minute.and_then(|l| u32::try_from(l).ok()),
            // Entries are validated on insert; see parse_allow_list for bad ones.
            allowed_ips: parse_allow_list(&self.allowed_ips),
        }
    }
}

/// Parses CIDR strings; if any entry is bad the result is a list that matches
/// nothing (fail closed) rather than an empty list that matches everything.
fn parse_allow_list(entries: &[String]) -> Vec<IpNet> {
    let parsed: Result<Vec<IpNet>, _> = entries.iter().map(|e| e.parse::<IpNet>()).collect();
    match parsed {
        Ok(list) => list,
        Err(_) => vec![IpNet::V4(ipnet::Ipv4Net::new(std::net::Ipv4Addr::UNSPECIFIED, 32).unwrap_or_default())],
    }
}

/// An audited change to a user account by an operator.
async fn change_user(
    pool: &PgPool,
    username: &str,
    actor: &str,
    action: &str,
    sql: &str,
    bind: Option<&str>,
    revoke_sessions: bool,
) -> Result<()> {
    let mut tx = pool.begin().await.map_err(StoreError::db("starting account change"))?;
    let before = sqlx::query!(
        r#"SELECT user_id, county::text AS "county!", role, disabled, must_change_password
           FROM users WHERE username = $1 FOR UPDATE"#,
        username,
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(StoreError::db("loading user"))?;
    let Some(before) = before else {
        return Err(StoreError::NotFound(format!("user {username}")));
    };
    let user_id = before.user_id;
    let mut q = sqlx::query(sql).bind(user_id);
    if let Some(b) = bind {
        q = q.bind(b);
    }
    q.execute(&mut *tx).await.map_err(StoreError::db("changing user"))?;
    if revoke_sessions {
        sqlx::query!("UPDATE tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", user_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("ending sessions"))?;
    }
    let after = sqlx::query!("SELECT role, disabled, must_change_password FROM users WHERE user_id = $1", user_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::db("reloading user"))?;
    let image = |role: &str, disabled: bool, must_change: bool| serde_json::json!({ "role": role, "disabled": disabled, "must_change_password": must_change });
    let entry = AuditEntry {
        county: &before.county,
        action,
        object_type: "user",
        object_key: username,
        before: Some(image(&before.role, before.disabled, before.must_change_password)),
        after: Some(image(&after.role, after.disabled, after.must_change_password)),
    };
    audit::insert(&mut tx, actor, OPERATOR_ROLE, entry).await.map_err(StoreError::db("auditing account change"))?;
    tx.commit().await.map_err(StoreError::db("committing account change"))
}

/// Changes a user's role; their sessions end (the new role applies at the next login).
/// The `users_role_check` constraint refuses `Registration` (a client role).
pub async fn set_role(pool: &PgPool, username: &str, role: Role, actor: &str) -> Result<()> {
    let sql = "UPDATE users SET role = $2 WHERE user_id = $1";
    change_user(pool, username, actor, "account.set_role", sql, Some(role.as_str()), true).await
}

/// Disables (or enables) a user; disabling ends their sessions.
pub async fn set_disabled(pool: &PgPool, username: &str, disabled: bool, actor: &str) -> Result<()> {
    let (action, sql) = if disabled {
        ("account.disable", "UPDATE users SET disabled = TRUE WHERE user_id = $1")
    } else {
        ("account.enable", "UPDATE users SET disabled = FALSE WHERE user_id = $1")
    };
    change_user(pool, username, actor, action, sql, None, disabled).await
}

/// Expires a user's password: the next login must change it first; sessions end.
pub async fn expire_password(pool: &PgPool, username: &str, actor: &str) -> Result<()> {
    let sql = "UPDATE users SET must_change_password = TRUE WHERE user_id = $1";
    change_user(pool, username, actor, "account.expire_password", sql, None, true).await
}

/// What a password change checks the current password against.
#[derive(Debug, Clone)]
pub struct StoredPassword {
    /// `users.user_id`.
    pub user_id: i64,
    /// Home county (of the audit row).
    pub county: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Whether the account is disabled.
    pub disabled: bool,
}

/// The stored password of a user, if the user exists.
pub async fn password_of(pool: &PgPool, username: &str) -> Result<Option<StoredPassword>> {
    sqlx::query_as!(
        StoredPassword,
        r#"SELECT user_id, county::text AS "county!", password_hash, disabled FROM users WHERE username = $1"#,
        username,
    )
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("loading user"))
}

/// Stores a user's new password hash (the user proved the old one): the password is
/// no longer expired, every session of the user ends; audited as the user.
pub async fn store_password(pool: &PgPool, user: &StoredPassword, username: &str, new_hash: &str) -> Result<()> {
    let mut tx = pool.begin().await.map_err(StoreError::db("starting password change"))?;
    sqlx::query!(
        "UPDATE users SET password_hash = $2, password_changed_at = now(), must_change_password = FALSE
         WHERE user_id = $1",
        user.user_id,
        new_hash,
    )
    .execute(&mut *tx)
    .await
    .map_err(StoreError::db("storing password"))?;
    sqlx::query!("UPDATE tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", user.user_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("ending sessions"))?;
    let entry = AuditEntry {
        county: &user.county,
        action: "account.change_password",
        object_type: "user",
        object_key: username,
        before: None,
        after: Some(serde_json::json!({ "sessions_ended": true })),
    };
    audit::insert(&mut tx, &format!("user:{username}"), "user", entry)
        .await
        .map_err(StoreError::db("auditing password change"))?;
    tx.commit().await.map_err(StoreError::db("committing password change"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_allow_list_fails_closed() {
        let list = parse_allow_list(&["10.0.0.0/8".into(), "garbage".into()]);
        assert_eq!(list.len(), 1);
        assert!(
            !list[0].contains(&"10.1.2.3".parse::<std::net::IpAddr>().unwrap_or(std::net::IpAddr::from([1, 1, 1, 1])))
        );
        assert_eq!(parse_allow_list(&["10.0.0.0/8".into()]).len(), 1);
    }
}
