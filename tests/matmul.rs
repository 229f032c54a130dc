//! matmul on every backend and GPU variant against the f64 reference, at sizes that are not
//! multiples of any tile or register block; the GPU split into bands of rows over small
//! bindings; a cleared or perturbed output fails; sizes that cannot fit are refused.

mod common;

use assert_cmd::Command;
use hpclab::Backend;
use hpclab::gpu::{GpuContext, GpuRequest};
use hpclab::kernels::matmul::gpu::{GpuVariant, MatmulGpu};
use hpclab::kernels::matmul::{Matmul, MatmulProblem};
use hpclab::kernels::{GpuRun, Kernel, Problem};

/// Not multiples of the GPU tile (16), of the CPU register tiles (6 or 12 rows, 8, 16 or 32
/// columns) or of the row block (48); 129 spans several row blocks and column panels.
const SIZES: [usize; 4] = [1, 17, 67, 129];

const CPU_BACKENDS: [Backend; 4] = [
    Backend::Scalar,
    Backend::Simd,
    Backend::Rayon,
    Backend::Library,
];

#[test]
fn every_cpu_backend_matches_the_reference_at_odd_sizes() {
    for n in SIZES {
        let mut problem = Matmul.prepare(n, 5, &Default::default());
        for backend in CPU_BACKENDS {
            let verification =
                common::assert_cpu_run_verifies(&mut *problem, backend, None, &format!("n={n}"));
            assert_eq!(verification.checked, (n * n) as u64);
        }
    }
}

#[test]
fn the_rayon_backends_split_the_work_over_a_pool() {
    // Three threads: row blocks are shared unevenly, and gemm gets an odd thread count.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    pool.install(|| {
        let mut problem = Matmul.prepare(301, 9, &Default::default());
        for backend in [Backend::Rayon, Backend::Library] {
            problem.clear_output();
            problem.run_cpu(backend, None);
            let verification = problem.verify();
            assert!(verification.passed, "{backend}: {verification:?}");
        }
    });
}

#[test]
fn the_tolerance_catches_a_wrong_element() {
    let n = 67;
    let mut problem = MatmulProblem::new(n, 3);
    problem.run_cpu(Backend::Simd, None);
    let good = problem.verify();
    assert!(good.passed && good.worst_error_ratio < 1.0, "{good:?}");
    // The bound is 2·n·2^-24 ≈ 8e-6 relative at n = 67: one element off by 1e-4 fails, and so
    // does a product with B transposed.
    let mut wrong = problem.output().to_vec();
    wrong[n * 40 + 13] *= 1.0 + 1e-4;
    let verification = problem.check(&wrong);
    assert!(!verification.passed && verification.mismatches == 1);
    assert!(
        verification
            .first_mismatch
            .as_deref()
            .unwrap()
            .starts_with(&format!("element {}", n * 40 + 13))
    );
    let a = hpclab::kernels::inputs::uniform_f32(n * n, 3, 0);
    let b = hpclab::kernels::inputs::uniform_f32(n * n, 3, 1);
    let transposed: Vec<f32> = (0..n * n)
        .map(|i| {
            let (row, col) = (i / n, i % n);
            (0..n).map(|k| a[row * n + k] * b[col * n + k]).sum()
        })
        .collect();
    assert!(!problem.check(&transposed).passed);
}

fn run_gpu(problem: &mut MatmulProblem, context: &GpuContext, variant: &str) -> usize {
    problem.clear_output();
    assert!(!problem.verify().passed);
    let mut run = MatmulGpu::new(problem, context, Some(variant)).expect("GPU set-up");
    let dispatches = run.dispatch_count();
    let sample = run.sample().expect("GPU sample");
    assert!(sample.upload_s.unwrap() > 0.0 && sample.download_s.unwrap() > 0.0);
    dispatches
}

/// Multiples of 4 (the vec4 variant's rows) that are not multiples of 8, 16 or 128 (its
/// register and workgroup blocks); 260 spans three blocks of 128.
const VEC4_SIZES: [usize; 4] = [4, 20, 68, 260];

#[test]
fn every_gpu_variant_matches_the_reference_at_odd_sizes() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    for variant in GpuVariant::ALL {
        let sizes = match variant.size_multiple() {
            1 => SIZES,
            _ => VEC4_SIZES,
        };
        for n in sizes {
            let mut problem = MatmulProblem::new(n, 5);
            assert_eq!(run_gpu(&mut problem, &context, variant.name()), 1);
            common::assert_verifies(&problem, &format!("gpu {} at n={n}", variant.name()));
        }
    }
}

#[test]
fn the_vec4_variant_refuses_a_size_that_is_not_a_multiple_of_4() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let mut problem = MatmulProblem::new(67, 5);
    let error = MatmulGpu::new(&mut problem, &context, Some("vectorized"))
        .err()
        .expect("n = 67 cannot be bound as vec4 rows");
    assert_eq!(error.exit_code(), 2, "{error}");
    assert!(error.to_string().contains("--size 68"), "{error}");
}

#[test]
fn gpu_bands_over_small_bindings_match_the_reference() {
    // 129 floats a row (516 bytes): a binding of 64 rows starts every band on a 256-byte
    // boundary (and so on any smaller alignment), so n = 129 is 3 row bands (64, 64, 1) and 3
    // depth bands: 9 dispatches, 8 of which add to C.
    let Some(context) = common::gpu_with_bindings(64 * 516) else {
        return;
    };
    let mut problem = MatmulProblem::new(129, 2);
    for variant in GpuVariant::ALL.iter().filter(|v| v.size_multiple() == 1) {
        assert_eq!(run_gpu(&mut problem, &context, variant.name()), 9);
        common::assert_verifies(&problem, &format!("gpu {} in bands", variant.name()));
    }
}

