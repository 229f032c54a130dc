//! The Python rungs (python, numpy, numba serial and parallel) of every kernel that has them:
//! run through the engine at odd sizes and verified with the kernel's own check; a wrong or
//! missing result fails that check. Without NumPy or Numba the tests skip loudly, unless
//! `HPCLAB_REQUIRE_PYTHON=1` (CI) makes that a failure.

use hpclab::Backend;
use hpclab::engine::{GpuState, Plan, PlanBuilder, run};
use hpclab::kernels::{self, KernelOptions};
use hpclab::measure::MeasureOptions;
use hpclab::python::worker::Worker;

/// True when the machine has NumPy and Numba under the worker's interpreter; otherwise a loud
/// note, or a failure under `HPCLAB_REQUIRE_PYTHON=1`.
fn python_ready() -> bool {
    let interpreter = hpclab::python::worker::interpreter();
    let found = std::process::Command::new(&interpreter)
        .args(["-c", "import numpy, numba"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !std::env::var("HPCLAB_REQUIRE_PYTHON").is_ok_and(|v| v == "1"),
            "HPCLAB_REQUIRE_PYTHON=1 but {} cannot import numpy and numba",
            interpreter.to_string_lossy()
        );
        eprintln!(
            "\n*** SKIPPING PYTHON RUNG CHECKS: {} cannot import numpy and numba ***\n*** python3 -m pip install numpy numba, or set HPCLAB_REQUIRE_PYTHON=1 to make this a failure ***\n",
            interpreter.to_string_lossy()
        );
    }
    found
}

/// A plan of every Python rung of `kernel` at `size`, two samples each, one thread pool of 2.
fn rungs(kernel: &str, size: u64) -> PlanBuilder {
    Plan::kernel(kernel)
        .unwrap()
        .backends(&Backend::PYTHON_RUNGS)
        .variants(Some("all"))
        .size(Some(size))
        .sampling(MeasureOptions { warmup: 0, runs: 2 })
        .threads(Some(2))
}

