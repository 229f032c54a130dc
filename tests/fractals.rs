//! The escape-time kernels (mandelbrot, julia) on every backend and variant against the f32
//! reference, at odd sizes; the GPU with many small bindings; poisoned outputs; the cost model
//! from the reference's iteration count; the picture; and the CLI.

mod common;

use assert_cmd::Command;
use hpclab::Backend;
use hpclab::gpu::{GpuContext, GpuRequest};
use hpclab::kernels::fractal::{
    self, FLOPS_PER_ESCAPE, FLOPS_PER_ITERATION, FractalProblem, Grid, Set, reference_count,
};
use hpclab::kernels::{Kernel, KernelOptions};

/// n = 1 (one pixel at the window's centre), and sizes that are multiples of no lane count or
/// workgroup size.
const SIZES: [usize; 3] = [1, 37, 301];

const SETS: [Set; 2] = [Set::Mandelbrot, Set::Julia];

fn kernel(set: Set) -> &'static dyn Kernel {
    match set {
        Set::Mandelbrot => &fractal::MANDELBROT,
        Set::Julia => &fractal::JULIA,
    }
}

/// Every CPU backend and rayon variant: exact agreement (the same f32 operations in the same
/// order), and a poisoned output must fail first.
#[test]
fn every_cpu_backend_and_variant_matches_the_reference_exactly() {
    for set in SETS {
        for n in SIZES {
            let mut problem = kernel(set).prepare(n, 0, &KernelOptions::default());
            let runs = [
                (Backend::Scalar, None),
                (Backend::Simd, None),
                (Backend::Rayon, Some("rows")),
                (Backend::Rayon, Some("blocks")),
            ];
            for (backend, variant) in runs {
                problem.clear_output();
                let cleared = problem.verify();
                assert!(
                    !cleared.passed && cleared.mismatches == (n * n) as u64,
                    "{set:?} n={n}: a cleared output must fail: {cleared:?}"
                );
                problem.run_cpu(backend, variant);
                let verification = problem.verify();
                assert!(
                    verification.passed && verification.mismatches == 0,
                    "{set:?} on {backend} {variant:?} at n={n}: {verification:?}"
                );
            }
        }
    }
}

/// The variants are declared where the runner finds them.
#[test]
fn rayon_has_the_rows_and_blocks_variants() {
    let names: Vec<&str> = fractal::MANDELBROT
        .variants(Backend::Rayon)
        .iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(names, ["rows", "blocks"]);
    assert!(fractal::MANDELBROT.variants(Backend::Simd).is_empty());
}

fn check_gpu(context: &GpuContext, set: Set, n: usize) {
    let mut problem = kernel(set).prepare(n, 0, &KernelOptions::default());
    problem.clear_output();
    {
        let mut run = problem.gpu(context, None).expect("GPU set-up");
        let sample = run.sample().expect("GPU sample");
        assert!(sample.upload_s.is_none() && sample.download_s.is_some());
    }
    let verification = problem.verify();
    eprintln!(
        "{set:?} gpu n={n}: {} of {} pixels differ from the reference",
        verification.mismatches, verification.checked
    );
    assert!(
        verification.passed,
        "{set:?} on gpu at n={n}: {verification:?}"
    );
    if context.adapter.software {
        // lavapipe rounds f32 add and multiply correctly and, with the shader's `exact`
        // barriers, cannot fuse or reorder them: it was measured to match bit for bit (without
        // the barriers it reordered sums and changed 1% of the Julia counts).
        assert_eq!(verification.mismatches, 0, "{set:?} on lavapipe at n={n}");
    }
}

#[test]
fn gpu_matches_the_reference() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    for set in SETS {
        for n in SIZES {
            check_gpu(&context, set, n);
        }
    }
}

