//! Explicit SIMD with the instruction set chosen at run time.
//!
//! A kernel writes its vector loop once, generic over [`F32Lanes`] (one SIMD register of f32), and
//! wraps it in a [`SimdKernel`]. [`dispatch`] picks the widest instruction set this CPU has
//! (AVX-512, AVX2+FMA, SSE2, NEON, or one lane of plain f32) and runs the loop inside a function
//! compiled for that set, so one binary uses the best set of the machine it runs on without
//! `target-cpu=native`. This is the pattern of the `pulp` crate, kept small enough to read.
//!
//! `HPCLAB_SIMD=avx2|sse2|scalar|…` caps the choice, so a lab can compare lane widths.

use serde::Serialize;
use std::fmt;
use std::sync::OnceLock;

/// An instruction set the SIMD backends can use, widest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Isa {
    /// No SIMD: one f32 per operation.
    Scalar,
    /// ARM NEON, 4 f32 lanes (baseline on aarch64).
    Neon,
    /// x86 SSE2, 4 f32 lanes (baseline on x86_64), no fused multiply-add.
    Sse2,
    /// x86 AVX2 with FMA, 8 f32 lanes.
    Avx2,
    /// x86 AVX-512F, 16 f32 lanes.
    Avx512,
}

impl Isa {
    /// The lowercase name used in output and in `HPCLAB_SIMD`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Neon => "neon",
            Isa::Sse2 => "sse2",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// f32 values in one register.
    pub fn f32_lanes(self) -> usize {
        match self {
            Isa::Scalar => 1,
            Isa::Neon | Isa::Sse2 => 4,
            Isa::Avx2 => 8,
            Isa::Avx512 => 16,
        }
    }

