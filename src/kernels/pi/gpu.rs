//! Monte Carlo π on the GPU: a 2-D dispatch of (groups, rows) over the sample indices, a
//! workgroup tree of u32 counts, and one workgroup that adds the partials as 64-bit integers.
//! No upload: the points are made on the device from their indices; the download is the count.

use super::PiProblem;
use crate::error::{Error, Result};
use crate::gpu::timed_compute_pass;
use crate::gpu::transfer::Role;
use crate::gpu::{DeviceArray, Download, GpuContext, PassTimer, ShaderSpec, download_timed};
use crate::kernels::{GpuRun, GpuSetup};
use crate::phase::PhaseSample;
use std::sync::Arc;
use std::time::Instant;

/// The most workgroups one row uses: 1024 × 256 invocations keep a large GPU busy, and each
/// invocation still counts thousands of samples of a 2^31-sample row.
const MAX_GROUPS_PER_ROW: u64 = 1024;

pub(super) struct PiGpu<'a> {
    context: &'a GpuContext,
    problem: &'a mut PiProblem,
    total: DeviceArray,
    count_pipeline: Arc<wgpu::ComputePipeline>,
    finish_pipeline: Arc<wgpu::ComputePipeline>,
    count_group: wgpu::BindGroup,
    finish_group: wgpu::BindGroup,
    groups: (u32, u32),
    timer: Option<PassTimer>,
    setup: GpuSetup,
    // Kept alive for the bind groups.
    _buffers: (DeviceArray, DeviceArray),
}

impl<'a> PiGpu<'a> {
    pub(super) fn new(problem: &'a mut PiProblem, context: &'a GpuContext) -> Result<Self> {
        // The tree reduction needs a power of two.
        let workgroup_size = 1u32 << context.workgroup_size(256).ilog2();
        let row_shift = problem.row_shift;
        let spec = |entry_point| ShaderSpec {
            label: "pi",
            source: include_str!("../../../shaders/pi/count.wgsl"),
            entry_point,
            constants: vec![
                ("WORKGROUP_SIZE", workgroup_size as f64),
                ("ROW_SHIFT", row_shift as f64),
            ],
        };
        let count = context.pipelines().get(context, &spec("count_hits"))?;
        let finish = context.pipelines().get(context, &spec("finish"))?;

        let started = Instant::now();
        let n = problem.n;
        let row = 1u64 << row_shift;
        let rows = n.div_ceil(row).max(1);
        let max_rows = context.adapter.max_workgroups_per_dimension as u64;
        if rows > max_rows {
            return Err(Error::usage(format!(
                "--size {n}: pi needs {rows} rows of workgroups, more than the adapter's {max_rows}; use a smaller --size"
            )));
        }
        let last_row_samples = (n - (rows - 1) * row) as u32;
        // One u32 partial per workgroup, all in one binding.
        let fit = (context.max_binding_bytes / 4 / rows).max(1);
        let groups = (context.grid_stride_groups(n.min(row), workgroup_size) as u64)
            .min(MAX_GROUPS_PER_ROW)
            .min(fit);
        let params = DeviceArray::new(context, "pi params", 16, Role::Scratch)?;
        let partials = DeviceArray::new(context, "pi partials", 4 * groups * rows, Role::Scratch)?;
        let total = DeviceArray::new(context, "pi total", 8, Role::Output)?;
        let words: [u32; 4] = [problem.seed_key, rows as u32, last_row_samples, 0];
        context.scoped("writing the pi parameters", || {
            context
                .queue
                .write_buffer(&params.buffer, 0, bytemuck::cast_slice(&words));
        })?;
        context.submit_and_wait([], "writing the pi parameters")?;
        let count_layout = count.pipeline.get_bind_group_layout(0);
        let finish_layout = finish.pipeline.get_bind_group_layout(0);
        fn entry(binding: u32, array: &DeviceArray) -> wgpu::BindGroupEntry<'_> {
            wgpu::BindGroupEntry {
                binding,
                resource: array.buffer.as_entire_binding(),
            }
        }
        let (count_group, finish_group) = context.scoped("creating bind groups", || {
            let make = |label, layout, entries: &[wgpu::BindGroupEntry]| {
                context
                    .device
                    .create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(label),
                        layout,
                        entries,
                    })
            };
            (
                make(
                    "pi count",
                    &count_layout,
                    &[entry(0, &params), entry(1, &partials)],
                ),
                make(
                    "pi finish",
                    &finish_layout,
                    &[entry(1, &partials), entry(2, &total)],
                ),
            )
        })?;
        let timer = PassTimer::new(context)?;
        let buffers_s = started.elapsed().as_secs_f64();
        Ok(PiGpu {
            context,
            problem,
            total,
            count_pipeline: count.pipeline,
            finish_pipeline: finish.pipeline,
            count_group,
            finish_group,
            groups: (groups as u32, rows as u32),
            timer,
            setup: GpuSetup {
                shader_compile_s: count.compile_s + finish.compile_s,
                buffers_s,
            },
            _buffers: (params, partials),
        })
    }
}

impl GpuRun for PiGpu<'_> {
    fn sample(&mut self) -> Result<PhaseSample> {
        let context = self.context;
        let (compute_wall_s, compute_timestamp_s) =
            timed_compute_pass(context, self.timer.as_ref(), "pi", &[], |pass| {
                pass.set_pipeline(&self.count_pipeline);
                pass.set_bind_group(0, &self.count_group, &[]);
                pass.dispatch_workgroups(self.groups.0, self.groups.1, 1);
                pass.set_pipeline(&self.finish_pipeline);
                pass.set_bind_group(0, &self.finish_group, &[]);
                pass.dispatch_workgroups(1, 1, 1);
                Ok(())
            })?;

        let mut words = [0u32; 2];
        let download_s = download_timed(
            context,
            &mut [Download {
                array: &self.total,
                host: bytemuck::cast_slice_mut(&mut words),
            }],
        )?;
        self.problem.count = words[0] as u64 | (words[1] as u64) << 32;
        Ok(PhaseSample {
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