#[test]
fn gpu_chunked_over_many_small_bindings_matches_the_reference() {
    // 4 KiB bindings: 1024 counts per chunk, so 301² = 90 601 pixels take 89 chunks, which
    // start mid-row and end with a partial one.
    let Some(context) = common::gpu_with_bindings(4096) else {
        return;
    };
    assert_eq!(context.chunk_elements(4), 1024);
    for set in SETS {
        check_gpu(&context, set, 301);
    }
}

#[test]
fn reference_counts_known_points() {
    // c = 1: z = 0, 1, 2, 5; |2|² = 4 is not > 4, so it escapes at the fourth test.
    assert_eq!(reference_count((0.0, 0.0), (1.0, 0.0), 256), 3);
    // c = -1: z cycles 0, -1, 0, … and never escapes.
    assert_eq!(reference_count((0.0, 0.0), (-1.0, 0.0), 256), 256);
    // A start outside radius 2 escapes at once.
    assert_eq!(reference_count((2.0, 1.0), (0.0, 0.0), 256), 0);
}

#[test]
fn images_have_the_symmetries_of_their_sets() {
    // Mandelbrot: conjugate c gives a conjugate orbit (rows mirror). Julia: -z has the same
    // square as z (the image is symmetric under a half turn). At odd n the coordinates are
    // exactly symmetric, so the counts must be too.
    let n = 301;
    let mandelbrot = FractalProblem::new(Grid::new(Set::Mandelbrot, n, 256));
    let julia = FractalProblem::new(Grid::new(Set::Julia, n, 256));
    let (m, j) = (mandelbrot.reference(), julia.reference());
    for row in 0..n {
        for col in 0..n {
            assert_eq!(
                m[row * n + col],
                m[(n - 1 - row) * n + col],
                "({row}, {col})"
            );
            assert_eq!(
                j[row * n + col],
                j[(n - 1 - row) * n + (n - 1 - col)],
                "({row}, {col})"
            );
        }
    }
    // The centre pixel of the Mandelbrot window is c = -0.7, inside the main cardioid.
    assert_eq!(m[(n / 2) * n + n / 2], 256);
    assert!(m.iter().any(|&c| c < 5) && j.iter().any(|&c| c < 5));
}

#[test]
fn max_iter_caps_the_counts_and_the_cost_follows_the_reference() {
    let options = KernelOptions {
        max_iter: Some(50),
        ..Default::default()
    };
    let n = 101;
    let problem = fractal::JULIA.prepare(n, 0, &options);
    let cost = problem
        .cost(None)
        .expect("fractals know their cost once prepared");
    let direct = FractalProblem::new(Grid::new(Set::Julia, n, 50));
    let counts = direct.reference();
    assert!(counts.iter().all(|&c| c <= 50) && counts.contains(&50));
    let iterations: u64 = counts.iter().map(|&c| c as u64).sum();
    let escaped = counts.iter().filter(|&&c| c < 50).count() as u64;
    assert_eq!(
        cost.flops,
        FLOPS_PER_ITERATION * iterations + FLOPS_PER_ESCAPE * escaped
    );
    assert_eq!(cost.device_bytes, 4 * (n * n) as u64);
    assert_eq!(cost.download_bytes, 4 * (n * n) as u64);
    assert_eq!(cost.upload_bytes, 0);
    assert_eq!(
        cost.items.map(|i| (i.count, i.unit)),
        Some(((n * n) as u64, "pixels"))
    );
    // The data-free model is an upper bound at the default cap.
    assert!(fractal::JULIA.cost(n as u64).flops >= cost.flops);
}

#[test]
fn footprint_refuses_the_stream_sized_default() {
    let footprint = fractal::MANDELBROT.footprint(1 << 25);
    assert_eq!(footprint.largest_gpu_buffer_bytes, 4 << 50);
    assert!(footprint.host_bytes >= 8 << 50);
    // No overflow at the largest size the CLI accepts.
    assert_eq!(fractal::MANDELBROT.footprint(1 << 40).host_bytes, u64::MAX);
}

