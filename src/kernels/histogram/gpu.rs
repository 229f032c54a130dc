//! The byte histogram on the GPU: the bytes uploaded packed four per u32, bound chunk by chunk,
//! counted into 256 u32 bins by global atomics or by per-workgroup private bins.

use super::HistogramProblem;
use super::cpu::BINS;
use crate::error::Result;
use crate::gpu::timed_compute_pass;
use crate::gpu::transfer::Role;
use crate::gpu::{
    DeviceArray, Download, GpuContext, PassTimer, ShaderSpec, download_timed, upload_timed,
};
use crate::kernels::{GpuRun, GpuSetup};
use crate::phase::PhaseSample;
use std::sync::Arc;
use std::time::Instant;

/// How the GPU counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    /// One atomicAdd per byte on 256 global bins.
    GlobalAtomics,
    /// Per-workgroup bins in workgroup memory, then one global atomicAdd per bin.
    Private,
}

/// The most workgroups one chunk's dispatch uses; the grid-stride loop covers the rest. With
/// `private`, every workgroup costs 256 global atomics at the end, so more is not better.
const MAX_GROUPS_PER_CHUNK: u32 = 1024;

/// Words per chunk at most, so that a chunk's byte count fits the shader's u32.
const MAX_CHUNK_WORDS: u64 = 1 << 29;

pub(super) struct HistogramGpu<'a> {
    context: &'a GpuContext,
    problem: &'a mut HistogramProblem,
    data: DeviceArray,
    bins: DeviceArray,
    pipeline: Arc<wgpu::ComputePipeline>,
    chunks: Vec<(wgpu::BindGroup, u32)>,
    timer: Option<PassTimer>,
    setup: GpuSetup,
    // Kept alive for the bind groups.
    _chunk_info: DeviceArray,
}

impl<'a> HistogramGpu<'a> {
    pub(super) fn new(
        problem: &'a mut HistogramProblem,
        context: &'a GpuContext,
        method: Method,
    ) -> Result<Self> {
        let workgroup_size = context.workgroup_size(256);
        let (label, source) = match method {
            Method::GlobalAtomics => (
                "histogram global-atomics",
                include_str!("../../../shaders/histogram/global_atomics.wgsl"),
            ),
            Method::Private => (
                "histogram private",
                include_str!("../../../shaders/histogram/private.wgsl"),
            ),
        };
        let compiled = context.pipelines().get(
            context,
            &ShaderSpec {
                label,
                source,
                entry_point: "main",
                constants: vec![("WORKGROUP_SIZE", workgroup_size as f64)],
            },
        )?;

        let started = Instant::now();
        let n = problem.n as u64;
        let words = n.div_ceil(4);
        let data = DeviceArray::new(context, "histogram data", 4 * words, Role::Input)?;
        let bins = DeviceArray::new(context, "histogram bins", 4 * BINS as u64, Role::Output)?;
        let chunk = context.chunk_elements(4).min(MAX_CHUNK_WORDS);
        let chunk_count = words.div_ceil(chunk).max(1);
        // One `valid_bytes` word per chunk, each at a binding-offset boundary.
        let stride = (context.device.limits().min_storage_buffer_offset_alignment as u64).max(4);
        let chunk_info = DeviceArray::new(
            context,
            "histogram chunk sizes",
            stride * chunk_count,
            Role::Scratch,
        )?;
        let mut info = vec![0u32; (stride / 4 * chunk_count) as usize];
        for index in 0..chunk_count {
            let first_byte = index * chunk * 4;
            info[(index * stride / 4) as usize] = (n - first_byte).min(chunk * 4) as u32;
        }
        context.scoped("writing the histogram chunk sizes", || {
            context
                .queue
                .write_buffer(&chunk_info.buffer, 0, bytemuck::cast_slice(&info));
        })?;
        context.submit_and_wait([], "writing the histogram chunk sizes")?;
        let layout = compiled.pipeline.get_bind_group_layout(0);
        let chunks = context.scoped("creating bind groups", || {
            (0..chunk_count)
                .map(|index| {
                    let first = index * chunk;
                    let count = chunk.min(words - first).max(1);
                    let group = context
                        .device
                        .create_bind_group(&wgpu::BindGroupDescriptor {
                            label: Some(label),
                            layout: &layout,
                            entries: &[
                                wgpu::BindGroupEntry {
                                    binding: 0,
                                    resource: bins.buffer.as_entire_binding(),
                                },
                                wgpu::BindGroupEntry {
                                    binding: 1,
                                    resource: data.binding(first, count, 4),
                                },
                                wgpu::BindGroupEntry {
                                    binding: 2,
                                    resource: chunk_info.binding(index * stride / 4, 1, 4),
                                },
                            ],
                        });
                    let groups = context
                        .grid_stride_groups(count, workgroup_size)
                        .min(MAX_GROUPS_PER_CHUNK);
                    (group, groups)
                })
                .collect::<Vec<_>>()
        })?;
        let timer = PassTimer::new(context)?;
        let buffers_s = started.elapsed().as_secs_f64();
        Ok(HistogramGpu {
            context,
            problem,
            data,
            bins,
            pipeline: compiled.pipeline,
            chunks,
            timer,
            setup: GpuSetup {
                shader_compile_s: compiled.compile_s,
                buffers_s,
            },
            _chunk_info: chunk_info,
        })
    }
}

impl GpuRun for HistogramGpu<'_> {
    fn sample(&mut self) -> Result<PhaseSample> {
        let context = self.context;
        let upload_s = upload_timed(context, &[(&self.data, self.problem.padded_bytes())])?;

        // The bins start at zero every sample (outside the timed pass, inside the wall time).
        let (compute_wall_s, compute_timestamp_s) = timed_compute_pass(
            context,
            self.timer.as_ref(),
            "histogram",
            &[&self.bins.buffer],
            |pass| {
                pass.set_pipeline(&self.pipeline);
                for (group, workgroups) in &self.chunks {
                    pass.set_bind_group(0, group, &[]);
                    pass.dispatch_workgroups(*workgroups, 1, 1);
                }
                Ok(())
            },
        )?;

        let mut bins = [0u32; BINS];
        let download_s = download_timed(
            context,
            &mut [Download {
                array: &self.bins,
                host: bytemuck::cast_slice_mut(&mut bins),
            }],
        )?;
        for (count, bin) in self.problem.counts.iter_mut().zip(bins) {
            *count = bin as u64;
        }
        Ok(PhaseSample {
            upload_s: Some(upload_s),
            compute_wall_s,
            compute_timestamp_s,
            download_s: Some(download_s),
        })
    }

    fn setup(&self) -> GpuSetup {
        self.setup
    }
}
