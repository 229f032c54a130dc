//! Whether this process was started by an MPI launcher (mpirun, mpiexec, srun), read from the
//! environment the launcher sets, before MPI is initialised: hpclab refuses to start MPI work
//! in a process that no launcher started rather than run it as a lone "singleton" rank.

pub use crate::environment::launcher_rank;

/// The one-line advice for a process that no launcher started.
pub const NOT_UNDER_MPIRUN: &str = "`hpclab mpi` must be started by an MPI launcher, one process per rank: e.g. \
     `mpirun -n 2 hpclab mpi pingpong` (add --oversubscribe when there are fewer cores than ranks)";

/// How long a rank other than 0 waits before it exits with a mistake that only rank 0 reports,
/// found before MPI starts (a flag clap refuses, a build without MPI): mpirun ends the whole job
/// when the first rank exits with an error, and rank 0's line must be out by then.
pub const LET_RANK_0_SPEAK: std::time::Duration = std::time::Duration::from_secs(1);

/// True when this process is a rank other than 0 of an MPI job: it then stays silent about a
/// mistake every rank finds, after waiting [`LET_RANK_0_SPEAK`].
pub fn quiet_rank_lingers() -> bool {
    let quiet = launcher_rank().is_some_and(|rank| rank > 0);
    if quiet {
        // mpirun may end this rank with SIGTERM once rank 0 has exited: nothing to add then.
        crate::files::quiet_on_signal();
        std::thread::sleep(LET_RANK_0_SPEAK);
    }
    quiet
}
