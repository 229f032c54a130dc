//! Sum of n f32 by several strategies, each with its error beside its time (the shape of the
//! addition tree sets both: lab 6). The inputs are uniform in [0, 1), positive, so rounding
//! errors pile up instead of cancelling and the "rel. error" column tells the strategies apart.

pub mod bound;
pub mod cpu;
mod gpu;

use crate::backend::{Backend, CpuLoop};
use crate::cpu::{AlignedVec, Isa};
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::kernels::inputs::uniform_f32;
use crate::kernels::verify::check_value;
use crate::kernels::{
    Cost, CostModel, Footprint, GpuRun, Kernel, KernelInfo, KernelOptions, NUMBA_VARIANTS, Problem,
    Variant, Verification,
};
use crate::python::{ArrayMut, ArrayRef, Dtype, Input, OutputSpec, PythonCall};
use bound::{CPU_UNIT, Depth, GPU_UNIT};
use rayon::prelude::*;

/// The reduction kernel.
pub struct Reduce;

const INFO: KernelInfo = KernelInfo {
    name: "reduce",
    summary: "sum of n f32 by several strategies (in order, pairwise, SIMD accumulators, chunks, GPU tree, \
              subgroups, atomics), each with its error against the exact sum",
    reference: "Higham, Accuracy and Stability of Numerical Algorithms, ch. 4 (summation); Gorelick & Ozsvald, \
                High Performance Python, ch. 6 (numpy's pairwise sum); Harris, Optimizing Parallel Reduction in CUDA",
    size_meaning: "n = elements (f32, uniform in [0, 1) with 24 random bits)",
    cost_model: CostModel {
        device_bytes: "4·n",
        flops: "n (one add per element)",
        upload_bytes: "4·n",
        download_bytes: "4",
    },
    scalar_loop: "not vectorized: one accumulator in strict order, and the compiler may not reorder float adds \
                  (that is the sequential variant; pairwise is recursive with the same in-order loop at its base)",
    verification: "|ŝ − s| ≤ the smaller of γ_h·Σ|x| (worst case, Higham 2002 §4.2; γ_h = h·u/(1 − h·u), only \
                   while h·u ≤ 1/2) and (exp(λ√h·u + h·u²/(1 − u)) − 1)·Σ|x| (probabilistic, λ = 8, Higham & Mary \
                   2019: independent mean-zero roundings; smaller from h = 64 on) plus, where a sum in order can reach \
                   2^24, the elements it may then ignore (biased, so outside that model). s is the exact sum (integer \
                   arithmetic on the 24-bit inputs); h the most roundings on any element's path for the strategy: \
                   sequential n − 1; pairwise block + halvings; accumulators n/(8·lanes) + 8 + lanes; GPU \
                   per-invocation share + tree levels + partials per lane + tree levels (subgroup: 2·workgroup size \
                   per level, subgroupAdd's order is unspecified); atomics + one per workgroup; Python rungs: python \
                   1 (Python floats: the f64 sum of 24-bit inputs is exact below 2^29 elements, then rounded to f32 \
                   once; + n/2^29 above), numpy (np.sum, NumPy's pairwise sum) ≤ 15 in one of 8 accumulators + 3 to \
                   combine them + ≤ 7 for the remainder of a block of ≤ 128 + its halvings, numba serial n − 1 (f32 accumulator in order), numba parallel (prange) \
                   n − 1 too, the longest path of any split into parts summed in order and then added. u = 2^-24 on \
                   the CPU, 2^-23 on the GPU (WGSL may round either way). rel. error = |ŝ − s|/s",
};

/// Scalar: one f32 accumulator in order.
pub const SEQUENTIAL: Variant = Variant {
    name: "sequential",
    summary: "one f32 accumulator, strict order: n − 1 dependent adds",
    default: true,
};

/// Scalar: recursive halving (numpy's sum).
pub const PAIRWISE: Variant = Variant {
    name: "pairwise",
    summary: "recursive halving down to blocks of 128 summed in order (numpy's sum)",
    default: true,
};

/// SIMD: vector accumulators on one core.
pub const ACCUMULATORS: Variant = Variant {
    name: "accumulators",
    summary: "8 vector accumulators in flight, added at the end",
    default: true,
};

/// Rayon: vector accumulators in one chunk per thread.
pub const CHUNK_ACCUMULATORS: Variant = Variant {
    name: "accumulators",
    summary: "one chunk per thread with 8 vector accumulators, chunk sums added in f64",
    default: true,
};

