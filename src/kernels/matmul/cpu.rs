//! The CPU matrix products: the plain loop, the blocked SIMD kernel on one core and on every core
//! of the pool, the `gemm` crate, and the f64 reference.
//!
//! The blocked kernel follows Goto & van de Geijn, "Anatomy of high-performance matrix
//! multiplication" (ACM TOMS 34(3), 2008), the scheme BLIS and OpenBLAS use:
//!
//! - the depth `k` is cut into blocks of [`KC`]; for each block, B's rows `k0 .. k0 + KC` are
//!   **packed** into panels [`Shape::nw`] columns wide, each panel contiguous (`KC × nw` floats,
//!   small enough to stay in L1 while it is used);
//! - C's rows are cut into blocks of [`MC`]; each block's slice of A is packed into panels of
//!   [`Shape::mr`] rows, stored k-major so that the `mr` values of one k are adjacent;
//! - the **micro-kernel** keeps an `mr × nw` tile of C in registers (`mr × nr` SIMD registers),
//!   and for each k loads `nr` registers of the B panel, broadcasts each of the `mr` values of A
//!   and does `mr × nr` fused multiply-adds. Every value loaded is used `mr` or `nr` times, so
//!   the loop is bound by the FMA units, not by loads.
//!
//! Packing costs O(n²) against O(n³) arithmetic, and makes every inner-loop access sequential and
//! aligned; without it, B's panel rows are `4n` bytes apart, and at n = 1024 (4 KiB apart) they
//! all fall into the same few L1 sets.

use crate::cpu::AlignedVec;
use crate::cpu::simd::{F32Lanes, Isa, SimdKernel, dispatch};
use rayon::prelude::*;

/// Depth of one packed block: a B panel of `KC × nw` floats is 32 KiB at nw = 32 (L1 is 48 KiB
/// on recent Intel cores), and C's tile is loaded and stored once per block.
pub const KC: usize = 256;
/// Rows of C in one block, the unit of parallel work: a multiple of every [`Shape::mr`], and small
/// so that the rayon backend has many blocks to balance (the B panel is reused `MC / mr` times
/// from L1 either way).
pub const MC: usize = 48;
/// The widest B panel of any instruction set, in floats (the workspace is sized for it).
pub const MAX_NW: usize = 64;
/// The most rows of any micro-kernel tile.
const MAX_MR: usize = 12;

/// Micro-kernel tile with 16-lane registers (AVX-512, 32 registers): 12 rows × 2 registers =
/// 24 accumulators, plus 2 for B; A's values are broadcast straight from memory into the FMA.
const WIDE_MR: usize = 12;
const WIDE_NR: usize = 2;
/// With 4- or 8-lane registers (AVX2, SSE2, NEON: 16 registers): 6 × 2 = 12 accumulators, 2 for
/// B, 1 for the broadcast.
const NARROW_MR: usize = 6;
const NARROW_NR: usize = 2;

/// The register tile of the micro-kernel for one register width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Rows of C (and of A's packed panels) per tile.
    pub mr: usize,
    /// SIMD registers per row of the tile.
    pub nr: usize,
    /// f32 lanes per register.
    pub lanes: usize,
}

impl Shape {
    /// The tile for registers of `lanes` f32.
    pub const fn for_lanes(lanes: usize) -> Shape {
        if lanes >= 16 {
            Shape {
                mr: WIDE_MR,
                nr: WIDE_NR,
                lanes,
            }
        } else {
            Shape {
                mr: NARROW_MR,
                nr: NARROW_NR,
                lanes,
            }
        }
    }

    /// The tile of the instruction set [`dispatch`] uses.
    pub fn selected() -> Shape {
        Shape::for_lanes(Isa::selected().f32_lanes())
    }

    /// Columns of C per tile (the width of a packed B panel).
    pub const fn nw(self) -> usize {
        self.nr * self.lanes
    }
}

/// Packing buffers, allocated (and touched) when the problem is prepared so that no run
/// allocates: one region of `MC × KC` floats per row block of C (so blocks pack in parallel
/// without sharing), and one `KC × n` region (n rounded up to [`MAX_NW`]) for B's panels.
pub struct Workspace {
    packed_a: AlignedVec<f32>,
    packed_b: AlignedVec<f32>,
}

impl Workspace {
    /// Buffers for n × n products.
    pub fn new(n: usize) -> Workspace {
        let (a, b) = Workspace::lengths(n as u64);
        Workspace {
            packed_a: AlignedVec::filled(a as usize, 0.0),
            packed_b: AlignedVec::filled(b as usize, 0.0),
        }
    }

