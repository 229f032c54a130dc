//! The one body of the element-wise STREAM kernels, generic over their formula: the inputs and
//! output, the plain, SIMD and parallel loops, the GPU run (arrays larger than one storage
//! binding are bound and dispatched chunk by chunk) and the element-by-element verification.
//!
//! The number of inputs is a type ([`One`], [`Two`]): it picks `map1` or `map2` and
//! `for_chunks1` or `for_chunks2`, so a formula and the arrays it gets always agree.

use super::{Elementwise, SCALAR, VEC4, VEC4_LANES};
use crate::backend::Backend;
use crate::backend::CpuLoop;
use crate::cpu::AlignedVec;
use crate::cpu::parallel::{for_chunks1, for_chunks2};
use crate::cpu::simd::{F32Lanes, SimdKernel, Stores, dispatch, map1, map2};
use crate::error::Result;
use crate::gpu::{Dispatch, GpuContext, Setup, ShaderSpec, chunks};
use crate::kernels::inputs::uniform_f32;
use crate::kernels::verify::check_elements;
use crate::kernels::{GpuRun, Kernel, Problem, Variant, Verification};
use crate::python::{ArrayMut, ArrayRef, Dtype, Input, OutputSpec, PythonCall};
use std::marker::PhantomData;

/// The number of input arrays of an element-wise kernel, as a type.
pub trait Arity: Send + Sync + 'static {
    /// Number of input arrays.
    const COUNT: usize;
    /// One `T` per input array: `[T; COUNT]`.
    type Each<T>: AsRef<[T]>;
    /// One `T` per input array, made from the input's index.
    fn each<T>(make: impl FnMut(usize) -> T) -> Self::Each<T>;
    /// The plain loop: `out[i] = formula(inputs[i])`.
    fn plain(out: &mut [f32], inputs: Self::Each<&[f32]>, formula: impl Fn(Self::Each<f32>) -> f32);
    /// The SIMD loop over registers `S` (`map1` or `map2`), `scalar` on the tail.
    fn map<S: F32Lanes>(
        out: &mut [f32],
        inputs: Self::Each<&[f32]>,
        stores: Stores,
        vector: impl Fn(Self::Each<S>) -> S,
        scalar: impl Fn(Self::Each<f32>) -> f32,
    );
    /// Runs `body` on matching chunks of the output and the inputs, in parallel.
    fn for_chunks(
        out: &mut [f32],
        inputs: Self::Each<&[f32]>,
        body: impl Fn(&mut [f32], Self::Each<&[f32]>) + Sync,
    );
}

/// One `T` per input of `Op`.
pub type Each<Op, T> = <<Op as Elementwise>::Arity as Arity>::Each<T>;

/// One input array: `out[i] = f(a[i])`.
pub struct One;

/// Two input arrays: `out[i] = f(a[i], b[i])`.
pub struct Two;

impl Arity for One {
    const COUNT: usize = 1;
    type Each<T> = [T; 1];

    fn each<T>(make: impl FnMut(usize) -> T) -> [T; 1] {
        std::array::from_fn(make)
    }

    #[inline(always)]
    fn plain(out: &mut [f32], [a]: [&[f32]; 1], formula: impl Fn([f32; 1]) -> f32) {
        for (o, &x) in out.iter_mut().zip(a) {
            *o = formula([x]);
        }
    }

    #[inline(always)]
    fn map<S: F32Lanes>(
        out: &mut [f32],
        [a]: [&[f32]; 1],
        stores: Stores,
        vector: impl Fn([S; 1]) -> S,
        scalar: impl Fn([f32; 1]) -> f32,
    ) {
        map1::<S>(out, a, stores, |x| vector([x]), |x| scalar([x]));
    }

    fn for_chunks(
        out: &mut [f32],
        [a]: [&[f32]; 1],
        body: impl Fn(&mut [f32], [&[f32]; 1]) + Sync,
    ) {
        for_chunks1(out, a, |out, a| body(out, [a]));
    }
}

impl Arity for Two {
    const COUNT: usize = 2;
    type Each<T> = [T; 2];

    fn each<T>(make: impl FnMut(usize) -> T) -> [T; 2] {
        std::array::from_fn(make)
    }

