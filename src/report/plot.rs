//! Figures for lab reports (`--plot FILE.svg`): line charts with labelled axes and units, a
//! legend, log scales where the data span decades. plotters with its SVG backend only (no
//! system fonts needed).

use crate::error::{Error, Result};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use std::path::Path;

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// (x, y) points in drawing order; points with a non-positive coordinate on a log axis are
    /// skipped.
    pub points: Vec<(f64, f64)>,
    /// Dashed (a model or an ideal) instead of solid (a measurement).
    pub dashed: bool,
    /// Colour index to share with another series (a model drawn in its measurement's colour);
    /// `None` takes the next colour.
    pub color: Option<usize>,
}

/// A vertical marker line with a label (a cache size, a break-even point).
#[derive(Debug, Clone)]
pub struct Marker {
    pub x: f64,
    pub label: String,
}

/// A chart: axes, series, markers.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    /// Write x tick labels as byte sizes (4 kB, 1 MB) instead of plain numbers.
    pub x_bytes: bool,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
}

impl Series {
    /// A measurement: a solid line with its points marked, in the next colour.
    pub fn solid(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
            dashed: false,
            color: None,
        }
    }

    /// A model, an ideal or a second view of a measurement: a dashed line, in the next colour.
    pub fn dashed(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            dashed: true,
            ..Series::solid(name, points)
        }
    }

    /// Drawn in colour `index` of the palette, e.g. a model in its measurement's colour.
    pub fn color(self, index: usize) -> Series {
        Series {
            color: Some(index),
            ..self
        }
    }
}

impl Chart {
    /// A chart with linear axes and nothing drawn yet.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Chart {
        Chart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            log_x: false,
            log_y: false,
            x_bytes: false,
            series: Vec::new(),
            markers: Vec::new(),
        }
    }

    /// Both axes logarithmic, for data that span decades.
    pub fn log_log(self) -> Chart {
        Chart {
            log_x: true,
            log_y: true,
            ..self
        }
    }

    /// x ticks written as byte sizes.
    pub fn bytes_on_x(self) -> Chart {
        Chart {
            x_bytes: true,
            ..self
        }
    }

    /// The lines to draw, in legend order.
    pub fn with_series(self, series: Vec<Series>) -> Chart {
        Chart { series, ..self }
    }

    /// The vertical markers to draw.
    pub fn with_markers(self, markers: Vec<Marker>) -> Chart {
        Chart { markers, ..self }
    }
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

impl Chart {
    fn usable(&self, (x, y): (f64, f64)) -> bool {
        x.is_finite() && y.is_finite() && (!self.log_x || x > 0.0) && (!self.log_y || y > 0.0)
    }

    /// The range of the usable values on one axis, padded so that lines do not touch the frame.
    fn range(&self, values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
        let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
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
            (low / 1.3, high * 1.3)
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

    /// Writes the chart as an SVG file (whole, [`crate::files::write`]).
    pub fn write_svg(&self, path: &Path) -> Result<()> {
        crate::files::write(path, self.svg()?.as_bytes())
    }

    /// The chart as SVG text.
    pub fn svg(&self) -> Result<String> {
        let points = || {
            self.series
                .iter()
                .flat_map(|s| s.points.iter().copied())
                .filter(|&p| self.usable(p))
        };
        let x = self.range(points().map(|p| p.0), self.log_x);
        let y = self.range(points().map(|p| p.1), self.log_y);
        let mut svg = String::new();
        let result = match (self.log_x, self.log_y) {
            (true, true) => self.draw(
                &mut svg,
                (x.0..x.1).log_scale(),
                (y.0..y.1).log_scale(),
                x,
                y,
            ),
            (true, false) => self.draw(&mut svg, (x.0..x.1).log_scale(), y.0..y.1, x, y),
            (false, true) => self.draw(&mut svg, x.0..x.1, (y.0..y.1).log_scale(), x, y),
            (false, false) => self.draw(&mut svg, x.0..x.1, y.0..y.1, x, y),
        };
        result.map_err(|e| {
            Error::io(
                format!("drawing the figure '{}'", self.title),
                std::io::Error::other(e),
            )
        })?;
        Ok(svg)
    }

    fn draw<X, Y>(
        &self,
        svg: &mut String,
        x_range: X,
        y_range: Y,
        x_span: (f64, f64),
        y_span: (f64, f64),
    ) -> std::result::Result<(), String>
    where
        X: AsRangedCoord<Value = f64>,
        Y: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let text = |e: &dyn std::fmt::Display| e.to_string();
        let root = SVGBackend::with_string(svg, (900, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| text(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x_range, y_range)
            .map_err(|e| text(&e))?;
        let x_bytes = self.x_bytes;
        let tick = move |value: &f64| {
            if x_bytes {
                crate::size::format_bytes(value.round().max(0.0) as u64)
            } else if value.abs() >= 1e4 || (value.abs() < 1e-2 && *value != 0.0) {
                format!("{value:.0e}")
            } else {
                format!("{value}")
            }
        };
        let y_tick = |value: &f64| {
            if value.abs() >= 1e4 || (value.abs() < 1e-2 && *value != 0.0) {
                format!("{value:.0e}")
            } else {
                format!("{value}")
            }
        };
        chart
            .configure_mesh()
            .x_label_formatter(&tick)
            .y_label_formatter(&y_tick)
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(|e| text(&e))?;
        // Markers outside the data (an L3 far beyond the largest size) would only stretch the axis.
        for marker in self
            .markers
            .iter()
            .filter(|m| m.x >= x_span.0 && m.x <= x_span.1)
        {
            let grey = RGBColor(150, 150, 150);
            chart
                .draw_series(LineSeries::new(
                    [(marker.x, y_span.0), (marker.x, y_span.1)],
                    grey.stroke_width(1),
                ))
                .map_err(|e| text(&e))?;
            chart
                .draw_series([Text::new(
                    marker.label.clone(),
                    (marker.x, y_span.1),
                    ("sans-serif", 12).into_font().color(&grey),
                )])
                .map_err(|e| text(&e))?;
        }
        let mut next_color = 0;
        for series in &self.series {
            let index = series.color.unwrap_or_else(|| {
                next_color += 1;
                next_color - 1
            });
            let color = PALETTE[index % PALETTE.len()];
            let points: Vec<(f64, f64)> = series
                .points
                .iter()
                .copied()
                .filter(|&p| self.usable(p))
                .collect();
            let style = color.stroke_width(2);
            let drawn = if series.dashed {
                chart.draw_series(DashedLineSeries::new(points.clone(), 8, 6, style))
            } else {
                chart.draw_series(LineSeries::new(points.clone(), style))
            }
            .map_err(|e| text(&e))?;
            drawn.label(series.name.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
            if !series.dashed {
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(|e| text(&e))?;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| text(&e))?;
        root.present().map_err(|e| text(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_svg_with_one_path_per_series_and_the_labels() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("chart.svg");
        let chart = Chart::new("time vs size", "elements", "seconds")
            .log_log()
            .with_series(vec![
                Series::solid("scalar", vec![(1e3, 1e-6), (1e6, 1e-3)]),
                Series::dashed(
                    "gpu (compute only)",
                    vec![(1e3, 1e-4), (1e6, 2e-4), (0.0, 1.0)],
                )
                .color(0),
            ])
            .with_markers(vec![Marker {
                x: 3e4,
                label: "L2".into(),
            }]);
        chart.write_svg(&path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        for text in [
            "time vs size",
            "elements",
            "seconds",
            "scalar",
            "gpu (compute only)",
            "L2",
        ] {
            assert!(svg.contains(text), "missing {text}");
        }
    }
}
