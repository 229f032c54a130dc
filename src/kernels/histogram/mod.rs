//! Byte histogram: how many times each of the 256 byte values occurs in n random bytes.
//!
//! Every byte is a read-modify-write of a shared bin (the contention lesson of lab 6): `simd`
//! spreads nearby bytes over sub-tables, `rayon` gives each thread a private table, and the GPU
//! has `global-atomics` and `private` (workgroup bins first). Counts are integers, so every
//! backend must match the reference exactly.

pub mod cpu;
mod gpu;

use crate::backend::{Backend, CpuLoop};
use crate::cpu::AlignedVec;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::kernels::inputs::random_bits;
use crate::kernels::{
    Cost, CostModel, Footprint, GpuRun, Kernel, KernelInfo, KernelOptions, Problem, Variant,
    Verification,
};
use crate::python::{ArrayMut, ArrayRef, Dtype, Input, OutputSpec, PythonCall};
use cpu::{BINS, Counts};
use rayon::prelude::*;

/// The byte-histogram kernel.
pub struct Histogram;

const INFO: KernelInfo = KernelInfo {
    name: "histogram",
    summary: "counts of each of the 256 byte values in n random bytes: one read-modify-write of a shared bin per byte",
    reference: "the contention lesson of parallel histograms (CUDA/OpenCL privatisation: global vs shared-memory \
                atomics); Gorelick & Ozsvald, High Performance Python, ch. 9 (sharing state between processes)",
    size_meaning: "n = bytes (uniform random, from the seed; the GPU gets them packed four per u32)",
    cost_model: CostModel {
        device_bytes: "n + 1024 (each byte read once, 256 u32 bins written; atomic traffic on the bins not counted)",
        flops: "0",
        upload_bytes: "n rounded up to a multiple of 4",
        download_bytes: "1024 (256 u32 bins)",
    },
    scalar_loop: "not vectorized: each byte increments a bin that a later byte may increment again, a dependence \
                  through memory the compiler cannot rule out (a vector scatter would lose increments when two lanes \
                  hit one bin)",
    verification: "exact: each of the 256 counts equals the reference count (a plain loop over 64 KiB blocks, in \
                   parallel, in prepare); GPU bins are u32, exact while no bin passes 2^32 − 1; so are the counts the \
                   Python rungs return (python's list of ints, numpy's np.bincount, numba's int64 tables, each \
                   written as 256 u32)",
};

/// The GPU variant with one global atomic add per byte.
pub const GLOBAL_ATOMICS: Variant = Variant {
    name: "global-atomics",
    summary: "one atomicAdd per byte on 256 bins in global memory",
    default: true,
};

/// The GPU variant that counts in workgroup memory first.
pub const PRIVATE: Variant = Variant {
    name: "private",
    summary: "per-workgroup bins in workgroup memory, then one global atomicAdd per bin",
    default: true,
};

static GPU_VARIANTS: [Variant; 2] = [GLOBAL_ATOMICS, PRIVATE];

impl Kernel for Histogram {
    fn default_size(&self) -> u64 {
        // 64 Mi bytes: far beyond the caches.
        1 << 26
    }

    fn info(&self) -> &KernelInfo {
        &INFO
    }

    fn cost(&self, n: u64) -> Cost {
        Cost {
            device_bytes: n + 4 * BINS as u64,
            flops: 0,
            upload_bytes: n.next_multiple_of(4),
            download_bytes: 4 * BINS as u64,
            items: None,
        }
    }

    fn footprint(&self, n: u64) -> Footprint {
        let padded = n.next_multiple_of(4).max(4);
        Footprint {
            host_bytes: padded + 2 * 8 * BINS as u64,
            largest_gpu_buffer_bytes: padded,
            // Data and its staging buffer; bins and their readback; chunk sizes (small).
            gpu_bytes: 2 * padded + 2 * 4 * BINS as u64 + 4096,
            working_set_bytes: padded + 8 * BINS as u64,
        }
    }

    fn native_variants(&self, backend: Backend) -> &'static [Variant] {
        match backend {
            Backend::Gpu => &GPU_VARIANTS,
            _ => &[],
        }
    }

    fn prepare(&self, n: usize, seed: u64, _options: &KernelOptions) -> Box<dyn Problem> {
        Box::new(HistogramProblem::new(n, seed))
    }
}

/// Count that no run leaves in a bin (more than any n can give): the poisoned output.
const POISON: u64 = u64::MAX;

/// The poisoned output of a Python rung: read back as [`POISON`] ("no count was written").
const PYTHON_POISON: u32 = u32::MAX;

