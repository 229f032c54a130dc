//! ARM NEON (the aarch64 baseline).

use super::F32Lanes;
use std::arch::aarch64::*;

#[derive(Clone, Copy)]
pub(super) struct Neon(float32x4_t);

impl F32Lanes for Neon {
    const LANES: usize = 4;
    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        Neon(unsafe { vld1q_f32(ptr) })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        unsafe { vst1q_f32(ptr, self.0) }
    }
    #[inline(always)]
    fn splat(value: f32) -> Self {
        Neon(unsafe { vdupq_n_f32(value) })
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Neon(unsafe { vaddq_f32(self.0, other.0) })
    }
    #[inline(always)]
    fn mul(self, other: Self) -> Self {
        Neon(unsafe { vmulq_f32(self.0, other.0) })
    }
    #[inline(always)]
    fn mul_add(self, factor: Self, addend: Self) -> Self {
        Neon(unsafe { vfmaq_f32(addend.0, self.0, factor.0) })
    }
    #[inline(always)]
    fn reduce_sum(self) -> f32 {
        unsafe { vaddvq_f32(self.0) }
    }
    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        Neon(unsafe { vsubq_f32(self.0, other.0) })
    }
    #[inline(always)]
    fn div(self, other: Self) -> Self {
        Neon(unsafe { vdivq_f32(self.0, other.0) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Neon(unsafe { vsqrtq_f32(self.0) })
    }
    #[inline(always)]
    fn min(self, other: Self) -> Self {
        Neon(unsafe { vminq_f32(self.0, other.0) })
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        Neon(unsafe { vmaxq_f32(self.0, other.0) })
    }
    #[inline(always)]
    fn iota() -> Self {
        let lanes = [0.0f32, 1.0, 2.0, 3.0];
        Neon(unsafe { vld1q_f32(lanes.as_ptr()) })
    }
    type Mask = uint32x4_t;
    #[inline(always)]
    fn lt(self, other: Self) -> uint32x4_t {
        unsafe { vcltq_f32(self.0, other.0) }
    }
    #[inline(always)]
    fn le(self, other: Self) -> uint32x4_t {
        unsafe { vcleq_f32(self.0, other.0) }
    }
    #[inline(always)]
    fn select(mask: uint32x4_t, if_true: Self, if_false: Self) -> Self {
        Neon(unsafe { vbslq_f32(mask, if_true.0, if_false.0) })
    }
    #[inline(always)]
    fn any(mask: uint32x4_t) -> bool {
        unsafe { vmaxvq_u32(mask) != 0 }
    }
}
