//! The review worker's PostgreSQL sessions at a lower CPU priority, like the worker's own
//! thread ([`super::worker::BACKGROUND_NICE`]): most of a check's and of its store reads'
//! CPU is PostgreSQL's, and the API calls served meanwhile share the same cores.
//!
//! PostgreSQL has no per-session priority, but its backends are processes: when the
//! database runs on this machine and the operating system lets this process change
//! another's priority (the same user as PostgreSQL's, or `CAP_SYS_NICE`), the worker
//! lowers its own sessions' backends. Elsewhere nothing changes. A backend is touched only
//! when its process title names this session (user, database and this client's port), so
//! a process id from another PID namespace is never mistaken for it.

use sqlx::postgres::PgConnectOptions;
use sqlx::{PgConnection, PgPool};

/// A lazily connecting pool whose sessions' backends run `nice` lower, where this process
/// may change them (see [`lower`]): the review worker's, whose checks mostly read. (An
/// accept's writing sessions were tried so too: at saturation a lowered backend holding a
/// buffer or WAL lock stalled the API calls, so they keep their priority.)
pub fn background_pool(options: PgConnectOptions, name: &str, max_connections: u32, nice: i32) -> PgPool {
    crate::db::pool_options()
        .max_connections(max_connections)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                lower(conn, nice).await;
                Ok(())
            })
        })
        .connect_lazy_with(options.application_name(name))
}

/// Lowers the priority of `conn`'s backend process by `nice` when it is ours to change.
/// Returns whether it did; a refusal only costs the other calls some latency.
pub async fn lower(conn: &mut PgConnection, nice: i32) -> bool {
    let who: Result<(i32, Option<i32>, String, String), _> =
        sqlx::query_as("SELECT pg_backend_pid(), inet_client_port(), current_user::text, current_database()::text")
            .fetch_one(conn)
            .await;
    let Ok((pid, port, user, database)) = who else { return false };
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        tracing::debug!(pid, "the review worker's database session runs elsewhere: its priority stays");
        return false;
    };
    if !is_session(&String::from_utf8_lossy(&cmdline), &user, &database, port) {
        tracing::debug!(pid, "process {pid} is not the review worker's database session: its priority stays");
        return false;
    }
    set(pid, nice)
}

#[cfg(target_os = "linux")]
fn set(pid: i32, nice: i32) -> bool {
    let Some(pid) = rustix::process::Pid::from_raw(pid) else { return false };
    match rustix::process::setpriority_process(Some(pid), nice) {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(error = %e, "lowering the priority of the review worker's database session");
            false
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn set(_pid: i32, _nice: i32) -> bool {
    false
}

/// Whether a process title is PostgreSQL's for the session of `user` on `database` from
/// this client: `postgres: [CLUSTER: ]USER DATABASE HOST(PORT) STATE`, or `[local]` for a
/// Unix socket (`port` is `None` then).
fn is_session(title: &str, user: &str, database: &str, port: Option<i32>) -> bool {
    let title = title.replace('\0', " ");
    let Some(rest) = title.trim().strip_prefix("postgres: ") else { return false };
    let words: Vec<&str> = rest.split_whitespace().collect();
    // With `cluster_name` set, the title starts with it and a colon.
    let words = match words.first() {
        Some(w) if w.ends_with(':') => &words[1..],
        _ => &words[..],
    };
    let [u, d, host, ..] = words else { return false };
    let from_here = match port {
        Some(p) => host.ends_with(&format!("({p})")),
        None => *host == "[local]",
    };
    *u == user && *d == database && from_here
}

#[cfg(test)]
mod tests {
    use super::is_session;

    #[test]
    fn only_the_sessions_own_process_title_matches() {
        let t = "postgres: postgres cadastre 127.0.0.1(43210) idle\0\0";
        assert!(is_session(t, "postgres", "cadastre", Some(43210)));
        assert!(!is_session(t, "postgres", "cadastre", Some(43211)), "another client's session");
        assert!(!is_session(t, "app", "cadastre", Some(43210)));
        assert!(!is_session(t, "postgres", "other", Some(43210)));
        assert!(is_session("postgres: main: u db 10.0.0.5(5000) SELECT", "u", "db", Some(5000)), "cluster_name");
        assert!(is_session("postgres: u db [local] idle", "u", "db", None));
        assert!(!is_session("postgres: u db 127.0.0.1(5000) idle", "u", "db", None));
        assert!(!is_session("/usr/lib/postgresql/15/bin/postgres -D /data", "u", "db", Some(5000)));
        assert!(!is_session("nginx: worker process", "u", "db", Some(5000)));
    }
}
