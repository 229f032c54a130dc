//! Tables: the plain rows every document is made of, and their terminal and Markdown renderings.

use super::{Document, Exporter};
use crate::error::Result;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Table, Width};

/// A header and rows of plain cells, rendered for the terminal or as Markdown.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns whose cells are numbers (right-aligned, never wrapped).
    pub numeric: Vec<usize>,
    /// Headers of the columns a terminal too narrow for the table leaves out, first to go first
    /// (the Markdown, CSV and JSON keep every column).
    pub droppable: Vec<String>,
}

impl Rows {
    /// Rows under a fixed header; `numeric` lists the right-aligned columns.
    pub fn new(header: &[&str], rows: Vec<Vec<String>>, numeric: Vec<usize>) -> Rows {
        Rows {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows,
            numeric,
            droppable: Vec::new(),
        }
    }

    /// The same rows, with the columns a narrow terminal may leave out (first to go first).
    pub fn droppable(self, headers: &[&str]) -> Rows {
        Rows {
            droppable: headers.iter().map(|h| h.to_string()).collect(),
            ..self
        }
    }

    /// The narrowest column `index` can be without breaking a number or a word (a word is
    /// allowed at most [`LONGEST_UNBROKEN_WORD`]; a longer one breaks).
    fn narrowest(&self, index: usize) -> u16 {
        let cells = self.rows.iter().filter_map(|row| row.get(index));
        let chars = |text: &str| text.chars().count();
        let widest = if self.numeric.contains(&index) {
            cells.map(|cell| chars(cell)).max().unwrap_or(1)
        } else {
            cells
                .chain(self.header.get(index))
                .flat_map(|cell| cell.split_whitespace())
                .map(|word| chars(word).min(LONGEST_UNBROKEN_WORD))
                .max()
                .unwrap_or(1)
        };
        let header_words = self.header.get(index).map_or(1, |header| {
            header
                .split_whitespace()
                .map(|word| chars(word).min(LONGEST_UNBROKEN_WORD))
                .max()
                .unwrap_or(1)
        });
        widest.max(header_words) as u16
    }

    /// The same rows with only the columns `indices`, in that order.
    fn only(&self, indices: &[usize]) -> Rows {
        let pick = |cells: &Vec<String>| {
            indices
                .iter()
                .filter_map(|&i| cells.get(i).cloned())
                .collect()
        };
        Rows {
            header: pick(&self.header),
            rows: self.rows.iter().map(pick).collect(),
            numeric: indices
                .iter()
                .enumerate()
                .filter(|(_, i)| self.numeric.contains(i))
                .map(|(position, _)| position)
                .collect(),
            droppable: self.droppable.clone(),
        }
    }

    /// The same rows without column `index`.
    fn without(&self, index: usize) -> Rows {
        let drop = |cells: &Vec<String>| {
            let mut cells = cells.clone();
            if index < cells.len() {
                cells.remove(index);
            }
            cells
        };
        Rows {
            header: drop(&self.header),
            rows: self.rows.iter().map(drop).collect(),
            numeric: self
                .numeric
                .iter()
                .filter(|&&i| i != index)
                .map(|&i| if i > index { i - 1 } else { i })
                .collect(),
            droppable: self.droppable.clone(),
        }
    }
}

/// The width tables and notes are fitted to: `COLUMNS` when set, else the terminal's when
/// stdout is one; `None` (lines as long as they are) for pipes and files.
pub fn output_width() -> Option<u16> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|text| text.trim().parse::<u16>().ok())
        .or_else(|| Table::new().width())
        // A pseudo-terminal without a size (mpirun's, for its ranks) reports 0 columns.
        .filter(|&columns| columns >= MIN_WIDTH)
}

/// Narrower than this, fitting makes tables unreadable: they are left to wrap.
const MIN_WIDTH: u16 = 40;

/// The longest word a fitted table keeps whole; a longer one (a path, a formula) may break.
const LONGEST_UNBROKEN_WORD: usize = 24;

/// The spaces comfy-table puts around every cell's text.
const CELL_PADDING: u16 = 2;

