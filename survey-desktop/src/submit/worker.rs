//! Background work of the submission: every network call and the export run on their own
//! thread; the UI thread starts a [`Job`] and picks up [`Progress`] each frame with
//! [`Submitter::poll`], never waiting. [`SubmitModel`] is the state the panel shows.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cadastre_core::qc::{QcConfig, Verdict};

use super::client::{Client, HandedIn};
use super::export::{export_package, ExportOptions};
use super::login::{LoginStore, StoredLogin};
use super::review::ReviewState;
use super::SubmitError;
use crate::model::Document;

/// Work for the background thread.
#[derive(Debug)]
pub enum Job {
    /// Exchange user and password for a token (stored on success).
    Login {
        /// Server URL.
        server: String,
        /// User name.
        user: String,
        /// Password (not kept).
        password: String,
    },
    /// Check and write the package.
    Export {
        /// The project's data (a copy: the user may go on editing).
        doc: Box<Document>,
        /// Manifest fields.
        options: ExportOptions,
        /// Check rules.
        config: Box<QcConfig>,
        /// Where.
        path: PathBuf,
    },
    /// Hand in a written package (a new version of `resubmit_of` when given).
    Submit {
        /// The package file.
        path: PathBuf,
        /// Submission to add a version to.
        resubmit_of: Option<i64>,
    },
    /// Read the submission's state.
    Refresh {
        /// Submission id.
        id: i64,
    },
}

/// What the background thread reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Logged in; the login is stored.
    LoggedIn(StoredLogin),
    /// The package is written.
    Exported {
        /// Where.
        path: PathBuf,
        /// `pass` / `fail` of the checks packed with it.
        verdict: String,
        /// Score.
        score: f64,
        /// Number of findings.
        findings: usize,
        /// Size, bytes.
        bytes: u64,
    },
    /// The server took the package.
    HandedIn(HandedIn),
    /// The submission's state.
    Review(ReviewState),
    /// The job failed.
    Failed(SubmitError),
}

/// Runs jobs on background threads, one at a time.
#[derive(Debug)]
pub struct Submitter {
    tx: Sender<Progress>,
    rx: Receiver<Progress>,
    busy: Option<&'static str>,
    sent: Arc<AtomicU64>,
    total: u64,
}

impl Default for Submitter {
    fn default() -> Self {
        let (tx, rx) = channel();
        Self { tx, rx, busy: None, sent: Arc::new(AtomicU64::new(0)), total: 0 }
    }
}

