//! The Markdown exporter: a document's heading, tables and notes, ready for a lab report.

use super::table::render_markdown;
use super::{Document, Exporter};
use crate::error::Result;

/// Writes a document as a Markdown section.
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn render(&self, document: &dyn Document) -> Result<String> {
        let mut heading = document.heading().into_iter();
        let mut text = heading
            .next()
            .map_or(String::new(), |title| format!("### {title}\n\n"));
        for line in heading {
            text.push_str(&format!("- {line}\n"));
        }
        for rows in document.tables() {
            text.push('\n');
            text.push_str(&render_markdown(&rows));
        }
        text.push('\n');
        for line in document.footer() {
            text.push_str(&format!("{line}  \n"));
        }
        for warning in document.warnings() {
            text.push_str(&format!("**warning:** {warning}  \n"));
        }
        Ok(text)
    }
}
