//! The roofline: a probe kernel whose arithmetic intensity is tunable (a chain of FMAs per
//! element, from 1/8 to 256 flop/byte) measured on the CPU (rayon + SIMD) and on the GPU; the
//! measured ceilings (memory bandwidth from the memory-bound end, compute from the compute-bound
//! end), the ridge point, and the catalogue kernels placed from their cost models and times.

use super::sample_stats;
use crate::backend::Backend;
use crate::cpu::AlignedVec;
use crate::cpu::info::CacheLevel;
use crate::cpu::parallel::for_chunks1;
use crate::cpu::simd::{F32Lanes, SimdKernel, dispatch};
use crate::environment::Provenance;
use crate::error::{Error, Result};
use crate::experiments::probe::DEVICE_PROBE_BYTES;
use crate::gpu::transfer::Role;
use crate::gpu::{
    DeviceArray, Download, GpuContext, PassTimer, ShaderSpec, download_timed, timed_compute_pass,
    upload_timed,
};
use crate::kernels::inputs::uniform_f32;
use crate::measure::Record;
use crate::measure::Stats;
use crate::measure::runner::{MeasureOptions, time_compute};
use crate::report::csv::{self, Number};
use crate::report::format::{NONE, check, rate};
use crate::report::heading::{Machine, machine_lines};
use crate::report::plot::{Axis, Chart, Marker, Series, Shape, Unit, rate_bar};
use crate::report::table::Rows;
use crate::report::{Document, to_json};
use crate::size::{format_bytes, format_count};
use serde::Serialize;

/// FMAs per element of each probe point: 0 (one multiply) up to 1024, i.e. 1/8 to 256 flop/byte.
pub const FMA_CHAINS: [u32; 12] = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const CHAIN_FACTOR: f32 = 0.999;
const CHAIN_ADD: f32 = 0.001;
/// Bytes per element: one f32 read, one written.
const BYTES_PER_ELEMENT: f64 = 8.0;

/// Flops per element of a chain of `fmas` FMAs (a lone multiply when 0).
pub fn flops_per_element(fmas: u32) -> f64 {
    if fmas == 0 { 1.0 } else { 2.0 * fmas as f64 }
}

/// One probe measurement.
#[derive(Debug, Clone, Serialize)]
pub struct ProbePoint {
    /// `cpu` (rayon + SIMD) or `gpu`.
    pub device: &'static str,
    pub fmas_per_element: u32,
    /// Flops per byte moved.
    pub intensity: f64,
    pub time: Stats,
    pub gflops: f64,
    pub bandwidth_gbs: f64,
    pub verified: bool,
}

/// The CSV row of one probe measurement.
#[derive(Serialize, Default)]
struct ProbeRow {
    device: &'static str,
    fmas_per_element: u32,
    intensity: Number,
    median_s: Number,
    gflops: Number,
    bandwidth_gbs: Number,
    verified: bool,
}

/// The measured roof of one device.
#[derive(Debug, Clone, Serialize)]
pub struct Ceilings {
    pub device: &'static str,
    /// The STREAM triad's GB/s at the size of [`bandwidth_probe_size`] (written the way the
    /// STREAM kernels write), or without that record the best memory-bound probe point.
    pub bandwidth_gbs: f64,
    /// What measured the bandwidth: kernel, size, working set and where it lived.
    pub bandwidth_source: String,
    /// Where the bandwidth probe's working set lived (`memory`, `L3`, `device`, …).
    pub bandwidth_resides_in: String,
    /// Best GFLOP/s among all points.
    pub compute_gflops: f64,
    /// compute / bandwidth: the intensity from which the device can be compute-bound.
    pub ridge_flop_per_byte: f64,
}

/// A catalogue kernel placed on the roofline.
#[derive(Debug, Clone, Serialize)]
pub struct KernelPoint {
    pub kernel: String,
    pub backend: String,
    pub size: u64,
    /// Flops / device bytes of its cost model.
    pub intensity: f64,
    pub gflops: f64,
    /// Where its working set lived: a cache-resident point sits above the memory roof.
    pub resides_in: String,
}

