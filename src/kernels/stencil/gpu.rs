//! The stencil on the GPU, in two variants.
//!
//! - `resident`: the initial field is uploaded once, every step runs on the device (all steps are
//!   dispatches of one compute pass, ping-ponging between two device buffers; wgpu puts a barrier
//!   between dispatches), and the result is downloaded once.
//! - `roundtrip`: the field lives on the host between steps. Each step uploads it, runs one step
//!   and downloads the result, as a time loop that offloads only its inner step does. A sample's
//!   upload phase is the sum of the steps' uploads, its download phase the sum of their
//!   downloads, and its compute phase the sum of the steps' computations (timestamps when every
//!   step had a valid pair, else the host clock), so the record's phases show the steps× larger
//!   transfers directly.
//!
//! Fields larger than one storage binding are processed in bands of whole rows. A band's input
//! window includes the row above and the row below (its halo) and starts at the aligned offset at
//! or before them; the shader gets the band's position inside each window in a small uniform.
//! When one row plus its halo does not fit in a binding, the set-up refuses with a usage error.

use super::{DIFFUSION, Field, StencilProblem, step_fields};
use crate::error::{Error, Result};
use crate::gpu::pipeline::CompiledPipeline;
use crate::gpu::timed_compute_pass;
use crate::gpu::transfer::Role;
use crate::gpu::{
    DeviceArray, Download, GpuContext, PassTimer, ShaderSpec, download_timed, upload_timed,
};
use crate::kernels::{GpuRun, GpuSetup};
use crate::phase::PhaseSample;
use std::sync::Arc;
use std::time::Instant;
use wgpu::util::DeviceExt;

/// Where the field stays between steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Residency {
    /// On the device for all steps.
    Resident,
    /// Back to the host after every step.
    Roundtrip,
}

impl Residency {
    /// The variant's name; `None` is the default, `resident`.
    pub(crate) fn parse(variant: Option<&str>) -> Result<Residency> {
        match variant {
            None | Some("resident") => Ok(Residency::Resident),
            Some("roundtrip") => Ok(Residency::Roundtrip),
            Some(other) => Err(Error::usage(format!(
                "stencil has no GPU variant '{other}'; it has resident, roundtrip"
            ))),
        }
    }
}

/// One band of rows and the windows of the fields it binds (all in f32 elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BandPlan {
    pub first_row: u64,
    pub rows: u64,
    /// Input window: aligned start and length; covers rows first_row − 1 .. first_row + rows + 1
    /// clipped to the grid.
    pub in_first: u64,
    pub in_count: u64,
    /// Output window: aligned start and length; covers the band's rows.
    pub out_first: u64,
    pub out_count: u64,
}

/// Splits an n × n field into bands whose windows each fit `chunk` elements, with window starts
/// on multiples of `align` elements (`chunk` is one too). `None` when a single row with its halo
/// (and the alignment slack) does not fit.
pub(crate) fn plan_bands(n: u64, chunk: u64, align: u64) -> Option<Vec<BandPlan>> {
    let total = n.checked_mul(n)?;
    let rows_per_band = if total <= chunk {
        n
    } else {
        // (rows + 2)·n + (align − 1) ≤ chunk: the halo rows, and a start moved back to alignment.
        let fit = (chunk + 1).saturating_sub(align) / n;
        if fit < 3 {
            return None;
        }
        fit - 2
    };
    let mut bands = Vec::new();
    let mut first_row = 0;
    while first_row < n {
        let rows = rows_per_band.min(n - first_row);
        let in_first = first_row.saturating_sub(1) * n / align * align;
        let in_end = (first_row + rows + 1).min(n) * n;
        let out_first = first_row * n / align * align;
        let out_end = (first_row + rows) * n;
        bands.push(BandPlan {
            first_row,
            rows,
            in_first,
            in_count: in_end - in_first,
            out_first,
            out_count: out_end - out_first,
        });
        first_row += rows;
    }
    Some(bands)
}

/// The step shader (`shaders/stencil.wgsl`) compiled for `context`, and its workgroup tile
/// (x along a row, y across rows). The catalogue's GPU stencil and the distributed stencil's
/// GPU slab both step with it.
pub(crate) fn step_pipeline(context: &GpuContext) -> Result<(CompiledPipeline, (u32, u32))> {
    let limits = context.device.limits();
    let tile_x = 16u32.min(limits.max_compute_workgroup_size_x);
    let tile_y =
        (context.workgroup_size(256) / tile_x).clamp(1, limits.max_compute_workgroup_size_y.max(1));
    let compiled = context.pipelines().get(
        context,
        &ShaderSpec {
            label: "stencil",
            source: include_str!("../../../shaders/stencil.wgsl"),
            entry_point: "step",
            constants: vec![
                ("TILE_X", tile_x as f64),
                ("TILE_Y", tile_y as f64),
                ("DIFFUSION", DIFFUSION as f64),
            ],
        },
    )?;
    Ok((compiled, (tile_x, tile_y)))
}

