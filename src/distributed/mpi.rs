//! MPI session (being written).