impl KernelPoint {
    /// The device whose ceilings it sits under: `gpu` for every GPU row (`gpu`, `gpu tiled`),
    /// `cpu` otherwise.
    pub fn device(&self) -> &'static str {
        match self.backend.split_whitespace().next() == Some("gpu") {
            true => "gpu",
            false => "cpu",
        }
    }
}

/// The output of `hpclab roofline`.
#[derive(Debug, Clone, Serialize)]
pub struct RooflineDocument {
    /// Version, command line and machine.
    #[serde(flatten)]
    pub provenance: Provenance,
    /// Elements of the probe.
    pub size: u64,
    pub points: Vec<ProbePoint>,
    pub ceilings: Vec<Ceilings>,
    pub kernels: Vec<KernelPoint>,
}

struct Chain<'a> {
    out: &'a mut [f32],
    a: &'a [f32],
    fmas: u32,
}

impl SimdKernel for Chain<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: F32Lanes>(self) {
        // Eight independent chains in flight cover the FMA latency of two FMA units.
        const CHAINS: usize = 8;
        let (factor, add) = (S::splat(CHAIN_FACTOR), S::splat(CHAIN_ADD));
        let step = CHAINS * S::LANES;
        let whole = self.a.len() - self.a.len() % step;
        let mut i = 0;
        while i < whole {
            // SAFETY: i + step <= whole <= len of both slices.
            let mut x: [S; CHAINS] =
                std::array::from_fn(|k| unsafe { S::load(self.a.as_ptr().add(i + k * S::LANES)) });
            if self.fmas == 0 {
                x.iter_mut().for_each(|v| *v = v.mul(factor));
            }
            for _ in 0..self.fmas {
                x.iter_mut().for_each(|v| *v = v.mul_add(factor, add));
            }
            for (k, v) in x.into_iter().enumerate() {
                unsafe { v.store(self.out.as_mut_ptr().add(i + k * S::LANES)) };
            }
            i += step;
        }
        for (o, &v) in self.out[whole..].iter_mut().zip(&self.a[whole..]) {
            *o = chain_scalar(v, self.fmas);
        }
    }
}

fn chain_scalar(mut x: f32, fmas: u32) -> f32 {
    if fmas == 0 {
        return x * CHAIN_FACTOR;
    }
    for _ in 0..fmas {
        x = x.mul_add(CHAIN_FACTOR, CHAIN_ADD);
    }
    x
}

/// Checks every 997th element against the chain computed in f64. Each f32 step adds at most one
/// rounding and the chain shrinks earlier errors by 0.999 per step, so the error stays below
/// 2^-24 / (1 − 0.999) ≈ 6e-5; 1.2e-4 allows twice that (non-fused SSE2 steps round twice).
fn verify(input: &[f32], output: &[f32], fmas: u32) -> bool {
    (0..input.len()).step_by(997).all(|i| {
        let mut x = input[i] as f64;
        if fmas == 0 {
            x *= CHAIN_FACTOR as f64;
        }
        for _ in 0..fmas {
            x = x * CHAIN_FACTOR as f64 + CHAIN_ADD as f64;
        }
        (output[i] as f64 - x).abs() <= 1.2e-4
    })
}

/// Flops per byte moved of a chain of `fmas` FMAs.
fn intensity(fmas: u32) -> f64 {
    flops_per_element(fmas) / BYTES_PER_ELEMENT
}

fn point(device: &'static str, fmas: u32, n: usize, time: Stats, verified: bool) -> ProbePoint {
    ProbePoint {
        device,
        fmas_per_element: fmas,
        intensity: intensity(fmas),
        gflops: flops_per_element(fmas) * n as f64 / time.median_s / 1e9,
        bandwidth_gbs: BYTES_PER_ELEMENT * n as f64 / time.median_s / 1e9,
        time,
        verified,
    }
}

/// FMAs per element of the compute-ceiling probe that `run` compares flop rates with: the
/// longest chain, compute-bound at any size.
pub const CEILING_FMAS: u32 = 1024;
/// Elements of that probe: 256 KiB in and out, within L2, so that no memory level interferes.
const CEILING_ELEMENTS: usize = 1 << 17;

