//! Everything that presents results: the document a measuring command produces, the terminal
//! table, the exporters (JSON, CSV, Markdown; one file each behind [`Exporter`]) and the progress
//! bar. Nothing else prints results.

pub mod csv;
pub mod format;
pub mod image;
pub mod json;
pub mod markdown;
pub mod progress;
pub mod table;

use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::kernels::GpuSetup;
use crate::measure::Record;
use serde::Serialize;
use std::path::Path;

/// The output of `hpclab run` with `--format json` (documented in README.md). Keys may be added,
/// never renamed: instructors' scripts and the tests rely on them.
#[derive(Debug, Clone, Serialize)]
pub struct RunDocument {
    /// Version of hpclab that measured.
    pub hpclab_version: &'static str,
    /// The command line as typed.
    pub command: String,
    /// The machine.
    pub environment: Environment,
    /// Kernel name.
    pub kernel: String,
    /// Problem size n.
    pub size: u64,
    /// Seed of the inputs.
    pub seed: u64,
    /// Samples discarded before the kept ones.
    pub warmup: usize,
    /// Samples kept per record.
    pub runs: usize,
    /// One-time GPU costs, when the GPU ran: never inside any phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_setup: Option<GpuSetupReport>,
    /// Why the GPU backend did not run, when it was asked for and could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_unavailable: Option<String>,
    /// One record per backend.
    pub records: Vec<Record>,
}

/// One-time GPU costs, in seconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GpuSetupReport {
    /// Creating the instance and choosing the adapter.
    pub adapter_s: f64,
    /// Creating the device.
    pub device_s: f64,
    /// Compiling the kernel's shaders (the just-in-time step of the GPU path).
    pub shader_compile_s: f64,
    /// Allocating buffers and creating bind groups.
    pub buffers_s: f64,
}

impl GpuSetupReport {
    /// Combines the context's and the kernel's one-time costs.
    pub fn new(context: &crate::gpu::context::ContextSetup, kernel: GpuSetup) -> Self {
        GpuSetupReport {
            adapter_s: context.adapter_s,
            device_s: context.device_s,
            shader_compile_s: kernel.shader_compile_s,
            buffers_s: kernel.buffers_s,
        }
    }
}

impl RunDocument {
    /// True when every record's result was verified.
    pub fn all_verified(&self) -> bool {
        self.records.iter().all(|r| r.verified)
    }
}

/// The output formats of a measuring command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for the terminal.
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
    fn render(&self, document: &RunDocument) -> Result<String>;
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

/// Checks before any work that `path` can be created: its folder exists.
pub fn check_output_path(path: &Path) -> Result<()> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.is_dir() {
        return Err(Error::usage(format!(
            "--output {}: the folder {} does not exist; create it or choose another path",
            path.display(),
            folder.display()
        )));
    }
    if path.is_dir() {
        return Err(Error::usage(format!(
            "--output {}: is a folder; give a file name",
            path.display()
        )));
    }
    Ok(())
}

/// Writes `text` to `path` through a temporary file and a rename, so that an interrupted run
/// never leaves a partial file behind.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let temporary = path.with_extension(format!(
        "{}.partial",
        path.extension().and_then(|e| e.to_str()).unwrap_or("out")
    ));
    std::fs::write(&temporary, text)
        .map_err(|e| Error::io(format!("writing {}", temporary.display()), e))?;
    std::fs::rename(&temporary, path)
        .map_err(|e| Error::io(format!("renaming to {}", path.display()), e))
}
