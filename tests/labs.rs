//! The lab handouts never go stale: every command in a ```sh block of docs/labs/*.md runs.
//!
//! Each line of an `sh` block is `[NAME=value ...] hpclab ARGS...`. It is split like a shell
//! would (whitespace, single and double quotes, backslash escapes; no pipes or redirections)
//! and run with the environment assignments applied, `HPCLAB_MAX_SIZE=4Ki` so the whole test
//! stays quick, and each handout's commands in order in one temporary folder (so `--output`,
//! `--plot`, `--image`, `--compare` and `report --out` files land there). Every command must
//! exit 0: a flag or subcommand that does not exist makes clap exit 2 and fails the test.
//!
//! Commands that need a GPU (`transfer`, `latency`, `roofline` without `--cpu-only`,
//! `--backend ...gpu...`, `--adapter`, `--gpu-api`) are skipped loudly on a machine without any
//! adapter, unless `HPCLAB_REQUIRE_GPU=1` (CI, with lavapipe).
//!
//! A line may also be `mpirun -n N [--oversubscribe] [--bind-to X] hpclab mpi ...`: in a build
//! with `--features mpi` it runs under mpirun (always oversubscribed, as root allowed, with
//! `HPCLAB_MAX_SIZE=512`); without the feature it is skipped loudly. CI runs this test in both
//! builds, the MPI one with `LABS_MPI_ONLY=1` (only mpirun lines and `report`). Under the
//! size cap every `report` line does the same work, so only the first runs.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The cap every command runs under: small, so a debug build on two cores stays fast.
const MAX_SIZE: &str = "4Ki";
/// The cap of the mpirun lines: every rank count of a stencil is checked against one process
/// and the f64 reference on rank 0, so the grid side stays small.
const MPI_MAX_SIZE: &str = "512";
/// Handouts (besides README.md) the course must have.
const HANDOUTS: usize = 8;
/// Fewer commands than this means the extraction broke, not that the docs are short.
const MIN_COMMANDS: usize = 25;

/// `NAME=value` assignments in front of a command.
type Env = Vec<(String, String)>;

/// One command of a handout.
#[derive(Debug)]
struct LabCommand {
    /// `docs/labs/FILE.md:LINE`, for messages.
    origin: String,
    /// The line as written.
    text: String,
    /// `NAME=value` assignments before `hpclab`.
    env: Env,
    /// The arguments after `hpclab`.
    args: Vec<String>,
    /// The options between `mpirun` and `hpclab` (`-n N`, `--bind-to X`), for a line run
    /// under mpirun.
    mpirun: Option<Vec<String>>,
}

/// A parsed line: its environment, its mpirun options, the arguments after `hpclab`.
type Parsed = (Env, Option<Vec<String>>, Vec<String>);

fn labs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join("labs")
}

/// Splits one command line into words: whitespace separates, '…' is literal, "…" allows
/// backslash escapes, an unquoted backslash escapes the next character, an unquoted word that
/// starts with # begins a comment. Shell operators (pipes, redirections, substitutions) are
/// refused: a handout command must be one plain hpclab invocation.
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' if !in_word => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unclosed single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unclosed double quote".into()),
                        },
                        Some(c @ ('$' | '`')) => {
                            return Err(format!("'{c}' inside double quotes: no substitutions"));
                        }
                        Some(c) => word.push(c),
                        None => return Err("unclosed double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("a trailing backslash (line continuation)".into()),
                }
            }
            '|' | '&' | ';' | '<' | '>' | '$' | '`' | '(' | ')' => {
                return Err(format!(
                    "shell operator '{c}': handouts hold plain hpclab commands only"
                ));
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// `NAME=value` with a valid shell variable name.
fn assignment(word: &str) -> Option<(String, String)> {
    let (name, value) = word.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    let valid = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name.to_string(), value.to_string()))
}

