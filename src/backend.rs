//! The ways a kernel runs: [`Backend`] names every one, [`CpuBackend`] only those that run on
//! the host, so CPU dispatch cannot be handed the GPU.

use serde::Serialize;
use std::fmt;

/// Where and how a kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// One core, the kernel as plain CPython loops over Python floats, in a Python worker
    /// process (the first rung of the course's ladder).
    Python,
    /// The vectorized NumPy form (float32 arrays; BLAS for matmul), in a Python worker.
    Numpy,
    /// The loop form compiled just in time by Numba's `@njit` (a `parallel` variant with
    /// `prange`), in a Python worker.
    Numba,
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
    pub const ALL: [Backend; 8] = [
        Backend::Python,
        Backend::Numpy,
        Backend::Numba,
        Backend::Scalar,
        Backend::Simd,
        Backend::Rayon,
        Backend::Library,
        Backend::Gpu,
    ];

    /// The backends compiled into hpclab (no Python worker).
    pub const NATIVE: [Backend; 5] = [
        Backend::Scalar,
        Backend::Simd,
        Backend::Rayon,
        Backend::Library,
        Backend::Gpu,
    ];

    /// The Python rungs, run by a Python worker process; never part of `--backend all`.
    pub const PYTHON_RUNGS: [Backend; 3] = [Backend::Python, Backend::Numpy, Backend::Numba];

    /// The course's ladder in the order `--backend ladder` runs it (those the kernel has).
    pub const LADDER: [Backend; 7] = [
        Backend::Python,
        Backend::Numpy,
        Backend::Numba,
        Backend::Scalar,
        Backend::Simd,
        Backend::Rayon,
        Backend::Gpu,
    ];

    /// The four backends every kernel has.
    pub const STANDARD: [Backend; 4] =
        [Backend::Scalar, Backend::Simd, Backend::Rayon, Backend::Gpu];

    /// The lowercase name used on the command line and in records.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Python => "python",
            Backend::Numpy => "numpy",
            Backend::Numba => "numba",
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

    /// True for the backends that run on the host CPU (they have only a compute phase): the
    /// compiled ones and the Python rungs.
    pub fn is_cpu(self) -> bool {
        self != Backend::Gpu
    }

    /// True for the rungs a Python worker runs.
    pub fn is_python(self) -> bool {
        Backend::PYTHON_RUNGS.contains(&self)
    }

    /// The same backend as a [`CpuBackend`], or `None` for the GPU and the Python rungs.
    pub fn cpu(self) -> Option<CpuBackend> {
        match self {
            Backend::Python | Backend::Numpy | Backend::Numba => None,
            Backend::Scalar => Some(CpuBackend::Scalar),
            Backend::Simd => Some(CpuBackend::Simd),
            Backend::Rayon => Some(CpuBackend::Rayon),
            Backend::Library => Some(CpuBackend::Library),
            Backend::Gpu => None,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A backend that runs on the host CPU: what a kernel's `Problem::run_on` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CpuBackend {
    /// See [`Backend::Scalar`].
    Scalar,
    /// See [`Backend::Simd`].
    Simd,
    /// See [`Backend::Rayon`].
    Rayon,
    /// See [`Backend::Library`].
    Library,
}

impl CpuBackend {
    /// The loop form this backend runs, or `None` for the library.
    pub fn as_loop(self) -> Option<CpuLoop> {
        match self {
            CpuBackend::Scalar => Some(CpuLoop::Scalar),
            CpuBackend::Simd => Some(CpuLoop::Simd),
            CpuBackend::Rayon => Some(CpuLoop::Rayon),
            CpuBackend::Library => None,
        }
    }
}

/// The host loops every kernel has (what `Problem::run_loop` takes): the library backend is
/// separate, since only some kernels have one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CpuLoop {
    /// See [`Backend::Scalar`].
    Scalar,
    /// See [`Backend::Simd`].
    Simd,
    /// See [`Backend::Rayon`].
    Rayon,
}

impl From<CpuBackend> for Backend {
    fn from(backend: CpuBackend) -> Backend {
        match backend {
            CpuBackend::Scalar => Backend::Scalar,
            CpuBackend::Simd => Backend::Simd,
            CpuBackend::Rayon => Backend::Rayon,
            CpuBackend::Library => Backend::Library,
        }
    }
}

impl fmt::Display for CpuBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Backend::from(*self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_backends_round_trip_and_the_gpu_is_not_one() {
        for backend in Backend::ALL {
            match backend.cpu() {
                Some(cpu) => assert_eq!(Backend::from(cpu), backend),
                None => assert!(backend == Backend::Gpu || backend.is_python()),
            }
            assert_eq!(backend.is_cpu(), backend != Backend::Gpu);
        }
        assert_eq!(CpuBackend::Library.to_string(), "library");
    }
}
