//! STREAM scale: `out[i] = q·a[i]`. One multiply per element: still memory-bound everywhere.

use super::elementwise::One;
use super::{Elementwise, F32_ROUNDING, SCALAR};
use crate::cpu::simd::F32Lanes;
use crate::kernels::{CostModel, KernelInfo};

/// The scale kernel.
pub struct Scale;

impl Elementwise for Scale {
    const INFO: KernelInfo = KernelInfo {
        name: "scale",
        summary: "out[i] = q·a[i] (q = 0.4): one load, one multiply, one store per element",
        reference: "STREAM scale (McCalpin); BabelStream mul",
        size_meaning: "n = elements per array (f32)",
        cost_model: CostModel {
            device_bytes: "8·n",
            flops: "n",
            upload_bytes: "4·n",
            download_bytes: "4·n",
        },
        scalar_loop: "vectorized by the compiler (independent elements), baseline SSE2 on x86_64",
        verification: "|out - q·a| <= 2^-24·|q·a| (one f32 rounding, computed exactly in f64)",
    };
    type Arity = One;
    const FLOPS_PER_ELEMENT: u64 = 1;

    #[inline(always)]
    fn scalar([a]: [f32; 1]) -> f32 {
        SCALAR * a
    }

    #[inline(always)]
    fn lanes<S: F32Lanes>() -> impl Fn([S; 1]) -> S {
        let q = S::splat(SCALAR);
        move |[a]| a.mul(q)
    }

    fn expected([a]: [f32; 1]) -> (f64, f64) {
        // The python rung multiplies in f64, where q·a (two 24-bit significands) is exact, and
        // rounds once when the result is stored as f32: the same one rounding.
        let exact = SCALAR as f64 * a as f64;
        (exact, F32_ROUNDING * exact.abs())
    }
}
