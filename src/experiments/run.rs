//! The document of `hpclab run`: one record per backend (and variant), with the environment and
//! the GPU's one-time setup; how it reads as a table, as CSV rows and as JSON.

use crate::backend::Backend;
use crate::environment::Provenance;
use crate::error::Result;
use crate::kernels::GpuSetup;
use crate::measure::residence::{GPU_MAY_FIT_L2_BYTES, is_cache};
use crate::measure::{ComputeTimer, Record};
use crate::report::csv::{self, Number};
use crate::report::format::{grouped, percent, rate, ratio, seconds};
use crate::report::heading::{Machine, machine_lines};
use crate::report::table::Rows;
use crate::report::{Document, to_json};
use crate::size::{format_bytes, format_count};
use serde::Serialize;

/// The output of `hpclab run` with `--format json` (documented in README.md). Keys may be added,
/// never renamed: instructors' scripts and the tests rely on them.
#[derive(Debug, Clone, Serialize)]
pub struct RunDocument {
    /// Version, command line and machine.
    #[serde(flatten)]
    pub provenance: Provenance,
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
    /// One-time costs of each Python row (interpreter start, imports, loading, Numba's first
    /// call): never inside any phase.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub python_setup: Vec<PythonSetupReport>,
    /// Rows that did not run, with why (no NumPy, over `--max-seconds`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<NotRun>,
    /// Why the GPU backend did not run, when it was asked for and could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_unavailable: Option<String>,
    /// The GPU path's measured link, launch and memory figures behind the GPU verdicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_model: Option<crate::measure::verdict::MachineModel>,
    /// With `--compare`: each record's medians as ratios to the baseline's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Vec<crate::measure::compare::Comparison>>,
    /// With `--compare`: the command that measured the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_command: Option<String>,
    /// One record per backend.
    pub records: Vec<Record>,
}

/// What a Python rung cost before its samples: never inside any phase.
#[derive(Debug, Clone, Serialize)]
pub struct PythonSetupReport {
    /// The row: `numba serial`.
    pub implementation: String,
    /// The interpreter.
    pub interpreter: crate::python::worker::Interpreter,
    /// Starting the interpreter until it answered.
    pub start_s: f64,
    /// Imports, loading, first call, versions.
    #[serde(flatten)]
    pub load: crate::python::worker::LoadReport,
    /// The calibration behind the time estimate: `n = 65 536: 12 ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration: Option<String>,
    /// Why the row kept fewer samples than asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fewer_samples: Option<String>,
}

/// A row that did not run.
#[derive(Debug, Clone, Serialize)]
pub struct NotRun {
    /// `numba serial`.
    pub implementation: String,
    /// Why, with what fixes it.
    pub reason: String,
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

/// The bandwidth, marked with the cache its working set fits in: that cache's bandwidth, not
/// the memory's.
pub fn bandwidth_cell(record: &Record) -> String {
    let level = &record.resides_in;
    match level.as_str() {
        "device (may fit L2)" => format!("{} (L2?)", rate(record.bandwidth_gbs)),
        _ if is_cache(level) => format!("{} ({level})", rate(record.bandwidth_gbs)),
        _ => rate(record.bandwidth_gbs),
    }
}

fn speedup_cell(record: &Record) -> String {
    match (
        record.speedup_vs_scalar,
        record.speedup_total_vs_scalar,
        record.backend,
    ) {
        (Some(compute), Some(total), Backend::Gpu) => match record.speedup_timestamp_vs_scalar {
            Some(kernel) => format!(
                "{} (ts {}, e2e {})",
                ratio(compute),
                ratio(kernel),
                ratio(total)
            ),
            None => format!("{} (e2e {})", ratio(compute), ratio(total)),
        },
        (Some(compute), _, _) => ratio(compute),
        _ => "–".to_string(),
    }
}

/// `1 run`, `3 runs`.
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// A column of the run table: header, right-aligned or not, and how to fill a cell.
type Column<'a> = (String, bool, Box<dyn Fn(&Record) -> String + 'a>);

/// A rate with an SI prefix: `1.25 G`, `830 M`.
fn si_rate(value: f64) -> String {
    let (scaled, prefix) = match value {
        v if v >= 1e12 => (v / 1e12, "T"),
        v if v >= 1e9 => (v / 1e9, "G"),
        v if v >= 1e6 => (v / 1e6, "M"),
        v if v >= 1e3 => (v / 1e3, "k"),
        v => (v, ""),
    };
    format!("{} {prefix}", rate(scaled)).trim_end().to_string()
}

