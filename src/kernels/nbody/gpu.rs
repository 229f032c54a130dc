//! The n-body step on the GPU, tiled through workgroup memory, in two variants:
//! `body-per-thread` (`shaders/nbody/body_per_thread.wgsl`, one body per invocation) and `split`
//! (`shaders/nbody/split.wgsl`, [`INVOCATIONS_PER_BODY`] invocations per body, partial
//! accelerations added in workgroup memory: that many times more workgroups for the same n).
//!
//! Every body needs every other body, so the positions are bound whole: a run whose 16·n bytes
//! of positions exceed one storage binding is refused rather than chunked, because at that size
//! one step is already n² ≈ 10^13 or more interactions.

use super::{BODY_PER_THREAD, DT, NBodyProblem, SOFTENING_SQUARED};
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, GpuContext, Setup, ShaderSpec};
use crate::kernels::{GpuRun, Variant};

/// Bytes of one body in each GPU array (a vec4 of f32).
const BODY_BYTES: u64 = 16;

/// Invocations per body in `split`: 8 makes 8192 bodies (the default size) 256 workgroups of
/// 256, about two per SM of an H100 (132 SMs), where one body per invocation makes 64.
pub const INVOCATIONS_PER_BODY: u32 = 8;

/// How one variant lays the bodies out on the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Invocations per workgroup, and bodies per tile (each invocation loads one).
    pub workgroup_size: u32,
    /// Invocations per body (1 for `body-per-thread`).
    pub split: u32,
}

impl Shape {
    /// The shape of `variant` (`split` unless it is `body-per-thread`) on `context`.
    pub fn of(variant: Option<&Variant>, context: &GpuContext) -> Shape {
        let storage = context.adapter.max_workgroup_storage_bytes as u64;
        match variant == Some(&BODY_PER_THREAD) {
            // One tile entry per invocation: as large as the workgroup memory allows.
            true => Shape {
                workgroup_size: (context.workgroup_size(128) as u64)
                    .min(storage / BODY_BYTES)
                    .max(1) as u32,
                split: 1,
            },
            // A tile and a partial per invocation; a power of two, so a multiple of the split.
            false => {
                let fits = (context.workgroup_size(256) as u64)
                    .min(storage / (2 * BODY_BYTES))
                    .max(INVOCATIONS_PER_BODY as u64);
                Shape {
                    workgroup_size: 1 << fits.ilog2(),
                    split: INVOCATIONS_PER_BODY,
                }
            }
        }
    }

    /// Bodies one workgroup steps per round of its grid-stride loop.
    pub fn bodies_per_group(self) -> u32 {
        self.workgroup_size / self.split
    }

    /// Workgroups of the dispatch for `n` bodies.
    pub fn groups(self, n: u64, context: &GpuContext) -> u32 {
        context.grid_stride_groups(n, self.bodies_per_group())
    }
}

/// Refuses `n` bodies that `context` cannot step with `variant`: positions beyond one binding,
/// or more tiles than the driver runs loop iterations (a tile is the workgroup in both variants;
/// the other loops are shorter).
pub(crate) fn check(n: u64, variant: Option<&Variant>, context: &GpuContext) -> Result<()> {
    let bytes = n.saturating_mul(BODY_BYTES);
    if bytes > context.max_binding_bytes {
        return Err(Error::usage(format!(
            "--size {n}: nbody binds all bodies at once ({bytes} bytes) and this GPU's storage bindings hold {} bytes, at most {} bodies; use a smaller --size or leave out the gpu backend",
            context.max_binding_bytes,
            context.max_binding_bytes / BODY_BYTES
        )));
    }
    let shape = Shape::of(variant, context);
    let tile = shape.workgroup_size as u64;
    let name = variant.map_or(super::SPLIT.name, |v| v.name);
    context.check_loop_trips(
        n.div_ceil(tile),
        &format!(
            "--size {n}: each body's walk over the bodies in nbody's gpu {name}, in tiles of {tile},"
        ),
        |cap| format!("use --size {} or less", cap * tile),
    )
}

/// The n-body step of `variant` (`split` when `None`) set up on the GPU.
pub(crate) fn run<'a>(
    problem: &'a mut NBodyProblem,
    context: &'a GpuContext,
    variant: Option<&'static Variant>,
) -> Result<Box<dyn GpuRun + 'a>> {
    let n = problem.n as u64;
    check(n, variant, context)?;
    let bytes = BODY_BYTES * n;
    let shape = Shape::of(variant, context);
    let mut setup = Setup::new(context, "nbody");
    let spec = match shape.split {
        1 => ShaderSpec::new(
            "nbody body-per-thread",
            include_str!("../../../shaders/nbody/body_per_thread.wgsl"),
            "step",
        )
        .constant("TILE", shape.workgroup_size),
        _ => ShaderSpec::new(
            "nbody split",
            include_str!("../../../shaders/nbody/split.wgsl"),
            "step",
        )
        .constant("WORKGROUP_SIZE", shape.workgroup_size)
        .constant("SPLIT", shape.split),
    };
    let pipeline = setup.pipeline(
        &spec
            .constant("SOFTENING_SQUARED", SOFTENING_SQUARED)
            .constant("DT", DT)
            .trusted(
                "bodies read under i < n and j < n (n = arrayLength), the tile and partials under k < the workgroup size",
            ),
    )?;

    let bodies = setup.input("nbody bodies", bytes)?;
    let velocities = setup.input("nbody velocities", bytes)?;
    let new_bodies = setup.output("nbody new bodies", bytes)?;
    let new_velocities = setup.output("nbody new velocities", bytes)?;
    // NaN: a body no invocation steps cannot keep the previous sample's values.
    setup.poison_each_sample(&new_bodies, 0xFF);
    setup.poison_each_sample(&new_velocities, 0xFF);
    let arrays = [&bodies, &velocities, &new_bodies, &new_velocities];
    let bindings = arrays.map(|array| array.binding(0, n, BODY_BYTES));
    let workgroups = [shape.groups(n, context), 1, 1];
    let step = context.scoped("creating the nbody bind group", || {
        Dispatch::new(context, &pipeline, "nbody", &bindings, workgroups)
    })?;
    setup.dispatch(&pipeline, vec![step]);
    let gpu = setup.finish()?;
    Ok(gpu.sampled_by(move |gpu| {
        // The output holds the new positions, then the new velocities.
        let half = (BODY_BYTES * problem.n as u64) as usize;
        let (positions, velocities) = problem.output.as_bytes_mut().split_at_mut(half);
        let uploads = [
            problem.packed_bodies.as_bytes(),
            problem.packed_velocities.as_bytes(),
        ];
        gpu.sample(&uploads, &mut [positions, velocities])
    }))
}
