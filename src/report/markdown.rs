//! The Markdown exporter: the run table with its heading and notes, ready for a lab report.

use super::table::{render_markdown, run_footer, run_heading, run_rows};
use super::{Exporter, RunDocument};
use crate::error::Result;

/// Writes a run as a Markdown section.
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn render(&self, document: &RunDocument) -> Result<String> {
        let mut heading = run_heading(document).into_iter();
        let mut text = format!("### {}\n\n", heading.next().unwrap_or_default());
        for line in heading {
            text.push_str(&format!("- {line}\n"));
        }
        text.push('\n');
        text.push_str(&render_markdown(&run_rows(document)));
        text.push('\n');
        for line in run_footer(document) {
            text.push_str(&format!("{line}  \n"));
        }
        Ok(text)
    }
}
