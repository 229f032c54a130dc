//! The one timing loop: warm-up samples discarded, then `runs` samples kept.

use crate::error::Result;
pub use crate::phase::PhaseSample;
use std::time::Instant;

/// How many samples to take.
#[derive(Debug, Clone, Copy)]
pub struct MeasureOptions {
    /// Samples run and discarded first (lazy zero-fill of GPU buffers, page faults, cold caches).
    pub warmup: usize,
    /// Samples kept for the statistics (at least 1).
    pub runs: usize,
}

/// Times `work` on the host clock as a compute-only sample (the CPU backends).
pub fn time_compute(work: impl FnOnce()) -> PhaseSample {
    let start = Instant::now();
    work();
    PhaseSample {
        upload_s: None,
        compute_wall_s: start.elapsed().as_secs_f64(),
        compute_timestamp_s: None,
        download_s: None,
    }
}

/// Takes `warmup + runs` samples and returns the kept ones. `on_sample(done, total)` is called
/// after each sample so the caller can show progress. A sample is whatever the caller times:
/// a [`PhaseSample`], or plain seconds.
pub fn take_samples<T>(
    options: MeasureOptions,
    mut sample: impl FnMut() -> Result<T>,
    mut on_sample: impl FnMut(usize, usize),
) -> Result<Vec<T>> {
    let total = options.warmup + options.runs;
    let mut kept = Vec::with_capacity(options.runs);
    for index in 0..total {
        let taken = sample()?;
        if index >= options.warmup {
            kept.push(taken);
        }
        on_sample(index + 1, total);
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_samples_are_discarded() {
        let mut counter = 0.0;
        let kept = take_samples(
            MeasureOptions { warmup: 2, runs: 3 },
            || {
                counter += 1.0;
                Ok(PhaseSample {
                    upload_s: None,
                    compute_wall_s: counter,
                    compute_timestamp_s: None,
                    download_s: None,
                })
            },
            |_, _| {},
        )
        .unwrap();
        let values: Vec<f64> = kept.iter().map(|s| s.compute_wall_s).collect();
        assert_eq!(values, vec![3.0, 4.0, 5.0]);
    }

    #[test]
    fn any_sample_type_is_kept_in_order_and_progress_counts_every_sample() {
        let (mut counter, mut progress) = (0u32, Vec::new());
        let kept = take_samples(
            MeasureOptions { warmup: 1, runs: 2 },
            || {
                counter += 1;
                Ok(counter)
            },
            |done, total| progress.push((done, total)),
        )
        .unwrap();
        assert_eq!(kept, vec![2, 3]);
        assert_eq!(progress, vec![(1, 3), (2, 3), (3, 3)]);
    }
}
