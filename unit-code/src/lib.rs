//! 不动产单元代码 (real-estate unit code, GB/T 37346-2019): parse, validate,
//! format, allocate, and keep the lineage of 28-character unit codes.
//!
//! See `DOMAIN.md` §4 of the project for the rules implemented here.
