//! Generator configuration, presets and errors.

use std::path::PathBuf;

use cadastre_core::crs::Crs;
use cadastre_core::io::{esri_wkt, TextEncoding, WriteError};

use crate::defects::Rule;

/// How many defects of which rule to inject.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DefectPlan {
    /// A clean district.
    #[default]
    None,
    /// `K` defects cycling through [`Rule::INJECTABLE`] in order.
    Spread(u32),
    /// Exact counts per rule.
    Exact(Vec<(Rule, u32)>),
}

impl DefectPlan {
    /// The list of rules to inject, one entry per defect, in a fixed order.
    #[must_use]
    pub fn rules(&self) -> Vec<Rule> {
        match self {
            Self::None => Vec::new(),
            Self::Spread(k) => (0..*k as usize).map(|i| Rule::INJECTABLE[i % Rule::INJECTABLE.len()]).collect(),
            Self::Exact(list) => list.iter().flat_map(|(r, n)| std::iter::repeat_n(*r, *n as usize)).collect(),
        }
    }
}

/// Everything that determines a generated district. Equal configs give
/// byte-identical output.
///
/// ```
/// use cadastre_samples::Config;
/// let c = Config::new(1_000).with_seed(7);
/// assert_eq!(c.parcels, 1_000);
/// assert_eq!(Config::sample().parcels, 200);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Number of parcels to generate (≥ 1).
    pub parcels: u64,
    /// Random seed.
    pub seed: u64,
    /// Defects to inject.
    pub defects: DefectPlan,
    /// EPSG code of a CGCS2000 3° Gauss-Krüger CRS without zone prefix (4534..=4554).
    pub epsg: u32,
    /// DBF text encoding.
    pub encoding: TextEncoding,
    /// Whether to write building tables (楼盘表) for the featured buildings of block 0.
    pub building_tables: bool,
}

/// Seed of the committed sample district.
pub const SAMPLE_SEED: u64 = 330_106;
/// Parcels in the committed sample district.
pub const SAMPLE_PARCELS: u64 = 200;

impl Config {
    /// A clean district of `parcels` parcels, seed 1, EPSG:4549, GBK.
    #[must_use]
    pub fn new(parcels: u64) -> Self {
        Self {
            parcels,
            seed: 1,
            defects: DefectPlan::None,
            epsg: 4549,
            encoding: TextEncoding::Gbk,
            building_tables: false,
        }
    }

    /// The committed sample district (`samples/district/`).
    #[must_use]
    pub fn sample() -> Self {
        Self { seed: SAMPLE_SEED, building_tables: true, ..Self::new(SAMPLE_PARCELS) }
    }

    /// Sets the seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the defect plan.
    #[must_use]
    pub fn with_defects(mut self, defects: DefectPlan) -> Self {
        self.defects = defects;
        self
    }

    /// Sets the DBF encoding.
    #[must_use]
    pub fn with_encoding(mut self, encoding: TextEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Checks the values a caller may get wrong.
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad value.
    pub fn validate(&self) -> Result<(), Error> {
        if self.parcels == 0 {
            return Err(Error::Config("parcels must be at least 1".into()));
        }
        if self.parcels > 10_000_000 {
            return Err(Error::Config(format!("parcels = {} is above the supported 10,000,000", self.parcels)));
        }
        if !(4534..=4554).contains(&self.epsg) {
            return Err(Error::Config(format!(
                "EPSG:{} is not a CGCS2000 3-degree Gauss-Kruger CRS without zone prefix (4534..=4554)",
                self.epsg
            )));
        }
        Ok(())
    }

    /// Central meridian of the configured CRS, degrees east.
    #[must_use]
    pub fn central_meridian(&self) -> u32 {
        75 + 3 * (self.epsg - 4534)
    }

    /// The ESRI WKT written to `.prj` files (the core's, as `gdalsrsinfo -o wkt_esri` prints it).
    #[must_use]
    pub fn prj(&self) -> String {
        esri_wkt(&Crs::from_epsg(self.epsg)).unwrap_or_default()
    }
}

/// Errors of the generator and writer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// More defects were asked for than the district has suitable blocks.
    #[error("cannot inject {wanted} `{rule}` defect(s): only {available} suitable street blocks left; use more parcels or fewer defects")]
    TooManyDefects {
        /// The rule that ran out of blocks.
        rule: String,
        /// Defects of that rule still to place.
        wanted: usize,
        /// Suitable blocks left.
        available: usize,
    },
    /// A shapefile could not be written (a value that does not fit its column, an I/O
    /// error, a file past the format's 2 GiB limit).
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A code could not be made (a sequence or number past its digits).
    #[error("code: {0}")]
    Code(#[from] unit_code::CodeError),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// File involved.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prj_for_4549_is_the_esri_wkt_with_cm_120() {
        let p = Config::new(1).prj();
        // As printed by `gdalsrsinfo -o wkt_esri --single-line EPSG:4549` (GDAL 3.6.2).
        let gdal = r#"PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        assert_eq!(p, gdal);
        assert!(p.starts_with("PROJCS[\"CGCS2000_3_Degree_GK_CM_120E\""));
        assert!(p.contains("PARAMETER[\"Central_Meridian\",120.0]"));
        assert!(!p.contains(char::is_whitespace));
    }

    #[test]
    fn validate_rejects_zero_parcels_and_foreign_crs() {
        assert!(Config::new(0).validate().is_err());
        let mut c = Config::new(10);
        c.epsg = 4326;
        let msg = c.validate().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("4326"), "{msg}");
        c.epsg = 4534;
        assert!(c.validate().is_ok());
        assert_eq!(c.central_meridian(), 75);
    }

    #[test]
    fn spread_plan_cycles_through_rules() {
        let n = Rule::INJECTABLE.len() as u32 + 2;
        let rules = DefectPlan::Spread(n).rules();
        assert_eq!(rules.len(), n as usize);
        assert_eq!(rules[0], Rule::INJECTABLE[0]);
        assert_eq!(rules[Rule::INJECTABLE.len()], Rule::INJECTABLE[0]);
    }
}
