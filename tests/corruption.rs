//! Every kernel's verification rejects the output of a real bug, not only a cleared output.
//!
//! Each case runs a real CPU backend, copies its output (which must verify), corrupts the copy
//! the way a bug would (the last element not written, one workgroup's block left zero, one
//! matmul tile, one row, one body, a histogram count lost, pi's hits of one workgroup lost, a
//! reduction missing one workgroup's partial) and asserts that the kernel's check rejects it.
//!
//! The corrupted copy goes through each problem's public `check` (`check_counts` for the
//! fractals): the very function its `Problem::verify` applies to its own output, open to any
//! candidate. That needs no way to write into a problem's output (no test-only mutator on the
//! `Problem` trait), and the tests assert `check(output) == verify()` so they test what runs.
//!
//! The last test shows the other half: a GPU output poisoned before each sample cannot hand
//! back an earlier sample's values when a pass writes nothing.

mod common;

use hpclab::Backend;
use hpclab::gpu::{GpuRequest, Setup};
use hpclab::kernels::fractal::{self, FractalProblem, Grid, Set};
use hpclab::kernels::histogram::HistogramProblem;
use hpclab::kernels::inputs::uniform_f32;
use hpclab::kernels::matmul::MatmulProblem;
use hpclab::kernels::nbody::NBodyProblem;
use hpclab::kernels::pi::PiProblem;
use hpclab::kernels::reduce::{ReduceProblem, Strategy};
use hpclab::kernels::stencil::{self, StencilProblem};
use hpclab::kernels::stream::dot::DotProblem;
use hpclab::kernels::stream::elementwise::ElementwiseProblem;
use hpclab::kernels::stream::{
    Elementwise, VEC4, add::Add, copy::Copy, scale::Scale, triad::Triad,
};
use hpclab::kernels::{Problem, Verification};

const SEED: u64 = 11;

/// Invocations per workgroup in the GPU runs (a block of this many elements is one
/// workgroup's share of a grid-stride loop's round).
const WORKGROUP: usize = 256;

/// Workgroups of the first pass of dot and reduce (`gpu::PARTIALS_PER_CHUNK`).
const PARTIALS: usize = 1024;

/// A size where a reduction's result is a realistic sum: 2^23 elements, 1024 partials of 8192.
/// Here the previous dot bound, 8·√n·2^-24·Σ|a·b|, was twice one partial: a dropped workgroup
/// passed it.
const LARGE: usize = 1 << 23;

/// One way a bug corrupts an output, and the check's verdict on the corrupted copy.
struct Case {
    kernel: &'static str,
    bug: &'static str,
    verdict: Verification,
}

/// Asserts that the check of the uncorrupted output is what `verify` says, and that it passes.
fn assert_genuine(kernel: &str, checked: &Verification, problem: &dyn Problem) {
    assert_eq!(
        *checked,
        problem.verify(),
        "{kernel}: check differs from verify"
    );
    assert!(
        checked.passed,
        "{kernel}: the real output fails: {checked:?}"
    );
}

/// The output of the last element not written (a grid one short): zero, as a fresh buffer.
fn last_element(out: &mut [f32]) {
    *out.last_mut().unwrap() = 0.0;
}

/// One workgroup's block, in the middle, never written: zero.
fn one_block(out: &mut [f32]) {
    let start = out.len() / 2;
    out[start..start + WORKGROUP].fill(0.0);
}

/// The element-wise kernel `Op` at an odd n, corrupted by each array bug.
fn elementwise<Op: Elementwise>(cases: &mut Vec<Case>) {
    let name = Op::INFO.name;
    let mut problem = ElementwiseProblem::<Op>::new(4099, SEED);
    problem.run_cpu(Backend::Rayon, None);
    assert_genuine(name, &problem.check(problem.output()), &problem);
    for (bug, corrupt) in [
        ("last element", last_element as fn(&mut [f32])),
        ("one workgroup's block", one_block),
    ] {
        let mut output = problem.output().to_vec();
        corrupt(&mut output);
        cases.push(Case {
            kernel: name,
            bug,
            verdict: problem.check(&output),
        });
    }
}

