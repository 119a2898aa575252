//! Writes a district to a folder: shapefiles ZD, ZRZ, DJZQ, DJQ (with `.prj`
//! and `.cpg`), `buildings/*.csv` + `*.apportion.json`, and `truth.json`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::config::{Config, Error};
use crate::dbf::{date, num, text, DbfWriter, Field, Value};
use crate::model::{Block, Building, CadastralDistrict, Defect, Parcel, SubDistrict, Truth};
use crate::shp::ShapeWriter;
use crate::tables::BuildingTable;

/// YSDM 要素代码 of each layer (national cadastral database standard).
pub const YSDM_ZD: &str = "6001010000";
/// YSDM of natural buildings.
pub const YSDM_ZRZ: &str = "6001030110";
/// YSDM of sub-districts.
pub const YSDM_DJZQ: &str = "1003000000";
/// YSDM of districts.
pub const YSDM_DJQ: &str = "1002000000";

/// ZD columns.
pub static ZD_FIELDS: [Field; 12] = [
    num("BSM", 10, 0),
    text("YSDM", 10),
    text("ZDDM", 19),
    text("BDCDYH", 28),
    text("ZDTZM", 2),
    text("ZL", 100),
    num("ZDMJ", 15, 2),
    text("MJDW", 2),
    text("YT", 4),
    text("QLLX", 2),
    text("QLXZ", 3),
    text("DJZQDM", 12),
];

/// ZRZ columns.
pub static ZRZ_FIELDS: [Field; 15] = [
    num("BSM", 10, 0),
    text("YSDM", 10),
    text("BDCDYH", 28),
    text("ZDDM", 19),
    text("ZRZH", 24),
    text("JZWMC", 100),
    date("JGRQ"),
    num("ZZDMJ", 15, 2),
    num("YCJZMJ", 15, 2),
    num("SCJZMJ", 15, 2),
    num("ZCS", 4, 0),
    num("DSCS", 4, 0),
    num("DXCS", 4, 0),
    text("GHYT", 20),
    text("FWJG", 20),
];

/// DJZQ columns.
pub static DJZQ_FIELDS: [Field; 5] =
    [num("BSM", 10, 0), text("YSDM", 10), text("DJZQDM", 12), text("DJZQMC", 60), num("DJZQMJ", 18, 2)];
/// DJQ columns.
pub static DJQ_FIELDS: [Field; 5] =
    [num("BSM", 10, 0), text("YSDM", 10), text("DJQDM", 9), text("DJQMC", 60), num("DJQMJ", 18, 2)];

struct Layer {
    shp: ShapeWriter,
    dbf: DbfWriter,
}

impl Layer {
    fn create(dir: &Path, name: &str, fields: &'static [Field], config: &Config) -> Result<Self, Error> {
        let stem = dir.join(name);
        write_file(&stem.with_extension("prj"), config.prj().as_bytes())?;
        write_file(&stem.with_extension("cpg"), config.encoding.cpg().as_bytes())?;
        Ok(Self {
            shp: ShapeWriter::create(&stem)?,
            dbf: DbfWriter::create(&stem.with_extension("dbf"), fields, config.encoding)?,
        })
    }

    fn finish(self) -> Result<(), Error> {
        self.shp.finish()?;
        self.dbf.finish()
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    fs::write(path, bytes).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// Streams blocks to a folder.
///
/// ```
/// use cadastre_samples::{Config, DistrictWriter, Generator};
/// let dir = tempfile::tempdir()?;
/// let mut g = Generator::new(&Config::new(40))?;
/// let mut w = DistrictWriter::create(dir.path(), g.config(), &g.district(), &g.subdistricts())?;
/// for block in g.by_ref() {
///     w.write_block(&block)?;
/// }
/// let truth = w.finish(g.truth(Vec::new()))?;
/// assert_eq!(truth.counts.parcels, 40);
/// assert!(dir.path().join("ZD.shp").exists() && dir.path().join("truth.json").exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DistrictWriter {
    dir: PathBuf,
    zd: Layer,
    zrz: Layer,
    defects: Vec<Defect>,
}

impl DistrictWriter {
    /// Creates the folder (if needed), the four layers, and writes DJQ and DJZQ.
    ///
    /// # Errors
    /// [`Error::Io`] if files cannot be written.
    pub fn create(
        dir: &Path,
        config: &Config,
        district: &CadastralDistrict,
        subs: &[SubDistrict],
    ) -> Result<Self, Error> {
        fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        let mut djq = Layer::create(dir, "DJQ", &DJQ_FIELDS, config)?;
        djq.shp.write(&district.geometry)?;
        djq.dbf.write(&[
            Value::Num(district.bsm as f64),
            Value::Text(YSDM_DJQ),
            Value::Text(&district.code),
            Value::Text(&district.name),
            Value::Num(district.area),
        ])?;
        djq.finish()?;
        let mut djzq = Layer::create(dir, "DJZQ", &DJZQ_FIELDS, config)?;
        for s in subs {
            djzq.shp.write(&s.geometry)?;
            djzq.dbf.write(&[
                Value::Num(s.bsm as f64),
                Value::Text(YSDM_DJZQ),
                Value::Text(&s.code),
                Value::Text(&s.name),
                Value::Num(s.area),
            ])?;
        }
        djzq.finish()?;
        Ok(Self {
            dir: dir.to_path_buf(),
            zd: Layer::create(dir, "ZD", &ZD_FIELDS, config)?,
            zrz: Layer::create(dir, "ZRZ", &ZRZ_FIELDS, config)?,
            defects: Vec::new(),
        })
    }

