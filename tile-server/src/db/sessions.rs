//! Sessions as stored: bearer tokens (by their SHA-256 only), the cap on sessions per
//! user, the idle timeout, and the audit of every login attempt with its source.
//! Checking passwords and making tokens is [`crate::auth::login`]'s work: this module
//! receives hashes and stores or looks them up.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::db::accounts::{ClientRow, UserRow};
use crate::db::audit::{self, AuditEntry};
use crate::db::error::{Result, StoreError};
use crate::principal::{Principal, PrincipalKind};

/// SHA-256 of a token's text: what the store keeps instead of the token.
pub type TokenHash = [u8; 32];

/// The user a login names, with what the login checks.
pub(crate) async fn find_user(pool: &PgPool, username: &str) -> Result<Option<UserRow>> {
    sqlx::query_as!(
        UserRow,
        r#"SELECT user_id, username, county, array(SELECT unnest(counties)::text) AS "counties!",
                  password_hash, role, disabled, password_changed_at, must_change_password
           FROM users WHERE username = $1"#,
        username,
    )
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("loading user"))
}

/// The API client a login names.
pub(crate) async fn find_client(pool: &PgPool, client_id: &str) -> Result<Option<ClientRow>> {
    sqlx::query_as!(
        ClientRow,
        r#"SELECT client_pk, client_id, county, array(SELECT unnest(counties)::text) AS "counties!",
                  secret_hash, rate_limit_per_minute, allowed_ips, disabled
           FROM api_clients WHERE client_id = $1"#,
        client_id,
    )
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("loading API client"))
}

/// Audits a login attempt that did not give a token, outside any transaction.
pub async fn audit_refused_login(pool: &PgPool, kind: &str, name: &str, county: &str, reason: &str, extra: u32) {
    let after = if extra > 0 {
        serde_json::json!({ "reason": reason, "similar_events_not_logged": extra })
    } else {
        serde_json::json!({ "reason": reason })
    };
    let entry = AuditEntry {
        county,
        action: if reason == "throttled" { "auth.login_throttled" } else { "auth.login_failed" },
        object_type: kind,
        object_key: name,
        before: None,
        after: Some(after),
    };
    if let Err(e) = audit::security_event(pool, "anonymous", "none", entry).await {
        tracing::error!(error = %e, "could not audit a refused login");
    }
}

/// Stores a new token (by its hash), ending the user's oldest sessions beyond
/// `max_sessions`, audited as the login of `principal`.
pub async fn store_token(
    pool: &PgPool,
    principal: &Principal,
    hash: &TokenHash,
    expires_at: DateTime<Utc>,
    max_sessions: i64,
) -> Result<()> {
    let (user_id, client_pk) = match &principal.kind {
        PrincipalKind::User { user_id, .. } => (Some(*user_id), None),
        PrincipalKind::Client { client_pk, .. } => (None, Some(*client_pk)),
    };
    let mut tx = pool.begin().await.map_err(StoreError::db("starting login"))?;
    let key = principal.actor();
    if let Some(user_id) = user_id {
        // One login at a time per user, so concurrent logins cannot exceed the cap.
        sqlx::query_scalar!("SELECT 1 AS one FROM users WHERE user_id = $1 FOR UPDATE", user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::db("locking user for login"))?;
        let ended: Vec<Vec<u8>> = sqlx::query_scalar!(
            "UPDATE tokens SET revoked_at = now() WHERE token_hash IN (
                 SELECT token_hash FROM tokens
                 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
                 ORDER BY created_at DESC OFFSET $2)
             RETURNING token_hash",
            user_id,
            max_sessions - 1,
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::db("ending old sessions"))?;
        if !ended.is_empty() {
            audit::record(
                &mut tx,
                principal,
                AuditEntry {
                    county: &principal.home_county,
                    action: "auth.sessions_ended",
                    object_type: "token",
                    object_key: &key,
                    before: None,
                    after: Some(serde_json::json!({ "ended": ended.len(), "cap": max_sessions })),
                },
            )
            .await?;
        }
    }
    sqlx::query!(
        "INSERT INTO tokens (token_hash, county, user_id, client_pk, expires_at) VALUES ($1, $2, $3, $4, $5)",
        &hash[..],
        principal.home_county.as_str(),
        user_id,
        client_pk,
        expires_at,
    )
    .execute(&mut *tx)
    .await
    .map_err(StoreError::db("storing token"))?;
    audit::record(
        &mut tx,
        principal,
        AuditEntry {
            county: &principal.home_county,
            action: "auth.login",
            object_type: "token",
            object_key: &key,
            before: None,
            after: Some(serde_json::json!({ "expires_at": expires_at })),
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::db("committing login"))
}

