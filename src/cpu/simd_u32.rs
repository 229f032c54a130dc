//! Explicit SIMD over 32-bit unsigned integer lanes, with the instruction set chosen at run time.
//!
//! [`F32Lanes`](super::simd::F32Lanes) has no integer operations, and a counter-based random
//! generator needs them: wrapping multiply (low 32 bits), xor, shifts, an unsigned compare and an
//! add. [`U32Lanes`] is that register; a loop is written once, generic over it, inside a
//! [`U32Kernel`], and [`dispatch_u32`] runs it compiled for the set [`Isa::selected`] names —
//! the same pattern as `simd.rs`, so `HPCLAB_SIMD` caps both alike.
//!
//! Per instruction set: AVX-512F has every operation natively (`vpmulld`, `vpcmpud` into a mask
//! register, masked add). AVX2 has `vpmulld` but only a signed compare, so the unsigned compare
//! flips the sign bit of both sides first. SSE2 (the x86_64 baseline) has neither a 32-bit
//! multiply-low (`pmulld` is SSE4.1) nor an unsigned compare: the multiply is emulated with two
//! `pmuludq` (32×32→64 on lanes 0 and 2, then on lanes 1 and 3) and shuffles that keep the low
//! halves, and the compare flips sign bits. NEON has all of them (`vmulq_u32`, `vcltq_u32`).

use super::simd::Isa;

/// One SIMD register of u32 lanes. Arithmetic wraps modulo 2^32, as `u32::wrapping_*` does.
/// Implemented for each instruction set; only [`dispatch_u32`] picks one, after checking that
/// the CPU has it, which is what makes the `unsafe` inside sound.
pub trait U32Lanes: Copy {
    /// Lanes per register.
    const LANES: usize;
    /// Loads `LANES` values (any alignment).
    ///
    /// # Safety
    /// `ptr .. ptr + LANES` must be readable.
    unsafe fn load(ptr: *const u32) -> Self;
    /// Stores `LANES` values (any alignment).
    ///
    /// # Safety
    /// `ptr .. ptr + LANES` must be writable.
    unsafe fn store(self, ptr: *mut u32);
    /// Every lane set to `value`.
    fn splat(value: u32) -> Self;
    /// `[0, 1, 2, …, LANES - 1]`: lane offsets, e.g. for sample indices.
    fn iota() -> Self;
    /// Lane-wise wrapping sum.
    fn add(self, other: Self) -> Self;
    /// Lane-wise wrapping difference.
    fn sub(self, other: Self) -> Self;
    /// Lane-wise product, low 32 bits (wrapping multiply).
    fn mul_lo(self, other: Self) -> Self;
    /// Lane-wise bitwise and.
    fn and(self, other: Self) -> Self;
    /// Lane-wise bitwise or.
    fn or(self, other: Self) -> Self;
    /// Lane-wise bitwise exclusive or.
    fn xor(self, other: Self) -> Self;
    /// Logical shift right of every lane by `bits` (< 32).
    fn shr(self, bits: u32) -> Self;
    /// One boolean per lane, as the instruction set represents it.
    type Mask: Copy;
    /// Lanes where `self < other`, comparing as unsigned integers.
    fn lt(self, other: Self) -> Self::Mask;
    /// `self + 1` in the lanes where `mask` is set, `self` elsewhere (a per-lane counter).
    fn increment(self, mask: Self::Mask) -> Self;
    /// Sum of the lanes, without wrapping.
    fn reduce_sum(self) -> u64;
}

/// A loop written once over any [`U32Lanes`]; `run` must be `#[inline(always)]` so that it is
/// compiled inside the instruction-set-specific function that [`dispatch_u32`] calls.
pub trait U32Kernel {
    /// What the loop returns.
    type Output;
    /// Runs the loop with registers of type `S`.
    fn run<S: U32Lanes>(self) -> Self::Output;
}

