//! The login kept between sessions: server URL, user name and token in `login.json` in the
//! OS user's config directory (`~/.config/survey-desktop` on Linux, `%APPDATA%` on Windows,
//! `~/Library/Application Support` on macOS). The password is never stored. On Unix the
//! directory is 0700 and the file 0600, written to a temporary file and renamed so a crash
//! never leaves half a token.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SubmitError;

/// File name of the stored login.
pub const LOGIN_FILE: &str = "login.json";

/// What is remembered of a login.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLogin {
    /// Server base URL, e.g. `https://cadastre.example.cn`.
    pub server: String,
    /// User name.
    pub user: String,
    /// Bearer token (empty when logged out).
    #[serde(default)]
    pub token: String,
    /// When the token expires (RFC 3339), as the server said.
    #[serde(default)]
    pub expires_at: String,
}

/// Where the login is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginStore {
    dir: PathBuf,
}

impl LoginStore {
    /// The OS user's config directory for the app; `SURVEY_DESKTOP_CONFIG` overrides it.
    pub fn user_default() -> Result<Self, SubmitError> {
        if let Some(d) = std::env::var_os("SURVEY_DESKTOP_CONFIG") {
            return Ok(Self::at(PathBuf::from(d)));
        }
        directories::ProjectDirs::from("cn", "cadastre", "survey-desktop")
            .map(|p| Self::at(p.config_dir().to_path_buf()))
            .ok_or_else(|| SubmitError::Settings("找不到当前用户的配置目录 (no home directory)".into()))
    }

    /// A store in `dir`.
    pub fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The login file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(LOGIN_FILE)
    }

    /// The stored login; `None` when there is none yet.
    pub fn load(&self) -> Result<Option<StoredLogin>, SubmitError> {
        let path = self.path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| SubmitError::Settings(format!("{} 已损坏，请重新登录 ({e})", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SubmitError::Io(format!("{}: {e}", path.display()))),
        }
    }

    /// Stores `login` (directory 0700, file 0600 on Unix).
    pub fn save(&self, login: &StoredLogin) -> Result<(), SubmitError> {
        let io = |p: &Path, e: std::io::Error| SubmitError::Io(format!("{}: {e}", p.display()));
        create_private_dir(&self.dir).map_err(|e| io(&self.dir, e))?;
        let json = serde_json::to_vec_pretty(login).map_err(|e| SubmitError::Io(e.to_string()))?;
        let tmp = self.dir.join(format!(".{LOGIN_FILE}.{}.tmp", std::process::id()));
        {
            let mut f = private_file(&tmp).map_err(|e| io(&tmp, e))?;
            f.write_all(&json).and_then(|()| f.sync_all()).map_err(|e| io(&tmp, e))?;
        }
        let path = self.path();
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))
    }

    /// Forgets the token (keeps server and user for the next login).
    pub fn logout(&self) -> Result<(), SubmitError> {
        match self.load()? {
            Some(mut l) => {
                l.token.clear();
                l.expires_at.clear();
                self.save(&l)
            }
            None => Ok(()),
        }
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    // An existing directory made by something else: tighten it.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    // The per-user profile directories of Windows are private to the user already.
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn the_token_file_is_owner_only_and_survives_a_reload() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // A directory made too open beforehand is tightened.
        let dir = tmp.path().join("cfg").join("survey-desktop");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap_or_else(|e| panic!("{e}"));
        let store = LoginStore::at(dir.clone());
        assert_eq!(store.load().unwrap_or_else(|e| panic!("{e}")), None);
        let login = StoredLogin {
            server: "http://127.0.0.1:1".into(),
            user: "测量员".into(),
            token: "secret-token".into(),
            expires_at: "2026-12-07T00:00:00Z".into(),
        };
        store.save(&login).unwrap_or_else(|e| panic!("{e}"));
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode(&store.path()), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(store.load().unwrap_or_else(|e| panic!("{e}")), Some(login.clone()));
        // Logging out keeps the server and the user, drops the token; still 0600.
        store.logout().unwrap_or_else(|e| panic!("{e}"));
        let after = store.load().unwrap_or_else(|e| panic!("{e}")).unwrap_or_default();
        assert_eq!(
            (after.server.as_str(), after.user.as_str(), after.token.as_str()),
            (login.server.as_str(), "测量员", "")
        );
        assert_eq!(mode(&store.path()), 0o600);
        // No temporary file left behind.
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [LOGIN_FILE]);
    }

    #[test]
    fn a_damaged_login_file_says_so() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = LoginStore::at(tmp.path().to_path_buf());
        std::fs::write(store.path(), "{not json").unwrap_or_else(|e| panic!("{e}"));
        let err = store.load().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("已损坏"), "{err}");
    }
}
