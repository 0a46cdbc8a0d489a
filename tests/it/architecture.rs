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

/// Every rule id that soclash's recorded outputs cite, `(L1: …)` or
/// `(H4, G7, G9: …)`, has its section in docs/RULES.md: a user who meets
/// one can look it up in this repository.
#[test]
fn cited_rule_ids_are_defined_in_the_docs() {
    let rules = std::fs::read_to_string(crate::common::repo().join("docs/RULES.md"))
        .expect("docs/RULES.md");
    let cite =
        regex::Regex::new(r"\(((?:[A-Z][0-9]{1,2})(?:, [A-Z][0-9]{1,2})*)(?::|\))").expect("regex");
    let mut cited = std::collections::BTreeSet::new();
    let mut dirs = vec![
        crate::common::repo().join("tests/it/golden"),
        crate::common::repo().join("tests/it/snapshots"),
    ];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir)
            .expect("read dir")
            .filter_map(Result::ok)
        {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            for c in cite.captures_iter(&text) {
                for id in c[1].split(", ") {
                    cited.insert(id.to_string());
                }
            }
        }
    }
    assert!(cited.contains("L1"), "the outputs cite L1: {cited:?}");
    let missing: Vec<&String> = cited
        .iter()
        .filter(|id| !rules.lines().any(|l| l == format!("## {id}")))
        .collect();
    assert!(
        missing.is_empty(),
        "cited but not in docs/RULES.md: {missing:?}"
    );
}
