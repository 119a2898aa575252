//! Writes a district to a folder: shapefiles ZD, ZRZ, DJZQ, DJQ (with `.prj`
//! and `.cpg`), `buildings/*.csv` + `*.apportion.json`, and `truth.json`.

use std::fs;
use std::path::{Path, PathBuf};

use cadastre_core::io::{Cell, DbfDate, Field, ShapefileOptions, ShapefileWriter, Winding};

use crate::config::{Config, Error};
use crate::model::{Block, Building, CadastralDistrict, Defect, Parcel, SubDistrict, Truth};
use crate::tables::BuildingTable;

/// YSDM 要素代码 of each layer (national cadastral database standard).
pub const YSDM_ZD: &str = "6001010000";
/// YSDM of natural buildings.
pub const YSDM_ZRZ: &str = "6001030110";
/// YSDM of sub-districts.
pub const YSDM_DJZQ: &str = "1003000000";
/// YSDM of districts.
pub const YSDM_DJQ: &str = "1002000000";

/// Date written into DBF headers (last update), fixed for reproducible files.
pub const HEADER_DATE: DbfDate = DbfDate { year: 2025, month: 6, day: 30 };

const fn text(name: &'static str, width: u8) -> Field {
    Field::text(name, width)
}

const fn num(name: &'static str, width: u8, decimals: u8) -> Field {
    Field::number(name, width, decimals)
}

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
    Field::date("JGRQ"),
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

/// One layer's writer: the core's, with the generator's encoding, header date and `.prj`.
/// Rings are written as drawn: clockwise exteriors and counter-clockwise holes, and an
/// injected defect (a bow-tie) exactly as injected.
fn layer(dir: &Path, name: &str, fields: &[Field], config: &Config) -> Result<ShapefileWriter, Error> {
    let options = ShapefileOptions {
        encoding: config.encoding,
        date: HEADER_DATE,
        winding: Winding::AsGiven,
        prj: Some(config.prj()),
    };
    Ok(ShapefileWriter::create(&dir.join(name), fields, &options)?)
}

/// A count as a DBF number (BSM and floor counts stay far below 2^53).
#[allow(clippy::cast_precision_loss)]
fn count(n: u64) -> Cell<'static> {
    Cell::Number(n as f64)
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
///     w.write_block(&block?)?;
/// }
/// let truth = w.finish(g.truth(Vec::new()))?;
/// assert_eq!(truth.counts.parcels, 40);
/// assert!(dir.path().join("ZD.shp").exists() && dir.path().join("truth.json").exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DistrictWriter {
    dir: PathBuf,
    zd: ShapefileWriter,
    zrz: ShapefileWriter,
    defects: Vec<Defect>,
}

impl DistrictWriter {
    /// Creates the folder (if needed), the four layers, and writes DJQ and DJZQ.
    ///
    /// # Errors
    /// [`Error::Io`] / [`Error::Write`] if files cannot be written.
    pub fn create(
        dir: &Path,
        config: &Config,
        district: &CadastralDistrict,
        subs: &[SubDistrict],
    ) -> Result<Self, Error> {
        fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        let mut djq = layer(dir, "DJQ", &DJQ_FIELDS, config)?;
        djq.write_polygon(
            &district.geometry,
            &[
                count(district.bsm),
                Cell::Text(YSDM_DJQ),
                Cell::Text(&district.code),
                Cell::Text(&district.name),
                Cell::Number(district.area),
            ],
        )?;
        djq.finish()?;
        let mut djzq = layer(dir, "DJZQ", &DJZQ_FIELDS, config)?;
        for s in subs {
            djzq.write_polygon(
                &s.geometry,
                &[count(s.bsm), Cell::Text(YSDM_DJZQ), Cell::Text(&s.code), Cell::Text(&s.name), Cell::Number(s.area)],
            )?;
        }
        djzq.finish()?;
        Ok(Self {
            dir: dir.to_path_buf(),
            zd: layer(dir, "ZD", &ZD_FIELDS, config)?,
            zrz: layer(dir, "ZRZ", &ZRZ_FIELDS, config)?,
            defects: Vec::new(),
        })
    }

    /// Appends one block's parcels, buildings and building tables.
    ///
    /// # Errors
    /// [`Error::Write`] (a value too long for its column, I/O, a file past 2 GiB).
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
        let cells = [
            count(p.bsm),
            Cell::Text(YSDM_ZD),
            Cell::Text(&p.zddm),
            Cell::Text(&p.bdcdyh),
            Cell::Text(&p.feature),
            Cell::Text(&p.address),
            Cell::Number(p.recorded_area),
            Cell::Text("1"),
            Cell::Text(&p.land_use),
            Cell::Text(&p.right_type),
            Cell::Text(&p.right_nature),
            Cell::Text(&p.subdistrict),
        ];
        Ok(self.zd.write_polygon(&p.geometry, &cells)?)
    }

    /// Appends one building.
    ///
    /// # Errors
    /// As [`Self::write_block`].
    pub fn write_building(&mut self, b: &Building) -> Result<(), Error> {
        let cells = [
            count(b.bsm),
            Cell::Text(YSDM_ZRZ),
            Cell::Text(&b.bdcdyh),
            Cell::Text(&b.zddm),
            Cell::Text(&b.zrzh),
            Cell::Text(&b.name),
            Cell::Text(&b.completed),
            Cell::Number(b.footprint_area),
            Cell::Number(b.predicted_area),
            Cell::Number(b.measured_area),
            Cell::Number(f64::from(b.floors)),
            Cell::Number(f64::from(b.floors_above)),
            Cell::Number(f64::from(b.floors_below)),
            Cell::Text(&b.planned_use),
            Cell::Text(&b.structure),
        ];
        Ok(self.zrz.write_polygon(&b.geometry, &cells)?)
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
    /// [`Error::Io`] / [`Error::Write`].
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
