//! Boundary points, lines, numbering and 四至 on a generated district: street blocks
//! of a×b parcels (exactly shared vertices), streets between blocks, one block made
//! of a parcel with a hole and an inner parcel. Expected values are counted from the
//! construction, not from the code under test.

use std::collections::{HashMap, HashSet};

use cadastre_core::area::PlanarArea;
use cadastre_core::boundary::table::{read_points_csv, write_points_csv};
use cadastre_core::boundary::{
    four_neighbours, number_per_subdistrict, BoundaryLines, BoundaryPoints, Neighbour, OPEN_LAND,
};
use geo_types::{polygon, MultiPolygon};

const COLS: usize = 4; // parcels per block, west → east
const ROWS: usize = 3; // parcels per block, south → north
const W: f64 = 20.0;
const H: f64 = 15.0;
const STREET: f64 = 10.0;
const E0: f64 = 512_000.0;
const N0: f64 = 3_350_000.0;

struct District {
    codes: Vec<String>,
    geoms: Vec<MultiPolygon<f64>>,
    /// (block, col, row) for grid parcels.
    cell: Vec<Option<(usize, usize, usize)>>,
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon::new(vec![polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)]])
}

/// 3×3 blocks; block 4 (the centre) is a ring parcel with an inner parcel in its hole.
fn district() -> District {
    let mut d = District { codes: Vec::new(), geoms: Vec::new(), cell: Vec::new() };
    let (bw, bh) = (COLS as f64 * W, ROWS as f64 * H);
    for block in 0..9 {
        let (bx, by) = (block % 3, block / 3);
        let x0 = E0 + bx as f64 * (bw + STREET);
        let y0 = N0 + by as f64 * (bh + STREET);
        let sub = format!("330106001{:03}", by + 1); // one sub-district per block row
        let mut seq = d.codes.iter().filter(|c| c.starts_with(&sub)).count();
        let mut code = || {
            seq += 1;
            format!("{sub}GB{seq:05}")
        };
        if block == 4 {
            let outer = polygon![
                exterior: [(x: x0, y: y0), (x: x0 + bw, y: y0), (x: x0 + bw, y: y0 + bh), (x: x0, y: y0 + bh)],
                interiors: [[(x: x0 + 20.0, y: y0 + 15.0), (x: x0 + 60.0, y: y0 + 15.0), (x: x0 + 60.0, y: y0 + 30.0), (x: x0 + 20.0, y: y0 + 30.0)]],
            ];
            d.codes.push(code());
            d.geoms.push(MultiPolygon::new(vec![outer]));
            d.cell.push(None);
            d.codes.push(code());
            d.geoms.push(rect(x0 + 20.0, y0 + 15.0, x0 + 60.0, y0 + 30.0));
            d.cell.push(None);
            continue;
        }
        for row in 0..ROWS {
            for col in 0..COLS {
                let (x, y) = (x0 + col as f64 * W, y0 + row as f64 * H);
                d.codes.push(code());
                d.geoms.push(rect(x, y, x + W, y + H));
                d.cell.push(Some((block, col, row)));
            }
        }
    }
    d
}

fn analyse(d: &District) -> (BoundaryPoints, BoundaryLines, Vec<cadastre_core::boundary::FourNeighbours>) {
    let refs: Vec<&MultiPolygon<f64>> = d.geoms.iter().collect();
    let pts = BoundaryPoints::derive(&refs);
    let lines = BoundaryLines::build(&pts);
    let sz = four_neighbours(&pts, &lines, &refs);
    (pts, lines, sz)
}

#[test]
fn points_and_lines_match_the_construction() {
    let d = district();
    let (pts, lines, _) = analyse(&d);
    // 8 grid blocks with (COLS+1)(ROWS+1) corners; the ring block has 4 + 4 (hole shared with the inner parcel).
    assert_eq!(pts.len(), 8 * (COLS + 1) * (ROWS + 1) + 8);
    let per_block_edges = COLS * (ROWS + 1) + (COLS + 1) * ROWS;
    let per_block_perimeter = 2 * (COLS + ROWS);
    assert_eq!(lines.lines.len(), 8 * per_block_edges + 8);
    let one_sided = lines.lines.iter().filter(|l| l.left.is_none() || l.right.is_none()).count();
    assert_eq!(one_sided, 8 * per_block_perimeter + 4, "block perimeters and the ring's outer edges face streets");
    assert!(lines.conflicts.is_empty());
    assert!(lines.lines.iter().all(|l| l.left.is_some() || l.right.is_some()));
}

