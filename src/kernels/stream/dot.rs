//! STREAM dot: `sum(a[i] * b[i])`, a reduction: one serial chain in the plain loop, several
//! vector accumulators with SIMD, a tree per workgroup and then over the partials on the GPU.

use crate::backend::{Backend, CpuLoop};
use crate::cpu::AlignedVec;
use crate::cpu::parallel::sum_chunks2;
use crate::cpu::simd::{F32Lanes, SimdKernel, dispatch};
use crate::error::Result;
use crate::gpu::{Dispatch, GpuContext, PARTIALS_PER_CHUNK, Setup, ShaderSpec, chunks};
use crate::kernels::inputs::uniform_f32;
use crate::kernels::reduce::bound::{CPU_UNIT, Depth, allowed_error};
use crate::kernels::reduce::{GpuShape, Strategy, summation_depth};
use crate::kernels::verify::check_value;
use crate::kernels::{
    Cost, CostModel, Footprint, GpuRun, Kernel, KernelInfo, KernelOptions, NUMBA_VARIANTS, Problem,
    Variant, Verification,
};
use crate::python::{ArrayMut, ArrayRef, Dtype, Input, OutputSpec, PythonCall};
use rayon::prelude::*;

use super::{GPU_VARIANTS, VEC4, VEC4_LANES};

/// The dot kernel.
pub struct Dot;

const INFO: KernelInfo = KernelInfo {
    name: "dot",
    summary: "sum of a[i]·b[i]: two loads and one multiply-add per element, then a reduction",
    reference: "STREAM-style dot (BabelStream dot)",
    size_meaning: "n = elements per array (f32)",
    cost_model: CostModel {
        device_bytes: "8·n",
        flops: "2·n",
        upload_bytes: "8·n",
        download_bytes: "4",
    },
    scalar_loop: "not vectorized: one accumulator in strict order, and the compiler may not reorder float adds \
                  (the plain loop accumulates in f64 so that its result stays accurate at any n)",
    verification: "|dot − exact| ≤ reduce's bound for the summation depth of the loop that ran, over Σ|a·b|: \
                   the smaller of γ_h·Σ|a·b| (worst case, Higham 2002 §4.2; γ_h = h·u/(1 − h·u)) and \
                   (exp(λ√h·u + h·u²/(1 − u)) − 1)·Σ|a·b| (probabilistic, λ = 8, Higham & Mary 2019), h the most \
                   roundings on any product's path to the result: scalar 1 (product) + n/2^29 (f64 adds, in f32 \
                   roundings) + 1 (to f32); simd 1 + n/(8·lanes) + 8 + lanes (8 vector accumulators, then combined), \
                   or 8·lanes + 1 in the tail; rayon the same + 2 (f64 combination of chunks, rounding); GPU 1 + \
                   per-invocation share + tree levels + partials per lane + tree levels (vec4: the share of each of 4 \
                   lanes + 2 to add the lanes). u = 2^-24 on the CPU, 2^-23 \
                   on the GPU (WGSL may round either way). Python rungs: python 1 (products exact in f64) + n/2^29 \
                   (f64 adds) rounded to f32 once; numpy's np.dot (BLAS sdot, the library's order and accumulators) \
                   and numba (f32 accumulator: serial in order, parallel a prange reduction whose parts are added at \
                   the end) 1 + n − 1, the most roundings of any order. Exact value in f64 (products of f32 are exact \
                   there). A result missing one workgroup's partial (1/1024 of the sum) fails (shown at n = 2^23)",
};

/// Accumulator registers kept in flight by the SIMD loop: enough to cover the FMA latency of two
/// FMA units (4 cycles × 2), so the loop is limited by loads, not by the dependency chain.
const ACCUMULATORS: usize = 8;

struct DotSimd<'a> {
    a: &'a [f32],
    b: &'a [f32],
}

impl SimdKernel for DotSimd<'_> {
    type Output = f32;
    #[inline(always)]
    fn run<S: F32Lanes>(self) -> f32 {
        let (a, b) = (self.a, self.b);
        let step = ACCUMULATORS * S::LANES;
        let whole = a.len() - a.len() % step;
        let mut sums = [S::splat(0.0); ACCUMULATORS];
        let mut i = 0;
        while i < whole {
            for (k, sum) in sums.iter_mut().enumerate() {
                let at = i + k * S::LANES;
                // SAFETY: at + LANES <= whole <= len of both slices.
                *sum = unsafe {
                    S::load(a.as_ptr().add(at)).mul_add(S::load(b.as_ptr().add(at)), *sum)
                };
            }
            i += step;
        }
        let mut total = sums[0];
        for sum in &sums[1..] {
            total = total.add(*sum);
        }
        let tail: f32 = a[whole..].iter().zip(&b[whole..]).map(|(x, y)| x * y).sum();
        total.reduce_sum() + tail
    }
}

