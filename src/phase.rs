//! The phase times of one sample: what every backend's run hands to the timing loop.

/// The phase times of one sample, in seconds. CPU samples have only a compute phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseSample {
    /// Host→device transfer, when the backend has one.
    pub upload_s: Option<f64>,
    /// Compute as measured on the host clock (submit → completion for the GPU).
    pub compute_wall_s: f64,
    /// Compute from GPU timestamp queries, when the adapter gave a valid pair for this sample.
    pub compute_timestamp_s: Option<f64>,
    /// Device→host transfer, when the backend has one.
    pub download_s: Option<f64>,
}

impl PhaseSample {
    /// The wall time of the whole sample: every phase on the host clock.
    pub fn total_s(&self) -> f64 {
        self.upload_s.unwrap_or(0.0) + self.compute_wall_s + self.download_s.unwrap_or(0.0)
    }
}