#[test]
fn four_neighbours_follow_the_grid_and_face_streets_on_block_edges() {
    let d = district();
    let (_, _, sz) = analyse(&d);
    let index: HashMap<(usize, usize, usize), usize> =
        d.cell.iter().enumerate().filter_map(|(i, c)| c.map(|c| (c, i))).collect();
    for (i, c) in d.cell.iter().enumerate() {
        let Some((b, col, row)) = *c else { continue };
        let expect = |dc: isize, dr: isize| -> Vec<Neighbour> {
            let (nc, nr) = (col as isize + dc, row as isize + dr);
            if nc < 0 || nr < 0 || nc >= COLS as isize || nr >= ROWS as isize {
                vec![Neighbour::Open]
            } else {
                vec![Neighbour::Parcel(index[&(b, nc as usize, nr as usize)])]
            }
        };
        assert_eq!(sz[i].north, expect(0, 1), "parcel {} north", d.codes[i]);
        assert_eq!(sz[i].south, expect(0, -1), "parcel {} south", d.codes[i]);
        assert_eq!(sz[i].east, expect(1, 0), "parcel {} east", d.codes[i]);
        assert_eq!(sz[i].west, expect(-1, 0), "parcel {} west", d.codes[i]);
    }
    // The inner parcel is surrounded by the ring parcel on all sides; the ring faces
    // streets outside and the inner parcel inside.
    let ring = d.cell.iter().position(Option::is_none).expect("ring parcel");
    let inner = ring + 1;
    for dir in [&sz[inner].north, &sz[inner].east, &sz[inner].south, &sz[inner].west] {
        assert_eq!(dir, &vec![Neighbour::Parcel(ring)]);
    }
    assert_eq!(sz[ring].north, [Neighbour::Open, Neighbour::Parcel(inner)]);
    let codes: Vec<&str> = d.codes.iter().map(String::as_str).collect();
    assert_eq!(
        sz[ring].describe(cadastre_core::boundary::Direction::North, &codes),
        format!("{OPEN_LAND}、{}", codes[inner])
    );
}

#[test]
fn subdistrict_numbers_are_unique_shared_and_input_order_independent() {
    let d = district();
    let number = |order: &[usize]| -> HashMap<String, Vec<(u64, u64, String)>> {
        let geoms: Vec<&MultiPolygon<f64>> = order.iter().map(|&i| &d.geoms[i]).collect();
        let codes: Vec<&str> = order.iter().map(|&i| d.codes[i].as_str()).collect();
        let subs: Vec<&str> = codes.iter().map(|c| &c[..12]).collect();
        let pts = BoundaryPoints::derive(&geoms);
        let nums = number_per_subdistrict(&pts, &codes, &subs);
        order
            .iter()
            .zip(nums)
            .map(|(&i, ns)| {
                let v = ns
                    .iter()
                    .map(|n| {
                        let c = pts.coord(n.point);
                        (c.x.to_bits(), c.y.to_bits(), n.jzdh.clone())
                    })
                    .collect();
                (d.codes[i].clone(), v)
            })
            .collect()
    };
    let forward: Vec<usize> = (0..d.codes.len()).collect();
    let base = number(&forward);
    // Reversed and interleaved input orders give the same numbers per parcel.
    let reversed: Vec<usize> = forward.iter().rev().copied().collect();
    assert_eq!(number(&reversed), base);
    let mut interleaved: Vec<usize> = forward.iter().copied().filter(|i| i % 2 == 0).collect();
    interleaved.extend(forward.iter().copied().filter(|i| i % 2 == 1));
    assert_eq!(number(&interleaved), base);
    // Per sub-district: one number per point, one point per number.
    type BothWays = (HashMap<(u64, u64), String>, HashMap<String, (u64, u64)>);
    let mut by_sub: HashMap<&str, BothWays> = HashMap::new();
    for (code, pts) in &base {
        let (p2n, n2p) = by_sub.entry(&code[..12]).or_default();
        for (x, y, j) in pts {
            assert_eq!(p2n.entry((*x, *y)).or_insert_with(|| j.clone()), j, "point numbered twice in {}", &code[..12]);
            assert_eq!(n2p.entry(j.clone()).or_insert((*x, *y)), &(*x, *y), "number reused in {}", &code[..12]);
        }
    }
    // Each sub-district row has 3 blocks of corners (the middle row: 2 blocks + ring and hole).
    let counts: HashSet<usize> = by_sub.values().map(|(p2n, _)| p2n.len()).collect();
    assert_eq!(counts, HashSet::from([3 * (COLS + 1) * (ROWS + 1), 2 * (COLS + 1) * (ROWS + 1) + 8]));
}

#[test]
fn district_point_table_round_trip_keeps_every_area() {
    let d = district();
    let parcels: Vec<(&str, &MultiPolygon<f64>)> = d.codes.iter().map(String::as_str).zip(d.geoms.iter()).collect();
    let mut csv = Vec::new();
    write_points_csv(&mut csv, &parcels).expect("write");
    let back = read_points_csv(&csv[..]).expect("read");
    assert_eq!(back.len(), d.codes.len());
    for ((code, geom), (bcode, bgeom)) in parcels.iter().zip(&back) {
        assert_eq!(code, bcode);
        assert_eq!(geom.planar_area(), bgeom.planar_area(), "{code}");
    }
}
