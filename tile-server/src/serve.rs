//! The accept loop: HTTP/1.1 over plain TCP or TLS (rustls), with the timeouts a
//! public-facing server needs (issue #14):
//!
//! * a request's headers must arrive within `header_read_timeout_ms`; this also
//!   closes a keep-alive connection that sends nothing for that long, and bounds
//!   the TLS handshake (slow-loris connections are dropped, not kept for ever);
//! * a request body that stalls for `idle_timeout_seconds` ends the request
//!   ([`crate::http::app`] adds the body timeout layer).
//!
//! Plain HTTP is refused on a non-loopback address unless `allow_plain_http`
//! ([`check_transport`]): in production the certificate is configured
//! (`tls_cert_file`, `tls_key_file`) or a TLS proxy on the same host forwards
//! to a loopback port.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsAcceptor;

use crate::config::{Settings, TlsFiles};

/// How long shutdown waits for open requests to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Errors setting up the transport.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("TLS {what} {path}: {reason}")]
    Pem {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// rustls refused the certificate and key.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// Plain HTTP on an address other hosts can reach.
    #[error(
        "refusing plain HTTP on {0}: set tls_cert_file and tls_key_file, listen on a loopback address \
         behind a TLS proxy, or set allow_plain_http = true"
    )]
    PlainHttpExposed(SocketAddr),
}

/// Checks that plain HTTP is used only on loopback (or explicitly allowed).
pub fn check_transport(settings: &Settings) -> Result<(), TransportError> {
    if settings.tls.is_none() && !settings.listen.ip().is_loopback() && !settings.allow_plain_http {
        return Err(TransportError::PlainHttpExposed(settings.listen));
    }
    Ok(())
}

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3, HTTP/1.1) from PEM files.
pub fn load_tls(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, TransportError> {
    let pem_err =
        |what, path: &std::path::Path, reason: String| TransportError::Pem { what, path: path.to_owned(), reason };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| pem_err("certificate", &files.cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem_err("certificate", &files.cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_err("certificate", &files.cert, "no CERTIFICATE block".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| pem_err("key", &files.key, e.to_string()))?;
    // ring rather than aws-lc-rs: no cmake/NASM toolchain in the build. Deprecated
    // only for lacking post-quantum key exchange, which clients here do not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// How connections are served.
#[derive(Clone)]
pub struct ServeOptions {
    /// Time allowed for a request's headers (and the TLS handshake).
    pub header_read_timeout: Duration,
    /// TLS, when configured.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Threads that serve connections, each with its own single-threaded runtime.
    pub connection_threads: usize,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("header_read_timeout", &self.header_read_timeout)
            .field("tls", &self.tls.is_some())
            .field("connection_threads", &self.connection_threads)
            .finish()
    }
}

impl ServeOptions {
    /// Options from the settings (reads the certificate files).
    pub fn from_settings(settings: &Settings) -> Result<Self, TransportError> {
        check_transport(settings)?;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Ok(Self {
            header_read_timeout: Duration::from_millis(settings.header_read_timeout_ms),
            tls: settings.tls.as_ref().map(load_tls).transpose()?,
            connection_threads: if settings.connection_threads == 0 { cores } else { settings.connection_threads },
        })
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open
/// requests finish for up to [`SHUTDOWN_GRACE`].
///
/// The caller's runtime only accepts; each connection is handed to one of
/// `connection_threads` threads, each running a single-threaded runtime, and stays
/// there (thread per core, as actix-web serves martin): a cached tile is answered
/// without waking or stealing between worker threads, which measured as the cost
/// that remained on the warm path (BENCHMARKS.md, "Vector tiles, warm path").
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut threads = ConnectionThreads::start(&router, &options)?;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        match stream.into_std() {
            Ok(stream) => threads.hand_over(stream, peer),
            Err(e) => tracing::warn!(%peer, error = %e, "could not hand a connection over"),
        }
    }
    drop(listener);
    // Each thread lets its open requests finish (up to SHUTDOWN_GRACE), in parallel.
    let handles = threads.stop();
    let joined = tokio::task::spawn_blocking(move || handles.into_iter().all(|h| h.join().is_ok())).await;
    if !matches!(joined, Ok(true)) {
        tracing::warn!("a connection thread ended abnormally");
    }
    Ok(())
}

/// The threads connections are served on, and the round-robin handing over.
struct ConnectionThreads {
    inboxes: Vec<mpsc::UnboundedSender<(std::net::TcpStream, SocketAddr)>>,
    next: usize,
    stops: Vec<oneshot::Sender<()>>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl ConnectionThreads {
    fn start(router: &Router, options: &ServeOptions) -> std::io::Result<Self> {
        let n = options.connection_threads.max(1);
        let mut threads = Self { inboxes: Vec::new(), next: 0, stops: Vec::new(), handles: Vec::new() };
        for i in 0..n {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let (tx, rx) = mpsc::unbounded_channel();
            let (stop_tx, stop_rx) = oneshot::channel();
            let (router, options) = (router.clone(), options.clone());
            let handle = std::thread::Builder::new()
                .name(format!("tile-conn-{i}"))
                .spawn(move || runtime.block_on(connection_thread(rx, stop_rx, router, options)))?;
            threads.inboxes.push(tx);
            threads.stops.push(stop_tx);
            threads.handles.push(handle);
        }
        Ok(threads)
    }

    fn hand_over(&mut self, stream: std::net::TcpStream, peer: SocketAddr) {
        let i = self.next;
        self.next = (i + 1) % self.inboxes.len();
        if self.inboxes[i].send((stream, peer)).is_err() {
            tracing::warn!(%peer, thread = i, "connection thread gone; connection dropped");
        }
    }

    /// Tells every thread to stop taking connections and finish; their handles.
    fn stop(self) -> Vec<std::thread::JoinHandle<()>> {
        drop(self.inboxes);
        drop(self.stops);
        self.handles
    }
}

/// One connection thread: serves the connections it is handed until told to stop,
/// then lets their open requests finish for up to [`SHUTDOWN_GRACE`].
async fn connection_thread(
    mut inbox: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    mut stop: oneshot::Receiver<()>,
    router: Router,
    options: ServeOptions,
) {
    let graceful = GracefulShutdown::new();
    let acceptor = options.tls.clone().map(TlsAcceptor::from);
    loop {
        let (stream, peer) = tokio::select! {
            handed = inbox.recv() => match handed {
                Some(conn) => conn,
                None => break,
            },
            _ = &mut stop => break,
        };
        match tokio::net::TcpStream::from_std(stream) {
            Ok(stream) => {
                let watcher = graceful.watcher();
                tokio::spawn(serve_connection(stream, peer, router.clone(), &options, acceptor.clone(), watcher));
            }
            Err(e) => tracing::warn!(%peer, error = %e, "could not take a connection over"),
        }
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("open connections did not finish within the shutdown grace period");
    }
}

/// HTTP/1.1 on one connection, through TLS when configured.
fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    options: &ServeOptions,
    acceptor: Option<TlsAcceptor>,
    watcher: hyper_util::server::graceful::Watcher,
) -> impl Future<Output = ()> + Send + 'static {
    let _ = stream.set_nodelay(true);
    let service = tower::ServiceExt::map_request(router, move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req
    });
    let service = TowerToHyperService::new(service);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(options.header_read_timeout).keep_alive(true);
    let timeout = options.header_read_timeout;
    async move {
        let result = match acceptor {
            Some(acceptor) => match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => watcher.watch(http.serve_connection(TokioIo::new(tls), service)).await,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            },
            None => watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await,
        };
        if let Err(e) = result {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }
}
