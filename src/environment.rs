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
}

impl Provenance {
    /// The provenance of a document measured by `command` in `environment`.
    pub fn new(command: String, environment: Environment) -> Provenance {
        Provenance {
            hpclab_version: env!("CARGO_PKG_VERSION"),
            command,
            environment,
        }
    }
}