    fn lengths(n: u64) -> (u64, u64) {
        let (mc, kc, nw) = (MC as u64, KC as u64, MAX_NW as u64);
        (
            n.div_ceil(mc).saturating_mul(mc * kc),
            kc.saturating_mul(n.div_ceil(nw).saturating_mul(nw)),
        )
    }

    /// Host bytes of the buffers for n × n products.
    pub fn bytes(n: u64) -> u64 {
        let (a, b) = Workspace::lengths(n);
        a.saturating_add(b).saturating_mul(4)
    }
}

/// The plain loop in i-k-j order: `C[i][..] += A[i][k] · B[k][..]`.
///
/// The inner loop walks a row of B and a row of C with unit stride and its iterations are
/// independent (an axpy), so the compiler vectorizes it with the baseline instruction set (SSE2 on
/// x86-64: 4 lanes, multiply and add rounded apart, as Rust never contracts them into an FMA).
/// The textbook i-j-k order would instead walk a column of B (one cache line per element) and
/// sum into one scalar, a strict-order reduction the compiler may not vectorize.
pub fn scalar(a: &[f32], b: &[f32], c: &mut [f32], n: usize) {
    if n == 0 {
        return;
    }
    for (a_row, c_row) in a.chunks_exact(n).zip(c.chunks_exact_mut(n)) {
        c_row.fill(0.0);
        for (&a_ik, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
            for (c_ij, &b_kj) in c_row.iter_mut().zip(b_row) {
                *c_ij += a_ik * b_kj;
            }
        }
    }
}

/// The blocked, packed SIMD kernel on one core.
pub fn simd(a: &[f32], b: &[f32], c: &mut [f32], n: usize, workspace: &mut Workspace) {
    blocked(a, b, c, n, workspace, false);
}

/// The same blocked kernel with the row blocks of C shared among the threads of the current pool
/// (B's panels are packed once per depth block, in parallel, and read by every thread).
pub fn rayon(a: &[f32], b: &[f32], c: &mut [f32], n: usize, workspace: &mut Workspace) {
    blocked(a, b, c, n, workspace, true);
}

