//! Reduce: every strategy on every backend within its stated bound of the exact sum, at odd
//! sizes and over many small bindings; a result missing elements fails; a cleared result fails;
//! integer data is exact everywhere; the lesson (sequential is the least accurate) holds.

mod common;

use hpclab::Backend;
use hpclab::gpu::{GpuContext, GpuRequest};
use hpclab::kernels::Problem;
use hpclab::kernels::reduce::{AtomicsPath, ReduceProblem, Strategy, cpu};

/// n = 1; a small odd size; one past 65 535 workgroups of 256 invocations.
const SIZES: [usize; 3] = [1, 1000, 65_535 * 256 + 17];

const CPU: [(Backend, &str); 4] = [
    (Backend::Scalar, "sequential"),
    (Backend::Scalar, "pairwise"),
    (Backend::Simd, "accumulators"),
    (Backend::Rayon, "accumulators"),
];

fn gpu_variants(context: &GpuContext) -> Vec<&'static str> {
    if context.subgroups {
        vec!["tree", "subgroup", "atomics"]
    } else {
        eprintln!("*** this adapter lacks SUBGROUP: the subgroup variant is not checked ***");
        vec!["tree", "atomics"]
    }
}

/// A result with 1/256 of the elements left out must fail the strategy's bound; at n ≤ 1000,
/// where every bound is below one element, so must a result missing only its largest element.
/// (At large n a correct sum's rounding error may exceed a few elements: no honest bound can
/// tell those apart, which is why the small sizes are tested too.)
fn assert_missing_elements_fail(problem: &ReduceProblem, strategy: Strategy) {
    let x = problem.inputs();
    if x.len() <= 1000 {
        let largest = x.iter().fold(0.0f32, |m, &v| m.max(v)) as f64;
        let missing_one = (problem.exact() - largest) as f32;
        assert!(
            !problem.check(strategy, missing_one).passed,
            "{strategy:?} n={}: a sum missing its largest element ({largest}) must fail",
            x.len()
        );
    }
    if x.len() >= 256 {
        let tail: f64 = x[x.len() - x.len() / 256..].iter().map(|&v| v as f64).sum();
        let missing_chunk = (problem.exact() - tail) as f32;
        assert!(
            !problem.check(strategy, missing_chunk).passed,
            "{strategy:?} n={}: a sum missing 1/256 of the elements must fail",
            x.len()
        );
    }
}

#[test]
fn every_cpu_strategy_is_within_its_bound_and_a_wrong_sum_is_not() {
    for n in SIZES {
        let mut problem = ReduceProblem::new(n, 7);
        for (backend, variant) in CPU {
            let case = format!("n={n}");
            let verification =
                common::assert_cpu_run_verifies(&mut problem, backend, Some(variant), &case);
            assert!(verification.relative_error.is_some());
            let strategy = Strategy::of(backend, Some(variant)).unwrap();
            assert_missing_elements_fail(&problem, strategy);
        }
    }
}

#[test]
fn every_gpu_strategy_is_within_its_bound_and_a_wrong_sum_is_not() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    for n in SIZES {
        let mut problem = ReduceProblem::new(n, 11);
        for variant in gpu_variants(&context) {
            common::assert_gpu_run_verifies(&mut problem, &context, variant, &format!("n={n}"));
            let strategy = Strategy::of(Backend::Gpu, Some(variant)).unwrap();
            assert_missing_elements_fail(&problem, strategy);
        }
    }
}

#[test]
fn gpu_chunking_over_many_small_bindings_stays_within_the_bound() {
    // 4 KiB bindings: 1024 f32 per chunk, so 100 003 elements take 98 chunks.
    let Some(context) = common::gpu_with_bindings(4096) else {
        return;
    };
    let mut problem = ReduceProblem::new(100_003, 5);
    for variant in gpu_variants(&context) {
        common::assert_gpu_run_verifies(&mut problem, &context, variant, "over small bindings");
        let strategy = Strategy::of(Backend::Gpu, Some(variant)).unwrap();
        assert_missing_elements_fail(&problem, strategy);
    }
}

#[test]
fn repeated_gpu_atomics_samples_start_from_zero() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let mut problem = ReduceProblem::new(50_001, 3);
    common::gpu_samples(&mut problem, &context, Some("atomics"), 3);
    assert!(
        problem.verify().passed,
        "the accumulator must not carry over"
    );
}

