//! Charts as SVG drawn on our side, for the web pages and the CLI's chart files: readable
//! at a glance, labelled for screen readers, never colour alone (bands carry their names),
//! and always with their numbers in a table. Pure: no IO, no HTTP.

use maud::{Markup, html};

/// One point: a label (the x axis) and a value (none: no data).
#[derive(Debug, Clone)]
pub struct Point {
    /// X label.
    pub label: String,
    /// Y value.
    pub value: Option<f64>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 36.0;
const BOTTOM: f64 = 22.0;

fn x_of(index: usize, count: usize) -> f64 {
    let span = WIDTH - LEFT - 8.0;
    LEFT + if count <= 1 {
        span / 2.0
    } else {
        span * index as f64 / (count - 1) as f64
    }
}

fn y_of(value: f64, max: f64) -> f64 {
    let span = HEIGHT - BOTTOM - 8.0;
    8.0 + span * (1.0 - (value / max).clamp(0.0, 1.0))
}

/// A 0-100 score over time, with red / yellow / green bands named on the chart.
pub fn score_line(
    id: &str,
    title: &str,
    points: &[Point],
    band_names: [&str; 3],
    column: [&str; 2],
) -> Markup {
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            p.value
                .map(|v| format!("{:.1},{:.1}", x_of(i, points.len()), y_of(v, 100.0)))
        })
        .collect();
    let bands = [
        (0.0, 40.0, "#fde8e8", band_names[0]),
        (40.0, 70.0, "#fdf6e0", band_names[1]),
        (70.0, 100.0, "#e6f4ea", band_names[2]),
    ];
    html! {
        figure.chart {
            svg id=(id) role="img" aria-labelledby=(format!("{id}-title")) viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) width="100%" {
                title id=(format!("{id}-title")) { (title) }
                @for (low, high, fill, name) in bands {
                    rect x=(LEFT) y=(y_of(high, 100.0)) width=(WIDTH - LEFT - 8.0) height=(y_of(low, 100.0) - y_of(high, 100.0)) fill=(fill) {}
                    text x=(WIDTH - 12.0) y=(y_of(high, 100.0) + 12.0) text-anchor="end" font-size="10" fill="#444" { (name) }
                }
                @for tick in [0.0, 40.0, 70.0, 100.0] {
                    text x=(LEFT - 4.0) y=(y_of(tick, 100.0) + 3.0) text-anchor="end" font-size="10" fill="#444" { (tick) }
                }
                @if !path.is_empty() {
                    polyline points=(path.join(" ")) fill="none" stroke="#1f5fbf" stroke-width="2" {}
                    @for (i, p) in points.iter().enumerate() {
                        @if let Some(v) = p.value {
                            circle cx=(format!("{:.1}", x_of(i, points.len()))) cy=(format!("{:.1}", y_of(v, 100.0))) r="2.5" fill="#1f5fbf" {}
                        }
                    }
                }
                @if let (Some(first), Some(last)) = (points.first(), points.last()) {
                    text x=(LEFT) y=(HEIGHT - 6.0) font-size="10" fill="#444" { (first.label) }
                    text x=(WIDTH - 8.0) y=(HEIGHT - 6.0) text-anchor="end" font-size="10" fill="#444" { (last.label) }
                }
            }
            (data_table(points, column))
        }
    }
}

/// Counts over time as bars.
pub fn bars(id: &str, title: &str, points: &[Point], column: [&str; 2]) -> Markup {
    html! {
        figure.chart {
            (bars_svg(id, title, points))
            (data_table(points, column))
        }
    }
}

/// The bar chart as a standalone SVG file (for `--svg` on the CLI).
pub fn bars_file(title: &str, points: &[Point]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n",
        bars_svg("chart", title, points).into_string()
    )
}

fn bars_svg(id: &str, title: &str, points: &[Point]) -> Markup {
    let max = points
        .iter()
        .filter_map(|p| p.value)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let slot = (WIDTH - LEFT - 8.0) / points.len().max(1) as f64;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" id=(id) role="img" aria-labelledby=(format!("{id}-title")) viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) width="100%" {
            title id=(format!("{id}-title")) { (title) }
            text x=(LEFT - 4.0) y=(y_of(max, max) + 3.0) text-anchor="end" font-size="10" fill="#444" { (format!("{max:.0}")) }
            text x=(LEFT - 4.0) y=(y_of(0.0, max) + 3.0) text-anchor="end" font-size="10" fill="#444" { "0" }
            @for (i, p) in points.iter().enumerate() {
                @if let Some(v) = p.value {
                    rect x=(format!("{:.1}", LEFT + slot * i as f64 + 1.0)) y=(format!("{:.1}", y_of(v, max))) width=(format!("{:.1}", (slot - 2.0).max(1.0))) height=(format!("{:.1}", y_of(0.0, max) - y_of(v, max))) fill="#5b8bd6" {}
                }
                @if points.len() <= 12 {
                    text x=(format!("{:.1}", LEFT + slot * (i as f64 + 0.5))) y=(HEIGHT - 6.0) text-anchor="middle" font-size="10" fill="#444" { (p.label) }
                }
            }
            @if let (true, Some(first), Some(last)) = (points.len() > 12, points.first(), points.last()) {
                text x=(LEFT) y=(HEIGHT - 6.0) font-size="10" fill="#444" { (first.label) }
                text x=(WIDTH - 8.0) y=(HEIGHT - 6.0) text-anchor="end" font-size="10" fill="#444" { (last.label) }
            }
        }
    }
}

