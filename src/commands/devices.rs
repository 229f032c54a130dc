//! `hpclab devices`: the CPU and every GPU adapter.

use crate::Outcome;
use crate::cli::DevicesArgs;
use crate::error::Result;
use crate::experiments::devices::Devices;

/// Publishes the devices where `--format` and `--output` say.
pub fn execute(args: &DevicesArgs) -> Result<Outcome> {
    let destination = super::checked(args.out.destination())?;
    super::publish(&Devices::detect(args.gpu_api), &destination)
}
