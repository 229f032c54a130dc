//! matmul: C = A·B for n × n f32 matrices, row-major (the data-reuse lesson of labs 5 and 6).
//!
//! `cpu.rs`: the plain loop, the blocked SIMD kernel (`simd`, `rayon`), the `gemm` crate
//! (`library`) and the f64 reference; `gpu.rs`: the GPU ladder from `naive` to `vectorized`, in
//! row bands when a matrix exceeds one storage binding.

pub mod cpu;
pub mod gpu;

use crate::backend::{Backend, CpuLoop};
use crate::cpu::AlignedVec;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::kernels::inputs::uniform_f32;
use crate::kernels::verify::check_elements;
use crate::kernels::{
    Cost, CostModel, Footprint, GpuRun, Implementation, Kernel, KernelInfo, KernelOptions, Problem,
    Variant, Verification,
};
use crate::python::{ArrayMut, ArrayRef, Dtype, Input, OutputSpec, PythonCall};
use cpu::Workspace;

/// The matmul kernel.
pub struct Matmul;

/// Unit roundoff of f32.
const F32_ROUNDING: f64 = 1.0 / (1u64 << 24) as f64;

/// The constant γ of the verification bound `|C − C64| ≤ γ·n·u·(|A|·|B|)_ij`.
pub const ERROR_CONSTANT: f64 = 2.0;

const INFO: KernelInfo = KernelInfo {
    name: "matmul",
    summary: "C = A·B for n × n f32 matrices: 2n³ flops on 12n² bytes, bound by reuse (blocking) rather than by memory",
    reference: "Lanaro, Python High Performance 2e, ch. 7 (a 5000 × 5000 matrix product on the GPU, transfer included); \
                blocking after Goto & van de Geijn, Anatomy of High-Performance Matrix Multiplication (ACM TOMS 2008)",
    size_meaning: "n = side of the square matrices (A, B and C are n × n f32, 4n² bytes each; n = 1024 is 4 MiB per matrix)",
    cost_model: CostModel {
        device_bytes: "12·n² (compulsory traffic: read A and B, write C once; the real traffic depends on the blocking)",
        flops: "2·n³",
        upload_bytes: "8·n²",
        download_bytes: "4·n²",
    },
    scalar_loop: "vectorized: the plain loop runs in i-k-j order, so its inner loop is an axpy over a row of B and a row \
                  of C (unit stride, independent iterations) that the compiler vectorizes with the baseline SSE2 (4 lanes, \
                  no FMA); the i-j-k order would sum a strided column of B into one scalar, which may not be reordered",
    verification: "|C - C64| <= 2·n·2^-24·(|A|·|B|)_ij for every element, C64 the product in f64: any f32 dot product of \
                   length n, in any summation order, with or without FMA, is within γ_n = n·u/(1 - n·u) <= 2·n·u of the \
                   exact one (Higham, Accuracy and Stability of Numerical Algorithms, §3.1); the factor 2 also covers the f64 \
                   reference's own n·2^-53. Inputs are uniform in [0, 1), so |A|·|B| = A·B = C64. The same bound holds \
                   for the Python rungs: numpy's a @ b is BLAS sgemm (an f32 dot product per element, its order), numba \
                   the i-k-j loop in f32, and python a dot product over Python floats (f64: exact products, n − 1 \
                   roundings of 2^-53) rounded to f32 once, within (n·2^-29 + 1)·2^-24 ≤ 2n·2^-24 relative",
};

/// The GPU ladder's first step: every operand from global memory, invocations down a column.
pub const NAIVE: Variant = Variant {
    name: "naive",
    summary: "one invocation per element of C, every operand from global memory, neighbouring invocations down a column (uncoalesced)",
    default: true,
};

/// Neighbouring invocations along a row.
pub const COALESCED: Variant = Variant {
    name: "coalesced",
    summary: "naive with neighbouring invocations along a row: a warp reads consecutive floats of B and writes consecutive floats of C",
    default: false,
};

/// Tiles through workgroup memory.
pub const TILED: Variant = Variant {
    name: "tiled",
    summary: "tiles of A and B staged through workgroup memory (16 × 16 where the adapter allows): global loads per FMA fall by the tile side",
    default: true,
};

/// A column of outputs per invocation.
pub const REGISTER_1D: Variant = Variant {
    name: "register-1d",
    summary: "a column of 8 elements of C per invocation, from tiles in workgroup memory: one load of B's tile serves 8 FMAs",
    default: false,
};

/// A block of outputs per invocation.
pub const REGISTER_2D: Variant = Variant {
    name: "register-2d",
    summary: "an 8 × 8 block of C per invocation, from tiles in workgroup memory: 8 + 8 loaded values serve 64 FMAs",
    default: false,
};

/// vec4 loads and stores.
pub const VECTORIZED: Variant = Variant {
    name: "vectorized",
    summary: "register-2d with vec4 loads and stores and A's tile transposed: a quarter of the load instructions (n a multiple of 4)",
    default: true,
};

/// The ladder, in the order the run table shows it.
static GPU_VARIANTS: [Variant; 6] = [
    NAIVE,
    COALESCED,
    TILED,
    REGISTER_1D,
    REGISTER_2D,
    VECTORIZED,
];

impl Kernel for Matmul {
    fn default_size(&self) -> u64 {
        // 1024 × 1024: 2.1 GFLOP, the size of the performance goal.
        1024
    }

    fn info(&self) -> &KernelInfo {
        &INFO
    }

    fn cost(&self, n: u64) -> Cost {
        let square = n.saturating_mul(n);
        Cost {
            device_bytes: square.saturating_mul(12),
            flops: square.saturating_mul(n).saturating_mul(2),
            upload_bytes: square.saturating_mul(8),
            download_bytes: square.saturating_mul(4),
            items: None,
        }
    }