    /// The widest set this CPU supports.
    pub fn detected() -> Isa {
        static DETECTED: OnceLock<Isa> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512f") {
                    return Isa::Avx512;
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    return Isa::Avx2;
                }
                Isa::Sse2
            }
            #[cfg(target_arch = "aarch64")]
            {
                Isa::Neon
            }
            #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
            {
                Isa::Scalar
            }
        })
    }

    /// The set the SIMD backends use: the detected one, capped by `HPCLAB_SIMD` when it names a
    /// narrower set this CPU has.
    pub fn selected() -> Isa {
        static SELECTED: OnceLock<Isa> = OnceLock::new();
        *SELECTED.get_or_init(|| {
            let detected = Isa::detected();
            let Ok(wanted) = std::env::var("HPCLAB_SIMD") else {
                return detected;
            };
            let supported = [Isa::Scalar, Isa::Neon, Isa::Sse2, Isa::Avx2, Isa::Avx512]
                .into_iter()
                .filter(|isa| *isa == Isa::Scalar || *isa <= detected && isa.same_family(detected));
            match supported
                .into_iter()
                .find(|isa| isa.name() == wanted.trim())
            {
                Some(isa) => isa,
                None => {
                    eprintln!(
                        "hpclab: HPCLAB_SIMD={wanted} is not available here; using {}",
                        detected.name()
                    );
                    detected
                }
            }
        })
    }

    fn same_family(self, other: Isa) -> bool {
        let x86 = |isa: Isa| matches!(isa, Isa::Sse2 | Isa::Avx2 | Isa::Avx512);
        x86(self) == x86(other)
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One SIMD register of f32 lanes. Implemented for each instruction set; only [`dispatch`] picks
/// one, after checking that the CPU has it, which is what makes the `unsafe` inside sound.
pub trait F32Lanes: Copy {
    /// Lanes per register.
    const LANES: usize;
    /// Loads `LANES` values; `ptr` must be valid for that many reads (any alignment).
    ///
    /// # Safety
    /// `ptr .. ptr + LANES` must be readable.
    unsafe fn load(ptr: *const f32) -> Self;
    /// Stores `LANES` values.
    ///
    /// # Safety
    /// `ptr .. ptr + LANES` must be writable.
    unsafe fn store(self, ptr: *mut f32);
    /// Stores `LANES` values past the caches (non-temporal), where the set has such a store.
    ///
    /// # Safety
    /// `ptr .. ptr + LANES` must be writable and `ptr` aligned to `LANES * 4` bytes.
    unsafe fn store_streaming(self, ptr: *mut f32) {
        unsafe { self.store(ptr) }
    }
    /// Orders earlier streaming stores before later stores (call once after a streaming loop).
    fn store_fence() {}
    /// Every lane set to `value`.
    fn splat(value: f32) -> Self;
    /// Lane-wise sum.
    fn add(self, other: Self) -> Self;
    /// Lane-wise product.
    fn mul(self, other: Self) -> Self;
    /// `self * factor + addend`, fused (one rounding) where the instruction set has FMA.
    fn mul_add(self, factor: Self, addend: Self) -> Self;
    /// Sum of the lanes.
    fn reduce_sum(self) -> f32;
    /// Lane-wise difference.
    fn sub(self, other: Self) -> Self;
    /// Lane-wise quotient (correctly rounded).
    fn div(self, other: Self) -> Self;
    /// Lane-wise square root (correctly rounded).
    fn sqrt(self) -> Self;
    /// Lane-wise minimum.
    fn min(self, other: Self) -> Self;
    /// Lane-wise maximum.
    fn max(self, other: Self) -> Self;
    /// `[0, 1, 2, …, LANES - 1]`: lane offsets, e.g. for pixel coordinates.
    fn iota() -> Self;
    /// One boolean per lane, as the instruction set represents it.
    type Mask: Copy;
    /// Lanes where `self < other`.
    fn lt(self, other: Self) -> Self::Mask;
    /// Lanes where `self <= other`.
    fn le(self, other: Self) -> Self::Mask;
    /// `if_true` where `mask` is set, `if_false` elsewhere.
    fn select(mask: Self::Mask, if_true: Self, if_false: Self) -> Self;
    /// True when any lane of `mask` is set (the exit test of a divergent loop).
    fn any(mask: Self::Mask) -> bool;
}

/// The most f32 lanes of any instruction set: a stack buffer of this many holds one register.
pub const MAX_LANES: usize = 16;

/// A loop written once over any [`F32Lanes`]; `run` must be `#[inline(always)]` so that it is
/// compiled inside the instruction-set-specific function that [`dispatch`] calls.
pub trait SimdKernel {
    /// What the loop returns.
    type Output;
    /// Runs the loop with registers of type `S`.
    fn run<S: F32Lanes>(self) -> Self::Output;
}

/// Runs `kernel` with the instruction set [`Isa::selected`] names.
pub fn dispatch<K: SimdKernel>(kernel: K) -> K::Output {
    match Isa::selected() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `selected` returns Avx512 only when the CPU reports avx512f.
        Isa::Avx512 => unsafe { x86::run_avx512(kernel) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `selected` returns Avx2 only when the CPU reports avx2 and fma.
        Isa::Avx2 => unsafe { x86::run_avx2(kernel) },
        #[cfg(target_arch = "x86_64")]
        Isa::Sse2 => kernel.run::<x86::Sse2>(),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => kernel.run::<arm::Neon>(),
        _ => kernel.run::<f32>(),
    }
}

impl F32Lanes for f32 {
    const LANES: usize = 1;
    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        unsafe { *ptr }
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        unsafe { *ptr = self }
    }
    #[inline(always)]
    fn splat(value: f32) -> Self {
        value
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self + other
    }
    #[inline(always)]
    fn mul(self, other: Self) -> Self {
        self * other
    }
    #[inline(always)]
    fn mul_add(self, factor: Self, addend: Self) -> Self {
        self * factor + addend
    }
    #[inline(always)]
    fn reduce_sum(self) -> f32 {
        self
    }
    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        self - other
    }
    #[inline(always)]
    fn div(self, other: Self) -> Self {
        self / other
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn min(self, other: Self) -> Self {
        f32::min(self, other)
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        f32::max(self, other)
    }
    #[inline(always)]
    fn iota() -> Self {
        0.0
    }
    type Mask = bool;
    #[inline(always)]
    fn lt(self, other: Self) -> bool {
        self < other
    }
    #[inline(always)]
    fn le(self, other: Self) -> bool {
        self <= other
    }
    #[inline(always)]
    fn select(mask: bool, if_true: Self, if_false: Self) -> Self {
        if mask { if_true } else { if_false }
    }
    #[inline(always)]
    fn any(mask: bool) -> bool {
        mask
    }
}