/// The CPU's compute ceiling on `threads` threads, GFLOP/s: the probe's [`CEILING_FMAS`] chain
/// (eight interleaved SIMD chains of dependent FMAs per lane), at the fastest of 10 samples: a
/// ceiling is the most the cores reach, and a median of short samples on a shared machine put it
/// below what the kernels then measured. Measured once per thread count in a process (a sweep
/// asks at every size).
pub fn cpu_compute_ceiling(threads: usize) -> Result<f64> {
    static MEASURED: std::sync::Mutex<Vec<(usize, f64)>> = std::sync::Mutex::new(Vec::new());
    let known = MEASURED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .find(|(t, _)| *t == threads)
        .map(|&(_, gflops)| gflops);
    if let Some(gflops) = known {
        return Ok(gflops);
    }
    let options = MeasureOptions {
        warmup: 2,
        runs: 10,
    };
    let points = measure_probe(
        CEILING_ELEMENTS,
        None,
        &[CEILING_FMAS],
        options,
        Some(threads),
        || {},
    )?;
    let gflops = points
        .first()
        .map_or(f64::NAN, |p| p.gflops * p.time.median_s / p.time.min_s);
    MEASURED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push((threads, gflops));
    Ok(gflops)
}

/// Measures the probe at each of `chains` (FMAs per element) on the CPU (on `threads` threads,
/// every core when `None`) and, when given, the GPU.
pub fn measure_probe(
    n: usize,
    gpu: Option<&GpuContext>,
    chains: &[u32],
    options: MeasureOptions,
    threads: Option<usize>,
    mut on_point: impl FnMut(),
) -> Result<Vec<ProbePoint>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| Error::usage(format!("--threads: cannot start the thread pool: {e}")))?;
    let input = uniform_f32(n, 5, 0);
    let mut output = AlignedVec::filled(n, f32::NAN);
    let mut points = Vec::new();
    for &fmas in chains {
        output.fill(f32::NAN);
        let time = sample_stats(
            options,
            || {
                let sample = time_compute(|| {
                    pool.install(|| {
                        for_chunks1(&mut output, &input, |out, a| {
                            dispatch(Chain { out, a, fmas })
                        })
                    })
                });
                Ok(sample.compute_wall_s)
            },
            |_, _| {},
        )?;
        points.push(point("cpu", fmas, n, time, verify(&input, &output, fmas)));
        on_point();
    }
    if let Some(context) = gpu {
        points.extend(gpu_probe(context, &input, chains, options, on_point)?);
    }
    Ok(points)
}

/// Refuses a probe of `n` f32 that one storage binding of `context` cannot hold (made before
/// any work: the CPU probe runs first).
pub fn check_probe_fits(n: u64, context: &GpuContext) -> Result<()> {
    let bytes = n.saturating_mul(4);
    if bytes > context.max_binding_bytes {
        return Err(Error::usage(format!(
            "--size {n}: the GPU probe keeps each array in one storage binding ({bytes} bytes) and this GPU's bindings hold {} bytes, at most {} f32; use a smaller --size or --cpu-only",
            context.max_binding_bytes,
            context.max_binding_bytes / 4
        )));
    }
    Ok(())
}

