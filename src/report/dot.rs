//! `soclash image --format dot`: the modelled process as a Graphviz graph,
//! its interposed part first.
//!
//! A whole Apache process is hundreds of objects, and a graph of all of
//! them renders as a poster on which the few red edges are found only by
//! zooming; so by default the graph holds the objects the process's
//! findings name and their interposition partners, and `--focus all` draws
//! every member. A red edge counts the interposed references as the
//! findings do ([`crate::rules::clashes`]: each object's reference to a
//! symbol once, the ones by design left out), so its numbers add up to
//! the scan's.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use bstr::ByteSlice;

use crate::image::{ProcessImage, bind};
use crate::root::Root;
use crate::rules;

/// Which members the graph draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The objects the process's findings name, built-in and known
    /// clashes alike, and the objects at the other end of their red edges.
    Findings,
    /// Every member.
    All,
}

/// A red edge: the referencing object, the one its references bind to
/// instead, and how many references.
struct Edge {
    from: String,
    to: String,
    references: usize,
}

/// Writes `process` (of `root`) as a Graphviz graph: members in load
/// order (global ones in the global-scope cluster, imports dashed),
/// `DT_NEEDED` edges grey, and per pair of referencing and defining
/// object the interposed references that are not by design as a red edge
/// labelled with their count; only the members `focus` keeps.
pub fn write_image(
    root: &Root,
    process: &ProcessImage,
    focus: Focus,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let bindings = bind::bind(process, &bind::BindOptions::default());
    let edges = clash_edges(process, &bindings);
    let shown = match focus {
        Focus::All => None,
        Focus::Findings => Some(focus_objects(root, process, &bindings, &edges)),
    };
    write_dot(process, &edges, shown.as_ref(), out)
}

/// The interposed references that are clashes, per pair of referencing
/// and defining object.
fn clash_edges(process: &ProcessImage, bindings: &bind::Bindings) -> Vec<Edge> {
    let mut edges: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in rules::clashes(process, bindings) {
        if let Some(to) = &r.binds_to {
            *edges.entry((&r.object, to)).or_default() += 1;
        }
    }
    edges
        .into_iter()
        .map(|((from, to), references)| Edge {
            from: from.to_string(),
            to: to.to_string(),
            references,
        })
        .collect()
}

/// The members the process's findings name (the built-in rules' and the
/// embedded signatures', as `scan` evaluates them), and their partners
/// on a red edge.
fn focus_objects(
    root: &Root,
    process: &ProcessImage,
    bindings: &bind::Bindings,
    edges: &[Edge],
) -> BTreeSet<String> {
    let read = |p: &str| {
        root.read(Path::new(p), crate::budget::named!(VERSION_STRING_FILE))
            .ok()
    };
    let mut findings = rules::process_findings(process, bindings);
    let (signatures, _) = rules::signature::embedded();
    let units = rules::group::Units::new(&BTreeMap::new(), &[process]);
    let known =
        rules::matcher::evaluate(&signatures, process, bindings, &read, &mut findings, &units);
    let mut shown: BTreeSet<String> = findings
        .iter()
        .chain(&known)
        .flat_map(|f| &f.objects)
        .filter(|o| process.members.iter().any(|m| &m.object == *o))
        .cloned()
        .collect();
    let partners: Vec<&str> = edges
        .iter()
        .filter(|e| shown.contains(&e.from) || shown.contains(&e.to))
        .flat_map(|e| [e.from.as_str(), e.to.as_str()])
        .collect();
    shown.extend(partners.into_iter().map(String::from));
    shown
}

/// `s` inside a DOT string.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn write_dot(
    p: &ProcessImage,
    edges: &[Edge],
    shown: Option<&BTreeSet<String>>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let quote = |s: &str| format!("\"{}\"", escape(s));
    let label = |path: &str| path.rsplit('/').next().unwrap_or(path).to_string();
    let drawn = |path: &str| shown.is_none_or(|s| s.contains(path));
    let edges: Vec<&Edge> = edges
        .iter()
        .filter(|e| drawn(&e.from) && drawn(&e.to))
        .collect();
    let total: usize = edges.iter().map(|e| e.references).sum();
    let members = p.members.len();
    let what = match shown {
        None => format!("{members} members"),
        Some(s) if s.is_empty() => {
            format!("no findings; --focus all draws its {members} members")
        }
        Some(s) => format!(
            "{} of {members} members: the findings' objects and their interposition partners (--focus all draws every member)",
            s.len()
        ),
    };
    // Two lines (Graphviz's `\n` inside one quoted label).
    let title = format!(
        "{}\\n{}",
        escape(&format!("process {}: {what}", p.name)),
        escape(&format!(
            "{total} interposed reference{} not by design",
            if total == 1 { "" } else { "s" }
        ))
    );
    writeln!(out, "digraph {} {{", quote(&p.name))?;
    writeln!(
        out,
        "  label=\"{title}\"; labelloc=t; rankdir=LR; node [shape=box, fontsize=10]; edge [fontsize=9];"
    )?;
    writeln!(
        out,
        "  subgraph cluster_global {{ label=\"global scope\"; style=rounded;"
    )?;
    let listed = || {
        p.members
            .iter()
            .enumerate()
            .filter(|(_, m)| drawn(&m.object))
    };
    for (i, m) in listed().filter(|(_, m)| m.global) {
        writeln!(
            out,
            "    {} [label={}, tooltip={}];",
            quote(&m.object),
            quote(&format!("{} {}", i + 1, label(&m.object))),
            quote(&format!("{} ({})", m.object, m.flags))
        )?;
    }
    writeln!(out, "  }}")?;
    for (i, m) in listed().filter(|(_, m)| !m.global) {
        let style = if m.may_be_imported || m.installed_only {
            "dashed"
        } else {
            "solid"
        };
        writeln!(
            out,
            "  {} [label={}, style={style}, tooltip={}];",
            quote(&m.object),
            quote(&format!("{} {}", i + 1, label(&m.object))),
            quote(&format!("{} ({})", m.object, m.flags))
        )?;
    }
    for o in p.link.objects.iter().filter(|o| drawn(&o.path)) {
        let Some(f) = o.facts.as_deref() else {
            continue;
        };
        if !p.members.iter().any(|m| m.object == o.path) {
            continue;
        }
        for n in &f.needed {
            let name = n.to_str_lossy();
            let to = p.members.iter().find(|m| {
                p.link
                    .facts(&m.object)
                    .is_some_and(|g| g.soname.as_ref() == Some(n))
                    || label(&m.object) == name
            });
            if let Some(to) = to.filter(|m| drawn(&m.object)) {
                writeln!(
                    out,
                    "  {} -> {} [color=grey];",
                    quote(&o.path),
                    quote(&to.object)
                )?;
            }
        }
    }
    for e in edges {
        writeln!(
            out,
            "  {} -> {} [color=red, fontcolor=red, label={}];",
            quote(&e.from),
            quote(&e.to),
            quote(&format!("{} interposed", e.references))
        )?;
    }
    writeln!(out, "}}")
}
