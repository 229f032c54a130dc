//! The environment every record carries: the CPU, the thread count, the SIMD set, the adapter.

use crate::cpu::Isa;
use crate::cpu::info::CpuInfo;
use crate::error::{Error, Result};
use crate::gpu::AdapterSummary;
use serde::Serialize;

/// Where a measurement was taken.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    /// The host processor.
    pub cpu: CpuInfo,
    /// Threads of the rayon pool (the `rayon` backend).
    pub threads: usize,
    /// The instruction set of the `simd` and `rayon` backends.
    pub simd: Isa,
    /// The GPU adapter, or `null` when none was used.
    pub adapter: Option<AdapterSummary>,
    /// Operating system and architecture.
    pub os: String,
    /// The operating system's own name and version (`Linux 12 Debian GNU/Linux 12`), when known.
    pub os_version: Option<String>,
    /// The machine's name.
    pub hostname: Option<String>,
    /// Physical memory of the machine, in bytes.
    pub total_memory_bytes: Option<u64>,
    /// The 1-minute load average when the command started (Unix), the busy-machine sign.
    pub load_average_1m: Option<f64>,
    /// Tasks of other processes ready to run when the command started (Linux; the mean of five
    /// looks): the machine at that moment, where the load average trails the last minute.
    pub others_runnable_at_start: Option<f64>,
    /// `release` or `debug`: a debug build's timings say little about the hardware.
    pub build_profile: &'static str,
    /// When the document was made, UTC, RFC 3339 (`2026-11-30T18:21:47Z`).
    pub timestamp_utc: String,
    /// Every `HPCLAB_*` variable in force (they change what is measured).
    pub hpclab_env: std::collections::BTreeMap<String, String>,
}

/// How busy the machine was when this process first asked: the 1-minute load average (Unix)
/// and the tasks of other processes ready to run (Linux). `main` asks first thing, before the
/// measurement adds its own load.
pub fn load_at_start() -> StartLoad {
    static LOAD: std::sync::OnceLock<StartLoad> = std::sync::OnceLock::new();
    *LOAD.get_or_init(|| StartLoad {
        load_average_1m: Some(sysinfo::System::load_average().one).filter(|_| cfg!(unix)),
        others_runnable: others_runnable(),
    })
}

/// See [`load_at_start`].
#[derive(Debug, Clone, Copy)]
pub struct StartLoad {
    pub load_average_1m: Option<f64>,
    pub others_runnable: Option<f64>,
}

