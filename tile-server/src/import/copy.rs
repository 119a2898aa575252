//! Rows in PostgreSQL's `COPY ... FROM STDIN` text format, one line per feature,
//! geometry as hex EWKB. Values are escaped here, so no text a user typed (tabs,
//! newlines, backslashes in 坐落) can shift a column.

use std::fmt::Write as _;

use cadastre_core::model::{Building, District, Parcel, Subdistrict};
use chrono::NaiveDate;

use super::ewkb::push_multipolygon;

/// Staging table and column list of each layer (temporary, one per session).
pub(crate) struct Staging {
    /// Temporary table name.
    pub table: &'static str,
    /// `CREATE TEMP TABLE` body: the columns.
    pub columns_ddl: &'static str,
    /// Column list of the `COPY`.
    pub columns: &'static str,
}

pub(crate) const PARCELS: Staging = Staging {
    table: "import_stage_parcels",
    columns_ddl: "county char(6), zddm char(19), zl text, zdmj numeric(14,2), yt text, qllx text, qlxz text, \
                  geom geometry, src bigint",
    columns: "county, zddm, zl, zdmj, yt, qllx, qlxz, geom, src",
};
pub(crate) const BUILDINGS: Staging = Staging {
    table: "import_stage_buildings",
    columns_ddl: "county char(6), zrzh char(24), jzwmc text, zl text, jgrq date, dscs integer, dxcs integer, \
                  fwjg text, ghyt text, ycjzmj numeric(14,2), scjzmj numeric(14,2), geom geometry, src bigint",
    columns: "county, zrzh, jzwmc, zl, jgrq, dscs, dxcs, fwjg, ghyt, ycjzmj, scjzmj, geom, src",
};
pub(crate) const SUB_DISTRICTS: Staging = Staging {
    table: "import_stage_sub_districts",
    columns_ddl: "county char(6), djzqdm char(12), djzqmc text, geom geometry, src bigint",
    columns: "county, djzqdm, djzqmc, geom, src",
};
pub(crate) const DISTRICTS: Staging = Staging {
    table: "import_stage_districts",
    columns_ddl: "county char(6), djqdm char(9), djqmc text, geom geometry, src bigint",
    columns: "county, djqdm, djqmc, geom, src",
};

/// One line of COPY text being built.
struct Line<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Line<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out, first: true }
    }

    fn sep(&mut self) {
        if !self.first {
            self.out.push(b'\t');
        }
        self.first = false;
    }

    fn text(&mut self, v: &str) -> &mut Self {
        self.sep();
        for b in v.bytes() {
            match b {
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                _ => self.out.push(b),
            }
        }
        self
    }

    fn opt_text(&mut self, v: Option<&str>) -> &mut Self {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    fn null(&mut self) -> &mut Self {
        self.sep();
        self.out.extend_from_slice(b"\\N");
        self
    }

    fn raw(&mut self, s: &str) -> &mut Self {
        self.sep();
        self.out.extend_from_slice(s.as_bytes());
        self
    }

    /// An area, 2 decimals (the column is NUMERIC(14, 2); range checked by the validator).
    fn area(&mut self, v: Option<f64>) -> &mut Self {
        match v {
            Some(v) => {
                let mut s = String::new();
                let _ = write!(s, "{v:.2}");
                self.raw(&s)
            }
            None => self.null(),
        }
    }

    fn int(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.raw(&v.to_string()),
            None => self.null(),
        }
    }

    fn geom(&mut self, mp: &geo_types::MultiPolygon<f64>, srid: u32) -> &mut Self {
        self.sep();
        push_multipolygon(self.out, mp, srid);
        self
    }

    fn end(&mut self, src: usize) {
        self.raw(&src.to_string());
        self.out.push(b'\n');
    }
}

/// Appends a parcel's staging line.
pub(crate) fn parcel(out: &mut Vec<u8>, county: &str, code: &str, p: &Parcel, srid: u32) {
    let a = &p.attributes;
    Line::new(out)
        .text(county)
        .text(code)
        .text(a.zl.as_deref().map_or("", str::trim))
        .area(a.zdmj)
        .opt_text(a.yt.as_deref())
        .opt_text(a.qllx.as_deref())
        .opt_text(a.qlxz.as_deref())
        .geom(&p.geometry, srid)
        .end(p.source_index);
}

/// Appends a building's staging line; `jgrq` already parsed by the validator.
pub(crate) fn building(out: &mut Vec<u8>, county: &str, code: &str, b: &Building, jgrq: Option<NaiveDate>, srid: u32) {
    let a = &b.attributes;
    let date = jgrq.map(|d| d.format("%Y-%m-%d").to_string());
    let mut line = Line::new(out);
    line.text(county)
        .text(code)
        .text(a.jzwmc.as_deref().map_or("", str::trim))
        .text(b.attributes.extra.get("ZL").map_or("", |s| s.trim()));
    match &date {
        Some(d) => line.raw(d),
        None => line.null(),
    };
    line.int(a.dscs)
        .int(a.dxcs)
        .opt_text(a.fwjg.as_deref())
        .opt_text(a.ghyt.as_deref())
        .area(a.ycjzmj)
        .area(a.scjzmj)
        .geom(&b.footprint, srid)
        .end(b.source_index);
}

/// Appends a sub-district's staging line.
pub(crate) fn sub_district(out: &mut Vec<u8>, county: &str, code: &str, s: &Subdistrict, srid: u32) {
    Line::new(out)
        .text(county)
        .text(code)
        .text(s.name.as_deref().map_or("", str::trim))
        .geom(&s.geometry, srid)
        .end(s.source_index);
}

/// Appends a district's staging line.
pub(crate) fn district(out: &mut Vec<u8>, county: &str, code: &str, d: &District, srid: u32) {
    Line::new(out)
        .text(county)
        .text(code)
        .text(d.name.as_deref().map_or("", str::trim))
        .geom(&d.geometry, srid)
        .end(d.source_index);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_nulls_are_marked() {
        let mut out = Vec::new();
        Line::new(&mut out).text("a\tb\\c\nd").opt_text(Some("  ")).area(Some(12.345)).int(None).end(7);
        assert_eq!(String::from_utf8_lossy(&out), "a\\tb\\\\c\\nd\t\\N\t12.35\t\\N\t7\n");
    }

    /// COPY text unescaping, as PostgreSQL does it for the escapes we write.
    fn unescape(field: &str) -> String {
        let mut out = String::new();
        let mut chars = field.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('t') => out.push('\t'),
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some(o) => out.push(o),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn any_text_stays_one_field_and_round_trips(a in "\\PC*|[\t\n\r\\\\a-z坐落]*", b in "\\PC*") {
            let mut out = Vec::new();
            Line::new(&mut out).text(&a).text(&b).end(1);
            let line = String::from_utf8(out).unwrap_or_default();
            let body = line.strip_suffix('\n').unwrap_or_default();
            proptest::prop_assert!(!body.contains('\n') && !body.contains('\r'));
            let fields: Vec<&str> = body.split('\t').collect();
            proptest::prop_assert_eq!(fields.len(), 3);
            proptest::prop_assert_eq!(unescape(fields[0]), a);
            proptest::prop_assert_eq!(unescape(fields[1]), b);
        }
    }

    #[test]
    fn chinese_text_passes_unchanged() {
        let mut out = Vec::new();
        Line::new(&mut out).text("西湖区文三路1号").end(0);
        assert_eq!(String::from_utf8_lossy(&out), "西湖区文三路1号\t0\n");
    }
}