/// GPU: workgroup trees and a second pass.
pub const TREE: Variant = Variant {
    name: "tree",
    summary: "workgroup tree in workgroup memory, partials added by a second pass",
    default: true,
};

/// GPU: subgroupAdd (needs the SUBGROUP feature).
pub const SUBGROUP: Variant = Variant {
    name: "subgroup",
    summary: "subgroupAdd inside each subgroup, then across subgroups (needs the SUBGROUP feature)",
    default: false,
};

/// GPU: workgroup partials added into one global accumulator.
pub const ATOMICS: Variant = Variant {
    name: "atomics",
    summary: "each workgroup adds its partial into one global accumulator (native f32 atomicAdd with \
              SHADER_FLOAT32_ATOMIC, else a compare-exchange loop on the f32 bits)",
    default: true,
};

/// How `atomics` adds the workgroup partials into the accumulator on a given device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtomicsPath {
    /// `atomicAdd` on an `atomic<f32>` (`shaders/reduce/atomics_native.wgsl`): the device has
    /// `wgpu::Features::SHADER_FLOAT32_ATOMIC`.
    Native,
    /// A compare-exchange retry loop on the f32's bits in an `atomic<u32>`
    /// (`shaders/reduce/atomics.wgsl`): core WGSL, any device.
    CompareAndSwap,
}

impl AtomicsPath {
    /// The path `atomics` takes on `context`'s device.
    pub fn on(context: &GpuContext) -> AtomicsPath {
        match context.float32_atomics {
            true => AtomicsPath::Native,
            false => AtomicsPath::CompareAndSwap,
        }
    }

    /// The line under the run table (and the record's `verification.note`).
    pub fn note(self) -> &'static str {
        match self {
            AtomicsPath::Native => "gpu atomics: native f32 atomicAdd (SHADER_FLOAT32_ATOMIC)",
            AtomicsPath::CompareAndSwap => {
                "gpu atomics: compare-and-swap loop (adapter lacks SHADER_FLOAT32_ATOMIC)"
            }
        }
    }
}

/// Python: the one implementation of the `python` rung (not a variant to choose).
pub const PYTHON_FLOATS: Variant = Variant {
    name: "floats",
    summary: "for x in values: total += x over Python floats (f64), rounded to f32 once",
    default: true,
};

/// NumPy: the one implementation of the `numpy` rung (not a variant to choose).
pub const NUMPY_SUM: Variant = Variant {
    name: "np.sum",
    summary: "np.sum: NumPy's pairwise sum in f32 (8 accumulators in blocks of ≤ 128, blocks halved recursively)",
    default: true,
};

/// Numba serial (the rung's first variant): one f32 accumulator in order, compiled.
static NUMBA_SERIAL: Variant = NUMBA_VARIANTS[0];

/// Numba parallel: a `prange` reduction.
static NUMBA_PARALLEL: Variant = NUMBA_VARIANTS[1];

static SCALAR_VARIANTS: [Variant; 2] = [SEQUENTIAL, PAIRWISE];
static SIMD_VARIANTS: [Variant; 1] = [ACCUMULATORS];
static RAYON_VARIANTS: [Variant; 1] = [CHUNK_ACCUMULATORS];
static GPU_VARIANTS: [Variant; 3] = [TREE, SUBGROUP, ATOMICS];

/// How a sum is computed: one entry per (backend, variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// One accumulator in order (scalar).
    Sequential,
    /// Recursive halving over blocks of 128 (scalar).
    Pairwise,
    /// Vector accumulators on one core (simd).
    Accumulators,
    /// Vector accumulators in one chunk per thread (rayon).
    ChunkAccumulators,
    /// Workgroup trees and a second pass (gpu).
    Tree,
    /// subgroupAdd, then across subgroups (gpu).
    Subgroup,
    /// Workgroup trees, partials added atomically (gpu).
    Atomics,
    /// A loop over Python floats, rounded to f32 once (python).
    PythonFloats,
    /// `np.sum`: NumPy's pairwise sum (numpy).
    NumpySum,
    /// One f32 accumulator in order, compiled by Numba (numba serial).
    NumbaSequential,
    /// A `prange` reduction: parts in order over threads, then added (numba parallel).
    NumbaPrange,
}

