//! The STREAM family (McCalpin's STREAM, as BabelStream runs it on GPUs), in f32: copy, scale,
//! add and triad are element-wise (each file gives its formula; [`elementwise`] is the one body
//! they share), dot is a reduction.
//!
//! Every array is a separate input or output, so each kernel can run any number of times from
//! the same inputs; bytes are counted the STREAM way (each array read or written once per element;
//! the CPU's write-allocate traffic is not counted).
//!
//! On the GPU every STREAM kernel has two variants: `f32` (one element per invocation and loop
//! round) and `vec4` (four: 16-byte loads and stores, more bytes in flight per invocation). The
//! `vec4` device arrays are padded to a multiple of 4 elements; the padding is neither uploaded
//! nor downloaded nor counted (the cost stays 4·n bytes per array).

pub mod add;
pub mod copy;
pub mod dot;
pub mod elementwise;
pub mod scale;
pub mod triad;

use super::{Cost, Footprint, Kernel, KernelInfo, KernelOptions, Problem, Variant};
use crate::backend::Backend;
use crate::cpu::simd::F32Lanes;
use elementwise::{Arity, Each, ElementwiseProblem};

/// The scalar `q` of scale and triad (BabelStream's `startScalar`).
pub const SCALAR: f32 = 0.4;

/// Half an f32 unit in the last place, relative (2^-24): the error of one rounding.
pub const F32_ROUNDING: f64 = 1.0 / (1u64 << 24) as f64;

/// GPU: one f32 per invocation and loop round.
pub const F32: Variant = Variant {
    name: "f32",
    summary: "one f32 per invocation and loop round: 4-byte loads and stores",
    default: true,
};

/// GPU: four f32 per invocation and loop round.
pub const VEC4: Variant = Variant {
    name: "vec4",
    summary: "a vec4<f32> per invocation and loop round: 16-byte loads and stores, 4× the bytes in flight \
              per invocation (arrays padded to a multiple of 4 elements, the padding not counted)",
    default: false,
};

/// The GPU variants of every STREAM kernel.
pub(crate) static GPU_VARIANTS: [Variant; 2] = [F32, VEC4];

/// Floats per element of the `vec4` variant's arrays.
pub(crate) const VEC4_LANES: u64 = 4;

/// One element-wise STREAM kernel: `out[i] = f(a[i])` or `out[i] = f(a[i], b[i])`.
///
/// The implementor gives its formula, once for one element and once for whole SIMD registers,
/// with its inputs as an array whose length is [`Elementwise::Arity`]; [`elementwise`] does the
/// rest (inputs, the plain, SIMD and parallel loops, GPU buffers and chunking, verification).
pub trait Elementwise: Send + Sync + 'static {
    /// Name, summary, cost formulas.
    const INFO: KernelInfo;
    /// How many input arrays: [`elementwise::One`] or [`elementwise::Two`].
    type Arity: Arity;
    /// Floating-point operations per element.
    const FLOPS_PER_ELEMENT: u64;
    /// The formula on one element: the plain loop's body and the SIMD loop's tail.
    fn scalar(inputs: Each<Self, f32>) -> f32;
    /// The formula on whole registers; constants are splat here, once, outside the loop.
    fn lanes<S: F32Lanes>() -> impl Fn(Each<Self, S>) -> S;
    /// The exact value of one element from its input values, and the error an f32 computation
    /// may have (absolute).
    fn expected(inputs: Each<Self, f32>) -> (f64, f64);
}

/// Adapts an [`Elementwise`] op to the [`Kernel`] interface.
pub struct ElementwiseKernel<Op: Elementwise>(pub Op);

impl<Op: Elementwise> Kernel for ElementwiseKernel<Op> {
    fn info(&self) -> &KernelInfo {
        &Op::INFO
    }

    fn cost(&self, n: u64) -> Cost {
        let array = 4 * n;
        let inputs = Op::Arity::COUNT as u64;
        Cost {
            device_bytes: array * (inputs + 1),
            flops: Op::FLOPS_PER_ELEMENT * n,
            upload_bytes: array * inputs,
            download_bytes: array,
            items: None,
        }
    }

    fn footprint(&self, n: u64) -> Footprint {
        let array = 4 * n;
        let arrays = Op::Arity::COUNT as u64 + 1;
        Footprint {
            host_bytes: array * arrays,
            largest_gpu_buffer_bytes: array,
            // Device arrays plus one staging buffer per input and one readback buffer.
            gpu_bytes: array * arrays * 2,
            working_set_bytes: array * arrays,
        }
    }

    fn native_variants(&self, backend: Backend) -> &'static [Variant] {
        match backend {
            Backend::Gpu => &GPU_VARIANTS,
            _ => &[],
        }
    }

    fn prepare(&self, n: usize, seed: u64, _options: &KernelOptions) -> Box<dyn Problem> {
        Box::new(ElementwiseProblem::<Op>::new(n, seed))
    }
}

/// STREAM copy, for the registry.
pub static COPY: ElementwiseKernel<copy::Copy> = ElementwiseKernel(copy::Copy);
/// STREAM scale, for the registry.
pub static SCALE: ElementwiseKernel<scale::Scale> = ElementwiseKernel(scale::Scale);
/// STREAM add, for the registry.
pub static ADD: ElementwiseKernel<add::Add> = ElementwiseKernel(add::Add);
/// STREAM triad, for the registry.
pub static TRIAD: ElementwiseKernel<triad::Triad> = ElementwiseKernel(triad::Triad);
