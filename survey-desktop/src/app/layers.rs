//! Layer visibility and styles (serializable, kept in the project settings).

use egui::Color32;
use serde::{Deserialize, Serialize};

/// How one layer is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LayerStyle {
    /// Shown at all.
    pub visible: bool,
    /// Fill colour (alpha 0: no fill).
    pub fill: Color32,
    /// Outline colour.
    pub stroke: Color32,
    /// Outline width in screen points.
    pub width: f32,
}

/// All layers of the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Layers {
    /// 宗地.
    pub parcels: LayerStyle,
    /// 自然幢.
    pub buildings: LayerStyle,
    /// 界址点 (shown at survey zooms).
    pub points: LayerStyle,
    /// 地籍子区.
    pub subdistricts: LayerStyle,
    /// 地籍区.
    pub districts: LayerStyle,
    /// Parcel codes and point numbers.
    pub labels: bool,
}

impl Default for Layers {
    fn default() -> Self {
        Self {
            parcels: LayerStyle {
                visible: true,
                fill: Color32::from_rgba_unmultiplied(250, 236, 190, 160),
                stroke: Color32::from_rgb(150, 90, 30),
                width: 1.0,
            },
            buildings: LayerStyle {
                visible: true,
                fill: Color32::from_rgba_unmultiplied(240, 150, 150, 200),
                stroke: Color32::from_rgb(170, 40, 40),
                width: 1.0,
            },
            points: LayerStyle {
                visible: true,
                fill: Color32::WHITE,
                stroke: Color32::from_rgb(200, 30, 30),
                width: 1.0,
            },
            subdistricts: LayerStyle {
                visible: true,
                fill: Color32::TRANSPARENT,
                stroke: Color32::from_rgb(60, 120, 200),
                width: 2.0,
            },
            districts: LayerStyle {
                visible: true,
                fill: Color32::TRANSPARENT,
                stroke: Color32::from_rgb(30, 60, 160),
                width: 3.0,
            },
            labels: true,
        }
    }
}

impl Layers {
    /// A key that changes whenever anything affecting cached drawings changes.
    pub fn style_key(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for s in [&self.parcels, &self.buildings, &self.points, &self.subdistricts, &self.districts] {
            s.visible.hash(&mut h);
            s.fill.hash(&mut h);
            s.stroke.hash(&mut h);
            s.width.to_bits().hash(&mut h);
        }
        h.finish()
    }
}
