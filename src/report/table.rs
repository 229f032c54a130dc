//! The tables people read: one row per record for `run`, plus the generic terminal renderer that
//! `devices` and `list` use too. The Markdown exporter renders the same rows.

use super::format::{grouped, percent, rate, ratio, seconds};
use super::{Exporter, RunDocument};
use crate::backend::Backend;
use crate::error::Result;
use crate::measure::{ComputeTimer, Record};
use crate::size::{format_bytes, format_count};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};

/// A header and rows of plain cells, rendered for the terminal or as Markdown.
pub struct Rows {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns whose cells are numbers (right-aligned).
    pub numeric: Vec<usize>,
}

/// Renders rows as a terminal table.
pub fn render_terminal(rows: &Rows) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(&rows.header);
    for row in &rows.rows {
        table.add_row(row);
    }
    for &index in &rows.numeric {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table.to_string()
}

/// Renders rows as a Markdown table.
pub fn render_markdown(rows: &Rows) -> String {
    let escape = |cell: &String| cell.replace('|', "\\|");
    let mut out = format!(
        "| {} |\n",
        rows.header
            .iter()
            .map(escape)
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let rule: Vec<&str> = (0..rows.header.len())
        .map(|i| {
            if rows.numeric.contains(&i) {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    out.push_str(&format!("| {} |\n", rule.join(" | ")));
    for row in &rows.rows {
        out.push_str(&format!(
            "| {} |\n",
            row.iter().map(escape).collect::<Vec<_>>().join(" | ")
        ));
    }
    out
}

fn optional_seconds(stats: Option<&crate::measure::Stats>) -> String {
    stats.map_or("–".to_string(), |s| seconds(s.median_s))
}

fn compute_cell(record: &Record) -> String {
    let time = seconds(record.phases.compute.median_s);
    match (record.backend, record.compute_timer) {
        (Backend::Gpu, ComputeTimer::Timestamp) => format!("{time} (ts)"),
        (Backend::Gpu, ComputeTimer::Wall) => format!("{time} (wall)"),
        _ => time,
    }
}

fn speedup_cell(record: &Record) -> String {
    match (
        record.speedup_vs_scalar,
        record.speedup_total_vs_scalar,
        record.backend,
    ) {
        (Some(compute), Some(total), Backend::Gpu) => {
            format!("{} (e2e {})", ratio(compute), ratio(total))
        }
        (Some(compute), _, _) => ratio(compute),
        _ => "–".to_string(),
    }
}

/// The rows of a `run` table: median per phase, spread, rates, speed-up, transfer share, check.
pub fn run_rows(document: &RunDocument) -> Rows {
    let header = [
        "backend",
        "upload",
        "compute",
        "download",
        "total",
        "total min–max",
        "GB/s",
        "GFLOP/s",
        "speed-up",
        "transfers",
        "check",
    ];
    let mut rows: Vec<Vec<String>> = document
        .records
        .iter()
        .map(|r| {
            let backend = match (&r.variant, r.threads) {
                (Some(variant), _) => format!("{} {variant}", r.backend),
                (None, Some(threads)) if r.backend == Backend::Rayon => format!("rayon ×{threads}"),
                _ => r.backend.to_string(),
            };
            vec![
                backend,
                optional_seconds(r.phases.upload.as_ref()),
                compute_cell(r),
                optional_seconds(r.phases.download.as_ref()),
                seconds(r.phases.total.median_s),
                format!(
                    "{} – {}",
                    seconds(r.phases.total.min_s),
                    seconds(r.phases.total.max_s)
                ),
                rate(r.bandwidth_gbs),
                r.gflops.map_or("–".to_string(), rate),
                speedup_cell(r),
                r.transfer_share.map_or("–".to_string(), percent),
                r.verification.summary(),
            ]
        })
        .collect();
    if document.gpu_unavailable.is_some() {
        let mut row = vec!["gpu".to_string(), "not run (see below)".to_string()];
        row.resize(header.len(), String::new());
        rows.push(row);
    }
    Rows {
        header: header.iter().map(|s| s.to_string()).collect(),
        rows,
        numeric: vec![1, 2, 3, 4, 6, 7],
    }
}

/// The lines above the table: what ran, where.
pub fn run_heading(document: &RunDocument) -> Vec<String> {
    let cost = document.records.first().map(|r| r.cost);
    let mut lines = vec![format!(
        "{} · n = {} ({}) · seed {} · {} runs after {} warm-up",
        document.kernel,
        format_count(document.size),
        grouped(document.size),
        document.seed,
        document.runs,
        document.warmup
    )];
    if let Some(cost) = cost {
        lines.push(format!(
            "per run: {} moved in memory, {} flops; GPU transfers {} up, {} down",
            format_bytes(cost.device_bytes),
            grouped(cost.flops),
            format_bytes(cost.upload_bytes),
            format_bytes(cost.download_bytes)
        ));
    }
    let env = &document.environment;
    lines.push(format!(
        "CPU: {} · {} threads · simd {} ({} f32 lanes)",
        env.cpu.model, env.threads, env.simd, env.cpu.f32_lanes
    ));
    if let Some(adapter) = &env.adapter {
        let software = if adapter.software {
            " — software adapter: correct, but not a speed reference"
        } else {
            ""
        };
        lines.push(format!(
            "GPU: {} ({}, {}, {}){software}",
            adapter.name, adapter.device_type, adapter.api, adapter.driver_info
        ));
    }
    lines
}

/// The lines under the table: the GPU's one-time setup and what the abbreviations mean.
pub fn run_footer(document: &RunDocument) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(setup) = &document.gpu_setup {
        lines.push(format!(
            "GPU setup, once, outside every phase: adapter {} · device {} · shader compilation {} · buffers {}",
            seconds(setup.adapter_s),
            seconds(setup.device_s),
            if setup.shader_compile_s > 0.0 { seconds(setup.shader_compile_s) } else { "cached".to_string() },
            seconds(setup.buffers_s)
        ));
        lines.push(
            "compute (ts) = GPU timestamp queries, (wall) = host clock; total = upload + compute on the host clock + download; \
             transfers = share of total spent uploading and downloading"
                .to_string(),
        );
    }
    if let Some(reason) = &document.gpu_unavailable {
        lines.push(format!("GPU not run: {reason}"));
    }
    lines.push("medians; GB/s and GFLOP/s from the cost model (hpclab list) over the compute median; 1 GB = 10^9 B".to_string());
    for record in document.records.iter().filter(|r| !r.verified) {
        let detail = record
            .verification
            .first_mismatch
            .clone()
            .unwrap_or_default();
        lines.push(format!(
            "VERIFICATION FAILED on {}: {detail} (rule: {})",
            record.backend, record.verification.rule
        ));
    }
    lines
}

/// The terminal rendering of a `run`.
pub struct TableExporter;

impl Exporter for TableExporter {
    fn render(&self, document: &RunDocument) -> Result<String> {
        let mut text = run_heading(document).join("\n");
        text.push('\n');
        text.push_str(&render_terminal(&run_rows(document)));
        text.push('\n');
        text.push_str(&run_footer(document).join("\n"));
        text.push('\n');
        Ok(text)
    }
}
