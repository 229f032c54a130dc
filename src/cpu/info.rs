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

/// The processor's name: `/proc/cpuinfo` on Linux, else what sysinfo reads from the OS
/// (`machdep.cpu.brand_string` on macOS, the registry on Windows).
fn cpu_model() -> Option<String> {
    let from_proc = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name") || line.starts_with("Model"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        });
    from_proc.or_else(|| {
        let mut system = sysinfo::System::new();
        system.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
        system
            .cpus()
            .first()
            .map(|cpu| cpu.brand().trim().to_string())
            .filter(|brand| !brand.is_empty())
    })
}

/// Bytes of memory the OS says are available to a new allocation: `MemAvailable` on Linux,
/// else sysinfo's reading of the OS (free + inactive pages on macOS).
pub fn available_memory_bytes() -> Option<u64> {
    let from_proc = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        });
    from_proc.or_else(|| {
        let mut system = sysinfo::System::new();
        system.refresh_memory();
        Some(system.available_memory()).filter(|&bytes| bytes > 0)
    })
}

/// One level of the data cache hierarchy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheLevel {
    /// `L1d`, `L2`, `L3`.
    pub name: String,
    /// Capacity in bytes (of one instance; L1 and L2 are usually per core).
    pub bytes: u64,
}

/// The data and unified caches of CPU 0, where the OS describes them: sysfs on Linux,
/// `sysctl hw.*cachesize` on macOS; empty elsewhere.
pub fn cache_levels() -> Vec<CacheLevel> {
    let levels = sysfs_cache_levels();
    if levels.is_empty() && cfg!(target_os = "macos") {
        return sysctl_cache_levels(|name| {
            let output = std::process::Command::new("sysctl")
                .args(["-n", name])
                .output()
                .ok()?;
            String::from_utf8_lossy(&output.stdout).trim().parse().ok()
        });
    }
    levels
}

/// The caches macOS names with `sysctl` (`read` returns a key's value in bytes). On Apple
/// silicon the keys describe the performance cores.
fn sysctl_cache_levels(read: impl Fn(&str) -> Option<u64>) -> Vec<CacheLevel> {
    [
        ("L1d", "hw.l1dcachesize"),
        ("L2", "hw.l2cachesize"),
        ("L3", "hw.l3cachesize"),
    ]
    .into_iter()
    .filter_map(|(name, key)| {
        let bytes = read(key).filter(|&bytes| bytes > 0)?;
        Some(CacheLevel {
            name: name.to_string(),
            bytes,
        })
    })
    .collect()
}

/// The caches Linux describes under /sys/devices/system/cpu/cpu0/cache.
fn sysfs_cache_levels() -> Vec<CacheLevel> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macos_caches_come_from_sysctl_keys() {
        // An Apple M1's performance cores: 128 KiB L1d, 12 MiB L2, no L3 key.
        let levels = sysctl_cache_levels(|key| match key {
            "hw.l1dcachesize" => Some(128 << 10),
            "hw.l2cachesize" => Some(12 << 20),
            _ => None,
        });
        let names: Vec<(&str, u64)> = levels.iter().map(|l| (l.name.as_str(), l.bytes)).collect();
        assert_eq!(names, [("L1d", 128 << 10), ("L2", 12 << 20)]);
        assert!(sysctl_cache_levels(|_| Some(0)).is_empty());
    }

    #[test]
    fn memory_and_model_are_known_here() {
        assert!(available_memory_bytes().is_some_and(|bytes| bytes > 0));
        assert!(cpu_model().is_some_and(|model| !model.is_empty()));
    }
}