impl Strategy {
    /// The strategies of `backend`, its default first. The python and numpy rungs have one
    /// each, which they list as no variant (there is nothing to choose).
    fn on_backend(backend: Backend) -> &'static [Strategy] {
        match backend {
            Backend::Scalar => &[Strategy::Sequential, Strategy::Pairwise],
            Backend::Simd => &[Strategy::Accumulators],
            Backend::Rayon => &[Strategy::ChunkAccumulators],
            Backend::Gpu => &[Strategy::Tree, Strategy::Subgroup, Strategy::Atomics],
            Backend::Python => &[Strategy::PythonFloats],
            Backend::Numpy => &[Strategy::NumpySum],
            Backend::Numba => &[Strategy::NumbaSequential, Strategy::NumbaPrange],
            Backend::Library => &[],
        }
    }

    /// The strategy of `backend` with `variant` (the backend's first when `None`), or `None`
    /// when `variant` is not one of that backend's.
    pub fn on(backend: Backend, variant: Option<&Variant>) -> Option<Strategy> {
        let strategies = Strategy::on_backend(backend);
        match variant {
            None => strategies.first().copied(),
            Some(variant) => strategies.iter().copied().find(|s| s.variant() == variant),
        }
    }

    /// By name: the strategy of `backend` with the variant called `variant`.
    pub fn of(backend: Backend, variant: Option<&str>) -> Option<Strategy> {
        let variant = match variant {
            None => None,
            Some(name) => Some(Reduce.variant(backend, name)?),
        };
        Strategy::on(backend, variant)
    }

    /// The variant this strategy is (for the python and numpy rungs, which list no variant, a
    /// description of their one implementation).
    pub fn variant(self) -> &'static Variant {
        match self {
            Strategy::Sequential => &SEQUENTIAL,
            Strategy::Pairwise => &PAIRWISE,
            Strategy::Accumulators => &ACCUMULATORS,
            Strategy::ChunkAccumulators => &CHUNK_ACCUMULATORS,
            Strategy::Tree => &TREE,
            Strategy::Subgroup => &SUBGROUP,
            Strategy::Atomics => &ATOMICS,
            Strategy::PythonFloats => &PYTHON_FLOATS,
            Strategy::NumpySum => &NUMPY_SUM,
            Strategy::NumbaSequential => &NUMBA_SERIAL,
            Strategy::NumbaPrange => &NUMBA_PARALLEL,
        }
    }

    /// The variant name.
    pub fn name(self) -> &'static str {
        self.variant().name
    }
}

impl Kernel for Reduce {
    fn info(&self) -> &KernelInfo {
        &INFO
    }

    fn cost(&self, n: u64) -> Cost {
        Cost {
            device_bytes: 4 * n,
            flops: n,
            upload_bytes: 4 * n,
            download_bytes: 4,
            items: None,
        }
    }

    fn footprint(&self, n: u64) -> Footprint {
        Footprint {
            host_bytes: 4 * n,
            largest_gpu_buffer_bytes: 4 * n,
            // The array and its staging buffer; partials (4 KiB per chunk) and readback.
            gpu_bytes: 8 * n + 8 * 4096 * n.div_ceil(1 << 25).max(1),
            working_set_bytes: 4 * n,
        }
    }

    fn native_variants(&self, backend: Backend) -> &'static [Variant] {
        match backend {
            Backend::Scalar => &SCALAR_VARIANTS,
            Backend::Simd => &SIMD_VARIANTS,
            Backend::Rayon => &RAYON_VARIANTS,
            Backend::Gpu => &GPU_VARIANTS,
            Backend::Library | Backend::Python | Backend::Numpy | Backend::Numba => &[],
        }
    }

    fn prepare(&self, n: usize, seed: u64, _options: &KernelOptions) -> Box<dyn Problem> {
        Box::new(ReduceProblem::new(n, seed))
    }
}

/// The GPU's reduction shape, recorded when a GPU run is set up: what the error bound needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GpuShape {
    pub(crate) workgroup_size: u32,
    /// Elements one invocation adds in order, at most.
    pub(crate) per_invocation: u64,
    /// Partial sums the second pass adds (tree, subgroup).
    pub(crate) partials: u64,
    /// Workgroups of all chunks together (atomics: one accumulator update each).
    pub(crate) groups: u64,
}

/// n f32 inputs, their exact sum, and the result of the last run with the strategy it used.
pub struct ReduceProblem {
    x: AlignedVec<f32>,
    /// The exact sum (to f64 precision): the inputs are multiples of 2^-24, summed as integers.
    exact: f64,
    result: AlignedVec<f32>,
    strategy: Strategy,
    gpu_shape: Option<GpuShape>,
    /// How the last GPU `atomics` set-up adds its partials (`None` before one).
    atomics_path: Option<AtomicsPath>,
}

