//! The Python rungs (`python`, `numpy`, `numba`): arrays a kernel hands to a Python worker
//! process and reads back, the worker itself ([`worker`]) and the Python sources built into the
//! binary ([`sources`], from the `python/` folder).
//!
//! Inputs and outputs travel as raw little-endian files in a scratch folder (one write and one
//! read each, never element by element); parameters travel as JSON.

pub mod sources;
pub mod worker;

use serde::Serialize;

/// Element type of an array, named as NumPy names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    Float32,
    Float64,
    Uint32,
    Uint8,
}

/// An input array, borrowed from the problem.
pub enum ArrayRef<'a> {
    Float32(&'a [f32]),
    Float64(&'a [f64]),
    Uint32(&'a [u32]),
    Uint8(&'a [u8]),
}

impl ArrayRef<'_> {
    /// Its element type.
    pub fn dtype(&self) -> Dtype {
        match self {
            ArrayRef::Float32(_) => Dtype::Float32,
            ArrayRef::Float64(_) => Dtype::Float64,
            ArrayRef::Uint32(_) => Dtype::Uint32,
            ArrayRef::Uint8(_) => Dtype::Uint8,
        }
    }

    /// Its bytes as they lie in memory (little-endian on every target hpclab builds for).
    pub fn bytes(&self) -> &[u8] {
        match self {
            ArrayRef::Float32(values) => bytemuck::cast_slice(values),
            ArrayRef::Float64(values) => bytemuck::cast_slice(values),
            ArrayRef::Uint32(values) => bytemuck::cast_slice(values),
            ArrayRef::Uint8(values) => values,
        }
    }
}

/// An output array the worker's result is read into, borrowed mutably from the problem.
pub enum ArrayMut<'a> {
    Float32(&'a mut [f32]),
    Float64(&'a mut [f64]),
    Uint32(&'a mut [u32]),
    Uint8(&'a mut [u8]),
}

impl ArrayMut<'_> {
    /// Its element type.
    pub fn dtype(&self) -> Dtype {
        match self {
            ArrayMut::Float32(_) => Dtype::Float32,
            ArrayMut::Float64(_) => Dtype::Float64,
            ArrayMut::Uint32(_) => Dtype::Uint32,
            ArrayMut::Uint8(_) => Dtype::Uint8,
        }
    }

    /// Its bytes, to read a file into.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            ArrayMut::Float32(values) => bytemuck::cast_slice_mut(values),
            ArrayMut::Float64(values) => bytemuck::cast_slice_mut(values),
            ArrayMut::Uint32(values) => bytemuck::cast_slice_mut(values),
            ArrayMut::Uint8(values) => values,
        }
    }
}

/// A named input with the shape the Python code sees (`[n]`, `[rows, cols]`).
pub struct Input<'a> {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub data: ArrayRef<'a>,
}

/// A named output the Python code returns, with its shape and element type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputSpec {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub dtype: Dtype,
}

/// What a problem hands the Python worker: parameters (JSON), inputs, and the outputs it expects
/// back, in the order the problem's `python_outputs` lends them.
pub struct PythonCall<'a> {
    pub params: serde_json::Value,
    pub inputs: Vec<Input<'a>>,
    pub outputs: Vec<OutputSpec>,
}

impl OutputSpec {
    /// An output of `shape` and `dtype`.
    pub fn new(name: &'static str, shape: &[usize], dtype: Dtype) -> OutputSpec {
        OutputSpec {
            name,
            shape: shape.to_vec(),
            dtype,
        }
    }

    /// Its size in bytes.
    pub fn bytes(&self) -> usize {
        let element = match self.dtype {
            Dtype::Float32 | Dtype::Uint32 => 4,
            Dtype::Float64 => 8,
            Dtype::Uint8 => 1,
        };
        self.shape.iter().product::<usize>() * element
    }
}
