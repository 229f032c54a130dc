//! The JSON exporter: the whole document, every sample included.

use super::{Document, Exporter};
use crate::error::{Error, Result};

/// Writes a document as pretty-printed JSON.
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn render(&self, document: &dyn Document) -> Result<String> {
        let mut text = serde_json::to_string_pretty(&document.json()?)
            .map_err(|e| Error::io("encoding JSON", std::io::Error::other(e)))?;
        text.push('\n');
        Ok(text)
    }
}
