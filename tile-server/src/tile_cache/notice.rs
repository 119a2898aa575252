//! The change notifications of channel `cadastre_tiles` (migration 0020): which
//! layer, county and Web Mercator boxes a committed statement changed.
//!
//! ```
//! use tile_server::tile_cache::notice::{Extent, Notice};
//! use tile_server::db::tiles::TileLayer;
//! let n = Notice::parse("parcels|330102|100,200,110,210;5,5,6,6").unwrap();
//! assert_eq!(n.layer, TileLayer::Parcels);
//! assert_eq!(n.county.as_deref(), Some("330102"));
//! assert_eq!(n.extent, Extent::Boxes(vec![[100.0, 200.0, 110.0, 210.0], [5.0, 5.0, 6.0, 6.0]]));
//! assert_eq!(Notice::parse("points|*|*").unwrap().extent, Extent::All);
//! assert!(Notice::parse("households|330102|*").is_err());
//! ```

use serde::Serialize;

use super::grid;
use crate::db::tiles::{TileCoord, TileLayer};

/// What changed in one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The layer.
    pub layer: TileLayer,
    /// The county; `None` = every county (a TRUNCATE, or the cache came back
    /// after missing notifications).
    pub county: Option<String>,
    /// Where.
    pub extent: Extent,
}

/// Where a change is.
#[derive(Debug, Clone, PartialEq)]
pub enum Extent {
    /// Web Mercator boxes `[x0, y0, x1, y1]` in metres.
    Boxes(Vec<[f64; 4]>),
    /// Anywhere.
    All,
}

/// The JSON the console receives for a notice (`/tiles/events`).
#[derive(Debug, Serialize)]
pub struct NoticeEvent<'a> {
    /// Layer name (the source to refresh).
    pub layer: &'a str,
    /// Boxes in Web Mercator metres; `null` = refresh every tile of the layer.
    pub boxes: Option<&'a [[f64; 4]]>,
}

impl Notice {
    /// Parses `layer|county|boxes` (see the migration); an error names what is wrong.
    pub fn parse(payload: &str) -> Result<Self, String> {
        let mut parts = payload.splitn(3, '|');
        let (Some(layer), Some(county), Some(boxes)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("tile notice {payload:?}: expected layer|county|boxes"));
        };
        let layer = TileLayer::parse(layer).ok_or_else(|| format!("tile notice {payload:?}: unknown layer"))?;
        let county = match county {
            "*" => None,
            c if c.parse::<unit_code::CountyCode>().is_ok() => Some(c.to_owned()),
            _ => return Err(format!("tile notice {payload:?}: bad county")),
        };
        let extent = if boxes == "*" {
            Extent::All
        } else {
            let parsed: Result<Vec<[f64; 4]>, String> = boxes.split(';').map(parse_box).collect();
            Extent::Boxes(parsed.map_err(|e| format!("tile notice {payload:?}: {e}"))?)
        };
        Ok(Self { layer, county, extent })
    }

    /// A notice that every tile of `layer` may have changed.
    pub fn everything(layer: TileLayer) -> Self {
        Self { layer, county: None, extent: Extent::All }
    }

    /// Whether a tile drawn for `counties` may show this change.
    pub fn concerns(&self, counties: &[String]) -> bool {
        self.county.as_ref().is_none_or(|c| counties.iter().any(|x| x == c))
    }

    /// Whether this change touches `tile` of a caller whose scope is `counties`.
    pub fn touches(&self, layer: TileLayer, tile: TileCoord, counties: &[String]) -> bool {
        if layer != self.layer || !self.concerns(counties) {
            return false;
        }
        match &self.extent {
            Extent::All => true,
            Extent::Boxes(boxes) => boxes.iter().any(|b| grid::touches(*b, tile)),
        }
    }

    /// The event sent to consoles.
    pub fn event(&self) -> NoticeEvent<'_> {
        NoticeEvent {
            layer: self.layer.name(),
            boxes: match &self.extent {
                Extent::Boxes(b) => Some(b),
                Extent::All => None,
            },
        }
    }
}

fn parse_box(text: &str) -> Result<[f64; 4], String> {
    let mut out = [0.0; 4];
    let mut parts = text.split(',');
    for v in &mut out {
        *v = parts
            .next()
            .and_then(|p| p.trim().parse::<f64>().ok())
            .filter(|f| f.is_finite())
            .ok_or_else(|| format!("bad box {text:?}"))?;
    }
    if parts.next().is_some() || out[0] > out[2] || out[1] > out[3] {
        return Err(format!("bad box {text:?}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_payloads_are_errors() {
        for p in [
            "",
            "parcels",
            "parcels|330102",
            "parcels|33010|*",
            "parcels|330102|1,2,3",
            "parcels|330102|3,0,1,1",
            "parcels|330102|a,b,c,d",
            "parcels|330102|1,2,3,4,5",
            "parcels|330102|NaN,0,1,1",
        ] {
            assert!(Notice::parse(p).is_err(), "{p}");
        }
    }

    #[test]
    fn county_scope() {
        let n = Notice::parse("buildings|330102|*").unwrap_or_else(|e| panic!("{e}"));
        let tile = TileCoord { z: 0, x: 0, y: 0 };
        assert!(n.touches(TileLayer::Buildings, tile, &["330101".into(), "330102".into()]));
        assert!(!n.touches(TileLayer::Buildings, tile, &["330103".into()]));
        assert!(!n.touches(TileLayer::Parcels, tile, &["330102".into()]));
        assert!(Notice::everything(TileLayer::Parcels).touches(TileLayer::Parcels, tile, &["999999".into()]));
    }
}