/// The product through the `gemm` crate (packing, AVX-512 micro-kernels, its own blocking), on
/// as many threads as the current rayon pool has.
pub fn library(a: &[f32], b: &[f32], c: &mut [f32], n: usize) {
    assert!(a.len() == n * n && b.len() == n * n && c.len() == n * n);
    let threads = rayon::current_num_threads();
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let stride = n as isize;
    // SAFETY: the three slices hold n × n floats each, row-major (column stride 1, row stride n),
    // and `c` does not alias `a` or `b` (it is borrowed mutably).
    unsafe {
        gemm::gemm(
            n,
            n,
            n,
            c.as_mut_ptr(),
            1,
            stride,
            false,
            a.as_ptr(),
            1,
            stride,
            b.as_ptr(),
            1,
            stride,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// The reference in f64: the same i-k-j loop, rows in parallel. Products of two f32 are exact
/// in f64 and the sum's own error (n · 2^-53 relative) is far below the f32 tolerance.
pub fn reference(a: &[f32], b: &[f32], n: usize) -> Vec<f64> {
    let mut c = vec![0.0f64; n * n];
    if n == 0 {
        return c;
    }
    c.par_chunks_mut(n)
        .zip(a.par_chunks(n))
        .for_each(|(c_row, a_row)| {
            for (&a_ik, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
                let a_ik = a_ik as f64;
                for (c_ij, &b_kj) in c_row.iter_mut().zip(b_row) {
                    *c_ij += a_ik * b_kj as f64;
                }
            }
        });
    c
}

fn blocked(
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    n: usize,
    workspace: &mut Workspace,
    parallel: bool,
) {
    assert!(a.len() == n * n && b.len() == n * n && c.len() == n * n);
    if n == 0 {
        return;
    }
    let shape = Shape::selected();
    let nw = shape.nw();
    let (a_len, b_len) = Workspace::lengths(n as u64);
    assert!(
        workspace.packed_a.len() as u64 >= a_len && workspace.packed_b.len() as u64 >= b_len,
        "workspace made for a smaller n"
    );
    let Workspace { packed_a, packed_b } = workspace;
    for k0 in (0..n).step_by(KC) {
        let kc = KC.min(n - k0);
        let panel_len = kc * nw;
        let packed_b = &mut packed_b[..n.div_ceil(nw) * panel_len];
        let pack = |(panel, dst): (usize, &mut [f32])| pack_b_panel(dst, b, n, k0, kc, panel * nw);
        if parallel {
            packed_b
                .par_chunks_mut(panel_len)
                .enumerate()
                .for_each(pack);
        } else {
            packed_b.chunks_mut(panel_len).enumerate().for_each(pack);
        }
        let packed_b = &*packed_b;
        let block = |(index, (c_block, a_block)): (usize, (&mut [f32], &mut [f32]))| {
            let rows = c_block.len() / n;
            pack_a_block(a_block, a, n, index * MC, rows, k0, kc, shape.mr);
            dispatch(RowBlock {
                packed_a: a_block,
                packed_b,
                c: c_block,
                n,
                rows,
                kc,
                first: k0 == 0,
            });
        };
        if parallel {
            c.par_chunks_mut(MC * n)
                .zip(packed_a.par_chunks_mut(MC * KC))
                .enumerate()
                .for_each(block);
        } else {
            c.chunks_mut(MC * n)
                .zip(packed_a.chunks_mut(MC * KC))
                .enumerate()
                .for_each(block);
        }
    }
}

/// Copies B's rows `k0 .. k0 + kc`, columns `j0 .. j0 + nw` into one contiguous panel (`kc` rows
/// of `nw` floats), zero-padded past column n so that the micro-kernel never needs a column test.
fn pack_b_panel(panel: &mut [f32], b: &[f32], n: usize, k0: usize, kc: usize, j0: usize) {
    let nw = panel.len() / kc;
    let cols = nw.min(n - j0);
    for (k, dst) in panel.chunks_exact_mut(nw).enumerate() {
        let src = &b[(k0 + k) * n + j0..][..cols];
        dst[..cols].copy_from_slice(src);
        dst[cols..].fill(0.0);
    }
}

/// Copies A's rows `r0 .. r0 + rows`, columns `k0 .. k0 + kc` into panels of `mr` rows, each
/// stored k-major (`panel[k * mr + i]`), zero-padded past the last row.
#[allow(clippy::too_many_arguments)]
fn pack_a_block(
    dst: &mut [f32],
    a: &[f32],
    n: usize,
    r0: usize,
    rows: usize,
    k0: usize,
    kc: usize,
    mr: usize,
) {
    for (p, panel) in dst[..rows.div_ceil(mr) * mr * kc]
        .chunks_exact_mut(mr * kc)
        .enumerate()
    {
        for i in 0..mr {
            let row = p * mr + i;
            if row < rows {
                let src = &a[(r0 + row) * n + k0..][..kc];
                for (k, &value) in src.iter().enumerate() {
                    panel[k * mr + i] = value;
                }
            } else {
                for k in 0..kc {
                    panel[k * mr + i] = 0.0;
                }
            }
        }
    }
}

/// One row block of C updated with one depth block: every (B panel, A panel) pair through the
/// micro-kernel, B panels outermost so that each stays in L1 while all A panels pass it.
struct RowBlock<'a> {
    packed_a: &'a [f32],
    packed_b: &'a [f32],
    /// The block's rows of C (row stride n).
    c: &'a mut [f32],
    n: usize,
    rows: usize,
    kc: usize,
    /// The first depth block writes C; later ones add to it.
    first: bool,
}

impl SimdKernel for RowBlock<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: F32Lanes>(self) {
        // Must agree with `Shape::for_lanes`, which laid out the packed A panels.
        if S::LANES >= 16 {
            row_block::<S, WIDE_MR, WIDE_NR>(self);
        } else {
            row_block::<S, NARROW_MR, NARROW_NR>(self);
        }
    }
}

#[inline(always)]
fn row_block<S: F32Lanes, const MR: usize, const NR: usize>(block: RowBlock<'_>) {
    let RowBlock {
        packed_a,
        packed_b,
        c,
        n,
        rows,
        kc,
        first,
    } = block;
    let nw = NR * S::LANES;
    debug_assert_eq!(Shape::for_lanes(S::LANES).mr, MR);
    assert!(packed_a.len() >= rows.div_ceil(MR) * MR * kc);
    assert!(packed_b.len() >= n.div_ceil(nw) * nw * kc);
    assert!(c.len() == rows * n);
    for j0 in (0..n).step_by(nw) {
        let cols = nw.min(n - j0);
        let b_panel = packed_b[j0 * kc..][..nw * kc].as_ptr();
        for i0 in (0..rows).step_by(MR) {
            let a_panel = packed_a[i0 * kc..][..MR * kc].as_ptr();
            let tile_rows = MR.min(rows - i0);
            // SAFETY: the panels hold `MR × kc` and `kc × nw` floats (sliced above); the tile of
            // C starts at row i0, column j0 and `tile` touches only `tile_rows × cols` of it
            // (or a whole `MR × nw`, which then lies inside C).
            unsafe {
                tile::<S, MR, NR>(
                    kc,
                    a_panel,
                    b_panel,
                    c.as_mut_ptr().add(i0 * n + j0),
                    n,
                    tile_rows,
                    cols,
                    first,
                );
            }
        }
    }
}

/// One `MR × (NR · LANES)` tile of C: load it (or start from zero), add the product of one A
/// panel and one B panel, store it. Tiles at the right and bottom edges go through a buffer on
/// the stack so that the register loop is always whole.
///
/// # Safety
/// `a` holds `MR × kc` floats, `b` holds `kc × NR · LANES`, and `c` is valid for `rows` rows of
/// `cols` floats with row stride `ldc`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<S: F32Lanes, const MR: usize, const NR: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    first: bool,
) {
    let nw = NR * S::LANES;
    let mut acc = [[S::splat(0.0); NR]; MR];
    if rows == MR && cols == nw {
        if !first {
            for (i, row) in acc.iter_mut().enumerate() {
                for (r, value) in row.iter_mut().enumerate() {
                    *value = unsafe { S::load(c.add(i * ldc + r * S::LANES)) };
                }
            }
        }
        acc = unsafe { multiply::<S, MR, NR>(kc, a, b, acc) };
        for (i, row) in acc.iter().enumerate() {
            for (r, value) in row.iter().enumerate() {
                unsafe { value.store(c.add(i * ldc + r * S::LANES)) };
            }
        }
    } else {
        let mut edge = [0.0f32; MAX_MR * MAX_NW];
        if !first {
            for i in 0..rows {
                for j in 0..cols {
                    edge[i * nw + j] = unsafe { *c.add(i * ldc + j) };
                }
            }
        }
        for (i, row) in acc.iter_mut().enumerate() {
            for (r, value) in row.iter_mut().enumerate() {
                *value = unsafe { S::load(edge.as_ptr().add(i * nw + r * S::LANES)) };
            }
        }
        acc = unsafe { multiply::<S, MR, NR>(kc, a, b, acc) };
        for (i, row) in acc.iter().enumerate() {
            for (r, value) in row.iter().enumerate() {
                unsafe { value.store(edge.as_mut_ptr().add(i * nw + r * S::LANES)) };
            }
        }
        for i in 0..rows {
            for j in 0..cols {
                unsafe { *c.add(i * ldc + j) = edge[i * nw + j] };
            }
        }
    }
}

