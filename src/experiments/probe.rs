//! A quick measurement of the GPU path: link latency and bandwidth each way, an empty
//! dispatch's round trip, device memory bandwidth and the device's compute ceiling — the
//! machine model behind every verdict of `run` and `sweep`. The `transfer`, `latency` and
//! `roofline` experiments measure the same things in full.

use super::latency::empty_submission;
use super::roofline::gpu_probe;
use super::sample_stats;
use crate::cpu::AlignedVec;
use crate::error::{Error, Result};
use crate::gpu::transfer::Role;
use crate::gpu::{DeviceArray, Download, GpuContext, download_timed, upload_timed};
use crate::kernels;
use crate::kernels::inputs::uniform_f32;
use crate::measure::fit::fit_latency_bandwidth;
use crate::measure::runner::{MeasureOptions, take_samples};
use crate::measure::verdict::MachineModel;
use crate::measure::{PhaseSample, Stats};

/// Sizes of the link fit: four, spanning more than three decades, so that both the latency and
/// the bandwidth are read from the data and the fit's R² means something.
pub const LINK_BYTES: [u64; 4] = [4 << 10, 64 << 10, 1 << 20, 16 << 20];
/// Working set of the device-bandwidth probe (STREAM copy, source and destination): past the
/// L2 of any current GPU, so the figure is device memory's.
pub const DEVICE_PROBE_BYTES: u64 = 256 << 20;
/// Elements and FMAs per element of the compute-ceiling probe (512 flops per 8 bytes).
const COMPUTE_ELEMENTS: usize = 1 << 20;
const COMPUTE_FMAS: u32 = 256;

/// Measures the machine model on `context`.
pub fn probe(context: &GpuContext) -> Result<MachineModel> {
    let options = MeasureOptions { warmup: 1, runs: 5 };
    let (upload, download) = link(context, options)?;

    // Copy reads one array and writes another; the adapter may cap one buffer below half.
    let copy = kernels::find("copy")
        .ok_or_else(|| Error::gpu("probing device bandwidth", "no copy kernel"))?;
    let elements = (DEVICE_PROBE_BYTES / 8).min(context.adapter.max_buffer_bytes / 4) as usize;
    let mut problem = copy.prepare(elements, 1, &Default::default());
    let samples = {
        let mut run = problem.gpu(context, None)?;
        take_samples(
            MeasureOptions { warmup: 1, runs: 3 },
            || run.sample(),
            |_, _| {},
        )?
    };
    let compute = Stats::from_samples(
        samples
            .iter()
            .map(|s: &PhaseSample| s.compute_timestamp_s.unwrap_or(s.compute_wall_s))
            .collect(),
    )
    .map_or(f64::NAN, |s| s.median_s);
    drop(problem);

    let input = uniform_f32(COMPUTE_ELEMENTS, 3, 0);
    let ceiling = gpu_probe(context, &input, &[COMPUTE_FMAS], options, || {})?;
    Ok(MachineModel {
        upload,
        download,
        device_bandwidth_gbs: copy.cost(elements as u64).device_bytes as f64 / compute / 1e9,
        device_probe_bytes: 8 * elements as u64,
        device_gflops: ceiling.first().map_or(f64::NAN, |point| point.gflops),
        dispatch_round_trip_s: sample_stats(
            MeasureOptions { warmup: 2, runs: 9 },
            || empty_submission(context, "probing the round trip"),
            |_, _| {},
        )?
        .median_s,
    })
}

/// The link each way, fitted over [`LINK_BYTES`] (capped by the adapter's largest buffer).
fn link(
    context: &GpuContext,
    options: MeasureOptions,
) -> Result<(
    crate::measure::fit::LatencyBandwidth,
    crate::measure::fit::LatencyBandwidth,
)> {
    let largest = LINK_BYTES[3].min(context.adapter.max_buffer_bytes / 4 * 4);
    let host = AlignedVec::<u8>::filled(largest as usize, 7);
    let mut back = AlignedVec::<u8>::filled(largest as usize, 0);
    let array = DeviceArray::new(context, "probe", largest, Role::InputOutput)?;
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for bytes in LINK_BYTES.map(|bytes| bytes.min(largest)) {
        let (source, back) = (&host[..bytes as usize], &mut back[..bytes as usize]);
        let upload = sample_stats(
            options,
            || upload_timed(context, &[(&array, source)]),
            |_, _| {},
        )?;
        let download = sample_stats(
            options,
            || {
                download_timed(
                    context,
                    &mut [Download {
                        array: &array,
                        host: &mut *back,
                    }],
                )
            },
            |_, _| {},
        )?;
        up.push((bytes as f64, upload.median_s));
        down.push((bytes as f64, download.median_s));
    }
    let fit = |points: &[(f64, f64)], what: &str| {
        fit_latency_bandwidth(points).ok_or_else(|| {
            Error::gpu(
                format!("probing the {what} link"),
                "times did not grow with size",
            )
        })
    };
    Ok((fit(&up, "upload")?, fit(&down, "download")?))
}
