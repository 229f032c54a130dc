//! Measurement: the warm-up and sample loop, the statistics, and the record each
//! (kernel, backend, size) measurement becomes, with its derived figures.

pub mod compare;
pub mod fit;
pub mod noise;
pub mod record;
pub mod residence;
pub mod runner;
pub mod stats;
pub mod verdict;

pub use record::{ComputeTimer, Phases, Record};
pub use runner::{MeasureOptions, PhaseSample};
pub use stats::Stats;
