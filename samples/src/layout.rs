//! The street grid: how many parcels each block gets, where blocks lie, which
//! sub-district a block row belongs to, and the street names.
//!
//! Blocks are laid out row-major from the south-west. Streets run between
//! block rows and columns; sub-districts are bands of block rows whose borders
//! run down the middle of a street, so every parcel is inside its band.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::{Config, Error};

/// County code (杭州市西湖区).
pub const COUNTY: &str = "330106";
/// Cadastral district code (地籍区).
pub const DISTRICT: &str = "330106001";
/// Parcels per sub-district above which another sub-district is added
/// (keeps every 5-digit sequence far below 99999).
const PARCELS_PER_SUBDISTRICT: u64 = 40_000;
/// Smallest and largest parcel count of a full block.
const BLOCK_MIN: u32 = 8;
const BLOCK_MAX: u32 = 20;

/// Centre of the district in projected metres (Hangzhou in EPSG:4549).
const CENTRE: (f64, f64) = (512_000.0, 3_350_000.0);

/// An axis-aligned rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// West.
    pub x0: f64,
    /// South.
    pub y0: f64,
    /// East.
    pub x1: f64,
    /// North.
    pub y1: f64,
}

impl Rect {
    /// Width (east-west).
    #[must_use]
    pub fn width(&self) -> f64 {
        self.x1 - self.x0
    }
    /// Height (north-south).
    #[must_use]
    pub fn height(&self) -> f64 {
        self.y1 - self.y0
    }
}

/// Where one block is and what surrounds it.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockSite {
    /// Block number.
    pub index: u32,
    /// Parcels to generate in it.
    pub parcels: u32,
    /// Its rectangle (street edges).
    pub rect: Rect,
    /// Grid row (0 = south).
    pub row: u32,
    /// Grid column (0 = west).
    pub col: u32,
    /// Sub-district index (0-based, south to north).
    pub subdistrict: usize,
    /// Width of the street north of the block.
    pub north_street: f64,
    /// Whether the street north of the block is a sub-district (or district) border.
    pub north_is_border: bool,
}

/// The whole grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    seed: u64,
    block_parcels: Vec<u32>,
    cols: u32,
    rows: u32,
    /// West edge of each column's blocks, and its width.
    col_x: Vec<(f64, f64)>,
    /// South edge of each row's blocks, and its height.
    row_y: Vec<(f64, f64)>,
    /// Width of horizontal street r (r = 0 south of row 0, r = rows north of the last row).
    h_street: Vec<f64>,
    /// First row of each sub-district band, plus `rows` at the end.
    band_start: Vec<u32>,
    /// District boundary.
    pub bounds: Rect,
}

/// splitmix64: decorrelates (seed, block) pairs into independent stream seeds.
#[must_use]
pub fn mix(seed: u64, salt: u64) -> u64 {
    let mut z = seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A reproducible random stream for one purpose (`salt`) of one seed.
#[must_use]
pub fn rng(seed: u64, salt: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(seed, salt))
}

/// Street widths used (m): realistic urban roads from 支路 to 主干路.
const STREET_WIDTHS: [f64; 4] = [16.0, 20.0, 24.0, 30.0];
/// Half-width of the margin outside the outermost blocks.
const OUTER_STREET: f64 = 20.0;

impl Layout {
    /// Plans the grid for a configuration.
    ///
    /// # Errors
    /// [`Error::Config`] if the configuration is invalid.
    pub fn new(config: &Config) -> Result<Self, Error> {
        config.validate()?;
        let mut r = rng(config.seed, u64::MAX);
        let mut block_parcels = Vec::new();
        let mut left = config.parcels;
        while left > 0 {
            let k = u64::from(r.gen_range(BLOCK_MIN..=BLOCK_MAX)).min(left);
            block_parcels.push(k as u32);
            left -= k;
        }
        let n = block_parcels.len() as u32;
        let cols = (f64::from(n).sqrt().ceil() as u32).max(1);
        let rows = n.div_ceil(cols);
        let mut col_x = Vec::with_capacity(cols as usize);
        let mut x = 0.0;
        for c in 0..cols {
            let street = if c == 0 { OUTER_STREET / 2.0 } else { STREET_WIDTHS[r.gen_range(0..4)] };
            x += street;
            let w = f64::from(r.gen_range(200_u32..=260));
            col_x.push((x, w));
            x += w;
        }
        let width = x + OUTER_STREET / 2.0;
        let mut h_street = vec![OUTER_STREET];
        let mut row_y = Vec::with_capacity(rows as usize);
        let mut y = OUTER_STREET / 2.0;
        for rr in 0..rows {
            let h = f64::from(r.gen_range(100_u32..=140));
            row_y.push((y, h));
            y += h;
            let s = if rr + 1 == rows { OUTER_STREET } else { STREET_WIDTHS[r.gen_range(0..4)] };
            h_street.push(s);
            y += if rr + 1 == rows { s / 2.0 } else { s };
        }
        let height = y;
        let want = config.parcels.div_ceil(PARCELS_PER_SUBDISTRICT).max(3);
        let bands = want.min(u64::from(rows)).max(1) as u32;
        let band_start = (0..=bands).map(|b| b * rows / bands).collect();
        let ox = (CENTRE.0 - width / 2.0).round();
        let oy = (CENTRE.1 - height / 2.0).round();
        for c in &mut col_x {
            c.0 += ox;
        }
        for rw in &mut row_y {
            rw.0 += oy;
        }
        Ok(Self {
            seed: config.seed,
            block_parcels,
            cols,
            rows,
            col_x,
            row_y,
            h_street,
            band_start,
            bounds: Rect { x0: ox, y0: oy, x1: ox + width, y1: oy + height },
        })
    }

