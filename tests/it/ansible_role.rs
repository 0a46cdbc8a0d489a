//! The Ansible role of `contrib/ansible/` (issue 8): ansible-lint passes on
//! it (profile production, `contrib/ansible/.ansible-lint`), and the example
//! playbook `contrib/ansible/audit.yml` audits four local hosts, each
//! scanning another sample root, with the binary of this build copied into
//! a temporary directory (`soclash_install=copy`, never into /usr):
//!
//! 1. the first run archives one report per host, each a schema-1 report
//!    with the finding its root seeds (none at or above low for the
//!    near-miss), and reports every host changed;
//! 2. a second run with nothing changed reports `changed=0` for every host
//!    and still adds a report per host;
//! 3. `--check` writes nothing on the controller and changes nothing;
//! 4. a host whose root now has the clash is changed (and only it), and
//!    with `soclash_fail_host=true` it fails after its report is archived.
//!
//! Ansible comes from the virtual environment `.ci/ansible-venv.sh`
//! creates at target/ansible-venv; without it this test fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::{SOCLASH, bind_root, repo, tempdir};

/// Inventory host name, sample root, the signature id its root seeds
/// (None: a near-miss that must stay silent at every severity from low).
const HOSTS: [(&str, &str, Option<&str>); 4] = [
    (
        "web-md5",
        "sig-python-md5-vs-libmhash-pos",
        Some("python-md5-vs-libmhash"),
    ),
    (
        "web-pysqlite",
        "sig-pysqlite-cache-init-vs-mod-cache-pos",
        Some("pysqlite-cache-init-vs-mod-cache"),
    ),
    (
        "web-libedit",
        "sig-libedit-vs-libreadline-pos",
        Some("libedit-vs-libreadline"),
    ),
    ("web-md5-neg", "sig-python-md5-vs-libmhash-neg", None),
];

fn venv_bin() -> PathBuf {
    let bin = repo().join("target/ansible-venv/bin");
    for tool in ["ansible-playbook", "ansible-lint", "python"] {
        assert!(
            bin.join(tool).is_file(),
            "{} is missing: create the Ansible virtual environment with \
             `bash .ci/ansible-venv.sh` (pinned ansible-core and ansible-lint \
             from PyPI; needs python3-venv on Debian)",
            bin.join(tool).display()
        );
    }
    bin
}

/// The controller-side archive the playbook writes:
/// `<archive>/<inventory_hostname>/<UTC %Y%m%dT%H%M%SZ>.yaml`.
fn archive_dir(work: &Path) -> PathBuf {
    work.join("archive")
}

/// The reports of one host in the archive, oldest first.
fn reports(archive: &Path, host: &str) -> Vec<PathBuf> {
    let dir = archive.join(host);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.map(|e| e.expect("archive entry").path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let b = name.as_bytes();
        assert!(
            name.len() == 21
                && name.ends_with(".yaml")
                && b[8] == b'T'
                && b[15] == b'Z'
                && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit),
            "{}: not named <UTC %Y%m%dT%H%M%SZ>.yaml",
            f.display()
        );
    }
    files
}

fn report_counts(archive: &Path) -> BTreeMap<String, usize> {
    HOSTS
        .iter()
        .map(|(h, _, _)| (h.to_string(), reports(archive, h).len()))
        .collect()
}

/// Finding ids of a report with their severity; checks it is a soclash
/// schema-1 report of `root`.
fn findings(path: &Path, root: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).expect("report readable");
    let v: serde_norway::Value = serde_norway::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    assert_eq!(v["schema"].as_u64(), Some(1), "{}", path.display());
    assert_eq!(v["tool"]["name"].as_str(), Some("soclash"));
    assert_eq!(
        v["host"]["root"].as_str(),
        Some(root.to_str().unwrap()),
        "{}: scanned another root",
        path.display()
    );
    v["findings"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{}: no findings list", path.display()))
        .iter()
        .map(|f| {
            (
                f["id"].as_str().expect("finding id").to_string(),
                f["severity"]
                    .as_str()
                    .expect("finding severity")
                    .to_string(),
            )
        })
        .collect()
}