/// Parses one line of an sh block; `None` for blank and comment lines.
fn parse_command(line: &str) -> Result<Option<Parsed>, String> {
    let words = split_words(line)?;
    if words.is_empty() {
        return Ok(None);
    }
    let mut env = Vec::new();
    let mut rest = words.into_iter();
    while let Some(word) = rest.next() {
        if let Some(pair) = assignment(&word) {
            env.push(pair);
        } else if word == "mpirun" {
            // mpirun -n N [--oversubscribe] [--bind-to X] hpclab …
            let mut options = Vec::new();
            let mut ranks = false;
            while let Some(option) = rest.next() {
                match option.as_str() {
                    "-n" | "-np" | "--bind-to" => {
                        let value = rest
                            .next()
                            .ok_or(format!("mpirun {option} needs a value"))?;
                        if option != "--bind-to" {
                            value
                                .parse::<usize>()
                                .map_err(|_| "mpirun -n needs a number")?;
                            ranks = true;
                        }
                        options.extend([option, value]);
                    }
                    "--oversubscribe" => {}
                    "hpclab" if ranks => return Ok(Some((env, Some(options), rest.collect()))),
                    other => {
                        return Err(format!(
                            "mpirun option '{other}': handouts use `mpirun -n N [--oversubscribe] [--bind-to X] hpclab …`"
                        ));
                    }
                }
            }
            return Err("mpirun without -n N and hpclab".into());
        } else if word == "hpclab" {
            return Ok(Some((env, None, rest.collect())));
        } else {
            return Err(format!(
                "'{word}' is not hpclab: sh blocks hold hpclab commands only \
                 (put other commands in a bash block)"
            ));
        }
    }
    Err("environment assignments without a command".into())
}

/// Every line inside ```sh fences, with its 1-based line number.
fn sh_lines(markdown: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut fence: Option<bool> = None; // Some(is_sh) while inside a fence
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(trimmed.trim_start_matches('`').trim() == "sh"),
            };
        } else if fence == Some(true) {
            lines.push((index + 1, line.to_string()));
        }
    }
    assert!(fence.is_none(), "an unclosed code fence");
    lines
}

/// The Markdown files of the course, sorted: README.md, then 01-… to 06-….
fn lab_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(labs_dir())
        .expect("docs/labs exists")
        .map(|entry| entry.expect("readable docs/labs").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files
}

fn commands_of(path: &Path) -> Vec<LabCommand> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(path).expect("readable handout");
    let mut commands = Vec::new();
    for (line_no, line) in sh_lines(&text) {
        let origin = format!("docs/labs/{name}:{line_no}");
        match parse_command(&line) {
            Ok(Some((env, mpirun, args))) => commands.push(LabCommand {
                origin,
                text: line.trim().to_string(),
                env,
                args,
                mpirun,
            }),
            Ok(None) => {}
            Err(message) => panic!("{origin}: `{}`: {message}", line.trim()),
        }
    }
    commands
}

/// The value of an option given as `--name value`, `--name=value`, or `-s value` / `-svalue`.
fn option_values<'a>(args: &'a [String], long: &str, short: Option<&str>) -> Vec<&'a str> {
    let mut values = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == long || Some(arg.as_str()) == short {
            if let Some(value) = iter.next() {
                values.push(value.as_str());
            }
        } else if let Some(value) = arg.strip_prefix(&format!("{long}=")) {
            values.push(value);
        } else if let Some(value) = short
            .filter(|_| !arg.starts_with("--"))
            .and_then(|s| arg.strip_prefix(s))
            .filter(|v| !v.is_empty())
        {
            values.push(value.trim_start_matches('='));
        }
    }
    values
}