impl ReduceProblem {
    /// Inputs uniform in [0, 1) from `seed` (array stream 0), and their exact sum.
    pub fn new(n: usize, seed: u64) -> Self {
        let x = uniform_f32(n, seed, 0);
        // Each input is k·2^-24 with k < 2^24 (see `unit_f32`), so Σk is exact in u64 for any
        // n up to 2^40, and one conversion to f64 gives the sum to 2^-53.
        let units: u64 = x
            .par_iter()
            .map(|&value| (value as f64 * (1u64 << 24) as f64) as u64)
            .sum();
        ReduceProblem {
            x,
            exact: units as f64 / (1u64 << 24) as f64,
            result: AlignedVec::filled(1, f32::NAN),
            strategy: Strategy::Sequential,
            gpu_shape: None,
            atomics_path: None,
        }
    }

    /// The inputs.
    pub fn inputs(&self) -> &[f32] {
        &self.x
    }

    /// The exact sum.
    pub fn exact(&self) -> f64 {
        self.exact
    }

    /// The result of the last run.
    pub fn result(&self) -> f32 {
        self.result[0]
    }

    /// Checks `value` as the result of `strategy` (on the GPU, with the shape of the last GPU
    /// set-up) against the exact sum and that strategy's bound.
    pub fn check(&self, strategy: Strategy, value: f32) -> Verification {
        let (allowed, rule) = bound::allowed_error(&self.depth(strategy), self.exact);
        let mut verification = check_value(
            value as f64,
            self.exact,
            allowed,
            &format!("{}: {rule}", strategy.name()),
        );
        if strategy == Strategy::Atomics {
            verification.note = self.atomics_path.map(|path| path.note().to_string());
        }
        verification
    }

    /// How the last GPU `atomics` set-up adds its partials (`None` before one).
    pub fn atomics_path(&self) -> Option<AtomicsPath> {
        self.atomics_path
    }

    /// The rounding structure of `strategy` on these inputs.
    pub fn depth(&self, strategy: Strategy) -> Depth {
        summation_depth(self.x.len() as u64, strategy, self.gpu_shape)
    }
}

