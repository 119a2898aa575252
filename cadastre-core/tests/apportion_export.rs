//! The 房屋面积分摊计算表 as PDF and XLSX: the PDF's text (pdftotext) has every household
//! and the totals, it renders (pdftoppm) and embeds a subset of the CJK font; the XLSX
//! reads back (calamine) with the same numbers as the result.
#![cfg(feature = "print")]

use std::path::Path;
use std::process::Command;

use cadastre_core::apportion::{xlsx::to_xlsx, Apportion, ApportionInput, Apportionment};
use cadastre_core::print::{apportionment_pdf, PrintFont, SheetOptions};
use calamine::{Data, Reader, Xlsx};

fn sample() -> Apportionment {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples/district/buildings/330106001001GB00001F0001.apportion.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
    ApportionInput::from_json(&text).and_then(|i| i.apportion()).unwrap_or_else(|e| panic!("{e}"))
}

/// A tall building: 60 floors × 4 households, so the household table runs over pages.
fn tower() -> Apportionment {
    let units: Vec<String> = (1..=60)
        .flat_map(|f| {
            (1..=4).map(move |h| {
                format!(r#"{{"id": "{f:02}{h:02}", "zone": "res", "floor": {f}, "inner_area": {}}}"#, 80 + h)
            })
        })
        .collect();
    let json = format!(
        r#"{{"building": "高层住宅1幢", "zones": [{{"id": "res", "name": "住宅"}}], "units": [{}],
            "shared": [{{"id": "lobby", "name": "门厅", "area": 333.33, "serves": {{"building": true}}}}]}}"#,
        units.join(",")
    );
    ApportionInput::from_json(&json).and_then(|i| i.apportion()).unwrap_or_else(|e| panic!("{e}"))
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd} (poppler-utils): {e}"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pdf_of(a: &Apportionment, dir: &Path, name: &str) -> std::path::PathBuf {
    let font = PrintFont::system_default().unwrap_or_else(|e| panic!("{e}"));
    let pdf = apportionment_pdf(a, &font, &SheetOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(name);
    std::fs::write(&path, pdf).unwrap_or_else(|e| panic!("{e}"));
    path
}

#[test]
fn the_pdf_has_every_household_and_the_totals_and_renders() {
    let a = sample();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = pdf_of(&a, dir.path(), "ft.pdf");
    let text = run("pdftotext", &["-layout", &path.to_string_lossy(), "-"]);
    assert!(text.contains("房屋面积分摊计算表"), "{text}");
    for u in &a.units {
        assert!(text.contains(&*u.id), "household {} missing", u.id);
        assert!(text.contains(&u.building_area.to_string()), "{}: {}", u.id, u.building_area);
    }
    let t = &a.totals;
    let total_line = text.lines().find(|l| l.contains("合计")).unwrap_or_default();
    for v in [t.inner_area, t.apportioned, t.building_area] {
        assert!(total_line.contains(&v.to_string()), "total {v} not in {total_line:?}");
    }
    let fonts = run("pdffonts", &[&path.to_string_lossy()]);
    assert!(fonts.lines().skip(2).all(|l| l.contains("yes yes yes")), "embedded, subset, ToUnicode: {fonts}");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(size < 200_000, "{size} bytes: the font is subset");
    let png = dir.path().join("ft");
    run("pdftoppm", &["-r", "60", "-png", "-singlefile", &path.to_string_lossy(), &png.to_string_lossy()]);
    assert!(png.with_extension("png").is_file());
    if let Ok(keep) = std::env::var("APPORTION_PDF_SHOT") {
        let _ = std::fs::copy(png.with_extension("png"), keep);
    }
}

#[test]
fn a_long_table_runs_over_pages_with_every_household() {
    let a = tower();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = pdf_of(&a, dir.path(), "tower.pdf");
    let info = run("pdfinfo", &[&path.to_string_lossy()]);
    let pages: u32 =
        info.lines().find_map(|l| l.strip_prefix("Pages:").map(|n| n.trim().parse().unwrap_or(0))).unwrap_or(0);
    assert!(pages >= 5, "{pages} pages for 240 households");
    let text = run("pdftotext", &["-layout", &path.to_string_lossy(), "-"]);
    for u in &a.units {
        assert!(text.contains(&format!("{} ", u.id)), "household {} missing", u.id);
    }
    // pdftotext drops the narrow spaces between CJK characters and digits.
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        squeezed.contains(&format!("第{pages}页共{pages}页")),
        "no page footer in {}",
        &text[text.len().saturating_sub(600)..]
    );
    // Every page of the household table starts with the header row.
    assert!(text.matches("分摊共有面积 m²").count() >= pages as usize - 1);
}

#[test]
fn the_xlsx_reads_back_with_the_same_numbers() {
    let a = sample();
    let bytes = to_xlsx(&a).unwrap_or_else(|e| panic!("{e}"));
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap_or_else(|e| panic!("{e}"));
    let range = wb.worksheet_range("分摊计算表").unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
    let text = |d: &Data| match d {
        Data::String(s) => s.clone(),
        other => other.to_string(),
    };
    assert_eq!(rows.first().map(|r| text(&r[0])).as_deref(), Some("房屋面积分摊计算表"));
    for u in &a.units {
        let row = rows.iter().find(|r| text(&r[0]) == *u.id).unwrap_or_else(|| panic!("household {} missing", u.id));
        let num = |i: usize| match row.get(i) {
            Some(Data::Float(f)) => *f,
            other => panic!("{}: column {i} is {other:?}, not a number", u.id),
        };
        assert_eq!(num(4), u.inner_area.m2());
        assert_eq!(num(5), u.apportioned.m2());
        assert_eq!(num(6), u.building_area.m2());
        assert_eq!(num(7), u.coefficient);
    }
    let total = rows.iter().find(|r| text(&r[0]) == "合计").unwrap_or_else(|| panic!("no total row"));
    let t = &a.totals;
    assert_eq!(total[4], Data::Float(t.inner_area.m2()));
    assert_eq!(total[5], Data::Float(t.apportioned.m2()));
    assert_eq!(total[6], Data::Float(t.building_area.m2()));
    // The households add up to the total exactly (in hundredths).
    let sum: i64 = a.units.iter().map(|u| u.building_area.hundredths()).sum();
    assert_eq!(sum, t.building_area.hundredths());
}