/// Checks the newest report of every host against what its root seeds.
fn check_newest_reports(archive: &Path) {
    for (host, root, seeded) in HOSTS {
        let newest = reports(archive, host).pop().expect("a report");
        let found = findings(&newest, &bind_root(root));
        match seeded {
            Some(id) => assert!(
                found.iter().any(|(f, _)| f == id),
                "{host}: {} lacks the seeded finding {id}: {found:?}",
                newest.display()
            ),
            None => assert!(
                found
                    .iter()
                    .all(|(_, s)| !matches!(s.as_str(), "critical" | "high" | "medium" | "low")),
                "{host}: the near-miss root has findings at or above low: {found:?}"
            ),
        }
    }
}

/// PLAY RECAP counters per host: `host : ok=13 changed=2 unreachable=0 …`.
fn recap(stdout: &str) -> BTreeMap<String, BTreeMap<String, u32>> {
    let tail = stdout
        .rsplit_once("PLAY RECAP")
        .unwrap_or_else(|| panic!("no PLAY RECAP in:\n{stdout}"))
        .1;
    let mut out = BTreeMap::new();
    for line in tail.lines().skip(1) {
        let Some((host, counters)) = line.split_once(" : ") else {
            continue;
        };
        let counters = counters
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.parse().expect("a count")))
            .collect();
        out.insert(host.trim().to_string(), counters);
    }
    out
}

struct Ansible {
    bin: PathBuf,
    work: PathBuf,
    inventory: PathBuf,
}

impl Ansible {
    /// A command with no user or system Ansible configuration: every
    /// ANSIBLE_* variable of the caller removed, an empty ansible.cfg,
    /// Ansible's home and temporary directories in the work directory.
    fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(tool));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ANSIBLE_") {
                cmd.env_remove(k);
            }
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.bin.clone()];
        paths.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(paths).unwrap())
            .env("ANSIBLE_CONFIG", self.work.join("ansible.cfg"))
            .env("ANSIBLE_HOME", self.work.join("ansible-home"))
            .env("ANSIBLE_LOCAL_TEMP", self.work.join("ansible-tmp"))
            .env("ANSIBLE_REMOTE_TEMP", self.work.join("ansible-tmp"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env("NO_COLOR", "1")
            .env("ANSIBLE_FORCE_COLOR", "0")
            .env("ANSIBLE_STDOUT_CALLBACK", "default")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
            .env("ANSIBLE_PIPELINING", "1")
            .env("ANSIBLE_FORKS", "8")
            .env("XDG_CACHE_HOME", self.work.join("cache"))
            .env("PYTHONDONTWRITEBYTECODE", "1");
        cmd
    }

    /// Runs contrib/ansible/audit.yml; without sudo (the hosts are this
    /// machine, the role installs into the work directory).
    fn playbook(&self, extra: &[&str]) -> (Output, String) {
        let start = Instant::now();
        let out = self
            .command("ansible-playbook")
            .arg("-i")
            .arg(&self.inventory)
            .args(["-e", "ansible_become=false"])
            .args(extra)
            .arg(repo().join("contrib/ansible/audit.yml"))
            .output()
            .expect("ansible-playbook runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        eprintln!(
            "ansible-playbook {extra:?}: {:.1} s, exit {:?}",
            start.elapsed().as_secs_f64(),
            out.status.code()
        );
        (out, stdout)
    }
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Nothing is left of the reports the hosts wrote before they were
/// brought home.
fn assert_remote_tmp_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .expect("remote temp dir")
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        left.is_empty(),
        "temporary reports left on the host: {left:?}"
    );
}

