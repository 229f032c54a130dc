//! Everything that presents results: the document a measuring command produces, the terminal
//! table, the exporters (JSON, CSV, Markdown; one file each behind [`Exporter`]) and the progress
//! bar. Nothing else prints results.

pub mod csv;
pub mod format;
pub mod heading;
pub mod html;
pub mod image;
pub mod json;
pub mod markdown;
pub mod plot;
pub mod progress;
pub mod table;

use crate::error::{Error, Result};
use std::path::Path;
use table::Rows;

/// What every measuring command produces: the pieces each output format is built from.
pub trait Document {
    /// Lines above the tables: what ran, where.
    fn heading(&self) -> Vec<String>;
    /// The tables people read (usually one).
    fn tables(&self) -> Vec<Rows>;
    /// Lines under the tables: one-time costs, fits, verdicts, what the abbreviations mean.
    fn footer(&self) -> Vec<String>;
    /// One flat row per record or point, for spreadsheets: [`csv::write`] of a row struct.
    fn csv(&self) -> Result<String>;
    /// The whole document as JSON (every sample, every statistic).
    fn json(&self) -> Result<serde_json::Value>;
    /// True when every result in it was verified.
    fn verified(&self) -> bool;
    /// What a reader must know before trusting the figures; printed under the table, and in
    /// the JSON as `"warnings"`.
    fn warnings(&self) -> &[String] {
        &[]
    }
    /// The figure a student would put in a lab report, for experiments that have one.
    fn chart(&self) -> Option<plot::Chart> {
        None
    }
    /// Every figure, each with the suffix of its file name: the first, [`Document::chart`],
    /// has none (`--plot FILE.svg`); a second one, e.g. `-bandwidth`, goes to
    /// `FILE-bandwidth.svg`.
    fn charts(&self) -> Vec<(&'static str, plot::Chart)> {
        self.chart().map(|chart| ("", chart)).into_iter().collect()
    }
}

/// The file of the figure with `suffix` beside `plot`: `FILE.svg` → `FILE-bandwidth.svg`.
pub fn figure_path(plot: &Path, suffix: &str) -> std::path::PathBuf {
    if suffix.is_empty() {
        return plot.to_path_buf();
    }
    let stem = plot.file_stem().unwrap_or_default().to_string_lossy();
    let extension = plot
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    plot.with_file_name(format!("{stem}{suffix}{extension}"))
}

/// Encodes a serializable document as JSON, for [`Document::json`].
pub fn to_json(document: &impl serde::Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(document).map_err(|e| Error::io("encoding JSON", std::io::Error::other(e)))
}

/// The output formats of a measuring command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A table for the terminal.
    #[default]
    Table,
    /// The JSON document (every sample, every statistic).
    Json,
    /// One CSV row per record.
    Csv,
    /// A Markdown table, for lab reports.
    Md,
}

/// Renders a document in one format.
pub trait Exporter {
    /// The text of the document in this format.
    fn render(&self, document: &dyn Document) -> Result<String>;
}

/// The exporter for `format`.
pub fn exporter(format: Format) -> Box<dyn Exporter> {
    match format {
        Format::Table => Box::new(table::TableExporter),
        Format::Json => Box::new(json::JsonExporter),
        Format::Csv => Box::new(csv::CsvExporter),
        Format::Md => Box::new(markdown::MarkdownExporter),
    }
}

/// Writes `document` in `format` to `output` (whole, [`crate::files::write`]) or to stdout. When the file holds
/// another format than the table, the table is still printed for the person at the terminal.
pub fn emit(document: &dyn Document, format: Format, output: Option<&Path>) -> Result<()> {
    let text = exporter(format).render(document)?;
    match output {
        Some(path) => {
            crate::files::write(path, text.as_bytes())?;
            if format != Format::Table {
                print!("{}", exporter(Format::Table).render(document)?);
            }
            eprintln!("hpclab: wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// Where a document goes: its format, the file (stdout without one) and the file of its figure.
#[derive(Debug, Clone, Default)]
pub struct Destination {
    /// The format of the document's text.
    pub format: Format,
    /// The document's file; stdout when `None`.
    pub output: Option<std::path::PathBuf>,
    /// The SVG file of the document's figure, for documents that have one.
    pub plot: Option<std::path::PathBuf>,
}

impl Destination {
    /// The files named, each with its flag.
    pub fn files(&self) -> Vec<(&'static str, &Path)> {
        [("--output", &self.output), ("--plot", &self.plot)]
            .into_iter()
            .filter_map(|(flag, path)| Some((flag, path.as_deref()?)))
            .collect()
    }

    /// Checks before any work that every file named can be written, each to its own path.
    pub fn check(&self) -> Result<()> {
        crate::files::check_outputs(&self.files())
    }
}

/// Writes a document where `out` says and its figures to `out.plot` (a second figure beside
/// it, [`figure_path`]).
pub fn publish(document: &dyn Document, out: &Destination) -> Result<()> {
    emit(document, out.format, out.output.as_deref())?;
    if let Some(plot) = &out.plot {
        for (suffix, chart) in document.charts() {
            let path = figure_path(plot, suffix);
            chart.write_svg(&path)?;
            eprintln!("hpclab: wrote {}", path.display());
        }
    }
    Ok(())
}
