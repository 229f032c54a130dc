//! The sum of n f32 on the GPU: `tree` and `subgroup` (a partial per workgroup, then one
//! workgroup adds the partials) and `atomics` (each workgroup adds its partial into one global
//! accumulator). The input is bound chunk by chunk when it is larger than one storage binding.

use super::{GpuShape, ReduceProblem, Strategy};
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

/// Partial-sum slots per chunk: the most workgroups one chunk's dispatch uses. A multiple of 64
/// so that each chunk's slots start on the 256-byte binding-offset alignment.
const SLOTS_PER_CHUNK: u64 = 1024;

pub(super) struct ReduceGpu<'a> {
    context: &'a GpuContext,
    problem: &'a mut ReduceProblem,
    x: DeviceArray,
    /// Partials (tree, subgroup; the total ends in slot 0) or the accumulator (atomics).
    result: DeviceArray,
    main_pipeline: Arc<wgpu::ComputePipeline>,
    /// The second pass (tree, subgroup).
    finish: Option<(Arc<wgpu::ComputePipeline>, wgpu::BindGroup)>,
    chunks: Vec<(wgpu::BindGroup, u32)>,
    timer: Option<PassTimer>,
    setup: GpuSetup,
}

impl<'a> ReduceGpu<'a> {
    pub(super) fn new(
        problem: &'a mut ReduceProblem,
        context: &'a GpuContext,
        strategy: Strategy,
    ) -> Result<Self> {
        // The trees need a power of two.
        let workgroup_size = 1u32 << context.workgroup_size(256).ilog2();
        let (label, source, main_entry) = match strategy {
            Strategy::Subgroup => (
                "reduce subgroup",
                include_str!("../../../shaders/reduce/subgroup.wgsl"),
                "partial_sums",
            ),
            Strategy::Atomics => (
                "reduce atomics",
                include_str!("../../../shaders/reduce/atomics.wgsl"),
                "main",
            ),
            _ => (
                "reduce tree",
                include_str!("../../../shaders/reduce/tree.wgsl"),
                "partial_sums",
            ),
        };
        let spec = |entry_point| ShaderSpec {
            label,
            source,
            entry_point,
            constants: vec![("WORKGROUP_SIZE", workgroup_size as f64)],
        };
        let main = context.pipelines().get(context, &spec(main_entry))?;
        let finish = match strategy {
            Strategy::Atomics => None,
            _ => Some(context.pipelines().get(context, &spec("finish"))?),
        };

        let started = Instant::now();
        let n = problem.x.len() as u64;
        let x = DeviceArray::new(context, "reduce x", 4 * n, Role::Input)?;
        let chunk = context.chunk_elements(4);
        let chunk_count = n.div_ceil(chunk).max(1);
        let result_bytes = match strategy {
            Strategy::Atomics => 4,
            _ => 4 * SLOTS_PER_CHUNK * chunk_count,
        };
        let result = DeviceArray::new(context, "reduce result", result_bytes, Role::Output)?;
        let main_layout = main.pipeline.get_bind_group_layout(0);
        let mut shape = GpuShape {
            workgroup_size,
            per_invocation: 0,
            partials: SLOTS_PER_CHUNK * chunk_count,
            groups: 0,
        };
        let chunks = context.scoped("creating bind groups", || {
            (0..chunk_count)
                .map(|index| {
                    let first = index * chunk;
                    let count = chunk.min(n - first).max(1);
                    let output = match strategy {
                        Strategy::Atomics => result.buffer.as_entire_binding(),
                        _ => result.binding(index * SLOTS_PER_CHUNK, SLOTS_PER_CHUNK, 4),
                    };
                    let group = context
                        .device
                        .create_bind_group(&wgpu::BindGroupDescriptor {
                            label: Some(label),
                            layout: &main_layout,
                            entries: &[
                                wgpu::BindGroupEntry {
                                    binding: 0,
                                    resource: output,
                                },
                                wgpu::BindGroupEntry {
                                    binding: 1,
                                    resource: x.binding(first, count, 4),
                                },
                            ],
                        });
                    let groups = context
                        .grid_stride_groups(count, workgroup_size)
                        .min(SLOTS_PER_CHUNK as u32);
                    let invocations = groups as u64 * workgroup_size as u64;
                    shape.per_invocation = shape.per_invocation.max(count.div_ceil(invocations));
                    shape.groups += groups as u64;
                    (group, groups)
                })
                .collect::<Vec<_>>()
        })?;
        let finish = match finish {
            Some(compiled) => {
                let layout = compiled.pipeline.get_bind_group_layout(0);
                let group = context.scoped("creating bind groups", || {
                    context
                        .device
                        .create_bind_group(&wgpu::BindGroupDescriptor {
                            label: Some(label),
                            layout: &layout,
                            entries: &[wgpu::BindGroupEntry {
                                binding: 0,
                                resource: result.buffer.as_entire_binding(),
                            }],
                        })
                })?;
                Some((compiled, group))
            }
            None => None,
        };
        let timer = PassTimer::new(context)?;
        let buffers_s = started.elapsed().as_secs_f64();
        problem.gpu_shape = Some(shape);
        Ok(ReduceGpu {
            context,
            problem,
            x,
            result,
            main_pipeline: main.pipeline,
            setup: GpuSetup {
                shader_compile_s: main.compile_s
                    + finish
                        .as_ref()
                        .map_or(0.0, |(compiled, _)| compiled.compile_s),
                buffers_s,
            },
            finish: finish.map(|(compiled, group)| (compiled.pipeline, group)),
            chunks,
            timer,
        })
    }
}

impl GpuRun for ReduceGpu<'_> {
    fn sample(&mut self) -> Result<PhaseSample> {
        let context = self.context;
        let upload_s = upload_timed(context, &[(&self.x, self.problem.x.as_bytes())])?;

        // The atomic accumulator starts at +0.0 (all bits zero) every sample.
        let clear: &[&wgpu::Buffer] = if self.finish.is_none() {
            &[&self.result.buffer]
        } else {
            &[]
        };
        let (compute_wall_s, compute_timestamp_s) =
            timed_compute_pass(context, self.timer.as_ref(), "reduce", clear, |pass| {
                pass.set_pipeline(&self.main_pipeline);
                for (group, workgroups) in &self.chunks {
                    pass.set_bind_group(0, group, &[]);
                    pass.dispatch_workgroups(*workgroups, 1, 1);
                }
                if let Some((pipeline, group)) = &self.finish {
                    pass.set_pipeline(pipeline);
                    pass.set_bind_group(0, group, &[]);
                    pass.dispatch_workgroups(1, 1, 1);
                }
                Ok(())
            })?;

        let download_s = download_timed(
            context,
            &mut [Download {
                array: &self.result,
                host: self.problem.result.as_bytes_mut(),
            }],
        )?;
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
