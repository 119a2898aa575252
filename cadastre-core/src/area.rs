//! Parcel area (宗地面积): planar area in the Gauss-Krüger zone, m², and the
//! coordinate-method tolerance ΔS = 2·m_j·√S.
//!
//! Projected coordinates are large (eastings ~5·10⁵ or ~4·10⁷ with the zone prefix,
//! northings ~3·10⁶): the shoelace sum is taken relative to a local origin (the
//! first vertex of each ring) so the products stay small and no digits are lost. The ring
//! sum itself is [`crate::ring::signed_area2`], the one the reader and the checks use too.

use geo_types::{LineString, MultiPolygon, Polygon};
use serde::{Deserialize, Serialize};

/// Planar area in the data's units (m² in a GK zone).
pub trait PlanarArea {
    /// Unsigned area: exterior minus holes, summed over parts.
    ///
    /// ```
    /// use cadastre_core::area::PlanarArea;
    /// use geo_types::polygon;
    /// let p = polygon![(x: 40_512_000.0, y: 3_350_000.0), (x: 40_512_010.0, y: 3_350_000.0),
    ///                  (x: 40_512_010.0, y: 3_350_020.0), (x: 40_512_000.0, y: 3_350_020.0)];
    /// assert_eq!(p.planar_area(), 200.0);
    /// ```
    fn planar_area(&self) -> f64;

    /// Area rounded to 0.01 m², the recorded precision of ZDMJ.
    fn area_m2(&self) -> f64 {
        round2(self.planar_area())
    }
}

/// Round to 2 decimals (half away from zero).
pub fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Twice the signed area of a ring (positive = counter-clockwise): [`crate::ring::signed_area2`]
/// (local origin, Kahan summation). Closed or open rings give the same result.
pub fn ring_signed_area2(ring: &LineString<f64>) -> f64 {
    crate::ring::signed_area2(&ring.0)
}

impl PlanarArea for LineString<f64> {
    fn planar_area(&self) -> f64 {
        ring_signed_area2(self).abs() / 2.0
    }
}

impl PlanarArea for Polygon<f64> {
    fn planar_area(&self) -> f64 {
        let holes: f64 = self.interiors().iter().map(PlanarArea::planar_area).sum();
        (self.exterior().planar_area() - holes).max(0.0)
    }
}

impl PlanarArea for MultiPolygon<f64> {
    fn planar_area(&self) -> f64 {
        self.0.iter().map(PlanarArea::planar_area).sum()
    }
}

/// Boundary-point accuracy class (界址点精度等级) with its mean square error m_j.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum PointClass {
    /// Class 1: m_j = 0.05 m (urban built-up land).
    #[default]
    One,
    /// Class 2: m_j = 0.075 m.
    Two,
    /// Class 3: m_j = 0.10 m.
    Three,
}

impl PointClass {
    /// The class for 1, 2 or 3.
    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            1 => Some(Self::One),
            2 => Some(Self::Two),
            3 => Some(Self::Three),
            _ => None,
        }
    }

    /// Mean square error of a boundary point, metres.
    pub fn m_j(self) -> f64 {
        match self {
            Self::One => 0.05,
            Self::Two => 0.075,
            Self::Three => 0.10,
        }
    }

    /// Area tolerance ΔS = 2·m_j·√S for area `s` (m²).
    ///
    /// ```
    /// use cadastre_core::area::PointClass;
    /// assert_eq!(PointClass::One.tolerance(400.0), 2.0);   // 2 × 0.05 × 20
    /// assert_eq!(PointClass::Three.tolerance(400.0), 4.0); // 2 × 0.10 × 20
    /// ```
    pub fn tolerance(self, s: f64) -> f64 {
        2.0 * self.m_j() * s.max(0.0).sqrt()
    }
}

/// Comparison of a recorded area with the computed one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AreaCheck {
    /// Computed planar area, m², 2 decimals.
    pub computed: f64,
    /// Recorded area (ZDMJ), m².
    pub recorded: f64,
    /// recorded − computed.
    pub difference: f64,
    /// ΔS for the computed area.
    pub tolerance: f64,
    /// |difference| ≤ tolerance.
    pub within: bool,
}