/// The rows of a `run` table: median per phase, spread, rates, speed-up, transfer share, check.
/// Columns that no record fills (GPU phases, flops, work items, scalar error) are left out.
fn run_rows(document: &RunDocument) -> Rows {
    let records = &document.records;
    let any_gpu =
        records.iter().any(|r| r.backend == Backend::Gpu) || document.gpu_unavailable.is_some();
    let any_flops = records.iter().any(|r| r.gflops.is_some());
    let items_unit = records
        .iter()
        .find_map(|r| r.cost.items.map(|items| items.unit));
    let any_error = records
        .iter()
        .any(|r| r.verification.relative_error.is_some());
    let dash = || "–".to_string();

    let mut columns: Vec<Column> = vec![(
        "backend".into(),
        false,
        Box::new(|r: &Record| match (&r.variant, r.threads) {
            (Some(variant), Some(threads)) if threads > 1 && r.backend == Backend::Numba => {
                format!("{} {variant} ×{threads}", r.backend)
            }
            (Some(variant), _) => format!("{} {variant}", r.backend),
            (None, Some(threads)) if r.backend == Backend::Rayon => format!("rayon ×{threads}"),
            _ => r.backend.to_string(),
        }),
    )];
    if any_gpu {
        columns.push((
            "upload".into(),
            true,
            Box::new(move |r: &Record| optional_seconds(r.phases.upload.as_ref())),
        ));
    }
    columns.push(("compute".into(), true, Box::new(compute_cell)));
    if any_gpu {
        columns.push((
            "download".into(),
            true,
            Box::new(|r: &Record| optional_seconds(r.phases.download.as_ref())),
        ));
        columns.push((
            "total".into(),
            true,
            Box::new(|r: &Record| seconds(r.phases.total.median_s)),
        ));
    }
    columns.push((
        if any_gpu {
            "total min–max"
        } else {
            "min–max"
        }
        .into(),
        false,
        Box::new(|r: &Record| {
            format!(
                "{} – {}",
                seconds(r.phases.total.min_s),
                seconds(r.phases.total.max_s)
            )
        }),
    ));
    columns.push(("GB/s".into(), true, Box::new(bandwidth_cell)));
    if any_flops {
        columns.push((
            "GFLOP/s".into(),
            true,
            Box::new(move |r: &Record| r.gflops.map_or_else(dash, rate)),
        ));
    }
    if records.iter().any(|r| r.ceiling.is_some()) {
        columns.push((
            "of ceiling".into(),
            true,
            Box::new(move |r: &Record| r.ceiling.as_ref().map_or_else(dash, |c| percent(c.share))),
        ));
    }
    if let Some(unit) = items_unit {
        columns.push((
            format!("{unit}/s"),
            true,
            Box::new(move |r: &Record| r.items_per_second.map_or_else(dash, si_rate)),
        ));
    }
    columns.push(("speed-up".into(), false, Box::new(speedup_cell)));
    if records.iter().any(|r| r.speedup_vs_previous.is_some()) {
        columns.push((
            "step".into(),
            true,
            Box::new(move |r: &Record| r.speedup_vs_previous.map_or_else(dash, ratio)),
        ));
    }
    if any_gpu {
        columns.push((
            "transfers".into(),
            true,
            Box::new(move |r: &Record| r.transfer_share.map_or_else(dash, percent)),
        ));
    }
    if any_error {
        columns.push((
            "rel. error".into(),
            true,
            Box::new(move |r: &Record| {
                r.verification
                    .relative_error
                    .map_or_else(dash, |e| format!("{e:.1e}"))
            }),
        ));
    }
    if let Some(comparison) = &document.comparison {
        columns.push((
            "vs baseline".into(),
            true,
            Box::new(move |r: &Record| {
                comparison
                    .iter()
                    .find(|c| {
                        c.backend == r.backend.name() && c.variant == r.variant && c.size == r.size
                    })
                    .map_or_else(dash, |c| {
                        let [low, high] = c.compute_speedup_range;
                        let noise = if c.within_noise { ", within noise" } else { "" };
                        format!(
                            "{} ({}–{}{noise})",
                            ratio(c.compute_speedup),
                            ratio(low),
                            ratio(high)
                        )
                    })
            }),
        ));
    }
    columns.push((
        "check".into(),
        false,
        Box::new(|r: &Record| r.verification.summary()),
    ));

    let mut rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| columns.iter().map(|(_, _, cell)| cell(r)).collect())
        .collect();
    for not_run in &document.not_run {
        let mut row = vec![
            not_run.implementation.clone(),
            "not run (see below)".to_string(),
        ];
        row.resize(columns.len(), String::new());
        rows.push(row);
    }
    if document.gpu_unavailable.is_some() {
        let mut row = vec!["gpu".to_string(), "not run (see below)".to_string()];
        row.resize(columns.len(), String::new());
        rows.push(row);
    }
    Rows {
        numeric: columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.1)
            .map(|(i, _)| i)
            .collect(),
        header: columns.into_iter().map(|(name, _, _)| name).collect(),
        rows,
        // What a narrow terminal leaves out first: the spread (the warnings say when it is
        // large), then what the total and the speed-up already carry.
        droppable: [
            "total min–max",
            "min–max",
            "transfers",
            "upload",
            "download",
            "rel. error",
            "of ceiling",
            "step",
            "GFLOP/s",
        ]
        .map(String::from)
        .to_vec(),
    }
}