/// The rounding structure of summing `n` values with `strategy` (and, for the GPU strategies,
/// the shape its set-up chose; without one, the longest chain stands in): reduce's, and dot's
/// after each product's own rounding.
pub(crate) fn summation_depth(n: u64, strategy: Strategy, gpu_shape: Option<GpuShape>) -> Depth {
    let cpu = |roundings, chains, chain_len, why: String| Depth {
        roundings,
        unit: CPU_UNIT,
        chains,
        chain_len,
        why,
    };
    let accumulators = || {
        let lanes = Isa::selected().f32_lanes() as u64;
        let k = cpu::ACCUMULATORS as u64;
        let chains = k * lanes;
        // A register element: its chain, the registers added, the lanes added, the tail
        // added. A tail element: the tail in order, then added.
        let roundings = (n / chains + k + lanes).max(chains);
        (roundings, chains, n.div_ceil(chains))
    };
    match strategy {
        Strategy::Sequential => cpu(n.saturating_sub(1), 1, n, "n − 1 additions in order".into()),
        // The inputs are k·2^-24 with k < 2^24: every partial sum below 2^29 is a multiple of
        // 2^-24 with at most 53 significant bits, exact in f64, so below 2^29 elements the sum
        // is exact and rounded once; above, each f64 add is 2^-29 of an f32 rounding. No f32
        // accumulator: each element is its own chain (no stagnation).
        Strategy::PythonFloats => {
            let f64_adds = match n < 1 << 29 {
                true => 0,
                false => n.div_ceil(1 << 29),
            };
            cpu(
                1 + f64_adds,
                n.max(1),
                1,
                "Python floats: the f64 sum exact below 2^29 elements, one rounding to f32".into(),
            )
        }
        Strategy::NumpySum => numpy_pairwise_depth(n),
        // Whatever split of the range prange makes, an element meets the additions of its part
        // before it and then the parts' sums: at most n − 1 in all, the sequential chain.
        Strategy::NumbaSequential | Strategy::NumbaPrange => {
            let why = match strategy {
                Strategy::NumbaSequential => "Numba, one f32 accumulator: n − 1 additions in order",
                _ => {
                    "Numba prange: parts in order, then added: ≤ n − 1 additions whatever the split"
                }
            };
            Depth {
                why: why.into(),
                ..summation_depth(n, Strategy::Sequential, None)
            }
        }
        Strategy::Pairwise => {
            let block = cpu::PAIRWISE_BLOCK as u64;
            let mut levels = 0;
            let mut longest = n;
            while longest > block {
                longest = longest.div_ceil(2);
                levels += 1;
            }
            cpu(
                n.min(block).saturating_sub(1) + levels,
                n.div_ceil(block),
                n.min(block),
                format!(
                    "{} in a block + {levels} halvings",
                    n.min(block).saturating_sub(1)
                ),
            )
        }
        Strategy::Accumulators => {
            let (roundings, chains, chain_len) = accumulators();
            cpu(
                roundings,
                chains,
                chain_len,
                format!("{chains} interleaved chains of ≤ {chain_len}, then combined"),
            )
        }
        Strategy::ChunkAccumulators => {
            // Any chunking is covered by the whole array's bound; +2 for the f64 combination
            // and the final rounding to f32.
            let (roundings, chains, chain_len) = accumulators();
            cpu(
                roundings + 2,
                chains,
                chain_len,
                format!(
                    "per chunk ≤ {chains} chains of ≤ {chain_len}, then f64 combination and one rounding"
                ),
            )
        }
        Strategy::Tree | Strategy::Subgroup | Strategy::Atomics => {
            let Some(shape) = gpu_shape else {
                // No GPU set-up yet: nothing of this strategy has run; the bound of the
                // longest chain stands in.
                return summation_depth(n, Strategy::Sequential, None);
            };
            let size = shape.workgroup_size as u64;
            let levels = size.ilog2() as u64;
            let per_lane = shape.partials.div_ceil(size);
            let (roundings, why) = match strategy {
                Strategy::Tree => (
                    shape.per_invocation + levels + per_lane + levels,
                    format!(
                        "{} per invocation + {levels} tree levels + {per_lane} partials per lane + {levels} levels",
                        shape.per_invocation
                    ),
                ),
                // subgroupAdd's order is unspecified: each workgroup-wide sum is bounded by
                // two subgroup sums (≤ size − 1 each) and the loop between them.
                Strategy::Subgroup => (
                    shape.per_invocation + 2 * size + per_lane + 2 * size,
                    format!(
                        "{} per invocation + ≤ {} in subgroup sums + {per_lane} partials per lane + ≤ {}",
                        shape.per_invocation,
                        2 * size,
                        2 * size
                    ),
                ),
                _ => (
                    shape.per_invocation + levels + shape.groups,
                    format!(
                        "{} per invocation + {levels} tree levels + {} workgroup partials into one accumulator",
                        shape.per_invocation, shape.groups
                    ),
                ),
            };
            Depth {
                roundings,
                unit: GPU_UNIT,
                chains: shape.groups * size,
                chain_len: shape.per_invocation,
                why,
            }
        }
    }
}

/// Elements NumPy's pairwise sum adds in one call of its base case (`PW_BLOCKSIZE`).
const NUMPY_BLOCK: u64 = 128;

/// The rounding structure of `np.sum` on a contiguous f32 array: NumPy's `pairwise_sum`
/// (numpy/_core/src/umath/loops_utils.h.src) over the whole array. Below 8 elements, a loop in
/// order; up to [`NUMPY_BLOCK`], 8 accumulators of ⌊m/8⌋ elements each, combined in 3 levels,
/// then the m mod 8 remaining elements added in order (≤ 15 + 3 + 7 = 25 roundings on a path);
/// above, the array is cut in two (the first part ⌊m/16⌋·8 elements) and the parts' sums added.
/// Every distinct part size of every level is followed (a few per level), so the count is exact.
/// `python/tests/test_reduce.py` checks that np.sum is, bit for bit, that algorithm.
fn numpy_pairwise_depth(n: u64) -> Depth {
    let in_block = |m: u64| match m < 8 {
        true => m.saturating_sub(1),
        false => m / 8 - 1 + 3 + m % 8,
    };
    let (mut level, mut halvings, mut roundings) = (vec![n], 0, 0);
    loop {
        let mut next = Vec::new();
        for &m in &level {
            if m <= NUMPY_BLOCK {
                roundings = roundings.max(in_block(m) + halvings);
            } else {
                let first = m / 16 * 8;
                next.extend([first, m - first]);
            }
        }
        if next.is_empty() {
            break;
        }
        next.sort_unstable();
        next.dedup();
        level = next;
        halvings += 1;
    }
    Depth {
        roundings,
        unit: CPU_UNIT,
        chains: 8 * n.div_ceil(NUMPY_BLOCK).max(1),
        chain_len: NUMPY_BLOCK / 8,
        why: format!(
            "np.sum: 8 accumulators in blocks of ≤ 128, ≤ 25 roundings there, + ≤ {halvings} halvings"
        ),
    }
}

