//! Printed sheets (宗地图, 分户图): text extracted with `pdftotext`, pages
//! rendered with `pdftoppm` (poppler-utils), true scale measured from the
//! PDF's drawing commands and from rendered pixels.
#![cfg(feature = "print")]

use cadastre_core::floorplan::FloorPlan;
use cadastre_core::io::{load_submission, LoadOptions};
use cadastre_core::model::{Parcel, ParcelAttributes, Submission};
use cadastre_core::print::{HouseholdSheet, Paper, ParcelMap, PrintError, PrintFont, SheetOptions};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const DISTRICT: &str = "../samples/district";
const ZDDM: &str = "330106001001GB00001";
const BDCDYH: &str = "330106001001GB00002F00010005";

fn font() -> &'static PrintFont {
    static FONT: OnceLock<PrintFont> = OnceLock::new();
    FONT.get_or_init(|| PrintFont::system_default().expect("Noto Sans CJK (fonts-noto-cjk, scripts/lib.sh)"))
}

fn district() -> &'static Submission {
    static SUB: OnceLock<Submission> = OnceLock::new();
    SUB.get_or_init(|| load_submission(Path::new(DISTRICT), &LoadOptions::default()).expect("sample district"))
}

fn options() -> SheetOptions {
    SheetOptions { surveyor: "张测绘".into(), date: "2026-12-05".into(), ..SheetOptions::default() }
}

fn write_tmp(dir: &tempfile::TempDir, name: &str, pdf: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, pdf).expect("write pdf");
    p
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd} (poppler-utils): {e}"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn pdftotext(pdf: &Path) -> String {
    run("pdftotext", &["-layout", pdf.to_str().expect("path"), "-"])
}

/// Renders every page; returns the PNG files (each checked to have ink).
fn render(pdf: &Path, dir: &Path) -> Vec<PathBuf> {
    let prefix = dir.join("page");
    run("pdftoppm", &["-r", "50", "-gray", pdf.to_str().expect("path"), prefix.to_str().expect("prefix")]);
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pgm"))
        .collect();
    pages.sort();
    for p in &pages {
        let (w, h, px) = read_pgm(p);
        let dark = px.iter().filter(|&&v| v < 128).count();
        assert!(dark > w * h / 200, "{} is (nearly) blank: {dark} dark pixels", p.display());
    }
    pages
}

fn read_pgm(p: &Path) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(p).expect("pgm");
    // "P5\n<w> <h>\n255\n" then w*h bytes
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).to_string());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().expect("w"), fields[2].parse().expect("h"));
    (w, h, bytes[i + 1..].to_vec())
}

/// Stroked paths of the uncompressed content streams: (line width, points), page points.
fn stroked_paths(pdf: &[u8]) -> Vec<(f64, Vec<(f64, f64)>)> {
    let text = String::from_utf8_lossy(pdf);
    let mut out = Vec::new();
    for stream in text.split("stream").filter(|s| s.contains(" cm")) {
        let mut stack: Vec<[f64; 6]> = Vec::new();
        let mut ctm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let mut nums: Vec<f64> = Vec::new();
        let (mut width, mut path) = (1.0, Vec::new());
        for tok in stream.split_ascii_whitespace() {
            if let Ok(v) = tok.parse::<f64>() {
                nums.push(v);
                continue;
            }
            let apply = |m: &[f64; 6], x: f64, y: f64| (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]);
            match tok {
                "q" => stack.push(ctm),
                "Q" => ctm = stack.pop().unwrap_or(ctm),
                "cm" if nums.len() >= 6 => {
                    let n = &nums[nums.len() - 6..];
                    let m = [n[0], n[1], n[2], n[3], n[4], n[5]];
                    let c = ctm;
                    ctm = [
                        m[0] * c[0] + m[1] * c[2],
                        m[0] * c[1] + m[1] * c[3],
                        m[2] * c[0] + m[3] * c[2],
                        m[2] * c[1] + m[3] * c[3],
                        m[4] * c[0] + m[5] * c[2] + c[4],
                        m[4] * c[1] + m[5] * c[3] + c[5],
                    ];
                }
                "w" if !nums.is_empty() => width = nums[nums.len() - 1],
                "m" if nums.len() >= 2 => {
                    path = vec![apply(&ctm, nums[nums.len() - 2], nums[nums.len() - 1])];
                }
                "l" if nums.len() >= 2 => path.push(apply(&ctm, nums[nums.len() - 2], nums[nums.len() - 1])),
                "S" | "s" => out.push((width, std::mem::take(&mut path))),
                "f" | "f*" | "n" => path.clear(),
                _ => {}
            }
            nums.clear();
        }
    }
    out
}

const PT_PER_MM: f64 = 72.0 / 25.4;