/// The probe on the GPU at each of `chains`, over `input` (one storage binding at most), timed
/// by the GPU's own clock where it has one.
pub fn gpu_probe(
    context: &GpuContext,
    input: &[f32],
    chains: &[u32],
    options: MeasureOptions,
    mut on_point: impl FnMut(),
) -> Result<Vec<ProbePoint>> {
    let n = input.len();
    check_probe_fits(n as u64, context)?;
    let mut output = AlignedVec::filled(n, f32::NAN);
    let mut points = Vec::new();
    let bytes = 4 * n as u64;
    let device_in = DeviceArray::new(context, "roofline input", bytes, Role::Input)?;
    let device_out = DeviceArray::new(context, "roofline output", bytes, Role::Output)?;
    upload_timed(context, &[(&device_in, bytemuck::cast_slice(input))])?;
    let timer = PassTimer::new(context)?;
    let workgroup_size = context.workgroup_size(256);
    for &fmas in chains {
        let compiled = context.pipelines().get(
            context,
            &ShaderSpec::new(
                "roofline",
                include_str!("../../shaders/roofline.wgsl"),
                "main",
            )
            .constant("WORKGROUP_SIZE", workgroup_size)
            .constant("FMAS", fmas)
            .trusted("one grid-stride loop, i < arrayLength(&result), and a is as long"),
        )?;
        let layout = compiled.pipeline.get_bind_group_layout(0);
        let group = context.scoped("creating the roofline bind group", || {
            context
                .device
                .create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("roofline"),
                    layout: &layout,
                    entries: &[
                        wgpu::BindGroupEntry {
                            binding: 0,
                            resource: device_out.buffer.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 1,
                            resource: device_in.buffer.as_entire_binding(),
                        },
                    ],
                })
        })?;
        let groups = context.grid_stride_groups(n as u64, workgroup_size);
        // The GPU's own clock where it has one.
        let time = sample_stats(
            options,
            || {
                let (wall_s, timestamp_s) =
                    timed_compute_pass(context, timer.as_ref(), "roofline", &[], |pass| {
                        pass.set_pipeline(&compiled.pipeline);
                        pass.set_bind_group(0, &group, &[]);
                        pass.dispatch_workgroups(groups, 1, 1);
                        Ok(())
                    })?;
                Ok(timestamp_s.unwrap_or(wall_s))
            },
            |_, _| {},
        )?;
        output.fill(f32::NAN);
        download_timed(
            context,
            &mut [Download {
                array: &device_out,
                host: output.as_bytes_mut(),
            }],
        )?;
        points.push(point("gpu", fmas, n, time, verify(input, &output, fmas)));
        on_point();
    }
    Ok(points)
}

/// Elements of the STREAM triad that measures a bandwidth ceiling: a working set (three f32
/// arrays) of at least 4× the last-level cache on the CPU and 256 MiB on a GPU, so the figure
/// is memory's, not a cache's.
pub fn bandwidth_probe_size(backend: Backend, caches: &[CacheLevel]) -> u64 {
    let bytes = match backend {
        Backend::Gpu => DEVICE_PROBE_BYTES,
        _ => caches
            .iter()
            .map(|level| 4 * level.bytes)
            .max()
            .unwrap_or(DEVICE_PROBE_BYTES),
    };
    bytes.div_ceil(12)
}

/// The ceilings of each device: compute from its probe points, bandwidth from its STREAM triad
/// record in `stream` (rayon for the CPU), else from its memory-bound probe points.
pub fn ceilings(points: &[ProbePoint], stream: &[Record]) -> Vec<Ceilings> {
    ["cpu", "gpu"]
        .into_iter()
        .filter_map(|device| {
            let mine: Vec<&ProbePoint> = points.iter().filter(|p| p.device == device).collect();
            let triad = stream
                .iter()
                .find(|r| (r.backend == Backend::Gpu) == (device == "gpu") && r.verified);
            let (bandwidth, source, resides_in) = match triad {
                Some(r) => (
                    r.bandwidth_gbs,
                    format!(
                        "STREAM triad ({}), n = {}, working set {} in {}",
                        r.backend,
                        format_count(r.size),
                        format_bytes(r.working_set_bytes),
                        r.resides_in
                    ),
                    r.resides_in.clone(),
                ),
                None => (
                    mine.iter()
                        .filter(|p| p.intensity <= 1.0)
                        .map(|p| p.bandwidth_gbs)
                        .reduce(f64::max)?,
                    "the probe's memory-bound points (no STREAM triad record)".to_string(),
                    "unknown".to_string(),
                ),
            };
            let compute = mine.iter().map(|p| p.gflops).reduce(f64::max)?;
            Some(Ceilings {
                device,
                bandwidth_source: source,
                bandwidth_resides_in: resides_in,
                bandwidth_gbs: bandwidth,
                compute_gflops: compute,
                ridge_flop_per_byte: compute / bandwidth,
            })
        })
        .collect()
}

impl Document for RooflineDocument {
    fn warnings(&self) -> &[String] {
        &self.provenance.warnings
    }

