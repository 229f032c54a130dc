//! `hpclab list`: the kernel catalogue.

use crate::Outcome;
use crate::cli::ListArgs;
use crate::error::Result;
use crate::experiments::catalogue::CatalogueDocument;

/// Publishes the catalogue where `--format` and `--output` say.
pub fn execute(args: &ListArgs) -> Result<Outcome> {
    let destination = super::checked(args.out.destination())?;
    super::publish(&CatalogueDocument::new(), &destination)
}