/// How the last run summed the products: what its error bound follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Summation {
    /// The plain loop: products rounded to f32, added in f64.
    Serial,
    /// [`ACCUMULATORS`] vector accumulators on one core.
    Accumulators,
    /// Accumulators per chunk, chunk sums added in f64.
    Chunks,
    /// Grid-stride sums per invocation, a tree per workgroup, then one workgroup over the
    /// partials (what [`gpu_run`] set up): reduce's `tree`, in shape too. With `vec4`, each
    /// invocation's share is 4 lanes' sums, added at the end (2 more roundings).
    Gpu { shape: GpuShape, vec4: bool },
    /// The python rung: exact products, added in f64 (Python floats), rounded to f32 once.
    PythonFloats,
    /// numpy's `np.dot`: BLAS's sdot, in an order of the library's choosing.
    Blas,
    /// numba serial: products rounded to f32, one f32 accumulator in order.
    InOrder,
    /// numba parallel: a `prange` reduction, each thread's part in order, the parts then added.
    Prange,
}

/// The plain loop: one accumulator (f64, so that the result stays accurate; still serial).
pub fn scalar(a: &[f32], b: &[f32]) -> f32 {
    let mut sum = 0.0f64;
    for (&x, &y) in a.iter().zip(b) {
        sum += (x * y) as f64;
    }
    sum as f32
}

/// Explicit SIMD with `ACCUMULATORS` vector accumulators on one core.
pub fn simd(a: &[f32], b: &[f32]) -> f32 {
    dispatch(DotSimd { a, b })
}

/// All cores of the current pool, [`simd`] on each chunk.
pub fn rayon(a: &[f32], b: &[f32]) -> f32 {
    sum_chunks2(a, b, simd)
}

impl Kernel for Dot {
    fn info(&self) -> &KernelInfo {
        &INFO
    }

    fn cost(&self, n: u64) -> Cost {
        Cost {
            device_bytes: 8 * n,
            flops: 2 * n,
            upload_bytes: 8 * n,
            download_bytes: 4,
            items: None,
        }
    }

    fn footprint(&self, n: u64) -> Footprint {
        Footprint {
            host_bytes: 8 * n,
            largest_gpu_buffer_bytes: 4 * n,
            gpu_bytes: 16 * n,
            working_set_bytes: 8 * n,
        }
    }

    fn native_variants(&self, backend: Backend) -> &'static [Variant] {
        match backend {
            Backend::Gpu => &GPU_VARIANTS,
            _ => &[],
        }
    }

    fn prepare(&self, n: usize, seed: u64, _options: &KernelOptions) -> Box<dyn Problem> {
        Box::new(DotProblem::new(n, seed))
    }
}

/// The inputs and the result of one dot at one size.
pub struct DotProblem {
    a: AlignedVec<f32>,
    b: AlignedVec<f32>,
    result: AlignedVec<f32>,
    /// The exact dot (f64; products of f32 are exact in f64) and sum |a·b|.
    exact: (f64, f64),
    /// How the last run summed (its bound); the plain loop's before any run.
    summation: Summation,
}

impl DotProblem {
    /// Inputs uniform in [0, 1) from `seed`.
    pub fn new(n: usize, seed: u64) -> Self {
        let a = uniform_f32(n, seed, 0);
        let b = uniform_f32(n, seed, 1);
        let exact = a
            .par_iter()
            .zip(&b[..])
            .map(|(&x, &y)| {
                let product = x as f64 * y as f64;
                (product, product.abs())
            })
            .reduce(|| (0.0, 0.0), |p, q| (p.0 + q.0, p.1 + q.1));
        DotProblem {
            a,
            b,
            result: AlignedVec::filled(1, f32::NAN),
            exact,
            summation: Summation::Serial,
        }
    }

    /// The result of the last run.
    pub fn result(&self) -> f32 {
        self.result[0]
    }