/// Check a recorded area against a geometry.
///
/// ```
/// use cadastre_core::area::{check_area, PointClass};
/// use geo_types::polygon;
/// let p = polygon![(x: 0.0, y: 0.0), (x: 20.0, y: 0.0), (x: 20.0, y: 20.0), (x: 0.0, y: 20.0)];
/// assert!(check_area(&p, 401.9, PointClass::One).within);   // ΔS = 2.0
/// assert!(!check_area(&p, 402.1, PointClass::One).within);
/// ```
pub fn check_area(geometry: &impl PlanarArea, recorded: f64, class: PointClass) -> AreaCheck {
    let computed = geometry.area_m2();
    let tolerance = class.tolerance(computed);
    let difference = recorded - computed;
    // Compare in hundredths: both sides are 2-decimal quantities.
    let within = (difference.abs() * 100.0).round() <= (tolerance * 100.0 + 1e-6).floor();
    AreaCheck { computed, recorded, difference, tolerance, within }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, Translate};
    use geo_types::polygon;
    use proptest::prelude::*;

    fn square_with_hole() -> Polygon<f64> {
        Polygon::new(
            LineString::from(vec![(0.0, 0.0), (30.0, 0.0), (30.0, 30.0), (0.0, 30.0), (0.0, 0.0)]),
            vec![LineString::from(vec![(10.0, 10.0), (10.0, 20.0), (20.0, 20.0), (20.0, 10.0), (10.0, 10.0)])],
        )
    }

    #[test]
    fn area_with_hole_and_orientation_independent() {
        let p = square_with_hole();
        assert_eq!(p.planar_area(), 800.0);
        let mut rev = p.exterior().clone();
        rev.0.reverse();
        assert_eq!(Polygon::new(rev, p.interiors().to_vec()).planar_area(), 800.0);
    }

    #[test]
    fn area_numerical_stability_at_projected_offsets() {
        // A 0.1 m × 0.1 m square: 0.01 m², a number naive shoelace loses at 1e8.
        let tiny = polygon![(x: 0.0, y: 0.0), (x: 0.1, y: 0.0), (x: 0.1, y: 0.1), (x: 0.0, y: 0.1)];
        for offset in [1.0e6, 4.05e7, 1.0e8] {
            let moved = tiny.translate(offset, offset * 0.3);
            assert!((moved.planar_area() - 0.01).abs() < 1e-7, "offset {offset}: {}", moved.planar_area());
            let p = square_with_hole().translate(offset, 3.35e6);
            assert_eq!(p.area_m2(), 800.0, "offset {offset}");
        }
    }

    #[test]
    fn rounding_to_two_decimals() {
        assert_eq!(round2(123.455_000_1), 123.46);
        assert_eq!(round2(123.454_999), 123.45);
        let p = polygon![(x: 0.0, y: 0.0), (x: 3.0, y: 0.0), (x: 3.0, y: 1.0 / 3.0), (x: 0.0, y: 1.0 / 3.0)];
        assert_eq!(p.area_m2(), 1.0);
    }

    #[test]
    fn tolerance_classes() {
        assert_eq!(PointClass::from_number(2).map(PointClass::m_j), Some(0.075));
        assert_eq!(PointClass::from_number(4), None);
        // S = 10 000 m²: √S = 100 → ΔS = 10 / 15 / 20 m².
        assert_eq!(PointClass::One.tolerance(10_000.0), 10.0);
        assert!((PointClass::Two.tolerance(10_000.0) - 15.0).abs() < 1e-12);
        assert_eq!(PointClass::Three.tolerance(10_000.0), 20.0);
        assert_eq!(PointClass::One.tolerance(-1.0), 0.0);
    }

    #[test]
    fn check_area_boundaries() {
        let p = polygon![(x: 0.0, y: 0.0), (x: 100.0, y: 0.0), (x: 100.0, y: 100.0), (x: 0.0, y: 100.0)];
        assert!(check_area(&p, 10_010.0, PointClass::One).within); // exactly ΔS
        assert!(!check_area(&p, 10_010.01, PointClass::One).within);
        assert!(check_area(&p, 9_990.0, PointClass::One).within);
        assert!(!check_area(&p, 9_989.99, PointClass::One).within);
        assert!(check_area(&p, 10_015.0, PointClass::Two).within);
    }

    proptest! {
        #[test]
        fn shift_invariant_and_matches_geo(
            xs in prop::collection::vec(0.0f64..500.0, 3..12),
            ox in 0.0f64..1.0e8,
            oy in 0.0f64..6.0e6,
        ) {
            // A star-shaped (hence simple) polygon from sorted angles and radii.
            let n = xs.len();
            let ring: Vec<(f64, f64)> = xs.iter().enumerate().map(|(i, r)| {
                let a = std::f64::consts::TAU * i as f64 / n as f64;
                ((r + 1.0) * a.cos(), (r + 1.0) * a.sin())
            }).collect();
            let p = Polygon::new(LineString::from(ring), vec![]);
            let at_origin = p.planar_area();
            prop_assert!((at_origin - p.unsigned_area()).abs() <= 1e-9 * at_origin.max(1.0));
            let moved = p.translate(ox, oy);
            prop_assert!((moved.planar_area() - at_origin).abs() <= 1e-6 * at_origin.max(1.0),
                "{} vs {}", moved.planar_area(), at_origin);
        }
    }
}