/// n random bytes, their reference histogram, and the histogram of the last run.
pub struct HistogramProblem {
    n: usize,
    /// The bytes, followed by zeros up to a multiple of 4 (the GPU's u32 packing).
    data: AlignedVec<u8>,
    reference: Counts,
    counts: Counts,
    /// The counts a Python rung returned (u32, as the worker writes them), and whether the
    /// last run was a Python rung's (then they are the result).
    python_counts: [u32; BINS],
    from_python: bool,
}

impl HistogramProblem {
    /// `n` bytes uniform in 0..=255 from `seed` (array stream 0), and their reference counts.
    pub fn new(n: usize, seed: u64) -> Self {
        let mut data = AlignedVec::<u8>::zeroed(n.next_multiple_of(4));
        data[..n]
            .par_chunks_mut(1 << 16)
            .enumerate()
            .for_each(|(block, part)| {
                // 2^16 bytes per block = 2^13 random 64-bit words.
                let first_word = (block << 13) as u64;
                for (k, bytes) in part.chunks_mut(8).enumerate() {
                    let bits = random_bits(seed, 0, first_word + k as u64).to_le_bytes();
                    bytes.copy_from_slice(&bits[..bytes.len()]);
                }
            });
        let reference = cpu::reference(&data[..n]);
        HistogramProblem {
            n,
            data,
            reference,
            counts: [POISON; BINS],
            python_counts: [PYTHON_POISON; BINS],
            from_python: false,
        }
    }

    /// The input bytes.
    pub fn data(&self) -> &[u8] {
        &self.data[..self.n]
    }

    /// The counts of the last run.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// The reference counts.
    pub fn reference(&self) -> &Counts {
        &self.reference
    }

    /// Checks `counts` as the histogram of a run: what [`Problem::verify`] applies to
    /// [`HistogramProblem::counts`], open to any candidate so that a test can show which wrong
    /// histograms it rejects.
    pub fn check(&self, counts: &Counts) -> Verification {
        let wrong: Vec<usize> = (0..BINS)
            .filter(|&bin| counts[bin] != self.reference[bin])
            .collect();
        Verification {
            passed: wrong.is_empty(),
            rule: INFO.verification.to_string(),
            checked: BINS as u64,
            mismatches: wrong.len() as u64,
            worst_error_ratio: if wrong.is_empty() { 0.0 } else { f64::INFINITY },
            relative_error: None,
            first_mismatch: wrong.first().map(|&bin| {
                if counts[bin] == POISON {
                    format!("bin {bin}: no count was written")
                } else {
                    format!(
                        "bin {bin}: got {}, expected {}",
                        counts[bin], self.reference[bin]
                    )
                }
            }),
            note: None,
        }
    }

    /// The bytes with their zero padding, as uploaded.
    fn padded_bytes(&self) -> &[u8] {
        &self.data
    }
}

impl Problem for HistogramProblem {
    fn kernel(&self) -> &'static dyn Kernel {
        &Histogram
    }

    fn run_loop(&mut self, form: CpuLoop, _variant: Option<&'static Variant>) {
        self.from_python = false;
        let data = &self.data[..self.n];
        self.counts = match form {
            CpuLoop::Scalar => cpu::scalar(data),
            CpuLoop::Simd => cpu::sub_tables(data),
            CpuLoop::Rayon => cpu::rayon(data),
        };
    }

    fn gpu_run<'a>(
        &'a mut self,
        context: &'a GpuContext,
        variant: Option<&'static Variant>,
    ) -> Result<Box<dyn GpuRun + 'a>> {
        self.from_python = false;
        let method = if variant == Some(&PRIVATE) {
            gpu::Method::Private
        } else {
            gpu::Method::GlobalAtomics
        };
        gpu::run(self, context, method)
    }

    fn verify(&self) -> Verification {
        if self.from_python {
            let counts = self.python_counts.map(|count| match count {
                PYTHON_POISON => POISON,
                count => count as u64,
            });
            return self.check(&counts);
        }
        self.check(&self.counts)
    }

    fn clear_output(&mut self) {
        self.counts = [POISON; BINS];
        self.python_counts = [PYTHON_POISON; BINS];
    }

    fn python_call(&self) -> PythonCall<'_> {
        PythonCall {
            params: serde_json::json!({}),
            inputs: vec![Input {
                name: "data",
                shape: vec![self.n],
                data: ArrayRef::Uint8(self.data()),
            }],
            outputs: vec![OutputSpec::new("counts", &[BINS], Dtype::Uint32)],
        }
    }

    /// The u32 counts the worker writes; [`Problem::verify`] widens them and checks them
    /// exactly (a count of 2^32 − 1 reads as "no count was written": a Python rung counts far
    /// fewer bytes).
    fn python_outputs(
        &mut self,
        _rung: Backend,
        _variant: Option<&'static Variant>,
    ) -> Vec<ArrayMut<'_>> {
        self.from_python = true;
        vec![ArrayMut::Uint32(&mut self.python_counts)]
    }
}
