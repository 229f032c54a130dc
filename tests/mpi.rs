//! `hpclab mpi` as a user runs it: under `mpirun -n 2 --oversubscribe` (3 ranks where an odd
//! split matters), every experiment verified, and the mistakes: one line, exit code 2, and no
//! rank left hanging. Only in a build with `--features mpi`; the build without it is tested in
//! tests/cli.rs.
#![cfg(feature = "mpi")]

mod common;

use serde_json::Value;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// No MPI test may take longer: a rank left waiting would otherwise hang CI.
const DEADLINE: Duration = Duration::from_secs(180);

/// Runs `mpirun -n RANKS --oversubscribe hpclab ARGS` and returns its output; fails the test if
/// it runs past [`DEADLINE`] (a hang), killing it. Open MPI 4 now and then hangs in
/// MPI_Comm_spawn (open-mpi/ompi#12940): a command that spawns gets [`SPAWN_DEADLINE`] and one
/// more try, said loudly.
fn mpirun(ranks: usize, args: &[&str]) -> Output {
    let spawns = args.iter().any(|a| *a == "spawn" || *a == "--workers");
    let what = format!("mpirun -n {ranks} hpclab {}", args.join(" "));
    let attempts = if spawns { 2 } else { 1 };
    for attempt in 1..=attempts {
        let mut command = Command::new("mpirun");
        command
            .args(["-n", &ranks.to_string(), "--oversubscribe"])
            .arg(assert_cmd::cargo::cargo_bin("hpclab"))
            .args(args)
            // CI runs as root; Open MPI refuses that unless told.
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        let deadline = if spawns { SPAWN_DEADLINE } else { DEADLINE };
        match run_with_deadline(command, &what, deadline, attempt == attempts) {
            Some(output) => return output,
            None => eprintln!(
                "!!! HUNG past {deadline:?} in Open MPI's spawn (open-mpi/ompi#12940), trying once more: {what}"
            ),
        }
    }
    unreachable!("the last attempt panics on a hang")
}

/// The limit of a command that spawns processes.
const SPAWN_DEADLINE: Duration = Duration::from_secs(90);