/// Every Python rung of `kernel` verifies at each of `sizes`.
fn assert_rungs_verify(kernel: &str, sizes: &[u64]) {
    for &size in sizes {
        let plan = rungs(kernel, size).build().unwrap();
        let document = run(&plan, &GpuState::none(), "test".into(), true).unwrap();
        assert!(document.not_run.is_empty(), "{:?}", document.not_run);
        let labels: Vec<String> = document
            .records
            .iter()
            .map(|r| format!("{} {}", r.backend, r.variant.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            labels,
            ["python ", "numpy ", "numba serial", "numba parallel"],
            "{kernel}"
        );
        for record in &document.records {
            assert!(
                record.verified,
                "{kernel} n={size} {} {:?}: {:?}",
                record.backend, record.variant, record.verification.first_mismatch
            );
        }
        assert_eq!(document.python_setup.len(), 4);
        let numba = &document.python_setup[2];
        assert!(
            numba.load.first_call_s.is_some(),
            "Numba's first call is reported"
        );
    }
}

#[test]
fn every_kernel_with_a_python_module_lists_the_three_rungs() {
    let with: Vec<&str> = kernels::all()
        .into_iter()
        .filter(|k| !k.python_rungs().is_empty())
        .map(|k| k.info().name)
        .collect();
    assert_eq!(
        with.len(),
        kernels::all().len(),
        "every catalogue kernel: {with:?}"
    );
    for name in with {
        let kernel = kernels::find(name).unwrap();
        assert_eq!(kernel.python_rungs(), Backend::PYTHON_RUNGS);
        assert!(
            !kernel.backends().contains(&Backend::Python),
            "not in --backend all"
        );
    }
}

// The STREAM family, reduce, matmul, histogram.

/// The kernels whose rungs need nothing beyond [`assert_rungs_verify`], with odd sizes that keep
/// pure Python under a second each (dot, reduce and histogram have tests of their own below).
const ODD_SIZES: [(&str, &[u64]); 10] = [
    ("copy", &[1, 17, 1001]),
    ("scale", &[1, 17, 1001]),
    ("add", &[1, 17, 1001]),
    ("triad", &[1, 17, 1001]),
    ("matmul", &[1, 7, 33]),
    ("mandelbrot", &[1, 17, 101]),
    ("julia", &[1, 17, 101]),
    ("pi", &[1, 1001, 30_001]),
    ("stencil", &[1, 17, 33]),
    ("nbody", &[1, 17, 101]),
];

#[test]
fn every_rung_verifies_at_odd_sizes() {
    if python_ready() {
        for (kernel, sizes) in ODD_SIZES {
            assert_rungs_verify(kernel, sizes);
        }
    }
}

#[test]
fn dot_rungs_verify_and_a_wrong_dot_fails() {
    if python_ready() {
        assert_rungs_verify("dot", &[1, 17, 1001]);
        assert_wrong_results_fail_every_rung("dot", 1001);
    }
}

#[test]
fn reduce_rungs_verify_and_a_wrong_sum_fails() {
    if python_ready() {
        assert_rungs_verify("reduce", &[1, 17, 1001, 100_003]);
        assert_wrong_results_fail_every_rung("reduce", 1001);
    }
}

/// Each Python rung's bound in reduce is tight enough to catch a sum missing one element at
/// n = 1001, and the python rung's (the exact sum rounded once) one f32 step off.
#[test]
fn reduce_python_bounds_reject_a_missing_element() {
    use hpclab::kernels::reduce::{ReduceProblem, Strategy};
    let problem = ReduceProblem::new(1001, 3);
    let largest = problem.inputs().iter().fold(0.0f32, |m, &v| m.max(v)) as f64;
    for (rung, variant) in [
        (Backend::Python, None),
        (Backend::Numpy, None),
        (Backend::Numba, Some("serial")),
        (Backend::Numba, Some("parallel")),
    ] {
        let strategy = Strategy::of(rung, variant).unwrap();
        let rounded = problem.exact() as f32;
        assert!(problem.check(strategy, rounded).passed, "{strategy:?}");
        let missing_one = (problem.exact() - largest) as f32;
        assert!(
            !problem.check(strategy, missing_one).passed,
            "{strategy:?}: a sum missing its largest element ({largest}) must fail"
        );
    }
    let two_steps = f32::from_bits((problem.exact() as f32).to_bits() + 2);
    assert!(!problem.check(Strategy::PythonFloats, two_steps).passed);
}

#[test]
fn histogram_rungs_verify_and_a_wrong_histogram_fails() {
    if python_ready() {
        assert_rungs_verify("histogram", &[1, 17, 100_003]);
        assert_wrong_results_fail_every_rung("histogram", 100_003);
    }
}

/// On every Python rung of `kernel` at `size`: a result computed from another problem's inputs
/// fails the check, the right inputs pass, and a cleared output fails (for the kernels whose
/// check the rung selects or reads apart: dot, reduce, histogram).
fn assert_wrong_results_fail_every_rung(kernel: &str, size: usize) {
    let found = kernels::find(kernel).unwrap();
    let options = KernelOptions::default();
    let mut problem = found.prepare(size, 1, &options);
    let other = found.prepare(size, 2, &options);
    let mut worker = Worker::start(2).unwrap().unwrap();
    for rung in Backend::PYTHON_RUNGS {
        let variants: Vec<Option<&'static hpclab::kernels::Variant>> = match found.variants(rung) {
            [] => vec![None],
            variants => variants.iter().map(Some).collect(),
        };
        for variant in variants {
            let label = format!("{kernel} {rung:?} {:?}", variant.map(|v| v.name));
            let name = variant.map(|v| v.name);
            for passes in [false, true] {
                let call = match passes {
                    false => other.python_call(),
                    true => problem.python_call(),
                };
                worker
                    .load(kernel, rung.name(), name, call)
                    .unwrap()
                    .unwrap();
                problem.clear_output();
                worker.sample().unwrap();
                worker
                    .read_outputs(problem.python_outputs(rung, variant))
                    .unwrap();
                assert_eq!(problem.verify().passed, passes, "{label}");
            }
            problem.clear_output();
            assert!(!problem.verify().passed, "{label}: a cleared output passed");
        }
    }
}

// The fractals, pi, the stencil, nbody.

/// Gorelick & Ozsvald's Julia set (ch. 2): c = −0.62772 − 0.42193i over [−1.8, 1.8]², 300
/// iterations.
fn book_julia() -> KernelOptions {
    KernelOptions {
        max_iter: Some(300),
        window: Some([-1.8, 1.8, -1.8, 1.8]),
        c: Some([-0.62772, -0.42193]),
        ..KernelOptions::default()
    }
}

