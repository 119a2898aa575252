//! Logins and sessions (bearer tokens): checking credentials on the hashing
//! pool, password expiry, the cap on sessions per user, the idle timeout, and
//! the audit of every attempt (successful, failed or refused) with its source.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::auth::hash_pool::HashPool;
use crate::auth::password::{dummy_hash, verify_password};
use crate::auth::token::{hash_token, new_token};
use crate::auth::{Principal, PrincipalKind};
use crate::db::accounts::{ClientRow, UserRow, CLIENT_COLUMNS, USER_COLUMNS};
use crate::db::audit::{self, AuditEntry, NO_COUNTY};
use crate::error::{AppError, Result};

/// Session rules, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Token lifetime.
    pub ttl_minutes: i64,
    /// A user's token unused this long stops working (API clients are exempt).
    pub idle_minutes: i64,
    /// Sessions a user may hold; a login beyond ends the oldest.
    pub max_sessions: i64,
    /// Password lifetime in days (0 = none).
    pub password_max_age_days: i64,
}

impl SessionPolicy {
    /// The policy of the settings.
    pub fn of(s: &crate::config::Settings) -> Self {
        Self {
            ttl_minutes: s.token_ttl_minutes,
            idle_minutes: s.session_idle_minutes,
            max_sessions: s.max_sessions_per_user,
            password_max_age_days: s.password_max_age_days,
        }
    }
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self::of(&crate::config::Settings::default())
    }
}

/// What a login presents.
#[derive(Debug, Clone, Copy)]
pub enum Credentials<'a> {
    /// A person.
    User {
        /// User name.
        username: &'a str,
        /// Password.
        password: &'a str,
    },
    /// A system.
    Client {
        /// Client id.
        client_id: &'a str,
        /// Secret.
        secret: &'a str,
    },
}

impl Credentials<'_> {
    /// The name tried (user name or client id).
    pub fn name(&self) -> &str {
        match self {
            Credentials::User { username, .. } => username,
            Credentials::Client { client_id, .. } => client_id,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Credentials::User { .. } => "user",
            Credentials::Client { .. } => "client",
        }
    }
}

/// A token handed out by a login.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The token text (shown once).
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The principal it stands for.
    pub principal: Principal,
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

/// Checks credentials (argon2 on `hashing`) and issues a token; every outcome is audited.
pub async fn login(
    pool: &PgPool,
    hashing: &HashPool,
    creds: Credentials<'_>,
    policy: SessionPolicy,
) -> Result<IssuedToken> {
    let (principal, stored_hash, disabled, expired) = match creds {
        Credentials::User { username, .. } => {
            let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1"))
                .bind(username)
                .fetch_optional(pool)
                .await
                .map_err(AppError::db("loading user"))?;
            match row {
                None => (None, None, false, false),
                Some(r) => {
                    let max_age = policy.password_max_age_days;
                    let expired = r.must_change_password
                        || (max_age > 0 && r.password_changed_at < Utc::now() - Duration::days(max_age));
                    let (hash, disabled) = (r.password_hash.clone(), r.disabled);
                    (Some(r.principal()?), Some(hash), disabled, expired)
                }
            }
        }
        Credentials::Client { client_id, .. } => {
            let row: Option<ClientRow> =
                sqlx::query_as(&format!("SELECT {CLIENT_COLUMNS} FROM api_clients WHERE client_id = $1"))
                    .bind(client_id)
                    .fetch_optional(pool)
                    .await
                    .map_err(AppError::db("loading API client"))?;
            match row {
                None => (None, None, false, false),
                Some(r) => {
                    let (hash, disabled) = (r.secret_hash.clone(), r.disabled);
                    (Some(r.principal()), Some(hash), disabled, false)
                }
            }
        }
    };
    let secret = match creds {
        Credentials::User { password, .. } => password,
        Credentials::Client { secret, .. } => secret,
    }
    .to_owned();
    // An unknown name costs the same hash, so timing does not tell which names exist.
    let known = stored_hash.is_some();
    let phc = stored_hash.unwrap_or_else(|| dummy_hash().to_owned());
    let matches = hashing.run(move || verify_password(&secret, &phc)).await?;
    let county = principal.as_ref().map_or(NO_COUNTY, |p| p.home_county.as_str()).to_owned();
    let refused = match (known, matches, disabled) {
        (false, _, _) => Some("unknown_name"),
        (true, false, _) => Some("wrong_password"),
        (true, true, true) => Some("disabled"),
        (true, true, false) => None,
    };
    if let Some(reason) = refused {
        audit_refused_login(pool, creds.kind(), creds.name(), &county, reason, 0).await;
        return Err(AppError::InvalidCredentials);
    }
    let Some(principal) = principal else { return Err(AppError::InvalidCredentials) };
    if expired {
        audit_refused_login(pool, creds.kind(), creds.name(), &county, "password_expired", 0).await;
        return Err(AppError::PasswordExpired);
    }
    issue(pool, principal, policy).await
}

