//! STREAM scale: `out[i] = q·a[i]`. One multiply per element: still memory-bound everywhere.

use super::{Elementwise, F32_ROUNDING, SCALAR};
use crate::cpu::parallel::for_chunks1;
use crate::cpu::simd::{F32Lanes, SimdKernel, Stores, dispatch, map1};
use crate::kernels::{CostModel, KernelInfo};

/// The scale kernel.
pub struct Scale;

struct ScaleSimd<'a> {
    out: &'a mut [f32],
    a: &'a [f32],
    stores: Stores,
}

impl SimdKernel for ScaleSimd<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: F32Lanes>(self) {
        let q = S::splat(SCALAR);
        map1::<S>(self.out, self.a, self.stores, |x| x.mul(q), |x| x * SCALAR);
    }
}

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
    const ARITY: usize = 1;
    const FLOPS_PER_ELEMENT: u64 = 1;
    const SHADER: &'static str = include_str!("../../../shaders/stream/scale.wgsl");
    const SHADER_CONSTANTS: &'static [(&'static str, f64)] = &[("SCALAR", SCALAR as f64)];

    fn scalar(out: &mut [f32], inputs: &[&[f32]]) {
        let [a] = inputs else {
            panic!("scale takes one input")
        };
        for (o, &x) in out.iter_mut().zip(*a) {
            *o = SCALAR * x;
        }
    }

    fn simd(out: &mut [f32], inputs: &[&[f32]]) {
        let [a] = inputs else {
            panic!("scale takes one input")
        };
        let stores = Stores::for_output(out.len());
        dispatch(ScaleSimd { out, a, stores });
    }

    fn rayon(out: &mut [f32], inputs: &[&[f32]]) {
        let [a] = inputs else {
            panic!("scale takes one input")
        };
        let stores = Stores::for_output(out.len());
        for_chunks1(out, a, |out, a| dispatch(ScaleSimd { out, a, stores }));
    }

    fn expected(values: &[f32]) -> (f64, f64) {
        let exact = SCALAR as f64 * values[0] as f64;
        (exact, F32_ROUNDING * exact.abs())
    }
}
