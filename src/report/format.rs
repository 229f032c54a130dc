//! How numbers are written for people: durations with their unit, rates, ratios.

/// A duration in seconds written with a unit that keeps 3–4 significant digits: `12.3 ms`.
pub fn seconds(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 {
        "0 s".to_string()
    } else if magnitude < 1e-6 {
        format!("{:.0} ns", value * 1e9)
    } else if magnitude < 0.99995e-3 {
        format!("{:.1} µs", value * 1e6)
    } else if magnitude < 1.0 {
        format!("{:.2} ms", value * 1e3)
    } else {
        format!("{:.3} s", value)
    }
}

/// What a cell holds when there is nothing to say.
pub const NONE: &str = "–";

/// The fastest and slowest of a set of durations: `1.2 µs – 1.5 µs`.
pub fn seconds_span(min: f64, max: f64) -> String {
    format!("{} – {}", seconds(min), seconds(max))
}

/// The check column: `ok` or `FAILED`.
pub fn check(verified: bool) -> String {
    if verified { "ok" } else { "FAILED" }.to_string()
}

/// A rate with one decimal below 100 and none above: `35.2`, `812`.
pub fn rate(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

/// A ratio as `3.21×`.
pub fn ratio(value: f64) -> String {
    if value >= 10.0 {
        format!("{value:.1}×")
    } else if value >= 0.1 {
        format!("{value:.2}×")
    } else if value >= 0.001 {
        format!("{value:.3}×")
    } else {
        "<0.001×".to_string()
    }
}

/// A fraction as a percentage: `93%` (defined beside the statistics, whose noise warnings use it).
pub use crate::measure::stats::percent;

/// A share of a whole as a percentage, one decimal below 10% so that small shares (a halo
/// exchange, an allreduce) do not read as 0%: `0.4%`, `97%`.
pub fn share(value: f64) -> String {
    if value.abs() < 0.0995 {
        format!("{:.1}%", value * 100.0)
    } else {
        percent(value)
    }
}

/// A count with thousands separators: `33,554,432`.
pub fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_their_unit() {
        assert_eq!(seconds(0.0123), "12.30 ms");
        assert_eq!(seconds(4.5e-5), "45.0 µs");
        assert_eq!(seconds(2.0), "2.000 s");
        assert_eq!(seconds(3e-8), "30 ns");
    }

    #[test]
    fn numbers() {
        assert_eq!(grouped(33_554_432), "33,554,432");
        assert_eq!(grouped(12), "12");
        assert_eq!(ratio(3.214), "3.21×");
        assert_eq!(percent(0.934), "93%");
        assert_eq!(rate(812.3), "812");
    }
}
