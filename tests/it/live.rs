//! `soclash scan --live` (issue 20) against real running servers, started
//! by the tests and stopped by a guard on every way out:
//!
//! - Debian's Apache (prefork, mod_php, mod_wsgi with an embedded
//!   application and a daemon process group titled by `display-name`),
//!   on a loopback port with its own configuration in a temp dir, started
//!   with `LD_LIBRARY_PATH` at a copy of libapr, which the test then
//!   replaces: the oracle is the kernel's own `/proc/PID/maps`, read by
//!   the test, and the process tree of the pid the test started;
//! - php-fpm with a pool of its own;
//! - the bind sample root's httpd stand-in run under `unshare --mount` in
//!   a chroot of the sample root bind-mounted in that namespace: audited
//!   against `/proc/PID/root`, it must give the findings of a scan of the
//!   sample root's directory.
//!
//! These need root (maps of other users' processes, mounts) and Debian's
//! packages (.ci/deps installs apache2, libapache2-mod-php,
//! libapache2-mod-wsgi-py3, php8.2-fpm); a missing one fails the test.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{SOCLASH, path};

const APACHE2: &str = "/usr/sbin/apache2";
const PHP_FPM: &str = "/usr/sbin/php-fpm8.2";
const MODS: &str = "/etc/apache2/mods-available";
const START_TIMEOUT: Duration = Duration::from_secs(30);

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn need_root() {
    assert_eq!(
        euid(),
        0,
        "scan --live's tests read other users' maps and mount: run them as root"
    );
}

fn need(file: &str, package: &str) {
    assert!(
        Path::new(file).exists(),
        "{file} missing: .ci/deps installs {package}"
    );
}

/// A directory `www-data` can reach (Apache's children and php-fpm's
/// workers run as it), removed when dropped.
fn reachable_tempdir() -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("soclash-live-")
        .tempdir_in("/tmp")
        .expect("temp dir in /tmp");
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    t
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a pid or process group this test started.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// A server the test started in a process group of its own; dropping it
/// stops the group (SIGTERM, a bounded wait, SIGKILL), also when the test
/// fails.
struct Guard {
    child: Child,
    name: &'static str,
}

impl Guard {
    fn spawn(name: &'static str, cmd: &mut Command) -> Guard {
        let child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Guard { child, name }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(Some(st)) => Err(format!("{} exited ({st})", self.name)),
            _ => Ok(()),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let group = self.child.id() as i32;
        signal(-group, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            sleep(Duration::from_millis(50));
        }
        // Whatever is left of the group (workers that outlived the parent).
        signal(-group, libc::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_port(g: &mut Guard, port: u16, log: &Path) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if let Err(e) = g.alive() {
            panic!("{e}\n{}", fs::read_to_string(log).unwrap_or_default());
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        sleep(Duration::from_millis(50));
    }
    panic!(
        "{} did not listen on {port}\n{}",
        g.name,
        fs::read_to_string(log).unwrap_or_default()
    );
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut s, &mut out).expect("response");
    assert!(out.starts_with("HTTP/1.1 200"), "GET {path}: {out}");
    out
}

fn ppid_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn children_of(parent: u32) -> BTreeSet<u32> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| ppid_of(p) == Some(parent))
        .collect()
}

/// The oracle: the files the kernel says `pid` maps executable, and
/// whether each is deleted.
fn kernel_maps(pid: u32) -> Vec<(String, bool)> {
    let text = fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut out: Vec<(String, bool)> = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.splitn(6, ' ').collect();
        let Some(p) = fields.get(5).map(|p| p.trim_start()) else {
            continue;
        };
        if !p.starts_with('/') || !fields[1].contains('x') || p.starts_with("/memfd:") {
            continue;
        }
        let (p, deleted) = match p.strip_suffix(" (deleted)") {
            Some(p) => (p, true),
            None => (p, false),
        };
        if !out.iter().any(|(q, _)| q == p) {
            out.push((p.to_string(), deleted));
        }
    }
    out
}

fn scan_live() -> Value {
    let out = Command::new(SOCLASH)
        .args(["scan", "--live", "--format", "json", "--fail-on", "none"])
        .output()
        .expect("soclash runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON report")
}

