//! What `soclash explain` shows of one symbol: every member's definition
//! of it, and where each reference to it binds in the process and where it
//! would bind in its object's stand-alone load.

use std::sync::Arc;

use serde::Serialize;

use super::{
    Bindings, Definition, STB_GNU_UNIQUE, STB_LOCAL, STB_WEAK, STV_HIDDEN, STV_INTERNAL,
    STV_PROTECTED, lossy,
};
use crate::elf::RelocClass;

/// Every member's definition of `name`, in link-map order.
pub fn definitions(image: &crate::image::ProcessImage, name: &[u8]) -> Vec<Definition> {
    let link = &image.link;
    let mut out = Vec::new();
    for ml in &link.members {
        let Some(obj) = link.objects.get(ml.object) else {
            continue;
        };
        let Some(facts) = obj.facts.as_deref() else {
            continue;
        };
        for s in &facts.symbols {
            if s.name.as_slice() != name || !s.is_defined() || s.bind == STB_LOCAL {
                continue;
            }
            let (version, hidden) = match &s.version {
                Some(v) if v.index >= 2 => (v.name.as_ref().map(|v| lossy(v)), v.hidden),
                _ => (None, false),
            };
            out.push(Definition {
                object: obj.path.clone(),
                version,
                binding: match s.bind {
                    STB_WEAK => "weak",
                    STB_GNU_UNIQUE => "unique",
                    _ => "global",
                },
                visibility: match s.visibility {
                    STV_INTERNAL => "internal",
                    STV_HIDDEN => "hidden",
                    STV_PROTECTED => "protected",
                    _ => "default",
                },
                default: !hidden,
            });
        }
    }
    out
}

/// One reference in `explain`'s document (DESIGN.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explained {
    pub object: Arc<str>,
    pub version: Option<Arc<str>>,
    pub binds_to: Option<Arc<str>>,
    pub expected: Option<Arc<str>>,
    pub interposed: bool,
    /// `plt`, `copy` or `data` (a pointer in data, `GLOB_DAT`, TLS).
    pub class: RelocClass,
    /// Bound at the first call; `binds_to` is the process once everything
    /// is loaded (P2).
    pub lazy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_load: Option<Option<Arc<str>>>,
    pub protected: bool,
    /// Bound without a lookup (a local or hidden symbol).
    pub direct: bool,
    pub may_be_imported: bool,
}

/// `soclash explain SYMBOL` for one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub symbol: String,
    pub process: String,
    pub definitions: Vec<Definition>,
    pub references: Vec<Explained>,
}

/// Who defines `symbol` in the process, who references it, where each
/// reference binds and where it expected to; one line per distinct
/// (object, version, answer), in relocation order.
pub fn explain(
    image: &crate::image::ProcessImage,
    bindings: &Bindings,
    symbol: &[u8],
) -> Explanation {
    let name = lossy(symbol);
    let mut references: Vec<Explained> = Vec::new();
    for r in bindings.references.iter().filter(|r| *r.symbol == *name) {
        let e = Explained {
            object: r.object.clone(),
            version: r.version.clone(),
            binds_to: r.binds_to.clone(),
            expected: r.expected.clone(),
            interposed: r.interposed,
            class: r.class,
            lazy: r.lazy,
            at_load: r.at_load.clone(),
            protected: r.protected,
            direct: r.direct,
            may_be_imported: r.may_be_imported,
        };
        if !references.contains(&e) {
            references.push(e);
        }
    }
    Explanation {
        symbol: name,
        process: image.name.clone(),
        definitions: definitions(image, symbol),
        references,
    }
}

/// The terminal view of one explanation, `width` columns wide.
pub fn write_table(
    e: &Explanation,
    out: &mut dyn std::io::Write,
    width: u16,
) -> std::io::Result<()> {
    use crate::layout::{Column, Grid, wrap};
    let version = |v: Option<&str>| v.map(|v| format!("@{v}")).unwrap_or_default();
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let head = format!(
        "process {}: `{}`, {}, {}",
        e.process,
        e.symbol,
        count(e.definitions.len(), "definition"),
        count(e.references.len(), "reference")
    );
    for l in wrap(&head, usize::from(width), "", "  ") {
        writeln!(out, "{l}")?;
    }
    if !e.definitions.is_empty() {
        let mut t = Grid::new(vec![
            Column::shortened("defined in (load order)", 20),
            Column::new("version"),
            Column::new("binding"),
            Column::new("visibility"),
        ]);
        for d in &e.definitions {
            let mut v = version(d.version.as_deref());
            if d.version.is_some() && !d.default {
                v.push_str(" (hidden)");
            }
            t.add_row([d.object.clone(), v, d.binding.into(), d.visibility.into()]);
        }
        writeln!(out, "{}", t.render(width, false))?;
    }
    if !e.references.is_empty() {
        let mut t = Grid::new(vec![
            Column::shortened("referenced by", 16),
            Column::shortened("binds to", 16),
            Column::shortened("expected", 16),
            Column::shortened("note", 16),
        ]);
        for r in &e.references {
            let mut note = Vec::new();
            if r.interposed {
                note.push("INTERPOSED".to_string());
            }
            note.push(format!("{:?}", r.class).to_lowercase());
            if r.lazy {
                note.push("lazy".into());
            }
            if let Some(at) = &r.at_load {
                note.push(format!("at load: {}", at.as_deref().unwrap_or("undefined")));
            }
            if r.protected {
                note.push("protected".into());
            }
            if r.direct {
                note.push("no lookup".into());
            }
            if r.may_be_imported {
                note.push("if imported".into());
            }
            t.add_row([
                format!("{}{}", r.object, version(r.version.as_deref())),
                r.binds_to.as_deref().unwrap_or("undefined").to_string(),
                r.expected.as_deref().unwrap_or("undefined").to_string(),
                note.join(", "),
            ]);
        }
        writeln!(out, "{}", t.render(width, false))?;
    }
    Ok(())
}