/// Tasks ready to run besides this one, averaged over five looks 2 ms apart at the fourth field
/// of `/proc/loadavg` (`running/total`). Unlike the load average, which trails the last minute
/// (the previous command's own load among it), this is the machine now.
fn others_runnable() -> Option<f64> {
    let mut looks = Vec::new();
    for _ in 0..5 {
        let text = std::fs::read_to_string("/proc/loadavg").ok()?;
        let running: f64 = text
            .split_whitespace()
            .nth(3)?
            .split('/')
            .next()?
            .parse()
            .ok()?;
        looks.push((running - 1.0).max(0.0));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    Some(looks.iter().sum::<f64>() / looks.len() as f64)
}

/// `release` or `debug`, from the build that is running (debug assertions on = a debug build).
pub const BUILD_PROFILE: &str = if cfg!(debug_assertions) {
    "debug"
} else {
    "release"
};

impl Environment {
    /// Which build, where and when, in lines: what a report states once at its top.
    pub fn provenance_lines(&self) -> Vec<String> {
        let gib = |bytes: u64| bytes as f64 / (1u64 << 30) as f64;
        let mut lines = vec![
            format!(
                "{} build · measured {} on {}",
                self.build_profile,
                self.timestamp_utc,
                self.hostname.as_deref().unwrap_or("an unnamed host")
            ),
            format!(
                "{} ({}) · {} logical cores · {}",
                self.os_version.as_deref().unwrap_or("unknown OS"),
                self.os,
                self.cpu.logical_cores,
                self.total_memory_bytes
                    .map_or("memory unknown".to_string(), |b| format!(
                        "{:.1} GiB of memory",
                        gib(b)
                    ))
            ),
        ];
        if let Some(load) = self.load_average_1m {
            lines.push(format!("load average {load:.2} at the start"));
        }
        let variables: Vec<String> = self
            .hpclab_env
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        lines.push(if variables.is_empty() {
            "no HPCLAB_* variable set".to_string()
        } else {
            format!("in force: {}", variables.join(" "))
        });
        lines
    }

    /// Describes this machine with the given pool size and adapter.
    pub fn capture(threads: usize, adapter: Option<AdapterSummary>) -> Environment {
        let cpu = CpuInfo::detect();
        Environment {
            simd: cpu.simd,
            cpu,
            threads,
            adapter,
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            os_version: sysinfo::System::long_os_version(),
            hostname: sysinfo::System::host_name(),
            total_memory_bytes: {
                let mut system = sysinfo::System::new();
                system.refresh_memory();
                Some(system.total_memory()).filter(|&bytes| bytes > 0)
            },
            load_average_1m: load_at_start().load_average_1m,
            others_runnable_at_start: load_at_start().others_runnable,
            build_profile: BUILD_PROFILE,
            timestamp_utc: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
            // vars_os: `vars()` panics on any variable that is not UTF-8, hpclab's or not.
            hpclab_env: hpclab_variables()
                .map(|(name, value)| (name, value.to_string_lossy().into_owned()))
                .collect(),
        }
    }
}

/// The variables hpclab reads, and what each changes.
pub const VARIABLES: [(&str, &str); 8] = [
    ("HPCLAB_MAX_SIZE", "caps every size (e.g. 1Mi)"),
    (
        "HPCLAB_SIMD",
        "a narrower SIMD set: avx512, avx2, sse2, neon, scalar",
    ),
    (
        "HPCLAB_STORES",
        "cached or streaming stores for large outputs",
    ),
    (
        "HPCLAB_REQUIRE_GPU",
        "1: a missing GPU fails the tests instead of skipping them",
    ),
    ("HPCLAB_BENCH_SIZE", "the size of `cargo bench`"),
    (
        "HPCLAB_REQUIRE_BROWSER",
        "1: a missing Chromium fails the report.html test",
    ),
    (
        "HPCLAB_PYTHON",
        "the interpreter of the Python rungs (default python3)",
    ),
    (
        "HPCLAB_REQUIRE_PYTHON",
        "1: a missing NumPy or Numba fails the Python rungs' tests",
    ),
];

/// The `HPCLAB_*` variables set, with their raw values.
fn hpclab_variables() -> impl Iterator<Item = (String, std::ffi::OsString)> {
    std::env::vars_os().filter_map(|(name, value)| {
        let name = name.into_string().ok()?;
        name.starts_with("HPCLAB_").then_some((name, value))
    })
}

/// Checks the `HPCLAB_*` variables before any work: a value that is not text, or that the
/// variable cannot take, is refused; a name hpclab does not read is a warning (a misspelt
/// variable would otherwise do nothing, silently).
pub fn check_variables() -> Result<()> {
    for (name, value) in hpclab_variables() {
        let Some(text) = value.to_str() else {
            return Err(Error::usage(format!(
                "{name}: the value is not UTF-8 text; unset it or give it as plain text"
            )));
        };
        match name.as_str() {
            "HPCLAB_MAX_SIZE" => {
                crate::size::parse_size(text)
                    .map_err(|message| Error::usage(format!("{name}={text}: {message}")))?;
            }
            "HPCLAB_STORES" if !matches!(text, "cached" | "streaming") => {
                return Err(Error::usage(format!(
                    "{name}={text}: give cached or streaming, or unset it"
                )));
            }
            known if VARIABLES.iter().any(|(n, _)| *n == known) => {}
            unknown => crate::error::say(&format!(
                "warning: {unknown} is not a variable hpclab reads (it reads {})",
                VARIABLES.map(|(n, _)| n).join(", ")
            )),
        }
    }
    Ok(())
}

/// What every document says first: which hpclab made it, from which command line, where.
/// Flattened into each document, so its keys stand at the top level of the JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// The version of hpclab that measured.
    pub hpclab_version: &'static str,
    /// The command line as typed.
    pub command: String,
    /// The machine it ran on.
    pub environment: Environment,
    /// What a reader must know before trusting the figures (a debug build, a busy machine, a
    /// large spread, too few samples), printed under the table.
    pub warnings: Vec<String>,
}

impl Provenance {
    /// The provenance of a document measured by `command` in `environment`.
    pub fn new(command: String, environment: Environment) -> Provenance {
        Provenance {
            hpclab_version: env!("CARGO_PKG_VERSION"),
            command,
            warnings: environment_warnings(&environment),
            environment,
        }
    }
}

/// The warnings the machine itself gives: a debug build; a machine busy at the start, when both
/// the load average and the tasks of other processes ready to run exceed the cores the
/// measurement leaves idle (by more than half a core, the noise of an idle system). The load
/// average alone trails the last minute, the previous command's own work included.
pub fn environment_warnings(environment: &Environment) -> Vec<String> {
    let mut warnings = Vec::new();
    if environment.build_profile == "debug" {
        warnings.push(
            "this is a debug build: its timings say little about the hardware (the SIMD and scalar loops are slowed unequally); measure with `cargo run --release -- …`"
                .to_string(),
        );
    }
    let cores = environment.cpu.logical_cores;
    let idle = cores.saturating_sub(environment.threads) as f64;
    let busy_now = environment
        .others_runnable_at_start
        .is_none_or(|others| others > idle + 0.5);
    if let Some(load) = environment
        .load_average_1m
        .filter(|&load| load > idle + 0.5 && busy_now)
    {
        warnings.push(format!(
            "the machine was busy: load average {load:.2} at the start, with {} of its {cores} cores left idle by this measurement; other work competed for the cores and the memory",
            idle as usize
        ));
    }
    warnings
}

/// The variables a launcher sets for each process: Open MPI, PMIx (Open MPI 5, Slurm), and the
/// PMI of MPICH, Intel MPI and MVAPICH.
const RANK_VARIABLES: [&str; 4] = ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "PMI_ID"];

/// This process's rank as its launcher announced it; `None` when no launcher started it.
pub fn launcher_rank() -> Option<usize> {
    RANK_VARIABLES
        .iter()
        .find_map(|name| std::env::var(name).ok()?.trim().parse().ok())
}
