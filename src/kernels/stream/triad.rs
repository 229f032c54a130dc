//! STREAM triad: `out[i] = a[i] + q·b[i]`, the headline figure of memory bandwidth.

use super::elementwise::Two;
use super::{Elementwise, F32_ROUNDING, SCALAR};
use crate::cpu::simd::F32Lanes;
use crate::kernels::{CostModel, KernelInfo};

/// The triad kernel.
pub struct Triad;

impl Elementwise for Triad {
    const INFO: KernelInfo = KernelInfo {
        name: "triad",
        summary: "out[i] = a[i] + q·b[i] (q = 0.4): two loads, one multiply-add, one store per element",
        reference: "STREAM triad (McCalpin); BabelStream",
        size_meaning: "n = elements per array (f32)",
        cost_model: CostModel {
            device_bytes: "12·n",
            flops: "2·n",
            upload_bytes: "8·n",
            download_bytes: "4·n",
        },
        scalar_loop: "vectorized by the compiler (independent elements), baseline SSE2 without FMA on x86_64",
        verification: "|out - (a + q·b)| <= 2^-24·(|a| + 2|q·b|): two f32 roundings, or one with FMA; exact value in f64",
    };
    type Arity = Two;
    const FLOPS_PER_ELEMENT: u64 = 2;

    #[inline(always)]
    fn scalar([a, b]: [f32; 2]) -> f32 {
        a + SCALAR * b
    }

    #[inline(always)]
    fn lanes<S: F32Lanes>() -> impl Fn([S; 2]) -> S {
        let q = S::splat(SCALAR);
        move |[a, b]| b.mul_add(q, a)
    }

    fn expected([a, b]: [f32; 2]) -> (f64, f64) {
        let (a, qb) = (a as f64, SCALAR as f64 * b as f64);
        // (1 + 2^-20) covers the product of the two roundings' (1 + u) factors.
        (
            a + qb,
            F32_ROUNDING * (a.abs() + 2.0 * qb.abs()) * (1.0 + 1.0 / (1u64 << 20) as f64),
        )
    }
}
