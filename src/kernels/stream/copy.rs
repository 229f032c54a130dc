//! STREAM copy: `out[i] = a[i]`. No arithmetic: a pure measure of moving memory.

use super::Elementwise;
use super::elementwise::One;
use crate::cpu::simd::F32Lanes;
use crate::kernels::{CostModel, KernelInfo};

/// The copy kernel.
pub struct Copy;

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
    type Arity = One;
    const FLOPS_PER_ELEMENT: u64 = 0;

    #[inline(always)]
    fn scalar([a]: [f32; 1]) -> f32 {
        a
    }

    #[inline(always)]
    fn lanes<S: F32Lanes>() -> impl Fn([S; 1]) -> S {
        |[a]| a
    }

    fn expected([a]: [f32; 1]) -> (f64, f64) {
        // Exact on the Python rungs too: the python rung's floats hold the f32 values exactly.
        (a as f64, 0.0)
    }
}