/// Every Python rung and every CPU backend of `kernel` with `options` at n = 101: each verified,
/// and the checksums (sums of the counts) of the records.
fn fractal_rows(kernel: &str, options: KernelOptions) -> Vec<(String, u64)> {
    let backends = [
        Backend::Python,
        Backend::Numpy,
        Backend::Numba,
        Backend::Scalar,
        Backend::Simd,
        Backend::Rayon,
    ];
    let plan = rungs(kernel, 101)
        .backends(&backends)
        .kernel_options(options)
        .build()
        .unwrap();
    let document = run(&plan, &GpuState::none(), "test".into(), true).unwrap();
    assert!(document.not_run.is_empty(), "{:?}", document.not_run);
    document
        .records
        .iter()
        .map(|record| {
            let label = format!(
                "{} {}",
                record.backend,
                record.variant.as_deref().unwrap_or("")
            );
            assert!(
                record.verified,
                "{kernel} {label}: {:?}",
                record.verification.first_mismatch
            );
            (
                label,
                record.checksum.expect("a fractal record has a checksum"),
            )
        })
        .collect()
}

/// --window and --c change the image on every rung (the checksum differs from the default
/// image's), and every rung still verifies. The f32 rungs agree on the checksum exactly; pure
/// Python (f64) differs from them by a few boundary points at most.
#[test]
fn window_and_c_change_the_image_and_every_rung_verifies() {
    if !python_ready() {
        return;
    }
    let window = KernelOptions {
        window: Some([-0.75, -0.7, 0.1, 0.2]),
        ..KernelOptions::default()
    };
    let cases = [
        ("julia", book_julia()),
        (
            "julia",
            KernelOptions {
                c: Some([0.285, 0.01]),
                ..KernelOptions::default()
            },
        ),
        ("julia", window.clone()),
        ("mandelbrot", window),
    ];
    for (kernel, options) in cases {
        let default = fractal_rows(kernel, KernelOptions::default());
        let changed = fractal_rows(kernel, options.clone());
        for ((label, before), (_, after)) in default.iter().zip(&changed) {
            assert_ne!(before, after, "{kernel} {label} {options:?}");
        }
        let f32_sums: Vec<u64> = changed
            .iter()
            .filter(|(label, _)| label != "python ")
            .map(|(_, sum)| *sum)
            .collect();
        assert_eq!(f32_sums.len(), changed.len() - 1, "{changed:?}");
        assert!(
            f32_sums.iter().all(|&sum| sum == f32_sums[0]),
            "{kernel} {options:?}: {changed:?}"
        );
    }
}

/// The pure-Python rung is checked against an f64 reference: it passes there, fails there on
/// another image and when it wrote nothing; and the f32 reference would refuse it (which is
/// why it has its own), while the f32 rungs pass the f32 one.
#[test]
fn the_python_fractal_check_is_f64_and_fails_on_a_wrong_image() {
    if !python_ready() {
        return;
    }
    let julia = kernels::find("julia").unwrap();
    let mut problem = julia.prepare(101, 1, &KernelOptions::default());
    let other = julia.prepare(101, 1, &book_julia());
    let mut worker = Worker::start(1).unwrap().unwrap();
    // The python rung fed another image's grid.
    worker
        .load("julia", "python", None, other.python_call())
        .unwrap()
        .unwrap();
    problem.clear_output();
    worker.sample().unwrap();
    worker
        .read_outputs(problem.python_outputs(Backend::Python, None))
        .unwrap();
    assert!(
        !problem.verify().passed,
        "another image passed the f64 check"
    );
    // The right grid: the f64 reference matches bit for bit.
    worker
        .load("julia", "python", None, problem.python_call())
        .unwrap()
        .unwrap();
    problem.clear_output();
    worker.sample().unwrap();
    worker
        .read_outputs(problem.python_outputs(Backend::Python, None))
        .unwrap();
    let right = problem.verify();
    assert!(right.passed && right.mismatches == 0, "{right:?}");
    // The same f64 counts under the numpy rung's check (the f32 reference): at n = 101 about 1%
    // of the Julia pixels differ between f64 and f32, ten times the slack.
    drop(problem.python_outputs(Backend::Numpy, None));
    let f32_check = problem.verify();
    assert!(!f32_check.passed, "f64 counts passed the f32 check");
    // Nothing written fails too.
    problem.clear_output();
    drop(problem.python_outputs(Backend::Python, None));
    assert!(!problem.verify().passed, "a cleared output passed");
}

