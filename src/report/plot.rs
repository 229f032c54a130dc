//! Figures for lab reports (`--plot FILE.svg`): labelled axes with units on every tick (ns … s,
//! 4 KiB … 1 GiB on powers of two), series told apart by colour, line style and marker shape,
//! min–max bars where there are samples, vertical markers and shaded bands (cache sizes, ridge
//! points, core counts), points labelled where they lie, and a legend beside the data area
//! whose samples are drawn by the same code as the series. plotters with its SVG backend only
//! (no system fonts needed).

use crate::error::{Error, Result};
use crate::measure::Stats;
use plotters::coord::ranged1d::{DefaultFormatting, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// The data area and its tick labels lie left of this x (pixels); the legend lies right of it.
pub const PLOT_WIDTH: u32 = 760;
const HEIGHT: u32 = 580;
/// Rows of marker labels above the data area.
const MARKER_ROWS: i32 = 2;
const FONT: &str = "sans-serif";

/// How a series is drawn; each style has its own line and its legend sample the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A measurement: a solid line through filled markers.
    Measured,
    /// A model or fit: a long-dashed line in a darker shade, no markers.
    Model,
    /// A bound or an ideal (a roof, perfect scaling): a dotted line, no markers.
    Bound,
    /// Markers only, each labelled beside it (kernels on a roofline).
    Points,
}

/// A marker shape; series without one take the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
    /// A hollow circle: a point that is not what it seems (cache-resident data).
    Ring,
}

const SHAPES: [Shape; 4] = [
    Shape::Circle,
    Shape::Square,
    Shape::Triangle,
    Shape::Diamond,
];

/// What an axis holds: decides its ticks and how they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Plain numbers (0.125, 10, 1000).
    Number,
    /// Whole numbers (threads, ranks, dispatches): ticks only at integers.
    Integer,
    /// Seconds, each tick written in ns, µs, ms or s.
    Seconds,
    /// Bytes, ticks on powers of two written 4 KiB, 1 MiB.
    Bytes,
    /// Element counts, ticks on powers of two written 4Ki, 1Mi.
    Count,
}

/// One axis: its label (what, and the unit where ticks do not carry it), unit and scale.
#[derive(Debug, Clone)]
pub struct Axis {
    pub label: String,
    pub unit: Unit,
    pub log: bool,
}

impl Axis {
    /// A linear axis.
    pub fn linear(label: impl Into<String>, unit: Unit) -> Axis {
        Axis {
            label: label.into(),
            unit,
            log: false,
        }
    }

    /// A logarithmic axis, for data that span decades.
    pub fn log(label: impl Into<String>, unit: Unit) -> Axis {
        Axis {
            log: true,
            ..Axis::linear(label, unit)
        }
    }
}

/// One series of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// (x, y) points in drawing order; a point with a non-positive coordinate on a log axis is
    /// skipped.
    pub points: Vec<(f64, f64)>,
    pub style: Style,
    /// Colour index to share with another series (a model in its measurement's hue); `None`
    /// takes the next colour.
    pub color: Option<usize>,
    /// `None` takes the next shape (markers are drawn for `Measured` and `Points`).
    pub shape: Option<Shape>,
    /// Min–max bars: (x, lowest, highest).
    pub bars: Vec<(f64, f64, f64)>,
    /// `Points` only: a label beside each point, in the order of `points`.
    pub labels: Vec<String>,
}

/// A vertical line with a label (a cache size, a break-even point, a ridge, the core count).
#[derive(Debug, Clone)]
pub struct Marker {
    pub x: f64,
    pub label: String,
}

/// A shaded range of x with a label (where the working set lives).
#[derive(Debug, Clone)]
pub struct Band {
    pub from: f64,
    pub to: f64,
    pub label: String,
}

/// A chart: title, axes, series, markers and bands.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
    pub bands: Vec<Band>,
}

