//! STREAM add: `out[i] = a[i] + b[i]`. Two loads and one store per element.

use super::elementwise::Two;
use super::{Elementwise, F32_ROUNDING};
use crate::cpu::simd::F32Lanes;
use crate::kernels::{CostModel, KernelInfo};

/// The add kernel.
pub struct Add;

impl Elementwise for Add {
    const INFO: KernelInfo = KernelInfo {
        name: "add",
        summary: "out[i] = a[i] + b[i]: two loads, one add, one store per element",
        reference: "STREAM add (McCalpin); BabelStream",
        size_meaning: "n = elements per array (f32)",
        cost_model: CostModel {
            device_bytes: "12·n",
            flops: "n",
            upload_bytes: "8·n",
            download_bytes: "4·n",
        },
        scalar_loop: "vectorized by the compiler (independent elements), baseline SSE2 on x86_64",
        verification: "|out - (a + b)| <= 2^-24·|a + b| (one f32 rounding, computed exactly in f64)",
    };
    type Arity = Two;
    const FLOPS_PER_ELEMENT: u64 = 1;

    #[inline(always)]
    fn scalar([a, b]: [f32; 2]) -> f32 {
        a + b
    }

    #[inline(always)]
    fn lanes<S: F32Lanes>() -> impl Fn([S; 2]) -> S {
        |[a, b]| a.add(b)
    }

    fn expected([a, b]: [f32; 2]) -> (f64, f64) {
        // The python rung adds in f64, where a + b (multiples of 2^-24 below 2) is exact, and
        // rounds once when the result is stored as f32: the same one rounding.
        let exact = a as f64 + b as f64;
        (exact, F32_ROUNDING * exact.abs())
    }
}
