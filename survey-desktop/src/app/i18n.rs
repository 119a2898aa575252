//! Interface language: Chinese by default, English switchable.

use serde::{Deserialize, Serialize};

/// The interface language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lang {
    /// 中文 (default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Pick the text for this language.
    #[inline]
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The half of a bilingual "中文 / English" label for this language.
    pub fn pick(self, both: &str) -> String {
        match both.split_once(" / ") {
            Some((zh, en)) => match self {
                Lang::Zh => zh.to_owned(),
                Lang::En => en.to_owned(),
            },
            None => both.to_owned(),
        }
    }
}
