//! The experiments as a user runs them, at small sizes on whatever adapter there is (lavapipe in
//! CI): each prints its table, its JSON has the promised keys, and its plot is valid SVG with one
//! series per path.

mod common;

use common::{hpclab, stdout_of};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn json_of(args: &[&str]) -> Value {
    let args = [args, &["--format", "json"]].concat();
    serde_json::from_slice(&stdout_of(&args, &[])).unwrap()
}

/// The JSON of `args` with `--plot` in a temporary folder, and the plot's path (valid while the
/// folder lives).
fn json_and_plot(args: &[&str], envs: &[(&str, &str)]) -> (Value, tempfile::TempDir, PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let plot = folder.path().join("plot.svg");
    let args = [
        args,
        &["--format", "json", "--plot", plot.to_str().unwrap()],
    ]
    .concat();
    let json = serde_json::from_slice(&stdout_of(&args, envs)).unwrap();
    (json, folder, plot)
}

fn gpu_present() -> bool {
    common::gpu(Default::default()).is_some()
}

/// A figure's legend: its CPU series, then its GPU ones where there is a GPU.
fn legend<'a>(cpu: &[&'a str], gpu: &[&'a str], has_gpu: bool) -> Vec<&'a str> {
    let gpu = if has_gpu { gpu } else { &[] };
    [cpu, gpu].concat()
}

/// The text of every `<text>` element of an SVG, trimmed, with its x.
fn texts(svg: &str) -> Vec<(f64, &str)> {
    svg.split("<text")
        .skip(1)
        .filter_map(|element| {
            let (attributes, rest) = element.split_once('>')?;
            let x = attributes
                .split(" x=\"")
                .nth(1)?
                .split('"')
                .next()?
                .parse()
                .ok()?;
            Some((x, rest.split("</text>").next()?.trim()))
        })
        .collect()
}

/// Checks that the file is an SVG document whose legend (right of the data area) has every
/// entry of `legend`, and returns its texts.
fn assert_svg(path: &Path, legend: &[&str]) -> Vec<String> {
    let svg = std::fs::read_to_string(path).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "not an SVG document"
    );
    // A legend entry is a <text> element, not a match anywhere in the markup, and it lies
    // beside the data area, not over it.
    let texts = texts(&svg);
    let right_of_data = hpclab::report::plot::PLOT_WIDTH as f64;
    for name in legend {
        assert!(
            texts
                .iter()
                .any(|(x, text)| text.starts_with(name) && *x > right_of_data),
            "no legend entry (text right of x = {right_of_data}) starts with {name}: {texts:?}"
        );
    }
    texts
        .into_iter()
        .map(|(_, text)| text.to_string())
        .collect()
}

/// Asserts that some text is one of `labels`, e.g. a tick with its unit.
fn assert_any(texts: &[String], labels: &[&str], what: &str) {
    assert!(
        texts.iter().any(|t| labels.contains(&t.as_str())),
        "no {what} among {texts:?}"
    );
}

