//! The report's charts as inline SVG (plotters' SVG backend): the attendance rate over the
//! window and the distribution of the attended ratio. Both are aggregated before they are
//! drawn — a point per day (per week beyond [`MAX_DAILY_POINTS`] days) and ten bins — so a
//! chart has the same size for one meeting and for five thousand.
//!
//! Text is drawn by the browser: plotters writes `<text>` elements, and the page's CSS gives
//! them its CJK font stack.
//!
//! [`MAX_DAILY_POINTS`]: crate::output::overview::MAX_DAILY_POINTS

use crate::output::overview::{Point, RATIO_BINS};
use anyhow::Result;
use plotters::prelude::*;

const WIDTH: u32 = 560;
const HEIGHT: u32 = 300;
/// Label size in SVG units: the chart is scaled to its card, about 500 px wide.
const FONT_SIZE: u32 = 15;
const ACCENT: RGBColor = RGBColor(37, 99, 235);
const GRID: RGBColor = RGBColor(226, 232, 240);
const INK: RGBColor = RGBColor(71, 85, 105);
/// At most this many date labels under the rate line.
const MAX_X_LABELS: usize = 10;
const FONT: &str = "sans-serif";

/// The attendance rate, one point per day or week, labelled `MM-DD`.
pub fn rate_line(points: &[Point]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = points.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(14)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..1.0)?;
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            points
                .get(i as usize)
                .map(|p| p.start.format("%m-%d").to_string())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(INK)
            .x_labels(n.min(MAX_X_LABELS))
            .x_label_formatter(&label)
            .y_labels(6)
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .label_style((FONT, FONT_SIZE).into_font().color(&INK))
            .draw()?;
        let xy: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.rate().map(|r| (i as f64, r)))
            .collect();
        chart.draw_series(LineSeries::new(xy.iter().copied(), ACCENT.stroke_width(2)))?;
        chart.draw_series(
            xy.iter()
                .map(|&(x, y)| Circle::new((x, y), 3, ACCENT.filled())),
        )?;
        root.present()?;
    }
    Ok(svg)
}

/// Attended member rows per tenth of attended ratio (0–10 %, …, 90–100 %).
pub fn ratio_histogram(bins: &[u64; RATIO_BINS], x_desc: &str, y_desc: &str) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let top = bins.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .margin(14)
            .x_label_area_size(52)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..RATIO_BINS as f64, 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(INK)
            .x_labels(RATIO_BINS + 1)
            .x_label_formatter(&|x| format!("{:.0}%", x * 100.0 / RATIO_BINS as f64))
            .y_labels(5)
            .y_label_formatter(&|v| {
                if v.fract() == 0.0 {
                    format!("{v:.0}")
                } else {
                    String::new()
                }
            })
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style((FONT, FONT_SIZE).into_font().color(&INK))
            .axis_desc_style((FONT, FONT_SIZE).into_font().color(&INK))
            .draw()?;
        chart.draw_series(bins.iter().enumerate().map(|(i, &n)| {
            let x = i as f64;
            Rectangle::new([(x + 0.08, 0.0), (x + 0.92, n as f64)], ACCENT.filled())
        }))?;
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn one_point_and_empty_charts_draw_without_error() {
        let p = Point {
            start: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
            invited: 4,
            attended: 3,
        };
        let svg = rate_line(&[p]).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("11-16"), "{svg}");
        assert!(svg.contains("<circle"), "the one point is drawn");
        rate_line(&[]).unwrap();
        let svg = ratio_histogram(&[0; RATIO_BINS], "ratio", "rows").unwrap();
        assert!(svg.contains("100%"));
    }

    #[test]
    fn the_histogram_has_a_bar_per_bin() {
        let mut bins = [0; RATIO_BINS];
        bins[9] = 40;
        bins[4] = 3;
        let svg = ratio_histogram(&bins, "ratio", "rows").unwrap();
        // A white background plus ten bars (empty bins are zero-height bars).
        assert_eq!(svg.matches("<rect").count(), 1 + RATIO_BINS, "{svg}");
    }
}