/// Stores a new token, ending the user's oldest sessions beyond the cap, audited.
async fn issue(pool: &PgPool, principal: Principal, policy: SessionPolicy) -> Result<IssuedToken> {
    let (token, hash) = new_token();
    let expires_at = Utc::now() + Duration::minutes(policy.ttl_minutes);
    let (user_id, client_pk) = match &principal.kind {
        PrincipalKind::User { user_id, .. } => (Some(*user_id), None),
        PrincipalKind::Client { client_pk, .. } => (None, Some(*client_pk)),
    };
    let mut tx = pool.begin().await.map_err(AppError::db("starting login"))?;
    let key = principal.actor();
    if let Some(user_id) = user_id {
        // One login at a time per user, so concurrent logins cannot exceed the cap.
        sqlx::query("SELECT 1 FROM users WHERE user_id = $1 FOR UPDATE")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(AppError::db("locking user for login"))?;
        let ended: Vec<Vec<u8>> = sqlx::query_scalar(
            "UPDATE tokens SET revoked_at = now() WHERE token_hash IN (
                 SELECT token_hash FROM tokens
                 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
                 ORDER BY created_at DESC OFFSET $2)
             RETURNING token_hash",
        )
        .bind(user_id)
        .bind(policy.max_sessions - 1)
        .fetch_all(&mut *tx)
        .await
        .map_err(AppError::db("ending old sessions"))?;
        if !ended.is_empty() {
            audit::record(
                &mut tx,
                &principal,
                AuditEntry {
                    county: &principal.home_county,
                    action: "auth.sessions_ended",
                    object_type: "token",
                    object_key: &key,
                    before: None,
                    after: Some(serde_json::json!({ "ended": ended.len(), "cap": policy.max_sessions })),
                },
            )
            .await?;
        }
    }
    sqlx::query("INSERT INTO tokens (token_hash, county, user_id, client_pk, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&hash[..])
        .bind(&principal.home_county)
        .bind(user_id)
        .bind(client_pk)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(AppError::db("storing token"))?;
    audit::record(
        &mut tx,
        &principal,
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
    tx.commit().await.map_err(AppError::db("committing login"))?;
    Ok(IssuedToken { token, expires_at, principal })
}

/// The principal behind a token, if the token is known, unexpired, unrevoked,
/// not idle too long (users) and its account enabled. Default session policy.
pub async fn resolve_token(pool: &PgPool, token: &str) -> Result<Option<Principal>> {
    Ok(resolve_token_until(pool, token, SessionPolicy::default().idle_minutes).await?.map(|(p, _)| p))
}

/// [`resolve_token`] with the token's expiry, and recording the use (idle timeout).
/// One statement (token, activity, user and client joined): this runs on every
/// request the token cache does not answer.
pub async fn resolve_token_until(
    pool: &PgPool,
    token: &str,
    idle_minutes: i64,
) -> Result<Option<(Principal, DateTime<Utc>)>> {
    let hash = hash_token(token);
    let row: Option<TokenRow> = sqlx::query_as(
        "WITH t AS (
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
         SELECT expires_at, user_id, username, user_county, user_counties, role,
                client_pk, client_id, client_county, client_counties, rate_limit_per_minute, allowed_ips
         FROM t",
    )
    .bind(&hash[..])
    .bind(i32::try_from(idle_minutes).unwrap_or(i32::MAX))
    .fetch_optional(pool)
    .await
    .map_err(AppError::db("looking up token"))?;
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

/// Revokes a token (logout), audited.
pub async fn revoke_token(pool: &PgPool, who: &Principal, token: &str) -> Result<()> {
    let hash = hash_token(token);
    let mut tx = pool.begin().await.map_err(AppError::db("starting logout"))?;
    sqlx::query("UPDATE tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL")
        .bind(&hash[..])
        .execute(&mut *tx)
        .await
        .map_err(AppError::db("revoking token"))?;
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
    tx.commit().await.map_err(AppError::db("committing logout"))
}