/// The lines above the table: what ran, where.
fn run_heading(document: &RunDocument) -> Vec<String> {
    let cost = document.records.first().map(|r| r.cost);
    let mut lines = vec![format!(
        "{} · n = {} ({}) · seed {} · {} after {} warm-up",
        document.kernel,
        format_count(document.size),
        grouped(document.size),
        document.seed,
        plural(document.runs, "run"),
        document.warmup
    )];
    if let Some(cost) = cost {
        let mut line = format!(
            "per run: {} moved, {} flops; working set {}",
            format_bytes(cost.device_bytes),
            grouped(cost.flops),
            format_bytes(document.records[0].working_set_bytes)
        );
        if let Some(items) = cost.items {
            line.push_str(&format!(", {} {}", grouped(items.count), items.unit));
        }
        if document.records.iter().any(|r| r.backend == Backend::Gpu) {
            line.push_str(&format!(
                "; GPU transfers {} up, {} down",
                format_bytes(cost.upload_bytes),
                format_bytes(cost.download_bytes)
            ));
        }
        lines.push(line);
    }
    let environment = &document.provenance.environment;
    lines.extend(machine_lines(
        environment,
        Machine {
            cpu_count: Some(plural(environment.threads, "thread")),
            lanes: true,
            driver: true,
            software: Some("correct, but not a speed reference"),
        },
    ));
    lines
}

/// The lines under the table: the GPU's one-time setup and what the abbreviations mean.
fn run_footer(document: &RunDocument) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(command) = &document.baseline_command {
        lines.push(format!(
            "vs baseline = baseline compute median / this compute median (above 1× is faster), with its range from the two runs' fastest and slowest samples; \
             within noise = the two runs' ranges overlap, so the difference is not shown; baseline: {command}"
        ));
    }
    for record in &document.records {
        if let Some(verdict) = &record.verdict {
            let name = record
                .variant
                .as_ref()
                .map_or("gpu".to_string(), |v| format!("gpu {v}"));
            lines.push(format!(
                "{name}: {} — {}; the machine model predicts {} (up {} + compute {} + down {}) vs {} measured",
                verdict.bound.name(),
                verdict.reason,
                seconds(verdict.predicted_total_s),
                seconds(verdict.predicted_upload_s),
                seconds(verdict.predicted_compute_s),
                seconds(verdict.predicted_download_s),
                seconds(verdict.measured_total_s)
            ));
        }
    }
    if let Some(model) = &document.machine_model {
        lines.push(format!(
            "machine model (probed once per adapter): upload {} + bytes / {} GB/s ({}) · download {} + bytes / {} GB/s ({}), fitted over 4 KiB–16 MiB · \
             device {} GB/s (copy over {}) and {} GFLOP/s · launch {} (empty dispatch round trip); predicted compute = launch + the larger of bytes / bandwidth and flops / GFLOP/s",
            seconds(model.upload.latency_s),
            rate(model.upload.bandwidth_gbs),
            model.upload.r_squared_text(),
            seconds(model.download.latency_s),
            rate(model.download.bandwidth_gbs),
            model.download.r_squared_text(),
            rate(model.device_bandwidth_gbs),
            format_bytes(model.device_probe_bytes),
            rate(model.device_gflops),
            seconds(model.dispatch_round_trip_s)
        ));
    }
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
             transfers = share of total spent uploading and downloading; the GPU speed-up is on the host clock (submit and wait included), \
             ts = on the GPU's timestamps (the kernel alone), e2e = with transfers"
                .to_string(),
        );
    }
    if let Some(reason) = &document.gpu_unavailable {
        lines.push(format!("GPU not run: {reason}"));
    }
    lines.extend(python_lines(document));
    lines.push("medians; GB/s and GFLOP/s from the cost model (hpclab list) over the compute median; 1 GB = 10^9 B".to_string());
    lines.extend(ceiling_lines(&document.records));
    lines.extend(residence_note(&document.records));
    // The code path a record's kernel chose by what the adapter offers (reduce atomics).
    for record in &document.records {
        if let Some(note) = &record.verification.note
            && !lines.contains(note)
        {
            lines.push(note.clone());
        }
    }
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