fn live_process(report: &Value, pid: u32) -> Option<&Value> {
    report["live"]["processes"]
        .as_array()?
        .iter()
        .find(|p| p["pid"].as_u64() == Some(u64::from(pid)))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Every executable mapping the kernel shows for `pid` is, in the
/// report, a member of the matched model or a mapped object it lacks;
/// what the report calls imported or not modelled is mapped.
fn agrees_with_the_kernel(report: &Value, pid: u32) {
    let p =
        live_process(report, pid).unwrap_or_else(|| panic!("pid {pid} not in the live section"));
    assert!(p["maps"].is_null(), "pid {pid}: {}", p["maps"]);
    let kernel = kernel_maps(pid);
    let mapped: BTreeSet<&str> = kernel.iter().map(|(p, _)| p.as_str()).collect();
    let process = p["process"].as_str().expect("a modelled process");
    let members: BTreeSet<String> = report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == process)
        .flat_map(|e| e["members"].as_array().unwrap().iter())
        .filter_map(|m| m["object"].as_str().map(String::from))
        .collect();
    let not_modelled: BTreeSet<String> = p["not_modelled"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n["path"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    for (file, _) in &kernel {
        let is_elf = fs::read(file).is_ok_and(|b| b.starts_with(b"\x7fELF"));
        if !is_elf {
            continue;
        }
        assert!(
            members.contains(file) || not_modelled.contains(file),
            "pid {pid} maps {file}, which the report has neither as a member of {process} nor as not modelled"
        );
    }
    for f in strings(&p["imported"]).iter().chain(&not_modelled) {
        assert!(mapped.contains(f.as_str()), "pid {pid}: {f} is not mapped");
    }
    let confirmed = p["confirmed"].as_u64().unwrap() as usize;
    let elf_members = kernel.iter().filter(|(f, _)| members.contains(f)).count();
    assert_eq!(confirmed, elf_members, "pid {pid}: confirmed objects");
}

const APP: &str = "import sqlite3\n\n\ndef application(environ, start_response):\n    body = b'ok %d' % sqlite3.sqlite_version_info[0]\n    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])\n    return [body]\n";

/// The real Apache: parent, children and the daemon group found and
/// matched; `_sqlite3` seen imported in a child; the libedit/readline
/// finding "not imported"; the copy of libapr replaced: restart-needed
/// with its path and every pid.
#[test]
fn real_apache_mapped_against_the_model() {
    need_root();
    need(APACHE2, "apache2");
    for m in ["php8.2.load", "wsgi.load", "mpm_prefork.load"] {
        need(
            &format!("{MODS}/{m}"),
            "libapache2-mod-php8.2 and libapache2-mod-wsgi-py3",
        );
    }
    let t = reachable_tempdir();
    let d = t.path();
    for sub in [
        "mods-enabled",
        "run",
        "lock",
        "log",
        "docroot",
        "wsgi",
        "lib",
    ] {
        fs::create_dir_all(d.join(sub)).unwrap();
        fs::set_permissions(d.join(sub), fs::Permissions::from_mode(0o755)).unwrap();
    }
    for m in [
        "mpm_prefork.load",
        "mpm_prefork.conf",
        "authz_core.load",
        "php8.2.load",
        "php8.2.conf",
        "wsgi.load",
        "wsgi.conf",
    ] {
        symlink(Path::new(MODS).join(m), d.join("mods-enabled").join(m)).unwrap();
    }
    fs::write(d.join("docroot/index.php"), "<?php echo 'ok'; ?>\n").unwrap();
    fs::write(d.join("wsgi/app.wsgi"), APP).unwrap();
    // The copy Apache runs with, through LD_LIBRARY_PATH.
    let apr = fs::canonicalize("/usr/lib/x86_64-linux-gnu/libapr-1.so.0").unwrap();
    let copy = d.join("lib/libapr-1.so.0");
    fs::copy(&apr, &copy).unwrap();
    let port = free_port();
    let dd = d.display();
    let conf = format!(
        r#"ServerRoot "/etc/apache2"
Define APACHE_RUN_USER www-data
Define APACHE_RUN_GROUP www-data
Define APACHE_LOG_DIR {dd}/log
DefaultRuntimeDir {dd}/run
PidFile {dd}/run/apache2.pid
Mutex file:{dd}/lock default
User www-data
Group www-data
ErrorLog {dd}/log/error.log
ServerName 127.0.0.1
IncludeOptional {dd}/mods-enabled/*.load
IncludeOptional {dd}/mods-enabled/*.conf
Listen 127.0.0.1:{port}
StartServers 2
MinSpareServers 2
MaxSpareServers 2
ServerLimit 2
MaxRequestWorkers 2
MaxConnectionsPerChild 0
DocumentRoot {dd}/docroot
<Directory {dd}/docroot>
    Require all granted
</Directory>
WSGIDaemonProcess livegrp processes=1 threads=1 display-name=%{{GROUP}}
WSGIScriptAlias /app {dd}/wsgi/app.wsgi application-group=%{{GLOBAL}}
WSGIScriptAlias /daemon {dd}/wsgi/app.wsgi process-group=livegrp application-group=%{{GLOBAL}}
<Directory {dd}/wsgi>
    Require all granted
</Directory>
"#
    );
    let conf_path = d.join("httpd.conf");
    fs::write(&conf_path, conf).unwrap();
    let log = d.join("log/stderr");
    let mut apache = Guard::spawn(
        "apache2",
        Command::new(APACHE2)
            .arg("-f")
            .arg(&conf_path)
            .arg("-DFOREGROUND")
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LANG", "C")
            .env("LD_LIBRARY_PATH", d.join("lib"))
            .current_dir(d)
            .stdout(fs::File::create(d.join("log/stdout")).unwrap())
            .stderr(fs::File::create(&log).unwrap()),
    );
    wait_port(&mut apache, port, &d.join("log/error.log"));
    let parent = apache.pid();
    // Each child serves the embedded app once (two connections at once
    // would be needed to be sure both do; one import is enough), the
    // daemon its own.
    for _ in 0..4 {
        http_get(port, "/app");
    }
    http_get(port, "/daemon");
    http_get(port, "/index.php");
    let kids = children_of(parent);
    assert!(kids.len() >= 3, "children of {parent}: {kids:?}");

    let report = scan_live();
    let p = live_process(&report, parent).expect("the parent in the live section");
    assert_eq!(p["role"], "parent", "{p}");
    assert_eq!(p["process"], "apache", "{p}");
    assert!(
        p["not_modelled"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["path"] == path(&copy)),
        "the LD_LIBRARY_PATH copy is mapped but not modelled: {p}"
    );
    let mut daemons = 0;
    let mut sqlite_children = 0;
    for k in &kids {
        let k = *k;
        let lp = live_process(&report, k).unwrap_or_else(|| panic!("child {k} not found"));
        let title = fs::read(format!("/proc/{k}/cmdline")).unwrap();
        if title.starts_with(b"(wsgi:livegrp)") {
            daemons += 1;
            assert_eq!(lp["role"], "daemon", "{lp}");
            assert_eq!(lp["process"], "wsgi:livegrp", "{lp}");
        } else {
            assert_eq!(lp["role"], "child", "{lp}");
            assert_eq!(lp["process"], "apache", "{lp}");
            let maps_sqlite = kernel_maps(k).iter().any(|(f, _)| f.contains("/_sqlite3."));
            let imported = strings(&lp["imported"])
                .iter()
                .any(|f| f.contains("/_sqlite3."));
            assert_eq!(imported, maps_sqlite, "child {k}: {lp}");
            sqlite_children += usize::from(imported);
        }
        agrees_with_the_kernel(&report, k);
    }
    agrees_with_the_kernel(&report, parent);
    assert_eq!(daemons, 1, "one daemon of group livegrp among {kids:?}");
    assert!(sqlite_children >= 1, "no child imported _sqlite3");
    // No process has imported readline: the finding says so.
    let readline = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "libedit-vs-libreadline")
        .expect("the libedit/readline finding of mod_php beside Python's readline");
    assert_eq!(readline["certainty"], "likely", "{readline}");
    assert!(
        strings(&readline["evidence"])
            .iter()
            .any(|e| e.starts_with("live: not imported") && e.contains("readline.cpython")),
        "{readline}"
    );
    let restart = |r: &Value| -> Vec<Value> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["id"] == "restart-needed" && f["objects"][0] == path(&copy))
            .cloned()
            .collect()
    };
    assert_eq!(
        restart(&report),
        Vec::<Value>::new(),
        "nothing replaced yet"
    );

    // Replace the copy as a package upgrade does: a new file renamed over it.
    let new = d.join("lib/libapr-1.so.0.new");
    fs::copy(&apr, &new).unwrap();
    fs::rename(&new, &copy).unwrap();
    let report = scan_live();
    let found = restart(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f["severity"], "medium", "{f}");
    assert_eq!(f["certainty"], "certain", "{f}");
    assert!(
        f["remedy"]
            .as_str()
            .unwrap()
            .contains("systemctl restart apache2"),
        "{f}"
    );
    let title = f["title"].as_str().unwrap();
    let evidence = strings(&f["evidence"]).join("\n");
    let live_pids = std::iter::once(parent).chain(children_of(parent));
    for pid in live_pids {
        let deleted = kernel_maps(pid)
            .iter()
            .any(|(p, deleted)| p == path(&copy) && *deleted);
        assert!(deleted, "the kernel shows pid {pid}'s copy deleted");
        assert!(
            evidence.contains(&format!("pid {pid} (")),
            "pid {pid} not named: {title}\n{evidence}"
        );
        let lp = live_process(&report, pid).unwrap();
        assert_eq!(strings(&lp["replaced"]), [path(&copy)], "{lp}");
    }
    assert!(title.contains(&parent.to_string()), "{title}");
    drop(apache);
}

/// php-fpm: the master and each worker of the pool matched with the
/// `php-fpm` model, by their titles.
#[test]
fn php_fpm_pool_matched() {
    need_root();
    need(PHP_FPM, "php8.2-fpm");
    let t = reachable_tempdir();
    let d = t.path();
    let port = free_port();
    let dd = d.display();
    let conf = d.join("php-fpm.conf");
    fs::write(
        &conf,
        format!(
            "[global]\npid = {dd}/fpm.pid\nerror_log = {dd}/fpm.log\ndaemonize = no\n\n\
             [livepool]\nuser = www-data\ngroup = www-data\nlisten = 127.0.0.1:{port}\n\
             pm = static\npm.max_children = 2\n"
        ),
    )
    .unwrap();
    let mut fpm = Guard::spawn(
        "php-fpm8.2",
        Command::new(PHP_FPM)
            .arg("--nodaemonize")
            .arg("--fpm-config")
            .arg(&conf)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdout(Stdio::null())
            .stderr(fs::File::create(d.join("stderr")).unwrap()),
    );
    wait_port(&mut fpm, port, &d.join("fpm.log"));
    let master = fpm.pid();
    let deadline = Instant::now() + START_TIMEOUT;
    let mut workers = children_of(master);
    while workers.len() < 2 && Instant::now() < deadline {
        sleep(Duration::from_millis(50));
        workers = children_of(master);
    }
    assert_eq!(workers.len(), 2, "pm.max_children = 2: {workers:?}");
    let report = scan_live();
    let m = live_process(&report, master).expect("the master");
    assert_eq!(m["role"], "master", "{m}");
    assert_eq!(m["process"], "php-fpm", "{m}");
    assert_eq!(m["executable"], PHP_FPM, "{m}");
    agrees_with_the_kernel(&report, master);
    for w in workers {
        let lp = live_process(&report, w).unwrap_or_else(|| panic!("worker {w}"));
        assert_eq!(lp["role"], "pool livepool", "{lp}");
        assert_eq!(lp["process"], "php-fpm", "{lp}");
        assert_eq!(lp["user"], "www-data", "{lp}");
        assert!(lp["confirmed"].as_u64().unwrap() > 10, "{lp}");
        agrees_with_the_kernel(&report, w);
    }
    drop(fpm);
}

/// A process in a mount namespace of its own, chrooted into a sample
/// root bind-mounted there: audited against /proc/PID/root, it gives the
/// findings and objects of a scan of the root's directory, and its maps
/// are read as paths inside that root.
#[test]
fn a_container_is_audited_against_its_own_root() {
    need_root();
    need("/usr/bin/unshare", "util-linux");
    let sample = crate::common::bind_root("a-self-reference");
    let t = reachable_tempdir();
    let mnt = t.path().join("mnt");
    let shared = t.path().join("shared");
    fs::create_dir_all(&mnt).unwrap();
    fs::create_dir_all(&shared).unwrap();
    let fifo = shared.join("plan");
    let status = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    // In the new namespace only: the sample root at mnt, our shared
    // directory as its /tmp; then the stand-in reads its plan from the
    // FIFO and keeps reading until the test closes it.
    let script = format!(
        "mount --bind {s} {m} && mount --bind {sh} {m}/tmp && exec chroot {m} /usr/sbin/apache2 /tmp/plan",
        s = path(&sample),
        m = path(&mnt),
        sh = path(&shared)
    );
    let mut ns = Guard::spawn(
        "unshare",
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--fork", "sh", "-c"])
            .arg(&script)
            .stdout(Stdio::null())
            .stderr(fs::File::create(t.path().join("stderr")).unwrap()),
    );
    // Opening the FIFO waits for the stand-in to open it.
    let mut plan = fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("the stand-in opens its plan");
    writeln!(
        plan,
        "dlopen RTLD_NOW|RTLD_GLOBAL /usr/lib/apache2/modules/libphp8.2.so\n\
         dlopen RTLD_NOW|RTLD_GLOBAL /usr/lib/apache2/modules/mod_wsgi.so"
    )
    .unwrap();
    plan.flush().unwrap();
    let deadline = Instant::now() + START_TIMEOUT;
    let pid = loop {
        ns.alive().unwrap_or_else(|e| {
            panic!(
                "{e}: {}",
                fs::read_to_string(t.path().join("stderr")).unwrap_or_default()
            )
        });
        let pid = children_of(ns.pid()).into_iter().next();
        if let Some(pid) = pid.filter(|p| {
            fs::read_to_string(format!("/proc/{p}/maps")).is_ok_and(|m| m.contains("mod_wsgi.so"))
        }) {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "the stand-in did not load its plan"
        );
        sleep(Duration::from_millis(50));
    };
    let ours = fs::read_link("/proc/self/ns/mnt").unwrap();
    let theirs = fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
    assert_ne!(
        ours, theirs,
        "the stand-in runs in a mount namespace of its own"
    );

    let report = scan_live();
    let containers = report["live"]["containers"].as_array().expect("containers");
    let c = containers
        .iter()
        .find(|c| {
            c["processes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["pid"].as_u64() == Some(u64::from(pid)))
        })
        .unwrap_or_else(|| panic!("pid {pid} in no container: {containers:?}"));
    assert_eq!(c["namespace"], theirs.to_str().unwrap(), "{c}");
    assert_eq!(c["root"], format!("/proc/{pid}/root"), "{c}");
    let p = c["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"].as_u64() == Some(u64::from(pid)))
        .unwrap();
    assert_eq!(p["executable"], "/usr/sbin/apache2", "{p}");
    assert_eq!(p["process"], "apache", "{p}");
    assert_eq!(p["namespace"], theirs.to_str().unwrap(), "{p}");
    assert!(p["maps"].is_null(), "{p}");
    // Every module of the plan is a confirmed member, nothing is foreign.
    assert!(p["confirmed"].as_u64().unwrap() >= 4, "{p}");
    assert!(p["not_modelled"].is_null(), "{p}");
    // The same audit as of the directory itself.
    let (code, out, err) = crate::common::soclash(&[
        "scan",
        "--root",
        path(&sample),
        "--format",
        "json",
        "--fail-on",
        "none",
    ]);
    assert_eq!(code, 0, "{err}");
    let direct: Value = serde_json::from_str(&out).unwrap();
    let ids = |fs: &Value| -> Vec<(String, Vec<String>)> {
        let mut v: Vec<(String, Vec<String>)> = fs
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"].as_str().unwrap().to_string(),
                    strings(&f["objects"]),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert!(!ids(&direct["findings"]).is_empty());
    assert_eq!(ids(&c["findings"]), ids(&direct["findings"]));
    assert_eq!(
        c["objects"].as_u64(),
        Some(direct["objects"].as_array().unwrap().len() as u64)
    );
    drop(plan);
    drop(ns);
}
