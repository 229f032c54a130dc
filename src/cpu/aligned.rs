//! Host arrays aligned to 64 bytes (one cache line, one AVX-512 register).
//!
//! A `Vec<f32>` of many megabytes comes from `mmap` with a 16-byte header, so every 64-byte vector
//! load would straddle two cache lines; the C reference uses `aligned_alloc(64, …)`. Aligning the
//! host arrays keeps the comparison fair and the SIMD loads whole.

use bytemuck::{Pod, Zeroable};
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

#[derive(Clone, Copy, Zeroable, Pod)]
#[repr(C, align(64))]
struct CacheLine([u8; 64]);

/// A growable-once array of plain numbers whose first element sits on a 64-byte boundary.
#[derive(Clone)]
pub struct AlignedVec<T: Pod> {
    lines: Vec<CacheLine>,
    len: usize,
    element: PhantomData<T>,
}

impl<T: Pod> AlignedVec<T> {
    /// An array of `len` zeroed elements. The pages are not touched yet (the allocator asks the OS
    /// for zero pages), so fill it before timing anything that writes it.
    pub fn zeroed(len: usize) -> Self {
        assert!(
            64 % std::mem::size_of::<T>() == 0,
            "element size must divide 64"
        );
        let per_line = 64 / std::mem::size_of::<T>();
        AlignedVec {
            lines: vec![CacheLine::zeroed(); len.div_ceil(per_line)],
            len,
            element: PhantomData,
        }
    }

    /// An array filled with `value` (every page touched).
    pub fn filled(len: usize, value: T) -> Self {
        let mut array = Self::zeroed(len);
        array.fill(value);
        array
    }

    /// The array as raw bytes, for uploads.
    pub fn as_bytes(&self) -> &[u8] {
        bytemuck::cast_slice(self.deref())
    }

    /// The array as mutable raw bytes, for downloads.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        bytemuck::cast_slice_mut(self.deref_mut())
    }
}

impl<T: Pod> Deref for AlignedVec<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &bytemuck::cast_slice(&self.lines)[..self.len]
    }
}

impl<T: Pod> DerefMut for AlignedVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut bytemuck::cast_slice_mut(&mut self.lines)[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_aligned_and_has_the_requested_length() {
        for len in [0, 1, 15, 16, 17, 1000] {
            let v = AlignedVec::<f32>::filled(len, 2.5);
            assert_eq!(v.len(), len);
            assert_eq!(v.as_ptr() as usize % 64, 0);
            assert!(v.iter().all(|&x| x == 2.5));
        }
    }
}
