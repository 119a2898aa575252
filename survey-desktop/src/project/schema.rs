//! The project file's tables: the GeoPackage core tables, one feature table per
//! layer with the standard field names, and the app's own `desk_*` tables.

/// SQL creating an empty project (run inside a transaction).
pub const CREATE: &str = r#"
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326, 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));

-- 宗地. JZD_IDS: the rings as boundary point ids (JZD.fid), which keeps shared points shared.
CREATE TABLE "ZD" (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON, ZDDM TEXT, BSM TEXT, BDCDYH TEXT,
  ZDTZM TEXT, ZL TEXT, ZDMJ REAL, YT TEXT, QLLX TEXT, QLXZ TEXT, DJZQDM TEXT, JZDJB INTEGER, EXTRA TEXT, JZD_IDS TEXT);
-- 自然幢.
CREATE TABLE "ZRZ" (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON, ZRZH TEXT, ZDDM TEXT, BSM TEXT,
  BDCDYH TEXT, JZWMC TEXT, JGRQ TEXT, ZZDMJ REAL, YCJZMJ REAL, SCJZMJ REAL, ZCS INTEGER, DSCS INTEGER, DXCS INTEGER,
  GHYT TEXT, FWJG TEXT, EXTRA TEXT);
-- 界址点: XZBZ = northing, YZBZ = easting.
CREATE TABLE "JZD" (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom POINT, XZBZ REAL, YZBZ REAL);
-- 界址线: from/to point (JZD.fid) and the parcels on each side (ZDDM, empty = open land).
CREATE TABLE "JZX" (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom LINESTRING, QSD INTEGER, ZZD INTEGER,
  ZDDM_LEFT TEXT, ZDDM_RIGHT TEXT);
-- 地籍子区 / 地籍区 (context layers).
CREATE TABLE "DJZQ" (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON, DJZQDM TEXT, DJZQMC TEXT,
  DJZQMJ REAL, EXTRA TEXT);
CREATE TABLE "DJQ" (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom MULTIPOLYGON, DJQDM TEXT, DJQMC TEXT,
  DJQMJ REAL, EXTRA TEXT);

-- The app's own tables (not features).
CREATE TABLE desk_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- 楼盘表 and other documents keyed by name (JSON), for the building-table part of the app.
CREATE TABLE desk_documents (kind TEXT NOT NULL, key TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (kind, key));
-- The edit journal: every history step since the last save, in order. Autosave appends.
CREATE TABLE desk_journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, step TEXT NOT NULL,
  created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
"#;

/// Feature tables with their geometry type.
pub const LAYERS: &[(&str, &str, &str)] = &[
    ("ZD", "MULTIPOLYGON", "宗地"),
    ("ZRZ", "MULTIPOLYGON", "自然幢"),
    ("JZD", "POINT", "界址点"),
    ("JZX", "LINESTRING", "界址线"),
    ("DJZQ", "MULTIPOLYGON", "地籍子区"),
    ("DJQ", "MULTIPOLYGON", "地籍区"),
];

/// Standard parcel attribute columns (serde names of `ParcelAttributes`) and SQL types.
pub const PARCEL_COLUMNS: &[(&str, &str)] = &[
    ("BSM", "TEXT"),
    ("BDCDYH", "TEXT"),
    ("ZDTZM", "TEXT"),
    ("ZL", "TEXT"),
    ("ZDMJ", "REAL"),
    ("YT", "TEXT"),
    ("QLLX", "TEXT"),
    ("QLXZ", "TEXT"),
    ("DJZQDM", "TEXT"),
    ("JZDJB", "INTEGER"),
];

/// Standard building attribute columns (serde names of `BuildingAttributes`).
pub const BUILDING_COLUMNS: &[(&str, &str)] = &[
    ("BSM", "TEXT"),
    ("BDCDYH", "TEXT"),
    ("JZWMC", "TEXT"),
    ("JGRQ", "TEXT"),
    ("ZZDMJ", "REAL"),
    ("YCJZMJ", "REAL"),
    ("SCJZMJ", "REAL"),
    ("ZCS", "INTEGER"),
    ("DSCS", "INTEGER"),
    ("DXCS", "INTEGER"),
    ("GHYT", "TEXT"),
    ("FWJG", "TEXT"),
];
