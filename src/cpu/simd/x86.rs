//! The x86_64 instruction sets: AVX-512, AVX2 with FMA, and the SSE2 baseline.

use super::{F32Lanes, SimdKernel};
use std::arch::x86_64::*;

#[target_feature(enable = "avx512f")]
pub(super) unsafe fn run_avx512<K: SimdKernel>(kernel: K) -> K::Output {
    kernel.run::<Avx512>()
}

#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn run_avx2<K: SimdKernel>(kernel: K) -> K::Output {
    kernel.run::<Avx2>()
}

// The methods below call intrinsics of sets the baseline lacks; they are only ever inlined
// into `run_avx512` / `run_avx2`, which `dispatch` calls after detection.

#[derive(Clone, Copy)]
pub(super) struct Avx512(__m512);

impl F32Lanes for Avx512 {
    const LANES: usize = 16;
    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        Avx512(unsafe { _mm512_loadu_ps(ptr) })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        unsafe { _mm512_storeu_ps(ptr, self.0) }
    }
    #[inline(always)]
    unsafe fn store_streaming(self, ptr: *mut f32) {
        unsafe { _mm512_stream_ps(ptr, self.0) }
    }
    #[inline(always)]
    fn store_fence() {
        unsafe { _mm_sfence() }
    }
    #[inline(always)]
    fn splat(value: f32) -> Self {
        Avx512(unsafe { _mm512_set1_ps(value) })
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Avx512(unsafe { _mm512_add_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn mul(self, other: Self) -> Self {
        Avx512(unsafe { _mm512_mul_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn mul_add(self, factor: Self, addend: Self) -> Self {
        Avx512(unsafe { _mm512_fmadd_ps(self.0, factor.0, addend.0) })
    }
    #[inline(always)]
    fn reduce_sum(self) -> f32 {
        unsafe { _mm512_reduce_add_ps(self.0) }
    }
    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        Avx512(unsafe { _mm512_sub_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn div(self, other: Self) -> Self {
        Avx512(unsafe { _mm512_div_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Avx512(unsafe { _mm512_sqrt_ps(self.0) })
    }
    #[inline(always)]
    fn min(self, other: Self) -> Self {
        Avx512(unsafe { _mm512_min_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        Avx512(unsafe { _mm512_max_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn iota() -> Self {
        Avx512(unsafe {
            _mm512_setr_ps(
                0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0,
                15.0,
            )
        })
    }
    type Mask = __mmask16;
    #[inline(always)]
    fn lt(self, other: Self) -> __mmask16 {
        unsafe { _mm512_cmp_ps_mask::<_CMP_LT_OQ>(self.0, other.0) }
    }
    #[inline(always)]
    fn le(self, other: Self) -> __mmask16 {
        unsafe { _mm512_cmp_ps_mask::<_CMP_LE_OQ>(self.0, other.0) }
    }
    #[inline(always)]
    fn select(mask: __mmask16, if_true: Self, if_false: Self) -> Self {
        Avx512(unsafe { _mm512_mask_blend_ps(mask, if_false.0, if_true.0) })
    }
    #[inline(always)]
    fn any(mask: __mmask16) -> bool {
        mask != 0
    }
}

#[derive(Clone, Copy)]
pub(super) struct Avx2(__m256);

impl F32Lanes for Avx2 {
    const LANES: usize = 8;
    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        Avx2(unsafe { _mm256_loadu_ps(ptr) })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        unsafe { _mm256_storeu_ps(ptr, self.0) }
    }
    #[inline(always)]
    unsafe fn store_streaming(self, ptr: *mut f32) {
        unsafe { _mm256_stream_ps(ptr, self.0) }
    }
    #[inline(always)]
    fn store_fence() {
        unsafe { _mm_sfence() }
    }
    #[inline(always)]
    fn splat(value: f32) -> Self {
        Avx2(unsafe { _mm256_set1_ps(value) })
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Avx2(unsafe { _mm256_add_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn mul(self, other: Self) -> Self {
        Avx2(unsafe { _mm256_mul_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn mul_add(self, factor: Self, addend: Self) -> Self {
        Avx2(unsafe { _mm256_fmadd_ps(self.0, factor.0, addend.0) })
    }
    #[inline(always)]
    fn reduce_sum(self) -> f32 {
        unsafe {
            let halves = _mm_add_ps(
                _mm256_castps256_ps128(self.0),
                _mm256_extractf128_ps(self.0, 1),
            );
            let pairs = _mm_add_ps(halves, _mm_movehl_ps(halves, halves));
            _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)))
        }
    }
    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        Avx2(unsafe { _mm256_sub_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn div(self, other: Self) -> Self {
        Avx2(unsafe { _mm256_div_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Avx2(unsafe { _mm256_sqrt_ps(self.0) })
    }
    #[inline(always)]
    fn min(self, other: Self) -> Self {
        Avx2(unsafe { _mm256_min_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        Avx2(unsafe { _mm256_max_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn iota() -> Self {
        Avx2(unsafe { _mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0) })
    }
    type Mask = __m256;
    #[inline(always)]
    fn lt(self, other: Self) -> __m256 {
        unsafe { _mm256_cmp_ps::<_CMP_LT_OQ>(self.0, other.0) }
    }
    #[inline(always)]
    fn le(self, other: Self) -> __m256 {
        unsafe { _mm256_cmp_ps::<_CMP_LE_OQ>(self.0, other.0) }
    }
    #[inline(always)]
    fn select(mask: __m256, if_true: Self, if_false: Self) -> Self {
        Avx2(unsafe { _mm256_blendv_ps(if_false.0, if_true.0, mask) })
    }
    #[inline(always)]
    fn any(mask: __m256) -> bool {
        unsafe { _mm256_movemask_ps(mask) != 0 }
    }
}

#[derive(Clone, Copy)]
pub(super) struct Sse2(__m128);

impl F32Lanes for Sse2 {
    const LANES: usize = 4;
    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        Sse2(unsafe { _mm_loadu_ps(ptr) })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        unsafe { _mm_storeu_ps(ptr, self.0) }
    }
    #[inline(always)]
    unsafe fn store_streaming(self, ptr: *mut f32) {
        unsafe { _mm_stream_ps(ptr, self.0) }
    }
    #[inline(always)]
    fn store_fence() {
        unsafe { _mm_sfence() }
    }
    #[inline(always)]
    fn splat(value: f32) -> Self {
        Sse2(unsafe { _mm_set1_ps(value) })
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Sse2(unsafe { _mm_add_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn mul(self, other: Self) -> Self {
        Sse2(unsafe { _mm_mul_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn mul_add(self, factor: Self, addend: Self) -> Self {
        // SSE2 has no FMA: two roundings.
        self.mul(factor).add(addend)
    }
    #[inline(always)]
    fn reduce_sum(self) -> f32 {
        unsafe {
            let pairs = _mm_add_ps(self.0, _mm_movehl_ps(self.0, self.0));
            _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)))
        }
    }
    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        Sse2(unsafe { _mm_sub_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn div(self, other: Self) -> Self {
        Sse2(unsafe { _mm_div_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Sse2(unsafe { _mm_sqrt_ps(self.0) })
    }
    #[inline(always)]
    fn min(self, other: Self) -> Self {
        Sse2(unsafe { _mm_min_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        Sse2(unsafe { _mm_max_ps(self.0, other.0) })
    }
    #[inline(always)]
    fn iota() -> Self {
        Sse2(unsafe { _mm_setr_ps(0.0, 1.0, 2.0, 3.0) })
    }
    type Mask = __m128;
    #[inline(always)]
    fn lt(self, other: Self) -> __m128 {
        unsafe { _mm_cmplt_ps(self.0, other.0) }
    }
    #[inline(always)]
    fn le(self, other: Self) -> __m128 {
        unsafe { _mm_cmple_ps(self.0, other.0) }
    }
    #[inline(always)]
    fn select(mask: __m128, if_true: Self, if_false: Self) -> Self {
        // SSE2 has no blend: (mask & a) | (!mask & b).
        Sse2(unsafe { _mm_or_ps(_mm_and_ps(mask, if_true.0), _mm_andnot_ps(mask, if_false.0)) })
    }
    #[inline(always)]
    fn any(mask: __m128) -> bool {
        unsafe { _mm_movemask_ps(mask) != 0 }
    }
}
