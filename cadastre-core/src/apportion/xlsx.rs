//! The 房屋面积分摊计算表 as an XLSX workbook: one worksheet with the title, the three
//! tables of [`super::sheet`] (numbers as numbers, formatted to their decimals) and the
//! residual notes.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::report::Apportionment;
use super::sheet::{method_text, residual_notes, tables, Cell, SHEET_TITLE};

/// The calculation table as XLSX bytes.
///
/// ```
/// use cadastre_core::apportion::{xlsx, Apportion, ApportionInput};
/// let input = ApportionInput::from_json(r#"{"building": "B1",
///   "zones": [{"id": "res", "name": "住宅"}],
///   "units": [{"id": "0101", "zone": "res", "floor": 1, "inner_area": 80}],
///   "shared": [{"id": "s", "area": 12, "serves": {"building": true}}]}"#).unwrap();
/// let bytes = xlsx::to_xlsx(&input.apportion().unwrap()).unwrap();
/// assert_eq!(&bytes[..2], b"PK");
/// ```
pub fn to_xlsx(a: &Apportionment) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("分摊计算表")?;
    let bold = Format::new().set_bold();
    let head = Format::new().set_bold().set_background_color("#EEEEEE").set_border(rust_xlsxwriter::FormatBorder::Thin);
    let cell = Format::new().set_border(rust_xlsxwriter::FormatBorder::Thin);
    let num = |d: u8| {
        let pattern = if d == 0 { "0".to_string() } else { format!("0.{}", "0".repeat(usize::from(d))) };
        Format::new().set_num_format(pattern).set_border(rust_xlsxwriter::FormatBorder::Thin)
    };
    ws.write_string_with_format(0, 0, SHEET_TITLE, &Format::new().set_bold().set_font_size(16))?;
    ws.write_string(1, 0, format!("幢号 Building: {}　分摊方法: {}", a.building, method_text(a.method)))?;
    let mut row: u32 = 3;
    for t in tables(a) {
        ws.write_string_with_format(row, 0, t.title, &bold)?;
        row += 1;
        for (c, h) in t.header.iter().enumerate() {
            ws.write_string_with_format(row, col(c), *h, &head)?;
        }
        row += 1;
        let last = t.rows.len().saturating_sub(1);
        for (i, r) in t.rows.iter().enumerate() {
            let total = t.total_row && i == last;
            for (c, v) in r.iter().enumerate() {
                match v {
                    Cell::Text(s) if total => ws.write_string_with_format(row, col(c), s, &cell.clone().set_bold())?,
                    Cell::Text(s) => ws.write_string_with_format(row, col(c), s, &cell)?,
                    Cell::Num(x, d) if total => ws.write_number_with_format(row, col(c), *x, &num(*d).set_bold())?,
                    Cell::Num(x, d) => ws.write_number_with_format(row, col(c), *x, &num(*d))?,
                    Cell::Empty => ws.write_blank(row, col(c), &cell)?,
                };
            }
            row += 1;
        }
        row += 1;
    }
    ws.write_string_with_format(row, 0, "四、尾差处理说明", &bold)?;
    row += 1;
    for note in residual_notes(a) {
        ws.write_string(row, 0, note)?;
        row += 1;
    }
    ws.write_string(row + 1, 0, "测量员：＿＿＿＿　检查员：＿＿＿＿　日期：＿＿＿＿")?;
    ws.set_column_width(0, 12)?;
    for c in 1..8 {
        ws.set_column_width(c, 16)?;
    }
    wb.save_to_buffer()
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}