    fn verified(&self) -> bool {
        self.points.iter().all(|p| p.verified)
    }

    fn heading(&self) -> Vec<String> {
        let environment = &self.provenance.environment;
        let mut lines = vec![format!(
            "roofline · probe of {} elements: an FMA chain per element, 8 bytes moved per element",
            format_count(self.size)
        )];
        lines.extend(machine_lines(environment, Machine::threads(environment)));
        lines
    }

    fn tables(&self) -> Vec<Rows> {
        let devices: Vec<&str> = self.ceilings.iter().map(|c| c.device).collect();
        let mut header = vec!["flop/byte".to_string(), "FMAs/element".to_string()];
        for device in &devices {
            header.push(format!("{device} GFLOP/s"));
            header.push(format!("{device} GB/s"));
        }
        header.push("check".into());
        let rows = FMA_CHAINS
            .iter()
            .map(|&fmas| {
                let mut row = vec![
                    format!("{}", intensity(fmas)),
                    if fmas == 0 {
                        "mul".into()
                    } else {
                        fmas.to_string()
                    },
                ];
                let mut ok = true;
                for device in &devices {
                    match self
                        .points
                        .iter()
                        .find(|p| p.device == *device && p.fmas_per_element == fmas)
                    {
                        Some(p) => {
                            ok &= p.verified;
                            row.push(rate(p.gflops));
                            row.push(rate(p.bandwidth_gbs));
                        }
                        None => row.extend([NONE.to_string(), NONE.to_string()]),
                    }
                }
                row.push(check(ok));
                row
            })
            .collect();
        let mut tables = vec![Rows {
            numeric: (0..header.len() - 1).collect(),
            header,
            rows,
            ..Default::default()
        }];
        if !self.kernels.is_empty() {
            tables.push(Rows::new(
                &[
                    "kernel",
                    "backend",
                    "n",
                    "data in",
                    "flop/byte",
                    "GFLOP/s",
                    "bound by",
                ],
                self.kernels
                    .iter()
                    .map(|k| {
                        let ridge = self
                            .ceilings
                            .iter()
                            .find(|c| c.device == k.device())
                            .map(|c| c.ridge_flop_per_byte);
                        vec![
                            k.kernel.clone(),
                            k.backend.clone(),
                            format_count(k.size),
                            k.resides_in.clone(),
                            format!("{:.3}", k.intensity),
                            rate(k.gflops),
                            ridge.map_or(NONE.into(), |r| {
                                if k.intensity < r {
                                    "memory".into()
                                } else {
                                    "compute".into()
                                }
                            }),
                        ]
                    })
                    .collect(),
                vec![4, 5],
            ));
        }
        tables
    }

    fn footer(&self) -> Vec<String> {
        self.ceilings
            .iter()
            .map(|c| {
                format!(
                    "{}: bandwidth ceiling {} GB/s ({}), compute ceiling {} GFLOP/s, ridge point {:.2} flop/byte",
                    c.device,
                    rate(c.bandwidth_gbs),
                    c.bandwidth_source,
                    rate(c.compute_gflops),
                    c.ridge_flop_per_byte
                )
            })
            .chain(std::iter::once(
                "a kernel left of its device's ridge point is memory-bound there; right of it, compute-bound; \
                 one whose data sat in a cache (data in L1d/L2/L3, or device (may fit L2)) can sit above the memory roof"
                    .to_string(),
            ))
            .collect()
    }

    fn csv(&self) -> Result<String> {
        csv::write(self.points.iter().map(|p| ProbeRow {
            device: p.device,
            fmas_per_element: p.fmas_per_element,
            intensity: Number(p.intensity),
            median_s: Number(p.time.median_s),
            gflops: Number(p.gflops),
            bandwidth_gbs: Number(p.bandwidth_gbs),
            verified: p.verified,
        }))
    }

    fn json(&self) -> Result<serde_json::Value> {
        to_json(self)
    }