    fn footprint(&self, n: u64) -> Footprint {
        let matrix = n.saturating_mul(n).saturating_mul(4);
        Footprint {
            // A, B, C in f32, the reference in f64, the packing buffers.
            host_bytes: matrix.saturating_mul(5).saturating_add(Workspace::bytes(n)),
            largest_gpu_buffer_bytes: matrix,
            // A, B, C on the device, A's and B's staging buffers, C's readback buffer, and the
            // per-dispatch parameters (256 bytes per pair of row bands: negligible).
            gpu_bytes: matrix.saturating_mul(6),
            working_set_bytes: matrix.saturating_mul(3),
        }
    }

    fn backends(&self) -> &'static [Backend] {
        &Backend::NATIVE
    }

    fn native_variants(&self, backend: Backend) -> &'static [Variant] {
        match backend {
            Backend::Gpu => &GPU_VARIANTS,
            _ => &[],
        }
    }

    fn rows_are_a_ladder(&self) -> bool {
        true
    }

    fn refusal(&self, implementation: Implementation, n: u64) -> Option<String> {
        let variant = implementation.variant?;
        gpu::GpuVariant::parse(Some(variant.name)).ok()?.refusal(n)
    }

    fn prepare(&self, n: usize, seed: u64, _options: &KernelOptions) -> Box<dyn Problem> {
        Box::new(MatmulProblem::new(n, seed))
    }
}

/// The inputs, output, reference and packing buffers of one product.
pub struct MatmulProblem {
    n: usize,
    a: AlignedVec<f32>,
    b: AlignedVec<f32>,
    c: AlignedVec<f32>,
    /// A·B in f64 (also |A|·|B|, the inputs being non-negative).
    exact: Vec<f64>,
    workspace: Workspace,
}

impl MatmulProblem {
    /// A and B uniform in [0, 1) from `seed` (streams 0 and 1), C poisoned with NaN, the f64
    /// reference computed (in parallel on the current pool).
    pub fn new(n: usize, seed: u64) -> MatmulProblem {
        let a = uniform_f32(n * n, seed, 0);
        let b = uniform_f32(n * n, seed, 1);
        let exact = cpu::reference(&a, &b, n);
        MatmulProblem {
            n,
            a,
            b,
            c: AlignedVec::filled(n * n, f32::NAN),
            exact,
            workspace: Workspace::new(n),
        }
    }

    /// Side of the matrices.
    pub fn n(&self) -> usize {
        self.n
    }

    /// C from the last run, row-major.
    pub fn output(&self) -> &[f32] {
        &self.c
    }

    /// Checks any n × n `output` against the f64 reference with the stated bound (what
    /// `verify` applies to the last run; tests use it on outputs they altered). Panics when
    /// `output` is not n × n.
    pub fn check(&self, output: &[f32]) -> Verification {
        let scale = ERROR_CONSTANT * self.n as f64 * F32_ROUNDING;
        assert_eq!(output.len(), self.exact.len(), "output is not n × n");
        check_elements(output, INFO.verification, |i| {
            let exact = self.exact[i];
            (exact, scale * exact.abs())
        })
    }
}

impl Problem for MatmulProblem {
    fn kernel(&self) -> &'static dyn Kernel {
        &Matmul
    }

    fn run_loop(&mut self, form: CpuLoop, _variant: Option<&'static Variant>) {
        let (a, b, c, n) = (&self.a[..], &self.b[..], &mut self.c[..], self.n);
        match form {
            CpuLoop::Scalar => cpu::scalar(a, b, c, n),
            CpuLoop::Simd => cpu::simd(a, b, c, n, &mut self.workspace),
            CpuLoop::Rayon => cpu::rayon(a, b, c, n, &mut self.workspace),
        }
    }

    fn run_library(&mut self, _variant: Option<&'static Variant>) {
        cpu::library(&self.a, &self.b, &mut self.c, self.n);
    }

    fn gpu_run<'a>(
        &'a mut self,
        context: &'a GpuContext,
        variant: Option<&'static Variant>,
    ) -> Result<Box<dyn GpuRun + 'a>> {
        let variant = variant.map(|v| v.name);
        Ok(Box::new(gpu::MatmulGpu::new(self, context, variant)?))
    }

    fn verify(&self) -> Verification {
        self.check(&self.c)
    }

    fn clear_output(&mut self) {
        self.c.fill(f32::NAN);
    }

    fn python_call(&self) -> PythonCall<'_> {
        let n = self.n;
        PythonCall {
            params: serde_json::json!({ "n": n }),
            inputs: vec![
                Input {
                    name: "a",
                    shape: vec![n, n],
                    data: ArrayRef::Float32(&self.a),
                },
                Input {
                    name: "b",
                    shape: vec![n, n],
                    data: ArrayRef::Float32(&self.b),
                },
            ],
            outputs: vec![OutputSpec::new("c", &[n, n], Dtype::Float32)],
        }
    }

    /// One check for every rung: the bound holds for an f32 dot product in any order (numpy's
    /// BLAS, numba's i-k-j loop) and for python's f64 dot product rounded once to f32, whose
    /// error (n − 1)·2^-53 + 2^-24 (relative to |A|·|B|) is below 2n·2^-24 for every n ≥ 1.
    fn python_outputs(
        &mut self,
        _rung: Backend,
        _variant: Option<&'static Variant>,
    ) -> Vec<ArrayMut<'_>> {
        vec![ArrayMut::Float32(&mut self.c)]
    }
}
