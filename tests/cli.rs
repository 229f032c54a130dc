//! The command line as a user runs it: every subcommand, every format, and the mistakes a user
//! makes, each with one line on stderr and exit code 2.

mod common;

use common::{hpclab, stdout_of};
use predicates::prelude::*;
use serde_json::Value;

fn gpu_present() -> bool {
    common::gpu(Default::default()).is_some()
}

/// Runs a command that must fail as a user's mistake: exit 2, one line on stderr, no stdout.
fn assert_usage_error(args: &[&str], mentions: &str) {
    let output = hpclab().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: stderr {stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: want one line on stderr, got {stderr}"
    );
    assert!(
        lines[0].contains(mentions),
        "{args:?}: '{}' does not mention '{mentions}'",
        lines[0]
    );
    assert!(
        output.stdout.is_empty(),
        "{args:?}: no partial output on stdout"
    );
}

#[test]
fn devices_describes_cpu_and_adapters() {
    hpclab()
        .arg("devices")
        .assert()
        .success()
        .stdout(predicate::str::contains("CPU:").and(predicate::str::contains("simd")));
    let output = hpclab()
        .args(["devices", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["cpu"]["logical_cores"].as_u64().unwrap() >= 1);
    assert!(json["cpu"]["f32_lanes"].as_u64().unwrap() >= 1);
    let adapters = json["adapters"].as_array().unwrap();
    if gpu_present() {
        let first = &adapters[0];
        for key in [
            "name",
            "device_type",
            "api",
            "driver",
            "timestamps",
            "max_buffer_bytes",
            "max_storage_binding_bytes",
            "max_workgroups_per_dimension",
            "max_workgroup_storage_bytes",
        ] {
            assert!(!first[key].is_null(), "adapter key {key} missing");
        }
    }
}

#[test]
fn list_shows_every_kernel_with_its_cost_model() {
    let assert = hpclab().arg("list").assert().success();
    let text = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    for name in ["copy", "scale", "add", "triad", "dot"] {
        assert!(text.contains(name), "list lacks {name}");
    }
    assert!(text.contains("12·n"), "triad's cost model is shown");
    let output = hpclab()
        .args(["list", "--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let triad = json
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "triad")
        .unwrap();
    assert_eq!(triad["cost_model"]["device_bytes"], "12·n");
    assert!(triad["size_meaning"].as_str().unwrap().contains("elements"));
}

#[test]
fn run_prints_one_row_per_backend() {
    let assert = hpclab()
        .args([
            "run", "triad", "--size", "10001", "--runs", "2", "--warmup", "1",
        ])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    for backend in ["scalar", "simd", "rayon", "gpu"] {
        assert!(text.contains(backend), "no {backend} row in\n{text}");
    }
    assert!(text.contains("ok"));
    if gpu_present() {
        assert!(
            text.contains("GPU setup") && text.contains("shader compilation"),
            "setup line missing:\n{text}"
        );
        assert!(
            text.contains("(ts)") || text.contains("(wall)"),
            "GPU compute timer not named:\n{text}"
        );
    }
}

#[test]
fn run_json_follows_the_documented_record() {
    let stdout = stdout_of(
        &[
            "run", "dot", "--size", "5000", "--runs", "3", "--warmup", "1", "--format", "json",
        ],
        &[],
    );
    let json: Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(json["hpclab_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        json["command"]
            .as_str()
            .unwrap()
            .starts_with("hpclab run dot")
    );
    let environment = &json["environment"];
    for key in ["cpu", "threads", "simd"] {
        assert!(!environment[key].is_null(), "environment.{key}");
    }
    // The adapter is described when the GPU ran, and null when it did not.
    assert_eq!(
        environment["adapter"]["name"].is_string(),
        gpu_present(),
        "environment.adapter: {}",
        environment["adapter"]
    );
    let records = json["records"].as_array().unwrap();
    assert_eq!(records.len(), if gpu_present() { 4 } else { 3 });
    for record in records {
        assert_eq!(record["kernel"], "dot");
        assert_eq!(record["size"], 5000);
        assert_eq!(record["verified"], true);
        let compute = &record["phases"]["compute"];
        for key in ["median_s", "mean_s", "stddev_s", "min_s", "max_s"] {
            assert!(compute[key].as_f64().unwrap() >= 0.0, "{key}");
        }
        assert_eq!(
            compute["samples_s"].as_array().unwrap().len(),
            3,
            "warm-up samples are not kept"
        );
        assert!(record["phases"]["total"]["median_s"].as_f64().unwrap() > 0.0);
        assert!(record["bandwidth_gbs"].as_f64().unwrap() > 0.0);
        assert!(record["speedup_vs_scalar"].as_f64().unwrap() > 0.0);
        // dot does 0.25 flop per byte: memory sets its pace, so no share of the FMA ceiling.
        assert!(record.get("ceiling").is_none(), "{record}");
        let is_gpu = record["backend"] == "gpu";
        assert_eq!(record["phases"].get("upload").is_some(), is_gpu);
        assert_eq!(record.get("transfer_share").is_some(), is_gpu);
        if is_gpu {
            let verdict = &record["verdict"];
            assert!(
                [
                    "transfer-bound",
                    "launch-bound",
                    "device-memory-bound",
                    "device-compute-bound"
                ]
                .contains(&verdict["bound"].as_str().unwrap()),
                "{verdict}"
            );
            assert!(verdict["predicted_total_s"].as_f64().unwrap() > 0.0);
            assert!(verdict["reason"].as_str().unwrap().contains("ms"));
            assert!(
                json["machine_model"]["device_bandwidth_gbs"]
                    .as_f64()
                    .unwrap()
                    > 0.0
            );
            let share = record["transfer_share"].as_f64().unwrap();
            assert!(share > 0.0 && share < 1.0);
            assert!(["timestamp", "wall"].contains(&record["compute_timer"].as_str().unwrap()));
        } else {
            assert_eq!(record["compute_timer"], "wall");
        }
    }
}

#[test]
fn run_csv_and_markdown() {
    let copy = |backend, format| {
        let mut command = hpclab();
        command.args([
            "run",
            "copy",
            "--size",
            "3000",
            "--runs",
            "2",
            "--backend",
            backend,
            "--format",
            format,
        ]);
        command
    };
    let output = copy("scalar,simd", "csv").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert!(headers.iter().any(|h| h == "compute_median_s"));
    let rows: Vec<_> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][2], "scalar");
    assert_eq!(&rows[1][2], "simd");

    copy("rayon", "md")
        .assert()
        .success()
        .stdout(predicate::str::contains("| backend |").and(predicate::str::contains("---:")));
}

#[test]
fn run_writes_the_output_file_and_still_prints_the_table() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("triad.json");
    hpclab()
        .args([
            "run",
            "triad",
            "--size",
            "2000",
            "--runs",
            "2",
            "--backend",
            "simd",
            "--format",
            "json",
            "--output",
        ])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("simd"));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["records"][0]["backend"], "simd");
    assert_eq!(
        std::fs::read_dir(folder.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn threads_flag_sets_the_rayon_pool() {
    let output = hpclab()
        .args([
            "run",
            "add",
            "--size",
            "4000",
            "--runs",
            "1",
            "--backend",
            "rayon",
            "--threads",
            "3",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["environment"]["threads"], 3);
    assert_eq!(json["records"][0]["threads"], 3);
}

#[test]
fn user_mistakes_get_one_line_and_exit_code_2() {
    assert_usage_error(&["run", "nosuchkernel"], "unknown kernel");
    assert_usage_error(&["run", "triad", "--backend", "fpga"], "unknown backend");
    assert_usage_error(&["run", "triad", "--size", "12Q"], "12Q");
    assert_usage_error(&["run", "triad", "--size", "-5"], "-5");
    assert_usage_error(&["run", "triad", "--size", "0"], "0");
    assert_usage_error(&["run", "triad", "--runs", "0"], "0");
    assert_usage_error(&["run", "triad", "--threads", "0"], "0");
    assert_usage_error(&["run", "triad", "--format", "xml"], "xml");
    assert_usage_error(
        &["run", "triad", "--size", "64Gi", "--backend", "scalar"],
        "memory",
    );
    assert_usage_error(
        &["run", "triad", "--output", "/nonexistent/folder/out.json"],
        "does not exist",
    );
    assert_usage_error(&["frobnicate"], "frobnicate");
    assert_usage_error(&["run"], "<KERNEL>");
    assert_usage_error(
        &["run", "triad", "--max-iter", "50"],
        "--max-iter does not apply",
    );
    assert_usage_error(
        &["run", "triad", "--variant", "tiled"],
        "triad has no variant 'tiled'; it has numba: serial, parallel",
    );
    assert_usage_error(
        &["run", "triad", "--backend", "library"],
        "no 'library' backend",
    );
}

#[test]
fn adapter_mistakes_and_oversized_gpu_buffers_are_usage_errors() {
    if !gpu_present() {
        return;
    }
    assert_usage_error(
        &[
            "run",
            "triad",
            "--size",
            "1000",
            "--adapter",
            "no-such-adapter-anywhere",
        ],
        "matches no adapter",
    );
    assert_usage_error(
        &["run", "triad", "--size", "1000", "--adapter", "99"],
        "no adapter with that index",
    );
    // 600 Mi f32 = 2.5 GB per array: above the largest buffer of lavapipe (2 GiB) and of most GPUs.
    let output = hpclab()
        .args(["run", "copy", "--size", "600Mi", "--backend", "gpu"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("buffer") || stderr.contains("memory"),
        "{stderr}"
    );
}

#[test]
fn a_failed_run_leaves_no_output_file() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("out.json");
    hpclab()
        .args(["run", "triad", "--size", "12Q", "--output"])
        .arg(&path)
        .assert()
        .code(2);
    hpclab()
        .args(["run", "nosuch", "--output"])
        .arg(&path)
        .assert()
        .code(2);
    assert!(!path.exists());
}

#[test]
fn without_any_adapter_the_cpu_backends_still_run() {
    // Point the Vulkan loader and EGL at nothing: no adapter at all.
    let without_adapter = |args: &[&str]| {
        hpclab()
            .args(args)
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .env("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent/egl.json")
            .output()
            .unwrap()
    };
    let output = without_adapter(&["run", "triad", "--size", "1000", "--runs", "1"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("rayon") && text.contains("not run"), "{text}");
    assert!(
        text.contains("mesa-vulkan-drivers"),
        "the GPU row says how to get an adapter:\n{text}"
    );
    // Asking for the GPU explicitly is then a usage error.
    let output = without_adapter(&["run", "triad", "--size", "1000", "--backend", "gpu"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn help_explains_the_flags() {
    hpclab().args(["run", "--help"]).assert().success().stdout(
        predicate::str::contains("--size")
            .and(predicate::str::contains("Ki"))
            .and(predicate::str::contains("--backend")),
    );
}

#[test]
fn compare_shows_ratios_to_a_saved_run_and_refuses_mismatches() {
    let folder = tempfile::tempdir().unwrap();
    let baseline = folder.path().join("base.json");
    let args = [
        "run",
        "scale",
        "--size",
        "5000",
        "--runs",
        "2",
        "--backend",
        "scalar,simd",
    ];
    hpclab()
        .args(args)
        .args(["--format", "json", "--output"])
        .arg(&baseline)
        .assert()
        .success();
    let output = hpclab()
        .args(args)
        .args(["--format", "json", "--compare"])
        .arg(&baseline)
        .output()
        .unwrap();
    assert!(output.status.success());
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let comparison = json["comparison"].as_array().unwrap();
    assert_eq!(comparison.len(), 2);
    for c in comparison {
        let ratio = c["compute_speedup"].as_f64().unwrap();
        let expected = c["baseline_compute_s"].as_f64().unwrap() / c["compute_s"].as_f64().unwrap();
        assert!((ratio - expected).abs() <= expected * 1e-12);
    }
    hpclab()
        .args(args)
        .arg("--compare")
        .arg(&baseline)
        .assert()
        .success()
        .stdout(predicate::str::contains("vs baseline"));
    // Another kernel, another size, an unreadable file: clear usage errors.
    let base = baseline.to_str().unwrap();
    assert_usage_error(
        &["run", "add", "--size", "5000", "--compare", base],
        "not add",
    );
    assert_usage_error(
        &["run", "scale", "--size", "6000", "--compare", base],
        "none of",
    );
    assert_usage_error(
        &["run", "scale", "--compare", "/nonexistent/base.json"],
        "cannot read",
    );
    let garbage = folder.path().join("garbage.json");
    std::fs::write(&garbage, "not json").unwrap();
    assert_usage_error(
        &["run", "scale", "--compare", garbage.to_str().unwrap()],
        "not JSON",
    );
}

/// Without the `mpi` feature the command exists and says how to get it.
#[cfg(not(feature = "mpi"))]
#[test]
fn mpi_in_a_build_without_the_feature_says_how_to_build_it() {
    for experiment in [
        "pingpong",
        "collectives",
        "stencil",
        "startup",
        "spawn",
        "farm",
    ] {
        assert_usage_error(&["mpi", experiment], "--features mpi");
    }
}

#[test]
fn list_and_devices_take_every_format_and_output_like_the_other_subcommands() {
    let folder = tempfile::tempdir().unwrap();
    // CSV: the table's rows, one per kernel, after a header.
    let output = hpclab().args(["list", "-f", "csv"]).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap().split(',').next(), Some("kernel"));
    assert!(lines.any(|line| line.starts_with("triad,")), "{text}");
    // Markdown: a table with the catalogue in it.
    let output = hpclab().args(["list", "--format", "md"]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        text.contains("| kernel |") && text.contains("| triad |"),
        "{text}"
    );
    // -o writes the file (JSON parses back) and still shows the table.
    let path = folder.path().join("devices.json");
    let output = hpclab()
        .args(["devices", "-f", "json", "-o"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("CPU:"));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(json["cpu"]["logical_cores"].as_u64().unwrap() >= 1);
    // A folder that does not exist is refused like anywhere else.
    let output = hpclab()
        .args(["list", "-o"])
        .arg(folder.path().join("missing/list.txt"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not exist"));
}

/// The widest line of a command's stdout, in characters, with `COLUMNS` set or not.
fn widest_line(args: &[&str], columns: Option<&str>) -> usize {
    let mut command = hpclab();
    command.args(args).env_remove("COLUMNS");
    if let Some(columns) = columns {
        command.env("COLUMNS", columns);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{args:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        // Columns on screen: combining marks (the hat of π̂) take none.
        .map(|line| {
            line.chars()
                .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn tables_and_notes_fit_the_terminal_width() {
    let cases: [&[&str]; 5] = [
        &["list"],
        &["devices"],
        &[
            "run", "reduce", "--size", "4Ki", "--runs", "1", "--warmup", "0",
        ],
        &[
            "sweep", "triad", "--sizes", "1Ki,2Ki", "--runs", "1", "--warmup", "0",
        ],
        // Seven implementations: no column can go, so the table is split into parts.
        &[
            "sweep",
            "reduce",
            "--variant",
            "all",
            "--sizes",
            "1Ki,2Ki",
            "--runs",
            "1",
            "--warmup",
            "0",
        ],
    ];
    for args in cases {
        // Unfitted (a pipe, a file), the control: these documents are wider than 100 columns.
        assert!(widest_line(args, None) > 100, "{args:?} is narrow anyway");
        for columns in ["80", "100"] {
            let widest = widest_line(args, Some(columns));
            assert!(
                widest <= columns.parse().unwrap(),
                "{args:?} at COLUMNS={columns}: a line of {widest} characters"
            );
        }
    }
    // What a narrow terminal leaves out is said.
    let output = hpclab()
        .args([
            "run", "reduce", "--size", "4Ki", "--runs", "1", "--warmup", "0",
        ])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("left out to fit 80 columns"), "{stdout}");
}

#[test]
fn the_output_format_follows_the_extension_and_one_run_exports_several() {
    let folder = tempfile::tempdir().unwrap();
    let at = |name: &str| folder.path().join(name);
    let quick = [
        "run", "triad", "--size", "1Ki", "-b", "scalar", "--runs", "1", "--warmup", "0",
    ];
    let output = hpclab()
        .args(quick)
        .arg("-o")
        .arg(at("r.json"))
        .arg("--export-md")
        .arg(at("r.md"))
        .arg("--export-csv")
        .arg(at("r.csv"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(at("r.json")).unwrap()).unwrap();
    let md = std::fs::read_to_string(at("r.md")).unwrap();
    let csv = std::fs::read_to_string(at("r.csv")).unwrap();
    assert_eq!(json["records"][0]["backend"], "scalar");
    assert!(
        md.starts_with("### triad") && md.contains("| backend |"),
        "{md}"
    );
    assert!(csv.starts_with("kernel,"), "{csv}");
    // One measurement: the JSON's median is the CSV's.
    let median = json["records"][0]["phases"]["compute"]["median_s"]
        .as_f64()
        .unwrap();
    assert!(csv.contains(&median.to_string()), "{median} not in {csv}");
    // An extension that names no format, or one that disagrees with --format: refused first.
    for (extra, mentions) in [
        (vec!["-o", "r.xyz"], "names no format"),
        (vec!["-f", "csv", "-o", "r2.json"], "make them agree"),
        (
            vec!["--export-json", "r3.json", "-o", "r3.json"],
            "the same file",
        ),
    ] {
        let output = hpclab()
            .current_dir(folder.path())
            .args(quick)
            .args(&extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(mentions), "{extra:?}: {stderr}");
    }
    assert!(!at("r.xyz").exists() && !at("r2.json").exists() && !at("r3.json").exists());
}
