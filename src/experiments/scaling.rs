//! Strong scaling of the rayon backend: the same problem on 1, 2, …, N threads and on 2N
//! (oversubscribed), with speed-up, parallel efficiency, the serial fraction from an Amdahl fit
//! and the Karp–Flatt metric per thread count.

use crate::environment::{Environment, Provenance};
use crate::error::Result;
use crate::measure::Stats;
use crate::measure::fit::{amdahl_speedup, fit_amdahl, karp_flatt};
use crate::measure::noise::stats_warnings;
use crate::report::csv::{self, Number};
use crate::report::format::{NONE, check, percent, ratio, seconds, seconds_span};
use crate::report::heading::{Machine, machine_lines};
use crate::report::plot::{Axis, Chart, Marker, Series, Shape, Unit, ideal_speedup, rate_bar};
use crate::report::table::Rows;
use crate::report::{Document, to_json};
use crate::size::format_count;
use serde::Serialize;

/// One thread count.
#[derive(Debug, Clone, Serialize)]
pub struct ScalingPoint {
    pub threads: usize,
    /// Compute time of the rayon backend.
    pub time: Stats,
    /// Median time on 1 thread / median time here.
    pub speedup: f64,
    /// Speed-up / threads.
    pub efficiency: f64,
    /// The serial fraction this one speed-up implies (absent on 1 thread).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub karp_flatt: Option<f64>,
    /// False when the timings' noise could move Karp–Flatt by more than its own value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub karp_flatt_reliable: Option<bool>,
    pub verified: bool,
}

/// The CSV row of one thread count.
#[derive(Serialize, Default)]
struct ScalingRow {
    threads: usize,
    median_s: Number,
    speedup: Number,
    efficiency: Number,
    karp_flatt: Option<Number>,
    verified: bool,
}

/// The output of `hpclab scaling`.
#[derive(Debug, Clone, Serialize)]
pub struct ScalingDocument {
    /// Version, command line and machine.
    #[serde(flatten)]
    pub provenance: Provenance,
    pub kernel: String,
    pub size: u64,
    pub points: Vec<ScalingPoint>,
    /// Amdahl's serial fraction fitted to the speed-ups up to the core count (oversubscribed
    /// points excluded: they measure contention, not the serial part).
    pub serial_fraction: Option<f64>,
    /// The most speed-up Amdahl's law allows with that fraction: 1 / serial.
    pub amdahl_limit: Option<f64>,
    /// Why no serial fraction was fitted, when the data cannot support one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amdahl_refused: Option<String>,
    /// Logical cores of this machine.
    pub cores: usize,
}

impl ScalingDocument {
    /// Builds the document from (threads, compute statistics, verified) per thread count; the
    /// first entry must be 1 thread.
    pub fn new(
        kernel: &str,
        size: u64,
        measured: Vec<(usize, Stats, bool)>,
        environment: Environment,
        command: String,
    ) -> Self {
        let base = measured.first().map(|(_, stats, _)| stats.clone());
        let base_median = base.as_ref().map_or(f64::NAN, |stats| stats.median_s);
        let base_cv = base
            .as_ref()
            .map_or(0.0, |stats| stats.coefficient_of_variation());
        let cores = environment.cpu.logical_cores;
        let mut provenance = Provenance::new(command, environment);
        let labelled: Vec<(String, &Stats)> = measured
            .iter()
            .map(|(threads, stats, _)| (format!("{kernel} rayon ×{threads}"), stats))
            .collect();
        provenance.warnings.extend(stats_warnings(&labelled));
        let points: Vec<ScalingPoint> = measured
            .into_iter()
            .map(|(threads, time, verified)| {
                let speedup = base_median / time.median_s;
                let karp_flatt = karp_flatt(speedup, threads as f64);
                // 1/S moves by about (cv₁ + cv_p)/S, and e by that over (1 − 1/p).
                let noise = (base_cv + time.coefficient_of_variation())
                    / speedup
                    / (1.0 - 1.0 / threads as f64);
                ScalingPoint {
                    threads,
                    speedup,
                    efficiency: speedup / threads as f64,
                    karp_flatt_reliable: karp_flatt.map(|e| noise <= e.abs()),
                    karp_flatt,
                    time,
                    verified,
                }
            })
            .collect();
        let fitted: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.threads <= cores)
            .map(|p| (p.threads as f64, p.speedup))
            .collect();
        let amdahl_refused = amdahl_refusal(&points, base.as_ref(), cores);
        let serial_fraction = match amdahl_refused {
            None => fit_amdahl(&fitted),
            Some(_) => None,
        };
        ScalingDocument {
            provenance,
            amdahl_refused,
            kernel: kernel.to_string(),
            size,
            amdahl_limit: serial_fraction.filter(|f| *f > 0.0).map(|f| 1.0 / f),
            serial_fraction,
            points,
            cores,
        }
    }
}