/// The check is trusted only once it has failed: a rung fed another problem's inputs, and a rung
/// that wrote nothing, must both fail the kernel's check.
#[test]
fn a_wrong_or_missing_python_result_fails_the_check() {
    if !python_ready() {
        return;
    }
    let triad = kernels::find("triad").unwrap();
    let options = KernelOptions::default();
    let mut problem = triad.prepare(1001, 1, &options);
    let other = triad.prepare(1001, 2, &options);
    let mut worker = Worker::start(1).unwrap().unwrap();
    worker
        .load("triad", "numpy", None, other.python_call())
        .unwrap()
        .unwrap();
    problem.clear_output();
    worker.sample().unwrap();
    worker
        .read_outputs(problem.python_outputs(Backend::Numpy, None))
        .unwrap();
    assert!(!problem.verify().passed, "another problem's result passed");
    // The same worker on the right inputs passes, then a rung that writes nothing fails.
    worker
        .load("triad", "numpy", None, problem.python_call())
        .unwrap()
        .unwrap();
    problem.clear_output();
    worker.sample().unwrap();
    worker
        .read_outputs(problem.python_outputs(Backend::Numpy, None))
        .unwrap();
    assert!(problem.verify().passed);
    problem.clear_output();
    assert!(!problem.verify().passed, "a cleared output passed");
}

#[test]
fn a_missing_interpreter_is_a_row_not_run_or_a_usage_error_when_asked_for() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hpclab"))
        .args(["run", "triad", "--size", "100", "--backend", "python"])
        .env("HPCLAB_PYTHON", "/nonexistent/python3")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no Python interpreter"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hpclab"))
        .args([
            "run",
            "triad",
            "--size",
            "100",
            "--backend",
            "ladder",
            "--runs",
            "1",
        ])
        .args(["--warmup", "0", "--format", "json"])
        .env("HPCLAB_PYTHON", "/nonexistent/python3")
        .env("XDG_RUNTIME_DIR", "/tmp")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let not_run = json["not_run"].as_array().unwrap();
    assert_eq!(not_run.len(), 3, "{json}");
    assert!(
        not_run[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no Python interpreter")
    );
}

/// The Python sources pass ruff (or pyflakes) and their own unit tests.
#[test]
fn the_python_sources_pass_the_linter_and_their_unit_tests() {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
    let required = std::env::var("HPCLAB_REQUIRE_PYTHON").is_ok_and(|v| v == "1");
    let interpreter = hpclab::python::worker::interpreter();
    let linters: [(&str, &[&str]); 2] = [("ruff", &["check"]), ("pyflakes", &[])];
    let linted = linters.iter().find_map(|(module, args)| {
        std::process::Command::new(&interpreter)
            .args(["-m", module])
            .args(*args)
            .arg(&python)
            .output()
            .ok()
            .filter(|o| !String::from_utf8_lossy(&o.stderr).contains("No module named"))
    });
    match linted {
        Some(output) => assert!(
            output.status.success(),
            "the linter found problems:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        None if required => {
            panic!("HPCLAB_REQUIRE_PYTHON=1 but neither ruff nor pyflakes is installed")
        }
        None => eprintln!("\n*** SKIPPING THE PYTHON LINT: python3 -m pip install ruff ***\n"),
    }
    if !python_ready() {
        return;
    }
    let output = std::process::Command::new(&interpreter)
        .args(["-m", "unittest", "discover", "-s", "tests", "-t", "."])
        .current_dir(&python)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `hpclab gil` runs every mode on 1 and 2 workers and checks each image with julia's rule;
/// processes report their pool start apart; a free-threaded CPython is run or said missing.
#[test]
fn gil_runs_every_mode_and_checks_each_image() {
    if !python_ready() {
        return;
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hpclab"))
        .args([
            "gil",
            "julia",
            "--size",
            "61",
            "--workers",
            "1..2",
            "--runs",
            "1",
        ])
        .args(["--format", "json"])
        .env("XDG_RUNTIME_DIR", "/tmp")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let points = json["points"].as_array().unwrap();
    let modes: std::collections::BTreeSet<&str> =
        points.iter().map(|p| p["mode"].as_str().unwrap()).collect();
    for mode in [
        "threads, pure Python",
        "processes, pure Python",
        "threads, NumPy",
        "threads, Numba nogil",
    ] {
        assert!(modes.contains(mode), "{mode} missing from {modes:?}");
    }
    for point in points {
        assert_eq!(point["verified"], true, "{point}");
        let processes = point["mode"] == "processes, pure Python";
        assert_eq!(point["start"].is_object(), processes, "{point}");
        if point["workers"] == 1 {
            assert_eq!(point["speedup"], 1.0);
        }
    }
    let free_threaded = modes.contains("threads, free-threaded Python");
    let said_missing = json["not_run"].as_array().is_some_and(|rows| {
        rows.iter()
            .any(|r| r["implementation"] == "threads, free-threaded Python")
    });
    assert!(free_threaded != said_missing, "{json}");
}
