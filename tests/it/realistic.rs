//! The realistic root of issue 15 and its truth: what a real Apache, run in
//! a chroot of the root, binds, against what `soclash scan` reports on the
//! same root.
//!
//! The root. `tests/realistic/build-root.sh` (its comment says what it
//! holds: Debian 12's Apache, mod_php with its extensions, mod_wsgi, and
//! three virtualenvs of pinned manylinux wheels served by
//! `WSGIDaemonProcess appN python-home=/srv/appN/venv`) builds it once
//! under target/realistic-root/, keyed by the script's hash; this module
//! runs the script (instant when cached).
//!
//! The run. `/usr/sbin/apache2 -f /tmp/soclash-truth-PID/httpd.conf
//! -DFOREGROUND` chrooted into the root (chroot(2) in the child, so no
//! tool of the host is between the test and Apache to be traced), in its
//! own process group, with a cleared environment: the `APACHE_*` names
//! Debian's envvars sets (pointing into the run directory), `LANG=C`,
//! `PATH`, and `LD_DEBUG=files,bindings`
//! `LD_DEBUG_OUTPUT=…` `LD_BIND_NOW=1`. Bind-now makes ld.so resolve every
//! reference when its object is relocated, so every reference of every
//! loaded object is printed, not only the PLT slots the requests happen to
//! call (what a lazy slot binds to at its first call can differ, G8/P2;
//! tests/it/apache_oracle.rs covers that on the host). The config is the
//! root's own apache2.conf with `Include ports.conf` replaced by `Listen
//! 127.0.0.1:PORT` (a free port) and one prefork worker; everything it
//! loads (modules, PHP ini files, the apps) is the root's. The device nodes
//! the build made in /dev suffice: no mount is needed. The test requests
//! /index.php (PHP calls into gd, curl, dom, xsl, intl, sqlite3, mysqli) and
//! /app1, /app2, /app3 (each daemon imports every extension module of its
//! venv and reports failures), reads the LD_DEBUG file while Apache runs
//! (at shutdown the parent unloads everything), then stops Apache by PID
//! (SIGTERM, bounded wait, SIGKILL; every descendant by PID), on every path
//! out (a guard's Drop), and removes the run directory.
//!
//! The truth. Every `binding file A to B: symbol S [V]` line of the run,
//! minus those of an object's incarnation a later `destroying link map` of
//! the same process superseded (Apache's first config pass), paths
//! resolved inside the root, is compared with where A's reference would
//! bind with A loaded on its own: ld.so run inside the chroot on A in trace
//! mode with relocation (`LD_TRACE_LOADED_OBJECTS=1 LD_BIND_NOW=1
//! LD_DEBUG=bindings`, what `ldd -r` does), whose search list is A and its
//! DT_NEEDED closure in breadth-first order, as a `dlopen` of A alone
//! builds it. A library that finds some of its DT_NEEDED only through the
//! DT_RPATH of the object that loaded it (a wheel's `.libs` member without
//! an RPATH of its own: the extension's `$ORIGIN/../<dist>.libs` applies
//! to the whole chain) is taken from the trace of that loader (found in the
//! run's `needed by` lines), in which it binds as it would were only that
//! loader loaded. Each (A, S, V, B) is then:
//! * agreeing: alone it binds to B too;
//! * host-provided: nothing A loads alone defines S (Python's C API for an
//!   extension module, Apache's and PHP's for their modules), or it is a
//!   `dlsym` lookup with no relocation behind it (`PyInit_*`, `get_module`);
//!   never an interposition;
//! * an interposition by design (rules below);
//! * an interposition: alone it binds to C ≠ B. Its root cause is the
//!   first of C, A, B that a wheel installed (by the wheels' RECORD files):
//!   "DIST VERSION wheel in VENV" (the wheel's own copy, or its object,
//!   loses to what the process holds); else "Debian PKG(B) over PKG(C)" (by
//!   the dpkg lists the build wrote).
//!
//! By design (the truth's own rules; rules.rs `benign` is soclash's list):
//! * entry points: `PyInit_*`, `get_module`, `zend_extension_entry`, and
//!   `*_module` from a `mod_*.so` (the host `dlsym`s them in the module's
//!   own handle), as `benign`'s EntryPoint;
//! * linker-defined symbols (`_init`, `_fini`, `_end`, `_edata`,
//!   `__bss_start`, `_etext`), as `benign`'s LinkerDefined;
//! * glibc: B and C both belong to Debian's `libc6` (one code base and
//!   release). `benign` decides by soname instead, which also calls
//!   `libnsl.so.1` glibc; Debian 12's libnsl is `libnsl2` (`libnsl.so.2`),
//!   not glibc, and the truth does not excuse it;
//! * GCC's runtime: B and C are both `libgcc_s` (backward compatible, one
//!   copy serves every object); `benign` has no such rule;
//! * C++ vague linkage: S is a C++ name (`_Z`) that B or C defines weak or
//!   `STB_GNU_UNIQUE`, or any `STB_GNU_UNIQUE` definition (goblin reads the
//!   symbol tables), as `benign`'s VagueLinkage;
//! * a COPY relocation: B is the executable and has an `R_X86_64_COPY` of
//!   S, as `benign`'s CopyRelocation (x86-64 PIE executables have them too:
//!   Debian's apache2 copies APR's and libc's data it uses).
//!
//! The claim. `soclash scan --root ROOT --format json`. A finding names an
//! interposition when both B (the winner) and C (the copy that loses) are
//! among its `objects` or its `bindings`' from/expected/actual.
//!
//! `SOCLASH_ORACLE_KEEP=1` keeps the run directory (config, logs, LD_DEBUG
//! output) inside the root.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::common::ld_debug::{BindEvent, LdBinding, parse_binding, parse_ld_bindings};
use crate::common::{self, SOCLASH};

const BUILD_SCRIPT: &str = "tests/realistic/build-root.sh";
const APPS: [&str; 3] = ["app1", "app2", "app3"];
const EXE: &str = "/usr/sbin/apache2";
const LD_SO: &str = "/lib64/ld-linux-x86-64.so.2";
const SITE: &str = "lib/python3.11/site-packages";
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const HTTP_TIMEOUT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------
// The root

/// Runs the build script (instant when its root is cached); the root.
fn build_root() -> PathBuf {
    let t0 = Instant::now();
    let out = Command::new("bash")
        .arg(common::repo().join(BUILD_SCRIPT))
        .current_dir(common::repo())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {BUILD_SCRIPT}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{BUILD_SCRIPT} failed ({}); it needs root, apt lists for Debian 12, dpkg-deb, unzip, \
         python3-venv and the network to the Debian mirror and PyPI (.ci/run installs the \
         tools):\n{stdout}",
        out.status
    );
    let root = common::repo().join(stdout.lines().last().unwrap_or_default().trim());
    assert!(
        root.join("usr/sbin/apache2").is_file(),
        "{BUILD_SCRIPT} printed no root with an apache2: {stdout}"
    );
    println!(
        "realistic root {} (build script: {:?})",
        root.display(),
        t0.elapsed()
    );
    root
}

