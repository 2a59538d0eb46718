//! The admin dashboard: apps contribute panels (a chart of sales, a table
//! of orders waiting to ship); this module lays charts out as SVG on the
//! server, so they read without JavaScript, with their numbers in a table
//! for screen readers.

use std::sync::Arc;

use serde::Serialize;

use crate::config::Config;
use crate::db::DbConn;
use crate::templates::Renderer;

/// What a panel may use beside the connection.
pub struct WidgetEnv {
    pub renderer: Arc<Renderer>,
    pub config: Config,
}

impl WidgetEnv {
    /// A named route's path (see `crate::urls`); empty if it does not exist.
    pub fn url(&self, name: &str, args: &[(&str, &str)]) -> String {
        let lookup = |k: &str| {
            args.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        self.renderer
            .urls()
            .reverse(name, &lookup)
            .unwrap_or_default()
    }

    pub fn money(&self, minor: i64) -> String {
        crate::money::Money::from_minor(minor, self.config.currency).format(self.config.locale)
    }
}

/// A dashboard panel an app offers.
pub trait Widget: Send + Sync + 'static {
    /// The permission (`app.view_model`) a staff member needs to see it.
    fn permission(&self) -> String;
    /// Loads the panel (a fixed number of queries).
    fn load(&self, conn: &mut DbConn, env: &WidgetEnv) -> diesel::QueryResult<Panel>;
}

/// One bar of a chart.
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    /// Under the bar ("1 Dec"); empty for none.
    pub label: String,
    /// In the table and the bar's tooltip ("$1,234.00").
    pub text: String,
    pub value: i64,
    /// Where the bar leads (the orders of that day).
    pub href: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Panel {
    Chart {
        title: String,
        /// One sentence saying what the chart shows (its accessible text).
        summary: String,
        chart: Chart,
    },
    Table {
        title: String,
        columns: Vec<String>,
        /// Cells: (text, link).
        rows: Vec<Vec<(String, Option<String>)>>,
        empty: String,
        more: Option<(String, String)>,
    },
}

/// A bar chart laid out for an SVG of `width` x `height` user units.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    /// Where the plot starts: the grid's values sit left of it.
    pub left: u32,
    pub bars: Vec<PlacedBar>,
    /// Horizontal grid lines with their values.
    pub ticks: Vec<(u32, String)>,
    /// The data, for the table beside the chart.
    pub data: Vec<Bar>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlacedBar {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub label_x: u32,
    pub bar: Bar,
    /// Show this bar's label under the axis (every few, so they fit).
    pub show_label: bool,
}

const CHART_W: u32 = 640;
const CHART_H: u32 = 220;
const LEFT: u32 = 84;
const BOTTOM: u32 = 24;
const TOP: u32 = 8;

/// Lays `bars` out over four grid lines, each a round multiple of
/// `min_step` (1 for counts, 100 for cents); `tick_text` formats a grid
/// line's value.
pub fn bar_chart(bars: Vec<Bar>, min_step: i64, tick_text: &dyn Fn(i64) -> String) -> Chart {
    let plot_h = CHART_H - BOTTOM - TOP;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let step = nice_step(max).max(min_step.max(1));
    let top_value = step * 4;
    let n = bars.len().max(1) as u32;
    let slot = (CHART_W - LEFT) / n;
    let label_every = (bars.len() / 8).max(1);
    let placed = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let h = ((b.value.max(0) as f64 / top_value as f64) * plot_h as f64).round() as u32;
            let x = LEFT + i as u32 * slot;
            PlacedBar {
                x: x + slot / 8,
                y: TOP + plot_h - h,
                w: (slot * 3 / 4).max(1),
                h,
                label_x: x + slot / 2,
                bar: b.clone(),
                show_label: i % label_every == 0,
            }
        })
        .collect();
    let ticks = (0..=4)
        .map(|k| {
            let y = TOP + plot_h - (plot_h as i64 * k / 4) as u32;
            (y, tick_text(step * k))
        })
        .collect();
    Chart {
        width: CHART_W,
        height: CHART_H,
        left: LEFT,
        bars: placed,
        ticks,
        data: bars,
    }
}

/// A round step for four grid lines over `max`: 1, 2, 2.5 or 5 times a
/// power of ten.
fn nice_step(max: i64) -> i64 {
    let rough = (max as f64 / 4.0).max(1.0);
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power);
    step as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(v: i64) -> Bar {
        Bar {
            label: v.to_string(),
            text: v.to_string(),
            value: v,
            href: None,
        }
    }

    #[test]
    fn bars_scale_to_a_round_top_and_stay_inside() {
        let chart = bar_chart(vec![bar(0), bar(37), bar(100)], 1, &|v| v.to_string());
        assert_eq!(
            chart.ticks.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            ["0", "25", "50", "75", "100"]
        );
        let tallest = chart.bars.iter().max_by_key(|b| b.h).unwrap();
        assert_eq!(tallest.bar.value, 100);
        assert_eq!(tallest.y, TOP);
        let few = bar_chart(vec![bar(1)], 1, &|v| v.to_string());
        assert_eq!(
            few.ticks.last().unwrap().1,
            "4",
            "distinct whole grid lines"
        );
        let cents = bar_chart(vec![bar(0)], 100, &|v| v.to_string());
        assert_eq!(cents.ticks[1].1, "100");
        assert_eq!(chart.bars[0].h, 0);
        for b in &chart.bars {
            assert!(b.x + b.w <= CHART_W && b.y + b.h <= CHART_H - BOTTOM);
        }
        assert_eq!(nice_step(7), 2);
        assert_eq!(nice_step(100), 25);
        assert_eq!(nice_step(1234), 500);
    }

    #[test]
    fn an_empty_chart_still_lays_out() {
        let chart = bar_chart(vec![], 1, &|v| v.to_string());
        assert!(chart.bars.is_empty());
        assert_eq!(chart.ticks.len(), 5);
    }
}
