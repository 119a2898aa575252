//! Which tiles a Web Mercator box touches at a zoom: the tile's extent plus its
//! buffer ([`crate::db::tiles::BUFFER`]) intersecting the box, as osm2pgsql's
//! `--expire-tiles` computes it.
//!
//! ```
//! use tile_server::tile_cache::grid::{tiles_touching, touches};
//! use tile_server::db::tiles::TileCoord;
//! // A 10 m box in the middle of the world touches the four tiles around the origin at z=1.
//! let b = [-5.0, -5.0, 5.0, 5.0];
//! let r = tiles_touching(b, 1);
//! assert_eq!((r.x0, r.y0, r.x1, r.y1), (0, 0, 1, 1));
//! assert!(touches(b, TileCoord::new(1, 0, 0).unwrap()));
//! ```

use crate::db::tiles::{TileCoord, BUFFER, EXTENT, MERCATOR_HALF_WORLD};

/// An inclusive range of tile columns and rows at one zoom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRange {
    /// Zoom.
    pub z: u8,
    /// First column.
    pub x0: u32,
    /// First row (north).
    pub y0: u32,
    /// Last column.
    pub x1: u32,
    /// Last row (south).
    pub y1: u32,
}

impl TileRange {
    /// Number of tiles in the range.
    pub fn len(&self) -> u64 {
        u64::from(self.x1 - self.x0 + 1) * u64::from(self.y1 - self.y0 + 1)
    }

    /// Never empty (a range holds at least one tile); for clippy's sake.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Every tile of the range.
    pub fn tiles(self) -> impl Iterator<Item = TileCoord> {
        (self.y0..=self.y1).flat_map(move |y| (self.x0..=self.x1).map(move |x| TileCoord { z: self.z, x, y }))
    }
}

/// The tiles at zoom `z` whose buffered extent intersects `b` = `[x0, y0, x1, y1]`
/// (Web Mercator metres). Boundaries count as touching (a conservative rounding).
pub fn tiles_touching(b: [f64; 4], z: u8) -> TileRange {
    let n = 1u32 << z;
    let w = 2.0 * MERCATOR_HALF_WORLD / f64::from(n);
    // A hair more than the buffer: a box exactly on a buffered edge is in.
    let buf = w * f64::from(BUFFER) / f64::from(EXTENT) + w * 1e-9;
    let max = f64::from(n - 1);
    let col = |m: f64| ((m + MERCATOR_HALF_WORLD) / w).floor().clamp(0.0, max) as u32;
    let row = |m: f64| ((MERCATOR_HALF_WORLD - m) / w).floor().clamp(0.0, max) as u32;
    TileRange { z, x0: col(b[0] - buf), x1: col(b[2] + buf), y0: row(b[3] + buf), y1: row(b[1] - buf) }
}

/// Whether box `b` intersects the buffered extent of `tile` (closed intervals).
pub fn touches(b: [f64; 4], tile: TileCoord) -> bool {
    let t = tile.buffered_bounds();
    b[0] <= t[2] && t[0] <= b[2] && b[1] <= t[3] && t[1] <= b[3]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The range is exactly the set of tiles `touches` accepts, give or take
        /// tiles whose buffered edge the box only grazes (floating point at the
        /// boundary; the range may include those, never miss a touched tile).
        #[test]
        fn range_holds_every_touched_tile(z in 0u8..=22, cx in -1.0f64..1.0, cy in -1.0f64..1.0,
                                          w in 0.0f64..5000.0, h in 0.0f64..5000.0) {
            let (x, y) = (cx * MERCATOR_HALF_WORLD * 0.999, cy * MERCATOR_HALF_WORLD * 0.999);
            let b = [x, y, x + w, y + h];
            let r = tiles_touching(b, z);
            prop_assume!(r.len() < 10_000);
            for t in r.tiles() {
                let [x0, y0, x1, y1] = t.buffered_bounds();
                let slack = 1e-6 * MERCATOR_HALF_WORLD / f64::from(1u32 << z);
                let inside = b[0] <= x1 + slack && x0 - slack <= b[2] && b[1] <= y1 + slack && y0 - slack <= b[3];
                prop_assert!(inside, "{:?} in the range but not touched", t);
            }
            // Neighbours just outside the range are not touched.
            let n = 1u32 << z;
            for (dx, dy) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)] {
                let (xs, ys) = if dx < 0 { (i64::from(r.x0) - 1, i64::from(r.y0)) } else if dx > 0 { (i64::from(r.x1) + 1, i64::from(r.y0)) }
                    else if dy < 0 { (i64::from(r.x0), i64::from(r.y0) - 1) } else { (i64::from(r.x0), i64::from(r.y1) + 1) };
                if xs >= 0 && ys >= 0 && xs < i64::from(n) && ys < i64::from(n) {
                    let outside = TileCoord { z, x: xs as u32, y: ys as u32 };
                    prop_assert!(!touches(b, outside), "{:?} is touched", outside);
                }
            }
        }
    }

    #[test]
    fn a_point_on_a_tile_corner_touches_the_four_tiles_around_it() {
        let w = 2.0 * MERCATOR_HALF_WORLD / 16.0;
        let p = -MERCATOR_HALF_WORLD + 5.0 * w;
        let r = tiles_touching([p, -p, p, -p], 4);
        assert_eq!((r.x0, r.x1, r.y0, r.y1, r.len()), (4, 5, 4, 5, 4));
    }

    #[test]
    fn the_buffer_reaches_into_the_neighbour() {
        let w = 2.0 * MERCATOR_HALF_WORLD / 1024.0;
        let edge = -MERCATOR_HALF_WORLD + 100.0 * w;
        let inside_buffer = edge - w * 63.0 / 4096.0;
        let beyond_buffer = edge - w * 65.0 / 4096.0;
        assert_eq!(tiles_touching([inside_buffer, 0.0, inside_buffer, 0.0], 10).x1, 100);
        assert_eq!(tiles_touching([beyond_buffer, 0.0, beyond_buffer, 0.0], 10).x1, 99);
    }
}