fn data_table(points: &[Point], column: [&str; 2]) -> Markup {
    html! {
        details {
            summary { (column[0]) " / " (column[1]) }
            table.data {
                thead { tr { th scope="col" { (column[0]) } th.num scope="col" { (column[1]) } } }
                tbody {
                    @for p in points {
                        tr { td { (p.label) } td.num { @if let Some(v) = p.value { (format!("{v:.0}")) } @else { "—" } } }
                    }
                }
            }
        }
    }
}

/// A small trend line for a table cell (decorative: the score beside it carries the value).
pub fn sparkline(values: &[Option<f64>]) -> Markup {
    let known: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let (width, height) = (80.0, 20.0);
    let x = |i: usize| {
        if values.len() <= 1 {
            width / 2.0
        } else {
            width * i as f64 / (values.len() - 1) as f64
        }
    };
    let y = |v: f64| 2.0 + (height - 4.0) * (1.0 - (v / 100.0).clamp(0.0, 1.0));
    let points: Vec<String> = known
        .iter()
        .map(|(i, v)| format!("{:.1},{:.1}", x(*i), y(*v)))
        .collect();
    html! {
        svg.spark width="80" height="20" viewBox="0 0 80 20" aria-hidden="true" focusable="false" {
            @if points.len() > 1 { polyline points=(points.join(" ")) fill="none" stroke="#1f5fbf" stroke-width="1.5" {} }
        }
    }
}

/// One named series of a line chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its name (legend and table column).
    pub name: String,
    /// One value per label.
    pub values: Vec<Option<f64>>,
    /// Dashed (so series differ by more than colour).
    pub dashed: bool,
}

/// Several series over the same labels, on a 0..`max` scale, with a legend and a table.
pub fn lines(
    id: &str,
    title: &str,
    labels: &[String],
    series: &[Series],
    max: f64,
    first_column: &str,
) -> Markup {
    let colours = ["#1f5fbf", "#b35900", "#2b7a3d"];
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .fold(max, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    html! {
        figure.chart {
            svg id=(id) role="img" aria-labelledby=(format!("{id}-title")) viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) width="100%" {
                title id=(format!("{id}-title")) { (title) }
                @for tick in [0.0, max / 2.0, max] {
                    line x1=(LEFT) x2=(WIDTH - 8.0) y1=(y_of(tick, max)) y2=(y_of(tick, max)) stroke="#e3e6ec" {}
                    text x=(LEFT - 4.0) y=(y_of(tick, max) + 3.0) text-anchor="end" font-size="10" fill="#444" { (format!("{tick:.0}")) }
                }
                @for (index, s) in series.iter().enumerate() {
                    @let points: Vec<String> = s.values.iter().enumerate().filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x_of(i, labels.len()), y_of(v, max)))).collect();
                    @if points.len() > 1 {
                        polyline points=(points.join(" ")) fill="none" stroke=(colours[index % colours.len()]) stroke-width="2" stroke-dasharray=(if s.dashed { "6 4" } else { "none" }) {}
                    }
                    text x=(WIDTH / 2.0 - 60.0 + 110.0 * index as f64) y=(HEIGHT - 6.0) font-size="11" fill=(colours[index % colours.len()]) { (if s.dashed { "- - " } else { "—— " }) (s.name) }
                }
                @if let (Some(first), Some(last)) = (labels.first(), labels.last()) {
                    text x=(LEFT) y=(HEIGHT - 6.0) font-size="10" fill="#444" { (first) }
                    text x=(WIDTH - 8.0) y=(HEIGHT - 6.0) text-anchor="end" font-size="10" fill="#444" { (last) }
                }
            }
            details {
                summary { (first_column) @for s in series { " / " (s.name) } }
                table.data {
                    thead { tr { th scope="col" { (first_column) } @for s in series { th.num scope="col" { (s.name) } } } }
                    tbody { @for (i, label) in labels.iter().enumerate() { tr {
                        td { (label) }
                        @for s in series { td.num { @if let Some(v) = s.values.get(i).copied().flatten() { (format!("{v:.1}")) } @else { "—" } } }
                    } } }
                }
            }
        }
    }
}
