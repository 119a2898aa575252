//! Logins and sessions: checking credentials on the hashing pool, password expiry,
//! making tokens and resolving them. The store ([`crate::db::sessions`]) keeps only
//! token hashes and audits every attempt (successful, failed or refused).

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::auth::hash_pool::HashPool;
use crate::auth::password::{dummy_hash, verify_password};
use crate::auth::token::{hash_token, new_token};
use crate::db::audit::NO_COUNTY;
use crate::db::sessions;
use crate::error::{AppError, Result};
use crate::principal::Principal;

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

    /// The password or secret.
    pub fn secret(&self) -> &str {
        match self {
            Credentials::User { password, .. } => password,
            Credentials::Client { secret, .. } => secret,
        }
    }

    /// `user` or `client`, as audit rows name the kind.
    pub fn kind(&self) -> &'static str {
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

/// The account a login names, as the login judges it.
struct Candidate {
    principal: Principal,
    hash: String,
    disabled: bool,
    expired: bool,
}

async fn candidate(pool: &PgPool, creds: Credentials<'_>, policy: SessionPolicy) -> Result<Option<Candidate>> {
    Ok(match creds {
        Credentials::User { username, .. } => match sessions::find_user(pool, username).await? {
            None => None,
            Some(r) => {
                let max_age = policy.password_max_age_days;
                let expired = r.must_change_password
                    || (max_age > 0 && r.password_changed_at < Utc::now() - Duration::days(max_age));
                let (hash, disabled) = (r.password_hash.clone(), r.disabled);
                Some(Candidate { principal: r.principal()?, hash, disabled, expired })
            }
        },
        Credentials::Client { client_id, .. } => sessions::find_client(pool, client_id).await?.map(|r| {
            let (hash, disabled) = (r.secret_hash.clone(), r.disabled);
            Candidate { principal: r.principal(), hash, disabled, expired: false }
        }),
    })
}

/// Checks credentials (argon2 on `hashing`) and issues a token; every outcome is audited.
pub async fn login(
    pool: &PgPool,
    hashing: &HashPool,
    creds: Credentials<'_>,
    policy: SessionPolicy,
) -> Result<IssuedToken> {
    let found = candidate(pool, creds, policy).await?;
    let secret = creds.secret().to_owned();
    // An unknown name costs the same hash, so timing does not tell which names exist.
    let phc = found.as_ref().map_or_else(|| dummy_hash().to_owned(), |c| c.hash.clone());
    let matches = hashing.run(move || verify_password(&secret, &phc)).await?;
    let county = found.as_ref().map_or(NO_COUNTY, |c| c.principal.home_county.as_str()).to_owned();
    let refused = match &found {
        None => Some("unknown_name"),
        Some(_) if !matches => Some("wrong_password"),
        Some(c) if c.disabled => Some("disabled"),
        Some(_) => None,
    };
    let refuse = |reason| sessions::audit_refused_login(pool, creds.kind(), creds.name(), &county, reason, 0);
    if let Some(reason) = refused {
        refuse(reason).await;
        return Err(AppError::InvalidCredentials);
    }
    let Some(found) = found else { return Err(AppError::InvalidCredentials) };
    if found.expired {
        refuse("password_expired").await;
        return Err(AppError::PasswordExpired);
    }
    let (token, hash) = new_token();
    let expires_at = Utc::now() + Duration::minutes(policy.ttl_minutes);
    sessions::store_token(pool, &found.principal, &hash, expires_at, policy.max_sessions).await?;
    Ok(IssuedToken { token, expires_at, principal: found.principal })
}

/// The principal behind a token, if the token is known, unexpired, unrevoked,
/// not idle too long (users) and its account enabled. Default session policy.
pub async fn resolve_token(pool: &PgPool, token: &str) -> Result<Option<Principal>> {
    Ok(resolve_token_until(pool, token, SessionPolicy::default().idle_minutes).await?.map(|(p, _)| p))
}

/// [`resolve_token`] with the token's expiry, and recording the use (idle timeout).
pub async fn resolve_token_until(
    pool: &PgPool,
    token: &str,
    idle_minutes: i64,
) -> Result<Option<(Principal, DateTime<Utc>)>> {
    Ok(sessions::principal_by_token(pool, &hash_token(token), idle_minutes).await?)
}

/// Revokes a token (logout), audited.
pub async fn revoke_token(pool: &PgPool, who: &Principal, token: &str) -> Result<()> {
    Ok(sessions::revoke_token(pool, who, &hash_token(token)).await?)
}
