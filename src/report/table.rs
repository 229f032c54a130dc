//! Tables: the plain rows every document is made of, and their terminal and Markdown renderings.

use super::{Document, Exporter};
use crate::error::Result;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};

/// A header and rows of plain cells, rendered for the terminal or as Markdown.
pub struct Rows {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns whose cells are numbers (right-aligned).
    pub numeric: Vec<usize>,
}

impl Rows {
    /// Rows under a fixed header; `numeric` lists the right-aligned columns.
    pub fn new(header: &[&str], rows: Vec<Vec<String>>, numeric: Vec<usize>) -> Rows {
        Rows {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows,
            numeric,
        }
    }
}

/// Renders rows as a terminal table.
pub fn render_terminal(rows: &Rows) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(&rows.header);
    for row in &rows.rows {
        table.add_row(row);
    }
    for &index in &rows.numeric {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table.to_string()
}

/// Renders rows as a Markdown table.
pub fn render_markdown(rows: &Rows) -> String {
    let escape = |cell: &String| cell.replace('|', "\\|");
    let mut out = format!(
        "| {} |\n",
        rows.header
            .iter()
            .map(escape)
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let rule: Vec<&str> = (0..rows.header.len())
        .map(|i| {
            if rows.numeric.contains(&i) {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    out.push_str(&format!("| {} |\n", rule.join(" | ")));
    for row in &rows.rows {
        out.push_str(&format!(
            "| {} |\n",
            row.iter().map(escape).collect::<Vec<_>>().join(" | ")
        ));
    }
    out
}

/// The terminal rendering of any document.
pub struct TableExporter;

impl Exporter for TableExporter {
    fn render(&self, document: &dyn Document) -> Result<String> {
        let mut text = String::new();
        for line in document.heading() {
            text.push_str(&line);
            text.push('\n');
        }
        for rows in document.tables() {
            text.push_str(&render_terminal(&rows));
            text.push('\n');
        }
        for line in document.footer() {
            text.push_str(&line);
            text.push('\n');
        }
        for warning in document.warnings() {
            text.push_str(&format!("warning: {warning}\n"));
        }
        Ok(text)
    }
}