/// PATH inside ROOT with every symlink resolved inside ROOT (an absolute
/// link target starts again at ROOT), as a path inside the root.
fn canon_in(root: &Path, path: &str) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut todo: Vec<String> = path.split('/').rev().map(str::to_string).collect();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                parts.pop();
                continue;
            }
            _ => {}
        }
        let here = root.join(parts.join("/")).join(&c);
        let meta = fs::symlink_metadata(&here).ok()?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > 40 {
                return None;
            }
            let target = fs::read_link(&here).ok()?;
            let t = target.to_str()?;
            if t.starts_with('/') {
                parts.clear();
            }
            todo.extend(t.split('/').rev().map(str::to_string));
        } else {
            parts.push(c);
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Who installed each shared object and executable: Debian packages (the
/// dpkg lists the build wrote) and wheels (their RECORD files).
struct Owners {
    dpkg: HashMap<String, String>,
    /// path → ("DIST VERSION", venv)
    wheel: HashMap<String, (String, String)>,
}

fn owners(root: &Path) -> Owners {
    let mut dpkg = HashMap::new();
    let info = root.join("var/lib/dpkg/info");
    for e in fs::read_dir(&info)
        .unwrap_or_else(|e| panic!("{}: {e}", info.display()))
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pkg) = name.strip_suffix(".list") else {
            continue;
        };
        let pkg = pkg.split(':').next().unwrap_or(pkg).to_string();
        let text = fs::read_to_string(e.path()).unwrap_or_default();
        for line in text.lines() {
            let file = line.rsplit('/').next().unwrap_or_default();
            if file.contains(".so") || line.contains("/sbin/") || line.contains("/bin/") {
                if let Some(c) = canon_in(root, line) {
                    dpkg.entry(c).or_insert_with(|| pkg.clone());
                }
            }
        }
    }
    let mut wheel = HashMap::new();
    for app in APPS {
        let venv = format!("/srv/{app}/venv");
        let site = root.join(&venv[1..]).join(SITE);
        for e in fs::read_dir(&site).into_iter().flatten().flatten() {
            let dir = e.file_name().to_string_lossy().into_owned();
            let Some(dist) = dir.strip_suffix(".dist-info") else {
                continue;
            };
            let label = dist.replacen('-', " ", 1);
            let record = fs::read_to_string(e.path().join("RECORD")).unwrap_or_default();
            for line in record.lines() {
                let file = line.split(',').next().unwrap_or_default();
                if file.contains(".so") {
                    let inside = format!("{venv}/{SITE}/{file}");
                    if let Some(c) = canon_in(root, &inside) {
                        wheel.insert(c, (label.clone(), venv.clone()));
                    }
                }
            }
        }
    }
    Owners { dpkg, wheel }
}

/// A command that runs PROGRAM (a path inside ROOT) chrooted into ROOT:
/// chroot(2) in the child after fork, so the environment the test gives
/// reaches PROGRAM alone (coreutils' chroot would be traced by the same
/// LD_* variables before it execs).
fn chrooted(root: &Path, program: &str) -> Command {
    let root = std::ffi::CString::new(root.as_os_str().as_encoded_bytes())
        .expect("a root path without NUL");
    let mut cmd = Command::new(program);
    // SAFETY: chroot(2) and chdir(2) are async-signal-safe system calls on
    // memory allocated before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::chroot(root.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

// ---------------------------------------------------------------------------
// Apache in the chroot

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0 to find a free port")
        .port()
}

fn ppid_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every live descendant of PID, by /proc.
fn descendants(pid: i32) -> Vec<i32> {
    let all: Vec<(i32, i32)> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p: i32 = e.file_name().to_str()?.parse().ok()?;
            Some((p, ppid_of(p)?))
        })
        .collect();
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for &(c, pp) in &all {
            if pp == p && !out.contains(&c) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rfind(')')
            .and_then(|i| s[i + 1..].split_whitespace().next())
            .is_some_and(|st| st != "Z")
    })
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a pid this test started (or its descendant).
    unsafe {
        libc::kill(pid, sig);
    }
}

/// The running Apache; stopped by PID on drop.
struct Apache {
    child: Child,
    stopped: bool,
}

impl Apache {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let pid = self.pid();
        let kids = descendants(pid);
        signal(pid, libc::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        let mut exited = false;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                exited = true;
                break;
            }
            sleep(Duration::from_millis(20));
        }
        if !exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for k in kids {
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline && alive(k) {
                signal(k, libc::SIGKILL);
                sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The run directory inside the root, removed on drop unless kept.
struct RunDir {
    host: PathBuf,
    inside: String,
    keep: bool,
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept {}", self.host.display());
        } else {
            let _ = fs::remove_dir_all(&self.host);
        }
    }
}

fn http_get(port: u16, path: &str) -> Result<(String, String), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(HTTP_TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("send GET {path}: {e}"))?;
    let mut buf = Vec::new();
    s.take(16 << 20)
        .read_to_end(&mut buf)
        .map_err(|e| format!("read response to GET {path}: {e}"))?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("GET {path}: no header end in {text:?}"))?;
    Ok((
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    ))
}

/// What one run of Apache in the root printed and served.
struct Run {
    /// pid → what the process is.
    processes: BTreeMap<i32, String>,
    /// The LD_DEBUG output, cut at its last newline.
    ld_text: String,
    /// Per app: extension modules imported, and imports that failed.
    imported: BTreeMap<String, Vec<String>>,
    failed: BTreeMap<String, Vec<String>>,
    /// What the PHP child and each daemon had mapped once it served its
    /// request: every ELF file, canonical inside the root, by the process's
    /// label in `processes`.
    maps: BTreeMap<String, BTreeSet<String>>,
    served: Duration,
}

/// Conversions glibc's iconv makes through gconv modules it loads on
/// demand (ISO8859-15.so; EUC-JP.so with libJIS.so; IBM037.so), with the
/// pid of the child that made them.
const ICONV_PHP: &str = r#"<?php
$out = [];
foreach (['ISO-8859-15', 'EUC-JP', 'IBM037'] as $cs) {
    $r = iconv('UTF-8', $cs . '//TRANSLIT', "soclash \u{e9}");
    $out[] = $cs . ' ' . ($r === false ? 'failed' : strlen($r));
}
$failed = array_filter($out, function ($l) { return str_ends_with($l, 'failed'); });
echo ($failed ? "failed\n" : "ok\n") . 'pid ' . getmypid() . "\n" . implode("\n", $out) . "\n";
"#;

fn write_run_config(root: &Path, run: &RunDir, port: u16) {
    let main = fs::read_to_string(root.join("etc/apache2/apache2.conf"))
        .expect("the root's /etc/apache2/apache2.conf");
    let mut replaced = false;
    let mut conf = String::new();
    for line in main.lines() {
        if line.trim() == "Include ports.conf" {
            replaced = true;
            let _ = writeln!(conf, "Listen 127.0.0.1:{port}");
        } else {
            let _ = writeln!(conf, "{line}");
        }
    }
    assert!(replaced, "apache2.conf has no `Include ports.conf` line");
    // An iconv conversion in the PHP child, so that glibc loads gconv
    // modules (library plugins, issue 16): the script lives in the run
    // directory, never in the shared root.
    let _ = writeln!(
        conf,
        "Alias /soclash-iconv.php {d}/iconv.php\n<Directory {d}>\n    Require all granted\n</Directory>",
        d = run.inside
    );
    fs::write(run.host.join("iconv.php"), ICONV_PHP).expect("write iconv.php");
    conf.push_str(
        "# tests/it/realistic.rs: one prefork worker serves every PHP request.\n\
         <IfModule mpm_prefork_module>\n    StartServers 1\n    MinSpareServers 1\n    \
         MaxSpareServers 1\n    ServerLimit 1\n    MaxRequestWorkers 1\n</IfModule>\n",
    );
    fs::write(run.host.join("httpd.conf"), conf).expect("write the run config");
}

