//! The real binary in a real window: an X server (Xvfb, started here) with Mesa's
//! software OpenGL. `--screenshot` of the sample district, and kill -9 while editing
//! followed by recovery of every autosaved edit.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use cadastre_core::io::LoadOptions;
use geo_types::Coord;
use survey_desktop::model::{ops, Document, Editor};
use survey_desktop::project::Project;

mod common;
use common::{colours, menu_interior_stroke, read_png, Shot, Xvfb};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `survey-desktop samples/district --select ... --screenshot`, with extra environment.
fn screenshot(x: &Xvfb, env: &[(&str, &str)]) -> Shot {
    let dir = tempfile::tempdir().expect("tmp");
    let png_path = dir.path().join("shot.png");
    let mut cmd = x.command();
    cmd.arg(repo().join("samples/district"))
        .args(["--select", "330106001001GB00001", "--size", "1000x640", "--screenshot"])
        .arg(&png_path)
        .env("SURVEY_DESKTOP_DATA", dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run survey-desktop");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    read_png(&png_path, stderr)
}

#[test]
fn screenshot_of_the_sample_district_zoomed_to_a_parcel() {
    let x = Xvfb::start();
    let shot = screenshot(&x, &[]);
    // Chinese glyphs are in the pixels: the menu labels have strokes across their middle.
    let with_font = menu_interior_stroke(&shot);
    assert!(with_font >= 5, "menu labels have no inner strokes ({with_font} px): boxes instead of Chinese?");
    // The Chinese face was loaded by name (not left to fallback).
    assert!(shot.stderr.contains("Chinese font Noto Sans CJK SC"), "{}", shot.stderr);
    assert_eq!((shot.width, shot.height), (1000, 640));
    // Not a blank window: the map, panels and text give many colours.
    assert!(colours(&shot) > 200, "{} colours", colours(&shot));
    // The selected parcel's highlight colour (0, 90, 255) is drawn.
    assert!(shot.rgb.chunks(3).any(|p| p == [0, 90, 255]));

    // The same window with the Chinese font withheld: the app says so, the labels are
    // boxes, and the check above fails on them.
    let boxes = screenshot(&x, &[(survey_desktop::app::fonts::FONT_ENV, "none")]);
    assert!(boxes.stderr.contains("no Chinese font found"), "{}", boxes.stderr);
    let without = menu_interior_stroke(&boxes);
    assert!(without < 5, "boxes were taken for glyphs ({without} px)");
}

fn sample_project(path: &Path) -> Editor {
    let mut sub =
        survey_desktop::import::read(&repo().join("samples/district"), &LoadOptions::default()).expect("sample");
    survey_desktop::import::align_crs(&mut sub, None).expect("crs");
    let mut ed = Editor::new(Document::from_submission(sub).0);
    Project::create(path).and_then(|mut p| p.save(&mut ed, &Default::default())).expect("project");
    ed
}

#[test]
fn kill_9_while_editing_loses_nothing_autosaved() {
    let x = Xvfb::start();
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("p.gpkg");
    let saved = sample_project(&path);
    let mut child = x
        .command()
        .arg(&path)
        .args(["--autosave", "0.1", "--script-edits", "100000"])
        .env("SURVEY_DESKTOP_DATA", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start survey-desktop");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut reported = 0;
    // Kill in the middle of editing, after a few autosaves.
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(n) = line.strip_prefix("autosaved ") {
            reported = n.parse().expect("count");
            if reported >= 30 {
                break;
            }
        }
    }
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(reported >= 30, "the app reported {reported} autosaved edits; stderr: {err}");
    let (_, opened) = Project::open(&path).expect("the project opens after kill -9");
    let unsaved = opened.unsaved.len();
    assert!(unsaved >= reported, "journal has {unsaved} steps, {reported} were reported autosaved");
    let (recovered, _) = opened.into_editor(true).expect("recover");
    // The same edits made here: the first boundary point moved 1 cm east, `unsaved` times.
    let mut expected = Editor::new(saved.doc().clone());
    for _ in 0..unsaved {
        let (&id, &c) = expected.doc().points.iter().next().expect("a point");
        let cmd = ops::move_point(expected.doc(), id, Coord { x: c.x + 0.01, y: c.y }).expect("move");
        expected.execute(cmd).expect("execute");
    }
    assert_eq!(recovered.doc(), expected.doc());
    assert_eq!(recovered.done().len(), unsaved, "every recovered edit can be undone");
}