    /// Checks `value` as the result of the last run's summation (its depth, on these inputs)
    /// against the exact dot: what [`Problem::verify`] applies to [`DotProblem::result`], open
    /// to any candidate value so that a test can show which wrong results it rejects.
    pub fn check(&self, value: f32) -> Verification {
        let (exact, magnitude) = self.exact;
        let depth = self.depth();
        let (allowed, rule) = allowed_error(&depth, magnitude);
        check_value(value as f64, exact, allowed, &format!("dot: {rule}"))
    }

    /// The rounding structure of the last run's summation on these inputs (see
    /// [`reduce::bound`](crate::kernels::reduce::bound)).
    fn depth(&self) -> Depth {
        let n = self.a.len() as u64;
        let (strategy, shape) = match self.summation {
            // f64 adds are 2^-29 of an f32 rounding each; no f32 accumulator, so each product is
            // its own chain (no stagnation).
            Summation::Serial => {
                return Depth {
                    roundings: 2 + n.div_ceil(1 << 29),
                    unit: CPU_UNIT,
                    chains: n.max(1),
                    chain_len: 1,
                    why: "a·b rounded to f32, added in f64, one rounding to f32".into(),
                };
            }
            // Products exact in f64, n − 1 f64 adds, one rounding to f32; no f32 accumulator.
            Summation::PythonFloats => {
                return Depth {
                    roundings: 1 + n.saturating_sub(1).div_ceil(1 << 29),
                    unit: CPU_UNIT,
                    chains: n.max(1),
                    chain_len: 1,
                    why: "a·b exact in f64 (Python floats), added in f64, one rounding to f32"
                        .into(),
                };
            }
            // Any order of n − 1 additions (a tree, accumulators, chunks) puts at most n − 1 of
            // them on one product's path: the sequential chain is the longest there is.
            Summation::Blas | Summation::InOrder | Summation::Prange => {
                let sum = summation_depth(n, Strategy::Sequential, None);
                let how = match self.summation {
                    Summation::Blas => "np.dot (BLAS sdot, the library's order): ≤ n − 1 additions",
                    Summation::InOrder => "Numba, one f32 accumulator: n − 1 additions in order",
                    _ => {
                        "Numba prange, parts in order then added: ≤ n − 1 additions whatever the split"
                    }
                };
                return Depth {
                    roundings: sum.roundings + 1,
                    why: format!("a·b rounded to f32, {how}"),
                    ..sum
                };
            }
            Summation::Accumulators => (Strategy::Accumulators, None),
            Summation::Chunks => (Strategy::ChunkAccumulators, None),
            Summation::Gpu { shape, .. } => (Strategy::Tree, Some(shape)),
        };
        // The products are summed as reduce sums its values, each after its own rounding.
        let sum = summation_depth(n, strategy, shape);
        match self.summation {
            // Each lane's share is `per_invocation` of the shape; the 4 lanes are added by 2
            // more roundings.
            Summation::Gpu { vec4: true, .. } => Depth {
                roundings: sum.roundings + 1 + 2,
                why: format!("a·b, vec4 lanes: {} + 2 to add the lanes", sum.why),
                ..sum
            },
            _ => Depth {
                roundings: sum.roundings + 1,
                why: format!("a·b, {}", sum.why),
                ..sum
            },
        }
    }
}

impl Problem for DotProblem {
    fn kernel(&self) -> &'static dyn Kernel {
        &Dot
    }

    fn run_loop(&mut self, form: CpuLoop, _variant: Option<&'static Variant>) {
        (self.summation, self.result[0]) = match form {
            CpuLoop::Scalar => (Summation::Serial, scalar(&self.a, &self.b)),
            CpuLoop::Simd => (Summation::Accumulators, simd(&self.a, &self.b)),
            CpuLoop::Rayon => (Summation::Chunks, rayon(&self.a, &self.b)),
        };
    }

    fn gpu_run<'a>(
        &'a mut self,
        context: &'a GpuContext,
        variant: Option<&'static Variant>,
    ) -> Result<Box<dyn GpuRun + 'a>> {
        gpu_run(self, context, variant == Some(&VEC4))
    }

    fn verify(&self) -> Verification {
        self.check(self.result[0])
    }

    fn clear_output(&mut self) {
        self.result[0] = f32::NAN;
    }

    fn python_call(&self) -> PythonCall<'_> {
        let n = self.a.len();
        PythonCall {
            params: serde_json::json!({}),
            inputs: vec![
                Input {
                    name: "a",
                    shape: vec![n],
                    data: ArrayRef::Float32(&self.a),
                },
                Input {
                    name: "b",
                    shape: vec![n],
                    data: ArrayRef::Float32(&self.b),
                },
            ],
            outputs: vec![OutputSpec::new("dot", &[1], Dtype::Float32)],
        }
    }

    /// Each rung's summation, for its bound: see [`Summation`] and `python/kernels/dot.py`.
    fn python_outputs(
        &mut self,
        rung: Backend,
        variant: Option<&'static Variant>,
    ) -> Vec<ArrayMut<'_>> {
        self.summation = match rung {
            Backend::Python => Summation::PythonFloats,
            Backend::Numpy => Summation::Blas,
            _ if variant == Some(&NUMBA_VARIANTS[1]) => Summation::Prange,
            _ => Summation::InOrder,
        };
        vec![ArrayMut::Float32(&mut self.result)]
    }
}

