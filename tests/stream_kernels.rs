//! Every STREAM kernel on every backend against the independent f64 reference, at sizes that
//! are not multiples of anything, at the workgroup-dispatch limit, and above one storage binding.

mod common;

use hpclab::Backend;
use hpclab::gpu::{GpuContext, GpuRequest};
use hpclab::kernels::stream::dot::{self, DotProblem};
use hpclab::kernels::stream::elementwise::ElementwiseProblem;
use hpclab::kernels::stream::triad::Triad;
use hpclab::kernels::{self, Kernel, Problem};

/// The STREAM kernels (the catalogue has others, with their own tests and their own sizes).
fn stream_kernels() -> Vec<&'static dyn Kernel> {
    ["copy", "scale", "add", "triad", "dot"]
        .into_iter()
        .map(|name| kernels::find(name).expect("STREAM kernel registered"))
        .collect()
}

/// n = 1; a small odd size; one past 65 535 workgroups of 256; and one array above the 128 MiB
/// storage-binding limit of lavapipe (2^25 f32 = 128 MiB exactly).
const SIZES: [usize; 4] = [1, 1000, 65_535 * 256 + 17, (1 << 25) + 1000];

fn check_cpu(kernel: &dyn Kernel, n: usize) {
    let mut problem = kernel.prepare(n, 7, &Default::default());
    for backend in [Backend::Scalar, Backend::Simd, Backend::Rayon] {
        problem.clear_output();
        assert!(
            !problem.verify().passed,
            "{} n={n}: a cleared output must fail verification",
            kernel.info().name
        );
        problem.run_cpu(backend, None);
        let verification = problem.verify();
        assert!(
            verification.passed,
            "{} on {backend} at n={n}: {verification:?}",
            kernel.info().name
        );
    }
}

fn check_gpu(kernel: &dyn Kernel, n: usize, context: &GpuContext) {
    let mut problem = kernel.prepare(n, 7, &Default::default());
    problem.clear_output();
    {
        let mut run = problem.gpu(context, None).expect("GPU set-up");
        run.sample().expect("GPU sample");
    }
    let verification = problem.verify();
    assert!(
        verification.passed,
        "{} on gpu at n={n}: {verification:?}",
        kernel.info().name
    );
}

#[test]
fn every_kernel_on_every_cpu_backend_matches_the_reference() {
    for kernel in stream_kernels() {
        for n in SIZES {
            check_cpu(kernel, n);
        }
    }
}

#[test]
fn every_kernel_on_the_gpu_matches_the_reference() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    for kernel in stream_kernels() {
        for n in SIZES {
            check_gpu(kernel, n, &context);
        }
    }
}

#[test]
fn gpu_chunking_over_many_small_bindings_matches_the_reference() {
    // 4 KiB bindings: 1024 f32 per chunk, so 100 003 elements take 98 chunks, the last partial.
    let Some(context) = common::gpu_with_bindings(4096) else {
        return;
    };
    assert_eq!(context.chunk_elements(4), 1024);
    for kernel in stream_kernels() {
        check_gpu(kernel, 100_003, &context);
    }
}

/// Runs the GPU `variant` of `kernel` at each of `sizes` on a cleared output; each must verify.
fn check_gpu_variant(kernel: &dyn Kernel, variant: &str, sizes: &[usize], context: &GpuContext) {
    for &n in sizes {
        let mut problem = kernel.prepare(n, 7, &Default::default());
        let case = format!("{} n={n}", kernel.info().name);
        common::assert_gpu_run_verifies(&mut *problem, context, variant, &case);
    }
}

#[test]
fn every_kernel_has_the_f32_and_vec4_gpu_variants_and_f32_is_the_default() {
    for kernel in stream_kernels() {
        let variants = kernel.variants(Backend::Gpu);
        let names: Vec<(&str, bool)> = variants.iter().map(|v| (v.name, v.default)).collect();
        assert_eq!(
            names,
            [("f32", true), ("vec4", false)],
            "{}",
            kernel.info().name
        );
        // The padding is not counted: the cost model is the kernel's, whatever the variant.
        let problem = kernel.prepare(5, 7, &Default::default());
        for variant in variants {
            assert_eq!(problem.cost_of(Some(variant)), None);
        }
        assert!(kernel.variants(Backend::Rayon).is_empty());
    }
}

#[test]
fn vec4_matches_the_reference_at_sizes_not_divisible_by_4() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    for kernel in stream_kernels() {
        // Every remainder mod 4, below one vec4 and past a workgroup's 1024 elements.
        check_gpu_variant(kernel, "vec4", &[1, 3, 5, 1023, 4097, 4098], &context);
        check_gpu_variant(kernel, "f32", &[3, 4097], &context);
    }
}