/// Runs `kernel` with the instruction set [`Isa::selected`] names (one plain `u32` lane when it
/// names none).
pub fn dispatch_u32<K: U32Kernel>(kernel: K) -> K::Output {
    match Isa::selected() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `selected` returns Avx512 only when the CPU reports avx512f.
        Isa::Avx512 => unsafe { x86::run_avx512(kernel) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `selected` returns Avx2 only when the CPU reports avx2 (and fma).
        Isa::Avx2 => unsafe { x86::run_avx2(kernel) },
        #[cfg(target_arch = "x86_64")]
        Isa::Sse2 => kernel.run::<x86::Sse2U32>(),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => kernel.run::<arm::NeonU32>(),
        _ => kernel.run::<u32>(),
    }
}

impl U32Lanes for u32 {
    const LANES: usize = 1;
    #[inline(always)]
    unsafe fn load(ptr: *const u32) -> Self {
        unsafe { *ptr }
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut u32) {
        unsafe { *ptr = self }
    }
    #[inline(always)]
    fn splat(value: u32) -> Self {
        value
    }
    #[inline(always)]
    fn iota() -> Self {
        0
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        self.wrapping_sub(other)
    }
    #[inline(always)]
    fn mul_lo(self, other: Self) -> Self {
        self.wrapping_mul(other)
    }
    #[inline(always)]
    fn and(self, other: Self) -> Self {
        self & other
    }
    #[inline(always)]
    fn or(self, other: Self) -> Self {
        self | other
    }
    #[inline(always)]
    fn xor(self, other: Self) -> Self {
        self ^ other
    }
    #[inline(always)]
    fn shr(self, bits: u32) -> Self {
        self >> bits
    }
    type Mask = bool;
    #[inline(always)]
    fn lt(self, other: Self) -> bool {
        self < other
    }
    #[inline(always)]
    fn increment(self, mask: bool) -> Self {
        self + mask as u32
    }
    #[inline(always)]
    fn reduce_sum(self) -> u64 {
        self as u64
    }
}

