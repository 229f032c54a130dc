//! Host↔device transfers from a few KiB up to the largest buffer: bandwidth per size for each
//! upload path and for readback, and the fitted t(bytes) = latency + bytes / bandwidth.
//!
//! Every upload path is a CPU copy into staging memory (host memory, or device memory the CPU
//! can write through a resizable BAR) followed by a device copy into the storage buffer. What is
//! timed is that whole path: the bus between host and device bounds it, but it is not the bus.

use super::{gpu_name, sample_stats};
use crate::cpu::AlignedVec;
use crate::environment::Provenance;
use crate::error::{Error, Result};
use crate::gpu::transfer::{
    Role, UploadPipeline, upload_pipelined_timed, upload_write_buffer_timed,
    upload_write_buffer_with_timed,
};
use crate::gpu::{DeviceArray, Download, GpuContext, download_timed, upload_timed};
use crate::measure::Stats;
use crate::measure::fit::{LatencyBandwidth, fit_latency_bandwidth};
use crate::measure::runner::MeasureOptions;
use crate::report::csv::{self, Number};
use crate::report::format::{NONE, rate, seconds};
use crate::report::heading::{Machine, machine_lines};
use crate::report::plot::{Axis, Chart, Series, Unit, rate_bar};
use crate::report::progress::Progress;
use crate::report::table::Rows;
use crate::report::{Document, to_json};
use crate::size::{format_bytes, format_count};
use serde::Serialize;

/// The ways bytes travel, in table order: the names the JSON's `path` values use.
pub const PATHS: [&str; 5] = [
    "write_buffer",
    "staging",
    "write_buffer_with",
    "pipelined",
    "readback",
];

/// What each of [`PATHS`] does, in the same order: the line under the table and the JSON's
/// `paths[].description`.
pub const DESCRIPTIONS: [&str; 5] = [
    "queue.write_buffer: CPU copy into a staging buffer wgpu allocates per call, then a device copy",
    "CPU copy into our reused mapped staging buffer, then copy_buffer_to_buffer (what `run` uses)",
    "queue.write_buffer_with: CPU copy into the mapped staging view wgpu hands out, then a device copy",
    "4 threads copy chunks (a quarter of the size, at most 4 MiB) into 4 reused mapped staging buffers while the device copies earlier ones",
    "device copy into our reused mapped readback buffer, then a CPU copy out into host memory",
];

/// A path's name and what it does.
#[derive(Debug, Clone, Serialize)]
pub struct TransferPath {
    /// One of [`PATHS`].
    pub name: &'static str,
    pub description: &'static str,
}

/// Every path with its description, in table order.
pub fn paths() -> Vec<TransferPath> {
    PATHS
        .iter()
        .zip(DESCRIPTIONS)
        .map(|(&name, description)| TransferPath { name, description })
        .collect()
}

/// One size on one path.
#[derive(Debug, Clone, Serialize)]
pub struct TransferPoint {
    /// One of [`PATHS`]; `paths` in the document says what each does.
    pub path: &'static str,
    pub bytes: u64,
    pub time: Stats,
    /// bytes / median time, GB/s.
    pub bandwidth_gbs: f64,
}

/// The CSV row of one size on one path.
#[derive(Serialize, Default)]
struct TransferRow {
    path: &'static str,
    bytes: u64,
    median_s: Number,
    min_s: Number,
    max_s: Number,
    bandwidth_gbs: Number,
}

/// The fitted t(bytes) model of one path.
#[derive(Debug, Clone, Serialize)]
pub struct PathFit {
    pub path: &'static str,
    #[serde(flatten)]
    pub fit: LatencyBandwidth,
}

/// The output of `hpclab transfer`.
#[derive(Debug, Clone, Serialize)]
pub struct TransferDocument {
    /// Version, command line and machine.
    #[serde(flatten)]
    pub provenance: Provenance,
    pub runs: usize,
    pub warmup: usize,
    /// The paths measured, each with what it does.
    pub paths: Vec<TransferPath>,
    /// Every (path, size) measured.
    pub points: Vec<TransferPoint>,
    /// One fit per path: `latency_s`, `bandwidth_gbs`, `r_squared`.
    pub fits: Vec<PathFit>,
    /// True when every path delivered every byte intact.
    pub verified: bool,
}

/// The sizes measured: doubling from `min` to `max`, `max` included.
pub fn sizes(min: u64, max: u64) -> Vec<u64> {
    let mut sizes = Vec::new();
    let mut bytes = min.max(4).next_multiple_of(4);
    while bytes < max {
        sizes.push(bytes);
        bytes *= 2;
    }
    sizes.push(max.next_multiple_of(4));
    sizes
}

