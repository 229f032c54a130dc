//! A quick measurement of the GPU path: link latency and bandwidth each way, an
//! empty dispatch's round trip and device memory bandwidth — the machine model behind every
//! verdict of `run` and `sweep`. The `transfer` and `latency` experiments measure the same
//! things in full.

use super::latency::empty_submission;
use super::sample_stats;
use crate::cpu::AlignedVec;
use crate::error::{Error, Result};
use crate::gpu::transfer::Role;
use crate::gpu::{DeviceArray, Download, GpuContext, download_timed, upload_timed};
use crate::kernels;
use crate::measure::fit::fit_latency_bandwidth;
use crate::measure::runner::{MeasureOptions, take_samples};
use crate::measure::verdict::MachineModel;
use crate::measure::{PhaseSample, Stats};

/// Sizes of the link probe: one latency-dominated, one bandwidth-dominated.
const LINK_BYTES: [u64; 2] = [4 << 10, 16 << 20];
/// Elements of the STREAM copy that measures device bandwidth.
const COPY_ELEMENTS: usize = 4 << 20;

/// Measures the machine model on `context`.
pub fn probe(context: &GpuContext) -> Result<MachineModel> {
    let options = MeasureOptions { warmup: 1, runs: 3 };

    let largest = LINK_BYTES[1].min(context.adapter.max_buffer_bytes / 4 * 4);
    let host = AlignedVec::<u8>::filled(largest as usize, 7);
    let mut back = AlignedVec::<u8>::filled(largest as usize, 0);
    let array = DeviceArray::new(context, "probe", largest, Role::InputOutput)?;
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for bytes in [LINK_BYTES[0].min(largest), largest] {
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
    let upload = fit(&up, "upload")?;
    let download = fit(&down, "download")?;

    let copy = kernels::find("copy")
        .ok_or_else(|| Error::gpu("probing device bandwidth", "no copy kernel"))?;
    let mut problem = copy.prepare(COPY_ELEMENTS, 1, &Default::default());
    let samples = {
        let mut run = problem.gpu(context, None)?;
        take_samples(options, || run.sample(), |_, _| {})?
    };
    let median_of = |pick: fn(&PhaseSample) -> f64| {
        Stats::from_samples(samples.iter().map(pick).collect()).map_or(f64::NAN, |s| s.median_s)
    };
    let compute = median_of(|s| s.compute_timestamp_s.unwrap_or(s.compute_wall_s));
    let round_trip = median_of(|s| s.compute_wall_s) - compute;
    Ok(MachineModel {
        upload,
        download,
        device_bandwidth_gbs: copy.cost(COPY_ELEMENTS as u64).device_bytes as f64 / compute / 1e9,
        // Launch and wait overhead seen around the copy (host clock minus GPU timestamps), or
        // an empty submission's round trip when the adapter has no timestamps.
        dispatch_round_trip_s: if round_trip > 0.0 {
            round_trip
        } else {
            empty_round_trip(context)?
        },
    })
}

fn empty_round_trip(context: &GpuContext) -> Result<f64> {
    sample_stats(
        MeasureOptions { warmup: 1, runs: 5 },
        || empty_submission(context, "probing the round trip"),
        |_, _| {},
    )
    .map(|s| s.median_s)
}
