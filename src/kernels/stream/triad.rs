//! STREAM triad: `out[i] = a[i] + q·b[i]`, the headline figure of memory bandwidth.

use super::{Elementwise, F32_ROUNDING, SCALAR};
use crate::cpu::parallel::for_chunks2;
use crate::cpu::simd::{F32Lanes, SimdKernel, Stores, dispatch, map2};
use crate::kernels::{CostModel, KernelInfo};

/// The triad kernel.
pub struct Triad;

struct TriadSimd<'a> {
    out: &'a mut [f32],
    a: &'a [f32],
    b: &'a [f32],
    stores: Stores,
}

impl SimdKernel for TriadSimd<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: F32Lanes>(self) {
        let q = S::splat(SCALAR);
        map2::<S>(
            self.out,
            self.a,
            self.b,
            self.stores,
            |x, y| y.mul_add(q, x),
            |x, y| x + SCALAR * y,
        );
    }
}

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
    const ARITY: usize = 2;
    const FLOPS_PER_ELEMENT: u64 = 2;
    const SHADER: &'static str = include_str!("../../../shaders/stream/triad.wgsl");
    const SHADER_CONSTANTS: &'static [(&'static str, f64)] = &[("SCALAR", SCALAR as f64)];

    fn scalar(out: &mut [f32], inputs: &[&[f32]]) {
        let [a, b] = inputs else {
            panic!("triad takes two inputs")
        };
        for ((o, &x), &y) in out.iter_mut().zip(*a).zip(*b) {
            *o = x + SCALAR * y;
        }
    }

    fn simd(out: &mut [f32], inputs: &[&[f32]]) {
        let [a, b] = inputs else {
            panic!("triad takes two inputs")
        };
        let stores = Stores::for_output(out.len());
        dispatch(TriadSimd { out, a, b, stores });
    }

    fn rayon(out: &mut [f32], inputs: &[&[f32]]) {
        let [a, b] = inputs else {
            panic!("triad takes two inputs")
        };
        let stores = Stores::for_output(out.len());
        for_chunks2(out, a, b, |out, a, b| {
            dispatch(TriadSimd { out, a, b, stores })
        });
    }

    fn expected(values: &[f32]) -> (f64, f64) {
        let (a, qb) = (values[0] as f64, SCALAR as f64 * values[1] as f64);
        // (1 + 2^-20) covers the product of the two roundings' (1 + u) factors.
        (
            a + qb,
            F32_ROUNDING * (a.abs() + 2.0 * qb.abs()) * (1.0 + 1.0 / (1u64 << 20) as f64),
        )
    }
}