/// The atomics variant's two ways of adding the partials, each run where this adapter allows:
/// the native f32 atomicAdd needs SHADER_FLOAT32_ATOMIC; the compare-and-swap loop runs
/// anywhere, so a device that has the feature is told not to use it.
#[test]
fn both_atomics_paths_stay_within_the_bound_and_say_which_ran() {
    let Some(mut context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let mut paths = vec![AtomicsPath::CompareAndSwap];
    match context.float32_atomics {
        true => paths.push(AtomicsPath::Native),
        false => eprintln!(
            "*** {} lacks SHADER_FLOAT32_ATOMIC: the native atomicAdd path is not run ***",
            context.adapter.name
        ),
    }
    assert_eq!(context.float32_atomics, context.adapter.float32_atomics);
    let native = context.float32_atomics;
    for path in paths {
        context.float32_atomics = path == AtomicsPath::Native;
        assert_eq!(AtomicsPath::on(&context), path);
        for n in [1, 1000, 65_535 * 256 + 17] {
            let mut problem = ReduceProblem::new(n, 13);
            let case = format!("{path:?} n={n}");
            let verification =
                common::assert_gpu_run_verifies(&mut problem, &context, "atomics", &case);
            assert_eq!(problem.atomics_path(), Some(path), "{case}");
            assert_eq!(verification.note.as_deref(), Some(path.note()), "{case}");
            assert_missing_elements_fail(&problem, Strategy::Atomics);
            // Three samples: the accumulator starts from zero each time.
            common::gpu_samples(&mut problem, &context, Some("atomics"), 3);
            common::assert_verifies(&problem, &format!("{case}, third sample"));
        }
    }
    context.float32_atomics = native;
    // Only atomics says how it added; the tree has one way.
    let mut problem = ReduceProblem::new(1000, 13);
    let tree = common::assert_gpu_run_verifies(&mut problem, &context, "tree", "n=1000");
    assert_eq!(tree.note, None);
}

#[test]
fn the_run_says_which_atomics_path_ran() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let args = [
        "run",
        "reduce",
        "-b",
        "gpu",
        "--variant",
        "atomics",
        "-n",
        "4097",
        "-r",
        "1",
        "--warmup",
        "0",
    ];
    let want = AtomicsPath::on(&context).note();
    let table = String::from_utf8(common::stdout_of(&args, &[])).unwrap();
    assert!(
        table.contains(want),
        "want '{want}' under the table:\n{table}"
    );
    let json = common::stdout_of(&[&args[..], &["-f", "json"]].concat(), &[]);
    let document: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(document["records"][0]["verification"]["note"], want);
    assert_eq!(
        document["environment"]["adapter"]["float32_atomics"],
        context.adapter.float32_atomics
    );
}

#[test]
fn integer_data_is_exact_with_every_cpu_strategy() {
    // Small integers summed below 2^24 are exact in f32 in any order: a missing or repeated
    // element shows at once.
    for n in [1, 15, 16, 17, 127, 128, 129, 1000, 100_003] {
        let x: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
        let exact = (0..n).map(|i| i % 7).sum::<usize>() as f32;
        assert_eq!(cpu::sequential(&x), exact, "n={n}");
        assert_eq!(cpu::pairwise(&x), exact, "n={n}");
        assert_eq!(cpu::simd(&x), exact, "n={n}");
        assert_eq!(cpu::rayon(&x), exact, "n={n}");
    }
}

#[test]
fn the_sequential_sum_is_the_least_accurate_and_stagnates_at_2_24() {
    let n = 65_535 * 256 + 17;
    let mut problem = ReduceProblem::new(n, 7);
    let mut errors = Vec::new();
    for (backend, variant) in CPU {
        problem.run_cpu(backend, Some(variant));
        errors.push(problem.verify().relative_error.unwrap());
    }
    assert!(
        errors[1..].iter().all(|&e| e < errors[0]) && errors[1] * 10.0 < errors[0],
        "sequential should be the worst, 10× worse than pairwise: {errors:?}"
    );
    // 2^25 ones: the accumulator reaches 2^24 and 2^24 + 1 rounds back to 2^24.
    let ones = vec![1.0f32; 1 << 25];
    assert_eq!(cpu::sequential(&ones), 16_777_216.0);
    assert_eq!(cpu::pairwise(&ones), 33_554_432.0);
}

#[test]
fn variants_are_listed_per_backend_and_subgroup_is_opt_in() {
    let kernel = hpclab::kernels::find("reduce").unwrap();
    let names = |backend| {
        kernel
            .variants(backend)
            .iter()
            .map(|v| (v.name, v.default))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(Backend::Scalar),
        [("sequential", true), ("pairwise", true)]
    );
    assert_eq!(names(Backend::Simd), [("accumulators", true)]);
    assert_eq!(names(Backend::Rayon), [("accumulators", true)]);
    assert_eq!(
        names(Backend::Gpu),
        [("tree", true), ("subgroup", false), ("atomics", true)]
    );
}
