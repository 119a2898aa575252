//! egui_kittest: the map's level of detail, its cache and its labels. Zoomed out, the
//! parcels are drawn from the tile pyramid with no labels; at survey zoom they are a
//! vector mesh with their codes (the full code when it fits, else the sequence
//! number) and the boundary point numbers J1…; panning reuses the mesh, an edit
//! rebuilds it.

use egui::Key;
use egui_kittest::Harness;
use survey_desktop::app::command::AppCommand;
use survey_desktop::app::App;
use survey_desktop::model::{ops, Document};

mod common;
use common::kit::{harness, painted_texts, press, rects, X0, Y0};

/// 30 × 30 parcels of 10 m, codes GB00001… row by row.
fn district() -> Document {
    let codes: Vec<String> = (1..=900).map(|k| format!("330106001001GB{k:05}")).collect();
    let parcels: Vec<(&str, [f64; 4])> = codes
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let (i, j) = ((k % 30) as f64, (k / 30) as f64);
            (c.as_str(), [i * 10.0, j * 10.0, i * 10.0 + 10.0, j * 10.0 + 10.0])
        })
        .collect();
    rects(&parcels)
}

/// Shows the world box `[x0, y0]`–`[x1, y1]` (from the origin) and lets the frames settle.
fn show(h: &mut Harness<'_, App>, lo: [f64; 2], hi: [f64; 2]) {
    h.state_mut().push(AppCommand::ZoomTo([X0 + lo[0], Y0 + lo[1]], [X0 + hi[0], Y0 + hi[1]]));
    h.run_steps(6);
}

fn codes_painted(h: &Harness<'_, App>) -> Vec<String> {
    painted_texts(h).into_iter().filter(|t| t.starts_with("330106") || t.starts_with("00")).collect()
}

/// A boundary point number: J1, J2, …
fn is_jzdh(t: &str) -> bool {
    t.strip_prefix('J').is_some_and(|n| n.parse::<u32>().is_ok())
}

#[test]
fn zoomed_out_the_map_is_tiles_without_labels_and_at_survey_zoom_vectors_with_codes() {
    let mut h = harness(App::with_document(district()));
    press(&mut h, Key::Home);
    for _ in 0..4 {
        press(&mut h, Key::Minus);
    }
    h.run_steps(6);
    let s = h.state().frame_stats();
    assert!(!s.vector && s.tiles > 0 && s.parcels == 0, "zoomed out: the tile path, {s:?}");
    assert_eq!(s.labels, 0);
    assert!(codes_painted(&h).is_empty(), "{:?}", codes_painted(&h));
    assert!(!painted_texts(&h).iter().any(|t| is_jzdh(t)), "no boundary point numbers zoomed out");

    // One parcel and its neighbours: vectors, each code in full.
    show(&mut h, [100.0, 100.0], [120.0, 120.0]);
    let s = h.state().frame_stats();
    assert!(s.vector && s.parcels > 0 && s.tiles == 0, "survey zoom: the vector path, {s:?}");
    assert!(s.labels > 0, "{s:?}");
    let codes = codes_painted(&h);
    // Parcel (10, 10) of the grid is number 10 · 30 + 10 + 1 = 311.
    assert!(codes.contains(&"330106001001GB00311".to_owned()), "{codes:?}");
    assert_eq!(codes.len(), s.labels);
    // And the boundary point numbers J1… of the parcels in view.
    // (A shared point shows the number the first parcel using it gives it: J2, its north-east
    // corner, for the interior points of this grid.)
    let points: Vec<String> = painted_texts(&h).into_iter().filter(|t| is_jzdh(t)).collect();
    assert!(points.len() >= 4, "{points:?}");

    // Further out but still vectors: parcels too small for the full code show its sequence number.
    show(&mut h, [60.0, 60.0], [140.0, 140.0]);
    let s = h.state().frame_stats();
    assert!(s.vector && s.labels > 0, "{s:?}");
    let codes = codes_painted(&h);
    assert!(codes.contains(&"00311".to_owned()), "{codes:?}");
    assert!(codes.iter().all(|c| c.len() == 5), "{codes:?}");
}

#[test]
fn panning_reuses_the_mesh_and_an_edit_rebuilds_it() {
    let mut h = harness(App::with_document(district()));
    show(&mut h, [100.0, 100.0], [140.0, 140.0]);
    let settled = h.state().frame_stats();
    assert!(settled.vector && !settled.rebuilt, "{settled:?}");
    press(&mut h, Key::ArrowLeft);
    let panned = h.state().frame_stats();
    assert!(panned.vector && !panned.rebuilt, "a pan within the cached cover draws the cached mesh: {panned:?}");
    assert_eq!(panned.parcels, settled.parcels);
    // A boundary point moved: the mesh is rebuilt from the edited document.
    let doc = h.state().editor.doc();
    let (&id, &c) = doc.points.iter().find(|(_, c)| c.x > X0 + 105.0 && c.y > Y0 + 105.0).expect("a point");
    let cmd = ops::move_point(doc, id, geo_types::Coord { x: c.x + 1.0, y: c.y }).expect("move");
    h.state_mut().push(AppCommand::Edit(cmd));
    h.step();
    h.step();
    assert!(h.state().frame_stats().rebuilt, "{:?}", h.state().frame_stats());
}
