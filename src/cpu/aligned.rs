//! Host arrays aligned to 64 bytes (one cache line, one AVX-512 register).
//!
//! A `Vec<f32>` of many megabytes comes from `mmap` with a 16-byte header, so every 64-byte vector
//! load would straddle two cache lines; the C reference uses `aligned_alloc(64, …)`. Aligning the
//! host arrays keeps the comparison fair and the SIMD loads whole.

use bytemuck::{Pod, Zeroable};
use rayon::prelude::*;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

#[derive(Clone, Copy, Zeroable, Pod)]
#[repr(C, align(64))]
struct CacheLine([u8; 64]);

/// `count` zeroed cache lines straight from the allocator's zeroed memory: `vec![line; count]`
/// would write every line from this thread, deciding where each page lives.
fn untouched_lines(count: usize) -> Vec<CacheLine> {
    if count == 0 {
        return Vec::new();
    }
    let layout = std::alloc::Layout::array::<CacheLine>(count).expect("array size overflows");
    // SAFETY: the layout is non-empty; all-zero bytes are a valid `CacheLine` (it is `Zeroable`);
    // the pointer comes from the global allocator with exactly the layout `Vec<CacheLine>` of
    // capacity `count` uses, so the `Vec` may own and free it.
    unsafe {
        let pointer = std::alloc::alloc_zeroed(layout) as *mut CacheLine;
        if pointer.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Vec::from_raw_parts(pointer, count, count)
    }
}

/// A growable-once array of plain numbers whose first element sits on a 64-byte boundary.
#[derive(Clone)]
pub struct AlignedVec<T: Pod> {
    lines: Vec<CacheLine>,
    len: usize,
    element: PhantomData<T>,
}

impl<T: Pod> AlignedVec<T> {
    /// An array of `len` zeroed elements. The pages are not touched yet (they come zeroed from the
    /// OS, so the first write decides which socket's memory holds each page): fill it in
    /// parallel, with [`AlignedVec::filled`] or the static partition of `cpu::parallel`, before
    /// timing anything that writes it.
    pub fn zeroed(len: usize) -> Self {
        assert!(
            64 % std::mem::size_of::<T>() == 0,
            "element size must divide 64"
        );
        let per_line = 64 / std::mem::size_of::<T>();
        AlignedVec {
            lines: untouched_lines(len.div_ceil(per_line)),
            len,
            element: PhantomData,
        }
    }

    /// An array filled with `value`, each thread of the current pool writing the block its
    /// rayon loops will later work on (first touch places the pages near that thread).
    pub fn filled(len: usize, value: T) -> Self
    where
        T: Send + Sync,
    {
        let mut array = Self::zeroed(len);
        let chunk = super::parallel::chunk_len(len);
        array
            .par_chunks_mut(chunk)
            .for_each(|block| block.fill(value));
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

    #[test]
    fn zeroed_arrays_read_as_zero_and_clone_and_drop_cleanly() {
        for len in [0, 1, 17, 1 << 20] {
            let v = AlignedVec::<u32>::zeroed(len);
            assert_eq!(v.len(), len);
            assert!(v.iter().all(|&x| x == 0));
            let mut copy = v.clone();
            if let Some(last) = copy.last_mut() {
                *last = 7;
                assert_eq!(v[len - 1], 0, "a clone owns its own memory");
            }
        }
        // A large parallel fill reaches every element, across the pool's blocks.
        let big = AlignedVec::<f32>::filled((1 << 20) + 3, 1.5);
        assert!(big.iter().all(|&x| x == 1.5));
    }
}
