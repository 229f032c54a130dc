//! The performance model of a GPU offload and the verdict on each GPU record: is it
//! transfer-bound, launch-bound, device memory-bound or device compute-bound, by how much, and
//! how does the measured time compare with the time the machine model predicts?

use super::fit::LatencyBandwidth;
use super::record::Record;
use serde::Serialize;

/// What this machine's GPU path can do, measured once per process (see
/// `experiments::probe`): the basis of every prediction.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MachineModel {
    /// Host→device through the staging path: latency and bandwidth.
    pub upload: LatencyBandwidth,
    /// Device→host readback: latency and bandwidth.
    pub download: LatencyBandwidth,
    /// Device memory bandwidth from the STREAM copy kernel, GB/s.
    pub device_bandwidth_gbs: f64,
    /// The copy's working set (source and destination), bytes: large enough to leave the L2.
    pub device_probe_bytes: u64,
    /// The device's compute ceiling from the roofline probe at 64 flop/byte, GFLOP/s.
    pub device_gflops: f64,
    /// Submit-and-wait of one empty dispatch (as `hpclab latency` measures it), seconds: the
    /// launch term.
    pub dispatch_round_trip_s: f64,
}

/// What limits a GPU record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bound {
    /// Moving data over the link takes at least as long as computing.
    TransferBound,
    /// The fixed cost of submitting and waiting dominates the compute phase.
    LaunchBound,
    /// The compute phase dominates, and the device's memory bandwidth limits it.
    DeviceMemoryBound,
    /// The compute phase dominates, and the device's arithmetic limits it.
    DeviceComputeBound,
}

impl Bound {
    /// The word in tables.
    pub fn name(self) -> &'static str {
        match self {
            Bound::TransferBound => "transfer-bound",
            Bound::LaunchBound => "launch-bound",
            Bound::DeviceMemoryBound => "device memory-bound",
            Bound::DeviceComputeBound => "device compute-bound",
        }
    }
}

/// The verdict on one GPU record, with the numbers that decide it.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub bound: Bound,
    /// The deciding numbers in one sentence.
    pub reason: String,
    /// Upload time the link model predicts for the record's upload bytes.
    pub predicted_upload_s: f64,
    /// Compute time the roofline predicts (the larger of device bytes / bandwidth and flops /
    /// compute ceiling), plus one dispatch round trip.
    pub predicted_compute_s: f64,
    /// Download time the link model predicts.
    pub predicted_download_s: f64,
    /// Their sum.
    pub predicted_total_s: f64,
    /// The record's measured total median.
    pub measured_total_s: f64,
}

