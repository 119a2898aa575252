//! A project is one GeoPackage file (SQLite): the layers as standard feature tables
//! readable by any GIS, the settings, other documents, and the **edit journal**.
//!
//! Crash safety: the file runs in WAL mode with `synchronous=FULL`; each autosave
//! appends the history steps made since the last one in one transaction, so after a
//! kill -9 the journal holds every step up to the last autosave and nothing half
//! written. Opening a file whose journal has steps offers to replay them. Saving
//! rewrites the feature tables and empties the journal in one transaction, leaving
//! only the undo history (a `Base` step) so undo reaches back past the save.

mod blob;
mod schema;
mod store;
mod units;

pub use blob::{decode, decode_multipolygon, encode, BlobError};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::model::{Document, Editor, HistoryStep};

/// `application_id` of a GeoPackage ("GPKG").
const GPKG_APPLICATION_ID: i32 = 0x4750_4B47;
/// `user_version` of GeoPackage 1.3.
const GPKG_USER_VERSION: i32 = 10300;

/// Why a project could not be created, opened or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectError {
    /// SQLite failed (disk full, permissions, corruption...).
    #[error("{context}: {source}")]
    Sqlite {
        /// What was being done.
        context: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file is not a GeoPackage made by this app.
    #[error("{0} is not a survey-desktop project (import it instead) / 不是本软件的项目文件，请用导入")]
    NotAProject(PathBuf),
    /// The file is already open in another window or process.
    #[error("{0} is open in another window / 项目已在另一个窗口中打开")]
    InUse(PathBuf),
    /// A file exists where a new project was to be created.
    #[error("{0} already exists / 文件已存在")]
    Exists(PathBuf),
    /// The content does not make sense (a tampered or damaged file).
    #[error("project file damaged: {0} / 项目文件已损坏")]
    Damaged(String),
}

pub(crate) fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> ProjectError {
    move |source| ProjectError::Sqlite { context, source }
}

/// What opening a project found.
#[derive(Debug)]
pub struct Opened {
    /// The saved document.
    pub doc: Document,
    /// Settings (key → value).
    pub settings: BTreeMap<String, String>,
    /// The undo history at the last save.
    pub base: Option<HistoryStep>,
    /// Steps made after the last save (a crash or a close without saving): offer to recover them.
    pub unsaved: Vec<HistoryStep>,
}

impl Opened {
    /// An editor over the saved document with the saved history, plus the unsaved
    /// steps replayed when `recover` (else they are dropped at the next save).
    pub fn into_editor(self, recover: bool) -> Result<(Editor, BTreeMap<String, String>), ProjectError> {
        let mut ed = Editor::new(self.doc);
        if let Some(base) = self.base {
            ed.replay(base).map_err(|e| ProjectError::Damaged(e.to_string()))?;
        }
        ed.mark_saved();
        if recover {
            for step in self.unsaved {
                ed.replay(step).map_err(|e| ProjectError::Damaged(format!("journal: {e}")))?;
            }
            // The recovered steps are in the journal already; only new ones get appended.
            let _ = ed.take_unjournaled();
        }
        Ok((ed, self.settings))
    }
}

/// An open project file.
#[derive(Debug)]
pub struct Project {
    path: PathBuf,
    conn: Connection,
}

fn configure(conn: &Connection, path: &Path) -> Result<(), ProjectError> {
    let busy = |context: &'static str| {
        let path = path.to_path_buf();
        move |e: rusqlite::Error| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
            {
                ProjectError::InUse(path)
            }
            source => ProjectError::Sqlite { context, source },
        }
    };
    // Another window holding the project answers "busy" at once instead of after a wait.
    conn.busy_timeout(std::time::Duration::ZERO).map_err(sql("busy timeout"))?;
    // One writer: a second window on the same project gets a clear error instead of
    // interleaving its journal with ours. The lock is taken by the first write below
    // and held until the project is closed (released by the OS on a crash).
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE").map_err(busy("locking mode"))?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(busy("WAL mode"))?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(busy("synchronous"))?;
    conn.execute_batch("BEGIN IMMEDIATE; COMMIT;").map_err(busy("locking the project"))
}