#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(target_arch = "aarch64")]
mod arm;

/// Output arrays at least this large are written with streaming (non-temporal) stores.
pub const STREAMING_STORE_BYTES: usize = 8 << 20;

/// How a loop writes its output.
///
/// A normal store first reads the cache line it writes (read-for-ownership), so writing an array
/// costs twice its size in memory traffic. A streaming store writes whole lines past the caches
/// and skips that read: right for arrays far larger than the cache, wrong for small ones that
/// the next step would read back from cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stores {
    /// Ordinary stores through the cache.
    Cached,
    /// Non-temporal stores, where the instruction set has them and the output is aligned.
    Streaming,
}

impl Stores {
    /// The right kind for an output array of `len` f32 (decide on the whole array, not a chunk).
    /// `HPCLAB_STORES=cached` or `streaming` overrides the choice, so a lab can see the
    /// write-allocate traffic come and go.
    pub fn for_output(len: usize) -> Stores {
        static OVERRIDE: OnceLock<Option<Stores>> = OnceLock::new();
        let forced = *OVERRIDE.get_or_init(|| match std::env::var("HPCLAB_STORES").as_deref() {
            Ok("cached") => Some(Stores::Cached),
            Ok("streaming") => Some(Stores::Streaming),
            Ok(other) => {
                eprintln!(
                    "hpclab: HPCLAB_STORES={other} is not cached or streaming; choosing by size"
                );
                None
            }
            Err(_) => None,
        });
        forced.unwrap_or(if len * 4 >= STREAMING_STORE_BYTES {
            Stores::Streaming
        } else {
            Stores::Cached
        })
    }

    #[inline(always)]
    fn streaming_for<S: F32Lanes>(self, out: &[f32]) -> bool {
        self == Stores::Streaming
            && S::LANES > 1
            && (out.as_ptr() as usize).is_multiple_of(S::LANES * 4)
    }
}

/// `out[i] = vector(a[i])` over whole registers, then `scalar` on the remainder.
#[inline(always)]
pub fn map1<S: F32Lanes>(
    out: &mut [f32],
    a: &[f32],
    stores: Stores,
    vector: impl Fn(S) -> S,
    scalar: impl Fn(f32) -> f32,
) {
    assert_eq!(out.len(), a.len());
    let whole = out.len() - out.len() % S::LANES;
    let mut i = 0;
    if stores.streaming_for::<S>(out) {
        while i < whole {
            // SAFETY: i + LANES <= whole <= len of both slices; out is register-aligned.
            unsafe { vector(S::load(a.as_ptr().add(i))).store_streaming(out.as_mut_ptr().add(i)) };
            i += S::LANES;
        }
        S::store_fence();
    }
    while i < whole {
        // SAFETY: i + LANES <= whole <= len of both slices.
        unsafe { vector(S::load(a.as_ptr().add(i))).store(out.as_mut_ptr().add(i)) };
        i += S::LANES;
    }
    for (o, &x) in out[whole..].iter_mut().zip(&a[whole..]) {
        *o = scalar(x);
    }
}