/// The output of `command`, or `None` when it ran past `deadline` (killed); with `last`, a
/// hang fails the test instead.
fn run_with_deadline(
    mut command: Command,
    what: &str,
    deadline: Duration,
    last: bool,
) -> Option<Output> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e} (is Open MPI installed?)"));
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            if !last {
                return None;
            }
            panic!(
                "{what} still ran after {deadline:?}: a rank hangs\nstderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs an experiment that must succeed, writing JSON, and returns the document. `line` is its
/// arguments, split at spaces.
fn document(ranks: usize, line: &str) -> Value {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("out.json");
    let mut all: Vec<&str> = line.split_whitespace().collect();
    let path_text = path.to_str().unwrap();
    all.extend(["--format", "json", "--output", path_text]);
    let output = mpirun(ranks, &all);
    assert!(
        output.status.success(),
        "{line} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// hpclab's own lines on stderr (without Mesa's and Open MPI's).
fn hpclab_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| l.starts_with("hpclab:"))
        .map(str::to_string)
        .collect()
}

/// The points of a document that says it verified.
fn verified_points(json: &Value) -> &Vec<Value> {
    assert_eq!(json["verified"], true);
    json["points"].as_array().unwrap()
}

/// A mistake: exit code 2, said once (not once per rank).
fn assert_one_usage_error(output: &Output, mentions: &str) {
    let lines = hpclab_lines(output);
    assert_eq!(output.status.code(), Some(2), "stderr: {lines:?}");
    assert_eq!(lines.len(), 1, "said once: {lines:?}");
    assert!(
        lines[0].contains(mentions),
        "{lines:?} should mention {mentions}"
    );
}

#[test]
fn pingpong_delivers_every_byte_and_fits_a_link_model() {
    let json = document(2, "mpi pingpong --sizes 1..1Mi --runs 2 --warmup 1");
    let points = verified_points(&json);
    assert_eq!(json["mpi"]["ranks"], 2);
    assert_eq!(points.len(), 21, "1 B .. 1 MiB doubling");
    for point in points {
        let latency = point["latency_s"].as_f64().unwrap();
        assert!(latency > 0.0 && latency < 0.1, "{point}");
        let bandwidth = point["bandwidth_gbs"].as_f64().unwrap();
        let bytes = point["bytes"].as_f64().unwrap();
        assert!((bandwidth - bytes / latency / 1e9).abs() <= 1e-9 * bandwidth.max(1.0));
    }
    assert!(json["fit"]["bandwidth_gbs"].as_f64().unwrap() > 0.0);
}

#[test]
fn collectives_give_the_values_they_define_on_three_ranks() {
    let json = document(3, "mpi collectives --size 8,24Ki --runs 2 --warmup 1");
    let points = verified_points(&json);
    let operations: Vec<&str> = points
        .iter()
        .map(|p| p["operation"].as_str().unwrap())
        .collect();
    for operation in ["broadcast", "reduce", "allreduce", "gather", "all-to-all"] {
        assert_eq!(
            operations.iter().filter(|o| **o == operation).count(),
            2,
            "{operation}"
        );
    }
    for point in points {
        assert_eq!(point["verified"], true, "{point}");
        assert!(point["time"]["median_s"].as_f64().unwrap() > 0.0);
    }
}

/// Checks every rank count of a stencil document: bit for bit against one process, within the
/// f64 reference's bound, and the rows of the slabs adding up to the grid.
fn assert_stencil_exact(json: &Value, counts: &[usize], grid_rows: impl Fn(usize) -> usize) {
    let points = verified_points(json);
    let measured: Vec<usize> = points
        .iter()
        .map(|p| p["ranks"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(measured, counts);
    for point in points {
        let ranks = point["ranks"].as_u64().unwrap() as usize;
        let check = &point["check"];
        assert_eq!(check["differing_points"], 0, "{ranks} ranks: {check}");
        assert_eq!(check["residual_equal"], true);
        assert_eq!(check["reference"]["passed"], true);
        let rows: u64 = point["per_rank"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["rows"].as_u64().unwrap())
            .sum();
        assert_eq!(rows as usize, grid_rows(ranks));
        assert_eq!(
            point["grid_rows"].as_u64().unwrap() as usize,
            grid_rows(ranks)
        );
        let residual = point["residual"].as_f64().unwrap();
        assert!(residual > 0.0 && residual < 1.0, "{residual}");
        if ranks > 1 {
            for rank in point["per_rank"].as_array().unwrap() {
                assert!(rank["median"]["halo_exchange_s"].as_f64().unwrap() > 0.0);
            }
        }
    }
}

/// Every sample of every rank at every rank count: its phases add up to its total within 2% (or
/// a microsecond, the clock's rounding). Without `submit_wait_s` the GPU's launch and wait
/// around each pass would be missing.
fn assert_phases_add_up(json: &Value) {
    const PHASES: [&str; 7] = [
        "load_s",
        "compute_s",
        "halo_exchange_s",
        "halo_download_s",
        "halo_upload_s",
        "allreduce_s",
        "submit_wait_s",
    ];
    for point in json["points"].as_array().unwrap() {
        for rank in point["per_rank"].as_array().unwrap() {
            let mut samples = rank["samples"].as_array().unwrap().clone();
            samples.extend(
                rank["first_sample"]
                    .as_object()
                    .map(|s| Value::from(s.clone())),
            );
            assert!(!samples.is_empty());
            for sample in &samples {
                let sum: f64 = PHASES.iter().map(|k| sample[*k].as_f64().unwrap()).sum();
                let total = sample["total_s"].as_f64().unwrap();
                assert!(
                    (sum - total).abs() <= 0.02 * total + 1e-6,
                    "phases add up to {sum} s, the total is {total} s: {sample}"
                );
            }
        }
    }
}

/// Each point states its per-rank working set and the level it resides in.
fn assert_working_sets(json: &Value, levels: &[&str]) {
    for point in json["points"].as_array().unwrap() {
        let bytes = point["working_set_bytes"].as_u64().unwrap();
        let largest = point["per_rank"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["working_set_bytes"].as_u64().unwrap())
            .max()
            .unwrap();
        assert_eq!(bytes, largest, "{point}");
        let level = point["resides_in"].as_str().unwrap();
        assert!(levels.contains(&level), "{level}");
    }
}

#[test]
fn the_decomposed_stencil_equals_one_process_bit_for_bit_strong_and_weak() {
    // 67 rows on 3 ranks: slabs of 23, 22, 22 rows; steps not a multiple of the residual period.
    let strong = document(
        3,
        "mpi stencil --size 67 --steps 7 --residual-every 3 --scaling strong --runs 1 --warmup 1 --threads 1",
    );
    assert_stencil_exact(&strong, &[1, 2, 3], |_| 67);
    assert_phases_add_up(&strong);
    let cpu_levels = ["L1d", "L2", "L3", "memory", "unknown"];
    assert_working_sets(&strong, &cpu_levels);
    // 1 rank: 67 rows and its two ghost rows, two fields of f32.
    assert_eq!(strong["points"][0]["working_set_bytes"], 2 * 69 * 67 * 4);
    let weak = document(
        2,
        "mpi stencil --size 16 --steps 5 --scaling weak --runs 1 --warmup 0",
    );
    assert_stencil_exact(&weak, &[1, 2], |ranks| 16 * ranks);
    assert_phases_add_up(&weak);
    assert_working_sets(&weak, &cpu_levels);
}

#[test]
fn the_gpu_stencil_on_two_ranks_equals_one_process_bit_for_bit() {
    if common::gpu(Default::default()).is_none() {
        return;
    }
    let json = document(
        2,
        "mpi stencil --backend gpu --size 40 --steps 6 --scaling strong --runs 1 --warmup 1",
    );
    assert_stencil_exact(&json, &[1, 2], |_| 40);
    let two = &json["points"][1]["per_rank"][0]["median"];
    assert!(two["halo_download_s"].as_f64().unwrap() > 0.0);
    assert!(two["halo_upload_s"].as_f64().unwrap() > 0.0);
    assert_phases_add_up(&json);
    assert!(two["submit_wait_s"].as_f64().unwrap() > 0.0);
    assert_working_sets(&json, &["device", "device (may fit L2)"]);
}

#[test]
fn startup_times_the_first_operations_against_warm_ones() {
    let json = document(2, "mpi startup --runs 5");
    assert_eq!(json["verified"], true);
    let ranks = json["ranks"].as_array().unwrap();
    assert_eq!(ranks.len(), 2);
    for rank in ranks {
        assert!(rank["mpi_init_s"].as_f64().unwrap() > 0.0);
        assert!(rank["first_barrier_s"].as_f64().unwrap() > 0.0);
        assert_eq!(rank["barrier"]["samples_s"].as_array().unwrap().len(), 5);
    }
    assert!(ranks[0]["first_round_trip_s"].as_f64().unwrap() > 0.0);
    assert!(json["launch_spread_s"].as_f64().unwrap() >= 0.0);
    // Both ends of the first round trip noted when they began it; one host shares its clock,
    // so the document says how late rank 1 came to it (the order itself is unit-tested in
    // experiments::mpi::startup).
    for rank in ranks {
        assert!(rank["first_round_trip_began_unix_s"].as_f64().unwrap() > 0.0);
    }
    assert!(json["first_round_trip_peer_late_s"].as_f64().unwrap() >= 0.0);
}

#[test]
fn outside_mpirun_the_command_says_how_to_start_it() {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("hpclab"));
    command.args(["mpi", "pingpong"]);
    for variable in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "PMI_ID"] {
        command.env_remove(variable);
    }
    let output = run_with_deadline(command, "hpclab mpi pingpong", DEADLINE, true)
        .expect("the last attempt panics on a hang");
    assert_one_usage_error(&output, "mpirun -n 2");
}

#[test]
fn mistakes_are_said_once_and_no_rank_hangs() {
    // Too few ranks for a ping-pong.
    assert_one_usage_error(&mpirun(1, &["mpi", "pingpong"]), "needs 2 ranks");
    // More ranks than the grid has rows.
    assert_one_usage_error(
        &mpirun(3, &["mpi", "stencil", "--size", "2"]),
        "every rank needs at least one row",
    );
    // Options that do not go together.
    assert_one_usage_error(
        &mpirun(2, &["mpi", "stencil", "--backend", "gpu", "--threads", "2"]),
        "--threads applies to --backend rayon only",
    );
    assert_one_usage_error(
        &mpirun(2, &["mpi", "stencil", "--size", "64", "--plot", "s.svg"]),
        "add --scaling",
    );
    // A flag clap refuses: every rank parses it, rank 0 alone says so.
    assert_one_usage_error(
        &mpirun(2, &["mpi", "startup", "--no-such-flag"]),
        "--no-such-flag",
    );
    // A figure the experiment does not draw.
    assert_one_usage_error(
        &mpirun(2, &["mpi", "collectives", "--plot", "c.svg"]),
        "draws no figure",
    );
    // A mistake only rank 0 can see (it writes the files): the others must stop too.
    assert_one_usage_error(
        &mpirun(
            2,
            &["mpi", "startup", "--output", "/no/such/folder/out.json"],
        ),
        "does not exist",
    );
}

/// A message or slab larger than one MPI call carries (counts are 32-bit) is refused before any
/// rank allocates or sends it, instead of a panic on every rank.
#[test]
fn sizes_beyond_one_mpi_call_are_refused_before_any_work() {
    assert_one_usage_error(
        &mpirun(2, &["mpi", "pingpong", "--sizes", "8,3Gi"]),
        "--sizes: a message of 3221225472 bytes is more than one MPI call carries",
    );
    // 8 GiB per rank: two blocks of 2^30 f64 in a gather's buffer on 2 ranks.
    assert_one_usage_error(
        &mpirun(2, &["mpi", "collectives", "--size", "8,8Gi"]),
        "use --size 8589934584 or less on 2 ranks",
    );
    assert_one_usage_error(
        &mpirun(2, &["mpi", "stencil", "--size", "70000"]),
        "on 2 ranks a slab of 35000 rows × 70000 points",
    );
    // Weak scaling multiplies the rows by the ranks, past any grid.
    assert_one_usage_error(
        &mpirun(
            2,
            &["mpi", "stencil", "--size", "2^62", "--scaling", "weak"],
        ),
        "more points than this machine can count",
    );
}

/// Rank 0 alone publishes, whatever the rank count: the table once on stdout, the figure
/// written once, and one CSV header with one row per rank.
#[test]
fn only_rank_0_prints_the_table_and_writes_the_figure() {
    let folder = tempfile::tempdir().unwrap();
    let plot = folder.path().join("pingpong.svg");
    let plot_text = plot.to_str().unwrap();
    let args = [
        "mpi", "pingpong", "--sizes", "8,64", "--runs", "1", "--warmup", "0",
    ];
    let output = mpirun(3, &[&args[..], &["--plot", plot_text]].concat());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{:?}", hpclab_lines(&output));
    assert_eq!(
        stdout.matches("mpi pingpong · ranks 0 ↔ 1").count(),
        1,
        "{stdout}"
    );
    assert!(stdout.contains("ranks 2..2 waited asleep"), "{stdout}");
    assert_eq!(
        hpclab_lines(&output),
        vec![format!("hpclab: wrote {plot_text}")]
    );
    assert!(std::fs::read_to_string(&plot).unwrap().contains("<svg"));

    let output = mpirun(3, &["mpi", "startup", "--runs", "2", "--format", "csv"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{:?}", hpclab_lines(&output));
    assert_eq!(
        stdout.matches("rank,host,entered_unix_s").count(),
        1,
        "{stdout}"
    );
    let records = stdout.lines().filter(|l| l.split(',').count() == 10);
    assert_eq!(
        records.count(),
        4,
        "the header and one row per rank: {stdout}"
    );
}

/// `mpi spawn` from one process: every worker count answered, round trips intact, and
/// `mpirun -n K hpclab mpi startup` timed beside it.
#[test]
fn spawn_starts_two_workers_and_compares_with_mpirun() {
    let json = document(1, "mpi spawn --workers 1..2 --runs 1 --warmup 0");
    let points = verified_points(&json);
    let workers: Vec<u64> = points
        .iter()
        .map(|p| p["workers"].as_u64().unwrap())
        .collect();
    assert_eq!(workers, vec![1, 2]);
    for point in points {
        for figure in ["spawn", "first_round_trip", "warm_round_trip", "disconnect"] {
            assert!(
                point[figure]["median_s"].as_f64().unwrap() > 0.0,
                "{figure}: {point}"
            );
        }
        assert!(
            point["mpirun_ready"]["median_s"].as_f64().unwrap() > 0.0,
            "{point}"
        );
    }
    assert!(json["mpirun_missing"].is_null(), "{json}");
}

/// Checks a farm document: every schedule at every task size verified bit for bit, every task
/// done once by some worker.
fn assert_farm_exact(json: &Value, workers: usize, points_expected: usize) {
    let points = verified_points(json);
    assert_eq!(points.len(), points_expected);
    assert!(json["first_mismatch"].is_null());
    for point in points {
        assert_eq!(point["verified"], true, "{point}");
        let per_worker = point["per_worker"].as_array().unwrap();
        assert_eq!(per_worker.len(), workers, "{point}");
        let done: u64 = per_worker
            .iter()
            .map(|w| w["tasks"].as_u64().unwrap())
            .sum();
        assert_eq!(done, point["tasks"].as_u64().unwrap(), "{point}");
        assert!(point["imbalance"].as_f64().unwrap() >= 1.0, "{point}");
    }
}

#[test]
fn the_farm_assembles_the_single_process_image_under_every_schedule() {
    // Spawned workers; 96 rows in tasks of 1 and 7 (the last task shorter).
    let json = document(
        1,
        "mpi farm --workers 2 --size 96 --rows 1,7 --runs 1 --warmup 0",
    );
    assert_eq!(json["workers_from"], "spawned");
    assert_farm_exact(&json, 2, 6);
    let schedules: Vec<&str> = verified_points(&json)
        .iter()
        .map(|p| p["schedule"].as_str().unwrap())
        .collect();
    assert_eq!(
        schedules,
        [
            "blocks",
            "round-robin",
            "dynamic",
            "blocks",
            "round-robin",
            "dynamic"
        ]
    );
    // mpirun's ranks 1 and 2 as workers, each with rayon inside.
    let json = document(
        3,
        "mpi farm --ranks --size 64 --rows 5 --runs 1 --warmup 0 --backend rayon",
    );
    assert_eq!(json["workers_from"], "ranks");
    assert_farm_exact(&json, 2, 3);
}

/// The farm's check is trusted because it fails: a worker that changes one pixel of one row
/// makes the job exit with 1 and the document point at that pixel.
#[test]
fn the_farm_check_fails_on_a_corrupted_image() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("farm.json");
    let output = mpirun(
        1,
        &[
            "mpi",
            "farm",
            "--workers",
            "2",
            "--size",
            "64",
            "--rows",
            "8",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--corrupt-row",
            "40",
            "--format",
            "json",
            "--output",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{:?}", hpclab_lines(&output));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["verified"], false);
    assert_eq!(json["first_mismatch"], serde_json::json!([40, 0]));
    for point in json["points"].as_array().unwrap() {
        assert_eq!(point["verified"], false, "{point}");
    }
}

#[test]
fn spawn_and_farm_mistakes_are_said_once() {
    assert_one_usage_error(
        &mpirun(2, &["mpi", "spawn"]),
        "run it as one process, `mpirun -n 1 hpclab mpi spawn`",
    );
    assert_one_usage_error(
        &mpirun(2, &["mpi", "farm", "--size", "16"]),
        "or farm over mpirun's ranks with --ranks",
    );
    assert_one_usage_error(
        &mpirun(1, &["mpi", "farm", "--ranks"]),
        "needs a master and at least one worker",
    );
    assert_one_usage_error(
        &mpirun(
            3,
            &[
                "mpi",
                "farm",
                "--ranks",
                "--output",
                "/no/such/folder/f.json",
            ],
        ),
        "does not exist",
    );
}
