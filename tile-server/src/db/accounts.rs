//! Users, API clients and tokens.

use chrono::{DateTime, Duration, Utc};
use ipnet::IpNet;
use sqlx::PgPool;

use crate::auth::password::{dummy_hash, hash_password, verify_password};
use crate::auth::token::{hash_token, new_token};
use crate::auth::{Principal, PrincipalKind, Role};
use crate::db::audit::{self, AuditEntry};
use crate::error::{AppError, Result};

/// A new user account.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Login name.
    pub username: &'a str,
    /// Plain password (hashed with argon2id before it reaches the database).
    pub password: &'a str,
    /// Role (not `Registration`, which is for API clients).
    pub role: Role,
    /// Counties in scope; the first is the home county.
    pub counties: &'a [&'a str],
}

/// A new API client.
#[derive(Debug, Clone)]
pub struct NewClient<'a> {
    /// Client id used to log in.
    pub client_id: &'a str,
    /// Plain secret.
    pub secret: &'a str,
    /// Counties in scope; the first is the home county.
    pub counties: &'a [&'a str],
    /// Own rate limit per minute.
    pub rate_limit_per_minute: Option<u32>,
    /// CIDR allow-list; empty = any address.
    pub allowed_ips: &'a [&'a str],
}

fn check_counties(counties: &[&str]) -> Result<String> {
    let home = counties.first().ok_or_else(|| AppError::BadRequest("at least one county is required".into()))?;
    if let Some(bad) = counties.iter().find(|c| c.len() != 6 || !c.bytes().all(|b| b.is_ascii_digit())) {
        return Err(AppError::BadRequest(format!("county code {bad:?} is not 6 digits")));
    }
    Ok((*home).to_owned())
}

/// Creates a user; returns its id.
pub async fn create_user(pool: &PgPool, user: &NewUser<'_>) -> Result<i64> {
    if user.role == Role::Registration {
        return Err(AppError::BadRequest("the registration role is for API clients".into()));
    }
    let home = check_counties(user.counties)?;
    let hash = hash_password(user.password)?;
    sqlx::query_scalar(
        "INSERT INTO users (county, counties, username, password_hash, role) VALUES ($1, $2, $3, $4, $5) RETURNING user_id",
    )
    .bind(home)
    .bind(user.counties)
    .bind(user.username)
    .bind(hash)
    .bind(user.role.as_str())
    .fetch_one(pool)
    .await
    .map_err(AppError::db("creating user"))
}