/// The bind groups of one band for each (source, destination) pair a step can use, and its
/// workgroup counts.
struct Band {
    /// Indexed by [`pair_index`]; `None` for pairs the variant never uses.
    groups: Vec<Option<wgpu::BindGroup>>,
    workgroups: (u32, u32),
    _params: wgpu::Buffer,
}

/// The (source, destination) pairs of [`step_fields`], in the order of [`Band::groups`].
const PAIRS: [(Field, Field); 4] = [
    (Field::Initial, Field::Output),
    (Field::Initial, Field::Scratch),
    (Field::Scratch, Field::Output),
    (Field::Output, Field::Scratch),
];

fn pair_index(pair: (Field, Field)) -> usize {
    PAIRS
        .iter()
        .position(|p| *p == pair)
        .unwrap_or_else(|| unreachable!("no step goes {pair:?}"))
}

/// The stencil set up on the GPU.
pub(crate) struct StencilGpu<'a> {
    context: &'a GpuContext,
    problem: &'a mut StencilProblem,
    residency: Residency,
    initial: DeviceArray,
    output: DeviceArray,
    /// The second buffer of the resident ping-pong (the round trip needs none).
    _scratch: Option<DeviceArray>,
    pipeline: Arc<wgpu::ComputePipeline>,
    bands: Vec<Band>,
    timer: Option<PassTimer>,
    setup: GpuSetup,
}

impl<'a> StencilGpu<'a> {
    pub(crate) fn new(
        problem: &'a mut StencilProblem,
        context: &'a GpuContext,
        residency: Residency,
    ) -> Result<Self> {
        let n = problem.n as u64;
        let limits = context.device.limits();
        let align = (limits.min_storage_buffer_offset_alignment.max(4) / 4) as u64;
        let chunk = context.chunk_elements(4);
        let plans = plan_bands(n, chunk, align).ok_or_else(|| {
            Error::usage(format!(
                "--size {n}: one grid row and its two halo rows ({} bytes) do not fit in one GPU storage binding of {} bytes; use a smaller --size",
                3 * 4 * n,
                context.max_binding_bytes
            ))
        })?;

        let (compiled, (tile_x, tile_y)) = step_pipeline(context)?;

        let started = Instant::now();
        let bytes = 4 * n * n;
        let initial = DeviceArray::new(context, "stencil initial", bytes, Role::Input)?;
        let output = DeviceArray::new(context, "stencil output", bytes, Role::Output)?;
        let scratch = match residency {
            Residency::Resident => Some(DeviceArray::new(
                context,
                "stencil scratch",
                bytes,
                Role::Scratch,
            )?),
            Residency::Roundtrip => None,
        };
        let layout = compiled.pipeline.get_bind_group_layout(0);
        let max_groups = context.adapter.max_workgroups_per_dimension;
        let bands = context.scoped("creating the stencil's bind groups", || {
            plans
                .iter()
                .map(|plan| {
                    let params: [u32; 8] = [
                        n as u32,
                        plan.rows as u32,
                        plan.first_row as u32,
                        (plan.first_row * n - plan.in_first) as u32,
                        (plan.first_row * n - plan.out_first) as u32,
                        n as u32, // grid rows
                        0,
                        0,
                    ];
                    let params =
                        context
                            .device
                            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                                label: Some("stencil band"),
                                contents: bytemuck::cast_slice(&params),
                                usage: wgpu::BufferUsages::UNIFORM,
                            });
                    let field = |which: Field| match which {
                        Field::Initial => Some(&initial),
                        Field::Output => Some(&output),
                        Field::Scratch => scratch.as_ref(),
                    };
                    // Round trip: only initial → output; the others are never used.
                    let groups = PAIRS
                        .iter()
                        .map(|&(source, destination)| {
                            let (source, destination) = (field(source)?, field(destination)?);
                            Some(
                                context
                                    .device
                                    .create_bind_group(&wgpu::BindGroupDescriptor {
                                        label: Some("stencil step"),
                                        layout: &layout,
                                        entries: &[
                                            wgpu::BindGroupEntry {
                                                binding: 0,
                                                resource: params.as_entire_binding(),
                                            },
                                            wgpu::BindGroupEntry {
                                                binding: 1,
                                                resource: source.binding(
                                                    plan.in_first,
                                                    plan.in_count,
                                                    4,
                                                ),
                                            },
                                            wgpu::BindGroupEntry {
                                                binding: 2,
                                                resource: destination.binding(
                                                    plan.out_first,
                                                    plan.out_count,
                                                    4,
                                                ),
                                            },
                                        ],
                                    }),
                            )
                        })
                        .collect();
                    let groups_for = |count: u64, tile: u32| {
                        count.div_ceil(tile as u64).clamp(1, max_groups as u64) as u32
                    };
                    Band {
                        groups,
                        workgroups: (groups_for(n, tile_x), groups_for(plan.rows, tile_y)),
                        _params: params,
                    }
                })
                .collect::<Vec<_>>()
        })?;
        let timer = PassTimer::new(context)?;
        let buffers_s = started.elapsed().as_secs_f64();
        Ok(StencilGpu {
            context,
            problem,
            residency,
            initial,
            output,
            _scratch: scratch,
            pipeline: compiled.pipeline,
            bands,
            timer,
            setup: GpuSetup {
                shader_compile_s: compiled.compile_s,
                buffers_s,
            },
        })
    }

    /// Encodes, submits and waits for `steps` (1-based step numbers of the run) in one compute
    /// pass; returns (host seconds, timestamp seconds).
    fn compute(&self, steps: impl Iterator<Item = u32>) -> Result<(f64, Option<f64>)> {
        let context = self.context;
        let total = self.problem.steps;
        let (wall_s, timestamp_s) =
            timed_compute_pass(context, self.timer.as_ref(), "stencil", &[], |pass| {
                pass.set_pipeline(&self.pipeline);
                for k in steps {
                    let pair = match self.residency {
                        Residency::Resident => pair_index(step_fields(k, total)),
                        // The host holds the field between steps: always initial → output.
                        Residency::Roundtrip => pair_index((Field::Initial, Field::Output)),
                    };
                    for band in &self.bands {
                        let group = band.groups[pair].as_ref().ok_or_else(|| {
                            Error::gpu("encoding stencil steps", "a step uses an unbound pair")
                        })?;
                        pass.set_bind_group(0, group, &[]);
                        pass.dispatch_workgroups(band.workgroups.0, band.workgroups.1, 1);
                    }
                }
                Ok(())
            })?;
        Ok((wall_s, timestamp_s))
    }

    fn download(&mut self) -> Result<f64> {
        download_timed(
            self.context,
            &mut [Download {
                array: &self.output,
                host: self.problem.output.as_bytes_mut(),
            }],
        )
    }
}