/// Sum of the lanes of a register stored to memory, widened to u64 (not on any hot path).
#[inline(always)]
fn sum_lanes(lanes: &[u32]) -> u64 {
    lanes.iter().map(|&lane| lane as u64).sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{U32Kernel, U32Lanes, sum_lanes};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn run_avx512<K: U32Kernel>(kernel: K) -> K::Output {
        kernel.run::<Avx512U32>()
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn run_avx2<K: U32Kernel>(kernel: K) -> K::Output {
        kernel.run::<Avx2U32>()
    }

    // The methods below call intrinsics of sets the baseline lacks; they are only ever inlined
    // into `run_avx512` / `run_avx2`, which `dispatch_u32` calls after detection.

    #[derive(Clone, Copy)]
    pub(super) struct Avx512U32(__m512i);

    impl U32Lanes for Avx512U32 {
        const LANES: usize = 16;
        #[inline(always)]
        unsafe fn load(ptr: *const u32) -> Self {
            Avx512U32(unsafe { _mm512_loadu_si512(ptr.cast()) })
        }
        #[inline(always)]
        unsafe fn store(self, ptr: *mut u32) {
            unsafe { _mm512_storeu_si512(ptr.cast(), self.0) }
        }
        #[inline(always)]
        fn splat(value: u32) -> Self {
            Avx512U32(unsafe { _mm512_set1_epi32(value as i32) })
        }
        #[inline(always)]
        fn iota() -> Self {
            Avx512U32(unsafe {
                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
            })
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            Avx512U32(unsafe { _mm512_add_epi32(self.0, other.0) })
        }
        #[inline(always)]
        fn sub(self, other: Self) -> Self {
            Avx512U32(unsafe { _mm512_sub_epi32(self.0, other.0) })
        }
        #[inline(always)]
        fn mul_lo(self, other: Self) -> Self {
            Avx512U32(unsafe { _mm512_mullo_epi32(self.0, other.0) })
        }
        #[inline(always)]
        fn and(self, other: Self) -> Self {
            Avx512U32(unsafe { _mm512_and_si512(self.0, other.0) })
        }
        #[inline(always)]
        fn or(self, other: Self) -> Self {
            Avx512U32(unsafe { _mm512_or_si512(self.0, other.0) })
        }
        #[inline(always)]
        fn xor(self, other: Self) -> Self {
            Avx512U32(unsafe { _mm512_xor_si512(self.0, other.0) })
        }
        #[inline(always)]
        fn shr(self, bits: u32) -> Self {
            Avx512U32(unsafe { _mm512_srl_epi32(self.0, _mm_cvtsi32_si128(bits as i32)) })
        }
        type Mask = __mmask16;
        #[inline(always)]
        fn lt(self, other: Self) -> __mmask16 {
            unsafe { _mm512_cmplt_epu32_mask(self.0, other.0) }
        }
        #[inline(always)]
        fn increment(self, mask: __mmask16) -> Self {
            Avx512U32(unsafe { _mm512_mask_add_epi32(self.0, mask, self.0, _mm512_set1_epi32(1)) })
        }
        #[inline(always)]
        fn reduce_sum(self) -> u64 {
            let mut lanes = [0u32; 16];
            unsafe { self.store(lanes.as_mut_ptr()) };
            sum_lanes(&lanes)
        }
    }

    /// Flips the sign bit, which turns an unsigned order into the signed order that
    /// `pcmpgtd` compares.
    const SIGN: i32 = i32::MIN;

    #[derive(Clone, Copy)]
    pub(super) struct Avx2U32(__m256i);

    impl U32Lanes for Avx2U32 {
        const LANES: usize = 8;
        #[inline(always)]
        unsafe fn load(ptr: *const u32) -> Self {
            Avx2U32(unsafe { _mm256_loadu_si256(ptr.cast()) })
        }
        #[inline(always)]
        unsafe fn store(self, ptr: *mut u32) {
            unsafe { _mm256_storeu_si256(ptr.cast(), self.0) }
        }
        #[inline(always)]
        fn splat(value: u32) -> Self {
            Avx2U32(unsafe { _mm256_set1_epi32(value as i32) })
        }
        #[inline(always)]
        fn iota() -> Self {
            Avx2U32(unsafe { _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7) })
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            Avx2U32(unsafe { _mm256_add_epi32(self.0, other.0) })
        }
        #[inline(always)]
        fn sub(self, other: Self) -> Self {
            Avx2U32(unsafe { _mm256_sub_epi32(self.0, other.0) })
        }
        #[inline(always)]
        fn mul_lo(self, other: Self) -> Self {
            Avx2U32(unsafe { _mm256_mullo_epi32(self.0, other.0) })
        }
        #[inline(always)]
        fn and(self, other: Self) -> Self {
            Avx2U32(unsafe { _mm256_and_si256(self.0, other.0) })
        }
        #[inline(always)]
        fn or(self, other: Self) -> Self {
            Avx2U32(unsafe { _mm256_or_si256(self.0, other.0) })
        }
        #[inline(always)]
        fn xor(self, other: Self) -> Self {
            Avx2U32(unsafe { _mm256_xor_si256(self.0, other.0) })
        }
        #[inline(always)]
        fn shr(self, bits: u32) -> Self {
            Avx2U32(unsafe { _mm256_srl_epi32(self.0, _mm_cvtsi32_si128(bits as i32)) })
        }
        /// All ones in the lanes that hold.
        type Mask = __m256i;
        #[inline(always)]
        fn lt(self, other: Self) -> __m256i {
            unsafe {
                let sign = _mm256_set1_epi32(SIGN);
                _mm256_cmpgt_epi32(
                    _mm256_xor_si256(other.0, sign),
                    _mm256_xor_si256(self.0, sign),
                )
            }
        }
        #[inline(always)]
        fn increment(self, mask: __m256i) -> Self {
            // A set lane is all ones, i.e. -1: subtracting it adds one.
            Avx2U32(unsafe { _mm256_sub_epi32(self.0, mask) })
        }
        #[inline(always)]
        fn reduce_sum(self) -> u64 {
            let mut lanes = [0u32; 8];
            unsafe { self.store(lanes.as_mut_ptr()) };
            sum_lanes(&lanes)
        }
    }

    #[derive(Clone, Copy)]
    pub(super) struct Sse2U32(__m128i);

    impl U32Lanes for Sse2U32 {
        const LANES: usize = 4;
        #[inline(always)]
        unsafe fn load(ptr: *const u32) -> Self {
            Sse2U32(unsafe { _mm_loadu_si128(ptr.cast()) })
        }
        #[inline(always)]
        unsafe fn store(self, ptr: *mut u32) {
            unsafe { _mm_storeu_si128(ptr.cast(), self.0) }
        }
        #[inline(always)]
        fn splat(value: u32) -> Self {
            Sse2U32(unsafe { _mm_set1_epi32(value as i32) })
        }
        #[inline(always)]
        fn iota() -> Self {
            Sse2U32(unsafe { _mm_setr_epi32(0, 1, 2, 3) })
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            Sse2U32(unsafe { _mm_add_epi32(self.0, other.0) })
        }
        #[inline(always)]
        fn sub(self, other: Self) -> Self {
            Sse2U32(unsafe { _mm_sub_epi32(self.0, other.0) })
        }
        #[inline(always)]
        fn mul_lo(self, other: Self) -> Self {
            // SSE2 has no 32-bit multiply-low (pmulld is SSE4.1): pmuludq multiplies lanes 0 and
            // 2 into 64-bit products, a byte shift brings lanes 1 and 3 there for a second
            // pmuludq, and shuffles gather the four low halves back in order.
            Sse2U32(unsafe {
                let even = _mm_mul_epu32(self.0, other.0);
                let odd = _mm_mul_epu32(_mm_srli_si128::<4>(self.0), _mm_srli_si128::<4>(other.0));
                _mm_unpacklo_epi32(
                    _mm_shuffle_epi32::<0b00_00_10_00>(even),
                    _mm_shuffle_epi32::<0b00_00_10_00>(odd),
                )
            })
        }
        #[inline(always)]
        fn and(self, other: Self) -> Self {
            Sse2U32(unsafe { _mm_and_si128(self.0, other.0) })
        }
        #[inline(always)]
        fn or(self, other: Self) -> Self {
            Sse2U32(unsafe { _mm_or_si128(self.0, other.0) })
        }
        #[inline(always)]
        fn xor(self, other: Self) -> Self {
            Sse2U32(unsafe { _mm_xor_si128(self.0, other.0) })
        }
        #[inline(always)]
        fn shr(self, bits: u32) -> Self {
            Sse2U32(unsafe { _mm_srl_epi32(self.0, _mm_cvtsi32_si128(bits as i32)) })
        }
        /// All ones in the lanes that hold.
        type Mask = __m128i;
        #[inline(always)]
        fn lt(self, other: Self) -> __m128i {
            unsafe {
                let sign = _mm_set1_epi32(SIGN);
                _mm_cmplt_epi32(_mm_xor_si128(self.0, sign), _mm_xor_si128(other.0, sign))
            }
        }
        #[inline(always)]
        fn increment(self, mask: __m128i) -> Self {
            // A set lane is all ones, i.e. -1: subtracting it adds one.
            Sse2U32(unsafe { _mm_sub_epi32(self.0, mask) })
        }
        #[inline(always)]
        fn reduce_sum(self) -> u64 {
            let mut lanes = [0u32; 4];
            unsafe { self.store(lanes.as_mut_ptr()) };
            sum_lanes(&lanes)
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod arm {
    use super::{U32Lanes, sum_lanes};
    use std::arch::aarch64::*;

    #[derive(Clone, Copy)]
    pub(super) struct NeonU32(uint32x4_t);

    impl U32Lanes for NeonU32 {
        const LANES: usize = 4;
        #[inline(always)]
        unsafe fn load(ptr: *const u32) -> Self {
            NeonU32(unsafe { vld1q_u32(ptr) })
        }
        #[inline(always)]
        unsafe fn store(self, ptr: *mut u32) {
            unsafe { vst1q_u32(ptr, self.0) }
        }
        #[inline(always)]
        fn splat(value: u32) -> Self {
            NeonU32(unsafe { vdupq_n_u32(value) })
        }
        #[inline(always)]
        fn iota() -> Self {
            let lanes = [0u32, 1, 2, 3];
            NeonU32(unsafe { vld1q_u32(lanes.as_ptr()) })
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            NeonU32(unsafe { vaddq_u32(self.0, other.0) })
        }
        #[inline(always)]
        fn sub(self, other: Self) -> Self {
            NeonU32(unsafe { vsubq_u32(self.0, other.0) })
        }
        #[inline(always)]
        fn mul_lo(self, other: Self) -> Self {
            NeonU32(unsafe { vmulq_u32(self.0, other.0) })
        }
        #[inline(always)]
        fn and(self, other: Self) -> Self {
            NeonU32(unsafe { vandq_u32(self.0, other.0) })
        }
        #[inline(always)]
        fn or(self, other: Self) -> Self {
            NeonU32(unsafe { vorrq_u32(self.0, other.0) })
        }
        #[inline(always)]
        fn xor(self, other: Self) -> Self {
            NeonU32(unsafe { veorq_u32(self.0, other.0) })
        }
        #[inline(always)]
        fn shr(self, bits: u32) -> Self {
            // NEON shifts by a signed per-lane amount; negative means right.
            NeonU32(unsafe { vshlq_u32(self.0, vdupq_n_s32(-(bits as i32))) })
        }
        /// All ones in the lanes that hold.
        type Mask = uint32x4_t;
        #[inline(always)]
        fn lt(self, other: Self) -> uint32x4_t {
            unsafe { vcltq_u32(self.0, other.0) }
        }
        #[inline(always)]
        fn increment(self, mask: uint32x4_t) -> Self {
            // A set lane is all ones, i.e. -1 modulo 2^32: subtracting it adds one.
            NeonU32(unsafe { vsubq_u32(self.0, mask) })
        }
        #[inline(always)]
        fn reduce_sum(self) -> u64 {
            let mut lanes = [0u32; 4];
            unsafe { self.store(lanes.as_mut_ptr()) };
            sum_lanes(&lanes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies every lane operation to `a[i]`, `b[i]` and counts `a < b`, to compare with
    /// plain wrapping `u32` arithmetic.
    struct Ops<'a>(&'a [u32], &'a [u32], &'a mut [u32]);
    impl U32Kernel for Ops<'_> {
        type Output = u64;
        #[inline(always)]
        fn run<S: U32Lanes>(self) -> u64 {
            let (a, b, out) = (self.0, self.1, self.2);
            let mut below = S::splat(0);
            let mut i = 0;
            while i + S::LANES <= a.len() {
                // SAFETY: i + LANES <= len of all three slices.
                let (x, y) = unsafe { (S::load(a.as_ptr().add(i)), S::load(b.as_ptr().add(i))) };
                below = below.increment(x.lt(y));
                let lane = S::iota().add(S::splat(i as u32));
                let mixed = x
                    .mul_lo(y)
                    .xor(x.shr(7))
                    .add(y.or(x.and(S::splat(0xFF00))))
                    .sub(lane);
                unsafe { mixed.store(out.as_mut_ptr().add(i)) };
                i += S::LANES;
            }
            below.reduce_sum()
        }
    }

    #[test]
    fn every_u32_lane_operation_matches_wrapping_arithmetic() {
        let n = 64;
        // Values on both sides of 2^31, so that a signed compare would get some of them wrong.
        let a: Vec<u32> = (0..n as u32)
            .map(|i| i.wrapping_mul(0x9E37_79B9) ^ 0x8000_0001)
            .collect();
        let b: Vec<u32> = (0..n as u32)
            .map(|i| i.wrapping_mul(0x85EB_CA6B).rotate_left(7))
            .collect();
        let mut out = vec![0u32; n];
        let below = dispatch_u32(Ops(&a, &b, &mut out));
        let mut want_below = 0;
        for i in 0..n {
            let (x, y) = (a[i], b[i]);
            want_below += (x < y) as u64;
            let want = (x.wrapping_mul(y) ^ (x >> 7))
                .wrapping_add(y | (x & 0xFF00))
                .wrapping_sub(i as u32);
            assert_eq!(out[i], want, "lane {i}: {x:#x}, {y:#x}");
        }
        assert_eq!(below, want_below);
        assert!(
            below > 0 && below < n as u64,
            "the data must exercise both outcomes"
        );
    }
}
