//! The sum of n f32 on the GPU: `tree` and `subgroup` (a partial per workgroup, then one
//! workgroup adds the partials) and `atomics` (each workgroup adds its partial into one global
//! accumulator: a native f32 `atomicAdd` where the device has `SHADER_FLOAT32_ATOMIC`, a
//! compare-and-swap loop elsewhere). The input is bound chunk by chunk when it is larger than one
//! storage binding.

use super::{AtomicsPath, GpuShape, ReduceProblem, Strategy};
use crate::error::Result;
use crate::gpu::{Dispatch, GpuContext, GpuRun, PARTIALS_PER_CHUNK, Setup, ShaderSpec, chunks};

/// Sets a summation strategy up on the GPU.
pub(super) fn run<'a>(
    problem: &'a mut ReduceProblem,
    context: &'a GpuContext,
    strategy: Strategy,
) -> Result<Box<dyn GpuRun + 'a>> {
    // The trees need a power of two.
    let workgroup_size = 1u32 << context.workgroup_size(256).ilog2();
    let (label, source, main_entry) = match strategy {
        Strategy::Subgroup => (
            "reduce subgroup",
            include_str!("../../../shaders/reduce/subgroup.wgsl"),
            "partial_sums",
        ),
        Strategy::Atomics => match AtomicsPath::on(context) {
            AtomicsPath::Native => (
                "reduce atomics native",
                include_str!("../../../shaders/reduce/atomics_native.wgsl"),
                "main",
            ),
            AtomicsPath::CompareAndSwap => (
                "reduce atomics",
                include_str!("../../../shaders/reduce/atomics.wgsl"),
                "main",
            ),
        },
        _ => (
            "reduce tree",
            include_str!("../../../shaders/reduce/tree.wgsl"),
            "partial_sums",
        ),
    };
    let atomics = strategy == Strategy::Atomics;
    let mut setup = Setup::new(context, "reduce");
    let spec =
        |entry| ShaderSpec::new(label, source, entry).constant("WORKGROUP_SIZE", workgroup_size);
    let main = setup.pipeline(&spec(main_entry))?;
    let finish = match atomics {
        true => None,
        false => Some(setup.pipeline(&spec("finish"))?),
    };

    let n = problem.x.len() as u64;
    let x = setup.input("reduce x", 4 * n)?;
    let chunk = context.chunk_elements(4);
    let chunk_count = n.div_ceil(chunk).max(1);
    let result_bytes = match atomics {
        true => 4,
        false => 4 * PARTIALS_PER_CHUNK * chunk_count,
    };
    // Partials (tree, subgroup; the total ends in slot 0) or the accumulator (atomics).
    let result = setup.output("reduce result", result_bytes)?;
    let mut shape = GpuShape {
        workgroup_size,
        per_invocation: 0,
        partials: PARTIALS_PER_CHUNK * chunk_count,
        groups: 0,
    };
    // No elements still make one chunk, of one element.
    let dispatches = context.scoped("creating bind groups", || {
        chunks(n.max(1), chunk)
            .map(|chunk| {
                let output = match atomics {
                    true => result.whole(),
                    false => {
                        result.binding(chunk.index * PARTIALS_PER_CHUNK, PARTIALS_PER_CHUNK, 4)
                    }
                };
                let bindings = [output, x.binding(chunk.first, chunk.count, 4)];
                let groups = context
                    .grid_stride_groups(chunk.count, workgroup_size)
                    .min(PARTIALS_PER_CHUNK as u32);
                let invocations = groups as u64 * workgroup_size as u64;
                shape.per_invocation = shape.per_invocation.max(chunk.count.div_ceil(invocations));
                shape.groups += groups as u64;
                Dispatch::new(context, &main, label, &bindings, [groups, 1, 1])
            })
            .collect()
    })?;
    setup.dispatch(&main, dispatches);
    match &finish {
        Some(finish) => {
            let total = context.scoped("creating bind groups", || {
                Dispatch::new(context, finish, label, &[result.whole()], [1, 1, 1])
            })?;
            setup.dispatch(finish, vec![total]);
        }
        // The atomic accumulator starts at +0.0 (all bits zero) every sample.
        None => setup.clear_each_sample(&result),
    }
    let gpu = setup.finish()?;
    problem.gpu_shape = Some(shape);
    problem.atomics_path = atomics.then(|| AtomicsPath::on(context));
    Ok(gpu.sampled_by(move |gpu| {
        let total = problem.result.as_bytes_mut();
        gpu.sample(&[problem.x.as_bytes()], &mut [total])
    }))
}
