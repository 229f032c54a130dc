//! Distributed memory: the 2-D diffusion stencil split into slabs of rows, one slab per process,
//! with the rows at the slab edges exchanged every step.
//!
//! The pieces that need no MPI live here unconditionally and are tested in every build:
//! - [`decomposition`]: which rows each rank owns, and the rank counts of a scaling series;
//! - [`slab`]: one rank's rows with a ghost row above and below, on the CPU ([`slab::CpuSlab`])
//!   and on the GPU ([`slab_gpu::GpuSlab`]), behind the [`slab::Slab`] trait;
//! - [`timeloop`]: the time loop of one rank — halo exchange, step, residual — over any
//!   [`timeloop::Neighbours`] (MPI ranks, or a single process alone).
//!
//! `mpi` (behind the cargo feature `mpi`) is the MPI session: initialisation, the
//! communicator-backed [`timeloop::Neighbours`], and how ranks agree on an error so that none is
//! left hanging.

pub mod decomposition;
pub mod farm;
pub mod launcher;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod slab;
pub mod slab_gpu;
pub mod timeloop;
