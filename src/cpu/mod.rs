//! What the CPU backends share: 64-byte aligned host arrays, the SIMD layers (f32 lanes and u32
//! lanes) with their run-time choice of instruction set, chunked parallel loops on the rayon
//! pool, and a description of the processor for the records.

pub mod aligned;
pub mod info;
pub mod parallel;
pub mod simd;
pub mod simd_u32;

pub use aligned::AlignedVec;
pub use simd::Isa;