#[test]
fn parcel_map_has_code_points_area_coordinates_and_renders() {
    let map = ParcelMap::from_submission(district(), ZDDM).expect("map");
    let pdf = map.to_pdf(font(), &options()).expect("pdf");
    assert!(pdf.len() < 200_000, "subsetted font: {} bytes", pdf.len());
    let dir = tempfile::tempdir().expect("tmp");
    let path = write_tmp(&dir, "zdt.pdf", &pdf);
    let text = pdftotext(&path);
    for want in [ZDDM, "宗地图", "2942.94", "西湖区文三路2号", "张测绘", "2026-12-05", "1:500", "界址点坐标表"]
    {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
    assert!(!map.points.is_empty());
    for p in &map.points {
        assert!(text.split_whitespace().any(|w| w == p.jzdh), "{} missing", p.jzdh);
    }
    for row in map.coordinate_rows() {
        assert!(text.contains(&row[1]) && text.contains(&row[2]), "coordinates {row:?} missing");
    }
    for e in &map.edges {
        assert!(text.contains(&format!("{:.2}", e.length)), "edge length {:.2}", e.length);
    }
    // 四至 and the neighbours' codes on the map.
    assert_eq!(map.four[1], "330106001001GB00002");
    assert!(text.matches("330106001001GB00002").count() >= 2, "东至 and the map label");
    // The font is embedded as a subset with a ToUnicode map.
    let fonts = run("pdffonts", &[path.to_str().expect("path")]);
    let line = fonts.lines().find(|l| l.contains("NotoSansCJK")).expect("Noto Sans CJK embedded");
    assert!(line.contains("yes yes yes"), "emb sub uni: {line}");
    assert_eq!(render(&path, dir.path()).len(), 1);
}

#[test]
fn parcel_map_is_drawn_at_true_scale() {
    let map = ParcelMap::from_submission(district(), ZDDM).expect("map");
    let o = SheetOptions { compress: false, ..options() };
    let layout = map.layout(&o).expect("layout");
    assert_eq!(layout.scale, 500, "the largest standard scale that fits A4");
    let pdf = map.to_pdf(font(), &o).expect("pdf");
    // The parcel outline is the path stroked 0.5 mm wide.
    let outline = stroked_paths(&pdf)
        .into_iter()
        .find(|(w, pts)| (w - 0.5 * PT_PER_MM).abs() < 1e-3 && pts.len() >= 4)
        .expect("parcel outline")
        .1;
    let on_paper: Vec<f64> = outline.windows(2).map(|w| (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1) / PT_PER_MM).collect();
    // Each edge of the parcel (metres) appears on paper as metres × 1000 / 500 mm.
    for e in &map.edges {
        let want = e.length * 2.0;
        assert!(
            on_paper.iter().any(|mm| (mm - want).abs() < 0.01),
            "edge {:.2} m: {want} mm not in {on_paper:?}",
            e.length
        );
    }
}

fn square_parcel(side: f64, n: usize) -> Submission {
    // n points on a square's outline, so large n makes a long coordinate table
    let (x0, y0) = (500_000.0, 3_350_000.0);
    let mut pts = Vec::new();
    let per = n / 4;
    for k in 0..4 {
        for i in 0..per {
            let t = side * i as f64 / per as f64;
            pts.push(match k {
                0 => Coord { x: x0 + t, y: y0 },
                1 => Coord { x: x0 + side, y: y0 + t },
                2 => Coord { x: x0 + side - t, y: y0 + side },
                _ => Coord { x: x0, y: y0 + side - t },
            });
        }
    }
    let parcel = Parcel {
        zddm: "330106001001GB09999".into(),
        geometry: MultiPolygon::new(vec![Polygon::new(LineString::new(pts), vec![])]),
        attributes: ParcelAttributes { zdmj: Some(side * side), yt: Some("0701".into()), ..Default::default() },
        source_index: 0,
    };
    Submission { parcels: vec![parcel], ..Default::default() }
}

#[test]
fn a_ten_metre_edge_at_1_to_500_is_twenty_millimetres_on_the_rendered_page() {
    let sub = square_parcel(10.0, 4);
    let map = ParcelMap::from_submission(&sub, "330106001001GB09999").expect("map");
    let o = SheetOptions { scale: Some(500), ..options() };
    let layout = map.layout(&o).expect("layout");
    let pdf = map.to_pdf(font(), &o).expect("pdf");
    let dir = tempfile::tempdir().expect("tmp");
    let path = write_tmp(&dir, "square.pdf", &pdf);
    // 254 dpi: 10 pixels per millimetre. Crop a 30 mm band around the parcel, 7 mm
    // above its centre (clear of the labels), one pixel high.
    let (fx, fy, fw, fh) = layout.frame;
    let (cx, cy) = (fx + fw / 2.0, fy + fh / 2.0);
    let page_h = Paper::A4.size_mm().1;
    let (x, y) = (((cx - 15.0) * 10.0) as i64, (((page_h - cy) - 7.0) * 10.0) as i64);
    let prefix = dir.path().join("crop");
    run(
        "pdftoppm",
        &[
            "-r",
            "254",
            "-gray",
            "-x",
            &x.to_string(),
            "-y",
            &y.to_string(),
            "-W",
            "300",
            "-H",
            "1",
            "-singlefile",
            path.to_str().expect("path"),
            prefix.to_str().expect("prefix"),
        ],
    );
    let (w, _, px) = read_pgm(&dir.path().join("crop.pgm"));
    // Runs of dark pixels: the parcel's west and east edges.
    let mut runs = Vec::new();
    let mut i = 0;
    while i < w {
        if px[i] < 100 {
            let s = i;
            while i < w && px[i] < 100 {
                i += 1;
            }
            runs.push((s + i - 1) as f64 / 2.0);
        }
        i += 1;
    }
    assert_eq!(runs.len(), 2, "two edges crossed: {runs:?}");
    let mm = (runs[1] - runs[0]) / 10.0;
    assert!((mm - 20.0).abs() <= 0.2, "10 m at 1:500 measured {mm} mm");
}

#[test]
fn a_long_coordinate_table_goes_to_the_next_pages() {
    let sub = square_parcel(40.0, 120);
    let map = ParcelMap::from_submission(&sub, "330106001001GB09999").expect("map");
    assert_eq!(map.points.len(), 120);
    let layout = map.layout(&options()).expect("layout");
    assert!(!layout.table_on_first_page);
    let pdf = map.to_pdf(font(), &options()).expect("pdf");
    let dir = tempfile::tempdir().expect("tmp");
    let path = write_tmp(&dir, "long.pdf", &pdf);
    let pages = render(&path, dir.path()).len();
    assert!(pages >= 3, "map + at least two table pages: {pages}");
    let text = pdftotext(&path);
    for p in &map.points {
        assert!(text.split_whitespace().any(|w| w == p.jzdh), "{} missing", p.jzdh);
    }
    assert!(text.contains(&format!("第1页 共{pages}页")), "page count in the footer");
}

#[test]
fn scale_is_chosen_to_fit_or_refused_when_given_too_large() {
    let small = ParcelMap::from_submission(&square_parcel(20.0, 4), "330106001001GB09999").expect("map");
    assert_eq!(small.layout(&options()).expect("layout").scale, 200);
    let big = ParcelMap::from_submission(&square_parcel(300.0, 4), "330106001001GB09999").expect("map");
    assert_eq!(big.layout(&options()).expect("layout").scale, 2000);
    let a3 = SheetOptions { paper: Paper::A3, ..options() };
    assert_eq!(big.layout(&a3).expect("a3").scale, 2000);
    let e = big.layout(&SheetOptions { scale: Some(500), ..options() }).expect_err("too big");
    assert!(matches!(e, PrintError::DoesNotFit { scale: 500, .. }), "{e}");
    assert!(e.to_string().contains("(300.0 m × 300.0 m) does not fit A4 at 1:500"), "{e}");
    assert!(matches!(ParcelMap::from_submission(district(), "330106001001GB99999"), Err(PrintError::UnknownParcel(_))));
}

#[test]
fn a_missing_or_unusable_font_is_a_clear_error() {
    let e = PrintFont::load(Path::new("/nonexistent/font.ttc"), 2).expect_err("missing");
    assert!(e.to_string().contains("fonts-noto-cjk") && e.to_string().contains("--font"), "{e}");
    let e = PrintFont::load(Path::new("Cargo.toml"), 0).expect_err("not a font");
    assert!(e.to_string().contains("not a font"), "{e}");
    let e = PrintFont::load(Path::new(cadastre_core::print::DEFAULT_FONT), 99).expect_err("no face 99");
    assert!(e.to_string().contains("face 99"), "{e}");
}

fn sample_sheet() -> HouseholdSheet {
    HouseholdSheet::from_folder(Path::new(DISTRICT), BDCDYH).expect("sheet")
}

#[test]
fn household_plan_of_the_sample_has_areas_room_floor_and_dimensions() {
    let sheet = sample_sheet();
    // The sample plan covers every household, so the apportionment ran.
    assert!(sheet.note.is_none(), "{:?}", sheet.note);
    let (inner, shared, total) =
        (sheet.areas.inner, sheet.areas.shared.expect("shared"), sheet.areas.total.expect("total"));
    assert_eq!(inner + shared, total);
    let pdf = sheet.to_pdf(font(), &options()).expect("pdf");
    let dir = tempfile::tempdir().expect("tmp");
    let path = write_tmp(&dir, "fht.pdf", &pdf);
    let text = pdftotext(&path);
    for want in [
        BDCDYH.to_string(),
        "房屋分户图".into(),
        "第2层".into(),
        "201".into(),
        "西湖区文三路4号1幢1单元201室".into(),
        format!("{inner} m²"),
        format!("{shared} m²"),
        format!("{total} m²"),
        "1单元楼梯间".into(),
    ] {
        assert!(text.contains(&want), "{want:?} not in\n{text}");
    }
    for w in &sheet.detail.walls {
        assert!(text.contains(&format!("{:.2}", w.length)), "wall {:.2} m", w.length);
    }
    assert_eq!(render(&path, dir.path()).len(), 1);
}

#[test]
fn household_plan_is_drawn_at_its_scale() {
    let sheet = sample_sheet();
    let o = SheetOptions { compress: false, ..options() };
    let scale = sheet.scale(&o).expect("scale");
    assert_eq!(scale, 200);
    let pdf = sheet.to_pdf(font(), &o).expect("pdf");
    let outline =
        stroked_paths(&pdf).into_iter().find(|(w, _)| (w - 0.6 * PT_PER_MM).abs() < 1e-3).expect("household outline").1;
    let text =
        std::fs::read_to_string(format!("{DISTRICT}/buildings/330106001001GB00002F0001.floorplan.json")).expect("plan");
    let plan = FloorPlan::from_json(&text).expect("plan");
    let own = plan.household("0005").expect("0005").1.outline.clone();
    let n = own.0.len();
    for (k, w) in outline.windows(2).enumerate().take(n - 1) {
        let mm = (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1) / PT_PER_MM;
        let (a, b) = (own.0[k], own.0[k + 1]);
        let metres = (b[0] - a[0]).hypot(b[1] - a[1]);
        assert!((mm - metres * 1000.0 / f64::from(scale)).abs() < 0.01, "edge {k}: {mm} mm for {metres} m");
    }
}

#[test]
fn household_plan_errors_name_the_problem() {
    let e = HouseholdSheet::from_folder(Path::new(DISTRICT), "330106001001GB00002F00019999").expect_err("unknown");
    assert!(matches!(e, PrintError::UnknownHousehold(_)), "{e}");
    let e = HouseholdSheet::from_folder(Path::new(DISTRICT), "330106001001GB00003F00010001").expect_err("no plan");
    assert!(e.to_string().contains("floorplan.json"), "{e}");
    let e = HouseholdSheet::from_folder(Path::new(DISTRICT), "12345").expect_err("bad code");
    assert!(e.to_string().contains("不动产单元代码应为 28 位，实际为 5 位"), "{e}");
    assert!(e.to_string().contains("expected 28 characters, found 5"), "{e}");
    // The segment that failed is named.
    let e = HouseholdSheet::from_folder(Path::new(DISTRICT), "330106001001XB00002F00010001").expect_err("bad code");
    assert!(e.to_string().contains("第 13 位应为宗地特征码（所有权）G/J/Z"), "{e}");
    // A land-only unit has no building, hence no plan.
    let e = HouseholdSheet::from_folder(Path::new(DISTRICT), "330106001001GB00002W00000000").expect_err("land");
    assert!(e.to_string().contains("定着物特征码 F"), "{e}");
}

#[test]
fn household_plan_of_a_partly_drawn_building_says_why_shared_area_is_missing() {
    let dir = Path::new(DISTRICT).join("buildings");
    let text = std::fs::read_to_string(dir.join("330106001001GB00002F0001.floorplan.json")).expect("plan");
    let mut plan = FloorPlan::from_json(&text).expect("plan");
    plan.floors.retain(|f| f.floor <= 2);
    let csv = std::fs::read(dir.join("330106001001GB00002F0001.csv")).expect("csv");
    let by = cadastre_core::building::Editor::now("test");
    let (table, _) = cadastre_core::building::read_csv(&csv, &by).expect("table");
    let sheet = HouseholdSheet::new(&plan, &table, BDCDYH).expect("sheet");
    assert_eq!((sheet.areas.shared, sheet.areas.total), (None, None));
    let note = sheet.note.clone().expect("note");
    assert!(note.contains("分摊未计算") && note.contains("16 户未画入") && note.contains("0009、0010"), "{note}");
    let pdf = sheet.to_pdf(font(), &options()).expect("pdf");
    let tmp = tempfile::tempdir().expect("tmp");
    let text = pdftotext(&write_tmp(&tmp, "partial.pdf", &pdf));
    assert!(text.contains("分摊未计算") && text.contains(&format!("{} m²", sheet.areas.inner)), "{text}");
}
