//! Monte Carlo π: throw n points into the unit square and count those inside the quarter
//! circle; π ≈ 4 · hits / n.
//!
//! The generator is counter-based (why that matters: lab 3), so sample i comes from i alone and
//! every lane, core and GPU invocation draws the same points: sample i is the 32-bit lowbias32 hash of
//! `(i mod 2^32) xor key(i div 2^32, seed)`, its point the centre of a cell of a 2^15 × 2^15
//! grid, and the hit test exact integer arithmetic (see [`cpu::inside`]), so every backend's
//! count equals the reference exactly.

pub mod cpu;
mod gpu;

use crate::backend::{Backend, CpuLoop};
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::kernels::{
    Cost, CostModel, Footprint, GpuRun, Items, Kernel, KernelInfo, KernelOptions, Problem, Variant,
    Verification,
};
use crate::python::{ArrayMut, Dtype, OutputSpec, PythonCall};
use std::f64::consts::PI;

/// The Monte Carlo π kernel.
pub struct Pi;

const INFO: KernelInfo = KernelInfo {
    name: "pi",
    summary: "Monte Carlo π: 4 × the fraction of n hashed points of the unit square inside the quarter circle",
    reference: "Gorelick & Ozsvald, High Performance Python, ch. 9 (Monte Carlo π with multiprocessing); \
                Lanaro, Python High Performance, ch. 7 (Monte Carlo π in parallel)",
    size_meaning: "n = samples, up to 2^40; sample i = lowbias32((i mod 2^32) xor key(i div 2^32, seed)), a cell centre \
                   of a 2^15 × 2^15 grid. Each full block of 2^32 samples visits every hash once, so beyond 2^32 samples \
                   the estimate stops improving (its error settles at 5.3e-8, the grid's); the rates stay meaningful",
    cost_model: CostModel {
        device_bytes: "0 (points are made from their indices; the GPU writes 4 bytes per workgroup of partial counts)",
        flops: "0 (integer work: per sample 4 multiplies, 5 shifts, 5 xor/or/and, 1 subtract, 1 compare, 1 add)",
        upload_bytes: "0",
        download_bytes: "8 (the 64-bit count)",
    },
    scalar_loop: "not vectorized in practice: the loop has no float and no dependence between samples, but the \
                  x86_64 baseline (SSE2) has no 32-bit multiply-low and LLVM declines to emulate the four per sample \
                  (the release build keeps scalar imul); the simd backend's SSE2 path, which does emulate them with \
                  pmuludq and shuffles, runs no faster than scalar, AVX2/AVX-512 (vpmulld) do",
    verification: "exact: the hit count equals the reference count (every sample re-tested from its 64-bit index, in \
                   parallel, in prepare; no blocking, no SIMD), and |π̂ − π| ≤ 6σ, σ = 4·sqrt(p(1 − p)/min(n, 2^32)), \
                   p = π/4 (a sanity check of the generator, false for truly random points with probability 2e-9). \
                   The rel. error column is |π̂ − π|/π: the Monte Carlo error (about 0.52/√n), not a tolerance",
};

impl Kernel for Pi {
    fn default_size(&self) -> u64 {
        // 64 Mi samples: π to about four digits.
        1 << 26
    }

    fn info(&self) -> &KernelInfo {
        &INFO
    }

    fn cost(&self, n: u64) -> Cost {
        Cost {
            device_bytes: 0,
            flops: 0,
            upload_bytes: 0,
            download_bytes: 8,
            items: Some(Items {
                count: n,
                unit: "samples",
            }),
        }
    }

    fn footprint(&self, n: u64) -> Footprint {
        // Partials: at most 1024 per row of 2^31 samples, 4 bytes each.
        let partials = 4 * 1024 * n.div_ceil(1 << 31).max(1);
        Footprint {
            host_bytes: 64,
            largest_gpu_buffer_bytes: partials,
            gpu_bytes: partials + 16 + 2 * 8,
            // The points are made from their indices: only the counters.
            working_set_bytes: 64,
        }
    }

    fn prepare(&self, n: usize, seed: u64, _options: &KernelOptions) -> Box<dyn Problem> {
        Box::new(PiProblem::new(n as u64, seed))
    }
}

/// Count kept while no run has produced one: never equal to a reference (n < 2^40).
const POISON: u64 = u64::MAX;

/// One Monte Carlo π problem: the sample count, the seed's key, the reference count and the
/// count of the last run.
pub struct PiProblem {
    n: u64,
    seed_key: u32,
    reference: u64,
    count: u64,
    /// log2 of the samples per row of GPU workgroups (31; tests lower it to get many rows).
    row_shift: u32,
}

impl PiProblem {
    /// `n` samples drawn under `seed`; computes the reference count (in the current pool).
    pub fn new(n: u64, seed: u64) -> Self {
        let seed_key = cpu::seed_key(seed);
        PiProblem {
            n,
            seed_key,
            reference: cpu::reference(n, seed_key),
            count: POISON,
            row_shift: 31,
        }
    }

    /// The hit count of the last run.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The reference hit count.
    pub fn reference(&self) -> u64 {
        self.reference
    }