fn run_apache(root: &Path) -> Run {
    let inside = format!("/tmp/soclash-truth-{}", std::process::id());
    let host = root.join(&inside[1..]);
    let _ = fs::remove_dir_all(&host);
    for sub in ["", "log", "lock"] {
        fs::create_dir_all(host.join(sub)).expect("create the run directory");
        fs::set_permissions(host.join(sub), fs::Permissions::from_mode(0o755))
            .expect("chmod the run directory");
    }
    let run = RunDir {
        host,
        inside,
        keep: std::env::var_os("SOCLASH_ORACLE_KEEP").is_some(),
    };
    let t0 = Instant::now();
    let mut attempt = 0;
    let (mut apache, port) = loop {
        attempt += 1;
        let port = free_port();
        write_run_config(root, &run, port);
        let _ = fs::remove_file(run.host.join("log/error.log"));
        let d = &run.inside;
        let stderr = fs::File::create(run.host.join("stderr")).expect("create stderr file");
        let child = chrooted(root, EXE)
            .args(["-f", &format!("{d}/httpd.conf"), "-DFOREGROUND"])
            .env_clear()
            .envs([
                ("APACHE_RUN_USER", "www-data".to_string()),
                ("APACHE_RUN_GROUP", "www-data".to_string()),
                ("APACHE_PID_FILE", format!("{d}/apache2.pid")),
                ("APACHE_RUN_DIR", d.clone()),
                ("APACHE_LOCK_DIR", format!("{d}/lock")),
                ("APACHE_LOG_DIR", format!("{d}/log")),
                ("LANG", "C".into()),
                (
                    "PATH",
                    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin".into(),
                ),
                ("LD_DEBUG", "files,bindings".into()),
                ("LD_DEBUG_OUTPUT", format!("{d}/ld")),
                ("LD_BIND_NOW", "1".into()),
            ])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("start {EXE} chrooted into {}: {e}", root.display()));
        let mut apache = Apache {
            child,
            stopped: false,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + START_TIMEOUT;
        let mut ready = false;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = apache.child.try_wait() {
                apache.stopped = true;
                break;
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                ready = true;
                break;
            }
            sleep(Duration::from_millis(50));
        }
        if ready {
            break (apache, port);
        }
        apache.stop();
        let logs = logs(&run);
        if attempt < 3 && logs.contains("Address already in use") {
            continue;
        }
        panic!("apache2 in the realistic root did not start:\n{logs}");
    };
    let parent = apache.pid();
    let mut processes = BTreeMap::from([(parent, "apache2 parent".to_string())]);
    let get = |path: &str| -> String {
        let (status, body) = http_get(port, path).unwrap_or_else(|e| panic!("{e}\n{}", logs(&run)));
        assert!(
            status.split_whitespace().nth(1) == Some("200"),
            "GET {path}: {status}\n{body}\n{}",
            logs(&run)
        );
        body
    };
    let pid_of = |body: &str| -> i32 {
        body.lines()
            .find_map(|l| l.strip_prefix("pid ")?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no pid in the response:\n{body}"))
    };
    let php = get("/index.php");
    assert!(
        php.starts_with("ok\n"),
        "index.php: a PHP extension is missing:\n{php}"
    );
    let child = pid_of(&php);
    processes.insert(child, "prefork child (PHP)".into());
    let conv = get("/soclash-iconv.php");
    assert!(
        conv.starts_with("ok\n") && pid_of(&conv) == child,
        "iconv.php: a conversion failed, or another child served it:\n{conv}"
    );
    let mut maps = BTreeMap::from([("prefork child (PHP)".to_string(), mapped(root, child))]);
    let mut imported = BTreeMap::new();
    let mut failed = BTreeMap::new();
    for app in APPS {
        let body = get(&format!("/{app}"));
        let pid = pid_of(&body);
        processes.insert(pid, format!("WSGI daemon {app}"));
        maps.insert(format!("WSGI daemon {app}"), mapped(root, pid));
        let lines = |prefix: &str| -> Vec<String> {
            body.lines()
                .filter_map(|l| l.strip_prefix(prefix).map(str::to_string))
                .collect()
        };
        imported.insert(app.to_string(), lines("imported "));
        failed.insert(app.to_string(), lines("failed "));
    }
    // Read while Apache runs; a line ld.so is still writing is cut.
    let ld_path = run.host.join(format!("ld.{parent}"));
    let mut ld_text = fs::read_to_string(&ld_path)
        .unwrap_or_else(|e| panic!("read LD_DEBUG output {}: {e}", ld_path.display()));
    ld_text.truncate(ld_text.rfind('\n').map_or(0, |i| i + 1));
    for k in descendants(parent) {
        processes.entry(k).or_insert_with(|| "other child".into());
    }
    apache.stop();
    let left: Vec<i32> = processes.keys().copied().filter(|&p| alive(p)).collect();
    assert!(left.is_empty(), "apache processes left behind: {left:?}");
    Run {
        processes,
        ld_text,
        imported,
        failed,
        maps,
        served: t0.elapsed(),
    }
}

