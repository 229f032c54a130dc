//! The JSON exporter: the whole document, every sample included.

use super::{Exporter, RunDocument};
use crate::error::{Error, Result};

/// Writes the [`RunDocument`] as pretty-printed JSON.
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn render(&self, document: &RunDocument) -> Result<String> {
        let mut text = serde_json::to_string_pretty(document)
            .map_err(|e| Error::io("encoding JSON", std::io::Error::other(e)))?;
        text.push('\n');
        Ok(text)
    }
}