    #[inline(always)]
    fn plain(out: &mut [f32], [a, b]: [&[f32]; 2], formula: impl Fn([f32; 2]) -> f32) {
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = formula([x, y]);
        }
    }

    #[inline(always)]
    fn map<S: F32Lanes>(
        out: &mut [f32],
        [a, b]: [&[f32]; 2],
        stores: Stores,
        vector: impl Fn([S; 2]) -> S,
        scalar: impl Fn([f32; 2]) -> f32,
    ) {
        map2::<S>(
            out,
            a,
            b,
            stores,
            |x, y| vector([x, y]),
            |x, y| scalar([x, y]),
        );
    }

    fn for_chunks(
        out: &mut [f32],
        [a, b]: [&[f32]; 2],
        body: impl Fn(&mut [f32], [&[f32]; 2]) + Sync,
    ) {
        for_chunks2(out, a, b, |out, a, b| body(out, [a, b]));
    }
}

/// The plain loop of `Op`. Never inlined: as a function of its own its output slice is
/// `noalias`, which lets the compiler vectorize the loop (or call `memcpy`) without overlap checks.
#[inline(never)]
pub fn scalar<Op: Elementwise>(out: &mut [f32], inputs: Each<Op, &[f32]>) {
    Op::Arity::plain(out, inputs, Op::scalar);
}

/// Explicit SIMD on one core.
#[inline(never)]
pub fn simd<Op: Elementwise>(out: &mut [f32], inputs: Each<Op, &[f32]>) {
    let stores = Stores::for_output(out.len());
    dispatch(Lanes::<Op> {
        out,
        inputs,
        stores,
        op: PhantomData,
    });
}

/// All cores of the current rayon pool, SIMD inside each chunk. The kind of store is chosen
/// for the whole output, before it is cut into chunks.
#[inline(never)]
pub fn rayon<Op: Elementwise>(out: &mut [f32], inputs: Each<Op, &[f32]>) {
    let stores = Stores::for_output(out.len());
    Op::Arity::for_chunks(out, inputs, |out, inputs| {
        dispatch(Lanes::<Op> {
            out,
            inputs,
            stores,
            op: PhantomData,
        })
    });
}

/// The SIMD loop of `Op` on one output chunk.
struct Lanes<'o, 'i, Op: Elementwise> {
    out: &'o mut [f32],
    inputs: Each<Op, &'i [f32]>,
    stores: Stores,
    op: PhantomData<fn() -> Op>,
}

impl<Op: Elementwise> SimdKernel for Lanes<'_, '_, Op> {
    type Output = ();
    #[inline(always)]
    fn run<S: F32Lanes>(self) {
        Op::Arity::map::<S>(
            self.out,
            self.inputs,
            self.stores,
            Op::lanes::<S>(),
            Op::scalar,
        );
    }
}

/// Inputs and output of one element-wise kernel at one size.
pub struct ElementwiseProblem<Op: Elementwise> {
    /// One array per input (`Op::Arity::COUNT`).
    inputs: Vec<AlignedVec<f32>>,
    output: AlignedVec<f32>,
    op: PhantomData<Op>,
}

impl<Op: Elementwise> ElementwiseProblem<Op> {
    /// Inputs uniform in [0, 1) from `seed` (input k uses stream k); output filled with NaN.
    pub fn new(n: usize, seed: u64) -> Self {
        ElementwiseProblem {
            inputs: (0..Op::Arity::COUNT)
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

    /// Checks `output` element by element against `Op`'s formula: what [`Problem::verify`]
    /// applies to [`ElementwiseProblem::output`], open to any candidate so that a test can show
    /// which wrong outputs it rejects.
    pub fn check(&self, output: &[f32]) -> Verification {
        check_elements(output, Op::INFO.verification, |i| {
            Op::expected(Op::Arity::each(|k| self.inputs[k][i]))
        })
    }

    /// The output to write and the inputs to read.
    fn arrays(&mut self) -> (&mut [f32], Each<Op, &[f32]>) {
        let inputs = &self.inputs;
        (&mut self.output, Op::Arity::each(|k| &inputs[k][..]))
    }
}

impl<Op: Elementwise> Problem for ElementwiseProblem<Op> {
    fn kernel(&self) -> &'static dyn Kernel {
        crate::kernels::find(Op::INFO.name).expect("every STREAM kernel is registered")
    }

    fn run_loop(&mut self, form: CpuLoop, _variant: Option<&'static Variant>) {
        let (output, inputs) = self.arrays();
        match form {
            CpuLoop::Scalar => scalar::<Op>(output, inputs),
            CpuLoop::Simd => simd::<Op>(output, inputs),
            CpuLoop::Rayon => rayon::<Op>(output, inputs),
        }
    }

    fn gpu_run<'a>(
        &'a mut self,
        context: &'a GpuContext,
        variant: Option<&'static Variant>,
    ) -> Result<Box<dyn GpuRun + 'a>> {
        gpu_run(self, context, variant == Some(&VEC4))
    }

    fn verify(&self) -> Verification {
        self.check(&self.output)
    }

    fn clear_output(&mut self) {
        self.output.fill(f32::NAN);
    }

    fn python_call(&self) -> PythonCall<'_> {
        let n = self.output.len();
        PythonCall {
            params: serde_json::json!({ "q": SCALAR as f64 }),
            inputs: ["a", "b"]
                .into_iter()
                .zip(&self.inputs)
                .map(|(name, values)| Input {
                    name,
                    shape: vec![n],
                    data: ArrayRef::Float32(values),
                })
                .collect(),
            outputs: vec![OutputSpec::new("out", &[n], Dtype::Float32)],
        }
    }

    fn python_outputs(
        &mut self,
        _rung: Backend,
        _variant: Option<&'static Variant>,
    ) -> Vec<ArrayMut<'_>> {
        vec![ArrayMut::Float32(&mut self.output)]
    }
}

