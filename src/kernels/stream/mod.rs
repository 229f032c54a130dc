//! The STREAM family (McCalpin's STREAM, as BabelStream runs it on GPUs), in f32: copy, scale,
//! add and triad are element-wise (one file each, sharing [`elementwise`]), dot is a reduction.
//!
//! Every array is a separate input or output, so each kernel can run any number of times from
//! the same inputs; bytes are counted the STREAM way (each array read or written once per element;
//! the CPU's write-allocate traffic is not counted).

pub mod add;
pub mod copy;
pub mod dot;
pub mod elementwise;
pub mod scale;
pub mod triad;

use super::{Cost, Footprint, GpuSetup, Kernel, KernelInfo, KernelOptions, Problem};
use elementwise::ElementwiseProblem;

/// The scalar `q` of scale and triad (BabelStream's `startScalar`).
pub const SCALAR: f32 = 0.4;

/// Half an f32 unit in the last place, relative (2^-24): the error of one rounding.
pub const F32_ROUNDING: f64 = 1.0 / (1u64 << 24) as f64;

/// One element-wise STREAM kernel: `out[i] = f(inputs[0][i], inputs[1][i], …)`.
///
/// The implementor writes the three CPU versions and names its shader; [`elementwise`] does the
/// rest (inputs, GPU buffers and chunking, verification).
pub trait Elementwise: Send + Sync + 'static {
    /// Name, summary, cost formulas.
    const INFO: KernelInfo;
    /// Number of input arrays.
    const ARITY: usize;
    /// Floating-point operations per element.
    const FLOPS_PER_ELEMENT: u64;
    /// The WGSL source; entry point `main`, output at binding 0, inputs at bindings 1.., override
    /// `WORKGROUP_SIZE`.
    const SHADER: &'static str;
    /// Values of the shader's other `override` constants.
    const SHADER_CONSTANTS: &'static [(&'static str, f64)] = &[];
    /// The plain loop.
    fn scalar(out: &mut [f32], inputs: &[&[f32]]);
    /// Explicit SIMD on one core.
    fn simd(out: &mut [f32], inputs: &[&[f32]]);
    /// All cores of the current rayon pool, SIMD inside each chunk.
    fn rayon(out: &mut [f32], inputs: &[&[f32]]);
    /// The exact value of one element from its input values, and the error an f32 computation
    /// may have (absolute).
    fn expected(values: &[f32]) -> (f64, f64);
}

/// Adapts an [`Elementwise`] op to the [`Kernel`] interface.
pub struct ElementwiseKernel<Op: Elementwise>(pub Op);

impl<Op: Elementwise> Kernel for ElementwiseKernel<Op> {
    fn info(&self) -> &KernelInfo {
        &Op::INFO
    }

    fn cost(&self, n: u64) -> Cost {
        let array = 4 * n;
        Cost {
            device_bytes: array * (Op::ARITY as u64 + 1),
            flops: Op::FLOPS_PER_ELEMENT * n,
            upload_bytes: array * Op::ARITY as u64,
            download_bytes: array,
            items: None,
        }
    }

    fn footprint(&self, n: u64) -> Footprint {
        let array = 4 * n;
        let arrays = Op::ARITY as u64 + 1;
        Footprint {
            host_bytes: array * arrays,
            largest_gpu_buffer_bytes: array,
            // Device arrays plus one staging buffer per input and one readback buffer.
            gpu_bytes: array * arrays * 2,
        }
    }

    fn prepare(&self, n: usize, seed: u64, _options: &KernelOptions) -> Box<dyn Problem> {
        Box::new(ElementwiseProblem::<Op>::new(n, seed))
    }
}

/// The kernels of this family, for the registry.
pub static COPY: ElementwiseKernel<copy::Copy> = ElementwiseKernel(copy::Copy);
pub static SCALE: ElementwiseKernel<scale::Scale> = ElementwiseKernel(scale::Scale);
pub static ADD: ElementwiseKernel<add::Add> = ElementwiseKernel(add::Add);
pub static TRIAD: ElementwiseKernel<triad::Triad> = ElementwiseKernel(triad::Triad);

// Every kernel's `GpuRun::setup` reads its runner's costs through this conversion. It belongs
// beside `GpuSetup` in `kernels/mod.rs`; it stands here only because this change leaves that
// file alone.
impl From<&crate::gpu::Runner<'_>> for GpuSetup {
    fn from(runner: &crate::gpu::Runner<'_>) -> GpuSetup {
        GpuSetup {
            shader_compile_s: runner.compile_s,
            buffers_s: runner.buffers_s,
        }
    }
}
