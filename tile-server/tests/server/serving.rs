//! The serving threads of `tile-server serve`: connections are spread over
//! `connection_threads` single-threaded runtimes, and SIGTERM ends them all.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tile_server::db::MIGRATOR;

use crate::hardening::{http_status, ServerProcess};
use crate::import::url_of;

/// Names of the server's threads that serve connections.
fn connection_threads(pid: u32) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(|t| t.ok())
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .map(|n| n.trim().to_owned())
                .filter(|n| n.starts_with("tile-conn-"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A keep-alive connection that has answered one /health request.
fn open_keep_alive(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap_or_else(|e| panic!("{e}"));
    s.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n").unwrap_or_else(|e| panic!("{e}"));
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).unwrap_or_else(|e| panic!("{e}"));
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    s
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn connections_are_served_on_the_configured_threads_and_sigterm_ends_them(pool: PgPool) {
    let url = url_of(&pool).await;
    let mut server = ServerProcess::start(&url, "connection_threads = 3\n", &["--allow-owner"]);
    let pid = server.child.id();
    // The threads start right after the "listening" line the address was read from.
    let deadline = Instant::now() + Duration::from_secs(30);
    while connection_threads(pid).len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(connection_threads(pid), ["tile-conn-0", "tile-conn-1", "tile-conn-2"]);
    // Six open keep-alive connections, two per thread, each answered.
    let open: Vec<TcpStream> = (0..6).map(|_| open_keep_alive(server.addr)).collect();
    assert_eq!(http_status(server.addr, "GET", "/health", b""), 200);
    // SIGTERM: idle connections are closed and the process ends on its own.
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not end after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    for mut s in open {
        let mut buf = [0u8; 16];
        assert_eq!(s.read(&mut buf).unwrap_or(0), 0, "the idle connection was closed");
    }
}
