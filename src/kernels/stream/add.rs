//! STREAM add: `out[i] = a[i] + b[i]`. Two loads and one store per element.

use super::{Elementwise, F32_ROUNDING};
use crate::cpu::parallel::for_chunks2;
use crate::cpu::simd::{F32Lanes, SimdKernel, Stores, dispatch, map2};
use crate::kernels::{CostModel, KernelInfo};

/// The add kernel.
pub struct Add;

struct AddSimd<'a> {
    out: &'a mut [f32],
    a: &'a [f32],
    b: &'a [f32],
    stores: Stores,
}

impl SimdKernel for AddSimd<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: F32Lanes>(self) {
        map2::<S>(
            self.out,
            self.a,
            self.b,
            self.stores,
            |x, y| x.add(y),
            |x, y| x + y,
        );
    }
}

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
    const ARITY: usize = 2;
    const FLOPS_PER_ELEMENT: u64 = 1;
    const SHADER: &'static str = include_str!("../../../shaders/stream/add.wgsl");

    fn scalar(out: &mut [f32], inputs: &[&[f32]]) {
        let [a, b] = inputs else {
            panic!("add takes two inputs")
        };
        for ((o, &x), &y) in out.iter_mut().zip(*a).zip(*b) {
            *o = x + y;
        }
    }

    fn simd(out: &mut [f32], inputs: &[&[f32]]) {
        let [a, b] = inputs else {
            panic!("add takes two inputs")
        };
        let stores = Stores::for_output(out.len());
        dispatch(AddSimd { out, a, b, stores });
    }

    fn rayon(out: &mut [f32], inputs: &[&[f32]]) {
        let [a, b] = inputs else {
            panic!("add takes two inputs")
        };
        let stores = Stores::for_output(out.len());
        for_chunks2(out, a, b, |out, a, b| {
            dispatch(AddSimd { out, a, b, stores })
        });
    }

    fn expected(values: &[f32]) -> (f64, f64) {
        let exact = values[0] as f64 + values[1] as f64;
        (exact, F32_ROUNDING * exact.abs())
    }
}