/// The dot set up on the GPU: partial sums per workgroup, chunk by chunk, then one workgroup
/// that adds the partials into the first slot, in one compute pass. With `vec4`, the first pass
/// loads a vec4 of each input per round; the inputs are padded with zeros (never uploaded, wgpu
/// zero-fills new buffers) to a multiple of 4 elements, which add exactly 0.
fn gpu_run<'a>(
    problem: &'a mut DotProblem,
    context: &'a GpuContext,
    vec4: bool,
) -> Result<Box<dyn GpuRun + 'a>> {
    // The tree reduction needs a power of two.
    let workgroup_size = 1u32 << context.workgroup_size(256).ilog2();
    let mut setup = Setup::new(context, "dot");
    let (label, source, lanes) = match vec4 {
        false => ("dot", include_str!("../../../shaders/stream/dot.wgsl"), 1),
        true => (
            "dot vec4",
            include_str!("../../../shaders/stream/dot_vec4.wgsl"),
            VEC4_LANES,
        ),
    };
    let spec =
        |entry| ShaderSpec::new(label, source, entry).constant("WORKGROUP_SIZE", workgroup_size);
    let partial = setup.pipeline(&spec("partial_sums"))?;
    let finish = setup.pipeline(&spec("finish"))?;

    let n = problem.a.len() as u64;
    let bytes = 4 * n.next_multiple_of(lanes);
    let a = setup.input("dot a", bytes)?;
    let b = setup.input("dot b", bytes)?;
    // Chunks of whole vec4s (a binding's worth of them), in elements.
    let chunk = context.chunk_elements(4 * lanes) * lanes;
    let slots = PARTIALS_PER_CHUNK * n.div_ceil(chunk);
    let partials = setup.output("dot partials", 4 * slots)?;
    // Zero (the finishing pass adds every slot): a first pass that writes nothing leaves a
    // total of 0, not the previous sample's.
    setup.poison_each_sample(&partials, 0);
    let (mut per_invocation, mut groups_total) = (0, 0);
    let (sums, total) = context.scoped("creating bind groups", || {
        let sums = chunks(n, chunk)
            .map(|chunk| {
                // The last chunk's partial vec4 reaches into the zero padding.
                let count = chunk.count.next_multiple_of(lanes);
                let bindings = [
                    partials.binding(chunk.index * PARTIALS_PER_CHUNK, PARTIALS_PER_CHUNK, 4),
                    a.binding(chunk.first, count, 4),
                    b.binding(chunk.first, count, 4),
                ];
                let groups = context
                    .grid_stride_groups(count / lanes, workgroup_size)
                    .min(PARTIALS_PER_CHUNK as u32);
                let invocations = groups as u64 * workgroup_size as u64;
                // Products one invocation (one lane of its vec4) adds in order.
                per_invocation = (count / lanes).div_ceil(invocations).max(per_invocation);
                groups_total += groups as u64;
                Dispatch::new(context, &partial, "dot partials", &bindings, [groups, 1, 1])
            })
            .collect();
        let total = Dispatch::new(
            context,
            &finish,
            "dot finish",
            &[partials.whole()],
            [1, 1, 1],
        );
        (sums, vec![total])
    })?;
    setup.dispatch(&partial, sums);
    setup.dispatch(&finish, total);
    let gpu = setup.finish()?;
    problem.summation = Summation::Gpu {
        shape: GpuShape {
            workgroup_size,
            per_invocation,
            partials: slots,
            groups: groups_total,
        },
        vec4,
    };
    Ok(gpu.sampled_by(move |gpu| {
        let uploads = [problem.a.as_bytes(), problem.b.as_bytes()];
        // Only the first slot, where the finish pass leaves the total.
        gpu.sample(&uploads, &mut [problem.result.as_bytes_mut()])
    }))
}
