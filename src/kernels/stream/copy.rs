//! STREAM copy: `out[i] = a[i]`. No arithmetic: a pure measure of moving memory.

use super::Elementwise;
use crate::cpu::parallel::for_chunks1;
use crate::cpu::simd::{F32Lanes, SimdKernel, Stores, dispatch, map1};
use crate::kernels::{CostModel, KernelInfo};

/// The copy kernel.
pub struct Copy;

struct CopySimd<'a> {
    out: &'a mut [f32],
    a: &'a [f32],
    stores: Stores,
}

impl SimdKernel for CopySimd<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: F32Lanes>(self) {
        map1::<S>(self.out, self.a, self.stores, |x| x, |x| x);
    }
}

impl Elementwise for Copy {
    const INFO: KernelInfo = KernelInfo {
        name: "copy",
        summary: "out[i] = a[i]: one load and one store per element, no arithmetic",
        reference: "STREAM copy (McCalpin); BabelStream",
        size_meaning: "n = elements per array (f32)",
        cost_model: CostModel {
            device_bytes: "8·n",
            flops: "0",
            upload_bytes: "4·n",
            download_bytes: "4·n",
        },
        scalar_loop: "the compiler turns it into a vector copy (it may even call memcpy)",
        verification: "exact: out[i] == a[i]",
    };
    const ARITY: usize = 1;
    const FLOPS_PER_ELEMENT: u64 = 0;
    const SHADER: &'static str = include_str!("../../../shaders/stream/copy.wgsl");

    fn scalar(out: &mut [f32], inputs: &[&[f32]]) {
        let [a] = inputs else {
            panic!("copy takes one input")
        };
        for (o, &x) in out.iter_mut().zip(*a) {
            *o = x;
        }
    }

    fn simd(out: &mut [f32], inputs: &[&[f32]]) {
        let [a] = inputs else {
            panic!("copy takes one input")
        };
        let stores = Stores::for_output(out.len());
        dispatch(CopySimd { out, a, stores });
    }

    fn rayon(out: &mut [f32], inputs: &[&[f32]]) {
        let [a] = inputs else {
            panic!("copy takes one input")
        };
        let stores = Stores::for_output(out.len());
        for_chunks1(out, a, |out, a| dispatch(CopySimd { out, a, stores }));
    }

    fn expected(values: &[f32]) -> (f64, f64) {
        (values[0] as f64, 0.0)
    }
}
