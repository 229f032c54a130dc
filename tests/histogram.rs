//! Byte histogram: every backend and GPU variant counts exactly the reference, at odd sizes
//! (every remainder mod 4, which the GPU's u32 packing must handle), over many small bindings;
//! all backends agree bin for bin; a cleared histogram fails.

mod common;

use hpclab::Backend;
use hpclab::gpu::GpuRequest;
use hpclab::kernels::Problem;
use hpclab::kernels::histogram::HistogramProblem;
use hpclab::kernels::histogram::cpu::{self, BINS};

/// Every remainder mod 4 at small sizes, and 65 535 × 256 + 17 bytes (a partial last word).
const SIZES: [usize; 8] = [1, 2, 3, 5, 1000, 1001, 1002, 65_535 * 256 + 17];

const GPU_VARIANTS: [&str; 2] = ["global-atomics", "private"];

#[test]
fn every_cpu_backend_counts_exactly() {
    for n in SIZES {
        let mut problem = HistogramProblem::new(n, 7);
        assert_eq!(problem.reference().iter().sum::<u64>(), n as u64);
        for backend in [Backend::Scalar, Backend::Simd, Backend::Rayon] {
            common::assert_cpu_run_verifies(&mut problem, backend, None, &format!("n={n}"));
        }
    }
}

#[test]
fn both_gpu_variants_count_exactly_what_the_cpu_counts() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    for n in SIZES {
        let mut problem = HistogramProblem::new(n, 11);
        problem.run_cpu(Backend::Scalar, None);
        let scalar = *problem.counts();
        for variant in GPU_VARIANTS {
            common::assert_gpu_run_verifies(&mut problem, &context, variant, &format!("n={n}"));
            let counts = *problem.counts();
            assert_eq!(counts, scalar, "gpu {variant} n={n}");
            assert_eq!(counts, *problem.reference(), "gpu {variant} n={n}");
        }
    }
}

#[test]
fn gpu_chunking_over_many_small_bindings_counts_exactly() {
    // 4 KiB bindings: 1024 words = 4096 bytes per chunk; 100 003 bytes take 25 chunks, the
    // last one partial and ending in a partial word.
    let Some(context) = common::gpu_with_bindings(4096) else {
        return;
    };
    for n in [4095, 4096, 4097, 100_003] {
        let mut problem = HistogramProblem::new(n, 5);
        for variant in GPU_VARIANTS {
            common::assert_gpu_run_verifies(&mut problem, &context, variant, &format!("n={n}"));
        }
    }
}

#[test]
fn repeated_gpu_samples_start_from_empty_bins() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let mut problem = HistogramProblem::new(12_345, 9);
    for variant in GPU_VARIANTS {
        common::gpu_samples(&mut problem, &context, Some(variant), 3);
        assert!(
            problem.verify().passed,
            "{variant}: bins must not accumulate"
        );
    }
}

#[test]
fn skewed_and_exhaustive_data_give_the_obvious_counts() {
    // One value everywhere: the worst case for a single table (every increment waits on the
    // previous one) and for atomics.
    let same = vec![7u8; 100_003];
    let every: Vec<u8> = (0..256 * 1001).map(|i| (i % 256) as u8).collect();
    for (data, expected) in [
        (&same, {
            let mut c = [0u64; BINS];
            c[7] = 100_003;
            c
        }),
        (&every, [1001u64; BINS]),
    ] {
        assert_eq!(cpu::scalar(data), expected);
        assert_eq!(cpu::sub_tables(data), expected);
        assert_eq!(cpu::rayon(data), expected);
        assert_eq!(cpu::reference(data), expected);
    }
}

#[test]
fn the_gpu_variants_are_listed_and_both_run_by_default() {
    let kernel = hpclab::kernels::find("histogram").unwrap();
    let variants = kernel.variants(Backend::Gpu);
    let names: Vec<&str> = variants.iter().map(|v| v.name).collect();
    assert_eq!(names, GPU_VARIANTS);
    assert!(variants.iter().all(|v| v.default));
    assert!(kernel.variants(Backend::Scalar).is_empty());
}
