//! A description of the host processor for `hpclab devices` and every record's environment.

use super::simd::Isa;
use serde::Serialize;

/// The host CPU as the records describe it.
#[derive(Debug, Clone, Serialize)]
pub struct CpuInfo {
    /// Marketing name from the OS (`/proc/cpuinfo` on Linux), or the architecture.
    pub model: String,
    /// Logical cores the OS lets this process use.
    pub logical_cores: usize,
    /// The instruction set the `simd` and `rayon` backends use (`avx512`, `avx2`, `sse2`, `neon`, `scalar`).
    pub simd: Isa,
    /// f32 values per SIMD register for that instruction set.
    pub f32_lanes: usize,
    /// The widest instruction set the CPU has (the `simd` one may be lower when `HPCLAB_SIMD` caps it).
    pub simd_detected: Isa,
    /// The CPU architecture (`x86_64`, `aarch64`, …).
    pub arch: &'static str,
}

impl CpuInfo {
    /// Reads the processor's description.
    pub fn detect() -> CpuInfo {
        let simd = Isa::selected();
        CpuInfo {
            model: cpu_model().unwrap_or_else(|| std::env::consts::ARCH.to_string()),
            logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            simd,
            f32_lanes: simd.f32_lanes(),
            simd_detected: Isa::detected(),
            arch: std::env::consts::ARCH,
        }
    }
}

/// Logical cores of the whole host, whatever this process is bound to (`/proc/cpuinfo` on
/// Linux; elsewhere the cores this process may use). Under `mpirun`, which binds each rank to
/// a core by default, this and [`CpuInfo::logical_cores`] differ.
pub fn host_logical_cores() -> usize {
    let counted = std::fs::read_to_string("/proc/cpuinfo")
        .map(|text| {
            text.lines()
                .filter(|line| line.starts_with("processor"))
                .count()
        })
        .unwrap_or(0);
    if counted > 0 {
        counted
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|line| line.starts_with("model name") || line.starts_with("Model"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, name)| name.trim().to_string())
}

/// Bytes of memory the OS says are available to a new allocation, where it says so (Linux).
pub fn available_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// One level of the data cache hierarchy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheLevel {
    /// `L1d`, `L2`, `L3`.
    pub name: String,
    /// Capacity in bytes (of one instance; L1 and L2 are usually per core).
    pub bytes: u64,
}

/// The data and unified caches of CPU 0, where the OS describes them (Linux sysfs).
pub fn cache_levels() -> Vec<CacheLevel> {
    let mut levels = Vec::new();
    for index in 0..8 {
        let folder = format!("/sys/devices/system/cpu/cpu0/cache/index{index}");
        let read = |file: &str| {
            std::fs::read_to_string(format!("{folder}/{file}"))
                .ok()
                .map(|s| s.trim().to_string())
        };
        let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size"))
        else {
            continue;
        };
        if kind == "Instruction" {
            continue;
        }
        let bytes = match size.strip_suffix('K') {
            Some(kib) => kib.parse::<u64>().ok().map(|k| k * 1024),
            None => size
                .strip_suffix('M')
                .and_then(|m| m.parse::<u64>().ok())
                .map(|m| m << 20),
        };
        if let Some(bytes) = bytes {
            let name = if kind == "Data" {
                format!("L{level}d")
            } else {
                format!("L{level}")
            };
            levels.push(CacheLevel { name, bytes });
        }
    }
    levels
}
