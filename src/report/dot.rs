//! `soclash image --format dot`: the modelled process as a Graphviz graph,
//! with the interposed bindings that are clashes (not by design, per
//! [`crate::rules::benign`]) drawn as red edges.

use std::collections::BTreeMap;

use crate::image::{ProcessImage, bind};

/// Writes `process` as a Graphviz graph: [`crate::image::write_dot`] with
/// one edge per pair of referencing and defining object whose interposed
/// bindings are not benign, labelled with their count.
pub fn write_image(process: &ProcessImage, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    crate::image::write_dot(process, &clash_edges(process), out)
}

/// Interposed bindings that are clashes, per pair of referencing and
/// defining object: (from, to, label).
fn clash_edges(process: &ProcessImage) -> Vec<(String, String, String)> {
    let b = bind::bind(process, &bind::BindOptions::default());
    let mut edges: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in b.references.iter().filter(|r| r.interposed) {
        if crate::rules::benign(process, r).is_some() {
            continue;
        }
        if let Some(to) = &r.binds_to {
            *edges.entry((r.object.clone(), to.clone())).or_default() += 1;
        }
    }
    edges
        .into_iter()
        .map(|((a, b), n)| (a, b, format!("{n} interposed")))
        .collect()
}
