//! The CSV exporter: a document's flat rows (one per record or point), for spreadsheets.

use super::{Document, Exporter};
use crate::error::{Error, Result};

/// Writes a document's [`Document::csv`] rows.
pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn render(&self, document: &dyn Document) -> Result<String> {
        let encode = |e: csv::Error| Error::io("encoding CSV", std::io::Error::other(e));
        let rows = document.csv();
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&rows.header).map_err(encode)?;
        for row in &rows.rows {
            writer.write_record(row).map_err(encode)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| Error::io("encoding CSV", std::io::Error::other(e.to_string())))?;
        String::from_utf8(bytes).map_err(|e| Error::io("encoding CSV", std::io::Error::other(e)))
    }
}
