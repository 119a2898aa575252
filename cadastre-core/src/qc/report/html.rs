//! A self-contained HTML report (no external files or scripts): summary, an overview SVG
//! map of parcels with finding markers, and a findings table with a rule filter.

use std::fmt::Write as _;

use geo_types::MultiPolygon;

use crate::model::Submission;
use crate::qc::{Report, Severity, Verdict};

/// At most this many parcels are drawn; beyond it the map shows sub-districts and findings only.
const MAX_DRAWN_PARCELS: usize = 50_000;
/// At most this many table rows (the JSON report has everything).
const MAX_ROWS: usize = 20_000;
const WIDTH: f64 = 1000.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

struct View {
    x0: f64,
    y1: f64,
    k: f64,
    height: f64,
}

impl View {
    fn x(&self, x: f64) -> f64 {
        (x - self.x0) * self.k
    }
    fn y(&self, y: f64) -> f64 {
        (self.y1 - y) * self.k
    }
}

fn path(mp: &MultiPolygon, v: &View, out: &mut String) {
    for poly in &mp.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for (i, c) in ring.0.iter().enumerate() {
                if c.x.is_finite() && c.y.is_finite() {
                    let _ = write!(out, "{}{:.1} {:.1}", if i == 0 { "M" } else { "L" }, v.x(c.x), v.y(c.y));
                }
            }
            out.push('Z');
        }
    }
}

fn view(sub: &Submission, report: &Report) -> Option<View> {
    let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    let mut add = |x: f64, y: f64| {
        if x.is_finite() && y.is_finite() {
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
    };
    for g in sub.subdistricts.iter().map(|s| &s.geometry).chain(sub.parcels.iter().map(|p| &p.geometry)) {
        use geo::BoundingRect;
        if let Some(r) = g.bounding_rect() {
            add(r.min().x, r.min().y);
            add(r.max().x, r.max().y);
        }
    }
    for f in &report.findings {
        if f.location != [0.0, 0.0] {
            add(f.location[0], f.location[1]);
        }
    }
    if !b[0].is_finite() {
        return None;
    }
    let (w, h) = ((b[2] - b[0]).max(1.0), (b[3] - b[1]).max(1.0));
    let k = WIDTH / w;
    Some(View { x0: b[0], y1: b[3], k, height: h * k })
}

fn colour(s: Severity) -> &'static str {
    match s {
        Severity::Error => "#d62728",
        Severity::Warning => "#ff7f0e",
        Severity::Info => "#1f77b4",
    }
}