/// Judges a GPU record against the machine model.
///
/// Transfer-bound when upload + download take at least as long as the compute phase on the
/// host clock; otherwise launch-bound when the compute phase is within 3× of an empty
/// dispatch's round trip (the work itself is too small to hide the launch); else device
/// memory- or compute-bound, whichever roofline term of its cost model is larger.
pub fn judge(record: &Record, model: &MachineModel) -> Verdict {
    let phases = &record.phases;
    let upload = phases.upload.as_ref().map_or(0.0, |s| s.median_s);
    let download = phases.download.as_ref().map_or(0.0, |s| s.median_s);
    let compute_wall = phases
        .compute_wall
        .as_ref()
        .map_or(phases.compute.median_s, |s| s.median_s);
    let total = phases.total.median_s;
    let transfers = upload + download;
    let link = |bytes: u64, fit: &LatencyBandwidth| {
        if bytes == 0 {
            0.0
        } else {
            fit.latency_s + bytes as f64 / (fit.bandwidth_gbs * 1e9)
        }
    };
    let predicted_upload_s = link(record.cost.upload_bytes, &model.upload);
    let predicted_download_s = link(record.cost.download_bytes, &model.download);
    let memory_s = record.cost.device_bytes as f64 / (model.device_bandwidth_gbs * 1e9);
    let arithmetic_s = record.cost.flops as f64 / (model.device_gflops * 1e9);
    let predicted_compute_s = memory_s.max(arithmetic_s) + model.dispatch_round_trip_s;
    let ms = |s: f64| s * 1e3;
    let (bound, reason) = if transfers >= compute_wall {
        (
            Bound::TransferBound,
            format!(
                "transfers take {:.0}% of the total ({:.3} ms up + {:.3} ms down vs {:.3} ms compute on the host clock)",
                100.0 * transfers / total,
                ms(upload),
                ms(download),
                ms(compute_wall)
            ),
        )
    } else if compute_wall < 3.0 * model.dispatch_round_trip_s {
        (
            Bound::LaunchBound,
            format!(
                "the compute phase ({:.3} ms on the host clock) is within 3× of an empty dispatch's round trip ({:.3} ms)",
                ms(compute_wall),
                ms(model.dispatch_round_trip_s)
            ),
        )
    } else {
        let intensity = record.cost.flops as f64 / record.cost.device_bytes.max(1) as f64;
        let ridge = model.device_gflops / model.device_bandwidth_gbs;
        let (bound, side) = if arithmetic_s > memory_s {
            (Bound::DeviceComputeBound, "above")
        } else {
            (Bound::DeviceMemoryBound, "below")
        };
        (
            bound,
            format!(
                "compute takes {:.0}% of the total ({:.3} ms on the host clock vs {:.3} ms of transfers), at {intensity:.2} flop/byte, {side} the device's ridge of {ridge:.1}",
                100.0 * compute_wall / total,
                ms(compute_wall),
                ms(transfers)
            ),
        )
    };
    Verdict {
        bound,
        reason,
        predicted_upload_s,
        predicted_compute_s,
        predicted_download_s,
        predicted_total_s: predicted_upload_s + predicted_compute_s + predicted_download_s,
        measured_total_s: total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::kernels::Cost;
    use crate::measure::PhaseSample;
    use crate::measure::record::test_record;

    fn gpu_record(upload_s: f64, compute_s: f64, download_s: f64, flops: u64) -> Record {
        let cost = Cost {
            device_bytes: 1_000_000_000,
            flops,
            upload_bytes: 2_000_000_000,
            download_bytes: 1_000_000_000,
            items: None,
        };
        let sample = PhaseSample {
            upload_s: Some(upload_s),
            compute_wall_s: compute_s,
            compute_timestamp_s: None,
            download_s: Some(download_s),
        };
        test_record(Backend::Gpu, 1, cost, &[sample])
    }

    const MODEL: MachineModel = MachineModel {
        upload: LatencyBandwidth {
            latency_s: 1e-5,
            bandwidth_gbs: 10.0,
            r_squared: Some(1.0),
        },
        download: LatencyBandwidth {
            latency_s: 1e-5,
            bandwidth_gbs: 20.0,
            r_squared: Some(1.0),
        },
        device_bandwidth_gbs: 1000.0,
        device_probe_bytes: 256 << 20,
        device_gflops: 10_000.0,
        dispatch_round_trip_s: 1e-4,
    };

    #[test]
    fn each_bound_and_the_prediction() {
        let verdict = judge(&gpu_record(0.2, 0.001, 0.05, 0), &MODEL);
        assert_eq!(verdict.bound, Bound::TransferBound);
        assert!(verdict.reason.contains('%'));
        // 2 GB at 10 GB/s + 1 GB at 1000 GB/s + 1 GB at 20 GB/s, plus latencies.
        assert!((verdict.predicted_upload_s - 0.20001).abs() < 1e-9);
        assert!((verdict.predicted_compute_s - 0.0011).abs() < 1e-9);
        assert!((verdict.predicted_download_s - 0.05001).abs() < 1e-9);
        assert!((verdict.measured_total_s - 0.251).abs() < 1e-12);

        assert_eq!(
            judge(&gpu_record(0.0001, 0.0002, 0.0, 0), &MODEL).bound,
            Bound::LaunchBound
        );
        let memory = judge(&gpu_record(0.01, 0.5, 0.01, 2_000_000_000), &MODEL);
        assert_eq!(memory.bound, Bound::DeviceMemoryBound);
        assert!(memory.reason.contains("below the device's ridge of 10.0"));
        // 10^14 flops at 10^13 flop/s outlast 1 GB at 1000 GB/s: the roofline's other term.
        let compute = judge(&gpu_record(0.01, 11.0, 0.01, 100_000_000_000_000), &MODEL);
        assert_eq!(compute.bound, Bound::DeviceComputeBound);
        assert!((compute.predicted_compute_s - 10.0001).abs() < 1e-9);
    }
}
