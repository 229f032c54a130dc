//! The byte histogram on the CPU: one table, several sub-tables, and per-thread tables merged.

use rayon::prelude::*;

/// Bins of the histogram: one per byte value.
pub const BINS: usize = 256;

/// Counts per byte value.
pub type Counts = [u64; BINS];

/// The plain loop: one table, one increment per byte.
///
/// Each increment is a load, an add and a store to the bin's address. When the same value comes
/// again a few bytes later, its load must wait for the previous store to that address (through
/// store-to-load forwarding, several cycles), so runs of equal bytes serialise the loop.
pub fn scalar(data: &[u8]) -> Counts {
    let mut counts = [0u64; BINS];
    for &byte in data {
        counts[byte as usize] += 1;
    }
    counts
}

/// Sub-tables used by [`sub_tables`]: bytes in consecutive positions go to different tables.
const TABLES: usize = 4;

/// Bytes per pass of [`sub_tables`] before the u32 sub-table counts are added into the u64
/// result: each table gets a quarter of them, well below 2^32.
const PASS_BYTES: usize = 1 << 31;

/// Four sub-tables, eight bytes per load: the CPU's answer to contention on a bin.
///
/// This is the `simd` backend of this kernel, but it is not lane-parallel SIMD: a vector
/// scatter of increments is wrong when two lanes hit the same bin, and x86 has no conflict-free
/// scatter below AVX-512CD (`vpconflictd`), which costs more than it saves for 256 bins. What
/// the instruction-level version does instead is keep four tables, so that equal bytes at
/// nearby positions update different addresses and their load-add-store chains overlap
/// instead of waiting on each other; the byte-wide loads become one 8-byte load and shifts.
/// The tables are added at the end (4 × 256 adds, nothing next to n).
///
/// What it buys depends on the data: uniform random bytes (what `hpclab run` uses) repeat a bin
/// only once in 256, so there is little waiting to remove; data with long runs of one value
/// gains most.
pub fn sub_tables(data: &[u8]) -> Counts {
    let mut counts = [0u64; BINS];
    for pass in data.chunks(PASS_BYTES) {
        let mut tables = [[0u32; BINS]; TABLES];
        let (words, tail) = pass.as_chunks::<8>();
        for word in words {
            let bits = u64::from_le_bytes(*word);
            tables[0][(bits & 0xff) as usize] += 1;
            tables[1][(bits >> 8 & 0xff) as usize] += 1;
            tables[2][(bits >> 16 & 0xff) as usize] += 1;
            tables[3][(bits >> 24 & 0xff) as usize] += 1;
            tables[0][(bits >> 32 & 0xff) as usize] += 1;
            tables[1][(bits >> 40 & 0xff) as usize] += 1;
            tables[2][(bits >> 48 & 0xff) as usize] += 1;
            tables[3][(bits >> 56) as usize] += 1;
        }
        for &byte in tail {
            tables[0][byte as usize] += 1;
        }
        for (bin, count) in counts.iter_mut().enumerate() {
            *count += tables.iter().map(|table| table[bin] as u64).sum::<u64>();
        }
    }
    counts
}

/// All cores of the current pool: one contiguous chunk per thread counted into a private
/// table with [`sub_tables`], the tables merged at the end (no shared counter, no atomics).
pub fn rayon(data: &[u8]) -> Counts {
    let threads = rayon::current_num_threads().max(1);
    let chunk = data.len().div_ceil(threads).next_multiple_of(64).max(64);
    data.par_chunks(chunk)
        .map(sub_tables)
        .reduce(|| [0u64; BINS], merge)
}

/// Adds two histograms bin by bin.
pub fn merge(mut a: Counts, b: Counts) -> Counts {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    a
}

/// The independent reference: blocks of 64 KiB counted with a plain loop in parallel, merged.
pub fn reference(data: &[u8]) -> Counts {
    data.par_chunks(1 << 16)
        .fold(
            || [0u64; BINS],
            |mut counts, block| {
                for &byte in block {
                    counts[usize::from(byte)] += 1;
                }
                counts
            },
        )
        .reduce(|| [0u64; BINS], merge)
}