impl Submitter {
    /// What runs now (Chinese), if anything.
    pub fn busy(&self) -> Option<&'static str> {
        self.busy
    }

    /// Upload progress 0–1 while a package is being sent.
    pub fn upload_fraction(&self) -> Option<f32> {
        (self.busy == Some(SENDING) && self.total > 0)
            .then(|| (self.sent.load(Ordering::Relaxed) as f64 / self.total as f64).min(1.0) as f32)
    }

    /// Starts `job` unless one is running (`false` then).
    pub fn start(&mut self, job: Job, login: &StoredLogin, store: &LoginStore) -> bool {
        if self.busy.is_some() {
            return false;
        }
        self.busy = Some(match &job {
            Job::Login { .. } => "正在登录…",
            Job::Export { .. } => "正在质检并导出成果包…",
            Job::Submit { .. } => SENDING,
            Job::Refresh { .. } => "正在查询审核结果…",
        });
        if let Job::Submit { path, .. } = &job {
            self.total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            self.sent.store(0, Ordering::Relaxed);
        }
        let (tx, sent, login, store) = (self.tx.clone(), self.sent.clone(), login.clone(), store.clone());
        std::thread::spawn(move || {
            let out = run(job, &login, &store, sent).unwrap_or_else(Progress::Failed);
            // The receiver is gone only when the app closed: nothing to tell.
            let _ = tx.send(out);
        });
        true
    }

    /// What finished since the last call (never blocks).
    pub fn poll(&mut self) -> Option<Progress> {
        let p = self.rx.try_recv().ok()?;
        self.busy = None;
        Some(p)
    }

    /// Waits up to `timeout` for the running job (tests and the command line; not the UI).
    pub fn wait(&mut self, timeout: Duration) -> Option<Progress> {
        match self.rx.recv_timeout(timeout) {
            Ok(p) => {
                self.busy = None;
                Some(p)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }
}

const SENDING: &str = "正在上传成果包…";

fn run(job: Job, login: &StoredLogin, store: &LoginStore, sent: Arc<AtomicU64>) -> Result<Progress, SubmitError> {
    let client = || Client::new(&login.server);
    let token = || {
        if login.token.is_empty() {
            Err(SubmitError::LoggedOut)
        } else {
            Ok(login.token.clone())
        }
    };
    match job {
        Job::Login { server, user, password } => {
            let answer = Client::new(&server)?.login(&user, &password)?;
            let stored = StoredLogin {
                server: server.trim().trim_end_matches('/').to_owned(),
                user: user.trim().to_owned(),
                token: answer.token,
                expires_at: answer.expires_at,
            };
            store.save(&stored)?;
            Ok(Progress::LoggedIn(stored))
        }
        Job::Export { doc, options, config, path } => {
            let e = export_package(&doc, &options, &config, &path)?;
            Ok(Progress::Exported {
                path,
                verdict: if e.report.verdict == Verdict::Pass { "pass" } else { "fail" }.to_owned(),
                score: e.report.score,
                findings: e.report.findings.len(),
                bytes: e.bytes,
            })
        }
        Job::Submit { path, resubmit_of } => {
            let bytes = std::fs::read(&path).map_err(|e| SubmitError::Io(format!("{}: {e}", path.display())))?;
            Ok(Progress::HandedIn(client()?.hand_in(&token()?, Arc::new(bytes), resubmit_of, sent)?))
        }
        Job::Refresh { id } => Ok(Progress::Review(ReviewState::from_json(&client()?.submission(&token()?, id)?))),
    }
}

/// What the submission panel shows and remembers.
#[derive(Debug)]
pub struct SubmitModel {
    /// Server, user and token.
    pub login: StoredLogin,
    /// Where the login is kept.
    pub store: LoginStore,
    /// Last error, in Chinese.
    pub error: Option<String>,
    /// Last package written: path, verdict, score, findings, bytes.
    pub exported: Option<Progress>,
    /// The submission handed in (id, version).
    pub submission: Option<(i64, i32)>,
    /// The last review state read.
    pub review: Option<ReviewState>,
    /// Background jobs.
    pub submitter: Submitter,
    next_poll: Option<Instant>,
}

/// How often a pending submission is asked about.
pub const POLL_EVERY: Duration = Duration::from_secs(5);

impl SubmitModel {
    /// A model over a login store (the stored login loaded; a damaged file is an error shown).
    pub fn new(store: LoginStore) -> Self {
        let (login, error) = match store.load() {
            Ok(l) => (l.unwrap_or_default(), None),
            Err(e) => (StoredLogin::default(), Some(e.to_string())),
        };
        Self {
            login,
            store,
            error,
            exported: None,
            submission: None,
            review: None,
            submitter: Submitter::default(),
            next_poll: None,
        }
    }

    /// Starts a job with the current login; an error is kept when one runs already.
    pub fn start(&mut self, job: Job) {
        self.error = None;
        if !self.submitter.start(job, &self.login, &self.store) {
            self.error = Some("请等待当前操作完成".into());
        }
    }

    /// Hands in the last exported package: a new version when the submission was returned.
    pub fn submit_exported(&mut self) {
        let Some(Progress::Exported { path, .. }) = &self.exported else {
            self.error = Some("请先导出成果包".into());
            return;
        };
        let resubmit_of = match (&self.submission, &self.review) {
            (Some((id, _)), Some(r)) if matches!(r.status.as_str(), "returned" | "failed") => Some(*id),
            _ => None,
        };
        let job = Job::Submit { path: path.clone(), resubmit_of };
        self.start(job);
    }

    /// Takes in what the background finished; returns the review state when one arrived
    /// (the app then draws its findings and applies its codes). Starts the next status
    /// poll when a handed-in submission is pending and `now` is past due.
    pub fn update(&mut self, now: Instant) -> Option<ReviewState> {
        let mut arrived = None;
        if let Some(p) = self.submitter.poll() {
            arrived = self.take(p);
        }
        if let (Some((id, _)), Some(due)) = (self.submission, self.next_poll) {
            if now >= due && self.submitter.busy().is_none() {
                self.next_poll = None;
                self.start(Job::Refresh { id });
            }
        }
        arrived
    }

    /// Like [`SubmitModel::update`], waiting up to `timeout` for the running job (tests).
    pub fn wait(&mut self, timeout: Duration) -> Option<ReviewState> {
        let p = self.submitter.wait(timeout)?;
        self.take(p)
    }

    fn take(&mut self, p: Progress) -> Option<ReviewState> {
        match p {
            Progress::LoggedIn(l) => self.login = l,
            Progress::Exported { .. } => self.exported = Some(p),
            Progress::HandedIn(h) => {
                self.submission = Some((h.submission_id, h.version));
                self.review = Some(ReviewState {
                    submission_id: h.submission_id,
                    version: h.version,
                    status: h.status,
                    ..ReviewState::default()
                });
                self.next_poll = Some(Instant::now() + POLL_EVERY);
            }
            Progress::Review(r) => {
                self.next_poll = r.pending().then(|| Instant::now() + POLL_EVERY);
                if self.submission.is_none() {
                    self.submission = Some((r.submission_id, r.version));
                }
                self.review = Some(r.clone());
                return Some(r);
            }
            Progress::Failed(e) => {
                if e == SubmitError::LoggedOut {
                    self.login.token.clear();
                }
                self.error = Some(e.to_string());
            }
        }
        None
    }
}
