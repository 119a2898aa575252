//! Load options: DBF text encoding and field-name aliases.

use std::collections::BTreeMap;

use encoding_rs::Encoding;

use super::LoadError;

/// Options for [`super::load_submission`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Force the DBF text encoding (overrides .cpg and detection). `None`: use the
    /// .cpg, else detect (strict UTF-8, else GBK when it decodes cleanly).
    pub encoding: Option<&'static Encoding>,
    /// Extra field-name aliases on top of the built-in ones.
    pub aliases: FieldAliases,
}

impl LoadOptions {
    /// Options with the encoding given by name (`gbk`, `cp936`, `936`, `utf-8`, `65001`, `latin1`, ...).
    pub fn with_encoding_name(mut self, name: &str) -> Result<Self, LoadError> {
        self.encoding = Some(
            crate::io::encoding_from_name(name).ok_or_else(|| LoadError::UnknownEncoding(name.to_owned()))?,
        );
        Ok(self)
    }
}

/// Field-name aliases: standard name (e.g. `ZDDM`) → other names the field may have
/// in the data (e.g. `宗地代码`, `zddm`). Matching is case-insensitive and ignores
/// surrounding spaces; the standard name itself always matches.
#[derive(Debug, Clone, Default)]
pub struct FieldAliases {
    extra: BTreeMap<String, Vec<String>>,
}