#[test]
fn vec4_over_many_small_bindings_matches_the_reference() {
    // 4 KiB bindings: 256 vec4 per chunk, so 100 003 elements take 98 chunks, the last one
    // ending in a partial vec4; and one array above lavapipe's 128 MiB binding, whose second
    // chunk ends the same way.
    let Some(small) = common::gpu_with_bindings(4096) else {
        return;
    };
    assert_eq!(small.chunk_elements(16), 256);
    for kernel in stream_kernels() {
        check_gpu_variant(kernel, "vec4", &[100_003], &small);
    }
    let context = common::gpu(GpuRequest::default()).unwrap();
    for name in ["triad", "dot"] {
        let kernel = kernels::find(name).unwrap();
        check_gpu_variant(kernel, "vec4", &[(1 << 25) + 1001], &context);
    }
}

#[test]
fn a_vec4_tail_left_unwritten_fails_the_check() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    // 4097 = 1024 vec4 and one element in a partial vec4: a shader that stopped at the last
    // whole vec4 (i < n / 4) would leave that element as the poison, or as 0 in a fresh buffer.
    let n = 4097;
    let mut problem = ElementwiseProblem::<Triad>::new(n, 9);
    common::assert_gpu_run_verifies(&mut problem, &context, "vec4", "n=4097");
    for unwritten in [f32::NAN, 0.0] {
        let mut output = problem.output().to_vec();
        output[n - 1] = unwritten;
        assert!(!problem.check(&output).passed, "{unwritten}");
    }
}

#[test]
fn gpu_samples_repeat_and_report_phases() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let mut problem = kernels::find("triad")
        .unwrap()
        .prepare(4099, 1, &Default::default());
    let mut run = problem.gpu(&context, None).unwrap();
    for _ in 0..3 {
        let sample = run.sample().unwrap();
        assert!(
            sample.upload_s.unwrap() > 0.0
                && sample.download_s.unwrap() > 0.0
                && sample.compute_wall_s > 0.0
        );
        if let Some(timestamp) = sample.compute_timestamp_s {
            assert!(timestamp > 0.0);
        }
    }
}

#[test]
fn triad_backends_agree_with_each_other_and_with_a_plain_loop() {
    let n = 100_003;
    let mut problem = ElementwiseProblem::<Triad>::new(n, 3);
    let a = hpclab::kernels::inputs::uniform_f32(n, 3, 0);
    let b = hpclab::kernels::inputs::uniform_f32(n, 3, 1);
    let plain: Vec<f32> = a.iter().zip(b.iter()).map(|(x, y)| x + 0.4 * y).collect();
    let mut outputs = Vec::new();
    for backend in [Backend::Scalar, Backend::Simd, Backend::Rayon] {
        problem.clear_output();
        problem.run_cpu(backend, None);
        outputs.push((backend, problem.output().to_vec()));
    }
    if let Some(context) = common::gpu(GpuRequest::default()) {
        problem.clear_output();
        problem.gpu(&context, None).unwrap().sample().unwrap();
        outputs.push((Backend::Gpu, problem.output().to_vec()));
    }
    for (backend, output) in outputs {
        for (i, (&got, &want)) in output.iter().zip(&plain).enumerate() {
            // FMA or not: at most one rounding apart.
            assert!(
                (got - want).abs() <= want.abs() * f32::EPSILON,
                "{backend} element {i}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn dot_is_exact_on_integer_data_on_every_backend() {
    // Products of small integers summed below 2^24 are exact in f32 in any order.
    let n = 65_535 * 256 + 17;
    let a: Vec<f32> = (0..n).map(|i| (i % 2) as f32).collect();
    let b: Vec<f32> = (0..n).map(|i| ((i / 2) % 2) as f32).collect();
    let exact: f32 = (0..n).filter(|i| i % 4 == 3).count() as f32;
    assert_eq!(dot::scalar(&a, &b), exact);
    assert_eq!(dot::simd(&a, &b), exact);
    assert_eq!(dot::rayon(&a, &b), exact);
}

#[test]
fn dot_problem_reports_the_backend_result() {
    let mut problem = DotProblem::new(5000, 11);
    problem.run_cpu(Backend::Simd, None);
    let simd = problem.result();
    problem.run_cpu(Backend::Scalar, None);
    assert!((problem.result() - simd).abs() <= simd * 1e-5);
    assert!(problem.verify().passed);
}
