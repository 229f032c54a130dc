//! Which rows of the grid each rank owns (a 1-D decomposition into slabs of whole rows), and the
//! rank counts a scaling series measures.

use std::ops::Range;

/// The rows rank `rank` of `ranks` owns in a grid of `grid_rows` rows: consecutive slabs, the
/// first `grid_rows % ranks` ranks one row taller, so that no two ranks differ by more than one
/// row. Empty when there are more ranks than rows (callers refuse that first).
pub fn slab_rows(grid_rows: usize, ranks: usize, rank: usize) -> Range<usize> {
    let ranks = ranks.max(1);
    let (base, taller) = (grid_rows / ranks, grid_rows % ranks);
    let start = rank * base + rank.min(taller);
    let rows = base + usize::from(rank < taller);
    start..(start + rows).min(grid_rows)
}

/// The rank counts of a scaling series on `ranks` ranks: 1, 2, 4, … and `ranks` itself.
pub fn rank_counts(ranks: usize) -> Vec<usize> {
    let mut counts: Vec<usize> = std::iter::successors(Some(1usize), |&c| c.checked_mul(2))
        .take_while(|&c| c < ranks)
        .collect();
    counts.push(ranks.max(1));
    counts
}

/// How the grid grows with the rank count in a scaling series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// The same n × n grid on every rank count: time should fall as 1/ranks.
    Strong,
    /// n × n points per rank: a (ranks·n) × n grid; time should stay flat.
    Weak,
}

impl Scaling {
    /// Rows and columns of the whole grid for `--size n` on `ranks` ranks; `None` when its
    /// rows or its points overflow a `usize` (a `--size` far beyond any memory).
    pub fn grid(scaling: Option<Scaling>, n: usize, ranks: usize) -> Option<(usize, usize)> {
        let rows = match scaling {
            Some(Scaling::Weak) => n.checked_mul(ranks)?,
            _ => n,
        };
        rows.checked_mul(n)?;
        Some((rows, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slabs_cover_every_row_once_and_differ_by_at_most_one_row() {
        for grid_rows in [1, 2, 7, 64, 1000, 1001] {
            for ranks in 1..=9usize.min(grid_rows) {
                let slabs: Vec<_> = (0..ranks).map(|r| slab_rows(grid_rows, ranks, r)).collect();
                assert_eq!(slabs[0].start, 0);
                assert_eq!(slabs[ranks - 1].end, grid_rows);
                for pair in slabs.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start);
                }
                let (shortest, tallest) = slabs.iter().fold((usize::MAX, 0), |(lo, hi), s| {
                    (lo.min(s.len()), hi.max(s.len()))
                });
                assert!(
                    shortest >= 1 && tallest - shortest <= 1,
                    "{grid_rows}/{ranks}"
                );
            }
        }
    }

    #[test]
    fn rank_counts_double_and_end_at_the_world() {
        assert_eq!(rank_counts(1), vec![1]);
        assert_eq!(rank_counts(2), vec![1, 2]);
        assert_eq!(rank_counts(6), vec![1, 2, 4, 6]);
        assert_eq!(rank_counts(8), vec![1, 2, 4, 8]);
    }

    #[test]
    fn weak_scaling_grows_the_grid_with_the_ranks() {
        assert_eq!(Scaling::grid(Some(Scaling::Weak), 100, 4), Some((400, 100)));
        assert_eq!(
            Scaling::grid(Some(Scaling::Strong), 100, 4),
            Some((100, 100))
        );
        assert_eq!(Scaling::grid(None, 100, 4), Some((100, 100)));
    }

    #[test]
    fn a_grid_whose_rows_or_points_overflow_is_none() {
        let side = 1usize << (usize::BITS / 2); // its square is one past usize::MAX
        assert_eq!(Scaling::grid(None, side, 1), None);
        assert_eq!(Scaling::grid(None, side - 1, 1), Some((side - 1, side - 1)));
        assert_eq!(Scaling::grid(Some(Scaling::Weak), 1 << 40, 1 << 30), None);
        assert_eq!(Scaling::grid(Some(Scaling::Weak), 4, usize::MAX / 2), None);
    }
}
