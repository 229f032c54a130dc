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
    Cost, CostModel, Footprint, GpuRun, Kernel, KernelInfo, KernelOptions, Problem, Variant,
    Verification,
};
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
                   per level, subgroupAdd's order is unspecified); atomics + one per workgroup. u = 2^-24 on the CPU, \
                   2^-23 on the GPU (WGSL may round either way). rel. error = |ŝ − s|/s",
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
    summary: "each workgroup adds its partial into one global accumulator (compare-exchange loop on the f32 bits)",
    default: true,
};

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
}

impl Strategy {
    /// The strategies of `backend`, its default first.
    fn on_backend(backend: Backend) -> &'static [Strategy] {
        match backend {
            Backend::Scalar => &[Strategy::Sequential, Strategy::Pairwise],
            Backend::Simd => &[Strategy::Accumulators],
            Backend::Rayon => &[Strategy::ChunkAccumulators],
            Backend::Gpu => &[Strategy::Tree, Strategy::Subgroup, Strategy::Atomics],
            Backend::Library | Backend::Python | Backend::Numpy | Backend::Numba => &[],
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

    /// The variant this strategy is.
    pub fn variant(self) -> &'static Variant {
        match self {
            Strategy::Sequential => &SEQUENTIAL,
            Strategy::Pairwise => &PAIRWISE,
            Strategy::Accumulators => &ACCUMULATORS,
            Strategy::ChunkAccumulators => &CHUNK_ACCUMULATORS,
            Strategy::Tree => &TREE,
            Strategy::Subgroup => &SUBGROUP,
            Strategy::Atomics => &ATOMICS,
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
        check_value(
            value as f64,
            self.exact,
            allowed,
            &format!("{}: {rule}", strategy.name()),
        )
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_variant_is_one_strategy_and_none_is_the_first() {
        for backend in Backend::ALL {
            let variants = Reduce.variants(backend);
            for variant in variants {
                let strategy = Strategy::on(backend, Some(variant)).unwrap();
                assert_eq!(strategy.variant(), variant);
                assert_eq!(Strategy::of(backend, Some(variant.name)), Some(strategy));
            }
            assert_eq!(
                Strategy::on(backend, None).map(Strategy::variant),
                variants.first()
            );
        }
        assert_eq!(Strategy::on(Backend::Scalar, Some(&TREE)), None);
        assert_eq!(Strategy::of(Backend::Gpu, Some("pairwise")), None);
    }
}