/// The register loop: for each k, `NR` loads of B, `MR` broadcasts of A, `MR × NR` FMAs.
///
/// # Safety
/// `a` holds `MR × kc` floats and `b` holds `kc × NR · LANES`.
#[inline(always)]
unsafe fn multiply<S: F32Lanes, const MR: usize, const NR: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    mut acc: [[S; NR]; MR],
) -> [[S; NR]; MR] {
    let nw = NR * S::LANES;
    for k in 0..kc {
        let mut row = [S::splat(0.0); NR];
        for (r, value) in row.iter_mut().enumerate() {
            *value = unsafe { S::load(b.add(k * nw + r * S::LANES)) };
        }
        for (i, sums) in acc.iter_mut().enumerate() {
            let a_ik = S::splat(unsafe { *a.add(k * MR + i) });
            for (sum, &b_kj) in sums.iter_mut().zip(&row) {
                *sum = a_ik.mul_add(b_kj, *sum);
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(n: usize, seed: usize) -> Vec<f32> {
        // Small integers: every product and sum is exact in f32, so all orders agree exactly.
        (0..n * n)
            .map(|i| ((i * 7 + seed) % 5) as f32 - 2.0)
            .collect()
    }

    #[test]
    fn blocked_kernels_equal_the_plain_loop_on_small_integers() {
        for n in [1, 2, 13, 47, 65, 300] {
            let (a, b) = (small(n, 1), small(n, 3));
            let mut plain = vec![0.0; n * n];
            scalar(&a, &b, &mut plain, n);
            let mut workspace = Workspace::new(n);
            for run in [simd, rayon] {
                let mut c = vec![f32::NAN; n * n];
                run(&a, &b, &mut c, n, &mut workspace);
                assert_eq!(c, plain, "n = {n}");
            }
            let mut c = vec![f32::NAN; n * n];
            library(&a, &b, &mut c, n);
            assert_eq!(c, plain, "library, n = {n}");
            let exact: Vec<f32> = reference(&a, &b, n).iter().map(|&x| x as f32).collect();
            assert_eq!(exact, plain, "reference, n = {n}");
        }
    }
}