/// An element-wise kernel set up on the GPU: one dispatch per chunk of at most one storage
/// binding. With `vec4`, each invocation moves a vec4<f32> per loop round: the device arrays
/// are padded to a multiple of 4 elements (the padding of the inputs stays zero, that of the
/// output is never downloaded) and only the n elements travel.
fn gpu_run<'a, Op: Elementwise>(
    problem: &'a mut ElementwiseProblem<Op>,
    context: &'a GpuContext,
    vec4: bool,
) -> Result<Box<dyn GpuRun + 'a>> {
    let name = Op::INFO.name;
    let workgroup_size = context.workgroup_size(256);
    let mut setup = Setup::new(context, name);
    // One module per variant for the four kernels, the entry point named as the kernel.
    let (label, source, lanes) = match vec4 {
        false => (
            name,
            include_str!("../../../shaders/stream/elementwise.wgsl"),
            1,
        ),
        true => (
            "stream vec4",
            include_str!("../../../shaders/stream/elementwise_vec4.wgsl"),
            VEC4_LANES,
        ),
    };
    let spec = ShaderSpec::new(label, source, name)
        .constant("WORKGROUP_SIZE", workgroup_size)
        .constant("SCALAR", SCALAR)
        .trusted("grid-stride loops with i < arrayLength(&result); the inputs are as long");
    let pipeline = setup.pipeline(&spec)?;

    let n = problem.output.len() as u64;
    let bytes = 4 * n.next_multiple_of(lanes);
    let inputs = (0..Op::Arity::COUNT)
        .map(|k| setup.input(&format!("{name} input {k}"), bytes))
        .collect::<Result<Vec<_>>>()?;
    let output = setup.output(&format!("{name} output"), bytes)?;
    // NaN: a dispatch that writes nothing cannot pass on the previous sample's output.
    setup.poison_each_sample(&output, 0xFF);
    // Chunks of whole vec4s (a binding's worth of them), in elements.
    let chunk = context.chunk_elements(4 * lanes) * lanes;
    let dispatches = context.scoped("creating bind groups", || {
        chunks(n, chunk)
            .map(|chunk| {
                // The last chunk's partial vec4 reaches into the padding.
                let count = chunk.count.next_multiple_of(lanes);
                let arrays = std::iter::once(&output).chain(&inputs);
                let bindings: Vec<_> = arrays
                    .map(|array| array.binding(chunk.first, count, 4))
                    .collect();
                let groups = context.grid_stride_groups(count / lanes, workgroup_size);
                Dispatch::new(context, &pipeline, name, &bindings, [groups, 1, 1])
            })
            .collect()
    })?;
    setup.dispatch(&pipeline, dispatches);
    let gpu = setup.finish()?;
    Ok(gpu.sampled_by(move |gpu| {
        let hosts = &problem.inputs;
        let uploads = Op::Arity::each(|k| hosts[k].as_bytes());
        let output = problem.output.as_bytes_mut();
        gpu.sample(uploads.as_ref(), &mut [output])
    }))
}