impl Series {
    fn new(name: impl Into<String>, points: Vec<(f64, f64)>, style: Style) -> Series {
        Series {
            name: name.into(),
            points,
            style,
            color: None,
            shape: None,
            bars: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// A measurement: a solid line through its points.
    pub fn measured(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series::new(name, points, Style::Measured)
    }

    /// A model or a fit: dashed.
    pub fn model(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series::new(name, points, Style::Model)
    }

    /// A bound or an ideal: dotted.
    pub fn bound(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series::new(name, points, Style::Bound)
    }

    /// Points with a label each, no line.
    pub fn labelled(name: impl Into<String>, points: Vec<((f64, f64), String)>) -> Series {
        let (points, labels) = points.into_iter().unzip();
        Series {
            labels,
            ..Series::new(name, points, Style::Points)
        }
    }

    /// Drawn in colour `index` of the palette.
    pub fn color(self, index: usize) -> Series {
        Series {
            color: Some(index),
            ..self
        }
    }

    /// Drawn with markers of this shape.
    pub fn shape(self, shape: Shape) -> Series {
        Series {
            shape: Some(shape),
            ..self
        }
    }

    /// Min–max bars, (x, lowest, highest) each.
    pub fn bars(self, bars: Vec<(f64, f64, f64)>) -> Series {
        Series { bars, ..self }
    }
}

/// The min–max bar of a time: (x, fastest sample, slowest sample) divided by `per`.
pub fn time_bar(x: f64, time: &Stats, per: f64) -> (f64, f64, f64) {
    (x, time.min_s / per, time.max_s / per)
}

/// The ideal speed-up on `1..=most` workers of a machine with `cores`: min(workers, cores),
/// drawn as a bound through its kinks; `unit` names the workers (`threads`, `workers`).
pub fn ideal_speedup(unit: &str, cores: usize, most: usize) -> Series {
    let cores = cores.max(1);
    let mut kinks = vec![1, cores.clamp(1, most), most];
    kinks.dedup();
    Series::bound(
        format!("ideal: speed-up = min({unit}, cores)"),
        kinks
            .iter()
            .map(|&w| (w as f64, w.min(cores) as f64))
            .collect(),
    )
}

/// The min–max bar of a rate computed from the median time: the rate at the slowest and at the
/// fastest sample.
pub fn rate_bar(x: f64, rate: f64, time: &Stats) -> (f64, f64, f64) {
    let scaled = |t: f64| {
        if t > 0.0 {
            rate * time.median_s / t
        } else {
            rate
        }
    };
    (x, scaled(time.max_s), scaled(time.min_s))
}

impl Chart {
    /// A chart with these axes and nothing drawn yet.
    pub fn new(title: impl Into<String>, x: Axis, y: Axis) -> Chart {
        Chart {
            title: title.into(),
            x,
            y,
            series: Vec::new(),
            markers: Vec::new(),
            bands: Vec::new(),
        }
    }

    /// The series, in legend order.
    pub fn with_series(self, series: Vec<Series>) -> Chart {
        Chart { series, ..self }
    }

    /// The vertical markers.
    pub fn with_markers(self, markers: Vec<Marker>) -> Chart {
        Chart { markers, ..self }
    }

    /// The shaded bands.
    pub fn with_bands(self, bands: Vec<Band>) -> Chart {
        Chart { bands, ..self }
    }
}

/// Okabe–Ito's colours (told apart with any colour vision) and a brown.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(140, 86, 75),
];
/// Markers and their labels: darker than any series, unlike the light grid.
const MARKER_COLOR: RGBColor = RGBColor(70, 40, 110);
const GRID: RGBColor = RGBColor(225, 225, 225);
const BAND_TINTS: [RGBColor; 2] = [RGBColor(255, 244, 214), RGBColor(226, 238, 250)];

/// A series with its colour and shape resolved.
struct Resolved<'a> {
    series: &'a Series,
    color: RGBColor,
    shape: Shape,
}

impl Resolved<'_> {
    /// Line colour: a model in a darker shade of its measurement's hue.
    fn line_color(&self) -> RGBColor {
        match self.series.style {
            Style::Model => darker(self.color),
            _ => self.color,
        }
    }
}

/// Draws a line of `style` through pixel points: the plot and the legend both use this.
fn draw_line<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    style: Style,
    color: RGBColor,
    points: Vec<(i32, i32)>,
) -> std::result::Result<(), String> {
    let text = |e: &dyn std::fmt::Display| e.to_string();
    match style {
        Style::Measured => area
            .draw(&PathElement::new(points, color.stroke_width(2)))
            .map_err(|e| text(&e)),
        Style::Model => area
            .draw(&DashedPathElement::new(points, 9, 5, color.stroke_width(2)))
            .map_err(|e| text(&e)),
        Style::Bound => area
            .draw(&DashedPathElement::new(points, 2, 4, color.stroke_width(3)))
            .map_err(|e| text(&e)),
        Style::Points => Ok(()),
    }
}