fn matmul(cases: &mut Vec<Case>) {
    // Not a multiple of the 16×16 tile: the last tile is partial.
    let n = 67;
    let mut problem = MatmulProblem::new(n, SEED);
    problem.run_cpu(Backend::Simd, None);
    assert_genuine("matmul", &problem.check(problem.output()), &problem);
    let mut output = problem.output().to_vec();
    last_element(&mut output);
    cases.push(Case {
        kernel: "matmul",
        bug: "last element",
        verdict: problem.check(&output),
    });
    // One 16×16 tile of C (rows 16..32, columns 32..48) left zero.
    let mut output = problem.output().to_vec();
    for row in 16..32 {
        output[row * n + 32..row * n + 48].fill(0.0);
    }
    cases.push(Case {
        kernel: "matmul",
        bug: "one 16×16 tile",
        verdict: problem.check(&output),
    });
}

fn stencil(cases: &mut Vec<Case>) {
    let n = 67;
    let mut problem = StencilProblem::new(n, stencil::DEFAULT_STEPS, SEED);
    problem.run_cpu(Backend::Rayon, None);
    assert_genuine("stencil", &problem.check(problem.output()), &problem);
    // Stale: a row (or the last point) never stepped keeps the initial field.
    let initial = stencil::initial_field(n, SEED);
    let mut output = problem.output().to_vec();
    output[n * n - 1] = initial[n * n - 1];
    cases.push(Case {
        kernel: "stencil",
        bug: "last point never stepped",
        verdict: problem.check(&output),
    });
    let mut output = problem.output().to_vec();
    let row = n / 2;
    output[row * n..(row + 1) * n].copy_from_slice(&initial[row * n..(row + 1) * n]);
    cases.push(Case {
        kernel: "stencil",
        bug: "one row never stepped",
        verdict: problem.check(&output),
    });
}

fn fractals(cases: &mut Vec<Case>) {
    for (kernel, set) in [("mandelbrot", Set::Mandelbrot), ("julia", Set::Julia)] {
        // At n ≥ 1000 the overall slack (0.1% of the pixels) holds a whole row: only the
        // per-row limit stands between a wrong row and a pass.
        let n = 1001;
        let mut problem = FractalProblem::new(Grid::new(set, n, fractal::DEFAULT_MAX_ITER));
        problem.run_cpu(Backend::Rayon, Some("rows"));
        let check = |output: &[u32]| fractal::check_counts(output, problem.reference(), n);
        assert_genuine(kernel, &check(problem.output()), &problem);
        // A row left zero (never written), and a row computed at the previous row's y (an
        // off-by-one in the row index).
        let row = n / 2;
        let mut output = problem.output().to_vec();
        output[row * n..(row + 1) * n].fill(0);
        cases.push(Case {
            kernel,
            bug: "one row not written",
            verdict: check(&output),
        });
        let mut output = problem.output().to_vec();
        output.copy_within((row - 1) * n..row * n, row * n);
        cases.push(Case {
            kernel,
            bug: "one row at the previous row's y",
            verdict: check(&output),
        });
        let mut output = problem.output().to_vec();
        let start = row * n + n / 3;
        output[start..start + WORKGROUP].fill(0);
        cases.push(Case {
            kernel,
            bug: "one workgroup's block",
            verdict: check(&output),
        });
        // One pixel: the stated slack admits scattered pixels at large n, none below 1000
        // pixels, so the off-by-one of the last pixel is shown at n = 31.
        let n = 31;
        let mut problem = FractalProblem::new(Grid::new(set, n, fractal::DEFAULT_MAX_ITER));
        problem.run_cpu(Backend::Scalar, None);
        let mut output = problem.output().to_vec();
        *output.last_mut().unwrap() += 1;
        cases.push(Case {
            kernel,
            bug: "last pixel one iteration off",
            verdict: fractal::check_counts(&output, problem.reference(), n),
        });
    }
}

