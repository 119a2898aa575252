//! The surveyors' desktop app (不动产测绘): a project in one GeoPackage file, a map
//! canvas, drawing and editing with shared boundary points, undo/redo with a crash-safe
//! journal, and the quality checks of `cadastre-core`.
//!
//! Logic lives in plain modules tested without a window: [`model`] (the edit model,
//! commands, undo), [`project`] (the GeoPackage file and its journal), [`import`] and
//! [`checks`]. The egui app in [`app`] only draws and turns input into commands.

pub mod app;
pub mod boundary_info;
pub mod checks;
pub mod dict;
pub mod import;
pub mod model;
pub mod print;
pub mod project;
pub mod qc_rules;
pub mod submit;