/// Draws one marker centred on a pixel: the plot and the legend both use this.
fn draw_shape<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    shape: Shape,
    color: RGBColor,
    (x, y): (i32, i32),
) -> std::result::Result<(), String> {
    let r = 4;
    let fill = color.filled();
    let result = match shape {
        Shape::Circle => area.draw(&Circle::new((x, y), r, fill)),
        Shape::Ring => area.draw(&Circle::new((x, y), r + 1, color.stroke_width(2))),
        Shape::Square => area.draw(&Rectangle::new([(x - r, y - r), (x + r, y + r)], fill)),
        Shape::Triangle => area.draw(&Polygon::new(
            vec![(x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)],
            fill,
        )),
        Shape::Diamond => area.draw(&Polygon::new(
            vec![
                (x, y - r - 1),
                (x + r + 1, y),
                (x, y + r + 1),
                (x - r - 1, y),
            ],
            fill,
        )),
    };
    result.map_err(|e| e.to_string())
}

/// A text style of the one font family.
fn text_style(
    size: u32,
    color: &'static RGBColor,
    horizontal: HPos,
    vertical: VPos,
) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font())
        .color(color)
        .pos(Pos::new(horizontal, vertical))
}

/// Rough width of a text in pixels (no fonts to measure with).
fn text_width(text: &str, size: f64) -> i32 {
    (text.chars().count() as f64 * size * 0.56).ceil() as i32
}

/// A pixel rectangle: left, top, right, bottom.
type Rect = (i32, i32, i32, i32);

/// The darker shade models are drawn in.
fn darker(RGBColor(r, g, b): RGBColor) -> RGBColor {
    let shade = |c: u8| (c as f64 * 0.72) as u8;
    RGBColor(shade(r), shade(g), shade(b))
}

fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Tick values (labelled) and light grid lines for one axis over `(low, high)`; `powers_of_two`
/// says whether the data sit on powers of two (whole numbers then get binary ticks too).
fn ticks(axis: &Axis, (low, high): (f64, f64), powers_of_two: bool) -> (Vec<f64>, Vec<f64>) {
    let within = |v: &f64| *v >= low * (1.0 - 1e-9) && *v <= high * (1.0 + 1e-9);
    let binary = matches!(axis.unit, Unit::Bytes | Unit::Count)
        || (axis.unit == Unit::Integer && powers_of_two);
    if axis.log && binary {
        let powers: Vec<f64> = (low.log2().ceil() as i32..=high.log2().floor() as i32)
            .map(|k| 2f64.powi(k))
            .collect();
        let step = (1..)
            .find(|step| powers.len().div_ceil(*step) <= 9)
            .unwrap_or(1);
        let bold = powers
            .iter()
            .copied()
            .filter(|p| (p.log2().round() as i64).rem_euclid(step as i64) == 0)
            .collect::<Vec<_>>();
        let bold = if bold.len() >= 2 {
            bold
        } else {
            powers.clone()
        };
        return (bold, powers);
    }
    if axis.log {
        let decades = low.log10().floor() as i32..=high.log10().ceil() as i32;
        let span = high.log10() - low.log10();
        let mantissas: &[f64] = if span <= 0.8 {
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
        } else if span <= 1.5 {
            &[1.0, 2.0, 3.0, 5.0]
        } else if span <= 4.5 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        let every = (1..).find(|n| (span / *n as f64) <= 9.0).unwrap_or(1);
        let bold: Vec<f64> = decades
            .clone()
            .filter(|k| k.rem_euclid(every) == 0)
            .flat_map(|k| mantissas.iter().map(move |m| m * 10f64.powi(k)))
            .filter(within)
            .filter(|v| axis.unit != Unit::Integer || v.fract() == 0.0)
            .collect();
        let light = decades
            .flat_map(|k| (1..10).map(move |m| m as f64 * 10f64.powi(k)))
            .filter(within)
            .collect();
        return (bold, light);
    }
    let raw = (high - low) / 7.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(magnitude * 10.0);
    if axis.unit == Unit::Integer {
        step = step.max(1.0).round();
    }
    let first = (low / step).ceil() as i64;
    let last = (high / step).floor() as i64;
    let bold = (first..=last).map(|k| k as f64 * step).collect();
    (bold, Vec::new())
}

