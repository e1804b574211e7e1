//! The summary sheet, first in the workbook: what the workbook covers (job, window, zone,
//! generation time, which meetings count), the headline numbers of the [`Overview`], and notes
//! (tables continued on more sheets, text cells cut). Printed one page wide, so a label and its
//! value are never on different pages.

use super::sheets::Series;
use super::{Ctx, page_header};
use crate::output::overview::{Meta, Overview};
use anyhow::Result;
use rust_xlsxwriter::{Format as CellFormat, Worksheet};

impl Ctx {
    /// The first sheet: what the workbook covers, the headline, and notes.
    pub(super) fn summary(
        &self,
        o: &Overview,
        meta: &Meta,
        tables: &[&Series],
    ) -> Result<Worksheet> {
        let l = self.labels;
        let f = &self.formats;
        let h = &o.headline;
        let mut sheet = Worksheet::new();
        sheet.set_name(l.sheet_summary)?;
        // Printed: labels and values on the same page.
        sheet.set_print_fit_to_pages(1, 0);
        sheet.set_header(page_header(meta));
        sheet.set_column_width(0, 26)?;
        sheet.set_column_width(1, 60)?;
        sheet.write_string_with_format(0, 0, l.report_title, &f.title)?;
        let mut row = 2;
        let mut text = |sheet: &mut Worksheet, label: &str, value: String| -> Result<()> {
            sheet.write_string_with_format(row, 0, label, &f.label)?;
            sheet.write_string(row, 1, value)?;
            row += 1;
            Ok(())
        };
        text(&mut sheet, l.job, meta.job.clone())?;
        text(&mut sheet, l.window, meta.window_text())?;
        text(&mut sheet, l.time_zone, meta.tz.name().to_string())?;
        text(&mut sheet, l.generated_at, meta.generated_text())?;
        text(
            &mut sheet,
            l.counted,
            l.counted_note(
                &o.statuses,
                h.meetings as usize,
                h.meetings_in_window as usize,
            ),
        )?;
        row += 1;
        sheet.write_string_with_format(row, 0, l.headline, &f.title)?;
        row += 1;
        let numbers: [(&str, Option<f64>, &CellFormat); 8] = [
            (l.meetings, Some(h.meetings as f64), &f.integer),
            (
                l.members_invited,
                Some(h.members_invited as f64),
                &f.integer,
            ),
            (
                l.members_attended,
                Some(h.members_attended as f64),
                &f.integer,
            ),
            (l.attendance_rate, h.attendance_rate, &f.percent),
            (l.avg_attended_ratio, h.avg_attended_ratio, &f.percent),
            (
                l.total_attendance_h,
                Some(h.total_attendance_s as f64 / 3600.0),
                &f.hours,
            ),
            (l.late_arrivals, Some(h.late as f64), &f.integer),
            (l.early_leavers, Some(h.left_early as f64), &f.integer),
        ];
        for (label, value, format) in numbers {
            sheet.write_string_with_format(row, 0, label, &f.label)?;
            if let Some(v) = value {
                sheet.write_number_with_format(row, 1, v, format)?;
            }
            row += 1;
        }
        let mut notes: Vec<String> = tables
            .iter()
            .filter(|s| s.sheets.len() > 1)
            .map(|s| l.continued_note(&s.name, &s.sheet_names(), s.rows))
            .collect();
        let cut = self.cells_cut.get();
        if cut > 0 {
            notes.push(l.cut_note(cut));
        }
        if !notes.is_empty() {
            row += 1;
            sheet.write_string_with_format(row, 0, l.notes, &f.title)?;
            row += 1;
            for n in notes {
                sheet.write_string(row, 0, n)?;
                row += 1;
            }
        }
        Ok(sheet)
    }
}
