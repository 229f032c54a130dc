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
pub mod summary;
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
    /// The format given with `--format`; without one, `--output`'s extension says (see
    /// [`Destination::format`]).
    pub format: Option<Format>,
    /// The document's file; stdout when `None`.
    pub output: Option<std::path::PathBuf>,
    /// The SVG file of the document's figure, for documents that have one.
    pub plot: Option<std::path::PathBuf>,
    /// More files of the same measurement in other formats (`--export-json` and its kin).
    pub exports: Vec<(Format, std::path::PathBuf)>,
}

impl Destination {
    /// The files named, each with its flag.
    pub fn files(&self) -> Vec<(&'static str, &Path)> {
        let exports = self
            .exports
            .iter()
            .map(|(format, path)| (export_flag(*format), path.as_path()));
        [("--output", &self.output), ("--plot", &self.plot)]
            .into_iter()
            .filter_map(|(flag, path)| Some((flag, path.as_deref()?)))
            .chain(exports)
            .collect()
    }

    /// The format of the document's text: `--format`, else the extension of `--output`
    /// (`.json`, `.csv`, `.md`; anything else, or stdout, a table).
    pub fn format(&self) -> Format {
        self.format.unwrap_or_else(|| {
            self.output
                .as_deref()
                .and_then(format_of_extension)
                .unwrap_or(Format::Table)
        })
    }

    /// Checks before any work that every file named can be written, each to its own path, in
    /// the format its name says: `--output`'s extension agrees with `--format` (or names one),
    /// `--plot` ends in `.svg`.
    pub fn check(&self) -> Result<()> {
        self.check_with(&[])
    }

    /// [`Destination::check`], with `others` (flag, path) written by the same command: no two
    /// of them name one file.
    pub fn check_with(&self, others: &[(&'static str, &Path)]) -> Result<()> {
        // Where the files go first (a folder, one file named twice), then what their names say.
        let mut files = self.files();
        files.extend_from_slice(others);
        crate::files::check_outputs(&files)?;
        if let Some(path) = &self.output {
            let extension = path.extension().map(|e| e.to_string_lossy().to_lowercase());
            let named = format_of_extension(path);
            match (self.format, extension.as_deref(), named) {
                (Some(given), Some(_), Some(named)) if given != named => {
                    return Err(Error::usage(format!(
                        "--format {} but --output {} names a {} file; make them agree",
                        format_name(given),
                        path.display(),
                        format_name(named)
                    )));
                }
                (None, Some(other), None) if other != "txt" => {
                    return Err(Error::usage(format!(
                        "--output {}: '.{other}' names no format hpclab writes; end it in .json, .csv, .md or .txt, or give --format",
                        path.display()
                    )));
                }
                _ => {}
            }
        }
        for (format, path) in &self.exports {
            if let Some(named) = format_of_extension(path)
                && named != *format
            {
                return Err(Error::usage(format!(
                    "{} {} names a {} file; end it in .{} or use {}",
                    export_flag(*format),
                    path.display(),
                    format_name(named),
                    extension_of(*format),
                    export_flag(named)
                )));
            }
        }
        if let Some(path) = &self.plot
            && !path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("svg"))
            && !path.starts_with("/dev")
        {
            return Err(Error::usage(format!(
                "--plot {}: hpclab draws figures as SVG; end the name in .svg (a browser or rsvg-convert turns it into a PNG)",
                path.display()
            )));
        }
        Ok(())
    }
}

/// The extension of a file in `format`.
fn extension_of(format: Format) -> &'static str {
    match format {
        Format::Table => "txt",
        Format::Json => "json",
        Format::Csv => "csv",
        Format::Md => "md",
    }
}

/// The format a file's extension names: `.json`, `.csv`, `.md` (`.txt` names none: any text).
fn format_of_extension(path: &Path) -> Option<Format> {
    let extension = path.extension()?.to_string_lossy().to_lowercase();
    match extension.as_str() {
        "json" => Some(Format::Json),
        "csv" => Some(Format::Csv),
        "md" | "markdown" => Some(Format::Md),
        _ => None,
    }
}

/// The flag that exports a document in `format`.
pub fn export_flag(format: Format) -> &'static str {
    match format {
        Format::Table => "--export-txt",
        Format::Json => "--export-json",
        Format::Csv => "--export-csv",
        Format::Md => "--export-md",
    }
}

/// The name `--format` takes for `format`.
fn format_name(format: Format) -> &'static str {
    match format {
        Format::Table => "table",
        Format::Json => "json",
        Format::Csv => "csv",
        Format::Md => "md",
    }
}

/// Writes a document where `out` says and its figures to `out.plot` (a second figure beside
/// it, [`figure_path`]).
pub fn publish(document: &dyn Document, out: &Destination) -> Result<()> {
    emit(document, out.format(), out.output.as_deref())?;
    for (format, path) in &out.exports {
        crate::files::write(path, exporter(*format).render(document)?.as_bytes())?;
        eprintln!("hpclab: wrote {}", path.display());
    }
    if let Some(plot) = &out.plot {
        for (suffix, chart) in document.charts() {
            let path = figure_path(plot, suffix);
            chart.write_svg(&path)?;
            eprintln!("hpclab: wrote {}", path.display());
        }
    }
    Ok(())
}