/// The principal behind a token hash with the token's expiry, if the token is known,
/// unexpired, unrevoked, not idle longer than `idle_minutes` (users) and its account
/// enabled; records the use (idle timeout). One statement (token, activity, user and
/// client joined): this runs on every request the token cache does not answer.
pub async fn principal_by_token(
    pool: &PgPool,
    hash: &TokenHash,
    idle_minutes: i64,
) -> Result<Option<(Principal, DateTime<Utc>)>> {
    let row = sqlx::query_as!(
        TokenRow,
        r#"WITH t AS (
             SELECT t.token_hash, t.expires_at,
                    u.user_id, u.username, u.county::text AS user_county,
                    array(SELECT unnest(u.counties)::text) AS user_counties, u.role,
                    c.client_pk, c.client_id, c.county::text AS client_county,
                    array(SELECT unnest(c.counties)::text) AS client_counties, c.rate_limit_per_minute, c.allowed_ips
             FROM tokens t
             LEFT JOIN token_activity a ON a.token_hash = t.token_hash
             LEFT JOIN users u ON u.user_id = t.user_id AND NOT u.disabled
             LEFT JOIN api_clients c ON c.client_pk = t.client_pk AND NOT c.disabled
             WHERE t.token_hash = $1 AND t.expires_at > now() AND t.revoked_at IS NULL
               AND (t.user_id IS NULL OR coalesce(a.last_used_at, t.created_at) > now() - make_interval(mins => $2))
         ), touched AS (
             INSERT INTO token_activity (token_hash, last_used_at) SELECT token_hash, now() FROM t
             ON CONFLICT (token_hash) DO UPDATE SET last_used_at = excluded.last_used_at
         )
         SELECT expires_at AS "expires_at!", user_id AS "user_id?", username AS "username?",
                user_county AS "user_county?", user_counties AS "user_counties!", role AS "role?",
                client_pk AS "client_pk?", client_id AS "client_id?", client_county AS "client_county?",
                client_counties AS "client_counties!", rate_limit_per_minute AS "rate_limit_per_minute?",
                allowed_ips AS "allowed_ips?"
         FROM t"#,
        &hash[..],
        i32::try_from(idle_minutes).unwrap_or(i32::MAX),
    )
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("looking up token"))?;
    let Some(row) = row else { return Ok(None) };
    let expires_at = row.expires_at;
    Ok(row.principal()?.map(|p| (p, expires_at)))
}

/// A token with its (enabled) user or client, from [`resolve_token_until`].
#[derive(sqlx::FromRow)]
struct TokenRow {
    expires_at: DateTime<Utc>,
    user_id: Option<i64>,
    username: Option<String>,
    user_county: Option<String>,
    user_counties: Vec<String>,
    role: Option<String>,
    client_pk: Option<i64>,
    client_id: Option<String>,
    client_county: Option<String>,
    client_counties: Vec<String>,
    rate_limit_per_minute: Option<i32>,
    allowed_ips: Option<Vec<String>>,
}

impl TokenRow {
    /// The principal, or `None` when the account is disabled (the join found nothing).
    fn principal(self) -> Result<Option<Principal>> {
        if let (Some(user_id), Some(username), Some(county), Some(role)) =
            (self.user_id, self.username, self.user_county, self.role)
        {
            return UserRow::resolved(user_id, username, county, self.user_counties, role).principal().map(Some);
        }
        if let (Some(client_pk), Some(client_id), Some(county)) = (self.client_pk, self.client_id, self.client_county) {
            let row = ClientRow::resolved(
                client_pk,
                client_id,
                county,
                self.client_counties,
                self.rate_limit_per_minute,
                self.allowed_ips.unwrap_or_default(),
            );
            return Ok(Some(row.principal()));
        }
        Ok(None)
    }
}

/// Revokes a token (logout) by its hash, audited.
pub async fn revoke_token(pool: &PgPool, who: &Principal, hash: &TokenHash) -> Result<()> {
    let mut tx = pool.begin().await.map_err(StoreError::db("starting logout"))?;
    sqlx::query!("UPDATE tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL", &hash[..])
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("revoking token"))?;
    let key = who.actor();
    audit::record(
        &mut tx,
        who,
        AuditEntry {
            county: &who.home_county,
            action: "auth.logout",
            object_type: "token",
            object_key: &key,
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::db("committing logout"))
}
