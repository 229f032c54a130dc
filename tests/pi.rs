//! Monte Carlo π: every backend's hit count equals the independent reference exactly, at odd
//! sizes, across the 2^32 block boundary of the generator, over many GPU rows with tiny
//! bindings; the integer hit test agrees with geometry; a cleared count fails.

mod common;

use hpclab::Backend;
use hpclab::gpu::{GpuContext, GpuRequest};
use hpclab::kernels::Problem;
use hpclab::kernels::pi::PiProblem;
use hpclab::kernels::pi::cpu::{
    inside, lowbias32, rayon_range, sample_hits, scalar_range, seed_key, simd_range,
};

/// n = 1; a small odd size; one past 65 535 workgroups of 256 invocations.
const SIZES: [u64; 3] = [1, 1000, 65_535 * 256 + 17];

fn gpu_count(problem: &mut PiProblem, context: &GpuContext) -> u64 {
    common::gpu_samples(problem, context, None, 1);
    problem.count()
}

#[test]
fn every_cpu_backend_counts_exactly_the_reference_hits() {
    for n in SIZES {
        let mut problem = PiProblem::new(n, 7);
        for backend in [Backend::Scalar, Backend::Simd, Backend::Rayon] {
            common::assert_cpu_run_verifies(&mut problem, backend, None, &format!("n={n}"));
            assert_eq!(problem.count(), problem.reference(), "{backend} at n={n}");
        }
    }
}

#[test]
fn the_gpu_counts_exactly_what_every_cpu_backend_counts() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    for n in SIZES {
        let mut problem = PiProblem::new(n, 11);
        let mut counts = Vec::new();
        for backend in [Backend::Scalar, Backend::Simd, Backend::Rayon] {
            problem.run_cpu(backend, None);
            counts.push(problem.count());
        }
        counts.push(gpu_count(&mut problem, &context));
        let verification = common::assert_verifies(&problem, &format!("gpu at n={n}"));
        assert!(
            counts.iter().all(|&c| c == problem.reference()),
            "n={n}: scalar, simd, rayon, gpu counted {counts:?}, reference {}",
            problem.reference()
        );
        // The estimate's error vs π is in the record, and honest: within a few σ.
        let error = verification.relative_error.expect("n > 0");
        assert!(error < 6.0 * 0.53 / (n as f64).sqrt(), "n={n}: {error}");
    }
}

#[test]
fn many_gpu_rows_and_tiny_bindings_count_the_same() {
    // Rows of 2^10 samples: 98 rows at n = 100 003 (the last one partial), and 4 KiB bindings
    // leave room for only 10 workgroup partials per row.
    let Some(context) = common::gpu_with_bindings(4096) else {
        return;
    };
    for n in [1023, 1024, 1025, 100_003] {
        let mut problem = PiProblem::new(n, 3);
        problem.set_gpu_row_shift(10);
        let count = gpu_count(&mut problem, &context);
        assert_eq!(count, problem.reference(), "n={n}");
        assert!(problem.verify().passed);
    }
}

#[test]
fn gpu_samples_repeat_with_the_same_count() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let mut problem = PiProblem::new(77_777, 5);
    for sample in common::gpu_samples(&mut problem, &context, None, 3) {
        assert!(sample.upload_s.is_none(), "pi uploads nothing");
        assert!(sample.download_s.unwrap() > 0.0);
    }
    assert_eq!(problem.count(), problem.reference());
}

#[test]
fn ranges_across_the_2_32_block_boundary_match_sample_by_sample() {
    let key = seed_key(42);
    let start = (1u64 << 32) - 5000;
    let end = (1u64 << 32) + 5003;
    let reference = (start..end).filter(|&i| sample_hits(i, key)).count() as u64;
    assert_eq!(scalar_range(start, end, key), reference);
    assert_eq!(simd_range(start, end, key), reference);
    assert_eq!(rayon_range(start, end, key), reference);
    // The block after the boundary uses another key: its samples are not the first block's.
    let first_block = (0..10_003).filter(|&i| sample_hits(i, key)).count() as u64;
    let second_block = scalar_range(1 << 32, (1 << 32) + 10_003, key);
    assert_ne!(
        (0..64).map(|i| sample_hits(i, key)).collect::<Vec<_>>(),
        (0..64)
            .map(|i| sample_hits((1 << 32) + i, key))
            .collect::<Vec<_>>()
    );
    assert!(first_block.abs_diff(second_block) < 500);
}

#[test]
fn the_integer_hit_test_is_the_quarter_circle() {
    // a² and b² are below 2^32, exact in f64, so the geometric test is exact there too.
    for i in 0..2_000_000u32 {
        let h = lowbias32(i.wrapping_mul(2_654_435_761));
        let a = ((h >> 16) | 1) as f64;
        let b = ((h & 0xffff) | 1) as f64;
        assert_eq!(inside(h), a * a + b * b < 4_294_967_296.0, "hash {h:#x}");
    }
    // The corners: the cell nearest the origin is in, the farthest out.
    assert!(inside(0));
    assert!(!inside(u32::MAX));
}

#[test]
fn other_seeds_draw_other_points() {
    let a = PiProblem::new(100_000, 1).reference();
    let b = PiProblem::new(100_000, 2).reference();
    assert_ne!(a, b);
}
