//! Whether this process was started by an MPI launcher (mpirun, mpiexec, srun), read from the
//! environment the launcher sets, before MPI is initialised: hpclab refuses to start MPI work
//! in a process that no launcher started rather than run it as a lone "singleton" rank.

/// The variables a launcher sets for each process: Open MPI, PMIx (Open MPI 5, Slurm), and the
/// PMI of MPICH, Intel MPI and MVAPICH.
const RANK_VARIABLES: [&str; 4] = ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "PMI_ID"];

/// This process's rank as its launcher announced it; `None` when no launcher started it.
pub fn launcher_rank() -> Option<usize> {
    RANK_VARIABLES
        .iter()
        .find_map(|name| std::env::var(name).ok()?.trim().parse().ok())
}

/// The one-line advice for a process that no launcher started.
pub const NOT_UNDER_MPIRUN: &str = "`hpclab mpi` must be started by an MPI launcher, one process per rank: e.g. \
     `mpirun -n 2 hpclab mpi pingpong` (add --oversubscribe when there are fewer cores than ranks)";
