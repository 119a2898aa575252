//! The reviewers' page in headless Chromium: open a checked submission, click a finding,
//! see the diff, the tables and the building-table grid, accept.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{json, Value};
use sqlx::PgPool;
use tile_server::db::MIGRATOR;

use crate::browser::*;
use crate::common::*;

/// Outline colours of the review diff (review.js, lines at full opacity).
const DIFF_ADDED: [u8; 3] = [46, 157, 76];
const DIFF_CHANGED: [u8; 3] = [242, 157, 18];
const DIFF_REMOVED: [u8; 3] = [215, 38, 61];

/// The reviewers' page: log in as a reviewer, open the known-edits submission, click a
/// finding (the map goes there), see the diff and the tables, accept; screenshots with Chinese.
#[sqlx::test(migrator = "MIGRATOR")]
async fn reviewer_opens_a_submission_clicks_a_finding_and_accepts(pool: PgPool) {
    let HandedIn { st, surveyor, id } = known_edits_handed_in(&pool, "测绘员甲", "审核员乙").await;
    let addr = serve(&st).await;
    let (_driver, c) = browser().await;
    let row = open_review_list(&c, addr, "审核员乙", id).await;
    let text = row.text().await.unwrap_or_default();
    assert!(text.contains("待审核") && text.contains("测绘员甲"), "{text}");
    // The list shows each submission's status and its check's score, as the API gives them.
    let listed = get(&st, &format!("/api/submissions/{id}"), &surveyor).await;
    let score = listed.json["versions"][0]["score"].as_f64().unwrap_or_else(|| panic!("no score: {:?}", listed.json));
    let status_cell = text_of(&c, &format!("#submissions tbody tr[data-id='{id}'] td.status")).await;
    assert_eq!(status_cell, "待审核");
    let status_attr = row.attr("data-status").await.ok().flatten().unwrap_or_default();
    assert_eq!(status_attr, "ready");
    let score_cell = text_of(&c, &format!("#submissions tbody tr[data-id='{id}'] td.score")).await;
    assert_eq!(score_cell, format!("{score:.1}"), "the score column");
    row.click().await.unwrap_or_else(|e| panic!("{e}"));
    wait_for_attr(&c, "#detail-section", "data-loaded", |v| !v.is_empty()).await;
    wait_for_attr(&c, "#review-map", "data-ready", |v| v == "1").await;
    let features =
        wait_for_attr(&c, "#review-map", "data-diff-features", |v| v.parse::<u32>().is_ok_and(|n| n > 0)).await;
    assert!(features.parse::<u32>().unwrap_or(0) >= 7, "parcels added/changed/removed and buildings: {features}");
    // In their colours: the page paints the diff by kind, and once drawn the canvas shows each colour.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let paint: Value = c
            .execute(
                "const m = document.getElementById('review-map').cadastreMap;
                 const kinds = [...new Set(m.queryRenderedFeatures({layers: ['review-diff-line']}).map((f) => f.properties.kind))].sort();
                 return {line: m.getPaintProperty('review-diff-line', 'line-color'), kinds};",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            paint["line"],
            json!([
                "match",
                ["get", "kind"],
                "added",
                "#2e9d4c",
                "changed",
                "#f29d12",
                "removed",
                "#d7263d",
                "overlap",
                "#8e44ad",
                "#888"
            ]),
            "{paint}"
        );
        let mut counts = Vec::new();
        for rgb in [DIFF_ADDED, DIFF_CHANGED, DIFF_REMOVED] {
            counts.push(count_pixels_in(&c, "#review-map canvas", rgb).await);
        }
        if paint["kinds"] == json!(["added", "changed", "removed"]) && counts.iter().all(|n| *n >= 20) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "added/changed/removed drawn: {paint}, pixels of each colour on the map: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let diff_map = c.find(Locator::Css(".map-wrap")).await.unwrap_or_else(|e| panic!("{e}"));
    let png = diff_map.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
    std::fs::write(dir.join("review-diff.png"), png).unwrap_or_else(|e| panic!("{e}"));
    // Tables of the diff.
    let moved = text_of(&c, "#moved-points tbody tr").await;
    assert!(moved.contains("0.300"), "{moved}");
    let areas = c.find_all(Locator::Css("#area-changes tbody tr")).await.unwrap_or_default();
    assert!(areas.len() >= 8, "4 added, 1 changed, 3 removed + 2 replacements: {}", areas.len());
    // The building table, read-only, coloured by the change.
    c.find(Locator::Css(&format!("#table-changes button[data-zrzh='{}']", crate::review_sample::TABLE)))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#building-table-grid td.hh.changed"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#building-table-grid td.hh.removed"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The grid: the package's 24 households (one new) and the one it removes, each in its
    // place (nominal floor × stair unit × room), coloured by what the submission does to it.
    let cells = c.find_all(Locator::Css("#building-table-grid td.hh")).await.unwrap_or_default();
    assert_eq!(cells.len(), 25, "24 households in the package's table and the one it removes");
    let changed = cell_place(
        &c,
        "#building-table-grid",
        &format!("td.hh[data-bdcdyh='{}']", crate::review_sample::TABLE_CHANGED),
    )
    .await;
    assert_eq!(changed.status, "changed");
    assert_eq!(
        (changed.floor.as_str(), changed.unit.as_str(), changed.room.as_str()),
        ("第1层", "1单元", "01"),
        "{changed:?}"
    );
    assert!(changed.text.contains("101") && changed.text.contains("113.00"), "the package's area: {changed:?}");
    assert_eq!(changed.background, "rgb(242, 157, 18)", "{changed:?}");
    let added = cell_place(&c, "#building-table-grid", "td.hh.added").await;
    assert_eq!(added.hh, "0025");
    assert_eq!((added.floor.as_str(), added.unit.as_str(), added.room.as_str()), ("第6层", "2单元", "02"), "{added:?}");
    assert_eq!(added.background, "rgb(46, 157, 76)", "{added:?}");
    let removed = cell_place(&c, "#building-table-grid", "td.hh.removed").await;
    assert_eq!(removed.bdcdyh, crate::review_sample::TABLE_REMOVED);
    assert_eq!(
        (removed.floor.as_str(), removed.unit.as_str(), removed.room.as_str()),
        ("第6层", "2单元", "02"),
        "{removed:?}"
    );
    assert_eq!(removed.background, "rgb(215, 38, 61)", "{removed:?}");
    let unchanged = c.find_all(Locator::Css("#building-table-grid td.hh.unchanged")).await.unwrap_or_default();
    assert_eq!(unchanged.len(), 22);
    let legend = text_of(&c, "#building-table-grid .bt-legend").await;
    for word in ["未变", "新增", "变更", "灭失"] {
        assert!(legend.contains(word), "{legend}");
    }
    assert_chinese_renders(&c, "#building-table").await;
    let grid = c.find(Locator::Id("building-table")).await.unwrap_or_else(|e| panic!("{e}"));
    let png = grid.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
    std::fs::write(dir.join("review-building-table.png"), png).unwrap_or_else(|e| panic!("{e}"));
    // Click a finding: the map flies there.
    wait_for_attr(&c, "#review-map", "data-moves", |v| v.parse::<u32>().is_ok_and(|n| n > 0)).await;
    let before_moves: u32 = wait_for_attr(&c, "#review-map", "data-moves", |_| true).await.parse().unwrap_or(0);
    let before_center = wait_for_attr(&c, "#review-map", "data-center", |_| true).await;
    let finding = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#findings button.finding"))
        .await
        .unwrap_or_else(|e| panic!("no finding to click: {e}"));
    finding.click().await.unwrap_or_else(|e| panic!("{e}"));
    wait_for_attr(&c, "#review-map", "data-focus", |v| v == "0").await;
    wait_for_attr(&c, "#review-map", "data-moves", |v| v.parse::<u32>().is_ok_and(|n| n > before_moves)).await;
    let after_center = wait_for_attr(&c, "#review-map", "data-center", |_| true).await;
    assert_ne!(before_center, after_center, "the map moved to the finding");
    let png = c.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
    std::fs::write(dir.join("review-submission.png"), png).unwrap_or_else(|e| panic!("{e}"));
    assert_chinese_renders(&c, "body").await;
    // Accept, with a written reason (the check may fail on the split's new boundary points).
    let reason = c.find(Locator::Id("override-reason")).await.unwrap_or_else(|e| panic!("{e}"));
    reason.send_keys("分割线界址点已现场核实").await.unwrap_or_else(|e| panic!("{e}"));
    click_id(&c, "decision-button").await;
    wait_for_attr(&c, "#decision-result", "data-done", |v| v == "accept").await;
    let result = text_of(&c, "#decision-result").await;
    assert!(result.contains("已入库") && result.contains("T1 → 330106001002GB"), "{result}");
    let png = c.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
    std::fs::write(dir.join("review-accepted.png"), png).unwrap_or_else(|e| panic!("{e}"));
    assert_chinese_renders(&c, "#decision-result").await;
    let status: String = sqlx::query_scalar("SELECT status FROM submissions WHERE submission_id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap_or_default();
    assert_eq!(status, "accepted");
}