/// The ELF files PID maps (magic checked: no locale archive, gconv cache
/// or `/dev/zero`), canonical inside ROOT; a file outside the root (none
/// is expected: the process is chrooted) under its host path.
fn mapped(root: &Path, pid: i32) -> BTreeSet<String> {
    let maps = fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/maps: {e}"));
    // The kernel names files from this process's root: the root's real
    // path, whatever links led to it.
    let real = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut out = BTreeSet::new();
    for line in maps.lines() {
        // address perms offset dev inode [pathname]
        let mut fields = line.split_whitespace();
        let inode = fields.nth(4);
        let path = fields.collect::<Vec<_>>().join(" ");
        if inode == Some("0") || !path.starts_with('/') || path.ends_with(" (deleted)") {
            continue;
        }
        let mut magic = [0u8; 4];
        let elf = fs::File::open(&path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
            && magic == *b"\x7fELF";
        if !elf {
            continue;
        }
        match Path::new(&path).strip_prefix(&real) {
            Ok(inner) => {
                let inner = format!("/{}", inner.display());
                out.insert(canon_in(root, &inner).unwrap_or(inner));
            }
            Err(_) => {
                out.insert(path);
            }
        }
    }
    out
}

/// The modelled process a process of the run is: a daemon its group's
/// (`wsgi:GROUP`), the parent and the children Apache's.
fn model_process(label: &str) -> String {
    match label.strip_prefix("WSGI daemon ") {
        Some(app) => format!("wsgi:{app}"),
        None => "apache".to_string(),
    }
}

fn logs(run: &RunDir) -> String {
    let mut s = String::new();
    for f in ["log/error.log", "stderr"] {
        let text = fs::read_to_string(run.host.join(f)).unwrap_or_default();
        let _ = writeln!(s, "--- {} ---\n{}", f, text.trim_end());
    }
    s
}

// ---------------------------------------------------------------------------
// Stand-alone bindings: ld.so in the chroot, trace mode with relocation

/// One object loaded on its own.
#[derive(Default)]
struct Solo {
    /// Every DT_NEEDED of the closure was found.
    complete: bool,
    /// It has no DT_NEEDED at all: ld.so says "statically linked" and
    /// relocates nothing, so nothing is printed; alone it can bind only to
    /// itself.
    no_needed: bool,
    /// Canonical REF → (symbol, version) → canonical DEF.
    binds: HashMap<String, HashMap<(String, Option<String>), String>>,
}

fn trace_solo(root: &Path, object: &str, out_inside: &str) -> Solo {
    let child = chrooted(root, LD_SO)
        .arg(object)
        .env_clear()
        .envs([
            ("LD_TRACE_LOADED_OBJECTS", "1"),
            // ld.so relocates in trace mode only when warning (ldd -r).
            ("LD_WARN", "1"),
            ("LD_BIND_NOW", "1"),
            ("LD_DEBUG", "bindings"),
            ("LD_DEBUG_OUTPUT", out_inside),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("chrooted {LD_SO} {object}: {e}"));
    // ld.so names its output file by its pid.
    let pid = child.id();
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("chrooted {LD_SO} {object}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let no_needed = stdout.contains("statically linked");
    let mut solo = Solo {
        complete: no_needed || (out.status.success() && !stdout.contains("not found")),
        no_needed,
        binds: HashMap::new(),
    };
    let file = root.join(format!("{}.{pid}", &out_inside[1..]));
    let text = fs::read_to_string(&file).unwrap_or_default();
    let _ = fs::remove_file(&file);
    let mut canon: HashMap<String, Option<String>> = HashMap::new();
    let (events, _) = parse_ld_bindings(&text);
    for ev in events {
        let BindEvent::Bind(b) = ev else { continue };
        let mut c = |n: &str| {
            canon
                .entry(n.to_string())
                .or_insert_with(|| canon_in(root, n))
                .clone()
        };
        let (Some(r), Some(d)) = (c(&b.reference), c(&b.definer)) else {
            continue;
        };
        solo.binds
            .entry(r)
            .or_default()
            .insert((b.symbol, b.version), d);
    }
    solo
}

// ---------------------------------------------------------------------------
// The truth

#[derive(Debug, Clone)]
struct Interposition {
    reference: String,
    symbol: String,
    version: Option<String>,
    /// Where the real process bound it (B).
    actual: String,
    /// Where it binds with its object loaded on its own (C).
    expected: String,
    processes: BTreeSet<String>,
    cause: String,
}

struct Truth {
    root: PathBuf,
    run: Run,
    printed: usize,
    parsed: usize,
    superseded: usize,
    distinct: usize,
    agree: usize,
    host_provided: usize,
    /// Objects whose stand-alone closure is incomplete and no loader's
    /// trace could stand in.
    incomplete: BTreeSet<String>,
    by_design: BTreeMap<String, Vec<Interposition>>,
    real: Vec<Interposition>,
    /// Every object the real processes bound from or to (canonical).
    loaded: BTreeSet<String>,
    solo_seconds: Duration,
}

/// A `binding file` message that is one whole line: after the symbol's
/// closing quote comes nothing or ` [VERSION]` and nothing else (another
/// process's write in the middle of the line breaks this).
fn whole_binding_line(msg: &str) -> bool {
    let Some((_, rest)) = msg.split_once(" symbol `") else {
        return false;
    };
    let Some((_, after)) = rest.split_once('\'') else {
        return false;
    };
    after.is_empty()
        || after
            .strip_prefix(" [")
            .and_then(|v| v.strip_suffix(']'))
            .is_some_and(|v| !v.contains(['[', ']', ' ', '\t', ':']))
}

/// `PID: file=NAME [0];  needed by LOADER [0]` lines: (PID, NAME) →
/// loaders (one process's: a soname in one daemon is another file in the
/// next).
fn needed_by(text: &str) -> HashMap<(i32, String), BTreeSet<String>> {
    let mut m: HashMap<(i32, String), BTreeSet<String>> = HashMap::new();
    for line in text.lines() {
        let Some((pid, msg)) = line.split_once(":\t") else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<i32>() else {
            continue;
        };
        let Some(rest) = msg.strip_prefix("file=") else {
            continue;
        };
        let Some((name, by)) = rest.split_once(" [0];  needed by ") else {
            continue;
        };
        let by = by.split(" [").next().unwrap_or(by);
        m.entry((pid, name.to_string()))
            .or_default()
            .insert(by.to_string());
    }
    m
}

/// The symbol table facts the by-design rules read (goblin, not soclash).
#[derive(Default)]
struct SymFacts {
    /// name → bindings of its definitions.
    defined: HashMap<String, Vec<u8>>,
    copy_relocated: HashSet<String>,
}

fn sym_facts(root: &Path, path: &str) -> SymFacts {
    let mut f = SymFacts::default();
    let Ok(bytes) = fs::read(root.join(&path[1..])) else {
        return f;
    };
    let Ok(elf) = goblin::elf::Elf::parse(&bytes) else {
        return f;
    };
    for s in elf.dynsyms.iter() {
        if s.st_shndx != 0 {
            if let Some(n) = elf.dynstrtab.get_at(s.st_name) {
                f.defined
                    .entry(n.to_string())
                    .or_default()
                    .push(s.st_bind());
            }
        }
    }
    const R_X86_64_COPY: u32 = 5;
    for r in elf.dynrelas.iter().chain(elf.dynrels.iter()) {
        if r.r_type == R_X86_64_COPY {
            if let Some(n) = elf
                .dynsyms
                .get(r.r_sym)
                .and_then(|s| elf.dynstrtab.get_at(s.st_name))
            {
                f.copy_relocated.insert(n.to_string());
            }
        }
    }
    f
}

const LINKER_DEFINED: [&str; 6] = ["_init", "_fini", "_end", "_edata", "__bss_start", "_etext"];

/// Why an interposition is by design (the module comment's rules).
fn by_design(
    i: &Interposition,
    owners: &Owners,
    facts: &mut dyn FnMut(&str) -> std::rc::Rc<SymFacts>,
) -> Option<&'static str> {
    let s = i.symbol.as_str();
    let file = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    if s.starts_with("PyInit_")
        || s == "get_module"
        || s == "zend_extension_entry"
        || (s.ends_with("_module") && file(&i.reference).starts_with("mod_"))
    {
        return Some("entry point");
    }
    if LINKER_DEFINED.contains(&s) {
        return Some("linker-defined");
    }
    let pkg = |p: &str| owners.dpkg.get(p).map(String::as_str);
    if pkg(&i.actual) == Some("libc6") && pkg(&i.expected) == Some("libc6") {
        return Some("glibc");
    }
    if file(&i.actual).starts_with("libgcc_s") && file(&i.expected).starts_with("libgcc_s") {
        return Some("libgcc_s");
    }
    const WEAK: u8 = 2;
    const UNIQUE: u8 = 10;
    let (a, e) = (facts(&i.actual), facts(&i.expected));
    let binds = |f: &SymFacts| f.defined.get(s).cloned().unwrap_or_default();
    let (ab, eb) = (binds(&a), binds(&e));
    if ab.contains(&UNIQUE)
        || eb.contains(&UNIQUE)
        || (s.starts_with("_Z") && (ab.contains(&WEAK) || eb.contains(&WEAK)))
    {
        return Some("C++ vague linkage");
    }
    if i.actual == EXE && a.copy_relocated.contains(s) {
        return Some("COPY relocation");
    }
    None
}

/// The root cause of an interposition (the module comment's rule).
fn cause_of(i: &Interposition, owners: &Owners) -> String {
    for p in [&i.expected, &i.reference, &i.actual] {
        if let Some((dist, venv)) = owners.wheel.get(p) {
            return format!("{dist} wheel in {venv}");
        }
    }
    let pkg = |p: &str| owners.dpkg.get(p).cloned().unwrap_or_else(|| p.to_string());
    format!("Debian {} over {}", pkg(&i.actual), pkg(&i.expected))
}

fn compute_truth() -> Truth {
    let root = build_root();
    let run = run_apache(&root);
    let owners = owners(&root);
    // Per process, drop the lines of an incarnation a later unload of the
    // same object in that process superseded.
    let mut lines: Vec<Option<LdBinding>> = Vec::new();
    let mut by_ref: HashMap<(i32, String), Vec<usize>> = HashMap::new();
    let mut superseded = 0;
    let mut printed = 0;
    let mut garbled = Vec::new();
    for line in run.ld_text.lines() {
        printed += usize::from(line.contains("\tbinding file "));
        let Some((pid, msg)) = line.split_once(':') else {
            garbled.push(line.to_string());
            continue;
        };
        let Ok(pid) = pid.trim().parse::<i32>() else {
            garbled.push(line.to_string());
            continue;
        };
        let msg = msg.trim_start_matches('\t');
        if let Some(b) = parse_binding(pid, msg) {
            if !whole_binding_line(msg) {
                garbled.push(line.to_string());
                continue;
            }
            by_ref
                .entry((pid, b.reference.clone()))
                .or_default()
                .push(lines.len());
            lines.push(Some(b));
        } else if msg.ends_with("destroying link map") {
            let Some(file) = msg.strip_prefix("file=").and_then(|r| r.split(" [").next()) else {
                continue;
            };
            for i in by_ref.remove(&(pid, file.to_string())).unwrap_or_default() {
                if lines.get_mut(i).and_then(Option::take).is_some() {
                    superseded += 1;
                }
            }
        }
    }
    let parsed = lines.len();
    assert!(
        garbled.is_empty(),
        "{} LD_DEBUG lines are cut or run into each other (processes writing at once), e.g.:\n{}",
        garbled.len(),
        garbled
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    let mut canon: HashMap<String, Option<String>> = HashMap::new();
    let mut c = |n: &str| -> Option<String> {
        canon
            .entry(n.to_string())
            .or_insert_with(|| {
                // ld.so names the executable by argv[0], which mod_wsgi's
                // display-name rewrites ("(wsgi:app1)").
                if !n.starts_with('/') {
                    Some(EXE.to_string())
                } else {
                    canon_in(&root, n)
                }
            })
            .clone()
    };
    type Key = (String, String, Option<String>, String);
    let mut distinct: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
    // canonical object → (process, name) it was loaded under (for `needed
    // by`).
    let mut loaded_as: HashMap<String, BTreeSet<(i32, String)>> = HashMap::new();
    let mut loaded = BTreeSet::new();
    for b in lines.iter().flatten() {
        let vdso = |n: &str| n.starts_with("linux-vdso") || n.starts_with("linux-gate");
        if vdso(&b.reference) || vdso(&b.definer) || !b.base_namespace {
            continue;
        }
        let (Some(r), Some(d)) = (c(&b.reference), c(&b.definer)) else {
            panic!(
                "LD_DEBUG names a file the root does not have: {} / {}",
                b.reference, b.definer
            );
        };
        for (raw, canonical) in [(&b.reference, &r), (&b.definer, &d)] {
            loaded_as
                .entry(canonical.clone())
                .or_default()
                .insert((b.pid, raw.rsplit('/').next().unwrap_or(raw).to_string()));
            loaded.insert(canonical.clone());
        }
        let process = run
            .processes
            .get(&b.pid)
            .cloned()
            .unwrap_or_else(|| format!("pid {}", b.pid));
        distinct
            .entry((r, b.symbol.clone(), b.version.clone(), d))
            .or_default()
            .insert(process);
    }

    // Stand-alone traces of every referencing object, two at a time.
    let t_solo = Instant::now();
    let needed = needed_by(&run.ld_text);
    let refs: Vec<String> = distinct
        .keys()
        .map(|k| k.0.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|r| r != LD_SO && canon_in(&root, LD_SO).as_deref() != Some(r.as_str()))
        .collect();
    let solo_dir = format!("/tmp/soclash-solo-{}", std::process::id());
    let solo_host = root.join(&solo_dir[1..]);
    fs::create_dir_all(&solo_host).expect("create the solo trace directory");
    let trace_all = |objs: &[String]| -> HashMap<String, Solo> {
        let half = objs.len().div_ceil(2).max(1);
        std::thread::scope(|s| {
            let hs: Vec<_> = objs
                .chunks(half)
                .enumerate()
                .map(|(k, chunk)| {
                    let root = &root;
                    let solo_dir = &solo_dir;
                    s.spawn(move || {
                        chunk
                            .iter()
                            .enumerate()
                            .map(|(j, o)| {
                                (
                                    o.clone(),
                                    trace_solo(root, o, &format!("{solo_dir}/t{k}-{j}")),
                                )
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter()
                .flat_map(|h| h.join().expect("a solo trace thread panicked"))
                .collect()
        })
    };
    let mut solos = trace_all(&refs);
    // Loaders of the incomplete ones (by the names they were needed as).
    let loaders_of = |o: &str| -> BTreeSet<String> {
        loaded_as
            .get(o)
            .into_iter()
            .flatten()
            .filter_map(|k| needed.get(k))
            .flatten()
            .filter_map(|l| canon_in(&root, l))
            .collect()
    };
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut frontier: Vec<String> = solos
        .iter()
        .filter(|(_, s)| !s.complete)
        .map(|(o, _)| o.clone())
        .collect();
    for _ in 0..6 {
        let mut next = Vec::new();
        for o in &frontier {
            for l in loaders_of(o) {
                if !solos.contains_key(&l) && wanted.insert(l.clone()) {
                    next.push(l);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        let more = trace_all(&next);
        frontier = more
            .iter()
            .filter(|(_, s)| !s.complete)
            .map(|(o, _)| o.clone())
            .collect();
        solos.extend(more);
    }
    let _ = fs::remove_dir_all(&solo_host);
    // The trace that stands for an object: its own if complete, else the
    // nearest complete loader's in which it is loaded (a loader that
    // alone finds another file of that name cannot stand in).
    let mut incomplete = BTreeSet::new();
    let mut stand_in: HashMap<String, String> = HashMap::new();
    for o in &refs {
        let mut seen = BTreeSet::from([o.clone()]);
        let mut level = vec![o.clone()];
        let mut found = None;
        for _ in 0..8 {
            if let Some(x) = level.iter().find(|x| {
                solos.get(*x).is_some_and(|s| {
                    s.complete && (s.binds.contains_key(o) || (s.no_needed && *x == o))
                })
            }) {
                found = Some(x.clone());
                break;
            }
            level = level
                .iter()
                .flat_map(|x| loaders_of(x))
                .filter(|x| seen.insert(x.clone()))
                .collect();
        }
        match found {
            Some(x) => {
                stand_in.insert(o.clone(), x);
            }
            None => {
                incomplete.insert(o.clone());
                stand_in.insert(o.clone(), o.clone());
            }
        }
    }
    let solo_seconds = t_solo.elapsed();

    let mut facts_cache: HashMap<String, std::rc::Rc<SymFacts>> = HashMap::new();
    let mut facts = |p: &str| -> std::rc::Rc<SymFacts> {
        facts_cache
            .entry(p.to_string())
            .or_insert_with(|| std::rc::Rc::new(sym_facts(&root, p)))
            .clone()
    };
    let mut agree = 0;
    let mut host_provided = 0;
    let mut by_design_map: BTreeMap<String, Vec<Interposition>> = BTreeMap::new();
    let mut real = Vec::new();
    for ((r, sym, ver, d), processes) in &distinct {
        let solo = stand_in.get(r).and_then(|t| solos.get(t));
        let own = solo.is_some_and(|s| s.no_needed) && facts(r).defined.contains_key(sym);
        let expected = if own {
            Some(r)
        } else {
            solo.and_then(|s| s.binds.get(r))
                .and_then(|m| m.get(&(sym.clone(), ver.clone())))
        };
        let Some(e) = expected else {
            host_provided += 1;
            continue;
        };
        if e == d {
            agree += 1;
            continue;
        }
        let mut i = Interposition {
            reference: r.clone(),
            symbol: sym.clone(),
            version: ver.clone(),
            actual: d.clone(),
            expected: e.clone(),
            processes: processes.clone(),
            cause: String::new(),
        };
        i.cause = cause_of(&i, &owners);
        match by_design(&i, &owners, &mut facts) {
            Some(why) => by_design_map.entry(why.to_string()).or_default().push(i),
            None => real.push(i),
        }
    }
    Truth {
        root,
        printed,
        parsed,
        superseded,
        distinct: distinct.len(),
        agree,
        host_provided,
        incomplete,
        by_design: by_design_map,
        real,
        loaded,
        solo_seconds,
        run,
    }
}

fn truth() -> &'static Truth {
    static TRUTH: OnceLock<Truth> = OnceLock::new();
    TRUTH.get_or_init(|| {
        let t = compute_truth();
        print_truth(&t);
        t
    })
}

fn print_truth(t: &Truth) {
    println!(
        "Apache run in the chroot: {:?}; processes: {:?}",
        t.run.served, t.run.processes
    );
    for (app, mods) in &t.run.imported {
        println!(
            "  {app}: {} extension modules imported, failed: {:?}",
            mods.len(),
            t.run.failed[app]
        );
    }
    println!(
        "LD_DEBUG: {} binding lines ({} parsed, {} superseded by a later unload), {} distinct \
         (REF, symbol, version, DEF); stand-alone traces {:?}",
        t.printed, t.parsed, t.superseded, t.distinct, t.solo_seconds
    );
    println!(
        "  agreeing with the stand-alone load: {}, host-provided or dlsym: {}, interpositions \
         by design: {}, real interpositions: {}",
        t.agree,
        t.host_provided,
        t.by_design.values().map(Vec::len).sum::<usize>(),
        t.real.len()
    );
    for (why, v) in &t.by_design {
        println!("  by design ({why}): {}", v.len());
    }
    if !t.incomplete.is_empty() {
        println!(
            "  objects with an incomplete stand-alone closure and no loader to stand in: {:?}",
            t.incomplete
        );
    }
    for (cause, v) in causes(t) {
        let pairs: BTreeSet<String> = v
            .iter()
            .map(|i| format!("{} -> {}", short(&i.expected), short(&i.actual)))
            .collect();
        println!("  cause {cause}: {} interpositions; {pairs:?}", v.len());
    }
}

fn short(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn causes(t: &Truth) -> BTreeMap<String, Vec<&Interposition>> {
    let mut m: BTreeMap<String, Vec<&Interposition>> = BTreeMap::new();
    for i in &t.real {
        m.entry(i.cause.clone()).or_default().push(i);
    }
    m
}

// ---------------------------------------------------------------------------
// The claim

struct Finding {
    id: String,
    severity: String,
    title: String,
    objects: Vec<String>,
    /// objects and the bindings' from/expected/actual.
    mentions: BTreeSet<String>,
    /// The modelled processes it holds in (`process` and `processes`).
    processes: BTreeSet<String>,
}

/// What the scan says of the processes: each one's members.
struct Claim {
    findings: Vec<Finding>,
    members: BTreeMap<String, BTreeSet<String>>,
}

fn scan(root: &Path) -> Claim {
    let t0 = Instant::now();
    let out = Command::new(SOCLASH)
        .args(["scan", "--root"])
        .arg(root)
        .args(["--format", "json"])
        .stdin(Stdio::null())
        .output()
        .expect("run soclash");
    let report: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) if out.status.code().is_some_and(|c| c <= 1) => v,
        parsed => panic!(
            "soclash scan --root {} gave no report ({}; {:?}):\n{}",
            root.display(),
            out.status,
            parsed.err(),
            String::from_utf8_lossy(&out.stderr)
        ),
    };
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let findings: Vec<Finding> = report["findings"]
        .as_array()
        .expect("the report has findings")
        .iter()
        .map(|f| {
            let objects: Vec<String> = f["objects"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect();
            let mut mentions: BTreeSet<String> = objects.iter().cloned().collect();
            for b in f["bindings"].as_array().into_iter().flatten() {
                for k in ["from", "expected", "actual"] {
                    if let Some(s) = b[k].as_str() {
                        mentions.insert(s.to_string());
                    }
                }
            }
            let processes = f["process"]
                .as_str()
                .into_iter()
                .chain(
                    f["processes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p.as_str()),
                )
                .map(str::to_string)
                .collect();
            Finding {
                id: text(&f["id"]),
                severity: text(&f["severity"]),
                title: text(&f["title"]),
                objects,
                mentions,
                processes,
            }
        })
        .collect();
    let members: BTreeMap<String, BTreeSet<String>> = report["processes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                text(&p["name"]),
                p["members"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| text(&m["object"]))
                    .collect(),
            )
        })
        .collect();
    println!(
        "soclash scan: {} findings in {:?}; processes {:?}",
        findings.len(),
        t0.elapsed(),
        members
            .iter()
            .map(|(p, m)| (p, m.len()))
            .collect::<Vec<_>>()
    );
    Claim { findings, members }
}

fn names(f: &Finding, i: &Interposition) -> bool {
    f.mentions.contains(&i.actual) && f.mentions.contains(&i.expected)
}

/// `f` names `i` for the modelled process `process`.
fn names_in(f: &Finding, i: &Interposition, process: &str) -> bool {
    names(f, i) && f.processes.contains(process)
}

fn claim() -> &'static Claim {
    static CLAIM: OnceLock<Claim> = OnceLock::new();
    CLAIM.get_or_init(|| {
        let t = truth();
        let c = scan(&t.root);
        print_findings(t, &c.findings);
        c
    })
}

fn findings() -> &'static Vec<Finding> {
    &claim().findings
}

fn print_findings(t: &Truth, fs: &[Finding]) {
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for f in fs {
        *counts
            .entry((f.id.clone(), f.severity.clone()))
            .or_default() += 1;
    }
    println!("soclash findings by id and severity: {counts:?}");
    let causes = causes(t);
    for f in fs {
        let of: BTreeSet<&str> = causes
            .iter()
            .filter(|(_, v)| v.iter().any(|i| names(f, i)))
            .map(|(c, _)| c.as_str())
            .collect();
        let first = f.objects.first().map_or("", |o| short(o));
        println!(
            "  {} {} [{}] {} — causes: {:?}",
            f.severity, f.id, first, f.title, of
        );
    }
    for (cause, v) in &causes {
        let n = fs.iter().filter(|f| v.iter().any(|i| names(f, i))).count();
        println!("  cause {cause}: named by {n} findings");
    }
}

// ---------------------------------------------------------------------------

/// (a) Every interposition of the real process that is not by design is
/// named by a finding; the run itself is checked first (every binding line
/// parsed, every import that failed was still loaded and relocated).
#[test]
fn real_interpositions_are_named_by_findings() {
    let t = truth();
    assert_eq!(
        t.printed, t.parsed,
        "not every `binding file` line of LD_DEBUG parsed"
    );
    assert!(
        t.distinct > 10_000,
        "LD_DEBUG printed almost no bindings ({})",
        t.distinct
    );
    for app in APPS {
        assert!(
            t.run.imported[app].len() >= 5,
            "{app} imported only {:?}",
            t.run.imported[app]
        );
        for f in &t.run.failed[app] {
            let module = f.split(':').next().unwrap_or_default();
            let file = module.rsplit('.').next().unwrap_or_default();
            let loaded = t.loaded.iter().any(|o| {
                o.starts_with(&format!("/srv/{app}/")) && short(o).starts_with(&format!("{file}."))
            });
            assert!(
                loaded,
                "{app}: the import of {module} failed before ld.so loaded it: {f}"
            );
        }
    }
    assert!(
        !t.real.is_empty(),
        "the realistic root has no interposition at all: the truth is broken"
    );
    let fs = findings();
    let mut missing = String::new();
    // For the report only: a miss whose finding names a byte-identical copy
    // at another path (another venv's or another wheel's `.libs`) is told
    // apart from one no finding touches; both fail.
    let mut content: HashMap<String, Option<u64>> = HashMap::new();
    let mut digest = |p: &str| -> Option<u64> {
        *content.entry(p.to_string()).or_insert_with(|| {
            use std::hash::{Hash, Hasher};
            let bytes = fs::read(t.root.join(&p[1..])).ok()?;
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            Some(h.finish())
        })
    };
    let (mut via_copy, mut unnamed, mut pairs) = (0, 0, 0);
    // Each process the interposition happened in needs a finding for that
    // process: a daemon's for its group, the parent's and the children's
    // for apache.
    let in_processes = |i: &Interposition| -> BTreeSet<String> {
        i.processes.iter().map(|l| model_process(l)).collect()
    };
    for (i, process) in t
        .real
        .iter()
        .flat_map(|i| in_processes(i).into_iter().map(move |p| (i, p)))
    {
        pairs += 1;
        if !fs.iter().any(|f| names_in(f, i, &process)) {
            let (a, e) = (digest(&i.actual), digest(&i.expected));
            let copy = fs
                .iter()
                .filter(|f| f.processes.contains(&process))
                .any(|f| {
                    let ds: Vec<Option<u64>> = f.mentions.iter().map(|m| digest(m)).collect();
                    ds.contains(&a) && ds.contains(&e)
                });
            if copy {
                via_copy += 1;
            } else {
                unnamed += 1;
            }
            let _ = writeln!(
                missing,
                "  {} `{}'{} binds to {} in {process} ({:?}); alone to {} (cause: {})",
                i.reference,
                i.symbol,
                i.version
                    .as_ref()
                    .map(|v| format!(" [{v}]"))
                    .unwrap_or_default(),
                i.actual,
                i.processes,
                i.expected,
                i.cause
            );
        }
    }
    println!(
        "{pairs} (interposition, process) pairs: {} named by no finding of their process",
        via_copy + unnamed
    );
    assert!(
        missing.is_empty(),
        "{} of {pairs} (real interposition, process) pairs no finding of that process names \
         (both the winner and the loser); {via_copy} of them only through a byte-identical copy \
         at another path, {unnamed} not at all:\n{missing}",
        via_copy + unnamed
    );
}

/// The plugin directories of the libraries the realistic root has
/// (glibc's gconv, OpenSSL's engines and providers, SASL, Kerberos).
const PLUGIN_DIRS: [&str; 5] = [
    "/gconv/",
    "/engines-3/",
    "/ossl-modules/",
    "/sasl2/",
    "/krb5/plugins/",
];

/// (d) Every ELF object the PHP child and each daemon mapped, once it had
/// served its request (a daemon imports every extension module of its
/// virtualenv; the PHP child also converts with iconv), is a member of its
/// modelled process: the children's of
/// `apache`, a daemon's of `wsgi:GROUP` (rule H11 per daemon group).
#[test]
fn mapped_objects_are_members_of_their_process() {
    let t = truth();
    let c = claim();
    assert_eq!(
        t.run.maps.len(),
        1 + APPS.len(),
        "maps of the PHP child and each daemon: {:?}",
        t.run.maps.keys()
    );
    let mut wrong = String::new();
    for (label, mapped) in &t.run.maps {
        let process = model_process(label);
        let Some(members) = c.members.get(&process) else {
            let _ = writeln!(wrong, "  {label}: no process {process} in the report");
            continue;
        };
        assert!(mapped.len() > 20, "{label} mapped only {mapped:?}");
        // Library plugins (issue 16): the PHP child made iconv conversions
        // (iconv.php), so glibc mapped gconv modules, which only the
        // plugin members of the model account for.
        let plugins: Vec<&String> = mapped
            .iter()
            .filter(|m| PLUGIN_DIRS.iter().any(|d| m.contains(d)))
            .collect();
        if process == "apache" {
            assert!(
                plugins.iter().any(|m| m.contains("/gconv/")),
                "{label}: no gconv module mapped after iconv.php: {mapped:?}"
            );
        }
        println!("{label}: library plugins mapped: {plugins:?}");
        let missing: Vec<&String> = mapped.difference(members).collect();
        println!(
            "{label} ({process}): {} ELF objects mapped, {} members, {} mapped but no member",
            mapped.len(),
            members.len(),
            missing.len()
        );
        for m in missing {
            let _ = writeln!(wrong, "  {label}: {m} is mapped, no member of {process}");
        }
    }
    assert!(
        wrong.is_empty(),
        "mapped objects that are no members:\n{wrong}"
    );
}

/// (b) One finding per root cause: no cause is named by two findings (one
/// finding may name several, as soclash joins the same wheel across
/// virtualenvs). A cause no finding names is (a)'s failure, printed here.
#[test]
fn one_finding_per_root_cause() {
    let t = truth();
    let fs = findings();
    let mut wrong = String::new();
    for (cause, v) in causes(t) {
        let named: Vec<String> = fs
            .iter()
            .filter(|f| v.iter().any(|i| names(f, i)))
            .map(|f| format!("{} {}: {}", f.severity, f.id, f.title))
            .collect();
        if named.is_empty() {
            println!("  {cause}: no finding (left to real_interpositions_are_named_by_findings)");
        }
        if named.len() > 1 {
            let _ = writeln!(
                wrong,
                "  {cause} ({} interpositions): {} findings{}",
                v.len(),
                named.len(),
                named
                    .iter()
                    .map(|n| format!("\n    {n}"))
                    .collect::<String>()
            );
        }
    }
    assert!(
        wrong.is_empty(),
        "root causes not named by exactly one finding:\n{wrong}"
    );
}

/// The terminal table of the realistic root as a sysadmin reads it, one
/// row per root cause, at 80 and 200 columns (`COLUMNS`, off a terminal).
///
/// The snapshot must survive what a rebuild of the root changes though
/// soclash decides nothing differently: the root's path (the checkout and
/// the build script's hash are in it) and the Debian packages' versions
/// (build-root.sh takes the newest Debian 12 packages; snapshot.debian.org
/// is not reachable to pin them, and Debian 12's point releases bring new
/// revisions and, for Apache, PHP and OpenSSL, new upstream releases too).
/// Both are replaced in the report, not in the drawn text: the table wraps
/// its cells at spaces, so a version one character longer moves a line
/// break, which no filter on the text undoes. So the test checks that the
/// library draws the binary's JSON report exactly as the binary's table,
/// then draws the normalised report ([`normalised`]) for the snapshot.
#[test]
fn the_table_in_80_and_200_columns() {
    let root = build_root();
    let scan = |format: &str, width: u16| {
        let out = Command::new(SOCLASH)
            .args(["scan", "--cpu-level", "3", "--format", format, "--root"])
            .arg(&root)
            .env("COLUMNS", width.to_string())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run soclash");
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "soclash scan --format {format} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("the scan's output is UTF-8")
    };
    let report: serde_json::Value =
        serde_json::from_str(&scan("json", 80)).expect("the JSON report parses");
    // The report names the root as resolved (target/realistic-root may be
    // a symlink).
    let canonical = fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
    let roots = [canonical.display().to_string(), root.display().to_string()];
    let normal = normalised(&report, &roots);
    for width in [80u16, 200] {
        assert_eq!(
            draw(&report, width),
            scan("table", width),
            "the library draws the JSON report otherwise than the binary's table at {width} columns"
        );
        let text = draw(&normal, width);
        for line in text.lines() {
            assert!(
                line.chars().count() <= usize::from(width),
                "line wider than {width}: {line}"
            );
        }
        insta::assert_snapshot!(format!("realistic-{width}"), text);
    }
}

/// What stands for a Debian package's version in the snapshots.
const DEB_VERSION: &str = "[version]";

/// A report (JSON) as the table is drawn from it.
fn draw(report: &serde_json::Value, width: u16) -> String {
    let report: soclash::report::Report =
        serde_json::from_value(report.clone()).expect("a schema-1 report");
    let style = soclash::report::TableStyle {
        width,
        colour: false,
        verbose: false,
    };
    let mut out = Vec::new();
    report
        .write_table(&mut out, &style)
        .expect("draw the table into memory");
    String::from_utf8(out).expect("the table is UTF-8")
}

/// The report with `roots` written as ROOT and every Debian package's
/// version as [`DEB_VERSION`]: the `version` of each `package` (an
/// object's owner, the web stack's) and each `NAME VERSION` of those
/// packages in the findings' text (the remedies' "Packages:" lines, the
/// evidence). Everything soclash decides stays: findings, severities,
/// certainty, objects, symbol counts, and the upstream versions that
/// library file names carry (`libxml2.so.2.9.14`, `libz.so.1.2.13`).
/// Those change only with a new upstream release of the library, which a
/// Debian 12 point release rarely brings, and the severity rules compare
/// them (a newer copy losing to an older one), so a change there is a
/// change of what soclash says and must show. The wheels are pinned by
/// version in build-root.sh.
fn normalised(report: &serde_json::Value, roots: &[String]) -> serde_json::Value {
    use serde_json::Value;
    fn packages(v: &Value, out: &mut BTreeSet<(String, String)>) {
        match v {
            Value::Object(m) => {
                if let Some(p) = m.get("package") {
                    if let (Some(n), Some(ver)) = (p["name"].as_str(), p["version"].as_str()) {
                        out.insert((n.to_string(), ver.to_string()));
                    }
                }
                m.values().for_each(|x| packages(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| packages(x, out)),
            _ => {}
        }
    }
    fn rewrite(v: &mut Value, text: &dyn Fn(&str) -> String) {
        match v {
            Value::Object(m) => {
                if let Some(Value::Object(p)) = m.get_mut("package") {
                    if p.contains_key("version") {
                        p.insert("version".into(), DEB_VERSION.into());
                    }
                }
                m.values_mut().for_each(|x| rewrite(x, text));
            }
            Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, text)),
            Value::String(s) => *s = text(s),
            _ => {}
        }
    }
    let mut found = BTreeSet::new();
    packages(report, &mut found);
    // The longest first, so that `foo 1.2` never cuts into `libfoo 1.2-3`.
    let mut named: Vec<(String, String)> = found
        .iter()
        .map(|(n, v)| (format!("{n} {v}"), format!("{n} {DEB_VERSION}")))
        .collect();
    named.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.cmp(b)));
    let mut out = report.clone();
    rewrite(&mut out, &|s: &str| {
        let mut s = s.to_string();
        for r in roots {
            s = s.replace(r.as_str(), "ROOT");
        }
        for (from, to) in &named {
            s = s.replace(from.as_str(), to);
        }
        s
    });
    // Apache's own version comes from httpd's banner, and Debian 12's
    // security updates move it (2.4.x); PHP's and Python's come from file
    // names, which stay within a release.
    if let Some(stack) = out["host"]["stack"].as_array_mut() {
        for sw in stack.iter_mut().filter(|sw| sw["name"] == "apache") {
            if sw["version"].is_string() {
                sw["version"] = DEB_VERSION.into();
            }
        }
    }
    // A version the report prints other than after its package's name
    // would stay; say so rather than snapshot it.
    let text = out.to_string();
    let revision = regex::Regex::new(r"[+~]deb[0-9]+u[0-9]+").expect("a valid regex");
    let left: Vec<&str> = found
        .iter()
        .map(|(_, v)| v.as_str())
        .filter(|v| v.contains('-') && text.contains(*v))
        .collect();
    assert!(
        left.is_empty() && !revision.is_match(&text),
        "Debian versions left in the normalised report: {left:?} {:?}",
        revision.find(&text).map(|m| m.as_str())
    );
    out
}

/// The normalisation on a report of its own: the same table, line breaks
/// included, whatever the Debian revision (one character longer here) or
/// upstream release of the packages, while the revision still shows
/// without it.
#[test]
fn debian_versions_do_not_change_the_table() {
    use soclash::host::packages::Package;
    use soclash::model::{Certainty, Finding, FindingId, Severity};
    let report = |version: &str| {
        let package = Package {
            name: "apache2-bin".into(),
            version: version.into(),
        };
        let r = soclash::report::Report {
            schema: soclash::report::SCHEMA,
            tool: soclash::report::Tool::default(),
            host: soclash::report::Host {
                root: "/srv/roots/debian12".into(),
                glibc: Some("2.36".into()),
                libc: Some("glibc 2.36".into()),
                ld_cache: "new".into(),
                cpu_level: 3,
                stack: vec![soclash::report::Software {
                    name: "apache".into(),
                    version: None,
                    path: "/usr/sbin/apache2".into(),
                    package: Some(package),
                }],
                packages: vec!["dpkg".into()],
                ..soclash::report::Host::default()
            },
            processes: Vec::new(),
            objects: Vec::new(),
            findings: vec![Finding {
                id: FindingId::SymbolInterposition,
                severity: Severity::High,
                certainty: Certainty::Likely,
                title: "zlib 1.0: its own copies of libz lose 20 symbols to other copies in the \
                        process"
                    .into(),
                process: Some("apache".into()),
                objects: vec!["/usr/lib/x86_64-linux-gnu/libz.so.1.2.13".into()],
                symbols: Vec::new(),
                bindings: Vec::new(),
                evidence: vec!["high: why".into()],
                remedy: format!(
                    "Build it from source. Packages: libz.so.1.2.13 comes with mod_deflate.so \
                     (package apache2-bin {version}); libpq.so.5 is in package apache2-bin \
                     {version}; libcrypto.so.3 comes with libssl.so.3 (package apache2-bin \
                     {version})."
                ),
                references: Vec::new(),
                symptoms: Vec::new(),
                status: None,
                processes: Vec::new(),
            }],
            waived: Vec::new(),
            errors: Vec::new(),
            summary: soclash::report::Summary::default(),
            overlay: None,
            live: None,
        };
        serde_json::to_value(r).expect("a report as JSON")
    };
    let roots = ["/srv/roots/debian12".to_string()];
    let base = draw(&normalised(&report("2.4.71-1~deb12u1"), &roots), 80);
    // Why not a filter on the drawn text: one more character moves
    // `libpq.so.5` to the next line.
    let version = regex::Regex::new(r"[0-9][0-9.]*-[0-9]+~deb12u[0-9]+").expect("a valid regex");
    let filtered = |v: &str| {
        version
            .replace_all(&draw(&report(v), 80), DEB_VERSION)
            .into_owned()
    };
    assert_ne!(filtered("2.4.71-1~deb12u1"), filtered("2.4.71-1~deb12u10"));
    for other in [
        "2.4.71-1~deb12u10",
        "2.4.72-1~deb12u1",
        "2.4.71-1~deb12u1+b1",
    ] {
        assert_ne!(
            draw(&report("2.4.71-1~deb12u1"), 80),
            draw(&report(other), 80),
            "{other}: the version shows before normalisation"
        );
        assert_eq!(
            base,
            draw(&normalised(&report(other), &roots), 80),
            "{other}"
        );
    }
    assert!(
        base.contains("Apache (apache2-bin [version])") && base.contains("root ROOT"),
        "{base}"
    );
    let flat = base.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("(package apache2-bin [version])") && flat.contains("libz.so.1.2.13"),
        "{base}"
    );
}

/// (c) `unresolved-dependency` for a file the real process loaded fine
/// (none today: it guards the grouping work).
#[test]
fn no_unresolved_dependency_for_loaded_files() {
    let t = truth();
    let wrong: Vec<String> = findings()
        .iter()
        .filter(|f| f.id == "unresolved-dependency")
        .filter(|f| f.objects.iter().any(|o| t.loaded.contains(o)))
        .map(|f| format!("  {} {}", f.severity, f.title))
        .collect();
    assert!(
        wrong.is_empty(),
        "unresolved-dependency for files the real Apache loaded:\n{}",
        wrong.join("\n")
    );
}

/// The truth's own rules on hand-made cases: paths resolved inside the
/// root, the cause of an interposition, by-design classes.
#[test]
fn truth_rules_on_made_up_cases() {
    let d = common::tempdir();
    let r = d.path();
    fs::create_dir_all(r.join("usr/lib/x")).unwrap();
    fs::write(r.join("usr/lib/x/libz.so.1.2.13"), b"").unwrap();
    std::os::unix::fs::symlink("usr/lib", r.join("lib")).unwrap();
    std::os::unix::fs::symlink("/usr/lib/x/libz.so.1.2.13", r.join("usr/lib/x/libz.so.1")).unwrap();
    assert_eq!(
        canon_in(r, "/lib/x/../x/libz.so.1").as_deref(),
        Some("/usr/lib/x/libz.so.1.2.13")
    );
    assert_eq!(canon_in(r, "/lib/x/nope.so"), None);

    let owners = Owners {
        dpkg: HashMap::from([
            ("/usr/lib/libc.so.6".into(), "libc6".into()),
            ("/usr/lib/libm.so.6".into(), "libc6".into()),
            ("/usr/lib/libjpeg.so.62".into(), "libjpeg62-turbo".into()),
            ("/usr/lib/libgd.so.3".into(), "libgd3".into()),
        ]),
        wheel: HashMap::from([
            (
                "/srv/a/venv/P/_imaging.so".into(),
                ("Pillow 9.5.0".into(), "/srv/a/venv".into()),
            ),
            (
                "/srv/a/venv/P.libs/libjpeg-1.so.62".into(),
                ("Pillow 9.5.0".into(), "/srv/a/venv".into()),
            ),
        ]),
    };
    let mut i = Interposition {
        reference: "/srv/a/venv/P/_imaging.so".into(),
        symbol: "jpeg_start_compress".into(),
        version: Some("LIBJPEG_6.2".into()),
        actual: "/usr/lib/libjpeg.so.62".into(),
        expected: "/srv/a/venv/P.libs/libjpeg-1.so.62".into(),
        processes: BTreeSet::new(),
        cause: String::new(),
    };
    assert!(whole_binding_line(
        "binding file /a.so [0] to /b.so [0]: normal symbol `f' [V_1]"
    ));
    assert!(whole_binding_line(
        "binding file /a.so [0] to /b.so [0]: normal symbol `f'"
    ));
    assert!(!whole_binding_line(
        "binding file /a.so [0] to /b.so [0]: normal symbol `f'      12:\t  dynamic: 0x1"
    ));

    let mut none = |_: &str| std::rc::Rc::new(SymFacts::default());
    assert_eq!(cause_of(&i, &owners), "Pillow 9.5.0 wheel in /srv/a/venv");
    assert_eq!(by_design(&i, &owners, &mut none), None);
    i.reference = "/usr/lib/libgd.so.3".into();
    i.expected = "/usr/lib/libgd.so.3".into();
    assert_eq!(cause_of(&i, &owners), "Debian libjpeg62-turbo over libgd3");
    i.actual = "/usr/lib/libm.so.6".into();
    i.expected = "/usr/lib/libc.so.6".into();
    assert_eq!(by_design(&i, &owners, &mut none), Some("glibc"));
    i.symbol = "PyInit_etree".into();
    assert_eq!(by_design(&i, &owners, &mut none), Some("entry point"));
    i.symbol = "_ZTISt9exception".into();
    i.actual = "/x/libstdc++.so.6".into();
    i.expected = "/x/ext.so".into();
    let mut weak = |p: &str| {
        let mut f = SymFacts::default();
        if p == "/x/ext.so" {
            f.defined.insert("_ZTISt9exception".into(), vec![2]);
        }
        std::rc::Rc::new(f)
    };
    assert_eq!(by_design(&i, &owners, &mut weak), Some("C++ vague linkage"));
    i.symbol = "__cxa_throw".into();
    assert_eq!(by_design(&i, &owners, &mut weak), None);
}
