//! What the desktop tests share: [`kit`] drives the whole app in an egui_kittest
//! harness (pointer and key gestures, small parcel documents), [`units`] builds
//! buildings' tables and floor plans, and [`window`] runs the real binary under Xvfb
//! and reads its screenshots.

#![allow(dead_code)] // each test file uses a part

pub mod kit;
pub mod units;
pub mod window;

#[allow(unused_imports)] // the window tests use these
pub use window::*;
