//! Property tests of the edit model: any sequence of edits followed by as many undos
//! gives the original project back, redo gives the edited one, and boundary points
//! shared by neighbours stay shared whatever is edited.

use std::collections::BTreeSet;

use cadastre_core::model::{Parcel, Submission};
use geo::polygon;
use geo_types::{Coord, MultiPolygon};
use proptest::prelude::*;
use survey_desktop::model::ops;
use survey_desktop::model::snap::snap;
use survey_desktop::model::{Command, Document, EditError, Editor};

/// A 3 × 3 grid of 10 m squares at Gauss-Krüger coordinates.
fn grid() -> Editor {
    let (x0, y0) = (40_512_000.0, 3_350_000.0);
    let mut parcels = Vec::new();
    for i in 0..3 {
        for j in 0..3 {
            let (x, y) = (x0 + 10.0 * f64::from(i), y0 + 10.0 * f64::from(j));
            parcels.push(Parcel {
                zddm: format!("330106001001GB{:05}", parcels.len() + 1),
                geometry: MultiPolygon(vec![
                    polygon![(x: x, y: y), (x: x + 10., y: y), (x: x + 10., y: y + 10.), (x: x, y: y + 10.)],
                ]),
                attributes: Default::default(),
                source_index: parcels.len(),
            });
        }
    }
    Editor::new(Document::from_submission(Submission { parcels, ..Default::default() }).0)
}

#[derive(Debug, Clone)]
enum Op {
    Move(usize, f64, f64),
    Insert(usize, usize, f64),
    DeleteVertex(usize),
    Draw(f64, f64, f64),
    Split(usize, f64),
    Merge(usize, usize),
    Rename(usize, u16),
    DeleteParcel(usize),
    Undo,
    Redo,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<usize>(), -3.0..3.0f64, -3.0..3.0f64).prop_map(|(p, dx, dy)| Op::Move(p, dx, dy)),
        (any::<usize>(), any::<usize>(), 0.1..0.9f64).prop_map(|(p, e, t)| Op::Insert(p, e, t)),
        any::<usize>().prop_map(Op::DeleteVertex),
        (-20.0..50.0f64, -20.0..50.0f64, 2.0..15.0f64).prop_map(|(x, y, s)| Op::Draw(x, y, s)),
        (any::<usize>(), 0.2..0.8f64).prop_map(|(p, f)| Op::Split(p, f)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Merge(a, b)),
        (any::<usize>(), any::<u16>()).prop_map(|(p, n)| Op::Rename(p, n)),
        any::<usize>().prop_map(Op::DeleteParcel),
        Just(Op::Undo),
        Just(Op::Redo),
    ]
}

fn nth<T: Copy>(it: impl Iterator<Item = T>, k: usize) -> Option<T> {
    let v: Vec<T> = it.collect();
    (!v.is_empty()).then(|| v[k % v.len()])
}

/// Build the command for an op; `None` when the op does not apply (errors are fine:
/// the model refuses bad edits, the property is about what it accepts).
fn command(ed: &Editor, op: &Op) -> Option<Result<Command, EditError>> {
    let doc = ed.doc();
    let (x0, y0) = (40_512_000.0, 3_350_000.0);
    Some(match *op {
        Op::Move(k, dx, dy) => {
            let id = nth(doc.points.keys().copied(), k)?;
            let c = doc.points[&id];
            ops::move_point(doc, id, Coord { x: c.x + dx, y: c.y + dy })
        }
        Op::Insert(k, e, t) => {
            let pid = nth(doc.parcels.keys().copied(), k)?;
            let ring = &doc.parcels[&pid].outline.0[0][0];
            let i = e % ring.len();
            let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
            let (ca, cb) = (doc.points[&a], doc.points[&b]);
            ops::insert_vertex(
                doc,
                ed.index(),
                a,
                b,
                Coord { x: ca.x + t * (cb.x - ca.x), y: ca.y + t * (cb.y - ca.y) },
            )
        }
        Op::DeleteVertex(k) => ops::delete_vertex(doc, ed.index(), nth(doc.points.keys().copied(), k)?),
        Op::Draw(x, y, s) => {
            let picks = [(x, y), (x + s, y), (x + s, y + s), (x, y + s)];
            let snaps: Vec<_> = picks
                .iter()
                .map(|&(px, py)| snap(doc, ed.index(), Coord { x: x0 + px, y: y0 + py }, 1.0, &[]))
                .collect();
            let code = ops::next_parcel_code(doc, "330106001001GB");
            ops::draw_parcel(doc, ed.index(), &snaps, code, Default::default())
        }
        Op::Split(k, f) => {
            let pid = nth(doc.parcels.keys().copied(), k)?;
            let (lo, hi) = ed.index().parcel_bbox(pid)?;
            let x = lo[0] + f * (hi[0] - lo[0]);
            ops::split_parcel(doc, ed.index(), pid, &[Coord { x, y: lo[1] - 1.0 }, Coord { x, y: hi[1] + 1.0 }], None)
        }
        Op::Merge(a, b) => {
            let a = nth(doc.parcels.keys().copied(), a)?;
            let b = nth(doc.parcels.keys().copied(), b)?;
            ops::merge_parcels(doc, ed.index(), a, b)
        }
        Op::Rename(k, n) => {
            let pid = nth(doc.parcels.keys().copied(), k)?;
            let p = &doc.parcels[&pid];
            let mut attrs = p.attributes.clone();
            attrs.zl = Some(format!("测试路{n}号"));
            ops::set_parcel_attributes(doc, pid, p.zddm.clone(), attrs)
        }
        Op::DeleteParcel(k) => ops::delete_parcel(doc, ed.index(), nth(doc.parcels.keys().copied(), k)?),
        Op::Undo | Op::Redo => return None,
    })
}

/// Every used point's users (from the index) are exactly the parcels having a vertex
/// at its coordinates: a shared point is never split apart by an edit.
fn assert_points_shared(ed: &Editor) {
    let doc = ed.doc();
    let used: BTreeSet<u32> = doc.parcels.values().flat_map(|p| p.outline.point_ids()).collect();
    for id in used {
        let c = doc.points[&id];
        let mut by_geometry: Vec<u64> = doc
            .parcels
            .iter()
            .filter(|(_, p)| p.outline.point_ids().any(|q| doc.points[&q] == c))
            .map(|(&k, _)| k)
            .collect();
        by_geometry.sort_unstable();
        let mut by_index = ed.index().users(id).to_vec();
        by_index.sort_unstable();
        assert_eq!(by_index, by_geometry, "point {id} at {c:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn undo_all_restores_the_original_and_redo_the_edited(ops in prop::collection::vec(op(), 1..25)) {
        let mut ed = grid();
        let original = ed.doc().clone();
        for op in &ops {
            match op {
                Op::Undo => { ed.undo().expect("undo"); }
                Op::Redo => { ed.redo().expect("redo"); }
                _ => {
                    if let Some(Ok(cmd)) = command(&ed, op) {
                        ed.execute(cmd).expect("a built command applies");
                    }
                }
            }
            assert_points_shared(&ed);
        }
        let edited = ed.doc().clone();
        let steps = ed.done().len();
        for _ in 0..steps {
            prop_assert!(ed.undo().expect("undo"));
        }
        prop_assert_eq!(ed.doc(), &original);
        for _ in 0..steps {
            prop_assert!(ed.redo().expect("redo"));
        }
        prop_assert_eq!(ed.doc(), &edited);
    }
}
