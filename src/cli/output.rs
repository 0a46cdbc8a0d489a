//! Writing a command's document to standard output: one place for the
//! JSON, YAML and table choice, so every command prints them alike.

use std::io::{self, Write};

use soclash::layout::{Column, Grid};
use soclash::rules::signature::Signature;

use super::args::Format;

/// Writes a document as JSON or YAML, or calls `table` for the terminal.
pub fn write_doc(
    format: Format,
    doc: &serde_json::Value,
    table: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, doc)?;
            writeln!(out)?;
        }
        Format::Yaml => out.write_all(serde_norway::to_string(doc)?.as_bytes())?,
        Format::Table => table(&mut out)?,
    }
    out.flush()?;
    Ok(())
}

/// `signatures list`: id, severity and title of each signature, as the
/// document and as the table (`width` columns wide, no word split).
pub fn signatures(sigs: &[Signature], format: Format, width: u16) -> anyhow::Result<()> {
    let rows: Vec<serde_json::Value> = sigs
        .iter()
        .map(|s| {
            serde_json::json!({
                "id": s.id.0,
                "severity": s.severity,
                "status": s.status,
                "era": s.era,
                "title": s.title,
            })
        })
        .collect();
    write_doc(format, &serde_json::Value::Array(rows), |out| {
        let mut t = Grid::new(vec![
            Column::new("id"),
            Column::new("severity"),
            Column::new("title"),
        ]);
        for s in sigs {
            t.add_row([s.id.0.clone(), s.severity.to_string(), s.title.clone()]);
        }
        writeln!(out, "{}", t.render(width, false))
    })
}
