//! The record of one (kernel, backend, size) measurement: the JSON schema instructors' scripts
//! read. Keys may be added, never renamed.

use super::runner::PhaseSample;
use super::stats::Stats;
use crate::backend::Backend;
use crate::kernels::{Cost, Verification};
use serde::Serialize;

/// Where the GPU compute phase's time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ComputeTimer {
    /// GPU timestamp queries at the start and end of the compute pass.
    Timestamp,
    /// The host clock around submit and wait (CPU backends, or adapters without timestamps).
    Wall,
}

/// Statistics per phase. CPU records have only `compute` and `total`.
#[derive(Debug, Clone, Serialize)]
pub struct Phases {
    /// Host→device transfer of the inputs (GPU only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<Stats>,
    /// The computation, timed by `compute_timer`.
    pub compute: Stats,
    /// Device→host transfer of the result (GPU only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download: Option<Stats>,
    /// Wall time of each whole sample: upload + compute on the host clock + download. Launch and
    /// synchronisation overhead are in here even when `compute` comes from timestamps.
    pub total: Stats,
    /// The compute phase on the host clock (GPU only; differs from `compute` by the launch and
    /// wait overhead when `compute_timer` is `timestamp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_wall: Option<Stats>,
}

/// One measurement and everything derived from it.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Kernel name (`triad`, `dot`, …).
    pub kernel: String,
    /// Variant of the kernel's implementation, when it has several (`tiled`, `atomics`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Backend name.
    pub backend: Backend,
    /// Problem size n as the kernel defines it (`hpclab list`).
    pub size: u64,
    /// The bytes one compute phase touches.
    pub working_set_bytes: u64,
    /// Where that working set lives: `L1d`, `L2`, `L3` or `memory` on the CPU, `device` or
    /// `device (may fit L2)` on a GPU (see `measure::residence`). `bandwidth_gbs` is this
    /// level's bandwidth.
    pub resides_in: String,
    /// True when the result matched the reference within the kernel's tolerance.
    pub verified: bool,
    /// The check itself: error found, tolerance, rule.
    pub verification: Verification,
    /// Statistics per phase.
    pub phases: Phases,
    /// Coefficient of variation (standard deviation / mean) of the compute phase, the headline.
    pub cv: f64,
    /// Samples of the compute phase that are outliers by hyperfine's rule (modified Z-score
    /// above 14).
    pub outliers: usize,
    /// The source of the compute phase's times.
    pub compute_timer: ComputeTimer,
    /// The kernel's cost model at this size.
    pub cost: Cost,
    /// Device-memory bytes from the cost model / compute median, in GB/s (10^9 B/s).
    pub bandwidth_gbs: f64,
    /// Flops from the cost model / compute median, in GFLOP/s; absent for kernels without flops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gflops: Option<f64>,
    /// Units of work (`cost.items`) per second of compute median, for kernels that count them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_per_second: Option<f64>,
    /// Scalar compute median / this compute median on the host clock (for the GPU, submit and
    /// wait included: what a program calling it waits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speedup_vs_scalar: Option<f64>,
    /// GPU with timestamps only: scalar compute median / the GPU's own compute median (the
    /// kernel alone, launch and wait left out), shown beside the host-clock figure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speedup_timestamp_vs_scalar: Option<f64>,
    /// Scalar total median / this total median: the end-to-end speed-up, transfers included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speedup_total_vs_scalar: Option<f64>,
    /// On a ladder (`--backend ladder`, or several variants of one backend): the row above's
    /// compute median / this one's (host clock), the step this row gains over the one before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speedup_vs_previous: Option<f64>,
    /// (upload + download) / total, from the medians (GPU only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_share: Option<f64>,
    /// Upload bytes / upload median, GB/s (GPU only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_gbs: Option<f64>,
    /// Download bytes / download median, GB/s (GPU only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_gbs: Option<f64>,
    /// Threads the backend used (1 for scalar and simd, the pool size for rayon).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// GPU only: transfer-, launch-, device memory- or device compute-bound, with the numbers
    /// that decide it and the
    /// time the machine model predicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<super::verdict::Verdict>,
    /// For records with flops: the measured compute ceiling of the device and threads it ran
    /// on, and this record's share of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<ComputeCeiling>,
    /// A checksum of the output (`Problem::checksum`): the escape-time kernels' sum of all
    /// escape counts, to compare images across backends and runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<u64>,
}

/// A record's GFLOP/s against the compute ceiling measured on the same device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComputeCeiling {
    /// The ceiling, GFLOP/s.
    pub gflops: f64,
    /// The record's GFLOP/s / the ceiling.
    pub share: f64,
    /// What measured the ceiling.
    pub measured_by: String,
}

/// What [`Record::from_samples`] needs besides the samples.
pub struct RecordInput<'a> {
    pub kernel: &'a str,
    pub variant: Option<String>,
    pub backend: Backend,
    pub size: u64,
    pub working_set_bytes: u64,
    pub resides_in: String,
    pub cost: Cost,
    pub verification: Verification,
    pub threads: Option<usize>,
}

impl Record {
    /// The compute phase on the host clock: for the GPU, submit and wait included even when
    /// `compute` comes from timestamps.
    pub fn compute_host_clock(&self) -> &Stats {
        self.phases
            .compute_wall
            .as_ref()
            .unwrap_or(&self.phases.compute)
    }

