//! The server's API, blocking (called from the [`super::worker`] thread): login, hand in a
//! package or a new version of it, read a submission. Every HTTP failure becomes a
//! [`SubmitError`] with a Chinese message; nothing here panics on what the server sends.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::SubmitError;

/// How long a hand-in waits for the server's `100 Continue` before sending the body anyway.
const AWAIT_100: Duration = Duration::from_secs(30);

/// A client of one server.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

/// The answer to a login.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LoginAnswer {
    /// Bearer token.
    pub token: String,
    /// Expiry, RFC 3339.
    #[serde(default)]
    pub expires_at: String,
    /// Counties in scope.
    #[serde(default)]
    pub counties: Vec<String>,
}

/// The answer to a hand-in (202).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HandedIn {
    /// Submission id.
    pub submission_id: i64,
    /// Version number (1 for a new submission).
    pub version: i32,
    /// `checking`.
    pub status: String,
}

/// Counts the bytes read through it (upload progress).
struct Counting<R> {
    inner: R,
    sent: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Client {
    /// A client of `base` (`http://host:port`, no trailing path needed).
    pub fn new(base: &str) -> Result<Self, SubmitError> {
        let base = base.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() <= "https://".len() {
            return Err(SubmitError::Settings(format!("服务器地址 {base:?} 应以 http:// 或 https:// 开头")));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(600)))
            // A hand-in asks `Expect: 100-continue` (see `hand_in`); the server answers within
            // milliseconds, and a proxy that ignores the header only delays the upload by this.
            .timeout_await_100(Some(AWAIT_100))
            .build()
            .into();
        Ok(Self { base, agent })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn transport(&self, e: ureq::Error) -> SubmitError {
        SubmitError::Unreachable { url: self.base.clone(), detail: e.to_string() }
    }

    /// `POST /api/auth/login` with a user name and password.
    pub fn login(&self, user: &str, password: &str) -> Result<LoginAnswer, SubmitError> {
        if user.trim().is_empty() {
            return Err(SubmitError::Settings("请填写用户名".into()));
        }
        let resp = self
            .agent
            .post(&self.url("/api/auth/login"))
            .send_json(json!({"username": user.trim(), "password": password}))
            .map_err(|e| self.transport(e))?;
        let (status, body) = read(resp)?;
        if status == 401 {
            return Err(SubmitError::BadCredentials);
        }
        ok(status, &body)?;
        serde_json::from_slice(&body).map_err(|e| bad_answer(status, &e))
    }

    /// Hands in `package` (`POST /api/submissions`), or a new version of submission
    /// `resubmit_of` (`POST /api/submissions/{id}/versions`). `sent` counts uploaded bytes.
    pub fn hand_in(
        &self,
        token: &str,
        package: Arc<Vec<u8>>,
        resubmit_of: Option<i64>,
        sent: Arc<AtomicU64>,
    ) -> Result<HandedIn, SubmitError> {
        let path = match resubmit_of {
            Some(id) => format!("/api/submissions/{id}/versions"),
            None => "/api/submissions".to_owned(),
        };
        // A server that refuses the upload (403, 413, 401) answers before reading the body and
        // closes the connection; a client already writing the body then sees only "broken pipe"
        // and loses the answer. With `Expect: 100-continue` the body goes only after the server
        // asked for it, so a refusal arrives as itself. The declared length lets the server
        // refuse an oversized package from the headers alone (a chunked body it must read).
        let len = package.len();
        let reader = Counting { inner: std::io::Cursor::new(ArcBytes(package)), sent };
        let resp = self
            .agent
            .post(&self.url(&path))
            .header("Expect", "100-continue")
            .header("Content-Length", &len.to_string())
            .header("Authorization", &format!("Bearer {token}"))
            .content_type("application/zip")
            .send(ureq::SendBody::from_owned_reader(reader))
            .map_err(|e| self.transport(e))?;
        let (status, body) = read(resp)?;
        ok(status, &body)?;
        serde_json::from_slice(&body).map_err(|e| bad_answer(status, &e))
    }

    /// `GET /api/submissions/{id}`: the submission with its versions and decisions.
    pub fn submission(&self, token: &str, id: i64) -> Result<Value, SubmitError> {
        let resp = self
            .agent
            .get(&self.url(&format!("/api/submissions/{id}")))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .map_err(|e| self.transport(e))?;
        let (status, body) = read(resp)?;
        ok(status, &body)?;
        serde_json::from_slice(&body).map_err(|e| bad_answer(status, &e))
    }
}

/// Shared bytes readable through a cursor without a copy.
struct ArcBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// Status and body (at most 64 MB: a submission with every version is far smaller).
fn read(mut resp: ureq::http::Response<ureq::Body>) -> Result<(u16, Vec<u8>), SubmitError> {
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .map_err(|e| SubmitError::Server { status, message: format!("回答无法读取 ({e})") })?;
    Ok((status, body))
}

fn bad_answer(status: u16, e: &serde_json::Error) -> SubmitError {
    SubmitError::Server { status, message: format!("回答格式不符 ({e})") }
}

/// The server's message of an error answer (`{"error":{"code","message"}}`), else the text.
fn message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(500)]).trim().to_owned())
}

