//! The environment every record carries: the CPU, the thread count, the SIMD set, the adapter.

use crate::cpu::Isa;
use crate::cpu::info::CpuInfo;
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
}

impl Environment {
    /// Describes this machine with the given pool size and adapter.
    pub fn capture(threads: usize, adapter: Option<AdapterSummary>) -> Environment {
        let cpu = CpuInfo::detect();
        Environment {
            simd: cpu.simd,
            cpu,
            threads,
            adapter,
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    }
}
