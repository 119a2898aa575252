//! egui_kittest: agreed shares (协议分摊) through the 面积分摊 tab: a shared space
//! added by hand for two households, its shares agreed between them, the run gives
//! each exactly its agreed share; shares that do not add up are refused by the run.

use egui_kittest::kittest::{NodeT as _, Queryable};
use survey_desktop::app::App;

mod common;
use common::kit::{click_label, harness, pdf_text};
use common::units::{building, draw, floor_one, grid, units};

#[test]
fn agreed_shares_set_in_the_tab_are_what_the_run_gives() {
    let mut ed = building(&[grid("1", 1..=1, 1, 2)]);
    draw(&mut ed, common::units::ZRZH, floor_one(10.0));
    let mut h = harness(App::with_document(ed.doc().clone()));
    click_label(&mut h, "面积分摊", 3);
    // A bin store of 10.00 m² for households 0001 and 0002 …
    {
        let p = &mut h.state_mut().units.apportion;
        (p.name, p.area, p.serves) = ("垃圾房".into(), "10.00".into(), "units:0001,0002".into());
    }
    click_label(&mut h, "添加", 3);
    let id = units(&h).setup.shared.first().map(|s| s.id.clone()).expect("added");
    // … shared 7.00 / 3.00 by agreement.
    {
        let p = &mut h.state_mut().units.apportion;
        (p.agreed_id, p.agreed) = (id.clone(), "0001=7.00, 0002=3.00".into());
    }
    click_label(&mut h, "设置", 3);
    let listed = h.query_all_by_label_contains(&id).filter(|n| {
        let node = n.accesskit_node();
        node.label()
            .or_else(|| node.value())
            .is_some_and(|l| l.starts_with(&format!("{id} 垃圾房")) && l.ends_with("协议分摊"))
    });
    assert_eq!(listed.count(), 1, "the space is listed as shared by agreement");
    click_label(&mut h, "运行分摊", 3);
    assert!(h.query_by_label("√ 分摊之和等于共有面积").is_some(), "{}", h.state().status);
    let r = units(&h).last_result().expect("run").expect("result");
    let s = r.shared.iter().find(|s| s.id == id).expect("the agreed space");
    assert!(s.by_agreement);
    let got: Vec<(String, String)> = s.allocations.iter().map(|a| (a.unit.to_string(), a.area.to_string())).collect();
    assert_eq!(got, [("0001".to_owned(), "7.00".to_owned()), ("0002".to_owned(), "3.00".to_owned())]);
    assert_eq!(r.totals.apportioned, r.totals.shared_area);
    // 导出计算表: the table as PDF (and XLSX), where the dialog says.
    let dir = tempfile::tempdir().expect("tmp");
    for name in ["分摊.pdf", "分摊.xlsx"] {
        let path = dir.path().join(name);
        h.state_mut().dialogs.queue(Some(path.clone()));
        click_label(&mut h, "导出计算表…", 3);
        assert!(h.state().status.contains(name), "{}", h.state().status);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(bytes.starts_with(if name.ends_with("pdf") { b"%PDF" } else { b"PK\x03\x04" }), "{name}");
    }
    let text = pdf_text(&dir.path().join("分摊.pdf"));
    assert!(text.contains("垃圾房") && text.contains("协议约定"), "{text}");

    // Shares of 9.00 for a 10.00 m² space: the run says why and keeps the last result.
    h.state_mut().units.apportion.agreed = "0001=6.00, 0002=3.00".into();
    click_label(&mut h, "设置", 3);
    click_label(&mut h, "运行分摊", 3);
    let after = units(&h).last_result().expect("run").expect("result");
    assert_eq!(after, r, "{}", h.state().status);
    assert!(h.state().status.contains(&id), "the refusal names the space: {}", h.state().status);
}