/// `Ok` for 2xx; otherwise the error of the status.
fn ok(status: u16, body: &[u8]) -> Result<(), SubmitError> {
    let msg = || message(body);
    match status {
        200..=299 => Ok(()),
        401 => Err(SubmitError::LoggedOut),
        403 => Err(SubmitError::Forbidden(msg())),
        404 => Err(SubmitError::NotFound(msg())),
        409 => Err(SubmitError::Conflict(msg())),
        413 => Err(SubmitError::TooLarge),
        400 | 422 => Err(SubmitError::Refused(msg())),
        429 => Err(SubmitError::Quota(msg())),
        _ => Err(SubmitError::Server { status, message: msg() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_become_chinese_messages() {
        let body = br#"{"error":{"code":"conflict","message":"submission 3 is checking"}}"#;
        assert_eq!(ok(409, body), Err(SubmitError::Conflict("submission 3 is checking".into())));
        assert_eq!(ok(413, b""), Err(SubmitError::TooLarge));
        assert!(ok(403, body).err().map(|e| e.to_string()).unwrap_or_default().starts_with("没有权限"));
        assert_eq!(ok(204, b""), Ok(()));
        assert!(matches!(ok(502, b"<html>bad gateway</html>"), Err(SubmitError::Server { status: 502, .. })));
    }

    #[test]
    fn a_bad_url_and_a_closed_port_are_clear_errors() {
        assert!(matches!(Client::new("ftp://x"), Err(SubmitError::Settings(_))));
        // A port nothing listens on (bound, then closed).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let c = Client::new(&format!("http://127.0.0.1:{port}/")).unwrap_or_else(|e| panic!("{e}"));
        let err = c.login("u", "p").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("无法连接服务器"), "{err}");
    }

    /// A server that refuses a hand-in from its headers alone and closes the connection
    /// without reading the body (as hyper does for 403 and 413): the client shows the
    /// refusal, not "broken pipe". Without `Expect: 100-continue` the 8 MB body fills the
    /// socket buffers and the write fails on the reset.
    #[test]
    fn a_refusal_before_the_body_is_read_reaches_the_user() {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap_or_else(|e| panic!("{e}"));
            let mut reader = BufReader::new(stream.try_clone().unwrap_or_else(|e| panic!("{e}")));
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap_or_else(|e| panic!("{e}"));
                if line.trim().is_empty() {
                    break;
                }
                headers.push(line.trim().to_ascii_lowercase());
            }
            let body = r#"{"error":{"code":"forbidden","message":"reviewers do not hand in"}}"#;
            let mut out = &stream;
            write!(
                out,
                "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap_or_else(|e| panic!("{e}"));
            out.flush().unwrap_or_else(|e| panic!("{e}"));
            drop(reader);
            drop(stream);
            headers
        });
        let c = Client::new(&format!("http://127.0.0.1:{port}")).unwrap_or_else(|e| panic!("{e}"));
        let sent = Arc::new(AtomicU64::new(0));
        let err = c.hand_in("t", Arc::new(vec![7u8; 8 << 20]), None, sent.clone()).err();
        let headers = server.join().unwrap_or_else(|_| panic!("server thread"));
        assert_eq!(err, Some(SubmitError::Forbidden("reviewers do not hand in".into())));
        assert!(headers.iter().any(|h| h == "expect: 100-continue"), "{headers:?}");
        assert!(headers.iter().any(|h| h == "content-length: 8388608"), "{headers:?}");
        assert_eq!(sent.load(Ordering::Relaxed), 0, "no byte of the body went out");
    }
}
