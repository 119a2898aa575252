//! Optional push over a one-way gate: each package is sent as one HTTP POST and the
//! connection is closed without reading anything back (a one-way gate carries no
//! answer). The receiver (`serve --accept-push DIR`) treats it like a ferried file;
//! a lost push shows up there as a gap, to be filled by ferrying or pushing again.

use std::path::Path;

use tokio::io::AsyncWriteExt as _;

/// Errors of a push.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// A URL we cannot send to.
    #[error("{0}")]
    Url(String),
    /// Network or file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// `http://host[:port]/path` → (host:port, host, path).
fn parse_url(url: &str) -> Result<(String, String, String), PushError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| PushError::Url(format!("{url:?}: only http:// (the gate carries plain HTTP one way)")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/api/packages"),
    };
    if authority.is_empty() {
        return Err(PushError::Url(format!("{url:?}: no host")));
    }
    let address = if authority.contains(':') { authority.to_owned() } else { format!("{authority}:80") };
    Ok((address, authority.to_owned(), path.to_owned()))
}

/// Sends one package and returns once it is written to the socket; reads nothing.
pub async fn push(url: &str, package: &Path) -> Result<u64, PushError> {
    let (address, host, path) = parse_url(url)?;
    let mut file = tokio::fs::File::open(package).await?;
    let len = file.metadata().await?.len();
    let mut stream = tokio::net::TcpStream::connect(&address).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-tar\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    tokio::io::copy(&mut file, &mut stream).await?;
    stream.flush().await?;
    // Half-close: the receiver sees the end of the request; we never read its reply.
    stream.shutdown().await?;
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let (a, h, p) = parse_url("http://gate.local:8080/api/packages").unwrap();
        assert_eq!((a.as_str(), h.as_str(), p.as_str()), ("gate.local:8080", "gate.local:8080", "/api/packages"));
        assert_eq!(parse_url("http://gate").unwrap().2, "/api/packages");
        assert!(parse_url("https://gate").is_err());
        assert!(parse_url("http:///x").is_err());
    }
}