    /// Makes each row of the GPU dispatch cover 2^`shift` samples (1 ..= 31) instead of 2^31,
    /// so that a test gets many rows (many partial ranges) at a small n.
    pub fn set_gpu_row_shift(&mut self, shift: u32) {
        self.row_shift = shift.clamp(1, 31);
    }

    /// Checks `count` as the hit count of a run: what [`Problem::verify`] applies to
    /// [`PiProblem::count`], open to any candidate so that a test can show which wrong counts
    /// it rejects.
    pub fn check(&self, count: u64) -> Verification {
        let exact = count == self.reference;
        let (relative_error, plausible) = if self.n == 0 {
            (None, true)
        } else {
            let estimate = 4.0 * count as f64 / self.n as f64;
            let p = PI / 4.0;
            let sigma = 4.0 * (p * (1.0 - p) / self.n.min(1 << 32) as f64).sqrt();
            let error = (estimate - PI).abs();
            (Some(error / PI), error <= 6.0 * sigma)
        };
        let passed = exact && plausible;
        Verification {
            passed,
            rule: INFO.verification.to_string(),
            checked: 1,
            mismatches: (!passed) as u64,
            worst_error_ratio: if passed { 0.0 } else { f64::INFINITY },
            relative_error,
            first_mismatch: if !exact {
                Some(if count == POISON {
                    "no count was written".to_string()
                } else {
                    format!(
                        "got {} hits, the reference counted {}",
                        count, self.reference
                    )
                })
            } else if !plausible {
                Some(format!(
                    "the estimate {} is more than 6σ from π: the generator is broken",
                    4.0 * count as f64 / self.n as f64
                ))
            } else {
                None
            },
            note: None,
        }
    }
}

impl Problem for PiProblem {
    fn kernel(&self) -> &'static dyn Kernel {
        &Pi
    }

    fn run_loop(&mut self, form: CpuLoop, _variant: Option<&'static Variant>) {
        let (n, key) = (self.n, self.seed_key);
        self.count = match form {
            CpuLoop::Scalar => cpu::scalar_range(0, n, key),
            CpuLoop::Simd => cpu::simd_range(0, n, key),
            CpuLoop::Rayon => cpu::rayon_range(0, n, key),
        };
    }

    fn gpu_run<'a>(
        &'a mut self,
        context: &'a GpuContext,
        _variant: Option<&'static Variant>,
    ) -> Result<Box<dyn GpuRun + 'a>> {
        gpu::run(self, context)
    }

    fn verify(&self) -> Verification {
        self.check(self.count)
    }

    fn clear_output(&mut self) {
        self.count = POISON;
    }

    /// No inputs: n and the seed's key, from which every rung makes the same points.
    fn python_call(&self) -> PythonCall<'_> {
        PythonCall {
            params: serde_json::json!({ "n": self.n, "seed_key": self.seed_key }),
            inputs: Vec::new(),
            // The 64-bit count as two u32 words, low then high (little-endian, as it lies in
            // memory).
            outputs: vec![OutputSpec::new("count", &[2], Dtype::Uint32)],
        }
    }

    /// Every rung reproduces the generator exactly in integers (pure Python with 32-bit masks,
    /// NumPy and Numba in uint64), so the check is the same exact one as for every backend.
    fn python_outputs(
        &mut self,
        _rung: Backend,
        _variant: Option<&'static Variant>,
    ) -> Vec<ArrayMut<'_>> {
        let words: &mut [u32] = bytemuck::cast_slice_mut(std::slice::from_mut(&mut self.count));
        vec![ArrayMut::Uint32(words)]
    }
}

#[cfg(test)]
mod tests {
    use super::cpu::{block_key, lowbias32, sample_hits, seed_key};

    /// The values python/tests/test_pi.py checks the Python rungs' generator against.
    #[test]
    fn the_python_rungs_generator_values() {
        let hashes = [
            (0, 0),
            (1, 1753845952),
            (42, 388445122),
            (0xdead_beef, 3861431939),
            (u32::MAX, 1734902346),
        ];
        for (x, h) in hashes {
            assert_eq!(lowbias32(x), h);
        }
        for (seed, key) in [
            (0, 2926543089),
            (1, 2692512407),
            (42, 3084001500),
            ((1 << 40) | 7, 2937272898),
        ] {
            assert_eq!(seed_key(seed), key);
        }
        let key = seed_key(42);
        for (block, value) in [(0, 3055533749), (1, 1307432647), (255, 1800554968)] {
            assert_eq!(block_key(key, block), value);
        }
        for (index, hit) in [
            (0, true),
            (1, true),
            (2, false),
            (3, false),
            ((1 << 32) + 5, false),
            ((1 << 39) + 12345, true),
        ] {
            assert_eq!(sample_hits(index, key), hit);
        }
        let count = |range: std::ops::Range<u64>, key| {
            range.filter(|&i| sample_hits(i, key)).count() as u64
        };
        assert_eq!(count(0..1000, seed_key(42)), 782);
        assert_eq!(count(0..100_001, seed_key(7)), 78277);
        assert_eq!(count((1 << 32) - 500..(1 << 32) + 500, key), 779);
    }
}