    /// Builds the record from the kept samples (at least one). GPU compute uses timestamps only
    /// when every sample had a valid pair; otherwise every sample uses the host clock, so one
    /// record never mixes two timers.
    pub fn from_samples(input: RecordInput<'_>, samples: &[PhaseSample]) -> Record {
        assert!(!samples.is_empty(), "a record needs at least one sample");
        let stats = |values: Vec<f64>| Stats::from_samples(values).expect("non-empty");
        let optional = |pick: fn(&PhaseSample) -> Option<f64>| -> Option<Stats> {
            let values: Option<Vec<f64>> = samples.iter().map(pick).collect();
            values.and_then(Stats::from_samples)
        };
        let all_timestamps = samples.iter().all(|s| s.compute_timestamp_s.is_some());
        let compute_wall = stats(samples.iter().map(|s| s.compute_wall_s).collect());
        let (compute, compute_timer) = if all_timestamps {
            (
                optional(|s| s.compute_timestamp_s).expect("all present"),
                ComputeTimer::Timestamp,
            )
        } else {
            (compute_wall.clone(), ComputeTimer::Wall)
        };
        let upload = optional(|s| s.upload_s);
        let download = optional(|s| s.download_s);
        let total = stats(samples.iter().map(PhaseSample::total_s).collect());
        let has_transfers = upload.is_some() || download.is_some();
        let per_second = |amount: u64, seconds: f64| {
            if seconds > 0.0 {
                amount as f64 / seconds / 1e9
            } else {
                0.0
            }
        };
        let transfer_s = upload.as_ref().map_or(0.0, |s| s.median_s)
            + download.as_ref().map_or(0.0, |s| s.median_s);
        Record {
            kernel: input.kernel.to_string(),
            variant: input.variant,
            backend: input.backend,
            size: input.size,
            working_set_bytes: input.working_set_bytes,
            resides_in: input.resides_in,
            verified: input.verification.passed,
            verification: input.verification,
            bandwidth_gbs: per_second(input.cost.device_bytes, compute.median_s),
            gflops: (input.cost.flops > 0).then(|| per_second(input.cost.flops, compute.median_s)),
            items_per_second: input
                .cost
                .items
                .map(|items| per_second(items.count, compute.median_s) * 1e9),
            speedup_vs_scalar: None,
            speedup_timestamp_vs_scalar: None,
            speedup_total_vs_scalar: None,
            speedup_vs_previous: None,
            transfer_share: has_transfers.then(|| transfer_s / total.median_s),
            upload_gbs: upload
                .as_ref()
                .map(|s| per_second(input.cost.upload_bytes, s.median_s)),
            download_gbs: download
                .as_ref()
                .map(|s| per_second(input.cost.download_bytes, s.median_s)),
            threads: input.threads,
            verdict: None,
            ceiling: None,
            checksum: None,
            cv: compute.coefficient_of_variation(),
            outliers: compute.outliers(),
            cost: input.cost,
            compute_timer,
            phases: Phases {
                upload,
                compute,
                download,
                total,
                compute_wall: has_transfers.then_some(compute_wall),
            },
        }
    }
}

/// Fills `speedup_vs_scalar` on every record from the scalar record of the same kernel,
/// variant-independent, and size, when one was measured.
pub fn fill_speedups(records: &mut [Record]) {
    let scalar: Vec<(String, u64, f64, f64)> = records
        .iter()
        .filter(|r| r.backend == Backend::Scalar)
        .map(|r| {
            (
                r.kernel.clone(),
                r.size,
                r.phases.compute.median_s,
                r.phases.total.median_s,
            )
        })
        .collect();
    for record in records.iter_mut() {
        if let Some((_, _, compute, total)) = scalar
            .iter()
            .find(|(k, n, _, _)| *k == record.kernel && *n == record.size)
        {
            record.speedup_vs_scalar = Some(compute / record.compute_host_clock().median_s);
            record.speedup_timestamp_vs_scalar = (record.compute_timer == ComputeTimer::Timestamp)
                .then(|| compute / record.phases.compute.median_s);
            record.speedup_total_vs_scalar = Some(total / record.phases.total.median_s);
        }
    }
}

/// Fills `speedup_vs_previous` on every record after the first, in table order (the ladder).
pub fn fill_ladder_steps(records: &mut [Record]) {
    for index in 1..records.len() {
        let previous = records[index - 1].compute_host_clock().median_s;
        let record = &mut records[index];
        record.speedup_vs_previous = Some(previous / record.compute_host_clock().median_s);
    }
}

/// A verified `triad` record of `samples` with `cost`, for the tests of what is derived from
/// records (verdicts, warnings, comparisons, break-even).
#[cfg(test)]
pub(crate) fn test_record(
    backend: Backend,
    size: u64,
    cost: Cost,
    samples: &[PhaseSample],
) -> Record {
    let verification = crate::kernels::verify::check_value(1.0, 1.0, 0.0, "exact");
    Record::from_samples(
        RecordInput {
            kernel: "triad",
            variant: None,
            backend,
            size,
            working_set_bytes: 0,
            resides_in: "memory".into(),
            cost,
            verification,
            threads: (backend != Backend::Gpu).then_some(1),
        },
        samples,
    )
}

/// [`test_record`] of a CPU backend from its compute times.
#[cfg(test)]
pub(crate) fn test_cpu_record(backend: Backend, size: u64, compute_s: &[f64]) -> Record {
    let samples: Vec<PhaseSample> = compute_s
        .iter()
        .map(|&s| PhaseSample {
            upload_s: None,
            compute_wall_s: s,
            compute_timestamp_s: None,
            download_s: None,
        })
        .collect();
    let cost = Cost {
        device_bytes: 12 * size,
        flops: 2 * size,
        upload_bytes: 0,
        download_bytes: 0,
        items: None,
    };
    test_record(backend, size, cost, &samples)
}
