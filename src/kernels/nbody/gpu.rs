//! The n-body step on the GPU, tiled through workgroup memory (`shaders/nbody.wgsl`).
//!
//! Every body needs every other body, so the positions are bound whole: a run whose 16·n bytes
//! of positions exceed one storage binding is refused rather than chunked, because at that size
//! one step is already n² ≈ 10^13 or more interactions.

use super::{DT, NBodyProblem, SOFTENING_SQUARED};
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, GpuContext, Setup, ShaderSpec};
use crate::kernels::GpuRun;

/// Bytes of one body in each GPU array (a vec4 of f32).
const BODY_BYTES: u64 = 16;

/// One body per invocation and one tile entry per invocation: the tile is the workgroup, as
/// large as the workgroup memory allows.
fn tile_bodies(context: &GpuContext) -> u32 {
    let storage = context.adapter.max_workgroup_storage_bytes as u64;
    (context.workgroup_size(128) as u64)
        .min(storage / BODY_BYTES)
        .max(1) as u32
}

/// Refuses `n` bodies that `context` cannot step: positions beyond one binding, or more tiles
/// than the driver runs loop iterations.
pub(crate) fn check(n: u64, context: &GpuContext) -> Result<()> {
    let bytes = n.saturating_mul(BODY_BYTES);
    if bytes > context.max_binding_bytes {
        return Err(Error::usage(format!(
            "--size {n}: nbody binds all bodies at once ({bytes} bytes) and this GPU's storage bindings hold {} bytes, at most {} bodies; use a smaller --size or leave out the gpu backend",
            context.max_binding_bytes,
            context.max_binding_bytes / BODY_BYTES
        )));
    }
    let tile = tile_bodies(context) as u64;
    context.check_loop_trips(
        n.div_ceil(tile),
        &format!("--size {n}: each body's walk over the bodies, in tiles of {tile},"),
        |cap| format!("use --size {} or less", cap * tile),
    )
}

/// The n-body step set up on the GPU.
pub(crate) fn run<'a>(
    problem: &'a mut NBodyProblem,
    context: &'a GpuContext,
) -> Result<Box<dyn GpuRun + 'a>> {
    let n = problem.n as u64;
    check(n, context)?;
    let bytes = BODY_BYTES * n;
    let tile = tile_bodies(context);
    let mut setup = Setup::new(context, "nbody");
    let source = include_str!("../../../shaders/nbody.wgsl");
    let pipeline = setup.pipeline(
        &ShaderSpec::new("nbody", source, "step")
            .constant("TILE", tile)
            .constant("SOFTENING_SQUARED", SOFTENING_SQUARED)
            .constant("DT", DT)
            .trusted(
                "bodies read under i < n and j < n (n = arrayLength), the tile under k < TILE",
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
    let workgroups = [context.grid_stride_groups(n, tile), 1, 1];
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