/// Each compute ceiling the `of ceiling` column divides by, once, and the step column's rule.
fn ceiling_lines(records: &[Record]) -> Vec<String> {
    let mut ceilings: Vec<String> = Vec::new();
    for ceiling in records.iter().filter_map(|r| r.ceiling.as_ref()) {
        let line = format!(
            "{} GFLOP/s by {}",
            rate(ceiling.gflops),
            ceiling.measured_by
        );
        if !ceilings.contains(&line) {
            ceilings.push(line);
        }
    }
    let mut lines = Vec::new();
    if !ceilings.is_empty() {
        lines.push(format!(
            "of ceiling = GFLOP/s / the compute ceiling measured on the same device and threads: {}",
            ceilings.join("; ")
        ));
    }
    if records.iter().any(|r| r.speedup_vs_previous.is_some()) {
        lines.push(
            "step = the row above's compute median / this row's (host clock): what each step of the ladder gains"
                .to_string(),
        );
    }
    lines
}

/// The Python rungs' setup, the clock that timed them, and the rows that did not run.
fn python_lines(document: &RunDocument) -> Vec<String> {
    let mut lines = Vec::new();
    for setup in &document.python_setup {
        let mut parts = vec![format!(
            "Python {} started in {}",
            setup.interpreter.python,
            seconds(setup.start_s)
        )];
        for (module, import_s) in &setup.load.imports_s {
            let version = setup
                .load
                .versions
                .iter()
                .find(|(name, _)| name == module)
                .map_or(String::new(), |(_, v)| format!(" {v}"));
            parts.push(format!("import {module}{version} {}", seconds(*import_s)));
        }
        parts.push(format!("loading the inputs {}", seconds(setup.load.load_s)));
        if let Some(first_call_s) = setup.load.first_call_s {
            let warm = document
                .records
                .iter()
                .find(|r| label(r) == setup.implementation)
                .map_or(String::new(), |r| {
                    format!(" (warm: {})", seconds(r.phases.compute.median_s))
                });
            parts.push(format!(
                "first call, compiling just in time, {}{warm}",
                seconds(first_call_s)
            ));
        }
        if let Some(calibration) = &setup.calibration {
            parts.push(format!("calibrated at {calibration}"));
        }
        let mut line = format!(
            "{} setup, once, outside every phase: {}",
            setup.implementation,
            parts.join(" · ")
        );
        if let Some(fewer) = &setup.fewer_samples {
            line.push_str(&format!("; {fewer}"));
        }
        lines.push(line);
    }
    if !document.python_setup.is_empty() {
        lines.push(
            "python, numpy, numba: timed inside the Python worker (time.perf_counter around the kernel call alone); \
             python computes in Python floats (f64), stores its result once in the kernel's type (hpclab list says how each check covers that) \
             and holds each element as an object (about 8× the arrays' bytes, which decides where its working set lives); \
             numpy and numba compute in float32"
                .to_string(),
        );
    }
    for not_run in &document.not_run {
        lines.push(format!(
            "{} not run: {}",
            not_run.implementation, not_run.reason
        ));
    }
    lines
}

/// A record's row label: `numba serial`, `rayon`.
fn label(record: &Record) -> String {
    match &record.variant {
        Some(variant) => format!("{} {variant}", record.backend),
        None => record.backend.to_string(),
    }
}