    /// Number of blocks.
    #[must_use]
    pub fn blocks(&self) -> u32 {
        self.block_parcels.len() as u32
    }

    /// Number of sub-districts.
    #[must_use]
    pub fn subdistricts(&self) -> usize {
        self.band_start.len() - 1
    }

    /// Seed the layout was made from.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Grid rows.
    #[must_use]
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// The site of block `index` (must be `< blocks()`).
    #[must_use]
    pub fn site(&self, index: u32) -> BlockSite {
        let row = index / self.cols;
        let col = index % self.cols;
        let (x0, w) = self.col_x[col as usize];
        let (y0, h) = self.row_y[row as usize];
        let sub = self.band_of_row(row);
        let north_is_border = row + 1 == self.band_start[sub + 1];
        BlockSite {
            index,
            parcels: self.block_parcels[index as usize],
            rect: Rect { x0, y0, x1: x0 + w, y1: y0 + h },
            row,
            col,
            subdistrict: sub,
            north_street: self.h_street[row as usize + 1],
            north_is_border,
        }
    }

    fn band_of_row(&self, row: u32) -> usize {
        self.band_start.partition_point(|&s| s <= row) - 1
    }

    /// Sub-district `s` boundary rectangle: a band across the district whose
    /// north and south edges are street centre lines (or the district edge).
    #[must_use]
    pub fn subdistrict_rect(&self, s: usize) -> Rect {
        let edge = |row: u32| -> f64 {
            if row == 0 {
                self.bounds.y0
            } else if row == self.rows {
                self.bounds.y1
            } else {
                let (y, _) = self.row_y[row as usize];
                y - self.h_street[row as usize] / 2.0
            }
        };
        Rect { x0: self.bounds.x0, x1: self.bounds.x1, y0: edge(self.band_start[s]), y1: edge(self.band_start[s + 1]) }
    }

    /// 12-digit code of sub-district `s`.
    #[must_use]
    pub fn subdistrict_code(s: usize) -> String {
        format!("{DISTRICT}{:03}", s + 1)
    }

    /// Name of horizontal street `r` (0 = the street south of row 0).
    #[must_use]
    pub fn street_name(r: u32) -> String {
        const NAMES: [&str; 16] = [
            "文三路",
            "文二路",
            "文一路",
            "天目山路",
            "余杭塘路",
            "文一西路",
            "古墩路",
            "西溪路",
            "学院路",
            "教工路",
            "保俶路",
            "曙光路",
            "黄龙路",
            "体育场路",
            "莫干山路",
            "丰潭路",
        ];
        NAMES.get(r as usize).map_or_else(|| format!("规划{}路", r + 1 - NAMES.len() as u32), |n| (*n).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_counts_add_up_and_stay_in_range() {
        let l = Layout::new(&Config::new(1_234).with_seed(5)).expect("layout");
        let sum: u64 = (0..l.blocks()).map(|b| u64::from(l.site(b).parcels)).sum();
        assert_eq!(sum, 1_234);
        for b in 0..l.blocks() - 1 {
            let k = l.site(b).parcels;
            assert!((BLOCK_MIN..=BLOCK_MAX).contains(&k), "block {b} has {k}");
        }
    }

    #[test]
    fn blocks_do_not_overlap_and_lie_in_their_band() {
        let l = Layout::new(&Config::new(3_000).with_seed(9)).expect("layout");
        assert_eq!(l.subdistricts(), 3);
        for b in 0..l.blocks() {
            let s = l.site(b);
            let band = l.subdistrict_rect(s.subdistrict);
            assert!(s.rect.y0 > band.y0 && s.rect.y1 < band.y1, "block {b}");
            assert!(s.rect.x0 > l.bounds.x0 && s.rect.x1 < l.bounds.x1);
            if b + 1 < l.blocks() && l.site(b + 1).row == s.row {
                assert!(l.site(b + 1).rect.x0 >= s.rect.x1 + 16.0);
            }
        }
        // Bands tile the district without gaps.
        for s in 1..l.subdistricts() {
            assert_eq!(l.subdistrict_rect(s - 1).y1, l.subdistrict_rect(s).y0);
        }
    }

    #[test]
    fn large_districts_get_more_subdistricts() {
        let l = Layout::new(&Config::new(1_000_000)).expect("layout");
        assert_eq!(l.subdistricts(), 25);
        // Near Hangzhou in EPSG:4549.
        assert!((l.bounds.x0 + l.bounds.x1) / 2.0 - 512_000.0 < 1.0);
    }

    #[test]
    fn street_names_past_the_list_are_numbered() {
        assert_eq!(Layout::street_name(0), "文三路");
        assert_eq!(Layout::street_name(16), "规划1路");
    }
}