impl GpuRun for StencilGpu<'_> {
    fn sample(&mut self) -> Result<PhaseSample> {
        let context = self.context;
        let steps = self.problem.steps;
        match self.residency {
            Residency::Resident => {
                let upload_s =
                    upload_timed(context, &[(&self.initial, self.problem.initial.as_bytes())])?;
                let (compute_wall_s, compute_timestamp_s) = self.compute(1..=steps)?;
                let download_s = self.download()?;
                Ok(PhaseSample {
                    upload_s: Some(upload_s),
                    compute_wall_s,
                    compute_timestamp_s,
                    download_s: Some(download_s),
                })
            }
            Residency::Roundtrip => {
                let (mut upload_s, mut download_s, mut compute_wall_s) = (0.0, 0.0, 0.0);
                let mut compute_timestamp_s = Some(0.0);
                for k in 1..=steps {
                    // Step 1 starts from the initial field, every later step from the field
                    // the previous step brought back to the host.
                    let host = if k == 1 {
                        self.problem.initial.as_bytes()
                    } else {
                        self.problem.output.as_bytes()
                    };
                    upload_s += upload_timed(context, &[(&self.initial, host)])?;
                    let (wall_s, timestamp_s) = self.compute(k..=k)?;
                    compute_wall_s += wall_s;
                    compute_timestamp_s = compute_timestamp_s.zip(timestamp_s).map(|(a, b)| a + b);
                    download_s += self.download()?;
                }
                Ok(PhaseSample {
                    upload_s: Some(upload_s),
                    compute_wall_s,
                    compute_timestamp_s,
                    download_s: Some(download_s),
                })
            }
        }
    }

    fn setup(&self) -> GpuSetup {
        self.setup
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_every_row_once_with_their_halos_inside_aligned_windows() {
        for (n, chunk, align) in [(5, 1024, 8), (67, 1024, 8), (131, 1024, 8), (131, 4096, 64)] {
            let bands = plan_bands(n, chunk, align).unwrap();
            let mut next_row = 0;
            for band in &bands {
                assert_eq!(band.first_row, next_row);
                next_row += band.rows;
                assert!(band.in_first % align == 0 && band.out_first % align == 0);
                assert!(band.in_count <= chunk && band.out_count <= chunk);
                let halo_first = band.first_row.saturating_sub(1) * n;
                let halo_end = (band.first_row + band.rows + 1).min(n) * n;
                assert!(band.in_first <= halo_first && band.in_first + band.in_count >= halo_end);
                assert!(band.out_first <= band.first_row * n);
                assert_eq!(
                    band.out_first + band.out_count,
                    (band.first_row + band.rows) * n
                );
            }
            assert_eq!(next_row, n);
            assert_eq!(bands.len() == 1, n * n <= chunk, "n={n}");
        }
        assert!(plan_bands(600, 1024, 8).is_none());
    }
}