    /// Appends one block's parcels, buildings and building tables.
    ///
    /// # Errors
    /// [`Error::Io`] / [`Error::FieldTooLong`] / [`Error::TooLarge`].
    pub fn write_block(&mut self, block: &Block) -> Result<(), Error> {
        for p in &block.parcels {
            self.write_parcel(p)?;
        }
        for b in &block.buildings {
            self.write_building(b)?;
        }
        for t in &block.tables {
            self.write_table(t)?;
        }
        if let Some(d) = &block.defect {
            self.defects.push(d.clone());
        }
        Ok(())
    }

    /// Appends one parcel.
    ///
    /// # Errors
    /// As [`Self::write_block`].
    pub fn write_parcel(&mut self, p: &Parcel) -> Result<(), Error> {
        self.zd.shp.write(&p.geometry)?;
        self.zd.dbf.write(&[
            Value::Num(p.bsm as f64),
            Value::Text(YSDM_ZD),
            Value::Text(&p.zddm),
            Value::Text(&p.bdcdyh),
            Value::Text(&p.feature),
            Value::Text(&p.address),
            Value::Num(p.recorded_area),
            Value::Text("1"),
            Value::Text(&p.land_use),
            Value::Text(&p.right_type),
            Value::Text(&p.right_nature),
            Value::Text(&p.subdistrict),
        ])
    }

    /// Appends one building.
    ///
    /// # Errors
    /// As [`Self::write_block`].
    pub fn write_building(&mut self, b: &Building) -> Result<(), Error> {
        self.zrz.shp.write(&b.geometry)?;
        self.zrz.dbf.write(&[
            Value::Num(b.bsm as f64),
            Value::Text(YSDM_ZRZ),
            Value::Text(&b.bdcdyh),
            Value::Text(&b.zddm),
            Value::Text(&b.zrzh),
            Value::Text(&b.name),
            Value::Text(&b.completed),
            Value::Num(b.footprint_area),
            Value::Num(b.predicted_area),
            Value::Num(b.measured_area),
            Value::Num(f64::from(b.floors)),
            Value::Num(f64::from(b.floors_above)),
            Value::Num(f64::from(b.floors_below)),
            Value::Text(&b.planned_use),
            Value::Text(&b.structure),
        ])
    }

    /// Writes `buildings/<ZRZH>.csv`, `buildings/<ZRZH>.apportion.json` and,
    /// when the building has one, `buildings/<ZRZH>.floorplan.json`.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn write_table(&mut self, t: &BuildingTable) -> Result<(), Error> {
        let dir = self.dir.join("buildings");
        fs::create_dir_all(&dir).map_err(|source| Error::Io { path: dir.clone(), source })?;
        write_file(&dir.join(format!("{}.csv", t.zrzh)), t.to_csv().as_bytes())?;
        write_file(&dir.join(format!("{}.apportion.json", t.zrzh)), t.to_json().as_bytes())?;
        if let Some(plan) = &t.floorplan {
            write_file(&dir.join(format!("{}.floorplan.json", t.zrzh)), plan.as_bytes())?;
        }
        Ok(())
    }

    /// Finishes the layers and writes `truth.json` with the defects collected
    /// from the blocks (`truth.defects` is replaced by them if non-empty).
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn finish(self, mut truth: Truth) -> Result<Truth, Error> {
        self.zd.finish()?;
        self.zrz.finish()?;
        if !self.defects.is_empty() {
            truth.defects = self.defects;
        }
        let mut json = serde_json::to_string_pretty(&truth).unwrap_or_default();
        json.push('\n');
        write_file(&self.dir.join("truth.json"), json.as_bytes())?;
        Ok(truth)
    }
}