/// Render the report as one HTML page.
pub fn to_html(report: &Report, sub: &Submission) -> String {
    let mut h = String::with_capacity(1 << 20);
    let verdict = match report.verdict {
        Verdict::Pass => "<span class=pass>通过 (pass)</span>",
        Verdict::Fail => "<span class=fail>不通过 (fail)</span>",
    };
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=zh-CN><head><meta charset=utf-8><title>质检报告 Quality-check report</title><style>\
body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 6px;text-align:left}}\
.pass{{color:#2ca02c;font-weight:bold}}.fail{{color:#d62728;font-weight:bold}}svg{{border:1px solid #999;background:#fafafa;max-width:100%;height:auto}}\
.error{{color:#d62728}}.warning{{color:#ff7f0e}}.info{{color:#1f77b4}}</style></head><body>\
<h1>不动产权籍调查成果质检报告</h1><p>Quality-check report</p>\
<h2>结论 Summary</h2><p>评分 Score: <b>{:.2}</b> &nbsp; 结论 Verdict: {verdict}</p>\
<p>宗地 {} 宗，自然幢 {} 幢，地籍子区 {} 个；问题 {} 条。</p>",
        report.score,
        sub.parcels.len(),
        sub.buildings.len(),
        sub.subdistricts.len(),
        report.findings.len()
    );
    h.push_str("<h2>问题统计 Counts by rule</h2><table><tr><th>规则 Rule</th><th>数量 Count</th></tr>");
    for (rule, n) in &report.counts {
        let _ = write!(h, "<tr><td>{}</td><td>{n}</td></tr>", esc(rule));
    }
    h.push_str("</table>");
    h.push_str("<h2>概览图 Overview map</h2>");
    if let Some(v) = view(sub, report) {
        let _ = write!(
            h,
            "<svg xmlns='http://www.w3.org/2000/svg' viewBox='-10 -10 {:.0} {:.0}' width='{:.0}'>",
            WIDTH + 20.0,
            v.height + 20.0,
            WIDTH
        );
        for s in &sub.subdistricts {
            let mut d = String::new();
            path(&s.geometry, &v, &mut d);
            let _ = write!(
                h,
                "<path d='{d}' fill='none' stroke='#555' stroke-width='1.5'><title>{}</title></path>",
                esc(&s.djzqdm)
            );
        }
        if sub.parcels.len() <= MAX_DRAWN_PARCELS {
            h.push_str("<g fill='#e8eef7' stroke='#7a8fb0' stroke-width='0.3' fill-rule='evenodd'>");
            for p in &sub.parcels {
                let mut d = String::new();
                path(&p.geometry, &v, &mut d);
                let _ = write!(h, "<path d='{d}'><title>{}</title></path>", esc(&p.zddm));
            }
            h.push_str("</g>");
        } else {
            let _ = write!(
                h,
                "<text x='5' y='15' font-size='12'>宗地过多（{}），仅绘制地籍子区与问题位置</text>",
                sub.parcels.len()
            );
        }
        for (i, f) in report.findings.iter().enumerate().take(MAX_ROWS) {
            if f.location == [0.0, 0.0] {
                continue;
            }
            let _ = write!(
                h,
                "<circle class='m' data-rule='{}' cx='{:.1}' cy='{:.1}' r='4' fill='{}' fill-opacity='0.7'><title>#{} {} {}</title></circle>",
                esc(&f.rule),
                v.x(f.location[0]),
                v.y(f.location[1]),
                colour(f.severity),
                i + 1,
                esc(&f.rule),
                esc(&f.message_zh)
            );
        }
        h.push_str("</svg>");
    } else {
        h.push_str("<p>无可绘制的几何 (nothing to draw)</p>");
    }
    h.push_str("<h2>问题列表 Findings</h2><p>按规则筛选 Filter by rule: <select id=flt onchange='filt()'><option value=''>全部 all</option>");
    for rule in report.counts.keys() {
        let _ = write!(h, "<option>{}</option>", esc(rule));
    }
    h.push_str("</select></p><table id=tbl><tr><th>#</th><th>规则 Rule</th><th>级别 Severity</th><th>对象 Objects</th><th>位置 Location (x, y)</th><th>说明</th><th>Message</th></tr>");
    for (i, f) in report.findings.iter().enumerate().take(MAX_ROWS) {
        let _ = write!(
            h,
            "<tr data-rule='{}'><td>{}</td><td>{}</td><td class='{}'>{}</td><td>{}</td><td>{:.3}, {:.3}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.rule),
            i + 1,
            esc(&f.rule),
            f.severity.as_str(),
            f.severity.name_zh(),
            esc(&f.objects.join(", ")),
            f.location[0],
            f.location[1],
            esc(&f.message_zh),
            esc(&f.message_en)
        );
    }
    h.push_str("</table>");
    if report.findings.len() > MAX_ROWS {
        let _ = write!(h, "<p>仅列出前 {MAX_ROWS} 条；完整列表见 JSON 报告。Only the first {MAX_ROWS} findings are listed; see the JSON report.</p>");
    }
    h.push_str(
        "<script>function filt(){var r=document.getElementById('flt').value;\
document.querySelectorAll('#tbl tr[data-rule]').forEach(function(t){t.style.display=(!r||t.dataset.rule==r)?'':'none'});\
document.querySelectorAll('circle.m').forEach(function(c){c.style.display=(!r||c.dataset.rule==r)?'':'none'});}</script></body></html>",
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qc::{check, QcConfig};
    use geo_types::polygon;

    #[test]
    fn html_escapes_and_contains_chinese_headings() {
        let mut sub = Submission::default();
        sub.parcels.push(crate::model::Parcel {
            zddm: "<bad&code>".into(),
            geometry: MultiPolygon(vec![polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.)]]),
            attributes: Default::default(),
            source_index: 0,
        });
        let report = check(&sub, &QcConfig::default());
        let html = to_html(&report, &sub);
        assert!(html.contains("问题列表"));
        assert!(html.contains("&lt;bad&amp;code&gt;"));
        assert!(!html.contains("<bad&code>"));
        assert!(html.contains("<svg"));
    }
}