/// `out[i] = vector(a[i], b[i])` over whole registers, then `scalar` on the remainder.
#[inline(always)]
pub fn map2<S: F32Lanes>(
    out: &mut [f32],
    a: &[f32],
    b: &[f32],
    stores: Stores,
    vector: impl Fn(S, S) -> S,
    scalar: impl Fn(f32, f32) -> f32,
) {
    assert!(out.len() == a.len() && out.len() == b.len());
    let whole = out.len() - out.len() % S::LANES;
    let mut i = 0;
    if stores.streaming_for::<S>(out) {
        while i < whole {
            // SAFETY: i + LANES <= whole <= len of all three slices; out is register-aligned.
            unsafe {
                vector(S::load(a.as_ptr().add(i)), S::load(b.as_ptr().add(i)))
                    .store_streaming(out.as_mut_ptr().add(i))
            };
            i += S::LANES;
        }
        S::store_fence();
    }
    while i < whole {
        // SAFETY: i + LANES <= whole <= len of all three slices.
        unsafe {
            vector(S::load(a.as_ptr().add(i)), S::load(b.as_ptr().add(i)))
                .store(out.as_mut_ptr().add(i))
        };
        i += S::LANES;
    }
    for ((o, &x), &y) in out[whole..].iter_mut().zip(&a[whole..]).zip(&b[whole..]) {
        *o = scalar(x, y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fma<'a>(&'a mut [f32], &'a [f32], &'a [f32]);
    impl SimdKernel for Fma<'_> {
        type Output = ();
        #[inline(always)]
        fn run<S: F32Lanes>(self) {
            map2::<S>(
                self.0,
                self.1,
                self.2,
                Stores::Cached,
                |a, b| a.mul_add(b, S::splat(1.0)),
                |a, b| a * b + 1.0,
            );
        }
    }

    struct Sum<'a>(&'a [f32]);
    impl SimdKernel for Sum<'_> {
        type Output = f32;
        #[inline(always)]
        fn run<S: F32Lanes>(self) -> f32 {
            let whole = self.0.len() - self.0.len() % S::LANES;
            let mut acc = S::splat(0.0);
            for i in (0..whole).step_by(S::LANES) {
                acc = acc.add(unsafe { S::load(self.0.as_ptr().add(i)) });
            }
            acc.reduce_sum() + self.0[whole..].iter().sum::<f32>()
        }
    }

    /// Exercises every lane-wise operation against plain f32 arithmetic.
    struct Ops<'a>(&'a [f32], &'a [f32], &'a mut [f32]);
    impl SimdKernel for Ops<'_> {
        type Output = bool;
        #[inline(always)]
        fn run<S: F32Lanes>(self) -> bool {
            let (a, b, out) = (self.0, self.1, self.2);
            let mut any_lt = false;
            let mut i = 0;
            while i + S::LANES <= a.len() {
                let (x, y) = unsafe { (S::load(a.as_ptr().add(i)), S::load(b.as_ptr().add(i))) };
                let lane = S::iota().add(S::splat(i as f32));
                let picked = S::select(x.lt(y), x.sub(y).div(y), x.max(y).sqrt().add(x.min(y)));
                any_lt |= S::any(x.le(y));
                unsafe { picked.add(lane).store(out.as_mut_ptr().add(i)) };
                i += S::LANES;
            }
            any_lt
        }
    }

    #[test]
    fn every_lane_operation_matches_plain_arithmetic() {
        let n = 64;
        let a: Vec<f32> = (0..n).map(|i| 1.0 + (i * 7 % 11) as f32).collect();
        let b: Vec<f32> = (0..n).map(|i| 1.0 + (i * 5 % 13) as f32).collect();
        let mut out = vec![0.0; n];
        assert!(dispatch(Ops(&a, &b, &mut out)));
        for i in 0..n {
            let (x, y) = (a[i], b[i]);
            let want = if x < y {
                (x - y) / y
            } else {
                x.max(y).sqrt() + x.min(y)
            } + i as f32;
            assert_eq!(out[i], want, "lane {i}");
        }
    }

    #[test]
    fn dispatched_kernels_match_plain_loops_on_small_integers() {
        // Small integers are exact in f32, so every instruction set must agree bit for bit.
        for n in [0, 1, 3, 15, 16, 17, 33, 1000] {
            let a: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
            let b: Vec<f32> = (0..n).map(|i| (i % 5) as f32).collect();
            let mut out = vec![0.0; n];
            dispatch(Fma(&mut out, &a, &b));
            let expected: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x * y + 1.0).collect();
            assert_eq!(out, expected, "n = {n}");
            assert_eq!(dispatch(Sum(&a)), a.iter().sum::<f32>(), "n = {n}");
        }
    }
}
