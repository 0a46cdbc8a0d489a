//! docs/ARCHITECTURE.md's map names every source file, and only files that
//! exist: a module added, moved or removed without its sentence there fails
//! here, so the map a newcomer reads stays the code's.

use std::collections::BTreeSet;

use crate::common;

/// The paths the map's code block names (its lines' first word): a file,
/// or a directory ending in `/` that stands for every file below it.
fn map_entries() -> Vec<String> {
    let doc = std::fs::read_to_string(common::repo().join("docs/ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md");
    let map = doc
        .split("\n## Map\n")
        .nth(1)
        .expect("docs/ARCHITECTURE.md has a `## Map` section");
    let block = map.split("```").nth(1).expect("the map is a code block");
    block
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn source_files() -> BTreeSet<String> {
    walkdir::WalkDir::new(common::repo().join("src"))
        .into_iter()
        .map(|e| e.expect("walk src/"))
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| {
            e.path()
                .strip_prefix(common::repo())
                .expect("below the repository")
                .display()
                .to_string()
        })
        .collect()
}

#[test]
fn the_map_names_every_source_file_and_no_other() {
    let entries = map_entries();
    let files = source_files();
    assert!(files.len() > 40, "only {} source files found", files.len());
    let unnamed: Vec<&String> = files
        .iter()
        .filter(|f| {
            !entries
                .iter()
                .any(|e| *f == e || (e.ends_with('/') && f.starts_with(e.as_str())))
        })
        .collect();
    let stale: Vec<&String> = entries
        .iter()
        .filter(|e| {
            !files
                .iter()
                .any(|f| f == *e || (e.ends_with('/') && f.starts_with(e.as_str())))
        })
        .collect();
    assert!(
        unnamed.is_empty() && stale.is_empty(),
        "docs/ARCHITECTURE.md's map is out of step with src/: not named {unnamed:?}; named but absent {stale:?}"
    );
}