/// Writes a number in at most three significant digits, without trailing zeros.
fn short(value: f64) -> String {
    let digits = if value == 0.0 {
        0
    } else {
        (2 - value.abs().log10().floor() as i32).max(0) as usize
    };
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').into()
    } else {
        text
    }
}

/// A byte count in binary units as the byte axes write it: `48 KiB`, `1.25 MiB`.
pub fn bytes_label(bytes: f64) -> String {
    tick_label(Unit::Bytes, true, bytes)
}

/// A tick label in the axis's unit.
fn tick_label(unit: Unit, plain: bool, value: f64) -> String {
    let scaled = |units: &[(f64, &str)]| {
        let (scale, name) = units
            .iter()
            .rev()
            .find(|(scale, _)| value.abs() >= *scale * (1.0 - 1e-9))
            .unwrap_or(&units[0]);
        format!("{}{name}", short(value / scale))
    };
    match unit {
        Unit::Seconds if value == 0.0 => "0".into(),
        Unit::Seconds => scaled(&[(1e-9, " ns"), (1e-6, " µs"), (1e-3, " ms"), (1.0, " s")]),
        Unit::Bytes => scaled(&[
            (1.0, " B"),
            (1024.0, " KiB"),
            (1048576.0, " MiB"),
            (1073741824.0, " GiB"),
        ]),
        Unit::Count => scaled(&[
            (1.0, ""),
            (1024.0, "Ki"),
            (1048576.0, "Mi"),
            (1073741824.0, "Gi"),
        ]),
        Unit::Integer => format!("{value:.0}"),
        Unit::Number if plain => short(value),
        Unit::Number => format!("{value:.0e}"),
    }
}

impl Chart {
    fn usable(&self, (x, y): (f64, f64)) -> bool {
        x.is_finite() && y.is_finite() && (!self.x.log || x > 0.0) && (!self.y.log || y > 0.0)
    }

