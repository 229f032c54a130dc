//! The sum of n f32 on the GPU: `tree` and `subgroup` (a partial per workgroup, then one
//! workgroup adds the partials) and `atomics` (each workgroup adds its partial into one global
//! accumulator). The input is bound chunk by chunk when it is larger than one storage binding.

use super::{GpuShape, ReduceProblem, Strategy};
use crate::error::Result;
use crate::gpu::{Dispatch, GpuContext, Runner, Setup, ShaderSpec, chunks};
use crate::kernels::{GpuRun, GpuSetup};
use crate::phase::PhaseSample;

/// Partial-sum slots per chunk: the most workgroups one chunk's dispatch uses. A multiple of 64
/// so that each chunk's slots start on the 256-byte binding-offset alignment.
const SLOTS_PER_CHUNK: u64 = 1024;

/// A summation strategy set up on the GPU.
pub(super) struct ReduceGpu<'a> {
    gpu: Runner<'a>,
    problem: &'a mut ReduceProblem,
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
        let atomics = strategy == Strategy::Atomics;
        let mut setup = Setup::new(context, "reduce");
        let spec = |entry| {
            ShaderSpec::new(label, source, entry).constant("WORKGROUP_SIZE", workgroup_size)
        };
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
            false => 4 * SLOTS_PER_CHUNK * chunk_count,
        };
        // Partials (tree, subgroup; the total ends in slot 0) or the accumulator (atomics).
        let result = setup.output("reduce result", result_bytes)?;
        let mut shape = GpuShape {
            workgroup_size,
            per_invocation: 0,
            partials: SLOTS_PER_CHUNK * chunk_count,
            groups: 0,
        };
        // No elements still make one chunk, of one element.
        let dispatches = context.scoped("creating bind groups", || {
            chunks(n.max(1), chunk)
                .map(|chunk| {
                    let output = match atomics {
                        true => result.whole(),
                        false => result.binding(chunk.index * SLOTS_PER_CHUNK, SLOTS_PER_CHUNK, 4),
                    };
                    let bindings = [output, x.binding(chunk.first, chunk.count, 4)];
                    let groups = context
                        .grid_stride_groups(chunk.count, workgroup_size)
                        .min(SLOTS_PER_CHUNK as u32);
                    let invocations = groups as u64 * workgroup_size as u64;
                    shape.per_invocation =
                        shape.per_invocation.max(chunk.count.div_ceil(invocations));
                    shape.groups += groups as u64;
                    Dispatch {
                        group: context.bind_group(&main, label, &bindings),
                        workgroups: [groups, 1, 1],
                    }
                })
                .collect()
        })?;
        setup.dispatch(&main, dispatches);
        match &finish {
            Some(finish) => {
                let group = context.scoped("creating bind groups", || {
                    context.bind_group(finish, label, &[result.whole()])
                })?;
                let workgroups = [1, 1, 1];
                setup.dispatch(finish, vec![Dispatch { group, workgroups }]);
            }
            // The atomic accumulator starts at +0.0 (all bits zero) every sample.
            None => setup.clear_each_sample(&result),
        }
        let gpu = setup.finish()?;
        problem.gpu_shape = Some(shape);
        Ok(ReduceGpu { gpu, problem })
    }
}

impl GpuRun for ReduceGpu<'_> {
    fn setup(&self) -> GpuSetup {
        GpuSetup::from(&self.gpu)
    }

    fn sample(&mut self) -> Result<PhaseSample> {
        let total = self.problem.result.as_bytes_mut();
        self.gpu.sample(&[self.problem.x.as_bytes()], &mut [total])
    }
}