impl Problem for ReduceProblem {
    fn kernel(&self) -> &'static dyn Kernel {
        &Reduce
    }

    fn run_loop(&mut self, form: CpuLoop, variant: Option<&'static Variant>) {
        let x = &self.x[..];
        let (strategy, sum) = match form {
            CpuLoop::Scalar if variant == Some(&PAIRWISE) => (Strategy::Pairwise, cpu::pairwise(x)),
            CpuLoop::Scalar => (Strategy::Sequential, cpu::sequential(x)),
            CpuLoop::Simd => (Strategy::Accumulators, cpu::simd(x)),
            CpuLoop::Rayon => (Strategy::ChunkAccumulators, cpu::rayon(x)),
        };
        self.strategy = strategy;
        self.result[0] = sum;
    }

    fn gpu_run<'a>(
        &'a mut self,
        context: &'a GpuContext,
        variant: Option<&'static Variant>,
    ) -> Result<Box<dyn GpuRun + 'a>> {
        let strategy = Strategy::on(Backend::Gpu, variant).ok_or_else(|| {
            Error::usage(format!(
                "reduce has no GPU variant '{}'; it has tree, subgroup, atomics",
                variant.map_or("", |v| v.name)
            ))
        })?;
        if strategy == Strategy::Subgroup && !context.subgroups {
            return Err(Error::usage(format!(
                "reduce --variant subgroup needs the GPU feature SUBGROUP (wgpu::Features::SUBGROUP), which {} lacks; \
                 use --variant tree or atomics",
                context.adapter.name
            )));
        }
        self.strategy = strategy;
        gpu::run(self, context, strategy)
    }

    fn verify(&self) -> Verification {
        self.check(self.strategy, self.result[0])
    }

    fn clear_output(&mut self) {
        self.result[0] = f32::NAN;
    }

    fn python_call(&self) -> PythonCall<'_> {
        PythonCall {
            params: serde_json::json!({}),
            inputs: vec![Input {
                name: "x",
                shape: vec![self.x.len()],
                data: ArrayRef::Float32(&self.x),
            }],
            outputs: vec![OutputSpec::new("sum", &[1], Dtype::Float32)],
        }
    }

    /// The rung's strategy, for its bound: see [`Strategy::on_backend`] and
    /// `python/kernels/reduce.py`.
    fn python_outputs(
        &mut self,
        rung: Backend,
        variant: Option<&'static Variant>,
    ) -> Vec<ArrayMut<'_>> {
        self.strategy = Strategy::on(rung, variant).expect("every Python rung has a strategy");
        vec![ArrayMut::Float32(&mut self.result)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_pairwise_depth_follows_every_part() {
        let roundings = |n| numpy_pairwise_depth(n).roundings;
        // A loop in order; 8 accumulators of one element, combined; 15 + 3; 14 + 3 + 7.
        assert_eq!([1, 7, 8, 128, 127].map(roundings), [0, 6, 3, 18, 24]);
        // 129 = 64 + 65: 7 + 3 + 1 in the second part, + 1 halving.
        assert_eq!(roundings(129), 12);
        // 255 = 120 + 135 = 120 + (64 + 71): 7 + 3 + 7 + 2.
        assert_eq!(roundings(255), 19);
        assert!(roundings(1 << 30) <= 25 + 23);
    }

    #[test]
    fn every_listed_variant_is_one_strategy_and_none_is_the_first() {
        for backend in Backend::ALL {
            let variants = Reduce.variants(backend);
            for variant in variants {
                let strategy = Strategy::on(backend, Some(variant)).unwrap();
                assert_eq!(strategy.variant(), variant);
                assert_eq!(Strategy::of(backend, Some(variant.name)), Some(strategy));
            }
            match variants.first() {
                Some(first) => {
                    assert_eq!(
                        Strategy::on(backend, None).map(Strategy::variant),
                        Some(first)
                    )
                }
                // One implementation (python, numpy) or none (library): nothing to choose.
                None => assert!(Strategy::on_backend(backend).len() <= 1, "{backend:?}"),
            }
        }
        assert_eq!(Strategy::on(Backend::Scalar, Some(&TREE)), None);
        assert_eq!(Strategy::of(Backend::Gpu, Some("pairwise")), None);
    }
}
