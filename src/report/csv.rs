//! The CSV exporter: a document's flat rows (one per record or point), serialized by the csv
//! crate from each document's row struct, for spreadsheets.

use super::table::Rows;
use super::{Document, Exporter};
use crate::error::{Error, Result};
use serde::{Serialize, Serializer};

/// Writes a document's [`Document::csv`].
pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn render(&self, document: &dyn Document) -> Result<String> {
        document.csv()
    }
}

/// A number as Rust prints it (`0.00001`, `1`) rather than in the csv crate's shortest form
/// (`1e-5`, `1.0`), so that columns read the same in every spreadsheet and script.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Number(pub f64);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl From<f64> for Number {
    fn from(value: f64) -> Number {
        Number(value)
    }
}

/// The CSV of `rows`, a header line from the row struct's field names first (also when there
/// are no rows).
pub fn write<R: Serialize + Default>(rows: impl IntoIterator<Item = R>) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut rows = rows.into_iter().peekable();
    if rows.peek().is_none() {
        // The header alone: serialize an empty row and keep only its first line.
        let text = write(Some(R::default()))?;
        return Ok(text
            .lines()
            .next()
            .map_or(String::new(), |h| format!("{h}\n")));
    }
    for row in rows {
        writer.serialize(row).map_err(encoding)?;
    }
    finish(writer)
}

/// The CSV of a table's cells, for documents whose rows are their table (the catalogue, the
/// devices).
pub fn table(rows: &Rows) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&rows.header).map_err(encoding)?;
    for row in &rows.rows {
        writer.write_record(row).map_err(encoding)?;
    }
    finish(writer)
}

fn encoding(error: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::io("encoding CSV", std::io::Error::other(error))
}

fn finish(writer: csv::Writer<Vec<u8>>) -> Result<String> {
    let bytes = writer
        .into_inner()
        .map_err(|e| encoding(std::io::Error::other(e.to_string())))?;
    String::from_utf8(bytes).map_err(encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Default)]
    struct Row<'a> {
        name: &'a str,
        median_s: Number,
        fit: Option<Number>,
        threads: Option<usize>,
        verified: bool,
    }

    #[test]
    fn rows_keep_their_fields_order_and_rust_number_formatting() {
        let rows = [
            Row {
                name: "a,b",
                median_s: Number(0.00001),
                fit: None,
                threads: Some(2),
                verified: true,
            },
            Row {
                name: "c",
                median_s: Number(1.0),
                fit: Some(Number(2.5)),
                threads: None,
                verified: false,
            },
        ];
        assert_eq!(
            write(rows).unwrap(),
            "name,median_s,fit,threads,verified\n\"a,b\",0.00001,,2,true\nc,1,2.5,,false\n"
        );
        assert_eq!(
            write(Vec::<Row>::new()).unwrap(),
            "name,median_s,fit,threads,verified\n"
        );
    }
}