fn nbody(cases: &mut Vec<Case>) {
    let n = 101;
    let mut problem = NBodyProblem::new(n, SEED);
    problem.run_cpu(Backend::Simd, None);
    assert_genuine("nbody", &problem.check(problem.output()), &problem);
    // Stale: one body never stepped keeps its old position and velocity. The output holds
    // (x, y, z, m) per body, then (vx, vy, vz, 0) per body.
    let body = n / 2;
    let bodies = problem.bodies();
    let old_position = [
        bodies.x[body],
        bodies.y[body],
        bodies.z[body],
        bodies.m[body],
    ];
    let old_velocity = [bodies.vx[body], bodies.vy[body], bodies.vz[body], 0.0];
    let mut output = problem.output().to_vec();
    output[4 * body..4 * body + 4].copy_from_slice(&old_position);
    output[4 * (n + body)..4 * (n + body) + 4].copy_from_slice(&old_velocity);
    cases.push(Case {
        kernel: "nbody",
        bug: "one body never stepped",
        verdict: problem.check(&output),
    });
    let mut output = problem.output().to_vec();
    last_element(&mut output[..8 * n - 1]);
    cases.push(Case {
        kernel: "nbody",
        bug: "last body's last velocity component",
        verdict: problem.check(&output),
    });
}

fn pi(cases: &mut Vec<Case>) {
    let n = 1 << 20;
    let mut problem = PiProblem::new(n, SEED);
    problem.run_cpu(Backend::Rayon, None);
    assert_genuine("pi", &problem.check(problem.count()), &problem);
    // One lost hit (a race on the counter): far inside the 6σ of π's estimate.
    cases.push(Case {
        kernel: "pi",
        bug: "one hit lost",
        verdict: problem.check(problem.count() - 1),
    });
    // One workgroup's hits lost: the samples are counter-based, so the first 256 samples of
    // the same seed are a problem of their own.
    let first_block = PiProblem::new(WORKGROUP as u64, SEED).reference();
    cases.push(Case {
        kernel: "pi",
        bug: "one workgroup's hits lost",
        verdict: problem.check(problem.count() - first_block),
    });
}

fn histogram(cases: &mut Vec<Case>) {
    let mut problem = HistogramProblem::new(100_003, SEED);
    problem.run_cpu(Backend::Rayon, None);
    assert_genuine("histogram", &problem.check(problem.counts()), &problem);
    let mut counts = *problem.counts();
    counts[7] -= 1;
    cases.push(Case {
        kernel: "histogram",
        bug: "one count lost",
        verdict: problem.check(&counts),
    });
    // A byte counted in the neighbouring bin: the total stays right.
    let mut counts = *problem.counts();
    counts[7] -= 1;
    counts[8] += 1;
    cases.push(Case {
        kernel: "histogram",
        bug: "one byte in the wrong bin",
        verdict: problem.check(&counts),
    });
}

/// Σ of `term(i)` over the elements the first workgroup of a grid-stride pass over `n`
/// elements handles ([`PARTIALS`] workgroups of [`WORKGROUP`]): one partial.
fn first_partial(n: usize, term: impl Fn(usize) -> f64) -> f64 {
    let stride = PARTIALS * WORKGROUP;
    (0..n).filter(|i| i % stride < WORKGROUP).map(term).sum()
}

fn reduce(cases: &mut Vec<Case>) {
    let mut problem = ReduceProblem::new(LARGE, SEED);
    let partial = first_partial(LARGE, |i| problem.inputs()[i] as f64);
    for (backend, strategy) in [
        (Backend::Scalar, Strategy::Pairwise),
        (Backend::Simd, Strategy::Accumulators),
        (Backend::Rayon, Strategy::ChunkAccumulators),
    ] {
        problem.run_cpu(backend, Some(strategy.name()));
        let result = problem.result();
        assert_genuine("reduce", &problem.check(strategy, result), &problem);
        cases.push(Case {
            kernel: "reduce",
            bug: "one partial dropped",
            verdict: problem.check(strategy, (result as f64 - partial) as f32),
        });
    }
}

/// Dot at [`LARGE`] and one workgroup's partial of it; asserts that the previous bound,
/// 8·√n·2^-24·Σ|a·b|, would have let the partial go missing (so the size is one that shows
/// the depth-based bound at work).
fn dot_problem() -> (DotProblem, f64) {
    let problem = DotProblem::new(LARGE, SEED);
    let (a, b) = (uniform_f32(LARGE, SEED, 0), uniform_f32(LARGE, SEED, 1));
    let product = |i: usize| a[i] as f64 * b[i] as f64;
    let partial = first_partial(LARGE, product);
    let sum_abs: f64 = (0..LARGE).map(product).sum();
    let previous = 8.0 * (LARGE as f64).sqrt() * (-24f64).exp2() * sum_abs;
    assert!(partial < previous, "{partial} ≥ {previous}");
    (problem, partial)
}

