//! Where a run's working set lives: the smallest CPU cache level it fits in, main memory, or the
//! GPU's device memory. A bandwidth is that level's bandwidth, so every record says which.

use crate::backend::Backend;
use crate::cpu::info::CacheLevel;

/// Below this working set a GPU run may be served by the device's L2 cache, which wgpu does not
/// report: 128 MiB covers the largest L2 / last-level caches of current GPUs (H100/H200 50 MB,
/// RTX 4090 72 MB, Blackwell data-centre parts about 126 MB, AMD Infinity Cache up to 128 MB).
pub const GPU_MAY_FIT_L2_BYTES: u64 = 128 << 20;

/// The level a working set of `bytes` resides in on `backend` with `threads` threads.
///
/// On the CPU, the L1d and L2 sizes the OS reports are per core, so with several threads each
/// core holds its share; the L3 is taken as shared by all of them. `"memory"` when it fits none,
/// `"unknown"` when the OS reports no caches.
pub fn resides_in(bytes: u64, backend: Backend, threads: usize, caches: &[CacheLevel]) -> String {
    if backend == Backend::Gpu {
        return if bytes <= GPU_MAY_FIT_L2_BYTES {
            "device (may fit L2)".to_string()
        } else {
            "device".to_string()
        };
    }
    if caches.is_empty() {
        return "unknown".to_string();
    }
    let per_core = bytes.div_ceil(threads.max(1) as u64);
    caches
        .iter()
        .find(|level| {
            let private = level.name.starts_with("L1") || level.name.starts_with("L2");
            (if private { per_core } else { bytes }) <= level.bytes
        })
        .map_or_else(|| "memory".to_string(), |level| level.name.clone())
}

/// True when `level` (from [`resides_in`]) is a cache rather than memory: its bandwidth is not
/// the memory's.
pub fn is_cache(level: &str) -> bool {
    level.starts_with('L') || level.contains("may fit")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caches() -> Vec<CacheLevel> {
        [("L1d", 48 << 10), ("L2", 2 << 20), ("L3", 32 << 20)]
            .into_iter()
            .map(|(name, bytes)| CacheLevel {
                name: name.to_string(),
                bytes,
            })
            .collect()
    }

    #[test]
    fn each_level_from_its_capacity() {
        let cpu = |bytes, threads| resides_in(bytes, Backend::Simd, threads, &caches());
        assert_eq!(cpu(48 << 10, 1), "L1d");
        assert_eq!(cpu((48 << 10) + 1, 1), "L2");
        assert_eq!(cpu(12 << 20, 1), "L3");
        assert_eq!(cpu(32 << 20, 1), "L3");
        assert_eq!(cpu((32 << 20) + 1, 1), "memory");
        // Two cores hold half each in their private L2s; the shared L3 holds the whole.
        assert_eq!(cpu(4 << 20, 2), "L2");
        assert_eq!(cpu(64 << 20, 2), "memory");
        assert_eq!(resides_in(1, Backend::Scalar, 1, &[]), "unknown");
    }

    #[test]
    fn the_gpu_says_device_and_when_its_l2_may_hold_the_data() {
        let gpu = |bytes| resides_in(bytes, Backend::Gpu, 1, &caches());
        assert_eq!(gpu(32 << 20), "device (may fit L2)");
        assert_eq!(gpu(GPU_MAY_FIT_L2_BYTES + 1), "device");
        assert!(is_cache("L3") && is_cache("device (may fit L2)"));
        assert!(!is_cache("memory") && !is_cache("device"));
    }
}
