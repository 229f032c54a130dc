//! What the element-wise STREAM kernels share: their inputs and output, the CPU dispatch, the GPU
//! run (arrays larger than one storage binding are bound and dispatched chunk by chunk) and the
//! element-by-element verification.

use super::Elementwise;
use crate::backend::Backend;
use crate::cpu::AlignedVec;
use crate::error::Result;
use crate::gpu::{Dispatch, GpuContext, Runner, Setup, ShaderSpec, chunks};
use crate::kernels::inputs::uniform_f32;
use crate::kernels::verify::check_elements;
use crate::kernels::{GpuRun, GpuSetup, Problem, Verification};
use crate::phase::PhaseSample;
use std::marker::PhantomData;

/// Inputs and output of one element-wise kernel at one size.
pub struct ElementwiseProblem<Op: Elementwise> {
    inputs: Vec<AlignedVec<f32>>,
    output: AlignedVec<f32>,
    op: PhantomData<Op>,
}

impl<Op: Elementwise> ElementwiseProblem<Op> {
    /// Inputs uniform in [0, 1) from `seed` (input k uses stream k); output filled with NaN.
    pub fn new(n: usize, seed: u64) -> Self {
        ElementwiseProblem {
            inputs: (0..Op::ARITY)
                .map(|k| uniform_f32(n, seed, k as u64))
                .collect(),
            output: AlignedVec::filled(n, f32::NAN),
            op: PhantomData,
        }
    }

    /// The output of the last run.
    pub fn output(&self) -> &[f32] {
        &self.output
    }
}

/// Calls `f` with the inputs as a slice of slices, without allocating (at most two inputs).
fn with_inputs<R>(inputs: &[AlignedVec<f32>], f: impl FnOnce(&[&[f32]]) -> R) -> R {
    let empty: &[f32] = &[];
    let slices = [
        inputs.first().map_or(empty, |v| &v[..]),
        inputs.get(1).map_or(empty, |v| &v[..]),
    ];
    f(&slices[..inputs.len()])
}

impl<Op: Elementwise> Problem for ElementwiseProblem<Op> {
    fn run_cpu(&mut self, backend: Backend, _variant: Option<&str>) {
        let output = &mut self.output[..];
        with_inputs(&self.inputs, |inputs| match backend {
            Backend::Scalar => Op::scalar(output, inputs),
            Backend::Simd => Op::simd(output, inputs),
            Backend::Rayon => Op::rayon(output, inputs),
            Backend::Library | Backend::Gpu => {
                unreachable!("{backend} is not a CPU backend of this kernel")
            }
        })
    }

    fn gpu<'a>(
        &'a mut self,
        context: &'a GpuContext,
        _variant: Option<&str>,
    ) -> Result<Box<dyn GpuRun + 'a>> {
        Ok(Box::new(ElementwiseGpu::new(self, context)?))
    }

    fn verify(&self) -> Verification {
        let rule = Op::INFO.verification;
        check_elements(&self.output, rule, |i| {
            let mut values = [0.0f32; 2];
            for (k, input) in self.inputs.iter().enumerate() {
                values[k] = input[i];
            }
            Op::expected(&values[..Op::ARITY])
        })
    }

    fn clear_output(&mut self) {
        self.output.fill(f32::NAN);
    }
}

/// An element-wise kernel set up on the GPU: one dispatch per chunk of at most one storage
/// binding.
struct ElementwiseGpu<'a, Op: Elementwise> {
    gpu: Runner<'a>,
    problem: &'a mut ElementwiseProblem<Op>,
}

impl<'a, Op: Elementwise> ElementwiseGpu<'a, Op> {
    fn new(problem: &'a mut ElementwiseProblem<Op>, context: &'a GpuContext) -> Result<Self> {
        let name = Op::INFO.name;
        let workgroup_size = context.workgroup_size(256);
        let mut setup = Setup::new(context, name);
        let mut spec =
            ShaderSpec::new(name, Op::SHADER, "main").constant("WORKGROUP_SIZE", workgroup_size);
        spec.constants.extend_from_slice(Op::SHADER_CONSTANTS);
        let pipeline = setup.pipeline(&spec)?;

        let n = problem.output.len() as u64;
        let inputs = (0..Op::ARITY)
            .map(|k| setup.input(&format!("{name} input {k}"), 4 * n))
            .collect::<Result<Vec<_>>>()?;
        let output = setup.output(&format!("{name} output"), 4 * n)?;
        let dispatches = context.scoped("creating bind groups", || {
            chunks(n, context.chunk_elements(4))
                .map(|chunk| {
                    let arrays = std::iter::once(&output).chain(&inputs);
                    let bindings: Vec<_> = arrays
                        .map(|array| array.binding(chunk.first, chunk.count, 4))
                        .collect();
                    let groups = context.grid_stride_groups(chunk.count, workgroup_size);
                    Dispatch {
                        group: context.bind_group(&pipeline, name, &bindings),
                        workgroups: [groups, 1, 1],
                    }
                })
                .collect()
        })?;
        setup.dispatch(&pipeline, dispatches);
        Ok(ElementwiseGpu {
            gpu: setup.finish()?,
            problem,
        })
    }
}

impl<Op: Elementwise> GpuRun for ElementwiseGpu<'_, Op> {
    fn setup(&self) -> GpuSetup {
        GpuSetup::from(&self.gpu)
    }

    fn sample(&mut self) -> Result<PhaseSample> {
        let uploads: Vec<&[u8]> = self.problem.inputs.iter().map(|v| v.as_bytes()).collect();
        let output = self.problem.output.as_bytes_mut();
        self.gpu.sample(&uploads, &mut [output])
    }
}