#[test]
fn the_picture_decodes_with_n_by_n_pixels() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("julia.png");
    let mut problem = fractal::JULIA.prepare(37, 0, &KernelOptions::default());
    problem.run_cpu(Backend::Simd, None);
    problem.write_image(&path).unwrap();
    let reader = common::png_reader(&path);
    assert_eq!((reader.info().width, reader.info().height), (37, 37));
}

#[test]
fn cli_runs_mandelbrot_and_writes_the_picture() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("x.png");
    Command::cargo_bin("hpclab")
        .unwrap()
        .args([
            "run",
            "mandelbrot",
            "--size",
            "301",
            "--runs",
            "1",
            "--warmup",
            "0",
        ])
        .args([
            "--backend",
            "scalar,simd,rayon",
            "--max-iter",
            "100",
            "--format",
            "json",
        ])
        .arg("--image")
        .arg(&path)
        .assert()
        .success();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    assert_eq!((reader.info().width, reader.info().height), (301, 301));
    let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut rgb).unwrap();
    // The centre pixel (c = -0.7) is inside the set: black. A corner (c = -2 + 1.3i) is far
    // outside: coloured, not black.
    let pixel = |row: usize, col: usize| &rgb[(row * 301 + col) * 3..][..3];
    assert_eq!(pixel(150, 150), [0, 0, 0]);
    assert_ne!(pixel(0, 0), [0, 0, 0]);
}

#[test]
fn cli_uses_the_kernels_own_default_size() {
    // Without --size a fractal is a 1024 × 1024 picture, not 2^25 pixels per side.
    Command::cargo_bin("hpclab")
        .unwrap()
        .args([
            "run",
            "julia",
            "--backend",
            "scalar",
            "--runs",
            "1",
            "--warmup",
            "0",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("n = 2^10"));
}

/// Gorelick & Ozsvald's Julia set (ch. 2): c = −0.62772 − 0.42193i over [−1.8, 1.8]², 300
/// iterations; and a Mandelbrot window that is not square (non-square pixels).
fn view_options() -> [(Set, KernelOptions); 2] {
    [
        (
            Set::Julia,
            KernelOptions {
                max_iter: Some(300),
                window: Some([-1.8, 1.8, -1.8, 1.8]),
                c: Some([-0.62772, -0.42193]),
                ..Default::default()
            },
        ),
        (
            Set::Mandelbrot,
            KernelOptions {
                window: Some([-0.8, -0.7, 0.05, 0.25]),
                ..Default::default()
            },
        ),
    ]
}

/// --window and --c reach every CPU backend (exact agreement with the reference) and change
/// the image; the grid puts the pixel centres where the window says.
#[test]
fn window_and_c_reach_every_cpu_backend() {
    for (set, options) in view_options() {
        for n in SIZES {
            let mut problem = kernel(set).prepare(n, 0, &options);
            let default = kernel(set).prepare(n, 0, &KernelOptions::default());
            for (backend, variant) in [
                (Backend::Scalar, None),
                (Backend::Simd, None),
                (Backend::Rayon, Some("rows")),
                (Backend::Rayon, Some("blocks")),
            ] {
                problem.clear_output();
                problem.run_cpu(backend, variant);
                let verification = problem.verify();
                assert!(
                    verification.passed && verification.mismatches == 0,
                    "{set:?} {backend} {variant:?} n={n}: {verification:?}"
                );
            }
            if n > 1 {
                let mut default = default;
                default.run_cpu(Backend::Scalar, None);
                assert_ne!(default.checksum(), problem.checksum(), "{set:?} n={n}");
            }
        }
    }
    let [x0, x1, y0, y1] = [-0.8, -0.7, 0.05, 0.25];
    let grid = Grid::over(Set::Mandelbrot, 10, 50, [x0, x1, y0, y1], (0.0, 0.0));
    let close = |got: f32, want: f64| (got as f64 - want).abs() < 1e-6;
    assert!(close(grid.x(0), x0 + 0.005) && close(grid.x(9), x1 - 0.005));
    assert!(close(grid.y(0), y1 - 0.01) && close(grid.y(9), y0 + 0.01));
}

/// The shader takes the window's steps and c from its uniform.
#[test]
fn gpu_matches_the_reference_over_a_window_and_c() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    for (set, options) in view_options() {
        for n in SIZES {
            let mut problem = kernel(set).prepare(n, 0, &options);
            problem.clear_output();
            {
                let mut run = problem.gpu(&context, None).expect("GPU set-up");
                run.sample().expect("GPU sample");
            }
            let verification = problem.verify();
            eprintln!(
                "{set:?} {options:?} gpu n={n}: {} of {} pixels differ",
                verification.mismatches, verification.checked
            );
            assert!(verification.passed, "{set:?} gpu n={n}: {verification:?}");
        }
    }
}