/// Creates an API client; returns its internal key.
pub async fn create_client(pool: &PgPool, client: &NewClient<'_>) -> Result<i64> {
    let home = check_counties(client.counties)?;
    for ip in client.allowed_ips {
        ip.parse::<IpNet>().map_err(|_| AppError::BadRequest(format!("{ip:?} is not a CIDR block")))?;
    }
    let hash = hash_password(client.secret)?;
    let limit = client.rate_limit_per_minute.map(|l| i32::try_from(l).unwrap_or(i32::MAX));
    sqlx::query_scalar(
        "INSERT INTO api_clients (county, counties, client_id, secret_hash, rate_limit_per_minute, allowed_ips)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING client_pk",
    )
    .bind(home)
    .bind(client.counties)
    .bind(client.client_id)
    .bind(hash)
    .bind(limit)
    .bind(client.allowed_ips)
    .fetch_one(pool)
    .await
    .map_err(AppError::db("creating API client"))
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

#[derive(sqlx::FromRow)]
struct UserRow {
    user_id: i64,
    username: String,
    county: String,
    counties: Vec<String>,
    password_hash: String,
    role: String,
    disabled: bool,
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    client_pk: i64,
    client_id: String,
    county: String,
    counties: Vec<String>,
    secret_hash: String,
    rate_limit_per_minute: Option<i32>,
    allowed_ips: Vec<String>,
    disabled: bool,
}

impl UserRow {
    fn principal(self) -> Result<Principal> {
        let role =
            Role::from_db(&self.role).ok_or_else(|| AppError::Internal(format!("unknown role {}", self.role)))?;
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
    fn principal(self) -> Principal {
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

const USER_COLUMNS: &str =
    "user_id, username, county, array(SELECT unnest(counties)::text) AS counties, password_hash, role, disabled";
const CLIENT_COLUMNS: &str = "client_pk, client_id, county, array(SELECT unnest(counties)::text) AS counties, \
     secret_hash, rate_limit_per_minute, allowed_ips, disabled";

async fn issue(pool: &PgPool, principal: Principal, ttl_minutes: i64) -> Result<IssuedToken> {
    let (token, hash) = new_token();
    let expires_at = Utc::now() + Duration::minutes(ttl_minutes);
    let (user_id, client_pk) = match &principal.kind {
        PrincipalKind::User { user_id, .. } => (Some(*user_id), None),
        PrincipalKind::Client { client_pk, .. } => (None, Some(*client_pk)),
    };
    let mut tx = pool.begin().await.map_err(AppError::db("starting login"))?;
    sqlx::query("INSERT INTO tokens (token_hash, county, user_id, client_pk, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&hash[..])
        .bind(&principal.home_county)
        .bind(user_id)
        .bind(client_pk)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(AppError::db("storing token"))?;
    let key = principal.actor();
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

/// Checks a user's password and issues a token.
pub async fn login_user(pool: &PgPool, username: &str, password: &str, ttl_minutes: i64) -> Result<IssuedToken> {
    let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1"))
        .bind(username)
        .fetch_optional(pool)
        .await
        .map_err(AppError::db("loading user"))?;
    let Some(row) = row else {
        verify_password(password, dummy_hash());
        return Err(AppError::InvalidCredentials);
    };
    if !verify_password(password, &row.password_hash) || row.disabled {
        return Err(AppError::InvalidCredentials);
    }
    issue(pool, row.principal()?, ttl_minutes).await
}

/// Checks an API client's secret and issues a token.
pub async fn login_client(pool: &PgPool, client_id: &str, secret: &str, ttl_minutes: i64) -> Result<IssuedToken> {
    let row: Option<ClientRow> =
        sqlx::query_as(&format!("SELECT {CLIENT_COLUMNS} FROM api_clients WHERE client_id = $1"))
            .bind(client_id)
            .fetch_optional(pool)
            .await
            .map_err(AppError::db("loading API client"))?;
    let Some(row) = row else {
        verify_password(secret, dummy_hash());
        return Err(AppError::InvalidCredentials);
    };
    if !verify_password(secret, &row.secret_hash) || row.disabled {
        return Err(AppError::InvalidCredentials);
    }
    issue(pool, row.principal(), ttl_minutes).await
}

/// The principal behind a token, if the token is known, unexpired, unrevoked and
/// its account enabled.
pub async fn resolve_token(pool: &PgPool, token: &str) -> Result<Option<Principal>> {
    Ok(resolve_token_until(pool, token).await?.map(|(p, _)| p))
}

/// [`resolve_token`], with the token's expiry. One query (token, user and client
/// joined): this runs on every request.
pub async fn resolve_token_until(pool: &PgPool, token: &str) -> Result<Option<(Principal, DateTime<Utc>)>> {
    let hash = hash_token(token);
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT t.expires_at,
                u.user_id, u.username, u.county::text AS user_county,
                array(SELECT unnest(u.counties)::text) AS user_counties, u.role,
                c.client_pk, c.client_id, c.county::text AS client_county,
                array(SELECT unnest(c.counties)::text) AS client_counties, c.rate_limit_per_minute, c.allowed_ips
         FROM tokens t
         LEFT JOIN users u ON u.user_id = t.user_id AND NOT u.disabled
         LEFT JOIN api_clients c ON c.client_pk = t.client_pk AND NOT c.disabled
         WHERE t.token_hash = $1 AND t.expires_at > now() AND t.revoked_at IS NULL",
    )
    .bind(&hash[..])
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
            let row = UserRow {
                user_id,
                username,
                county,
                counties: self.user_counties,
                password_hash: String::new(),
                role,
                disabled: false,
            };
            return row.principal().map(Some);
        }
        if let (Some(client_pk), Some(client_id), Some(county)) = (self.client_pk, self.client_id, self.client_county) {
            let row = ClientRow {
                client_pk,
                client_id,
                county,
                counties: self.client_counties,
                secret_hash: String::new(),
                rate_limit_per_minute: self.rate_limit_per_minute,
                allowed_ips: self.allowed_ips.unwrap_or_default(),
                disabled: false,
            };
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

    #[test]
    fn counties_are_checked() {
        assert!(check_counties(&[]).is_err());
        assert!(check_counties(&["33010"]).is_err());
        assert_eq!(check_counties(&["330102", "330103"]).ok().as_deref(), Some("330102"));
    }
}
