//! The reviewers' page returns a submission with the findings the reviewer ticked:
//! they are stored with the decision, as the surveyor's desktop app reads them.

use fantoccini::Locator;
use serde_json::Value;
use sqlx::PgPool;
use tile_server::db::MIGRATOR;

use crate::browser::{
    assert_chinese_renders, browser, click_id, known_edits_handed_in, open_review_list, serve, text_of, wait_for_attr,
    HandedIn,
};

#[sqlx::test(migrator = "MIGRATOR")]
async fn reviewer_returns_a_submission_with_the_ticked_finding(pool: PgPool) {
    let HandedIn { st, surveyor: _, id } = known_edits_handed_in(&pool, "测绘员丙", "审核员丁").await;
    let addr = serve(&st).await;
    let (_driver, c) = browser().await;
    let row = open_review_list(&c, addr, "审核员丁", id).await;
    row.click().await.unwrap_or_else(|e| panic!("{e}"));
    wait_for_attr(&c, "#detail-section", "data-loaded", |v| !v.is_empty()).await;
    // Tick the last finding (the index must carry through), return it.
    let boxes = c.find_all(Locator::Css("#findings input.attach")).await.unwrap_or_default();
    assert!(!boxes.is_empty(), "no finding to tick");
    let last = boxes.len() - 1;
    let ticked_text = c
        .find_all(Locator::Css("#findings button.finding"))
        .await
        .unwrap_or_default()
        .get(last)
        .cloned()
        .unwrap_or_else(|| panic!("no button for finding {last}"))
        .text()
        .await
        .unwrap_or_default();
    boxes[last].click().await.unwrap_or_else(|e| panic!("{e}"));
    c.find(Locator::Css("input[name=decision][value=return]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    c.find(Locator::Id("decision-note"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .send_keys("请核实界址点")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    click_id(&c, "decision-button").await;
    wait_for_attr(&c, "#decision-result", "data-done", |v| v == "return").await;
    assert!(text_of(&c, "#decision-result").await.contains("已退回"));
    assert_chinese_renders(&c, "#detail-section").await;

    let (status, findings): (String, Option<Value>) = sqlx::query_as(
        "SELECT v.status, v.returned_findings FROM submissions s
           JOIN submission_versions v ON v.submission_id = s.submission_id AND v.version = s.latest_version
          WHERE s.submission_id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, "returned");
    let list = findings.as_ref().and_then(Value::as_array).cloned().unwrap_or_default();
    assert_eq!(list.len(), 1, "{findings:?}");
    let message = list[0]["message_zh"].as_str().unwrap_or_default();
    assert!(!message.is_empty() && ticked_text.contains(message), "{message} not in the ticked {ticked_text}");
    assert_eq!(list[0]["location"].as_array().map(Vec::len), Some(2), "{:?}", list[0]);
}