/// Renders rows as a terminal table fitted to `width`: the droppable columns go first, in their
/// order, until the table fits; then text cells wrap (a number's cell never does). A line under
/// the table names what was left out.
pub fn render_terminal(rows: &Rows, width: Option<u16>) -> String {
    let Some(width) = width else {
        return table_text(rows, None);
    };
    let fits = |rows: &Rows| fitted_width(rows) <= width as usize;
    let mut fitted = rows.clone();
    let mut left_out = Vec::new();
    for name in &rows.droppable {
        if fits(&fitted) {
            break;
        }
        if let Some(index) = fitted.header.iter().position(|h| h == name) {
            fitted = fitted.without(index);
            left_out.push(name.as_str());
        }
    }
    // Still too wide with every droppable column gone (a sweep of many implementations): the
    // columns go into several tables, each led by the first column, as pandas prints a wide
    // frame. A part that cannot fit even so is left whole to the terminal: whole lines read
    // better than cells broken inside numbers.
    let mut text = column_parts(&fitted, width)
        .iter()
        .map(|part| table_text(part, fits(part).then_some(width)))
        .collect::<Vec<_>>()
        .join("\n");
    if !left_out.is_empty() {
        text.push('\n');
        text.push_str(&fitted_line(
            &format!(
                "left out to fit {width} columns: {} (a wider terminal, or -f md, csv or json, shows them)",
                left_out.join(", ")
            ),
            Some(width),
        ));
    }
    text
}

/// The width of `rows` with every column at its narrowest, borders and padding included.
fn fitted_width(rows: &Rows) -> usize {
    let borders = 3 * rows.header.len() + 1;
    (0..rows.header.len())
        .map(|index| rows.narrowest(index) as usize)
        .sum::<usize>()
        + borders
}

/// `rows` as one table when it fits `width`, else as consecutive groups of its columns, each
/// group led by the first column and as many of the next as fit.
fn column_parts(rows: &Rows, width: u16) -> Vec<Rows> {
    if rows.header.len() < 3 || fitted_width(rows) <= width as usize {
        return vec![rows.clone()];
    }
    let mut parts = Vec::new();
    let mut current = vec![0];
    for index in 1..rows.header.len() {
        let mut wider = current.clone();
        wider.push(index);
        if current.len() > 1 && fitted_width(&rows.only(&wider)) > width as usize {
            parts.push(rows.only(&current));
            current = vec![0, index];
        } else {
            current = wider;
        }
    }
    parts.push(rows.only(&current));
    parts
}

/// One table, wrapped to `width` where given.
fn table_text(rows: &Rows, width: Option<u16>) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    match width {
        Some(width) => table
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width),
        None => table.set_content_arrangement(ContentArrangement::Disabled),
    };
    table.set_header(&rows.header);
    for row in &rows.rows {
        table.add_row(row);
    }
    for index in 0..rows.header.len() {
        let narrowest = rows.narrowest(index);
        if let Some(column) = table.column_mut(index) {
            if rows.numeric.contains(&index) {
                column.set_cell_alignment(CellAlignment::Right);
            }
            // comfy-table's widths include the cell's padding (its default, one space each
            // side, as `fits` counts in `render_terminal`).
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(
                narrowest + CELL_PADDING,
            )));
        }
    }
    table.to_string()
}

/// A note fitted to `width`, its continuation lines indented.
fn fitted_line(line: &str, width: Option<u16>) -> String {
    match width {
        Some(width) => textwrap::fill(
            line,
            textwrap::Options::new(width as usize).subsequent_indent("  "),
        ),
        None => line.to_string(),
    }
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
        let width = output_width();
        let mut text = String::new();
        for line in document.heading() {
            text.push_str(&fitted_line(&line, width));
            text.push('\n');
        }
        for rows in document.tables() {
            text.push_str(&render_terminal(&rows, width));
            text.push('\n');
        }
        let warnings = document.warnings().iter().map(|w| format!("warning: {w}"));
        for line in document.footer().into_iter().chain(warnings) {
            text.push_str(&fitted_line(&line, width));
            text.push('\n');
        }
        Ok(text)
    }
}
