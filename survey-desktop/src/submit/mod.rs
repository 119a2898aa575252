//! Submission (成果上报): export the project as the result package the server accepts
//! (checks first, their report inside), log in, hand it in, follow the review.
//!
//! No egui here: [`export`] writes the package, [`login`] keeps the token in the OS user's
//! config directory (owner-only), [`client`] speaks the server's API (blocking, run from
//! the [`worker`] thread so the UI never waits), [`review`] turns the server's answer into
//! what the app shows (status, note, returned findings) and does (codes into the project).

pub mod client;
pub mod export;
pub mod login;
pub mod review;
pub mod worker;

pub use client::Client;
pub use export::{export_package, ExportOptions, Exported};
pub use login::{LoginStore, StoredLogin};
pub use review::{apply_codes, CodesApplied, IssuedCodes, ReturnedFinding, ReviewState};
pub use worker::{Job, Progress, SubmitModel, Submitter, POLL_EVERY};

/// What went wrong, in words a surveyor can act on (Chinese first, the detail after).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The server cannot be reached.
    #[error("无法连接服务器 {url}，请检查网络和服务器地址（{detail}）")]
    Unreachable {
        /// Server URL.
        url: String,
        /// The transport's message.
        detail: String,
    },
    /// Wrong user name or password.
    #[error("用户名或密码错误")]
    BadCredentials,
    /// The token expired or was revoked.
    #[error("登录已失效，请重新登录")]
    LoggedOut,
    /// Not allowed (role, county, someone else's submission).
    #[error("没有权限：{0}")]
    Forbidden(String),
    /// The submission is not in a state for this (e.g. resubmitting one under review).
    #[error("操作与当前状态冲突：{0}")]
    Conflict(String),
    /// The package is larger than the server takes.
    #[error("成果包过大，超过服务器允许的大小，请分批上报")]
    TooLarge,
    /// The server refused the package (digest, county, format...).
    #[error("成果包被拒收：{0}")]
    Refused(String),
    /// Too many submissions or bytes today.
    #[error("提交过于频繁或超出当日配额：{0}")]
    Quota(String),
    /// Not found (a submission id the server does not know).
    #[error("服务器上找不到：{0}")]
    NotFound(String),
    /// Anything else the server answered.
    #[error("服务器错误（HTTP {status}）：{message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// Settings missing or malformed (URL, user).
    #[error("设置有误：{0}")]
    Settings(String),
    /// Writing or reading a local file.
    #[error("文件读写失败：{0}")]
    Io(String),
    /// The project cannot be packed (no parcels, no county...).
    #[error("无法导出成果包：{0}")]
    Export(String),
}
