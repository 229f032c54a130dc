//! The stencil on every backend and both GPU variants against the f64 reference of the same
//! steps: odd grid sides (1, 5, 67, 131: multiples of no workgroup, tile or lane count), one step
//! and several (odd and even, so both buffers end a run), row bands over many small bindings,
//! the clean refusal when a row does not fit a binding, and the PNG.

mod common;

use hpclab::Backend;
use hpclab::error::Error;
use hpclab::gpu::{GpuContext, GpuRequest};
use hpclab::kernels::stencil::{Stencil, StencilProblem};
use hpclab::kernels::{Kernel, KernelOptions, Problem};

const SIDES: [usize; 4] = [1, 5, 67, 131];
const STEPS: [u32; 3] = [1, 4, 7];

fn options(steps: u32) -> KernelOptions {
    KernelOptions {
        steps: Some(steps),
        ..Default::default()
    }
}

#[test]
fn every_cpu_backend_matches_the_reference_and_a_cleared_output_fails() {
    for n in SIDES {
        for steps in STEPS {
            let mut problem = Stencil.prepare(n, 7, &options(steps));
            for backend in [Backend::Scalar, Backend::Simd, Backend::Rayon] {
                let case = format!("n={n} steps={steps}");
                common::assert_cpu_run_verifies(&mut *problem, backend, None, &case);
            }
        }
    }
}

#[test]
fn the_field_diffuses_and_the_tolerance_is_far_below_one_step_of_change() {
    // If the steps were skipped or counted wrong, the output would be off by about one step's
    // change, D·|laplacian|; the tolerance must be far below that for the check to mean anything.
    let mut problem = StencilProblem::new(67, 3, 1);
    problem.run_cpu(Backend::Simd, None);
    let one_step_fewer = StencilProblem::new(67, 2, 1);
    let largest_change = problem
        .reference()
        .iter()
        .zip(one_step_fewer.reference())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        largest_change > 1000.0 * problem.tolerance(),
        "one step changes the field by {largest_change}, tolerance {}",
        problem.tolerance()
    );
    let mismatches = problem
        .output()
        .iter()
        .zip(one_step_fewer.reference())
        .filter(|(got, want)| (**got as f64 - **want).abs() > problem.tolerance())
        .count();
    assert!(
        mismatches > 0,
        "three steps must not pass as two: {mismatches}"
    );
}

fn check_gpu(context: &GpuContext, n: usize, steps: u32, variant: &str) {
    let mut problem = Stencil.prepare(n, 7, &options(steps));
    problem.clear_output();
    {
        let mut run = problem
            .gpu(context, Some(variant))
            .unwrap_or_else(|e| panic!("GPU set-up, {variant} n={n}: {e}"));
        // Two samples: the second must start again from the initial field.
        for _ in 0..2 {
            run.sample()
                .unwrap_or_else(|e| panic!("GPU sample, {variant} n={n}: {e}"));
        }
    }
    common::assert_verifies(&*problem, &format!("gpu {variant} n={n} steps={steps}"));
}

#[test]
fn both_gpu_variants_match_the_reference() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let variants: Vec<&str> = Stencil
        .variants(Backend::Gpu)
        .iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(variants, ["resident", "roundtrip"]);
    for n in SIDES {
        for steps in STEPS {
            for variant in &variants {
                check_gpu(&context, n, steps, variant);
            }
        }
    }
}

#[test]
fn gpu_row_bands_over_small_bindings_match_the_reference() {
    // 4 KiB bindings hold 1024 f32: n = 67 takes 6 bands of 13 rows, n = 131 takes 27 of 5,
    // each input window with its two halo rows and an aligned start.
    let Some(context) = common::gpu_with_bindings(4096) else {
        return;
    };
    for n in [5, 67, 131] {
        for steps in [1, 4] {
            for variant in ["resident", "roundtrip"] {
                check_gpu(&context, n, steps, variant);
            }
        }
    }
}

#[test]
fn a_row_wider_than_a_binding_is_a_usage_error() {
    let Some(context) = common::gpu_with_bindings(4096) else {
        return;
    };
    // Three rows of 600 f32 (7.2 kB) cannot share one 4 KiB binding.
    let mut problem = Stencil.prepare(600, 7, &options(1));
    common::assert_gpu_usage_error(&mut *problem, &context, None, "--size");
    let mut problem = Stencil.prepare(5, 7, &options(1));
    assert!(matches!(
        problem.gpu(&context, Some("sideways")),
        Err(Error::Usage(_))
    ));
}

#[test]
fn the_image_is_an_n_by_n_png() {
    let folder = tempfile::tempdir().unwrap();
    for n in [1, 67] {
        let mut problem = Stencil.prepare(n, 7, &options(4));
        problem.run_cpu(Backend::Rayon, None);
        let path = folder.path().join(format!("field{n}.png"));
        problem.write_image(&path).unwrap();
        let mut reader = common::png_reader(&path);
        assert_eq!(
            (reader.info().width, reader.info().height),
            (n as u32, n as u32)
        );
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut pixels).unwrap();
        if n > 1 {
            // The hot square is still the brightest: the middle differs from the corner.
            let at = |i: usize, j: usize| &pixels[(i * n + j) * 3..(i * n + j) * 3 + 3];
            assert_ne!(at(n / 2, n / 2), at(0, 0));
        }
    }
}

#[test]
fn the_command_line_runs_both_residencies_and_counts_the_steps() {
    let folder = tempfile::tempdir().unwrap();
    let image = folder.path().join("stencil.png");
    let gpu = common::gpu(GpuRequest::default()).is_some();
    let mut command = assert_cmd::Command::cargo_bin("hpclab").unwrap();
    command.args([
        "run", "stencil", "--size", "33", "--steps", "3", "--runs", "1", "--warmup", "0",
        "--format", "json",
    ]);
    if gpu {
        command.args(["--backend", "simd,gpu", "--residency", "both"]);
    } else {
        command.args(["--backend", "simd"]);
    }
    let output = command.arg("--image").arg(&image).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let records = json["records"].as_array().unwrap();
    // Three steps of 33² points, 8 bytes each: the cost model sees --steps.
    assert_eq!(records[0]["cost"]["device_bytes"], 3 * 8 * 33 * 33);
    let variants: Vec<&str> = records
        .iter()
        .filter_map(|r| r["variant"].as_str())
        .collect();
    if gpu {
        assert_eq!(variants, ["resident", "roundtrip"]);
    }
    assert!(records.iter().all(|r| r["verified"] == true));
    assert!(image.exists());
}