/// Measures every path at every size on `context`.
pub fn measure(
    context: &GpuContext,
    sizes: &[u64],
    options: MeasureOptions,
    command: String,
    quiet: bool,
) -> Result<TransferDocument> {
    let largest = *sizes
        .last()
        .ok_or_else(|| Error::usage("no transfer sizes"))?;
    let mut host = AlignedVec::<u8>::zeroed(largest as usize);
    for (i, byte) in host.iter_mut().enumerate() {
        *byte = (i % 251) as u8;
    }
    let mut back = AlignedVec::<u8>::filled(largest as usize, 0);
    let device = DeviceArray::new(context, "transfer", largest, Role::InputOutput)?;
    let progress = Progress::new(
        (sizes.len() * PATHS.len() * (options.warmup + options.runs)) as u64,
        "samples",
        quiet,
    );
    let read_back = |host: &mut [u8]| {
        download_timed(
            context,
            &mut [Download {
                array: &device,
                host,
            }],
        )
    };
    let mut points = Vec::new();
    let mut verified = true;
    for &bytes in sizes {
        let (source, back) = (&host[..bytes as usize], &mut back[..bytes as usize]);
        // Its chunks depend on the size; allocated outside the timed samples.
        let pipeline = UploadPipeline::for_upload(context, bytes)?;
        for path in PATHS {
            progress.set_message(format!("{path} {}", format_bytes(bytes)));
            let time = sample_stats(
                options,
                || match path {
                    "write_buffer" => upload_write_buffer_timed(context, &device, source),
                    "staging" => upload_timed(context, &[(&device, source)]),
                    "write_buffer_with" => upload_write_buffer_with_timed(context, &device, source),
                    "pipelined" => upload_pipelined_timed(context, &pipeline, &device, source),
                    _ => read_back(back),
                },
                |_, _| progress.step(),
            )?;
            // Every upload path is checked by reading the bytes back; readback by the same bytes.
            back.fill(0);
            read_back(back)?;
            verified &= *back == *source;
            points.push(TransferPoint {
                path,
                bytes,
                bandwidth_gbs: bytes as f64 / time.median_s / 1e9,
                time,
            });
        }
    }
    progress.finish();
    let fits = PATHS
        .iter()
        .filter_map(|&path| {
            let data: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.path == path)
                .map(|p| (p.bytes as f64, p.time.median_s))
                .collect();
            fit_latency_bandwidth(&data).map(|fit| PathFit { path, fit })
        })
        .collect();
    Ok(TransferDocument {
        provenance: super::provenance(command, Some(context)),
        runs: options.runs,
        warmup: options.warmup,
        paths: paths(),
        points,
        fits,
        verified,
    })
}

impl Document for TransferDocument {
    fn warnings(&self) -> &[String] {
        &self.provenance.warnings
    }

    fn verified(&self) -> bool {
        self.verified
    }