/// True when the command cannot run without a GPU adapter (hpclab exits 2 then).
fn needs_gpu(args: &[String]) -> bool {
    let subcommand = args.first().map(String::as_str).unwrap_or("");
    let has_flag = |flag: &str| {
        args.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    let gpu_backend = option_values(args, "--backend", Some("-b"))
        .iter()
        .any(|list| list.split(',').any(|b| b.trim() == "gpu"));
    matches!(subcommand, "transfer" | "latency")
        || (subcommand == "roofline" && !has_flag("--cpu-only"))
        || has_flag("--adapter")
        || has_flag("--gpu-api")
        || gpu_backend
}

/// True when `hpclab devices --format json` lists no adapter at all.
fn no_adapter() -> bool {
    let output = Command::cargo_bin("hpclab")
        .unwrap()
        .args(["devices", "--format", "json"])
        .output()
        .expect("hpclab devices runs");
    assert!(
        output.status.success(),
        "hpclab devices --format json failed"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("devices --format json is JSON");
    json["adapters"]
        .as_array()
        .expect("an \"adapters\" array")
        .is_empty()
}

#[test]
fn every_lab_command_runs() {
    let files = lab_files();
    let handouts: Vec<&PathBuf> = files
        .iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            let bytes = name.as_bytes();
            bytes.len() > 3 && bytes[..2].iter().all(u8::is_ascii_digit) && bytes[2] == b'-'
        })
        .collect();
    assert_eq!(
        handouts.len(),
        HANDOUTS,
        "want {HANDOUTS} handouts NN-name.md in docs/labs, found {handouts:?}"
    );
    assert!(
        labs_dir().join("README.md").is_file(),
        "docs/labs/README.md (the index) is missing"
    );

    let require_gpu = std::env::var("HPCLAB_REQUIRE_GPU").is_ok_and(|v| v == "1");
    let skip_gpu = !require_gpu && no_adapter();
    if skip_gpu {
        eprintln!(
            "\n!!! labs: NO GPU ADAPTER on this machine: commands that need one are SKIPPED.\n\
             !!! Install lavapipe (sudo apt-get install mesa-vulkan-drivers libvulkan1) or set\n\
             !!! HPCLAB_REQUIRE_GPU=1 to make them fail instead.\n"
        );
    }

    // CI runs this test twice, in the default build and with --features mpi; the second run
    // sets LABS_MPI_ONLY=1 and runs only what the MPI build changes: the mpirun lines and
    // `report` (which gains MPI steps there).
    let mpi_only = std::env::var("LABS_MPI_ONLY").is_ok_and(|v| v == "1");
    let mut report_ran = false;
    let started = Instant::now();
    let (mut total, mut ran, mut skipped) = (0, 0, Vec::new());
    let mut failures = Vec::new();
    for file in &files {
        let commands = commands_of(file);
        if handouts.contains(&file) {
            assert!(
                !commands.is_empty(),
                "{} has no hpclab command in a sh block",
                file.display()
            );
        }
        total += commands.len();
        let folder = tempfile::tempdir().expect("a temporary folder");
        for command in &commands {
            if skip_gpu && needs_gpu(&command.args) {
                eprintln!(
                    "!!! SKIPPED (no GPU adapter): {}  {}",
                    command.origin, command.text
                );
                skipped.push(command.origin.clone());
                continue;
            }
            if command.mpirun.is_some() && !cfg!(feature = "mpi") {
                eprintln!(
                    "!!! SKIPPED (built without --features mpi): {}  {}",
                    command.origin, command.text
                );
                skipped.push(command.origin.clone());
                continue;
            }
            let is_report = command.args.first().is_some_and(|a| a == "report");
            if mpi_only && command.mpirun.is_none() && !is_report {
                eprintln!(
                    "--- skipped (LABS_MPI_ONLY=1: the default build ran it): {}  {}",
                    command.origin, command.text
                );
                skipped.push(command.origin.clone());
                continue;
            }
            // Under HPCLAB_MAX_SIZE every `report` line does the same work; one is enough here
            // (tests/report_html.rs runs another).
            if is_report && report_ran {
                eprintln!(
                    "--- skipped (a report ran already; under the size cap they are alike): {}  {}",
                    command.origin, command.text
                );
                skipped.push(command.origin.clone());
                continue;
            }
            report_ran |= is_report;
            let clock = Instant::now();
            // Open MPI 4 now and then hangs in MPI_Comm_spawn (open-mpi/ompi#12940): a line that
            // spawns gets a shorter limit and one more try, said loudly.
            let spawns = command.mpirun.is_some()
                && command
                    .args
                    .iter()
                    .any(|a| a == "spawn" || a == "--workers");
            let attempts = if spawns { 2 } else { 1 };
            let limit = Duration::from_secs(if spawns { 90 } else { 300 });
            let mut output = None;
            for attempt in 1..=attempts {
                let mut runner = match &command.mpirun {
                    Some(options) => {
                        let mut runner = Command::new("mpirun");
                        runner
                            .args(options)
                            .arg("--oversubscribe")
                            .arg(assert_cmd::cargo::cargo_bin("hpclab"))
                            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
                            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
                        runner
                    }
                    None => Command::cargo_bin("hpclab").unwrap(),
                };
                let this = runner
                    .current_dir(folder.path())
                    .env_remove("HPCLAB_SIMD")
                    .env_remove("HPCLAB_STORES")
                    .envs(command.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    // Last, so that it wins over a handout's own HPCLAB_MAX_SIZE=…
                    .env(
                        "HPCLAB_MAX_SIZE",
                        if command.mpirun.is_some() {
                            MPI_MAX_SIZE
                        } else {
                            MAX_SIZE
                        },
                    )
                    .args(&command.args)
                    .timeout(limit)
                    .output()
                    .expect("hpclab starts");
                let hung = this.status.code().is_none();
                output = Some(this);
                if hung && attempt < attempts {
                    eprintln!(
                        "!!! HUNG past {limit:?} in Open MPI's spawn (open-mpi/ompi#12940), trying once more: {}  {}",
                        command.origin, command.text
                    );
                    continue;
                }
                break;
            }
            let output = output.expect("at least one attempt");
            let stderr = String::from_utf8_lossy(&output.stderr);
            if !output.status.success() && stderr.contains("needs the GPU feature SUBGROUP") {
                eprintln!(
                    "!!! SKIPPED (adapter lacks SUBGROUP): {}  {}",
                    command.origin, command.text
                );
                skipped.push(command.origin.clone());
                continue;
            }
            ran += 1;
            eprintln!(
                "{} {:>6.2}s  {}  {}",
                if output.status.success() {
                    "ok  "
                } else {
                    "FAIL"
                },
                clock.elapsed().as_secs_f64(),
                command.origin,
                command.text
            );
            if !output.status.success() {
                let stderr: Vec<&str> = stderr
                    .lines()
                    .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
                    .collect();
                failures.push(format!(
                    "{}: `{}` exited with {:?}\n  stderr: {}",
                    command.origin,
                    command.text,
                    output.status.code(),
                    stderr.join("\n          ")
                ));
            }
        }
    }
    eprintln!(
        "labs: {total} commands in {} files, {ran} run, {} skipped, {:.1}s",
        files.len(),
        skipped.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        total >= MIN_COMMANDS,
        "only {total} hpclab commands found in docs/labs; want at least {MIN_COMMANDS}"
    );
    assert!(
        failures.is_empty(),
        "{} lab command(s) failed (run with HPCLAB_MAX_SIZE={MAX_SIZE}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn splitter_reads_words_quotes_and_assignments() {
    assert_eq!(
        split_words("hpclab run  triad --size 4Ki").unwrap(),
        ["hpclab", "run", "triad", "--size", "4Ki"]
    );
    assert_eq!(
        split_words(r#"hpclab run 'a b' "c \"d\"" e\ f  # comment"#).unwrap(),
        ["hpclab", "run", "a b", "c \"d\"", "e f"]
    );
    assert_eq!(
        split_words("  # only a comment").unwrap(),
        Vec::<String>::new()
    );
    assert!(split_words("hpclab list | head").is_err());
    assert!(split_words("hpclab list > out.txt").is_err());
    assert!(split_words("hpclab run 'triad").is_err());

    let (env, mpirun, args) = parse_command("HPCLAB_SIMD=avx2 A_B=1 hpclab run triad")
        .unwrap()
        .unwrap();
    assert_eq!(mpirun, None);
    assert_eq!(
        env,
        [
            ("HPCLAB_SIMD".to_string(), "avx2".to_string()),
            ("A_B".to_string(), "1".to_string())
        ]
    );
    assert_eq!(args, ["run", "triad"]);
    assert!(parse_command("cargo run --release").is_err());
    assert!(parse_command("").unwrap().is_none());

    let (_, mpirun, args) =
        parse_command("mpirun -n 2 --oversubscribe --bind-to none hpclab mpi pingpong")
            .unwrap()
            .unwrap();
    assert_eq!(mpirun.unwrap(), ["-n", "2", "--bind-to", "none"]);
    assert_eq!(args, ["mpi", "pingpong"]);
    assert!(parse_command("mpirun hpclab mpi startup").is_err());
    assert!(parse_command("mpirun -n two hpclab mpi startup").is_err());
    assert!(parse_command("mpirun --hostfile h -n 2 hpclab mpi startup").is_err());
}

#[test]
fn gpu_commands_are_recognised() {
    let args = |line: &str| parse_command(line).unwrap().unwrap().2;
    assert!(needs_gpu(&args("hpclab transfer --max 1Mi")));
    assert!(needs_gpu(&args("hpclab latency")));
    assert!(needs_gpu(&args("hpclab roofline --size 4Mi")));
    assert!(!needs_gpu(&args("hpclab roofline --cpu-only")));
    assert!(needs_gpu(&args("hpclab run dot --backend simd,gpu")));
    assert!(needs_gpu(&args("hpclab run dot -b gpu")));
    assert!(needs_gpu(&args("hpclab run dot --backend=gpu")));
    assert!(needs_gpu(&args("hpclab run dot --adapter 0")));
    assert!(!needs_gpu(&args("hpclab run dot")));
    assert!(!needs_gpu(&args("hpclab run dot --backend scalar,simd")));
    assert!(!needs_gpu(&args("hpclab report --out r")));
}