fn dot(cases: &mut Vec<Case>) {
    let (mut problem, partial) = dot_problem();
    for backend in [Backend::Scalar, Backend::Simd, Backend::Rayon] {
        problem.run_cpu(backend, None);
        let result = problem.result();
        assert_genuine("dot", &problem.check(result), &problem);
        cases.push(Case {
            kernel: "dot",
            bug: "one partial dropped",
            verdict: problem.check((result as f64 - partial) as f32),
        });
    }
}

#[test]
fn every_kernel_rejects_the_output_of_a_real_bug() {
    let mut cases = Vec::new();
    elementwise::<Copy>(&mut cases);
    elementwise::<Scale>(&mut cases);
    elementwise::<Add>(&mut cases);
    elementwise::<Triad>(&mut cases);
    dot(&mut cases);
    fractals(&mut cases);
    matmul(&mut cases);
    stencil(&mut cases);
    nbody(&mut cases);
    pi(&mut cases);
    histogram(&mut cases);
    reduce(&mut cases);
    let passed: Vec<String> = cases
        .iter()
        .filter(|case| case.verdict.passed)
        .map(|case| format!("{}: {} passed: {:?}", case.kernel, case.bug, case.verdict))
        .collect();
    assert!(passed.is_empty(), "{}", passed.join("\n"));
    // Every registered kernel has at least one case.
    for kernel in hpclab::kernels::all() {
        let name = kernel.info().name;
        assert!(cases.iter().any(|c| c.kernel == name), "{name} has no case");
    }
}

#[test]
fn dot_on_the_gpu_verifies_and_rejects_a_dropped_partial() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let (mut problem, partial) = dot_problem();
    // vec4's workgroups each add 4× as many products: its real partials are 4× this one, so
    // rejecting this one is the stricter test.
    for variant in [None, Some(&VEC4)] {
        problem
            .gpu_run(&context, variant)
            .and_then(|mut run| run.sample())
            .unwrap();
        let result = problem.result();
        assert_genuine("dot on the GPU", &problem.check(result), &problem);
        let dropped = problem.check((result as f64 - partial) as f32);
        assert!(!dropped.passed, "{variant:?}: {dropped:?}");
    }
}

#[test]
fn reduce_on_the_gpu_rejects_a_dropped_partial() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let mut problem = ReduceProblem::new(LARGE, SEED);
    let partial = first_partial(LARGE, |i| problem.inputs()[i] as f64);
    for strategy in [Strategy::Tree, Strategy::Atomics] {
        problem
            .gpu_run(&context, Some(strategy.variant()))
            .and_then(|mut run| run.sample())
            .unwrap();
        let result = problem.result();
        assert_genuine(
            "reduce on the GPU",
            &problem.check(strategy, result),
            &problem,
        );
        let dropped = problem.check(strategy, (result as f64 - partial) as f32);
        assert!(!dropped.passed, "{}: {dropped:?}", strategy.name());
    }
}

#[test]
fn a_device_output_is_poisoned_before_every_sample() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    // A run whose compute pass writes nothing, over a device output that still holds an
    // earlier sample's (right) values: the download must bring back the poison, not them.
    let earlier = [7u8; 4 * 1031];
    for (byte, name) in [(0xFF, "NaN"), (0, "zero")] {
        let mut setup = Setup::new(&context, "poison test");
        let output = setup
            .output("poison test output", earlier.len() as u64)
            .unwrap();
        setup.poison_each_sample(&output, byte);
        let runner = setup.finish().unwrap();
        context
            .write_and_wait(&output.buffer, &earlier, "writing an earlier sample")
            .unwrap();
        let mut host = vec![1u8; earlier.len()];
        runner.sample(&[], &mut [&mut host]).unwrap();
        assert!(host.iter().all(|&b| b == byte), "{name}: {:?}", &host[..8]);
    }
}