impl Project {
    /// Create a new, empty project file (fails if the file exists).
    pub fn create(path: &Path) -> Result<Self, ProjectError> {
        if path.exists() {
            return Err(ProjectError::Exists(path.to_path_buf()));
        }
        let mut conn = Connection::open(path).map_err(sql("creating the project"))?;
        conn.pragma_update(None, "application_id", GPKG_APPLICATION_ID).map_err(sql("application id"))?;
        conn.pragma_update(None, "user_version", GPKG_USER_VERSION).map_err(sql("user version"))?;
        let tx = conn.transaction().map_err(sql("creating the project"))?;
        tx.execute_batch(schema::CREATE).map_err(sql("creating tables"))?;
        for (table, geom, title) in schema::LAYERS {
            tx.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES (?1, 'features', ?1, ?2, -1)",
                (table, title),
            )
            .map_err(sql("registering layers"))?;
            tx.execute("INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, -1, 0, 0)", (table, geom))
                .map_err(sql("registering layers"))?;
        }
        tx.commit().map_err(sql("creating the project"))?;
        configure(&conn, path)?;
        Ok(Self { path: path.to_path_buf(), conn })
    }

    /// Open an existing project and read it.
    pub fn open(path: &Path) -> Result<(Self, Opened), ProjectError> {
        if !path.is_file() {
            return Err(ProjectError::Sqlite {
                context: "opening the project",
                source: rusqlite::Error::InvalidPath(path.to_path_buf()),
            });
        }
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(sql("opening the project"))?;
        conn.busy_timeout(std::time::Duration::ZERO).map_err(sql("busy timeout"))?;
        // Look before changing anything: a foreign file is left as it was.
        let probe = conn.query_row(
            "SELECT (SELECT application_id FROM pragma_application_id()), \
             (SELECT count(*) FROM sqlite_master WHERE name IN ('desk_settings', 'desk_journal', 'ZD'))",
            [],
            |r| Ok((r.get::<_, i32>(0)?, r.get::<_, i64>(1)?)),
        );
        match probe {
            Ok((GPKG_APPLICATION_ID, 3)) => {}
            Ok(_) => return Err(ProjectError::NotAProject(path.to_path_buf())),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
            {
                return Err(ProjectError::InUse(path.to_path_buf()));
            }
            Err(_) => return Err(ProjectError::NotAProject(path.to_path_buf())),
        }
        configure(&conn, path)?;
        let project = Self { path: path.to_path_buf(), conn };
        let opened = store::read(&project.conn)?;
        Ok((project, opened))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append history steps to the journal in one transaction (the autosave).
    pub fn append_journal(&mut self, steps: &[HistoryStep]) -> Result<(), ProjectError> {
        if steps.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql("autosave"))?;
        {
            let mut ins = tx.prepare_cached("INSERT INTO desk_journal (step) VALUES (?1)").map_err(sql("autosave"))?;
            for s in steps {
                let json = serde_json::to_string(s).map_err(|e| ProjectError::Damaged(e.to_string()))?;
                ins.execute([json]).map_err(sql("autosave"))?;
            }
        }
        tx.commit().map_err(sql("autosave"))
    }

    /// Autosave: write the editor's new steps to the journal; they are kept for the
    /// next try if the write fails.
    pub fn autosave(&mut self, editor: &mut Editor) -> Result<usize, ProjectError> {
        let steps = editor.take_unjournaled();
        let n = steps.len();
        if let Err(e) = self.append_journal(&steps) {
            editor.restore_unjournaled(steps);
            return Err(e);
        }
        Ok(n)
    }

    /// Number of journal rows after the saved state (not counting the saved history).
    pub fn unsaved_steps(&self) -> Result<usize, ProjectError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM desk_journal WHERE step NOT LIKE '{\"step\":\"base\"%'", [], |r| r.get(0))
            .map_err(sql("reading the journal"))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Save the document and settings; the journal then holds only the history.
    pub fn save(&mut self, editor: &mut Editor, settings: &BTreeMap<String, String>) -> Result<(), ProjectError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql("saving"))?;
        store::write(&tx, editor.doc(), settings)?;
        tx.execute("DELETE FROM desk_journal", []).map_err(sql("saving"))?;
        let base = serde_json::to_string(&editor.base_step()).map_err(|e| ProjectError::Damaged(e.to_string()))?;
        tx.execute("INSERT INTO desk_journal (step) VALUES (?1)", [base]).map_err(sql("saving"))?;
        tx.commit().map_err(sql("saving"))?;
        editor.mark_saved();
        // Fold the WAL into the file so the .gpkg alone is complete (copied, mailed...).
        self.checkpoint();
        Ok(())
    }

    /// Save into a new file and continue there.
    pub fn save_as(
        &mut self,
        path: &Path,
        editor: &mut Editor,
        settings: &BTreeMap<String, String>,
    ) -> Result<(), ProjectError> {
        let mut other = Project::create(path)?;
        // Documents (building tables...) travel with the project.
        for (kind, key, json) in self.documents_all()? {
            other.put_document(&kind, &key, &json)?;
        }
        other.save(editor, settings)?;
        *self = other;
        Ok(())
    }

    /// Discard the steps after the last save (the user declined recovery).
    pub fn discard_unsaved(&mut self) -> Result<(), ProjectError> {
        self.conn
            .execute("DELETE FROM desk_journal WHERE step NOT LIKE '{\"step\":\"base\"%'", [])
            .map_err(sql("discarding the journal"))?;
        Ok(())
    }

    /// Store one setting at once (`None` removes it), outside a save: settings that
    /// are not edits (the QC rules) are kept without waiting for the next save.
    pub fn put_setting(&mut self, key: &str, value: Option<&str>) -> Result<(), ProjectError> {
        match value {
            Some(v) => self
                .conn
                .execute("INSERT OR REPLACE INTO desk_settings (key, value) VALUES (?1, ?2)", (key, v))
                .map(|_| ()),
            None => self.conn.execute("DELETE FROM desk_settings WHERE key = ?1", [key]).map(|_| ()),
        }
        .map_err(sql("storing a setting"))
    }

    /// Store a document (e.g. a building table, kind `building_table`) as JSON.
    pub fn put_document(&mut self, kind: &str, key: &str, json: &str) -> Result<(), ProjectError> {
        self.conn
            .execute("INSERT OR REPLACE INTO desk_documents (kind, key, json) VALUES (?1, ?2, ?3)", (kind, key, json))
            .map_err(sql("storing a document"))?;
        Ok(())
    }

    /// The documents of one kind, by key.
    pub fn documents(&self, kind: &str) -> Result<BTreeMap<String, String>, ProjectError> {
        let mut st = self
            .conn
            .prepare("SELECT key, json FROM desk_documents WHERE kind = ?1")
            .map_err(sql("reading documents"))?;
        let rows = st.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?))).map_err(sql("reading documents"))?;
        rows.collect::<Result<_, _>>().map_err(sql("reading documents"))
    }

    fn documents_all(&self) -> Result<Vec<(String, String, String)>, ProjectError> {
        let mut st =
            self.conn.prepare("SELECT kind, key, json FROM desk_documents").map_err(sql("reading documents"))?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(sql("reading documents"))?;
        rows.collect::<Result<_, _>>().map_err(sql("reading documents"))
    }

    fn checkpoint(&self) {
        // Best effort: a failed checkpoint leaves the data in the WAL, still safe.
        let _ = self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        self.checkpoint();
    }
}

#[cfg(test)]
mod tests;
