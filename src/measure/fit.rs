//! Models fitted to measurements: a line t = latency + bytes / bandwidth, Amdahl's law, and the
//! Karp–Flatt metric.

use serde::Serialize;

/// A straight line y = intercept + slope · x fitted by least squares.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinearFit {
    pub intercept: f64,
    pub slope: f64,
    /// Coefficient of determination of the weighted fit (1 = perfect).
    pub r_squared: f64,
}

/// Weighted least squares of y = a + b·x with weight w_i per point. Returns `None` with fewer
/// than two distinct x.
pub fn weighted_linear_fit(points: &[(f64, f64)], weights: &[f64]) -> Option<LinearFit> {
    let total: f64 = weights.iter().sum();
    if points.len() < 2 || total <= 0.0 {
        return None;
    }
    // Σ term(x, y, w) over the points.
    let sum = |term: &dyn Fn(f64, f64, f64) -> f64| -> f64 {
        points
            .iter()
            .zip(weights)
            .map(|(&(x, y), &w)| term(x, y, w))
            .sum()
    };
    let mean_x = sum(&|x, _, w| w * x) / total;
    let mean_y = sum(&|_, y, w| w * y) / total;
    let sxx = sum(&|x, _, w| w * (x - mean_x).powi(2));
    let sxy = sum(&|x, y, w| w * (x - mean_x) * (y - mean_y));
    let syy = sum(&|_, y, w| w * (y - mean_y).powi(2));
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let residual = sum(&|x, y, w| w * (y - intercept - slope * x).powi(2));
    let r_squared = if syy > 0.0 { 1.0 - residual / syy } else { 1.0 };
    Some(LinearFit {
        intercept,
        slope,
        r_squared,
    })
}

/// The two figures of a link or a message path: t(bytes) = latency + bytes / bandwidth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencyBandwidth {
    /// Time of an empty transfer, seconds.
    pub latency_s: f64,
    /// Asymptotic rate, GB/s (10^9 B/s).
    pub bandwidth_gbs: f64,
    /// Quality of the fit; `null` from two points, which any line passes through exactly.
    pub r_squared: Option<f64>,
}

impl LatencyBandwidth {
    /// `R² 0.9981`, or why there is none.
    pub fn r_squared_text(&self) -> String {
        self.r_squared
            .map_or("no R²: two points".to_string(), |r| format!("R² {r:.4}"))
    }
}

/// Fits t = latency + bytes / bandwidth to (bytes, seconds) points. Each point is weighted by
/// 1/t², i.e. the fit minimises relative errors: otherwise the largest transfers, with the
/// largest absolute times, would decide the latency too.
pub fn fit_latency_bandwidth(points: &[(f64, f64)]) -> Option<LatencyBandwidth> {
    let weights: Vec<f64> = points
        .iter()
        .map(|(_, t)| if *t > 0.0 { 1.0 / (t * t) } else { 0.0 })
        .collect();
    let fit = weighted_linear_fit(points, &weights)?;
    (fit.slope > 0.0).then(|| LatencyBandwidth {
        latency_s: fit.intercept.max(0.0),
        bandwidth_gbs: 1.0 / fit.slope / 1e9,
        r_squared: (points.len() > 2).then_some(fit.r_squared),
    })
}

/// Amdahl's law: the speed-up on p workers when a fraction `serial` of the work cannot be shared.
pub fn amdahl_speedup(serial: f64, workers: f64) -> f64 {
    1.0 / (serial + (1.0 - serial) / workers)
}

/// Fits Amdahl's serial fraction f to (workers, speed-up) points with workers > 1.
///
/// 1/S − 1/p = f · (1 − 1/p) is linear in f through the origin, so least squares gives
/// f = Σ u·v / Σ u² with u = 1 − 1/p and v = 1/S − 1/p. Clamped to [0, 1].
pub fn fit_amdahl(points: &[(f64, f64)]) -> Option<f64> {
    let (mut uv, mut uu) = (0.0, 0.0);
    for &(workers, speedup) in points.iter().filter(|(p, s)| *p > 1.0 && *s > 0.0) {
        let u = 1.0 - 1.0 / workers;
        let v = 1.0 / speedup - 1.0 / workers;
        uv += u * v;
        uu += u * u;
    }
    (uu > 0.0).then(|| (uv / uu).clamp(0.0, 1.0))
}

/// The Karp–Flatt metric: the serial fraction implied by one measured speed-up on p > 1 workers,
/// e = (1/S − 1/p) / (1 − 1/p). Growing e with p means overhead grows with p, not a fixed
/// serial part.
pub fn karp_flatt(speedup: f64, workers: f64) -> Option<f64> {
    (workers > 1.0 && speedup > 0.0)
        .then(|| (1.0 / speedup - 1.0 / workers) / (1.0 - 1.0 / workers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_latency_and_bandwidth_of_a_synthetic_link() {
        // 5 µs latency, 12 GB/s, sizes from 4 KiB to 256 MiB.
        let points: Vec<(f64, f64)> = (12..=28)
            .map(|k| (2f64.powi(k), 5e-6 + 2f64.powi(k) / 12e9))
            .collect();
        let fit = fit_latency_bandwidth(&points).unwrap();
        assert!((fit.latency_s - 5e-6).abs() < 1e-9, "{fit:?}");
        assert!((fit.bandwidth_gbs - 12.0).abs() < 1e-6, "{fit:?}");
        assert!(fit.r_squared.unwrap() > 0.999_999);
        let two = fit_latency_bandwidth(&points[..2]).unwrap();
        assert_eq!(two.r_squared, None, "two points always fit a line exactly");
    }

    #[test]
    fn plain_line_fit() {
        let fit = weighted_linear_fit(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)], &[1.0; 3]).unwrap();
        assert!((fit.intercept - 1.0).abs() < 1e-12 && (fit.slope - 2.0).abs() < 1e-12);
        assert!(weighted_linear_fit(&[(1.0, 1.0), (1.0, 2.0)], &[1.0; 2]).is_none());
    }

    #[test]
    fn recovers_the_serial_fraction_of_an_amdahl_curve() {
        let points: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0]
            .iter()
            .map(|&p| (p, amdahl_speedup(0.07, p)))
            .collect();
        let serial = fit_amdahl(&points).unwrap();
        assert!((serial - 0.07).abs() < 1e-12, "{serial}");
        for &(p, s) in &points[1..] {
            assert!((karp_flatt(s, p).unwrap() - 0.07).abs() < 1e-12);
        }
        assert!(karp_flatt(1.0, 1.0).is_none());
    }
}
