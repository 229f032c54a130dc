//! The GPU backend of the escape-time kernels: `shaders/fractal.wgsl`, one invocation per
//! pixel, the n × n u32 counts bound chunk by chunk when they exceed one storage binding.
//!
//! There is no upload: each chunk's grid parameters sit in a small uniform written once at
//! set-up. The compute pass runs one dispatch per chunk; the download brings back 4·n² bytes.

use super::{FractalProblem, JULIA_C, Set};
use crate::error::Result;
use crate::gpu::timed_compute_pass;
use crate::gpu::transfer::Role;
use crate::gpu::{DeviceArray, Download, GpuContext, PassTimer, ShaderSpec, download_timed};
use crate::kernels::{GpuRun, GpuSetup};
use crate::phase::PhaseSample;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Instant;
use wgpu::util::DeviceExt;

/// The shader's `Params` uniform (32 bytes, std140-compatible: scalars only).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    first_row: u32,
    first_col: u32,
    n: u32,
    max_iter: u32,
    a: f32,
    b: f32,
    step: f32,
    /// Always 0: the shader XORs intermediate results with it to hide them from the compiler.
    zero: u32,
}

const PARAMS_BYTES: u64 = std::mem::size_of::<Params>() as u64;

/// One escape-time image set up on the GPU.
pub(super) struct FractalGpu<'a> {
    context: &'a GpuContext,
    problem: &'a mut FractalProblem,
    counts: DeviceArray,
    pipeline: Arc<wgpu::ComputePipeline>,
    /// One bind group per chunk of at most one storage binding, with its workgroup count.
    chunks: Vec<(wgpu::BindGroup, u32)>,
    /// Keeps the chunks' uniforms alive.
    _params: wgpu::Buffer,
    timer: Option<PassTimer>,
    setup: GpuSetup,
}

impl<'a> FractalGpu<'a> {
    pub(super) fn new(problem: &'a mut FractalProblem, context: &'a GpuContext) -> Result<Self> {
        let grid = problem.grid;
        let workgroup_size = context.workgroup_size(256);
        let (julia, (c_re, c_im)) = match grid.set {
            Set::Mandelbrot => (0.0, (0.0, 0.0)),
            Set::Julia => (1.0, JULIA_C),
        };
        let compiled = context.pipelines().get(
            context,
            &ShaderSpec {
                label: "fractal",
                source: include_str!("../../../shaders/fractal.wgsl"),
                entry_point: "main",
                constants: vec![
                    ("WORKGROUP_SIZE", workgroup_size as f64),
                    ("JULIA", julia),
                    // f32 → f64 is exact, and the shader converts back to the same f32.
                    ("C_RE", c_re as f64),
                    ("C_IM", c_im as f64),
                ],
            },
        )?;

        let started = Instant::now();
        let pixels = grid.pixels() as u64;
        let counts = DeviceArray::new(context, "fractal counts", 4 * pixels, Role::Output)?;
        let chunk = context.chunk_elements(4);
        let n = grid.n as u64;
        let stride =
            (context.device.limits().min_uniform_buffer_offset_alignment as u64).max(PARAMS_BYTES);
        let firsts: Vec<u64> = (0..pixels).step_by(chunk as usize).collect();
        let mut bytes = vec![0u8; (stride as usize) * firsts.len()];
        for (k, &first) in firsts.iter().enumerate() {
            let params = Params {
                first_row: (first / n) as u32,
                first_col: (first % n) as u32,
                n: n as u32,
                max_iter: grid.max_iter,
                a: grid.a,
                b: grid.b,
                step: grid.step,
                zero: 0,
            };
            let at = k * stride as usize;
            bytes[at..at + PARAMS_BYTES as usize].copy_from_slice(bytemuck::bytes_of(&params));
        }
        let layout = compiled.pipeline.get_bind_group_layout(0);
        let (params, chunks) =
            context.scoped("creating the fractal uniforms and bind groups", || {
                // Written at creation (mapped), outside every timed phase.
                let params = context
                    .device
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some("fractal params"),
                        contents: &bytes,
                        usage: wgpu::BufferUsages::UNIFORM,
                    });
                let chunks = firsts
                    .iter()
                    .enumerate()
                    .map(|(k, &first)| {
                        let count = chunk.min(pixels - first);
                        let group = context
                            .device
                            .create_bind_group(&wgpu::BindGroupDescriptor {
                                label: Some("fractal chunk"),
                                layout: &layout,
                                entries: &[
                                    wgpu::BindGroupEntry {
                                        binding: 0,
                                        resource: counts.binding(first, count, 4),
                                    },
                                    wgpu::BindGroupEntry {
                                        binding: 1,
                                        resource: wgpu::BindingResource::Buffer(
                                            wgpu::BufferBinding {
                                                buffer: &params,
                                                offset: k as u64 * stride,
                                                size: NonZeroU64::new(PARAMS_BYTES),
                                            },
                                        ),
                                    },
                                ],
                            });
                        (group, context.grid_stride_groups(count, workgroup_size))
                    })
                    .collect();
                (params, chunks)
            })?;
        let timer = PassTimer::new(context)?;
        let buffers_s = started.elapsed().as_secs_f64();
        Ok(FractalGpu {
            context,
            problem,
            counts,
            pipeline: compiled.pipeline,
            chunks,
            _params: params,
            timer,
            setup: GpuSetup {
                shader_compile_s: compiled.compile_s,
                buffers_s,
            },
        })
    }
}

impl GpuRun for FractalGpu<'_> {
    fn sample(&mut self) -> Result<PhaseSample> {
        let context = self.context;
        let (compute_wall_s, compute_timestamp_s) =
            timed_compute_pass(context, self.timer.as_ref(), "fractal", &[], |pass| {
                pass.set_pipeline(&self.pipeline);
                for (group, workgroups) in &self.chunks {
                    pass.set_bind_group(0, group, &[]);
                    pass.dispatch_workgroups(*workgroups, 1, 1);
                }
                Ok(())
            })?;

        let download_s = download_timed(
            context,
            &mut [Download {
                array: &self.counts,
                host: self.problem.output.as_bytes_mut(),
            }],
        )?;
        Ok(PhaseSample {
            // Nothing to upload: the parameters were written at set-up.
            upload_s: None,
            compute_wall_s,
            compute_timestamp_s,
            download_s: Some(download_s),
        })
    }

    fn setup(&self) -> GpuSetup {
        self.setup
    }
}
