//! How far each summation strategy may honestly be from the exact sum.
//!
//! Every strategy is a tree of additions; an element's error is amplified by the roundings on
//! its path to the root. If no path has more than h roundings of unit roundoff u, then
//! |ŝ − s| ≤ γ_h · Σ|x|, γ_h = h·u / (1 − h·u) (Higham, *Accuracy and Stability of Numerical
//! Algorithms*, 2002, §4.2): the worst case, valid whatever the data, which assumes every
//! rounding goes the same way. It grows like h, means nothing once h·u ≥ 1 (the sequential sum
//! at n ≥ 2^24), and at large h is so loose that a sum missing a large share of its elements
//! would pass. Higham & Mary (2019) model roundings as independent with mean zero and get
//! λ·√h·u instead, with probability of failure below h·2e^(−λ²/2); it is the smaller bound from
//! h = 64 on (λ = 8). The allowance here is the smaller of the two. The model fails where the
//! roundings are biased: an f32 accumulator at 2^24 or more has half an ulp of at least 1, so
//! adding any element below 1 changes nothing (stagnation); the elements that may meet such an
//! accumulator are added to the allowance in full.

/// Unit roundoff of IEEE f32 round-to-nearest: the CPU.
pub const CPU_UNIT: f64 = 1.0 / (1u64 << 24) as f64;

/// Unit roundoff for GPU f32 adds: WGSL allows the result to be rounded either way (not only
/// to nearest; Vulkan allows round-toward-zero), so one ulp, 2^-23.
pub const GPU_UNIT: f64 = 1.0 / (1u64 << 23) as f64;

/// λ of the probabilistic bound: it fails with probability below n · 2e^(−λ²/2) = n · 2.5e-14.
pub const LAMBDA: f64 = 8.0;

/// Where an f32 accumulator stops growing when the elements are below 1.
const STAGNATION: f64 = (1u64 << 24) as f64;

/// The rounding structure of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Depth {
    /// The most roundings on any element's path to the result.
    pub roundings: u64,
    /// Unit roundoff of each.
    pub unit: f64,
    /// Sums kept in order side by side (accumulators, invocations).
    pub chains: u64,
    /// Elements in the longest of them.
    pub chain_len: u64,
    /// Where `roundings` comes from, for the rule text.
    pub why: String,
}

/// The allowed |ŝ − s| for a run of this depth over elements in [0, 1) with Σ|x| = `sum_abs`,
/// and the rule in words: the smaller of the worst-case bound (while it means anything) and the
/// probabilistic bound with its stagnation allowance.
pub fn allowed_error(depth: &Depth, sum_abs: f64) -> (f64, String) {
    let h = depth.roundings as f64;
    let u = depth.unit;
    let hu = h * u;
    let unit = if u == GPU_UNIT { "2^-23" } else { "2^-24" };
    let probabilistic = ((LAMBDA * h.sqrt() * u + h * u * u / (1.0 - u)).exp() - 1.0) * sum_abs;
    // A chain stagnates only after its own sum reaches 2^24 − (its error so far). One chain:
    // what comes after that point is at most Σx − (2^24 − E). Several: each chain's sum is at
    // most its length (elements below 1).
    let stagnation = if depth.chains <= 1 {
        (sum_abs - STAGNATION + probabilistic).max(0.0)
    } else {
        depth.chains as f64 * (depth.chain_len as f64 - STAGNATION + probabilistic).max(0.0)
    };
    let likely = probabilistic + stagnation;
    let head = format!(
        "h = {} roundings ({}), u = {unit}; s exact (integer arithmetic on the 24-bit inputs)",
        depth.roundings, depth.why
    );
    if hu <= 0.5 {
        let worst = hu / (1.0 - hu) * sum_abs;
        if worst <= likely {
            return (
                worst,
                format!(
                    "|ŝ − s| ≤ γ_h·Σ|x| = {worst:.3e}, γ_h = h·u/(1 − h·u): worst case (Higham 2002 §4.2); {head}"
                ),
            );
        }
        return (
            likely,
            format!(
                "|ŝ − s| ≤ (exp(λ√h·u + h·u²/(1 − u)) − 1)·Σ|x| = {likely:.3e}, λ = 8: probabilistic (Higham & Mary 2019), \
                 below the worst case γ_h·Σ|x| = {worst:.3e}; {head}"
            ),
        );
    }
    (
        likely,
        format!(
            "h·u > 1/2, so the worst case says nothing; |ŝ − s| ≤ (exp(λ√h·u + h·u²/(1 − u)) − 1)·Σ|x|, λ = 8: \
             probabilistic (Higham & Mary 2019), + {stagnation:.3e} for stagnation (an accumulator at 2^24 ignores \
             any element below 1) = {likely:.3e}; {head}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_chains_get_the_worst_case_and_long_ones_the_probabilistic_bound_with_stagnation() {
        let depth = |roundings| Depth {
            roundings,
            unit: CPU_UNIT,
            chains: 1,
            chain_len: roundings + 1,
            why: "test".into(),
        };
        // Below 64 roundings the worst case h·u is the smaller bound.
        let (small, rule) = allowed_error(&depth(20), 15.0);
        let first_order = 20.0 * CPU_UNIT * 15.0;
        assert!((small / first_order - 1.0).abs() < 1e-3, "{small}");
        assert!(rule.contains("worst case"));
        // Above, λ√h·u is: 8·√999 < 999.
        let (middle, rule) = allowed_error(&depth(999), 500.0);
        assert!(rule.contains("probabilistic"));
        assert!(middle < 999.0 * CPU_UNIT * 500.0 && middle > 8.0 * 31.0 * CPU_UNIT * 500.0);
        let n = 1u64 << 25;
        let sum = 0.75 * n as f64;
        let (large, rule) = allowed_error(&depth(n - 1), sum);
        assert!(rule.contains("probabilistic"));
        // Everything added after the sum passed 2^24 may be ignored, and little more.
        assert!(large > sum - STAGNATION, "{large}");
        assert!(large < sum - STAGNATION + 2e5, "{large}");
    }
}
