//! A self-contained HTML page of documents: headings, tables and notes, with each figure's SVG
//! inlined, so that one file is what a student hands in.

use super::Document;
use super::table::Rows;

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One table as HTML, in a box that scrolls sideways when the table is wider than the page.
pub fn table(rows: &Rows) -> String {
    let class = |i: usize| {
        if rows.numeric.contains(&i) {
            " class=\"num\""
        } else {
            ""
        }
    };
    let mut html = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
    for (i, cell) in rows.header.iter().enumerate() {
        html.push_str(&format!("<th{}>{}</th>", class(i), escape(cell)));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in &rows.rows {
        html.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            html.push_str(&format!("<td{}>{}</td>", class(i), escape(cell)));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table></div>\n");
    html
}

/// Notes already on the page: a note that every section of one kind repeats (how GB/s is
/// computed, what `(ts)` means) is shown once, where it first appears.
pub type SeenNotes = std::collections::BTreeSet<String>;

/// A document's heading, tables, notes (those not in `seen`) and warnings, as HTML.
pub fn document_body(document: &dyn Document, seen: &mut SeenNotes) -> String {
    let mut html = String::new();
    let heading = document.heading();
    if !heading.is_empty() {
        html.push_str("<ul>\n");
        for line in heading {
            html.push_str(&format!("<li>{}</li>\n", escape(&line)));
        }
        html.push_str("</ul>\n");
    }
    for rows in document.tables() {
        html.push_str(&table(&rows));
    }
    for line in document.footer() {
        if seen.insert(line.clone()) {
            html.push_str(&format!("<p class=\"note\">{}</p>\n", escape(&line)));
        }
    }
    for warning in document.warnings() {
        html.push_str(&format!(
            "<p class=\"warning\">warning: {}</p>\n",
            escape(warning)
        ));
    }
    html
}

/// One document as an HTML section; `svg` is its figure, inlined when present.
pub fn section(
    title: &str,
    command: &str,
    document: &dyn Document,
    svg: Option<&str>,
    seen: &mut SeenNotes,
) -> String {
    let mut html = format!(
        "<section>\n<h2>{}</h2>\n<p><code>{}</code></p>\n",
        escape(title),
        escape(command)
    );
    html.push_str(&document_body(document, seen));
    if let Some(svg) = svg {
        // Drop the XML prolog, if any: an inline <svg> element needs none.
        let start = svg.find("<svg").unwrap_or(0);
        html.push_str(&format!("<figure>{}</figure>\n", &svg[start..]));
    }
    html.push_str("</section>\n");
    html
}

/// Wraps sections into a page that reads at 1280 px and narrower: tables scroll inside their own
/// box, numbers never wrap, figures shrink to the column.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n\
         body {{ font-family: sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; line-height: 1.4; }}\n\
         .scroll {{ overflow-x: auto; max-width: 100%; margin: 1em 0; }}\n\
         table {{ border-collapse: collapse; font-size: 0.9em; }}\n\
         th, td {{ border: 1px solid #bbb; padding: 0.25em 0.6em; vertical-align: top; }}\n\
         th {{ background: #eee; }}\n\
         .num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}\n\
         code, li, .note, .warning {{ overflow-wrap: anywhere; }}\n\
         .note {{ color: #333; font-size: 0.9em; margin: 0.2em 0; }}\n\
         .warning {{ color: #8a4b00; font-size: 0.9em; margin: 0.2em 0; }}\n\
         .summary {{ background: #f4f7fb; border: 1px solid #c9d6e8; padding: 0.5em 1.2em; }}\n\
         figure {{ margin: 1em 0; }} figure svg {{ max-width: 100%; height: auto; }}\n\
         </style>\n</head>\n<body>\n<h1>{}</h1>\n{}</body>\n</html>\n",
        escape(title),
        escape(title),
        body
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_escape_their_cells() {
        let rows = Rows {
            header: vec!["a<b".into(), "n".into()],
            rows: vec![vec!["x & y".into(), "3".into()]],
            numeric: vec![1],
            ..Default::default()
        };
        let html = table(&rows);
        assert!(
            html.contains("<th>a&lt;b</th>")
                && html.contains("<td>x &amp; y</td>")
                && html.contains("<td class=\"num\">3</td>")
        );
    }
}