/// Why the points cannot support an Amdahl fit, if they cannot: a speed-up below 1 is overhead
/// or contention, which Amdahl's law does not describe; speed-ups whose time ranges overlap the
/// 1-thread range are within its noise.
fn amdahl_refusal(points: &[ScalingPoint], base: Option<&Stats>, cores: usize) -> Option<String> {
    let parallel: Vec<&ScalingPoint> = points
        .iter()
        .filter(|p| p.threads > 1 && p.threads <= cores)
        .collect();
    let base = base?;
    if parallel.is_empty() {
        return None;
    }
    let within_noise = parallel
        .iter()
        .all(|p| p.time.min_s <= base.max_s && base.min_s <= p.time.max_s);
    if within_noise {
        return Some(
            "no Amdahl fit: every speed-up is within the noise of 1 thread (their min–max ranges overlap), so the data cannot tell a serial fraction"
                .to_string(),
        );
    }
    let slower: Vec<String> = parallel
        .iter()
        .filter(|p| p.speedup < 1.0)
        .map(|p| format!("{} threads {}", p.threads, ratio(p.speedup)))
        .collect();
    (!slower.is_empty()).then(|| {
        format!(
            "no Amdahl fit: a speed-up below 1 ({}) is overhead or contention, which Amdahl's law does not describe",
            slower.join(", ")
        )
    })
}

impl Document for ScalingDocument {
    fn warnings(&self) -> &[String] {
        &self.provenance.warnings
    }

    fn verified(&self) -> bool {
        self.points.iter().all(|p| p.verified)
    }

