//! How a command ended when it did not fail outright.

/// How a command ended when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything ran and verified.
    Success,
    /// It ran, but at least one result failed verification (exit code 1).
    VerificationFailed,
}

impl Outcome {
    /// `Success` when every result was verified.
    pub fn from_verified(verified: bool) -> Outcome {
        if verified {
            Outcome::Success
        } else {
            Outcome::VerificationFailed
        }
    }
}