    fn heading(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "transfer · {} sizes · {} runs after {} warm-up · GB/s = bytes / median time",
            self.points.len() / PATHS.len(),
            self.runs,
            self.warmup
        )];
        lines.extend(machine_lines(
            &self.provenance.environment,
            Machine {
                software: Some("host memory copies, not a real link"),
                ..Machine::default()
            },
        ));
        lines
    }

    fn tables(&self) -> Vec<Rows> {
        let mut header = vec!["size".to_string()];
        header.extend(PATHS.iter().map(|p| format!("{p} GB/s")));
        header.push("staging time".into());
        let sizes: Vec<u64> = self
            .points
            .iter()
            .filter(|p| p.path == PATHS[0])
            .map(|p| p.bytes)
            .collect();
        let rows = sizes
            .iter()
            .map(|&bytes| {
                let at = |path: &str| {
                    self.points
                        .iter()
                        .find(|p| p.bytes == bytes && p.path == path)
                };
                let mut row = vec![format!("{} ({})", format_bytes(bytes), format_count(bytes))];
                row.extend(
                    PATHS
                        .iter()
                        .map(|&path| at(path).map_or(NONE.into(), |p| rate(p.bandwidth_gbs))),
                );
                row.push(at("staging").map_or(NONE.into(), |p| seconds(p.time.median_s)));
                row
            })
            .collect();
        vec![Rows {
            header,
            rows,
            numeric: (1..=PATHS.len() + 1).collect(),
            droppable: [
                "staging time",
                "write_buffer_with GB/s",
                "write_buffer GB/s",
            ]
            .map(String::from)
            .to_vec(),
        }]
    }

    fn footer(&self) -> Vec<String> {
        let mut lines = vec![
            "each upload = a CPU copy into staging memory (host memory, or VRAM through resizable BAR) + a device copy: \
             bounded by the bus, not the bus itself"
                .to_string(),
        ];
        lines.extend(
            self.paths
                .iter()
                .map(|p| format!("{:<18} {}", p.name, p.description)),
        );
        lines.push(
            "fitted t(bytes) = latency + bytes / bandwidth, least squares on relative error:"
                .into(),
        );
        lines.extend(self.fits.iter().map(|f| {
            format!(
                "{:<18} t = {} + bytes / {} GB/s   ({})",
                f.path,
                seconds(f.fit.latency_s),
                rate(f.fit.bandwidth_gbs),
                f.fit.r_squared_text()
            )
        }));
        // A path left out of the fits says so rather than vanishing from the list.
        lines.extend(
            self.paths
                .iter()
                .filter(|p| !self.fits.iter().any(|f| f.path == p.name))
                .map(|p| format!("{:<18} no fit: its times do not grow with size", p.name)),
        );
        lines.push(if self.verified {
            "every byte arrived intact on every path".into()
        } else {
            "VERIFICATION FAILED: bytes differ after a transfer".into()
        });
        lines
    }

    fn csv(&self) -> Result<String> {
        csv::write(self.points.iter().map(|p| TransferRow {
            path: p.path,
            bytes: p.bytes,
            median_s: Number(p.time.median_s),
            min_s: Number(p.time.min_s),
            max_s: Number(p.time.max_s),
            bandwidth_gbs: Number(p.bandwidth_gbs),
        }))
    }

    fn json(&self) -> Result<serde_json::Value> {
        to_json(self)
    }

    /// GB/s against size, log–log, one line per path, and each path's fitted model dashed in
    /// its colour.
    fn chart(&self) -> Option<Chart> {
        let on = |path: &'static str| self.points.iter().filter(move |p| p.path == path);
        let mut series: Vec<Series> = PATHS
            .iter()
            .enumerate()
            .map(|(index, &path)| {
                let points = on(path).map(|p| (p.bytes as f64, p.bandwidth_gbs));
                let bars = on(path).map(|p| rate_bar(p.bytes as f64, p.bandwidth_gbs, &p.time));
                Series::measured(path, points.collect())
                    .bars(bars.collect())
                    .color(index)
            })
            .collect();
        for (index, fit) in self.fits.iter().enumerate() {
            let LatencyBandwidth {
                latency_s,
                bandwidth_gbs,
                ..
            } = fit.fit;
            let model = on(fit.path).map(|p| {
                let bytes = p.bytes as f64;
                (
                    bytes,
                    bytes / (latency_s + bytes / (bandwidth_gbs * 1e9)) / 1e9,
                )
            });
            let color = PATHS.iter().position(|p| *p == fit.path).unwrap_or(index);
            let name = format!(
                "{} model: {} + bytes / {} GB/s",
                fit.path,
                seconds(latency_s),
                rate(bandwidth_gbs)
            );
            series.push(Series::model(name, model.collect()).color(color));
        }
        let title = format!(
            "Host↔device transfers on {} (bars: min–max)",
            gpu_name(&self.provenance.environment)
        );
        let chart = Chart::new(
            title,
            Axis::log("transfer size", Unit::Bytes),
            Axis::log("bandwidth (GB/s, 10^9 B/s)", Unit::Number),
        );
        Some(chart.with_series(series))
    }
}

#[cfg(test)]
mod tests {
    use super::{DESCRIPTIONS, PATHS, sizes};
    use crate::gpu::UploadPipeline;

    #[test]
    fn the_pipelined_description_states_the_pipelines_shape() {
        let pipelined = PATHS.iter().position(|&p| p == "pipelined").unwrap();
        let text = DESCRIPTIONS[pipelined];
        assert!(text.contains(&format!("{} threads", UploadPipeline::BUFFERS)));
        assert!(text.contains(&format!("{} reused", UploadPipeline::BUFFERS)));
        assert_eq!(
            UploadPipeline::MAX_CHUNK,
            4 << 20,
            "the text says at most 4 MiB"
        );
    }

    #[test]
    fn sizes_double_and_end_at_max() {
        assert_eq!(sizes(4096, 32768), vec![4096, 8192, 16384, 32768]);
        assert_eq!(sizes(4096, 20000), vec![4096, 8192, 16384, 20000]);
        assert_eq!(sizes(4096, 4096), vec![4096]);
    }
}
