//! The n-body step on the GPU, tiled through workgroup memory (`shaders/nbody.wgsl`).
//!
//! Every body needs every other body, so the positions are bound whole: a run whose 16·n bytes
//! of positions exceed one storage binding is refused with a usage error rather than chunked.
//! That limit is 8 Mi bodies on lavapipe's 128 MiB bindings and more on real GPUs, where one
//! step would already be 7·10^13 interactions; splitting j over several bindings would only add
//! passes to a run nobody can wait for.

use super::{DT, NBodyProblem, SOFTENING_SQUARED};
use crate::error::{Error, Result};
use crate::gpu::timed_compute_pass;
use crate::gpu::transfer::Role;
use crate::gpu::{
    DeviceArray, Download, GpuContext, PassTimer, ShaderSpec, download_timed, upload_timed,
};
use crate::kernels::{GpuRun, GpuSetup};
use crate::phase::PhaseSample;
use std::sync::Arc;
use std::time::Instant;

/// Bytes of one body in each GPU array (a vec4 of f32).
const BODY_BYTES: u64 = 16;

/// The n-body step set up on the GPU.
pub(crate) struct NBodyGpu<'a> {
    context: &'a GpuContext,
    problem: &'a mut NBodyProblem,
    bodies: DeviceArray,
    velocities: DeviceArray,
    new_bodies: DeviceArray,
    new_velocities: DeviceArray,
    pipeline: Arc<wgpu::ComputePipeline>,
    group: wgpu::BindGroup,
    workgroups: u32,
    timer: Option<PassTimer>,
    setup: GpuSetup,
}

impl<'a> NBodyGpu<'a> {
    pub(crate) fn new(problem: &'a mut NBodyProblem, context: &'a GpuContext) -> Result<Self> {
        let n = problem.n as u64;
        let bytes = BODY_BYTES * n;
        if bytes > context.max_binding_bytes {
            return Err(Error::usage(format!(
                "--size {n}: nbody binds all bodies at once ({bytes} bytes) and this GPU's storage bindings hold {} bytes, at most {} bodies; use a smaller --size",
                context.max_binding_bytes,
                context.max_binding_bytes / BODY_BYTES
            )));
        }
        // One body per invocation and one tile entry per invocation: the tile is the workgroup,
        // as large as the workgroup memory allows.
        let storage = context.adapter.max_workgroup_storage_bytes as u64;
        let tile = (context.workgroup_size(128) as u64)
            .min(storage / BODY_BYTES)
            .max(1) as u32;
        let compiled = context.pipelines().get(
            context,
            &ShaderSpec {
                label: "nbody",
                source: include_str!("../../../shaders/nbody.wgsl"),
                entry_point: "step",
                constants: vec![
                    ("TILE", tile as f64),
                    ("SOFTENING_SQUARED", SOFTENING_SQUARED as f64),
                    ("DT", DT as f64),
                ],
            },
        )?;

        let started = Instant::now();
        let bodies = DeviceArray::new(context, "nbody bodies", bytes, Role::Input)?;
        let velocities = DeviceArray::new(context, "nbody velocities", bytes, Role::Input)?;
        let new_bodies = DeviceArray::new(context, "nbody new bodies", bytes, Role::Output)?;
        let new_velocities =
            DeviceArray::new(context, "nbody new velocities", bytes, Role::Output)?;
        let layout = compiled.pipeline.get_bind_group_layout(0);
        let group = context.scoped("creating the nbody bind group", || {
            let entries: Vec<wgpu::BindGroupEntry<'_>> =
                [&bodies, &velocities, &new_bodies, &new_velocities]
                    .iter()
                    .enumerate()
                    .map(|(binding, array)| wgpu::BindGroupEntry {
                        binding: binding as u32,
                        resource: array.binding(0, n, BODY_BYTES),
                    })
                    .collect();
            context
                .device
                .create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("nbody"),
                    layout: &layout,
                    entries: &entries,
                })
        })?;
        let timer = PassTimer::new(context)?;
        let buffers_s = started.elapsed().as_secs_f64();
        Ok(NBodyGpu {
            context,
            problem,
            bodies,
            velocities,
            new_bodies,
            new_velocities,
            pipeline: compiled.pipeline,
            group,
            workgroups: context.grid_stride_groups(n, tile),
            timer,
            setup: GpuSetup {
                shader_compile_s: compiled.compile_s,
                buffers_s,
            },
        })
    }
}

impl GpuRun for NBodyGpu<'_> {
    fn sample(&mut self) -> Result<PhaseSample> {
        let context = self.context;
        let upload_s = upload_timed(
            context,
            &[
                (&self.bodies, self.problem.packed_bodies.as_bytes()),
                (&self.velocities, self.problem.packed_velocities.as_bytes()),
            ],
        )?;

        let (compute_wall_s, compute_timestamp_s) =
            timed_compute_pass(context, self.timer.as_ref(), "nbody", &[], |pass| {
                pass.set_pipeline(&self.pipeline);
                pass.set_bind_group(0, &self.group, &[]);
                pass.dispatch_workgroups(self.workgroups, 1, 1);
                Ok(())
            })?;

        let (positions, velocities) = self
            .problem
            .output
            .as_bytes_mut()
            .split_at_mut((BODY_BYTES * self.problem.n as u64) as usize);
        let download_s = download_timed(
            context,
            &mut [
                Download {
                    array: &self.new_bodies,
                    host: positions,
                },
                Download {
                    array: &self.new_velocities,
                    host: velocities,
                },
            ],
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