#[test]
fn the_vec4_variant_in_bands_of_a_multiple_of_4_rows_matches_the_reference() {
    // 132 floats a row (528 bytes); a binding of 66 rows. 32-byte offsets alone would allow
    // bands of 66 rows (every second row starts aligned); vec4 depth bands need a multiple of
    // 4, so the bands are 64, 64 and 4 rows: 9 dispatches.
    let Some(context) = common::gpu_with_bindings(66 * 528) else {
        return;
    };
    let mut problem = MatmulProblem::new(132, 2);
    assert_eq!(run_gpu(&mut problem, &context, "vectorized"), 9);
    common::assert_verifies(&problem, "gpu vectorized in bands");
}

#[test]
fn gpu_samples_repeat() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let mut problem = Matmul.prepare(33, 1, &Default::default());
    let mut run = problem.gpu(&context, Some("tiled")).unwrap();
    for _ in 0..3 {
        let sample = run.sample().unwrap();
        assert!(sample.compute_wall_s > 0.0);
    }
    drop(run);
    assert!(problem.verify().passed);
}

#[test]
fn a_binding_too_small_for_one_aligned_band_is_a_usage_error() {
    let Some(context) = common::gpu_with_bindings(1024) else {
        return;
    };
    let mut problem = MatmulProblem::new(129, 2);
    let error = MatmulGpu::new(&mut problem, &context, Some("naive"))
        .err()
        .expect("129 rows of 516 bytes cannot be banded into 1 KiB bindings");
    assert_eq!(error.exit_code(), 2, "{error}");
    assert!(error.to_string().contains("--size"), "{error}");
    assert!(MatmulGpu::new(&mut problem, &context, Some("strassen")).is_err());
}

#[test]
fn the_cost_model_and_footprint_follow_n() {
    let cost = Matmul.cost(1024);
    assert_eq!(cost.flops, 2 * 1024u64.pow(3));
    assert_eq!(cost.device_bytes, 12 * 1024 * 1024);
    assert_eq!(cost.upload_bytes, 8 * 1024 * 1024);
    assert_eq!(cost.download_bytes, 4 * 1024 * 1024);
    let footprint = Matmul.footprint(1 << 25);
    assert!(
        footprint.host_bytes >= 20 << 50,
        "A, B, C and the f64 reference"
    );
    assert_eq!(footprint.largest_gpu_buffer_bytes, 4 << 50);
    // Sizes whose cost overflows u64 saturate instead of wrapping to something small.
    assert_eq!(Matmul.cost(1 << 40).flops, u64::MAX);
    assert_eq!(Matmul.footprint(1 << 40).host_bytes, u64::MAX);
    assert_eq!(Matmul.backends(), &Backend::NATIVE);
    let variants: Vec<&str> = Matmul
        .variants(Backend::Gpu)
        .iter()
        .filter(|v| v.default)
        .map(|v| v.name)
        .collect();
    assert_eq!(variants, ["naive", "tiled", "vectorized"]);
    assert!(Matmul.variants(Backend::Rayon).is_empty());
}

#[test]
fn the_cli_refuses_a_size_that_cannot_fit() {
    let output = Command::cargo_bin("hpclab")
        .unwrap()
        .args(["run", "matmul", "--size", "2^25", "--backend", "scalar"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("matmul needs about"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn the_cli_runs_every_backend_and_variant() {
    let output = Command::cargo_bin("hpclab")
        .unwrap()
        .args([
            "run", "matmul", "--size", "65", "--runs", "1", "--warmup", "0", "--format", "json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let records = json["records"].as_array().unwrap();
    let rows: Vec<String> = records
        .iter()
        .map(|r| {
            assert_eq!(r["verified"], true, "{r}");
            match r["variant"].as_str() {
                Some(variant) => format!("{} {variant}", r["backend"].as_str().unwrap()),
                None => r["backend"].as_str().unwrap().to_string(),
            }
        })
        .collect();
    let mut expected = vec!["scalar", "simd", "rayon", "library"];
    let gpu = common::gpu(GpuRequest::default()).is_some();
    if gpu {
        expected.extend(["gpu naive", "gpu tiled"]);
        // n = 65 is not a multiple of 4: the vec4 variant is listed as not run, with the reason.
        let not_run = &json["not_run"][0];
        assert_eq!(not_run["implementation"], "gpu vectorized", "{json}");
        assert!(
            not_run["reason"].as_str().unwrap().contains("--size 68"),
            "{not_run}"
        );
    }
    assert_eq!(rows, expected);
    // Every row climbs the ladder from the row above, and stands against its device's
    // measured compute ceiling.
    for (index, record) in records.iter().enumerate() {
        assert_eq!(
            record["speedup_vs_previous"].is_null(),
            index == 0,
            "{record}"
        );
        let ceiling = &record["ceiling"];
        let (gflops, share) = (
            ceiling["gflops"].as_f64().unwrap(),
            ceiling["share"].as_f64().unwrap(),
        );
        assert!(gflops > 0.0, "{record}");
        let expected_share = record["gflops"].as_f64().unwrap() / gflops;
        assert!(
            (share - expected_share).abs() <= 1e-9 * expected_share,
            "{record}"
        );
    }
}

#[test]
fn the_cli_refuses_a_named_variant_that_cannot_run_at_the_size_before_the_work() {
    let output = Command::cargo_bin("hpclab")
        .unwrap()
        .args([
            "run",
            "matmul",
            "--size",
            "65",
            "-b",
            "gpu",
            "--variant",
            "vectorized",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("multiple of 4") && stderr.contains("--size 68"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}