#[test]
fn transfer_measures_every_path_and_fits_latency_and_bandwidth() {
    if !gpu_present() {
        return;
    }
    let (json, _folder, plot) = json_and_plot(
        &["transfer", "--min", "4Ki", "--max", "4Mi", "--runs", "2"],
        &[],
    );
    assert_eq!(json["verified"], true);
    let paths = [
        "write_buffer",
        "staging",
        "write_buffer_with",
        "pipelined",
        "readback",
    ];
    // Scripts read the `path` values; each is listed once with what it does.
    let listed: Vec<&str> = json["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(!p["description"].as_str().unwrap().is_empty());
            p["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(listed, paths);
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 11 * 5, "11 sizes (4 KiB … 4 MiB) × 5 paths");
    for path in paths {
        assert_eq!(points.iter().filter(|p| p["path"] == path).count(), 11);
    }
    for point in points {
        assert!(point["bandwidth_gbs"].as_f64().unwrap() > 0.0);
        assert!(point["time"]["median_s"].as_f64().unwrap() > 0.0);
    }
    // A path whose times do not grow with size (noise on a shared machine) gets no fit rather
    // than a negative bandwidth; on any real adapter all five fit.
    let fits = json["fits"].as_array().unwrap();
    assert!(!fits.is_empty() && fits.len() <= 5);
    for fit in fits {
        assert!(fit["latency_s"].as_f64().unwrap() >= 0.0);
        assert!(fit["bandwidth_gbs"].as_f64().unwrap() > 0.0);
    }
    assert_svg(&plot, &paths);
}

#[test]
fn latency_reports_round_trip_and_batches() {
    if !gpu_present() {
        return;
    }
    let json = json_of(&[
        "latency",
        "--batches",
        "1,8",
        "--runs",
        "3",
        "--warmup",
        "1",
    ]);
    assert!(json["round_trip_s"].as_f64().unwrap() > 0.0);
    assert!(json["empty_submit"]["median_s"].as_f64().unwrap() > 0.0);
    let batches = json["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[1]["dispatches"], 8);
    let per = batches[1]["per_dispatch_s"].as_f64().unwrap();
    let total = batches[1]["time"]["median_s"].as_f64().unwrap();
    assert!((per * 8.0 - total).abs() <= total * 1e-9);
}

#[test]
fn experiment_mistakes_are_usage_errors() {
    hpclab()
        .args(["transfer", "--min", "1Mi", "--max", "4Ki"])
        .assert()
        .code(2);
    hpclab().args(["transfer", "--max", "12Q"]).assert().code(2);
    hpclab()
        .args(["latency", "--batches", "0"])
        .assert()
        .code(2);
    hpclab()
        .args(["latency", "--plot", "/nonexistent/folder/l.svg"])
        .assert()
        .code(2);
}

#[test]
fn sweep_names_the_break_even_and_plots_every_backend() {
    let (json, _folder, plot) = json_and_plot(
        &["sweep", "triad", "--sizes", "1Ki..16Ki", "--runs", "2"],
        &[],
    );
    assert_eq!(json["sizes"].as_array().unwrap().len(), 5);
    let has_gpu = gpu_present();
    let backends = if has_gpu { 4 } else { 3 };
    assert_eq!(json["records"].as_array().unwrap().len(), 5 * backends);
    let break_even = &json["break_even"];
    // A break-even is one of the sizes measured, or null when the GPU never keeps winning.
    let sizes: Vec<u64> = json["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    for key in ["end_to_end", "compute_only"] {
        let at = &break_even[key];
        assert!(
            at.is_null() || sizes.contains(&at.as_u64().unwrap()),
            "{key}: {at}"
        );
    }
    let summary = break_even["summary"].as_str().unwrap();
    if has_gpu {
        assert!(summary.contains("GPU compute alone"), "{summary}");
    } else {
        assert_eq!(summary, "no GPU records: no break-even");
    }
    // triad's GPU row is its default variant, f32.
    let gpu_series = ["gpu f32 (with transfers)", "gpu f32 (compute only)"];
    let texts = assert_svg(
        &plot,
        &legend(&["scalar", "simd", "rayon"], &gpu_series, has_gpu),
    );
    // Sizes on powers of two in binary units, times with their unit on each tick.
    assert_any(
        &texts,
        &["1Ki", "2Ki", "4Ki", "8Ki", "16Ki"],
        "binary size tick",
    );
    assert!(
        texts.iter().any(|t| ["ns", "µs", "ms"]
            .iter()
            .any(|unit| t.ends_with(&format!(" {unit}"))
                && t.starts_with(|c: char| c.is_ascii_digit()))),
        "no time tick with a unit: {texts:?}"
    );
    assert!(!texts.iter().any(|t| t.contains("e-")), "{texts:?}");
    // The second figure: GB/s against working-set bytes, beside the first.
    let bandwidth = plot.with_file_name("plot-bandwidth.svg");
    let texts = assert_svg(
        &bandwidth,
        &legend(&["scalar", "simd", "rayon"], &["gpu f32"], has_gpu),
    );
    assert_any(
        &texts,
        &["8 KiB", "16 KiB", "32 KiB", "64 KiB", "128 KiB"],
        "binary byte tick",
    );
    assert!(texts.iter().any(|t| t.contains("GB/s")), "{texts:?}");
}

#[test]
fn scaling_reports_speedups_amdahl_and_karp_flatt() {
    let (json, _folder, plot) = json_and_plot(
        &[
            "scaling",
            "add",
            "--size",
            "64Ki",
            "--max-threads",
            "2",
            "--runs",
            "2",
        ],
        &[],
    );
    let points = json["points"].as_array().unwrap();
    let threads: Vec<u64> = points
        .iter()
        .map(|p| p["threads"].as_u64().unwrap())
        .collect();
    assert_eq!(threads, vec![1, 2, 4], "1..N and 2N");
    assert_eq!(points[0]["speedup"].as_f64().unwrap(), 1.0);
    assert!(points[0].get("karp_flatt").is_none());
    assert!(points[1]["karp_flatt"].is_number());
    assert!(points[1]["karp_flatt_reliable"].is_boolean());
    // The fit is made only when the speed-ups can support it; otherwise the document says why
    // (a busy test machine often gives speed-ups below 1 or within noise at this size).
    match json["serial_fraction"].as_f64() {
        Some(serial) => {
            assert!((0.0..=1.0).contains(&serial));
            assert!(json.get("amdahl_refused").is_none());
            let texts = assert_svg(&plot, &["measured", "ideal", "Amdahl"]);
            let cores = format!("{} logical cores", json["cores"]);
            assert!(texts.contains(&cores), "no marker {cores}: {texts:?}");
        }
        None => {
            let why = json["amdahl_refused"]
                .as_str()
                .expect("a reason for no fit");
            assert!(why.starts_with("no Amdahl fit: "), "{why}");
            assert_svg(&plot, &["measured", "ideal"]);
        }
    }
}

#[test]
fn roofline_measures_ceilings_and_places_the_catalogue() {
    let (json, _folder, plot) = json_and_plot(
        &["roofline", "--size", "64Ki", "--runs", "1", "--warmup", "0"],
        &[("HPCLAB_MAX_SIZE", "64Ki")],
    );
    let has_gpu = gpu_present();
    let devices = if has_gpu { 2 } else { 1 };
    let points = json["points"].as_array().unwrap();
    assert_eq!(
        points.len(),
        12 * devices,
        "1/8 … 256 flop/byte on each device"
    );
    assert!(points.iter().all(|p| p["verified"] == true));
    let intensities: Vec<f64> = points
        .iter()
        .take(12)
        .map(|p| p["intensity"].as_f64().unwrap())
        .collect();
    assert_eq!(intensities.first(), Some(&0.125));
    assert_eq!(intensities.last(), Some(&256.0));
    for ceiling in json["ceilings"].as_array().unwrap() {
        let (bandwidth, compute) = (
            ceiling["bandwidth_gbs"].as_f64().unwrap(),
            ceiling["compute_gflops"].as_f64().unwrap(),
        );
        assert!(bandwidth > 0.0 && compute > 0.0);
        assert!(
            (ceiling["ridge_flop_per_byte"].as_f64().unwrap() - compute / bandwidth).abs()
                < 1e-9 * compute / bandwidth
        );
    }
    let kernels = json["kernels"].as_array().unwrap();
    assert!(
        kernels.iter().any(|k| k["kernel"] == "triad"),
        "the catalogue is placed"
    );
    assert!(
        !kernels.iter().any(|k| k["kernel"] == "copy"),
        "copy has no flops, so no place on a roofline"
    );
    let cpu_series = ["cpu probe", "cpu roof", "cpu kernels"];
    let texts = assert_svg(
        &plot,
        &legend(
            &cpu_series,
            &["gpu probe", "gpu roof", "gpu kernels"],
            has_gpu,
        ),
    );
    // Each kernel named where it lies, and each device's ridge point marked.
    for kernel in kernels {
        let label = format!(
            "{} ({})",
            kernel["kernel"].as_str().unwrap(),
            kernel["backend"].as_str().unwrap()
        );
        assert!(texts.contains(&label), "no label {label}: {texts:?}");
    }
    let ridges = texts.iter().filter(|t| t.contains("ridge")).count();
    assert_eq!(ridges, devices, "{texts:?}");
}

#[test]
fn report_writes_markdown_html_json_and_plots() {
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("report");
    stdout_of(
        &["report", "--out", out.to_str().unwrap()],
        &[("HPCLAB_MAX_SIZE", "256")],
    );
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let has_gpu = gpu_present();
    for (name, title, line) in hpclab::commands::report::SUITE {
        assert!(
            markdown.contains(title) && markdown.contains(line),
            "report.md lacks {title}"
        );
        if !has_gpu && ["transfer", "latency"].contains(&name) {
            assert!(
                markdown.contains("not run"),
                "a GPU step without a GPU says so"
            );
            continue;
        }
        assert!(
            html.contains(&hpclab::report::html::escape(title)),
            "report.html lacks {title}"
        );
        let json: Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        // The step's own document (not another step's, not an empty one): it records the
        // command line the report ran for it.
        assert_eq!(
            json["command"], line,
            "{name}.json is the document of its step"
        );
    }
    assert!(
        markdown.contains("![") && markdown.contains(".svg)"),
        "plots linked from the Markdown"
    );
    assert!(
        html.matches("<svg").count() >= 3,
        "plots inlined in the HTML"
    );
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    hpclab()
        .args(["report", "--out"])
        .arg(out.join("report.md"))
        .assert()
        .code(2);
}
