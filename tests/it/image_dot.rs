//! `soclash image --format dot`: Graphviz renders it (`dot -Tsvg`, the
//! oracle for the syntax), with `--focus all` every member is a node, by
//! default only the findings' objects and their interposition partners,
//! the interposition a signature root is built for is a red edge from the
//! referencing object to the one it binds to (where glibc binds it,
//! `tests/bind_oracle.rs`), and the red edges count the references the
//! scan's findings count.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command as Std, Stdio};

use assert_cmd::Command;

use crate::common::bind_root;

#[test]
fn graphviz_renders_the_process_with_its_interposition_in_red() {
    let r = bind_root("sig-python-md5-vs-libmhash-pos");
    let out = Command::cargo_bin("soclash")
        .expect("the soclash binary is built for tests")
        .args(["image", "--format", "dot", "--focus", "all", "--root"])
        .arg(&r)
        .output()
        .expect("soclash runs");
    assert!(out.status.success());
    let dot = String::from_utf8(out.stdout).expect("UTF-8");
    render(&dot);

    let members = Command::cargo_bin("soclash")
        .expect("binary")
        .args(["image", "--format", "json", "--root"])
        .arg(&r)
        .output()
        .expect("soclash runs");
    let doc: serde_json::Value = serde_json::from_slice(&members.stdout).expect("JSON");
    for m in doc["processes"][0]["members"].as_array().expect("members") {
        let node = format!("\"{}\" [label=", m["object"].as_str().expect("object"));
        assert!(dot.contains(&node), "no node for {node}");
    }
    let red: Vec<&str> = dot.lines().filter(|l| l.contains("color=red")).collect();
    assert_eq!(red.len(), 1, "{red:?}");
    assert!(red[0].starts_with(
        "  \"/usr/lib/python3.11/lib-dynload/md5.cpython-311-x86_64-linux-gnu.so\" -> \"/usr/lib/x86_64-linux-gnu/libmhash.so.2\""
    ));
}

/// Graphviz renders `dot` without a complaint.
fn render(dot: &str) {
    let mut gv = Std::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Graphviz's dot (installed by .ci/deps: graphviz)");
    gv.stdin
        .take()
        .expect("stdin")
        .write_all(dot.as_bytes())
        .expect("write");
    let svg = gv.wait_with_output().expect("dot runs");
    assert!(
        svg.status.success() && svg.stderr.is_empty(),
        "dot: {}\n{dot}",
        String::from_utf8_lossy(&svg.stderr)
    );
    assert!(String::from_utf8_lossy(&svg.stdout).contains("<svg"));
}

fn soclash(args: &[&str], root: &std::path::Path) -> String {
    let out = Command::cargo_bin("soclash")
        .expect("binary")
        .args(args)
        .arg("--root")
        .arg(root)
        .output()
        .expect("soclash runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "soclash {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The graph's nodes and its red edges' counts.
fn graph(dot: &str) -> (BTreeSet<String>, usize) {
    let node = regex::Regex::new(r#"^\s*"([^"]+)" \[label="#).expect("regex");
    let red = regex::Regex::new(r#"color=red.*label="(\d+) interposed""#).expect("regex");
    let nodes = dot
        .lines()
        .filter_map(|l| node.captures(l).map(|c| c[1].to_string()))
        .collect();
    let total = dot
        .lines()
        .filter_map(|l| {
            red.captures(l)
                .map(|c| c[1].parse::<usize>().expect("count"))
        })
        .sum();
    (nodes, total)
}

/// The red edges count the references the scan's findings count: the
/// "N references from M objects bind to" of each interposition and the
/// "N references expected in" of a soname reuse. Every bind root whose
/// graph has a red edge; on n-tls, a TLS variable's two relocations
/// (module and offset) once counted twice in the graph.
#[test]
fn red_edges_count_what_the_scan_counts() {
    let counted = regex::Regex::new(r"(\d+) references? (from \d+ objects? bind to|expected in)")
        .expect("regex");
    let mut compared = 0;
    let mut wrong = Vec::new();
    let dir = crate::common::sample_roots().join("bind");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("bind roots: make sample-libs")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        let root = dir.join(name).join("root");
        if !root.is_dir() {
            continue;
        }
        let (_, drawn) = graph(&soclash(
            &["image", "--format", "dot", "--focus", "all"],
            &root,
        ));
        if drawn == 0 {
            continue;
        }
        let report: serde_json::Value =
            serde_json::from_str(&soclash(&["scan", "--format", "json"], &root)).expect("JSON");
        let processes = report["processes"].as_array().map_or(0, Vec::len);
        if processes != 1 {
            continue;
        }
        let scanned: usize = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .flat_map(|f| f["evidence"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e.as_str().map(String::from))
            .flat_map(|e| {
                counted
                    .captures_iter(&e)
                    .map(|c| c[1].parse::<usize>().expect("count"))
                    .collect::<Vec<_>>()
            })
            .sum();
        compared += 1;
        if drawn != scanned {
            wrong.push(format!("{name}: the graph {drawn}, the scan {scanned}"));
        }
    }
    assert!(compared >= 5, "only {compared} roots compared");
    assert!(names.iter().any(|n| n == "n-tls"), "no n-tls root");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// By default the graph holds the findings' objects and the objects on the
/// other end of their red edges, and says how many of the members it
/// draws; `--focus all` draws every member; `--focus` with a table is a
/// usage error.
#[test]
fn the_graph_shows_the_findings_first() {
    let r = bind_root("sig-libedit-vs-libreadline-pos");
    let focused = soclash(&["image", "--format", "dot"], &r);
    render(&focused);
    let (nodes, total) = graph(&focused);
    let lib = |f: &str| format!("/usr/lib/x86_64-linux-gnu/{f}");
    let expected: BTreeSet<String> = [
        lib("libedit.so.2"),
        lib("libreadline.so.8"),
        "/usr/lib/python3.11/lib-dynload/readline.cpython-311-x86_64-linux-gnu.so".into(),
    ]
    .into();
    assert_eq!(nodes, expected, "{focused}");
    let (all, all_total) = graph(&soclash(
        &["image", "--format", "dot", "--focus", "all"],
        &r,
    ));
    assert!(
        all.len() > nodes.len() && all.is_superset(&nodes),
        "{all:?}"
    );
    assert_eq!(total, all_total);
    assert!(
        focused.contains(&format!("3 of {} members", all.len())),
        "{focused}"
    );

    // A root with no finding: an empty graph that says so.
    let clean = bind_root("sig-libedit-vs-libreadline-neg");
    let dot = soclash(&["image", "--format", "dot"], &clean);
    render(&dot);
    assert!(
        graph(&dot).0.is_empty() && dot.contains("no findings; --focus all draws"),
        "{dot}"
    );

    let out = Command::cargo_bin("soclash")
        .expect("binary")
        .args(["image", "--focus", "all", "--root"])
        .arg(&r)
        .output()
        .expect("soclash runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--focus"));
}
