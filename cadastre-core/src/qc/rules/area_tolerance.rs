//! `area.tolerance`: recorded parcel area ZDMJ differs from the computed planar area by
//! more than ΔS = 2·m_j·√S (m_j = 0.05 / 0.075 / 0.10 m for boundary-point class 1/2/3;
//! the parcel's JZDJB when recorded, else the configured class).

use crate::qc::context::Context;
use crate::qc::finding::{Finding, AREA_TOLERANCE};
use crate::qc::registry::{Declare, Scope, Settings};
use crate::qc::rule::{parcel_code, Rule};
use serde::{Deserialize, Serialize};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct AreaTolerance;

impl Declare for AreaTolerance {
    type Settings = AreaParams;
    const SCOPE: Scope = Scope::Local;
}

/// Area tolerance class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AreaParams {
    /// Default boundary-point class 1, 2 or 3.
    pub point_class: u8,
}

impl Settings for AreaParams {
    fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if (1..=3).contains(&self.point_class) {
            Ok(())
        } else {
            Err(("point_class", "must be 1, 2 or 3"))
        }
    }
}

/// m_j for a boundary-point class.
pub(crate) fn point_accuracy(class: u8) -> f64 {
    match class {
        1 => 0.05,
        2 => 0.075,
        _ => 0.10,
    }
}

impl Rule for AreaTolerance {
    fn id(&self) -> &'static str {
        AREA_TOLERANCE
    }
    fn check(&self, ctx: &Context<'_>, emit: &mut dyn FnMut(Finding)) {
        let default_class = ctx.config.rules.area_tolerance.params.point_class;
        for (i, f) in ctx.parcels.iter().enumerate() {
            let parcel = &ctx.submission.parcels[i];
            let Some(recorded) = parcel.attributes.zdmj.filter(|v| v.is_finite()) else { continue };
            if f.bbox.is_none() || !f.report.invalid.is_empty() {
                continue;
            }
            let computed = (f.area * 100.0).round() / 100.0;
            let class = parcel.attributes.point_class.filter(|c| (1..=3).contains(c)).unwrap_or(default_class);
            let tol = 2.0 * point_accuracy(class) * computed.sqrt();
            let diff = recorded - computed;
            // A hair of slack so that a value exactly at the limit passes despite rounding.
            if diff.abs() <= tol + 1e-9 {
                continue;
            }
            let code = parcel_code(ctx, i);
            emit(ctx.finding(
                AREA_TOLERANCE,
                vec![code.clone()],
                f.location(),
                format!("宗地 {code} 登记面积 {recorded:.2} 平方米与计算面积 {computed:.2} 平方米相差 {:.2}，超过限差 {tol:.2}（{class} 级界址点）", diff.abs()),
                format!("parcel {code}: recorded area {recorded:.2} m² differs from computed {computed:.2} m² by {:.2}, beyond the tolerance {tol:.2} (class {class})", diff.abs()),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_classes() {
        assert_eq!(point_accuracy(1), 0.05);
        assert_eq!(point_accuracy(2), 0.075);
        assert_eq!(point_accuracy(3), 0.10);
    }
}