/// What a marked GB/s means, when some row is marked: where each backend's working set lives.
pub fn residence_note(records: &[Record]) -> Option<String> {
    let cached: Vec<String> = records
        .iter()
        .filter(|r| is_cache(&r.resides_in))
        .map(|r| {
            let name = match &r.variant {
                Some(variant) => format!("{} {variant}", r.backend),
                None => r.backend.to_string(),
            };
            format!("{name} in {}", r.resides_in)
        })
        .collect();
    if cached.is_empty() {
        return None;
    }
    let gpu_note = match records.iter().any(|r| r.resides_in.contains("may fit")) {
        true => format!(
            "; (L2?) = a GPU working set under {}, which may fit the device's L2 (wgpu does not report it)",
            format_bytes(GPU_MAY_FIT_L2_BYTES)
        ),
        false => String::new(),
    };
    Some(format!(
        "GB/s marked (L1d), (L2), (L3) is that cache's bandwidth, not memory's ({}){gpu_note}; a larger --size leaves the caches",
        cached.join(", "),
    ))
}

/// The CSV row of one record.
#[derive(Serialize, Default)]
struct RecordRow<'a> {
    kernel: &'a str,
    variant: Option<&'a str>,
    backend: &'a str,
    size: u64,
    verified: bool,
    /// Always set: an `Option` only so that the row has a default (the header of no records).
    compute_timer: Option<ComputeTimer>,
    upload_median_s: Option<Number>,
    compute_median_s: Number,
    download_median_s: Option<Number>,
    total_median_s: Number,
    compute_min_s: Number,
    compute_max_s: Number,
    compute_stddev_s: Number,
    total_min_s: Number,
    total_max_s: Number,
    bandwidth_gbs: Number,
    gflops: Option<Number>,
    speedup_vs_scalar: Option<Number>,
    speedup_total_vs_scalar: Option<Number>,
    transfer_share: Option<Number>,
    upload_gbs: Option<Number>,
    download_gbs: Option<Number>,
    threads: Option<usize>,
    items_per_second: Option<Number>,
    relative_error: Option<Number>,
    error_bound_ratio: Number,
    working_set_bytes: u64,
    resides_in: &'a str,
}

impl<'a> From<&'a Record> for RecordRow<'a> {
    fn from(r: &'a Record) -> Self {
        let (p, number) = (&r.phases, |v: Option<f64>| v.map(Number));
        RecordRow {
            kernel: &r.kernel,
            variant: r.variant.as_deref(),
            backend: r.backend.name(),
            size: r.size,
            verified: r.verified,
            compute_timer: Some(r.compute_timer),
            upload_median_s: number(p.upload.as_ref().map(|s| s.median_s)),
            compute_median_s: Number(p.compute.median_s),
            download_median_s: number(p.download.as_ref().map(|s| s.median_s)),
            total_median_s: Number(p.total.median_s),
            compute_min_s: Number(p.compute.min_s),
            compute_max_s: Number(p.compute.max_s),
            compute_stddev_s: Number(p.compute.stddev_s),
            total_min_s: Number(p.total.min_s),
            total_max_s: Number(p.total.max_s),
            bandwidth_gbs: Number(r.bandwidth_gbs),
            gflops: number(r.gflops),
            speedup_vs_scalar: number(r.speedup_vs_scalar),
            speedup_total_vs_scalar: number(r.speedup_total_vs_scalar),
            transfer_share: number(r.transfer_share),
            upload_gbs: number(r.upload_gbs),
            download_gbs: number(r.download_gbs),
            threads: r.threads,
            items_per_second: number(r.items_per_second),
            relative_error: number(r.verification.relative_error),
            error_bound_ratio: Number(r.verification.worst_error_ratio),
            working_set_bytes: r.working_set_bytes,
            resides_in: &r.resides_in,
        }
    }
}

impl Document for RunDocument {
    fn warnings(&self) -> &[String] {
        &self.provenance.warnings
    }

    fn verified(&self) -> bool {
        self.all_verified()
    }

    fn heading(&self) -> Vec<String> {
        run_heading(self)
    }

    fn tables(&self) -> Vec<Rows> {
        vec![run_rows(self)]
    }

    fn footer(&self) -> Vec<String> {
        run_footer(self)
    }

    fn csv(&self) -> Result<String> {
        csv::write(self.records.iter().map(RecordRow::from))
    }

    fn json(&self) -> Result<serde_json::Value> {
        to_json(self)
    }
}
