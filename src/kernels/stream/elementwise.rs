//! What the element-wise STREAM kernels share: their inputs and output, the CPU dispatch, the GPU
//! run (arrays larger than one storage binding are bound and dispatched chunk by chunk) and the
//! element-by-element verification.

use super::Elementwise;
use crate::backend::CpuBackend;
use crate::cpu::AlignedVec;
use crate::error::Result;
use crate::gpu::timed_compute_pass;
use crate::gpu::transfer::Role;
use crate::gpu::{
    DeviceArray, Download, GpuContext, PassTimer, ShaderSpec, download_timed, upload_timed,
};
use crate::kernels::inputs::uniform_f32;
use crate::kernels::verify::check_elements;
use crate::kernels::{GpuRun, GpuSetup, Kernel, Problem, Variant, Verification};
use crate::phase::PhaseSample;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Instant;

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
    fn kernel(&self) -> &'static dyn Kernel {
        crate::kernels::find(Op::INFO.name).expect("every STREAM kernel is registered")
    }

    fn run_on(&mut self, backend: CpuBackend, _variant: Option<&'static Variant>) {
        let output = &mut self.output[..];
        with_inputs(&self.inputs, |inputs| match backend {
            CpuBackend::Scalar => Op::scalar(output, inputs),
            CpuBackend::Simd => Op::simd(output, inputs),
            CpuBackend::Rayon => Op::rayon(output, inputs),
            CpuBackend::Library => unreachable!("the STREAM kernels have no library backend"),
        })
    }

    fn gpu_run<'a>(
        &'a mut self,
        context: &'a GpuContext,
        _variant: Option<&'static Variant>,
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

/// An element-wise kernel set up on the GPU.
struct ElementwiseGpu<'a, Op: Elementwise> {
    context: &'a GpuContext,
    problem: &'a mut ElementwiseProblem<Op>,
    inputs: Vec<DeviceArray>,
    output: DeviceArray,
    pipeline: Arc<wgpu::ComputePipeline>,
    /// One bind group per chunk of at most one storage binding, with its workgroup count.
    chunks: Vec<(wgpu::BindGroup, u32)>,
    timer: Option<PassTimer>,
    setup: GpuSetup,
}

impl<'a, Op: Elementwise> ElementwiseGpu<'a, Op> {
    fn new(problem: &'a mut ElementwiseProblem<Op>, context: &'a GpuContext) -> Result<Self> {
        let workgroup_size = context.workgroup_size(256);
        let mut constants = vec![("WORKGROUP_SIZE", workgroup_size as f64)];
        constants.extend_from_slice(Op::SHADER_CONSTANTS);
        let compiled = context.pipelines().get(
            context,
            &ShaderSpec {
                label: Op::INFO.name,
                source: Op::SHADER,
                entry_point: "main",
                constants,
            },
        )?;

        let started = Instant::now();
        let n = problem.output.len() as u64;
        let bytes = 4 * n;
        let inputs = (0..Op::ARITY)
            .map(|k| {
                DeviceArray::new(
                    context,
                    &format!("{} input {k}", Op::INFO.name),
                    bytes,
                    Role::Input,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let output = DeviceArray::new(
            context,
            &format!("{} output", Op::INFO.name),
            bytes,
            Role::Output,
        )?;
        let chunk = context.chunk_elements(4);
        let layout = compiled.pipeline.get_bind_group_layout(0);
        let chunks = context.scoped("creating bind groups", || {
            (0..n)
                .step_by(chunk as usize)
                .map(|first| {
                    let count = chunk.min(n - first);
                    let mut entries = vec![wgpu::BindGroupEntry {
                        binding: 0,
                        resource: output.binding(first, count, 4),
                    }];
                    for (k, input) in inputs.iter().enumerate() {
                        entries.push(wgpu::BindGroupEntry {
                            binding: k as u32 + 1,
                            resource: input.binding(first, count, 4),
                        });
                    }
                    let group = context
                        .device
                        .create_bind_group(&wgpu::BindGroupDescriptor {
                            label: Some(Op::INFO.name),
                            layout: &layout,
                            entries: &entries,
                        });
                    (group, context.grid_stride_groups(count, workgroup_size))
                })
                .collect()
        })?;
        let timer = PassTimer::new(context)?;
        let buffers_s = started.elapsed().as_secs_f64();
        Ok(ElementwiseGpu {
            context,
            problem,
            inputs,
            output,
            pipeline: compiled.pipeline,
            chunks,
            timer,
            setup: GpuSetup {
                shader_compile_s: compiled.compile_s,
                buffers_s,
            },
        })
    }
}

impl<Op: Elementwise> GpuRun for ElementwiseGpu<'_, Op> {
    fn sample(&mut self) -> Result<PhaseSample> {
        let context = self.context;
        let transfers: Vec<(&DeviceArray, &[u8])> = self
            .inputs
            .iter()
            .zip(&self.problem.inputs)
            .map(|(device, host)| (device, host.as_bytes()))
            .collect();
        let upload_s = upload_timed(context, &transfers)?;

        let (compute_wall_s, compute_timestamp_s) =
            timed_compute_pass(context, self.timer.as_ref(), Op::INFO.name, &[], |pass| {
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
                array: &self.output,
                host: self.problem.output.as_bytes_mut(),
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
