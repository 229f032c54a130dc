//! The four ways a kernel runs.

use serde::Serialize;
use std::fmt;

/// Where and how a kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// One core, the plain loop compiled for the baseline instruction set (the compiler may
    /// auto-vectorize it where the language allows).
    Scalar,
    /// One core, explicit SIMD with the widest instruction set detected at run time.
    Simd,
    /// All cores of the rayon pool, explicit SIMD inside each chunk.
    Rayon,
    /// The same computation through a tuned library crate (only kernels that have one).
    Library,
    /// A WGSL compute shader through wgpu, with upload and download timed apart.
    Gpu,
}

impl Backend {
    /// Every backend, in the order the tables list them.
    pub const ALL: [Backend; 5] = [
        Backend::Scalar,
        Backend::Simd,
        Backend::Rayon,
        Backend::Library,
        Backend::Gpu,
    ];

    /// The four backends every kernel has.
    pub const STANDARD: [Backend; 4] =
        [Backend::Scalar, Backend::Simd, Backend::Rayon, Backend::Gpu];

    /// The lowercase name used on the command line and in records.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Simd => "simd",
            Backend::Rayon => "rayon",
            Backend::Library => "library",
            Backend::Gpu => "gpu",
        }
    }

    /// Parses one backend name.
    pub fn parse(name: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.name() == name)
    }

    /// True for the backends that run on the host CPU (they have only a compute phase).
    pub fn is_cpu(self) -> bool {
        self != Backend::Gpu
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
