//! The 房屋面积分摊计算表 (apportionment sheet) as one self-contained,
//! printable HTML page: no scripts, fonts or images from outside.

use super::report::{Apportionment, Level};
use super::Method;
use crate::model::floor_name;
use std::fmt::Write as _;

/// Renders a result as a printable HTML document.
pub trait RenderHtml {
    /// A complete HTML document (UTF-8, A4 print CSS, no external assets).
    fn to_html(&self) -> String;
}

const CSS: &str = "body{font-family:'SimSun','Songti SC','Noto Serif CJK SC',serif;font-size:10.5pt;margin:1.5em}\
h1{text-align:center;font-size:16pt;margin:0 0 .3em}h2{font-size:12pt;margin:1em 0 .3em}\
.meta{text-align:center;margin-bottom:1em}table{border-collapse:collapse;width:100%;margin-bottom:.8em}\
th,td{border:1px solid #000;padding:2px 5px}th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}\
tr.total td{font-weight:bold}p.note{font-size:9pt}\
@page{size:A4;margin:15mm}@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}thead{display:table-header-group}}";

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

impl RenderHtml for Apportionment {
    /// ```
    /// use cadastre_core::apportion::{Apportion, ApportionInput, RenderHtml};
    /// let input = ApportionInput::from_json(r#"{"building": "B<1>",
    ///   "zones": [{"id": "res", "name": "住宅"}],
    ///   "units": [{"id": "0101", "zone": "res", "floor": 1, "inner_area": 80}],
    ///   "shared": [{"id": "s", "area": 12, "serves": {"building": true}}]}"#).unwrap();
    /// let html = input.apportion().unwrap().to_html();
    /// assert!(html.contains("房屋面积分摊计算表") && html.contains("B&lt;1&gt;"));
    /// assert!(!html.contains("http"));
    /// ```
    fn to_html(&self) -> String {
        let mut h = String::new();
        let b = escape(&self.building);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>房屋面积分摊计算表 {b}</title><style>{CSS}</style></head><body>\n"
        );
        let method = match self.method {
            Method::Gbt17986 => "GB/T 17986.1（功能区按建筑面积，层与户按套内建筑面积）",
        };
        let _ =
            writeln!(h, "<h1>房屋面积分摊计算表</h1><div class=\"meta\">幢号 Building: {b}　分摊方法: {method}</div>");

        h.push_str("<h2>一、分摊层次与分摊系数 (幢 → 功能区 → 层)</h2>\n<table><thead><tr><th>层次</th><th>功能区</th><th>层</th>\
<th>套内建筑面积 m²</th><th>参加分摊面积 m²</th><th>上级分摊来 m²</th><th>本级共有面积 m²</th><th>分摊系数 K</th></tr></thead><tbody>\n");
        for l in &self.levels {
            let level = match l.level {
                Level::Building => "幢",
                Level::Zone => "功能区",
                Level::Floor => "层",
            };
            let zone = match (&l.zone_name, &l.zone) {
                (Some(n), Some(z)) if !n.is_empty() => format!("{}（{}）", escape(n), escape(z)),
                (_, Some(z)) => escape(z),
                _ => "—".into(),
            };
            let floor = l.floor.map_or("—".to_string(), floor_name);
            let _ = writeln!(
                h,
                "<tr><td>{level}</td><td>{zone}</td><td>{floor}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{}</td><td class=\"n\">{:.6}</td></tr>",
                l.inner_area, l.participating_area, l.incoming, l.own_shared, l.k
            );
        }
        h.push_str("</tbody></table>\n");

        h.push_str("<h2>二、共有部位</h2>\n<table><thead><tr><th>编号</th><th>名称</th><th>面积 m²</th><th>服务范围</th><th>分摊方式</th><th>顶层系数 K</th></tr></thead><tbody>\n");
        for s in &self.shared {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&s.id),
                escape(s.name.as_deref().unwrap_or("")),
                s.area,
                escape(&s.serves),
                if s.by_agreement { "协议约定" } else { "按比例分摊" },
                s.k.first().map_or("—".to_string(), |k| format!("{:.6}", k.k))
            );
        }
        h.push_str("</tbody></table>\n");

        h.push_str("<h2>三、分户面积</h2>\n<table><thead><tr><th>户号</th><th>室号</th><th>功能区</th><th>层</th><th>套内建筑面积 m²</th>\
<th>分摊共有面积 m²</th><th>建筑面积 m²</th><th>分摊系数</th></tr></thead><tbody>\n");
        for u in &self.units {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.6}</td></tr>",
                escape(&u.id),
                escape(u.room.as_deref().unwrap_or("")),
                escape(&u.zone),
                floor_name(u.floor),
                u.inner_area,
                u.apportioned,
                u.building_area,
                u.coefficient
            );
        }
        let t = &self.totals;
        let _ = writeln!(
            h,
            "<tr class=\"total\"><td colspan=\"4\">合计</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td></td></tr></tbody></table>",
            t.inner_area, t.apportioned, t.building_area
        );

        h.push_str("<h2>四、尾差处理说明</h2>\n<p class=\"note\">各户分摊面积先按四舍五入取至 0.01 m²，其与共有面积之差（尾差）按最大余数法逐 0.01 m² 调整，余数相同时按户号顺序，保证每个共有部位的分摊面积之和等于其面积。分摊系数 K 不取整。</p>\n<ul class=\"note\">");
        let mut any = false;
        for s in self.shared.iter().filter(|s| !s.adjustments.is_empty()) {
            any = true;
            let adj: Vec<String> =
                s.adjustments.iter().map(|a| format!("{} {:+.2}", escape(&a.unit), a.area.m2())).collect();
            let _ = writeln!(h, "<li>{}：{}</li>", escape(&s.id), adj.join("，"));
        }
        if !any {
            h.push_str("<li>无尾差调整。</li>");
        }
        h.push_str("</ul>\n<p class=\"note\">测量员：＿＿＿＿　检查员：＿＿＿＿　日期：＿＿＿＿</p>\n</body></html>\n");
        h
    }
}
