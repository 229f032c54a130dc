//! hpclab: a command-line laboratory that runs the same numeric kernel as scalar code, explicit
//! SIMD, all cores (rayon) and a WGSL compute shader (wgpu), verifies every result and times each
//! phase apart, so that the cost of computing and the cost of moving data are both visible.
//!
//! The binary (`src/main.rs`) only parses arguments and calls [`commands`]; everything else lives
//! here so that tests and benchmarks use the same code as the tool.

pub mod backend;
pub mod cli;
pub mod commands;
pub mod cpu;
pub mod distributed;
pub mod engine;
pub mod environment;
pub mod error;
pub mod experiments;
pub mod files;
pub mod gpu;
pub mod kernels;
pub mod measure;
pub mod outcome;
pub mod phase;
pub mod python;
pub mod report;
pub mod size;

pub use backend::Backend;
pub use error::{Error, Result};
pub use outcome::Outcome;
