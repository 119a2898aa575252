//! Creating accounts and changing passwords: the checks (names, counties, password
//! strength, allow-lists) and the hashing, before [`crate::db::accounts`] stores the
//! result. Used by the command line (operators) and `POST /api/auth/password`.

use ipnet::IpNet;
use sqlx::PgPool;

use crate::auth::hash_pool::HashPool;
use crate::auth::password::{check_secret, check_strength, dummy_hash, hash_password, verify_password};
use crate::db::accounts::{self as store, ClientAccount, Hashed, UserAccount};
use crate::db::{audit, sessions};
use crate::error::{AppError, Result};
use crate::principal::Role;

pub use crate::db::accounts::{expire_password, set_disabled, OPERATOR_ROLE};

/// A new user account with its plain password (hashed with argon2id before it reaches
/// the store). Its role may not be `Registration`, which is for API clients.
pub type NewUser<'a> = UserAccount<'a, &'a str>;

/// A new API client with its plain secret.
pub type NewClient<'a> = ClientAccount<'a, &'a str>;

fn check_counties(counties: &[&str]) -> Result<()> {
    if counties.is_empty() {
        return Err(AppError::BadRequest("at least one county is required".into()));
    }
    if let Some(bad) = counties.iter().find(|c| c.parse::<unit_code::CountyCode>().is_err()) {
        return Err(AppError::BadRequest(format!("county code {bad:?} is not 6 digits")));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<()> {
    let n = name.chars().count();
    if !(1..=crate::security::MAX_NAME_CHARS).contains(&n) || name.chars().any(char::is_control) {
        return Err(AppError::Unprocessable(format!(
            "a name must have 1 to {} characters and no control characters",
            crate::security::MAX_NAME_CHARS
        )));
    }
    Ok(())
}

fn refuse_registration(role: Role) -> Result<()> {
    if role == Role::Registration {
        return Err(AppError::BadRequest("the registration role is for API clients".into()));
    }
    Ok(())
}

/// Creates a user, audited as done by `system`; see [`create_user_by`].
pub async fn create_user(pool: &PgPool, user: &NewUser<'_>) -> Result<i64> {
    create_user_by(pool, user, "system").await
}

/// Creates a user (password of minimum strength, see [`check_strength`]); the audit
/// row names `actor` (`cli:<operator>` from the command line). Returns its id; a taken
/// name is 409 `conflict`.
pub async fn create_user_by(pool: &PgPool, user: &NewUser<'_>, actor: &str) -> Result<i64> {
    refuse_registration(user.role)?;
    check_counties(user.counties)?;
    check_name(user.username)?;
    check_strength(user.password, user.username)?;
    let hash = hash_password(user.password)?;
    Ok(store::insert_user(pool, &user.with_password(Hashed(&hash)), actor).await?)
}

/// Creates an API client, audited as done by `system`; see [`create_client_by`].
pub async fn create_client(pool: &PgPool, client: &NewClient<'_>) -> Result<i64> {
    create_client_by(pool, client, "system").await
}

/// Creates an API client, audited with `actor`; returns its internal key.
pub async fn create_client_by(pool: &PgPool, client: &NewClient<'_>, actor: &str) -> Result<i64> {
    check_counties(client.counties)?;
    check_name(client.client_id)?;
    for ip in client.allowed_ips {
        ip.parse::<IpNet>().map_err(|_| AppError::BadRequest(format!("{ip:?} is not a CIDR block")))?;
    }
    check_secret(client.secret)?;
    let hash = hash_password(client.secret)?;
    Ok(store::insert_client(pool, &client.with_secret(Hashed(&hash)), actor).await?)
}

/// Changes a user's role; their sessions end (the new role applies at the next login).
pub async fn set_role(pool: &PgPool, username: &str, role: Role, actor: &str) -> Result<()> {
    refuse_registration(role)?;
    Ok(store::set_role(pool, username, role, actor).await?)
}

/// A user changes their own password, proving the current one (checked on the
/// hashing pool). Works for an expired password too (that is what it is for).
/// Every session of the user ends; audited as the user.
pub async fn change_password(
    pool: &PgPool,
    hashing: &HashPool,
    username: &str,
    current: &str,
    new: &str,
) -> Result<()> {
    let stored = store::password_of(pool, username).await?;
    // An unknown name costs the same hash, so timing does not tell which names exist.
    let phc = stored.as_ref().map_or_else(|| dummy_hash().to_owned(), |s| s.password_hash.clone());
    let current = current.to_owned();
    let ok = hashing.run(move || verify_password(&current, &phc)).await?;
    let Some(user) = stored.filter(|_| ok) else {
        sessions::audit_refused_login(pool, "user", username, audit::NO_COUNTY, "password_change_refused", 0).await;
        return Err(AppError::InvalidCredentials);
    };
    if user.disabled {
        return Err(AppError::InvalidCredentials);
    }
    check_strength(new, username)?;
    let new_owned = new.to_owned();
    let hash = hashing.run(move || hash_password(&new_owned)).await??;
    Ok(store::store_password(pool, &user, username, &hash).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counties_are_checked() {
        assert!(check_counties(&[]).is_err());
        assert!(check_counties(&["33010"]).is_err());
        assert!(check_counties(&["330102", "330103"]).is_ok());
    }
}