    /// The classic log–log roofline: each device's measured probe (min–max bars; points above
    /// the memory roof marked as cache-resident), its roof (dotted) with the ridge marked, and
    /// the catalogue kernels as points labelled with their names.
    fn chart(&self) -> Option<Chart> {
        let intensities = self
            .points
            .iter()
            .map(|p| p.intensity)
            .chain(self.kernels.iter().map(|k| k.intensity));
        let low = intensities.clone().fold(f64::INFINITY, f64::min);
        let high = intensities.fold(0.0, f64::max);
        let mut series = Vec::new();
        let mut markers = Vec::new();
        for (index, ceiling) in self.ceilings.iter().enumerate() {
            let device = ceiling.device;
            let gpu = device == "gpu";
            let probe: Vec<&ProbePoint> =
                self.points.iter().filter(|p| p.device == device).collect();
            let (bandwidth, compute) = (ceiling.bandwidth_gbs, ceiling.compute_gflops);
            let ridge = ceiling.ridge_flop_per_byte;
            series.push(
                Series::measured(
                    format!("{device} probe (FMA chains, median; bars: min–max)"),
                    probe.iter().map(|p| (p.intensity, p.gflops)).collect(),
                )
                .bars(
                    probe
                        .iter()
                        .map(|p| rate_bar(p.intensity, p.gflops, &p.time))
                        .collect(),
                )
                .color(index)
                .shape(if gpu { Shape::Triangle } else { Shape::Circle }),
            );
            let roof = [low.min(ridge), ridge, high.max(ridge)]
                .map(|i| (i, (bandwidth * i).min(compute)))
                .to_vec();
            series.push(
                Series::bound(
                    format!(
                        "{device} roof: min({} GB/s × I, {} GFLOP/s)",
                        rate(bandwidth),
                        rate(compute)
                    ),
                    roof,
                )
                .color(index),
            );
            // A probe point well above the bandwidth from memory had its data in a cache.
            let in_cache: Vec<((f64, f64), String)> = probe
                .iter()
                .filter(|p| p.intensity < ridge && p.gflops > 1.1 * bandwidth * p.intensity)
                .enumerate()
                .map(|(n, p)| {
                    let label = if n == 0 { "in cache" } else { "" };
                    ((p.intensity, p.gflops), label.to_string())
                })
                .collect();
            if !in_cache.is_empty() {
                series.push(
                    Series::labelled(
                        format!("{device} probe above its memory roof: data in cache"),
                        in_cache,
                    )
                    .color(index)
                    .shape(Shape::Ring),
                );
            }
            markers.push(Marker {
                x: ridge,
                label: format!("{device} ridge {ridge:.2} flop/B"),
            });
        }
        for (index, gpu) in [(0, false), (1, true)] {
            let kernels: Vec<((f64, f64), String)> = self
                .kernels
                .iter()
                .filter(|k| (k.device() == "gpu") == gpu)
                .map(|k| {
                    let label = format!("{} ({})", k.kernel, k.backend);
                    ((k.intensity, k.gflops), label)
                })
                .collect();
            if kernels.is_empty() {
                continue;
            }
            let device = if gpu { "gpu" } else { "cpu" };
            series.push(
                Series::labelled(format!("{device} kernels (cost model / median)"), kernels)
                    .color(index)
                    .shape(if gpu { Shape::Diamond } else { Shape::Square }),
            );
        }
        let chart = Chart::new(
            "Roofline: attainable GFLOP/s against arithmetic intensity",
            Axis::log("arithmetic intensity I (flop/byte)", Unit::Number),
            Axis::log("GFLOP/s", Unit::Number),
        );
        Some(chart.with_series(series).with_markers(markers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gpu_row_sits_under_the_gpu_ceilings() {
        let point = |backend: &str| KernelPoint {
            kernel: "matmul".into(),
            backend: backend.into(),
            size: 64,
            intensity: 1.0,
            gflops: 1.0,
            resides_in: "memory".into(),
        };
        for backend in ["gpu", "gpu tiled", "gpu naive"] {
            assert_eq!(point(backend).device(), "gpu", "{backend}");
        }
        for backend in ["scalar", "rayon", "library", "numba parallel", "gpuish"] {
            assert_eq!(point(backend).device(), "cpu", "{backend}");
        }
    }
}
