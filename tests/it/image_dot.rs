//! `soclash image --format dot`: Graphviz renders it (`dot -Tsvg`, the
//! oracle for the syntax), every member is a node, and the interposition a
//! signature root is built for is a red edge from the referencing object to
//! the one it binds to (where glibc binds it, `tests/bind_oracle.rs`).

use std::io::Write;
use std::process::{Command as Std, Stdio};

use assert_cmd::Command;

use crate::common::bind_root;

#[test]
fn graphviz_renders_the_process_with_its_interposition_in_red() {
    let r = bind_root("sig-python-md5-vs-libmhash-pos");
    let out = Command::cargo_bin("soclash")
        .expect("the soclash binary is built for tests")
        .args(["image", "--format", "dot", "--root"])
        .arg(&r)
        .output()
        .expect("soclash runs");
    assert!(out.status.success());
    let dot = String::from_utf8(out.stdout).expect("UTF-8");
    let mut gv = Std::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Graphviz's dot (installed by .ci/run: graphviz)");
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
