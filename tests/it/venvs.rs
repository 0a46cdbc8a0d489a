//! Issue 16's scale root (sample-libs/venvs-root.sh): the realistic root
//! with 40 virtualenvs, byte-identical copies, each its own mod_wsgi
//! daemon process group. What a copy may share is what it must not
//! change:
//!
//! - the parent's bindings, computed once for every daemon, are what
//!   binding each daemon whole gives (`bind` against `bind_afresh`), on
//!   this root and on the `wsgi` sample root;
//! - a clash the 40 copies repeat is one finding naming its 40 locations
//!   and its 40 processes;
//! - each copy's file is its own object, resolved in its own virtualenv
//!   (`$ORIGIN` expands per path): no finding of one process names
//!   another virtualenv.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use soclash::image::bind::{BindOptions, bind, bind_afresh};

use crate::common::{self, SOCLASH, sample_roots_dir};

const VENVS: usize = 40;

/// Runs the build script (instant when cached): the directory holding
/// `base/root` and `venvs/root`.
fn roots() -> PathBuf {
    let out = Command::new("bash")
        .arg(common::repo().join("sample-libs/venvs-root.sh"))
        .current_dir(common::repo())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run sample-libs/venvs-root.sh: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sample-libs/venvs-root.sh failed ({}): it needs the realistic root \
         (tests/realistic/build-root.sh):\n{stdout}",
        out.status
    );
    let dir = common::repo().join(stdout.lines().last().unwrap_or_default().trim());
    assert!(
        dir.join("venvs/root/srv/venv40").is_dir(),
        "no 40 venvs in {}",
        dir.display()
    );
    dir
}

fn models(root: &Path) -> Vec<soclash::image::ProcessImage> {
    let root = soclash::root::Root::new(root).expect("open the root");
    let opts = soclash::image::ImageOptions {
        apache_config: None,
        cpu: soclash::resolve::Cpu::detect(),
        // As the scan binds: the parent bound early, on another thread.
        bind_early: Some(BindOptions::default()),
    };
    let found = soclash::host::discover(&root);
    soclash::image::APACHE
        .model(&root, &opts, &found, false)
        .expect("model Apache")
}

fn reuse_equals_afresh(root: &Path, daemons: usize) {
    let images = models(root);
    assert_eq!(images.len(), 1 + daemons, "apache and its daemons");
    let variants = [
        BindOptions::default(),
        BindOptions {
            bind_now: true,
            ..BindOptions::default()
        },
    ];
    for image in &images {
        for opts in &variants {
            let shared = bind(image, opts);
            let afresh = bind_afresh(image, opts);
            assert!(
                !afresh.references.is_empty(),
                "{}: no references",
                image.name
            );
            assert_eq!(
                shared.references.len(),
                afresh.references.len(),
                "{}: reference count",
                image.name
            );
            for (a, b) in shared.references.iter().zip(&afresh.references) {
                assert_eq!(a, b, "{}: the parent's bindings reused differ", image.name);
            }
        }
    }
}

#[test]
fn parent_bindings_reused_equal_bound_per_daemon_on_the_wsgi_sample() {
    let root = sample_roots_dir().join("image/wsgi/root");
    assert!(
        root.is_dir(),
        "{} missing: run `make sample-libs`",
        root.display()
    );
    reuse_equals_afresh(&root, 3);
}

#[test]
fn forty_venvs_parent_bindings_reused_equal_bound_per_daemon() {
    reuse_equals_afresh(&roots().join("venvs/root"), VENVS);
}

#[test]
fn forty_venvs_one_finding_per_cause_with_every_location() {
    let dir = roots();
    let root = dir.join("venvs/root");
    let out = Command::new(SOCLASH)
        .args([
            "scan",
            "--format",
            "json",
            "--fail-on",
            "critical",
            "--root",
        ])
        .arg(&root)
        .output()
        .expect("run soclash scan");
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let findings = report["findings"].as_array().expect("findings");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let venv_of =
        |o: &str| -> Option<usize> { o.strip_prefix("/srv/venv")?.split('/').next()?.parse().ok() };
    // Pillow's bundled libraries lose to the system's (PHP's gd) in every
    // daemon: one finding, every virtualenv's copy, every daemon.
    let pillow: Vec<&Value> = findings
        .iter()
        .filter(|f| {
            f["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("Pillow "))
        })
        .collect();
    assert_eq!(pillow.len(), 1, "one Pillow finding: {pillow:#?}");
    let f = pillow[0];
    let mut venvs: Vec<usize> = strings(&f["objects"])
        .iter()
        .filter_map(|o| venv_of(o))
        .collect();
    venvs.sort();
    venvs.dedup();
    assert_eq!(
        venvs,
        (1..=VENVS).collect::<Vec<_>>(),
        "every venv's copy is a location"
    );
    let mut processes = strings(&f["processes"]);
    processes.extend(f["process"].as_str().map(String::from));
    processes.sort();
    processes.dedup();
    let daemons = processes
        .iter()
        .filter(|p| p.starts_with("wsgi:app"))
        .count();
    assert_eq!(daemons, VENVS, "every daemon: {processes:?}");
    // A venv's copy binds in its own venv: no binding of a finding crosses
    // from one virtualenv into another.
    for f in findings {
        for b in f["bindings"].as_array().into_iter().flatten() {
            let ends: Vec<usize> = ["from", "expected", "actual"]
                .iter()
                .filter_map(|k| b[*k].as_str().and_then(venv_of))
                .collect();
            assert!(
                ends.windows(2).all(|w| w[0] == w[1]),
                "a binding across virtualenvs: {b}"
            );
        }
    }
    // The same root without the virtualenvs has none of it.
    let base = Command::new(SOCLASH)
        .args([
            "scan",
            "--format",
            "json",
            "--fail-on",
            "critical",
            "--root",
        ])
        .arg(dir.join("base/root"))
        .output()
        .expect("run soclash scan");
    let base: Value = serde_json::from_slice(&base.stdout).expect("a JSON report");
    assert!(
        base["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| !f["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("Pillow "))),
        "no Pillow finding without the venvs"
    );
}
