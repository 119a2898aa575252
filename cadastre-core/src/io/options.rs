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
    /// When set, only these attributes (standard names, which aliases resolve, or other field
    /// names) are read besides the keys and numbers, which are always read because their
    /// values can give load issues; other attributes are left empty (`None`, not in `extra`),
    /// and a shapefile does not even decode their columns. Other formats read every field.
    /// A county's parcels and buildings carry text the quality checks never look at; not
    /// reading it saves a fifth of the model's memory (see `QcConfig::attributes_read`).
    pub only_attributes: Option<Vec<String>>,
    /// Records per chunk when a shapefile is read in chunks ([`super::stream_layer`]);
    /// `None`: 65,536. Smaller chunks hold less in memory at once; tests use them to get
    /// several chunks out of a small file.
    pub chunk_records: Option<usize>,
}

impl LoadOptions {
    /// Options with the encoding given by name (`gbk`, `cp936`, `936`, `utf-8`, `65001`, `latin1`, ...).
    ///
    /// ```
    /// use cadastre_core::io::LoadOptions;
    /// let opts = LoadOptions::default().with_encoding_name("cp936")?;
    /// assert_eq!(opts.encoding.map(|e| e.name()), Some("GBK"));
    /// assert!(LoadOptions::default().with_encoding_name("klingon").is_err());
    /// # Ok::<(), cadastre_core::io::LoadError>(())
    /// ```
    pub fn with_encoding_name(mut self, name: &str) -> Result<Self, LoadError> {
        self.encoding =
            Some(crate::io::encoding_from_name(name).ok_or_else(|| LoadError::UnknownEncoding(name.to_owned()))?);
        Ok(self)
    }
}

/// Built-in aliases: standard name → other names seen in production data.
const BUILT_IN: &[(&str, &[&str])] = &[
    ("BSM", &["标识码"]),
    ("YSDM", &["要素代码"]),
    ("ZDDM", &["宗地代码", "宗地号", "ZD_DM"]),
    ("BDCDYH", &["不动产单元号", "不动产单元代码", "BDCDYDM"]),
    ("ZDTZM", &["宗地特征码"]),
    ("ZL", &["坐落", "ZLDZ"]),
    ("ZDMJ", &["宗地面积", "SCMJ"]),
    ("YT", &["用途", "土地用途", "TDYT"]),
    ("QLLX", &["权利类型"]),
    ("QLXZ", &["权利性质"]),
    ("DJZQDM", &["地籍子区代码", "子区代码"]),
    ("DJZQMC", &["地籍子区名称"]),
    ("DJZQMJ", &["地籍子区面积"]),
    ("DJQDM", &["地籍区代码"]),
    ("DJQMC", &["地籍区名称"]),
    ("DJQMJ", &["地籍区面积"]),
    ("JZDJB", &["界址点精度", "JZDJD"]),
    ("ZRZH", &["自然幢号", "幢号"]),
    ("JZWMC", &["建筑物名称"]),
    ("JGRQ", &["竣工日期"]),
    ("ZZDMJ", &["占地面积", "基底面积"]),
    ("YCJZMJ", &["预测建筑面积"]),
    ("SCJZMJ", &["实测建筑面积"]),
    ("ZCS", &["总层数"]),
    ("DSCS", &["地上层数"]),
    ("DXCS", &["地下层数"]),
    ("GHYT", &["规划用途"]),
    ("FWJG", &["房屋结构"]),
];

/// Field-name aliases: standard name (e.g. `ZDDM`) → other names the field may have
/// in the data (e.g. `宗地代码`). Matching ignores ASCII case and surrounding spaces;
/// the standard name itself and the built-in aliases always match.
///
/// ```
/// use cadastre_core::io::FieldAliases;
/// let mut aliases = FieldAliases::default();
/// aliases.add("ZDDM", "PARCEL_ID");
/// let names = ["parcel_id", "坐落"];
/// assert_eq!(aliases.find("ZDDM", names.iter().copied()), Some(0));
/// assert_eq!(aliases.find("ZL", names.iter().copied()), Some(1));
/// assert_eq!(aliases.find("YT", names.iter().copied()), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct FieldAliases {
    extra: BTreeMap<String, Vec<String>>,
}

impl FieldAliases {
    /// Add an alias for a standard field name.
    pub fn add(&mut self, standard: &str, alias: &str) -> &mut Self {
        self.extra.entry(standard.trim().to_ascii_uppercase()).or_default().push(alias.trim().to_owned());
        self
    }

    /// Parse `STANDARD=alias` pairs (e.g. from the command line).
    pub fn parse_pair(&mut self, pair: &str) -> Result<&mut Self, String> {
        let (std_name, alias) = pair.split_once('=').ok_or_else(|| format!("alias {pair:?} is not STANDARD=name"))?;
        if std_name.trim().is_empty() || alias.trim().is_empty() {
            return Err(format!("alias {pair:?} has an empty side"));
        }
        Ok(self.add(std_name, alias))
    }

    /// Index of the column that holds `standard`, among `names`. User aliases win
    /// over the standard name, which wins over built-in aliases.
    pub fn find<'a>(&self, standard: &str, names: impl Iterator<Item = &'a str> + Clone) -> Option<usize> {
        let eq = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        let position = |candidate: &str| names.clone().position(|n| eq(n, candidate));
        let user = self.extra.get(&standard.to_ascii_uppercase());
        user.into_iter().flatten().find_map(|a| position(a)).or_else(|| position(standard)).or_else(|| {
            BUILT_IN.iter().filter(|(s, _)| *s == standard).flat_map(|(_, a)| a.iter()).find_map(|a| position(a))
        })
    }
}
