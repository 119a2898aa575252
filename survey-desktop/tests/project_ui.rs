//! egui_kittest: the Project menu's 新建 (new) and 另存为 (save as), with the file
//! dialogs answered beforehand: a new project takes imported data, is saved under a
//! name, reopens with the same content, and is saved again under another.

use std::path::{Path, PathBuf};

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use survey_desktop::app::{App, StartOptions};
use survey_desktop::model::Document;

mod common;
use common::kit::{click_label, harness};
use common::units::{building, grid, ZRZH};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/district")
}

fn app(data: &Path, path: Option<PathBuf>) -> Harness<'static, App> {
    harness(App::new(StartOptions { path, data_dir: Some(data.into()), ..StartOptions::default() }))
}

/// Project menu → `item`, the file dialog (if it asks) answered with `answer`.
fn project_menu(h: &mut Harness<'_, App>, item: &str, answer: Option<&Path>) {
    if let Some(a) = answer {
        h.state_mut().dialogs.queue(Some(a.to_owned()));
    }
    click_label(h, "项目", 2);
    click_label(h, item, 4);
    assert_eq!(h.state().dialogs.pending(), 0, "{item} asked for a file");
}

#[test]
fn a_new_project_is_filled_saved_as_and_reopens_with_the_same_content() {
    let dir = tempfile::tempdir().expect("tmp");
    // Something open first: a project with a building table.
    let first = dir.path().join("first.gpkg");
    let mut ed = building(&[grid("1", 1..=2, 1, 2)]);
    survey_desktop::project::Project::create(&first)
        .and_then(|mut p| p.save(&mut ed, &Default::default()))
        .expect("first project");
    let mut h = app(dir.path(), Some(first.clone()));
    assert!(h.state().editor.doc().units.contains_key(ZRZH));

    // 新建: empty and untitled.
    project_menu(&mut h, "新建", None);
    assert_eq!(h.state().editor.doc(), &Document::default());
    assert_eq!(h.state().project_path(), None);
    assert!(h.query_by_label("未命名项目").is_some());
    assert!(h.state().status.starts_with("新项目"), "{}", h.state().status);

    // 导入 the sample district into it, then 另存为.
    project_menu(&mut h, "导入… Ctrl+I", Some(&sample()));
    let parcels = h.state().editor.doc().parcels.len();
    assert_eq!(parcels, 200, "{}", h.state().status);
    let saved = dir.path().join("新项目.gpkg");
    project_menu(&mut h, "另存为…", Some(&saved));
    assert_eq!(h.state().project_path(), Some(saved.as_path()), "{}", h.state().status);
    assert!(h.state().status.contains("已保存"), "{}", h.state().status);
    assert!(h.query_by_label("新项目.gpkg").is_some(), "the title names the file");
    let content = h.state().editor.doc().clone();
    drop(h);

    // Reopened: the same document, nothing to recover.
    let mut h = app(dir.path(), Some(saved.clone()));
    assert!(!h.state().recovery_pending());
    assert_eq!(h.state().editor.doc(), &content);
    // 另存为 again, under another name: that file is the project now, with the same content.
    let copy = dir.path().join("副本.gpkg");
    project_menu(&mut h, "另存为…", Some(&copy));
    assert_eq!(h.state().project_path(), Some(copy.as_path()));
    drop(h);
    let h = app(dir.path(), Some(copy));
    assert_eq!(h.state().editor.doc(), &content);
    // The first project is untouched.
    let h1 = app(dir.path(), Some(first));
    assert!(h1.state().editor.doc().units.contains_key(ZRZH));
}

#[test]
fn save_as_cancelled_leaves_the_project_untitled() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut h = app(dir.path(), Some(sample()));
    h.state_mut().dialogs.queue(None);
    click_label(&mut h, "项目", 2);
    click_label(&mut h, "另存为…", 4);
    assert_eq!(h.state().project_path(), None);
    assert_eq!(std::fs::read_dir(dir.path()).map(|d| d.count()).unwrap_or(99), 0, "no file written");
}