    fn heading(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "scaling {} · n = {} · rayon backend on {} threads (the last one oversubscribed)",
            self.kernel,
            format_count(self.size),
            self.points
                .iter()
                .map(|p| p.threads.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )];
        lines.extend(machine_lines(
            &self.provenance.environment,
            Machine {
                cpu_count: Some(format!("{} logical cores", self.cores)),
                ..Machine::default()
            },
        ));
        lines
    }

    fn tables(&self) -> Vec<Rows> {
        let rows = self
            .points
            .iter()
            .map(|p| {
                vec![
                    p.threads.to_string(),
                    seconds(p.time.median_s),
                    seconds_span(p.time.min_s, p.time.max_s),
                    ratio(p.speedup),
                    percent(p.efficiency),
                    match (p.karp_flatt, p.karp_flatt_reliable) {
                        (Some(e), Some(false)) => format!("{e:.3} (noise)"),
                        (Some(e), _) => format!("{e:.3}"),
                        (None, _) => NONE.into(),
                    },
                    check(p.verified),
                ]
            })
            .collect();
        vec![Rows::new(
            &[
                "threads",
                "compute",
                "min – max",
                "speed-up",
                "efficiency",
                "Karp–Flatt",
                "check",
            ],
            rows,
            vec![0, 1, 3, 4, 5],
        )]
    }

    fn footer(&self) -> Vec<String> {
        let mut lines = Vec::new();
        match (self.serial_fraction, self.amdahl_limit) {
            (Some(serial), Some(limit)) => lines.push(format!(
                "Amdahl fit (threads ≤ {}): serial fraction {serial:.3}, so no thread count can beat {}",
                self.cores,
                ratio(limit)
            )),
            (Some(serial), None) => lines.push(format!("Amdahl fit (threads ≤ {}): serial fraction {serial:.3} (perfectly parallel)", self.cores)),
            _ => lines.push(self.amdahl_refused.clone().unwrap_or_else(|| {
                "Amdahl fit: needs at least one point with more than one thread".into()
            })),
        }
        if self
            .points
            .iter()
            .any(|p| p.karp_flatt_reliable == Some(false))
        {
            lines.push(
                "Karp–Flatt marked (noise): the timings' spread could move it by more than its value"
                    .into(),
            );
        }
        lines.push(
            "Karp–Flatt e = (1/S − 1/p) / (1 − 1/p): constant e means a fixed serial part; e growing with p means \
             overhead or a shared resource (memory bandwidth) that grows with the threads"
                .into(),
        );
        lines
    }

    fn csv(&self) -> Result<String> {
        csv::write(self.points.iter().map(|p| ScalingRow {
            threads: p.threads,
            median_s: Number(p.time.median_s),
            speedup: Number(p.speedup),
            efficiency: Number(p.efficiency),
            karp_flatt: p.karp_flatt.map(Number),
            verified: p.verified,
        }))
    }

    fn json(&self) -> Result<serde_json::Value> {
        to_json(self)
    }

    /// Speed-up against threads: measured (min–max bars), the fitted Amdahl curve and the
    /// ideal, both on at most the machine's cores (marked).
    fn chart(&self) -> Option<Chart> {
        let most = self.points.iter().map(|p| p.threads).max().unwrap_or(1);
        let workers = |t: usize| t.min(self.cores.max(1)) as f64;
        let measured = self.points.iter().map(|p| (p.threads as f64, p.speedup));
        let bars = self
            .points
            .iter()
            .map(|p| rate_bar(p.threads as f64, p.speedup, &p.time));
        let mut series = vec![
            Series::measured("measured (median; bars: min–max)", measured.collect())
                .bars(bars.collect())
                .color(0)
                .shape(Shape::Circle),
        ];
        if let Some(serial) = self.serial_fraction {
            let amdahl = (1..=most).map(|t| (t as f64, amdahl_speedup(serial, workers(t))));
            series.push(
                Series::model(
                    format!("Amdahl fit, serial fraction {serial:.3}"),
                    amdahl.collect(),
                )
                .color(1),
            );
        }
        series.push(ideal_speedup("threads", self.cores, most).color(2));
        let title = format!(
            "{} at n = {}: speed-up of the rayon backend",
            self.kernel,
            format_count(self.size)
        );
        let chart = Chart::new(
            title,
            Axis::linear("threads (rayon pool size)", Unit::Integer),
            Axis::linear("speed-up over 1 thread (median times)", Unit::Number),
        );
        Some(chart.with_series(series).with_markers(vec![Marker {
            x: self.cores as f64,
            label: format!("{} logical cores", self.cores),
        }]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(samples: &[f64]) -> Stats {
        Stats::from_samples(samples.to_vec()).unwrap()
    }

    fn document(measured: Vec<(usize, Stats, bool)>) -> ScalingDocument {
        let mut environment = Environment::capture(2, None);
        environment.cpu.logical_cores = 2;
        ScalingDocument::new("k", 1, measured, environment, "hpclab scaling k".into())
    }

    #[test]
    fn amdahl_is_fitted_from_clear_speedups() {
        let doc = document(vec![
            (1, stats(&[1.0, 1.01, 0.99]), true),
            (2, stats(&[0.55, 0.56, 0.54]), true),
        ]);
        assert!(doc.amdahl_refused.is_none());
        let serial = doc.serial_fraction.unwrap();
        assert!((serial - 0.1).abs() < 0.02, "{serial}");
        assert_eq!(doc.points[1].karp_flatt_reliable, Some(true));
    }

    #[test]
    fn amdahl_is_refused_below_one_and_within_noise() {
        let slower = document(vec![
            (1, stats(&[1.0, 1.01, 0.99]), true),
            (2, stats(&[1.3, 1.31, 1.29]), true),
        ]);
        assert!(slower.serial_fraction.is_none());
        assert!(
            slower
                .amdahl_refused
                .as_deref()
                .unwrap()
                .contains("below 1")
        );

        let noisy = document(vec![
            (1, stats(&[1.0, 0.6, 1.4]), true),
            (2, stats(&[0.9, 0.5, 1.3]), true),
        ]);
        assert!(noisy.serial_fraction.is_none());
        assert!(
            noisy
                .amdahl_refused
                .as_deref()
                .unwrap()
                .contains("within the noise")
        );
        assert_eq!(noisy.points[1].karp_flatt_reliable, Some(false));
        assert!(noisy.footer().iter().any(|l| l.contains("(noise)")));
        assert!(noisy.warnings().iter().any(|w| w.contains("large spread")));
    }
}