    /// The range of the usable values on one axis, padded so that nothing touches the frame.
    fn range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
        let (low, high) = values
            .filter(|v| v.is_finite() && (!log || *v > 0.0))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(v), h.max(v))
            });
        if !low.is_finite() {
            return if log { (1.0, 10.0) } else { (0.0, 1.0) };
        }
        if log {
            let (low, high) = if high / low < 1.01 {
                (low / 2.0, high * 2.0)
            } else {
                (low, high)
            };
            (low / 1.25, high * 1.25)
        } else {
            let span = if high > low {
                high - low
            } else {
                high.abs().max(1.0)
            };
            (
                (low - 0.05 * span).min(if low >= 0.0 { 0.0 } else { low }),
                high + 0.05 * span,
            )
        }
    }

    /// The series with their colours and shapes: each takes the next unless it names one.
    fn resolved(&self) -> Vec<Resolved<'_>> {
        let (mut color, mut shape) = (0, 0);
        self.series
            .iter()
            .map(|series| {
                let index = series.color.unwrap_or_else(|| {
                    color += 1;
                    color - 1
                });
                let marked = matches!(series.style, Style::Measured | Style::Points);
                let resolved_shape = series.shape.unwrap_or_else(|| {
                    if marked {
                        shape += 1;
                    }
                    SHAPES[(shape.max(1) - 1) % SHAPES.len()]
                });
                Resolved {
                    series,
                    color: PALETTE[index % PALETTE.len()],
                    shape: resolved_shape,
                }
            })
            .collect()
    }

    /// Writes the chart as an SVG file (whole, [`crate::files::write`]).
    pub fn write_svg(&self, path: &Path) -> Result<()> {
        crate::files::write(path, self.svg()?.as_bytes())
    }

    /// The chart as SVG text.
    pub fn svg(&self) -> Result<String> {
        let xs = self.series.iter().flat_map(|s| {
            s.points
                .iter()
                .filter(|&&p| self.usable(p))
                .map(|p| p.0)
                .chain(s.bars.iter().map(|b| b.0))
        });
        let ys = self.series.iter().flat_map(|s| {
            s.points
                .iter()
                .filter(|&&p| self.usable(p))
                .map(|p| p.1)
                .chain(s.bars.iter().flat_map(|b| [b.1, b.2]))
        });
        let x = Chart::range(xs, self.x.log);
        let y = Chart::range(ys, self.y.log);
        let on_powers = |value: fn(&(f64, f64)) -> f64| {
            self.series
                .iter()
                .flat_map(|s| &s.points)
                .all(|p| value(p) > 0.0 && value(p).log2().fract() == 0.0)
        };
        let (x_bold, x_light) = ticks(&self.x, x, on_powers(|p| p.0));
        let (y_bold, y_light) = ticks(&self.y, y, on_powers(|p| p.1));
        let coord = |(low, high): (f64, f64), bold: Vec<f64>, light: Vec<f64>, log: bool| {
            let base: RangedCoordf64 = (low..high).into();
            Scale {
                base,
                log,
                bold,
                light,
            }
        };
        let mut svg = String::new();
        self.draw(
            &mut svg,
            coord(x, x_bold, x_light, self.x.log),
            coord(y, y_bold, y_light, self.y.log),
            x,
        )
        .map_err(|e| {
            Error::io(
                format!("drawing the figure '{}'", self.title),
                std::io::Error::other(e),
            )
        })?;
        Ok(svg)
    }

    fn legend_width(&self) -> u32 {
        let longest = self
            .series
            .iter()
            .map(|s| text_width(&s.name, 13.0))
            .max()
            .unwrap_or(0);
        (longest + 80).clamp(160, 440) as u32
    }

    fn draw(
        &self,
        svg: &mut String,
        x_coord: Scale,
        y_coord: Scale,
        x_span: (f64, f64),
    ) -> std::result::Result<(), String> {
        let text = |e: &dyn std::fmt::Display| e.to_string();
        let width = PLOT_WIDTH + self.legend_width();
        // SAFETY of the lifetime: the backend writes into `svg`, which outlives `root`.
        let root = SVGBackend::with_string(svg, (width, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| text(&e))?;
        let body = root.titled(&self.title, (FONT, 19)).map_err(|e| text(&e))?;
        let (left, _) = body.split_horizontally(PLOT_WIDTH);
        let mut chart = ChartBuilder::on(&left)
            .margin(14)
            .margin_top(if self.markers.is_empty() {
                14
            } else {
                16 + 15 * MARKER_ROWS
            })
            .x_label_area_size(50)
            .y_label_area_size(78)
            .build_cartesian_2d(x_coord.clone(), y_coord.clone())
            .map_err(|e| text(&e))?;
        let x_plain = x_coord.bold.iter().all(|v| plain(*v));
        let y_plain = y_coord.bold.iter().all(|v| plain(*v));
        let (x_unit, y_unit) = (self.x.unit, self.y.unit);
        let x_tick = move |v: &f64| tick_label(x_unit, x_plain, *v);
        let y_tick = move |v: &f64| tick_label(y_unit, y_plain, *v);
        chart
            .configure_mesh()
            .x_label_formatter(&x_tick)
            .y_label_formatter(&y_tick)
            .x_desc(&self.x.label)
            .y_desc(&self.y.label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .bold_line_style(GRID.stroke_width(1))
            .light_line_style(RGBColor(242, 242, 242).stroke_width(1))
            .draw()
            .map_err(|e| text(&e))?;
        let (px, py) = chart.plotting_area().get_pixel_range();
        let to_pixel = |p: (f64, f64)| chart.backend_coord(&p);
        let root = &root;
        let (x_low, x_high) = x_span;
        let inside = |v: f64| v >= x_low && v <= x_high;
        let mut taken: Vec<Rect> = Vec::new();
        // Bands under everything, their labels at the bottom of the data area.
        for (index, band) in self.bands.iter().enumerate() {
            let (from, to) = (band.from.max(x_low), band.to.min(x_high));
            if from >= to {
                continue;
            }
            let (left_x, right_x) = (to_pixel((from, 1.0)).0, to_pixel((to, 1.0)).0);
            let tint = BAND_TINTS[index % BAND_TINTS.len()];
            root.draw(&Rectangle::new(
                [(left_x, py.start), (right_x, py.end)],
                tint.mix(0.6).filled(),
            ))
            .map_err(|e| text(&e))?;
            let label_width = text_width(&band.label, 12.0);
            if right_x - left_x >= label_width + 4 {
                let at = ((left_x + right_x) / 2, py.end - 6);
                root.draw(&Text::new(
                    band.label.clone(),
                    at,
                    text_style(12, &MARKER_COLOR, HPos::Center, VPos::Bottom),
                ))
                .map_err(|e| text(&e))?;
                taken.push((
                    at.0 - label_width / 2,
                    at.1 - 14,
                    at.0 + label_width / 2,
                    at.1,
                ));
            }
        }
        // Vertical markers (thin, short dashes), their labels above the data area in up to
        // `MARKER_ROWS` rows, then inside it, each in the first row where it overlaps nothing.
        let mut marker_labels: Vec<Rect> = Vec::new();
        let row_top = |row: i32| {
            if row < MARKER_ROWS {
                py.start - 17 - row * 15
            } else {
                py.start + 4 + (row - MARKER_ROWS) * 16
            }
        };
        for marker in self.markers.iter().filter(|m| inside(m.x)) {
            let x = to_pixel((marker.x, 1.0)).0;
            root.draw(&DashedPathElement::new(
                [(x, py.start), (x, py.end)],
                5,
                3,
                MARKER_COLOR.stroke_width(1),
            ))
            .map_err(|e| text(&e))?;
            let label_width = text_width(&marker.label, 12.0);
            let right = x + 4 + label_width <= px.end;
            let (left_edge, anchor) = if right {
                (x + 4, HPos::Left)
            } else {
                (x - 4 - label_width, HPos::Right)
            };
            let rect = |row: i32| {
                let top = row_top(row);
                (left_edge, top, left_edge + label_width, top + 14)
            };
            let row = (0..)
                .find(|row| !marker_labels.iter().any(|r| overlaps(*r, rect(*row))))
                .unwrap_or(0);
            marker_labels.push(rect(row));
            root.draw(&Text::new(
                marker.label.clone(),
                (if right { x + 4 } else { x - 4 }, row_top(row)),
                text_style(12, &MARKER_COLOR, anchor, VPos::Top),
            ))
            .map_err(|e| text(&e))?;
        }
        taken.extend(marker_labels);
        let resolved = self.resolved();
        for r in &resolved {
            let points: Vec<(i32, i32)> = r
                .series
                .points
                .iter()
                .copied()
                .filter(|&p| self.usable(p))
                .map(to_pixel)
                .collect();
            for &(x, low, high) in &r.series.bars {
                if !self.usable((x, low)) || !self.usable((x, high)) {
                    continue;
                }
                let ((bx, top), (_, bottom)) = (to_pixel((x, high)), to_pixel((x, low)));
                let style = r.color.stroke_width(1);
                for segment in [
                    vec![(bx, top), (bx, bottom)],
                    vec![(bx - 3, top), (bx + 3, top)],
                    vec![(bx - 3, bottom), (bx + 3, bottom)],
                ] {
                    root.draw(&PathElement::new(segment, style))
                        .map_err(|e| text(&e))?;
                }
            }
            draw_line(root, r.series.style, r.line_color(), points.clone())?;
            if matches!(r.series.style, Style::Measured | Style::Points) {
                for &p in &points {
                    draw_shape(root, r.shape, r.color, p)?;
                    taken.push((p.0 - 5, p.1 - 5, p.0 + 5, p.1 + 5));
                }
            }
        }
        // Labels beside their points, each where it overlaps nothing placed before.
        for r in resolved.iter().filter(|r| r.series.style == Style::Points) {
            for (&point, label) in r.series.points.iter().zip(&r.series.labels) {
                if !self.usable(point) || label.is_empty() {
                    continue;
                }
                let (x, y) = to_pixel(point);
                let w = text_width(label, 12.0);
                let place = |dx: i32, dy: i32, anchor: HPos| {
                    let left_edge = match anchor {
                        HPos::Left => x + dx,
                        HPos::Right => x + dx - w,
                        HPos::Center => x + dx - w / 2,
                    };
                    (
                        (left_edge, y + dy - 7, left_edge + w, y + dy + 7),
                        dx,
                        dy,
                        anchor,
                    )
                };
                let candidates = (1..=6).flat_map(|d| {
                    [
                        place(7 * d, 0, HPos::Left),
                        place(-7 * d, 0, HPos::Right),
                        place(0, -12 * d, HPos::Center),
                        place(0, 12 * d, HPos::Center),
                        place(6 * d, -11 * d, HPos::Left),
                        place(6 * d, 11 * d, HPos::Left),
                        place(-6 * d, 11 * d, HPos::Right),
                        place(-6 * d, -11 * d, HPos::Right),
                        // Stacked beside the point, for points that sit on top of each other.
                        place(7, -12 * d, HPos::Left),
                        place(7, 12 * d, HPos::Left),
                    ]
                });
                // The first place inside the data area that overlaps nothing; in a crowd, the
                // one that overlaps least.
                let cost = |rect: Rect| {
                    let outside = rect.0 < px.start
                        || rect.2 > px.end
                        || rect.1 < py.start
                        || rect.3 > py.end;
                    1000 * outside as usize + taken.iter().filter(|t| overlaps(**t, rect)).count()
                };
                let (rect, dx, dy, anchor) = candidates
                    .clone()
                    .find(|c| cost(c.0) == 0)
                    .or_else(|| candidates.min_by_key(|c| cost(c.0)))
                    .unwrap_or_else(|| place(7, 0, HPos::Left));
                if dx.abs() > 7 || dy.abs() > 12 {
                    root.draw(&PathElement::new(
                        vec![(x, y), (x + dx * 2 / 3, y + dy * 2 / 3)],
                        r.color.mix(0.6).stroke_width(1),
                    ))
                    .map_err(|e| text(&e))?;
                }
                taken.push(rect);
                root.draw(&Text::new(
                    label.clone(),
                    (x + dx, y + dy),
                    text_style(12, &RGBColor(30, 30, 30), anchor, VPos::Center),
                ))
                .map_err(|e| text(&e))?;
            }
        }
        // The legend beside the data area: each sample drawn as its series.
        let left_edge = PLOT_WIDTH as i32 + 4;
        let top = py.start;
        let row = 22;
        let height = resolved.len() as i32 * row + 10;
        root.draw(&Rectangle::new(
            [(left_edge, top), (width as i32 - 8, top + height)],
            BLACK.mix(0.6).stroke_width(1),
        ))
        .map_err(|e| text(&e))?;
        for (index, r) in resolved.iter().enumerate() {
            let y = top + 5 + row / 2 + index as i32 * row;
            let (from, to) = (left_edge + 8, left_edge + 48);
            draw_line(
                root,
                r.series.style,
                r.line_color(),
                vec![(from, y), (to, y)],
            )?;
            if matches!(r.series.style, Style::Measured | Style::Points) {
                draw_shape(root, r.shape, r.color, ((from + to) / 2, y))?;
            }
            root.draw(&Text::new(
                r.series.name.clone(),
                (to + 8, y),
                text_style(13, &BLACK, HPos::Left, VPos::Center),
            ))
            .map_err(|e| text(&e))?;
        }
        root.present().map_err(|e| text(&e))
    }
}

/// Whether a tick value reads well as a plain number (else the whole axis is written 1e6).
fn plain(value: f64) -> bool {
    value == 0.0 || (1e-3..1e6).contains(&value.abs())
}

/// A coordinate with our own ticks: linear or logarithmic over a `RangedCoordf64`.
#[derive(Clone)]
struct Scale {
    base: RangedCoordf64,
    log: bool,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for Scale {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        if !self.log {
            return self.base.map(value, limit);
        }
        let range = self.base.range();
        let (low, high) = (range.start.ln(), range.end.ln());
        let fraction = (value.ln() - low) / (high - low);
        limit.0 + (fraction * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.base.range()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element `<tag …/>` of the SVG with its attributes.
    fn elements<'a>(svg: &'a str, tag: &str) -> Vec<&'a str> {
        svg.split(&format!("<{tag} "))
            .skip(1)
            .map(|e| e.split('>').next().unwrap())
            .collect()
    }

    fn attribute(element: &str, name: &str) -> Option<f64> {
        let element = format!(" {element}");
        let (_, rest) = element.split_once(&format!(" {name}=\""))?;
        rest.split('"').next()?.parse().ok()
    }

    fn texts(svg: &str) -> Vec<(f64, String)> {
        svg.split("<text ")
            .skip(1)
            .map(|e| {
                let (attributes, rest) = e.split_once('>').unwrap();
                let x = attribute(attributes, "x").unwrap();
                (x, rest.split("</text>").next().unwrap().trim().to_string())
            })
            .collect()
    }

    fn sample() -> Chart {
        Chart::new(
            "time vs size",
            Axis::log("size", Unit::Bytes),
            Axis::log("time", Unit::Seconds),
        )
        .with_series(vec![
            Series::measured("scalar", vec![(4096.0, 2e-6), (4194304.0, 3e-3)])
                .bars(vec![(4096.0, 1e-6, 3e-6)]),
            Series::model(
                "gpu (compute only)",
                vec![(4096.0, 1e-4), (4194304.0, 2e-4), (0.0, 1.0)],
            )
            .color(0),
        ])
        .with_markers(vec![Marker {
            x: 32768.0,
            label: "L2".into(),
        }])
    }

    #[test]
    fn writes_svg_with_the_labels_and_units_on_the_ticks() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("chart.svg");
        sample().write_svg(&path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        let texts: Vec<String> = texts(&svg).into_iter().map(|t| t.1).collect();
        for text in [
            "time vs size",
            "size",
            "time",
            "scalar",
            "gpu (compute only)",
            "L2",
        ] {
            assert!(texts.iter().any(|t| t == text), "missing {text}: {texts:?}");
        }
        for tick in ["4 KiB", "64 KiB", "1 MiB", "1 ms", "10 µs"] {
            assert!(texts.iter().any(|t| t == tick), "no tick {tick}: {texts:?}");
        }
        assert!(!texts.iter().any(|t| t.contains("e-")), "{texts:?}");
    }

    #[test]
    fn the_legend_lies_beside_the_data_and_draws_each_series_as_plotted() {
        let svg = sample().svg().unwrap();
        for (x, text) in texts(&svg) {
            if text == "scalar" || text == "gpu (compute only)" {
                assert!(x > PLOT_WIDTH as f64, "{text} at x = {x}");
            }
        }
        // The two measured points inside the data area, their legend sample beside it.
        let (data, legend): (Vec<f64>, Vec<f64>) = elements(&svg, "circle")
            .into_iter()
            .map(|c| attribute(c, "cx").unwrap())
            .partition(|x| *x < PLOT_WIDTH as f64);
        assert_eq!((data.len(), legend.len()), (2, 1));
        // The dashed model: several dashes in the legend, as in the plot; the measurement one
        // line and one marker.
        let in_legend = |tag: &str, color: &str| {
            elements(&svg, tag)
                .into_iter()
                .filter(|e| e.contains(&format!("stroke=\"{color}\"")))
                .filter(|e| {
                    let points = e
                        .split("points=\"")
                        .nth(1)
                        .unwrap_or("")
                        .split('"')
                        .next()
                        .unwrap();
                    points.split_whitespace().all(|p| {
                        p.split(',').next().unwrap().parse::<f64>().unwrap() > PLOT_WIDTH as f64
                    }) && !points.trim().is_empty()
                })
                .count()
        };
        let hex = |RGBColor(r, g, b): RGBColor| format!("#{r:02X}{g:02X}{b:02X}");
        assert!(
            in_legend("polyline", &hex(darker(PALETTE[0]))) >= 3,
            "dashed legend sample"
        );
        assert_eq!(
            in_legend("polyline", &hex(PALETTE[0])),
            1,
            "solid legend sample"
        );
        let legend_markers = elements(&svg, "circle")
            .into_iter()
            .chain(elements(&svg, "rect"))
            .filter(|e| {
                attribute(e, "cx").or(attribute(e, "x")).unwrap() > PLOT_WIDTH as f64 + 10.0
            })
            .count();
        assert_eq!(legend_markers, 1, "one marker: the measurement's");
    }

    #[test]
    fn ticks_sit_on_powers_of_two_and_whole_numbers() {
        let bytes = Axis::log("b", Unit::Bytes);
        let (bold, _) = ticks(&bytes, (1000.0, 5e6), false);
        assert!(bold.iter().all(|v| v.log2().fract() == 0.0), "{bold:?}");
        assert!(bold.len() >= 4 && bold.len() <= 9, "{bold:?}");
        let threads = Axis::linear("t", Unit::Integer);
        let (bold, _) = ticks(&threads, (0.0, 4.2), false);
        assert_eq!(bold, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(tick_label(Unit::Seconds, true, 4e-5), "40 µs");
        assert_eq!(tick_label(Unit::Seconds, true, 2.5e-3), "2.5 ms");
        assert_eq!(tick_label(Unit::Bytes, true, 1048576.0), "1 MiB");
        assert_eq!(tick_label(Unit::Count, true, 4096.0), "4Ki");
        let gbs = Axis::log("GB/s", Unit::Number);
        let (bold, _) = ticks(&gbs, (0.8, 30.0), false);
        assert!(bold.len() >= 4, "more than 1 and 10: {bold:?}");
    }
}
