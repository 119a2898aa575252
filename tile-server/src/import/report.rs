//! The reject report: CSV, UTF-8 with a byte-order mark so that Excel shows
//! Chinese correctly; one row per rejected feature, per feature loaded with
//! warnings, and per layer-level note.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::validate::Issue;
use super::ImportError;

/// Column names of the report.
pub const HEADER: [&str; 7] = ["layer", "feature_index", "code", "action", "rule", "reason_zh", "reason_en"];

/// Writes report rows as they come (a killed import keeps what was written).
pub struct RejectWriter {
    path: PathBuf,
    csv: csv::Writer<BufWriter<File>>,
}

impl std::fmt::Debug for RejectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RejectWriter").field("path", &self.path).finish_non_exhaustive()
    }
}

impl RejectWriter {
    /// Creates (truncates) the report and writes the BOM and header.
    pub fn create(path: &Path) -> Result<Self, ImportError> {
        let err = |e: &dyn std::fmt::Display| ImportError::Report { path: path.to_path_buf(), detail: e.to_string() };
        let file = File::create(path).map_err(|e| err(&e))?;
        let mut w = BufWriter::new(file);
        w.write_all(b"\xEF\xBB\xBF").map_err(|e| err(&e))?;
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(HEADER).map_err(|e| err(&e))?;
        Ok(Self { path: path.to_path_buf(), csv })
    }

    /// Appends rows.
    pub fn write(&mut self, issues: &[Issue]) -> Result<(), ImportError> {
        for i in issues {
            let index = i.index.map(|n| n.to_string()).unwrap_or_default();
            self.csv
                .write_record([
                    i.layer.standard_name(),
                    &index,
                    &i.code,
                    i.action.as_str(),
                    &i.rule,
                    &i.reason_zh,
                    &i.reason_en,
                ])
                .map_err(|e| ImportError::Report { path: self.path.clone(), detail: e.to_string() })?;
        }
        Ok(())
    }

    /// Flushes to disk.
    pub fn flush(&mut self) -> Result<(), ImportError> {
        self.csv.flush().map_err(|e| ImportError::Report { path: self.path.clone(), detail: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::validate::Action;
    use cadastre_core::model::Layer;

    #[test]
    fn bom_header_and_quoted_chinese() {
        let dir = std::env::temp_dir().join(format!("rejects-test-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("r.csv");
        let mut w = RejectWriter::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let issue = Issue {
            layer: Layer::Parcels,
            index: Some(7),
            code: "330106001001GB0000X".into(),
            action: Action::Rejected,
            rule: "code.format".into(),
            reason_zh: "宗地代码格式错误，应为 19 位".into(),
            reason_en: "malformed, \"19\" chars".into(),
        };
        w.write(&[issue]).unwrap_or_else(|e| panic!("{e}"));
        w.flush().unwrap_or_else(|e| panic!("{e}"));
        drop(w);
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(bytes.starts_with(b"\xEF\xBB\xBFlayer,feature_index,code,action,rule,reason_zh,reason_en\n"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("ZD,7,330106001001GB0000X,rejected,code.format,宗地代码格式错误，应为 19 位,"), "{text}");
        assert!(text.contains("\"malformed, \"\"19\"\" chars\""));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