/// The pure-Python rung's f64 reference: the same iteration in f64 (known points), and over a
/// grid it differs from the f32 reference at a few boundary points only.
#[test]
fn the_f64_reference_runs_the_same_iteration() {
    use hpclab::kernels::fractal::reference_count_f64;
    assert_eq!(reference_count_f64((0.0, 0.0), (1.0, 0.0), 256), 3);
    assert_eq!(reference_count_f64((0.0, 0.0), (-1.0, 0.0), 256), 256);
    assert_eq!(reference_count_f64((2.0, 1.0), (0.0, 0.0), 256), 0);
    let grid = Grid::new(Set::Julia, 101, 256);
    let f32_counts = FractalProblem::new(grid).reference().to_vec();
    let f64_counts = FractalProblem::reference_f64(&grid);
    let differ = f32_counts
        .iter()
        .zip(&f64_counts)
        .filter(|(a, b)| a != b)
        .count();
    assert!(differ > 0 && differ < 101 * 101 / 20, "{differ}");
}

fn hpclab_run(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("hpclab")
        .unwrap()
        .args(["run", "--runs", "1", "--warmup", "0", "--size", "64"])
        .args(args)
        .env("XDG_RUNTIME_DIR", "/tmp")
        .output()
        .unwrap()
}

/// A bad --window or --c is a usage error: exit 2 and one line; --c does not apply to the
/// Mandelbrot set; the JSON record carries the checksum, which --c and --window change.
#[test]
fn cli_validates_window_and_c_and_records_the_checksum() {
    for args in [
        ["julia", "--window", "1,-1,-1,1"],
        ["julia", "--window", "-1,1,1,1"],
        ["julia", "--window", "-1,1,-1"],
        ["julia", "--window", "-1,1,-1,inf"],
        ["julia", "--window", "-1,1,-1,1e40"],
        ["julia", "--c", "nan,0"],
        ["julia", "--c", "0.3"],
        ["julia", "--c", "a,b"],
        ["mandelbrot", "--c", "0.3,0.1"],
        ["triad", "--window", "-1,1,-1,1"],
    ] {
        let output = hpclab_run(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
    let checksum = |args: &[&str]| {
        let output =
            hpclab_run(&[args, &["--backend", "scalar,simd", "--format", "json"]].concat());
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let sums: Vec<u64> = json["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["checksum"].as_u64().expect("checksum"))
            .collect();
        assert_eq!(sums.len(), 2);
        assert_eq!(sums[0], sums[1], "{args:?}");
        sums[0]
    };
    let julia = checksum(&["julia"]);
    let book = checksum(&[
        "julia",
        "--c",
        "-0.62772,-0.42193",
        "--window",
        "-1.8,1.8,-1.8,1.8",
    ]);
    let book_eq = checksum(&[
        "julia",
        "--c=-0.62772,-0.42193",
        "--window=-1.8,1.8,-1.8,1.8",
    ]);
    assert_ne!(julia, book);
    assert_eq!(book, book_eq);
    let mandelbrot = checksum(&["mandelbrot"]);
    assert_ne!(
        mandelbrot,
        checksum(&["mandelbrot", "--window", "-1,0,-0.5,0.5"])
    );
}