/// `soclash fleet` over the archive the role brought home, after the
/// second run: every host with exactly the clashes its root seeds (at or
/// above low), and no drift since each host's previous report.
fn check_fleet(archive: &Path) {
    let out = std::process::Command::new(SOCLASH)
        .args(["fleet", "--format", "json"])
        .arg(archive)
        .output()
        .expect("soclash fleet runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "high and critical clashes are seeded: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fleet: serde_json::Value = serde_json::from_slice(&out.stdout).expect("fleet JSON");
    assert_eq!(fleet["hosts"], HOSTS.len(), "{fleet:#}");
    assert_eq!(fleet["unreadable"], serde_json::json!([]), "{fleet:#}");
    let mut got: Vec<(String, String)> = Vec::new();
    for f in fleet["findings"].as_array().expect("findings") {
        if f["severity"] == "info" {
            continue;
        }
        for h in f["hosts"].as_array().expect("hosts") {
            got.push((
                h.as_str().expect("host").to_string(),
                f["id"].as_str().expect("id").to_string(),
            ));
        }
    }
    got.sort();
    let mut want: Vec<(String, String)> = HOSTS
        .iter()
        .filter_map(|(host, _, id)| Some((host.to_string(), (*id)?.to_string())))
        .collect();
    want.sort();
    assert_eq!(got, want, "{fleet:#}");
    assert_eq!(
        fleet["by_severity"]["none"],
        serde_json::json!(["web-md5-neg"]),
        "{fleet:#}"
    );
    assert_eq!(fleet["drift"], serde_json::json!([]), "{fleet:#}");
}

#[test]
fn role_audits_hosts_and_archives_reports_on_the_controller() {
    let started = Instant::now();
    let bin = venv_bin();
    let soclash = Path::new(SOCLASH);
    let tmp = tempdir();
    let work = tmp.path().to_path_buf();
    let remote_tmp = work.join("remote-tmp");
    std::fs::create_dir_all(&remote_tmp).unwrap();
    std::fs::create_dir_all(work.join("hosts")).unwrap();
    std::fs::write(work.join("ansible.cfg"), "[defaults]\n").unwrap();

    let python = bin.join("python");
    let mut inventory = String::from("[audited]\n");
    for (host, root, _) in HOSTS {
        let host_bin = work.join("hosts").join(host);
        std::fs::create_dir_all(&host_bin).unwrap();
        inventory.push_str(&format!(
            "{host} soclash_root={} soclash_bin={}\n",
            bind_root(root).display(),
            host_bin.join("soclash").display()
        ));
    }
    inventory.push_str(&format!(
        "\n[audited:vars]\n\
         ansible_connection=local\n\
         ansible_python_interpreter={}\n\
         soclash_install=copy\n\
         soclash_binary_src={}\n\
         soclash_controller_bin={}\n\
         soclash_archive={}\n\
         soclash_remote_tmp_dir={}\n",
        python.display(),
        soclash.display(),
        soclash.display(),
        archive_dir(&work).display(),
        remote_tmp.display()
    ));
    let inv = work.join("inventory.ini");
    std::fs::write(&inv, inventory).unwrap();
    let ansible = Ansible {
        bin,
        work: work.clone(),
        inventory: inv,
    };
    let archive = archive_dir(&work);

    // ansible-lint runs beside the first playbook run.
    let lint_start = Instant::now();
    let lint = ansible
        .command("ansible-lint")
        .current_dir(repo().join("contrib/ansible"))
        .args(["--offline", "--nocolor"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ansible-lint runs");

    // 1. First run: every host changed, one report each.
    let (out, stdout) = ansible.playbook(&[]);
    assert!(out.status.success(), "first run failed: {}", show(&out));
    let r = recap(&stdout);
    assert_eq!(r.len(), HOSTS.len(), "{r:?}");
    for (host, _, _) in HOSTS {
        assert!(r[host]["changed"] > 0, "{host} not changed: {r:?}");
        assert_eq!(r[host]["failed"], 0, "{r:?}");
    }
    assert!(stdout.contains("first report of this host"), "{stdout}");
    assert!(
        report_counts(&archive).values().all(|&n| n == 1),
        "{:?}",
        report_counts(&archive)
    );
    check_newest_reports(&archive);
    assert_remote_tmp_empty(&remote_tmp);
    for (host, _, _) in HOSTS {
        let copied = work.join("hosts").join(host).join("soclash");
        assert_eq!(
            std::fs::read(&copied).expect("binary copied"),
            std::fs::read(soclash).unwrap()
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copied).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "{}", copied.display());
    }

    let lint = lint.wait_with_output().expect("ansible-lint finishes");
    eprintln!(
        "ansible-lint: {:.1} s, exit {:?}: {}",
        lint_start.elapsed().as_secs_f64(),
        lint.status.code(),
        String::from_utf8_lossy(&lint.stderr)
            .lines()
            .filter(|l| l.contains("Passed") || l.contains("Failed"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert!(
        lint.status.success(),
        "ansible-lint on contrib/ansible: {}",
        show(&lint)
    );

    // 2. Same hosts, nothing changed: changed=0 everywhere, yet a new
    // report per host (the stamps are to the second).
    std::thread::sleep(Duration::from_millis(1100));
    let (out, stdout) = ansible.playbook(&[]);
    assert!(out.status.success(), "second run failed: {}", show(&out));
    let r = recap(&stdout);
    assert_eq!(r.len(), HOSTS.len(), "{r:?}");
    for (host, _, _) in HOSTS {
        assert_eq!(r[host]["changed"], 0, "{host} changed: {stdout}");
        assert_eq!(r[host]["failed"], 0, "{r:?}");
    }
    assert!(
        report_counts(&archive).values().all(|&n| n == 2),
        "{:?}",
        report_counts(&archive)
    );
    check_newest_reports(&archive);
    assert_remote_tmp_empty(&remote_tmp);

    check_fleet(&archive);

    // 3. --check: the scan runs (read-only), nothing reaches the archive.
    let (out, stdout) = ansible.playbook(&["--check"]);
    assert!(out.status.success(), "--check run failed: {}", show(&out));
    let r = recap(&stdout);
    for (host, _, _) in HOSTS {
        assert_eq!(
            r[host]["changed"], 0,
            "{host} changed under --check: {stdout}"
        );
    }
    assert!(stdout.contains("nothing archived"), "{stdout}");
    assert!(
        report_counts(&archive).values().all(|&n| n == 2),
        "--check wrote reports: {:?}",
        report_counts(&archive)
    );
    assert_remote_tmp_empty(&remote_tmp);

    // 4. The near-miss host now has the clash: it alone is changed, its
    // report is archived and, with soclash_fail_host, it fails.
    std::thread::sleep(Duration::from_millis(1100));
    let pos = bind_root("sig-python-md5-vs-libmhash-pos");
    let (out, stdout) = ansible.playbook(&[
        "--limit",
        "web-md5-neg",
        "-e",
        &format!("soclash_root={}", pos.display()),
        "-e",
        "soclash_fail_host=true",
    ]);
    assert!(
        !out.status.success(),
        "soclash_fail_host did not fail: {}",
        show(&out)
    );
    let r = recap(&stdout);
    assert_eq!(r.keys().collect::<Vec<_>>(), ["web-md5-neg"], "{stdout}");
    assert_eq!(r["web-md5-neg"]["changed"], 1, "{stdout}");
    assert_eq!(r["web-md5-neg"]["failed"], 1, "{stdout}");
    assert!(
        stdout.contains("1 finding added (python-md5-vs-libmhash)"),
        "{stdout}"
    );
    let counts = report_counts(&archive);
    assert_eq!(counts["web-md5-neg"], 3, "{counts:?}");
    assert!(
        counts.iter().all(|(h, &n)| h == "web-md5-neg" || n == 2),
        "{counts:?}"
    );
    let newest = reports(&archive, "web-md5-neg").pop().unwrap();
    assert!(
        findings(&newest, &pos)
            .iter()
            .any(|(id, _)| id == "python-md5-vs-libmhash")
    );
    assert_remote_tmp_empty(&remote_tmp);

    eprintln!(
        "ansible role: {} hosts, {:.1} s in all",
        HOSTS.len(),
        started.elapsed().as_secs_f64()
    );
}
