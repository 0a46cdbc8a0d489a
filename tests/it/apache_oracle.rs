//! Real Apache oracle (issue 4; DESIGN.md "The process image equals the real
//! one"): start Debian's own Apache with mod_php and mod_wsgi as a child of
//! the test, let one prefork child serve a PHP page and a WSGI app that
//! imports extension modules, and check `soclash image` against what that
//! child really holds.
//!
//! The instance. A temp dir (mode 0755, so `www-data` can reach it) holds a
//! generated main config, a `mods-enabled/` of symlinks to
//! /etc/apache2/mods-available (this host's enabled modules minus any
//! `mpm_*`, plus mpm_prefork, php*, wsgi, ssl + socache_shmcb and cache,
//! i.e. the set research/loader-model.md §9 ran), a DocumentRoot with
//! `index.php` and a WSGI script. The config is Debian's apache2.conf cut
//! down: `ServerRoot /etc/apache2`, the two `IncludeOptional mods-enabled/
//! *.load|*.conf` globs (pointing at the temp `mods-enabled/`), `Define`s
//! for the `${APACHE_*}` names Debian's module configs use (so the model
//! needs no environment), PidFile/ErrorLog/DefaultRuntimeDir/Mutex in the
//! temp dir, `Listen 127.0.0.1:<port found by binding port 0>`, one prefork
//! worker (`StartServers 1`, `MaxRequestWorkers 1`), embedded mod_wsgi in
//! the global application group. `User`/`Group` are `www-data` when the test
//! runs as root (Apache refuses to serve as root), else the current ids.
//! `/usr/sbin/apache2 -f CONF -DFOREGROUND` runs in its own process group
//! (prefork's shutdown signals its whole group, and FOREGROUND does not
//! detach) with a cleared environment (nothing sourced; `APACHE_*`,
//! `LANG=C`, `PATH`) plus `LD_DEBUG=files,scopes LD_DEBUG_OUTPUT=<tmp>/ld`.
//! A guard stops it by PID (SIGTERM, bounded wait, SIGKILL; leftover
//! prefork children by PID) on every path out of the test.
//!
//! What is read from the serving child (the child of the parent whose maps
//! hold libpython and the imported extension modules; the app also reports
//! its own pid):
//! * its /proc/PID/maps: every file-backed mapping that is an ELF file
//!   (magic checked), canonical path; no vDSO, anonymous, deleted or
//!   non-ELF files (locale-archive, gconv cache, /dev/zero, ...);
//! * its link map, in the app itself: `dl_iterate_phdr` called through
//!   ctypes (no C extension, no Python headers needed). glibc appends an
//!   object to the namespace list when it maps it, so the list is mapping
//!   order; pass 1's `dlclose` (rule H4) takes unloaded objects out and
//!   pass 2 appends them again, while NODELETE survivors (G9) keep their
//!   pass-1 place; the forked child inherits the list and appends what it
//!   loads itself;
//! * the same order replayed from `LD_DEBUG=files` as a self-check:
//!   "generating link map" appends, "destroying link map" removes; the
//!   parent's lines up to the child's first line (the fork), then the
//!   child's. It must equal the `dl_iterate_phdr` list minus the
//!   executable, the vDSO and ld.so (which ld.so never announces);
//! * the real global scope: the last `scope N:` list of `LD_DEBUG=scopes`
//!   (parent before the fork, then child) that begins with the executable.
//!
//! Then `soclash image --root / --process apache --apache-config CONF
//! --format json` must list every mapped ELF object as a member of the
//! `apache` process (by canonical path), and the members that are in the
//! real global scope must come in link-map order (consecutive pairs
//! counted; members carrying a true `uncertain` flag are left out of the
//! order check). Members the child did not map are only reported: Python
//! extension modules are "may be imported".
//!
//! `real_apache_bindings_are_the_modeled_ones` (issue 5) runs the same
//! instance under `LD_DEBUG=files,bindings`, once as the service runs and
//! once with `LD_BIND_NOW=1`, and checks every binding ld.so prints against
//! `soclash::image::bind` (see "The binding oracle" below).
//!
//! `SOCLASH_ORACLE_KEEP=1` keeps the temp dir (config, logs, LD_DEBUG
//! output) for inspection.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::common::SOCLASH;
use crate::common::ld_debug::{BindEvent, LdBinding, parse_ld_bindings};

const APACHE2: &str = "/usr/sbin/apache2";
const ETC_APACHE: &str = "/etc/apache2";
const SYSTEM_PYTHON: &str = "/usr/bin/python3";
const PACKAGES: &str = "apache2 libapache2-mod-php libapache2-mod-wsgi-py3 php-mysql php-gd \
                        php-xml php-curl php-ldap php-sqlite3 python3-mysqldb python3-lxml";
/// Modules enabled in the instance whether or not the host enables them
/// (besides `php*`, whose version is found in mods-available).
const FORCED_MODULES: &[&str] = &["mpm_prefork", "wsgi", "ssl", "socache_shmcb", "cache"];
/// What the WSGI app imports: stdlib extension modules (OpenSSL, SQLite,
/// libffi) and dist-packages ones (libxml2/libxslt, libmariadb).
const PY_IMPORTS: &str = "hashlib, sqlite3, ctypes, lxml.etree, MySQLdb";

const START_TIMEOUT: Duration = Duration::from_secs(20);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);
const SOCLASH_TIMEOUT: Duration = Duration::from_secs(120);

const APP_WSGI: &str = r#"import os
import __IMPORTS__
import ctypes


class _PhdrInfo(ctypes.Structure):
    # struct dl_phdr_info starts with dlpi_addr, dlpi_name (link.h)
    _fields_ = [("addr", ctypes.c_void_p), ("name", ctypes.c_char_p)]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(_PhdrInfo), ctypes.c_size_t, ctypes.c_void_p
)


def _link_map():
    names = []

    def visit(info, size, data):
        names.append(info.contents.name or b"")
        return 0

    ctypes.CDLL(None).dl_iterate_phdr(_CALLBACK(visit), None)
    return names


def application(environ, start_response):
    lines = [b"ok", b"pid %d" % os.getpid()]
    lines += [b"map " + name for name in _link_map()]
    body = b"\n".join(lines) + b"\n"
    start_response(
        "200 OK",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
    )
    return [body]
"#;

// ---------------------------------------------------------------------------
// Prerequisites

/// The `php*.load` of mods-available (Debian 12: `php8.2.load`).
fn prerequisites() -> String {
    let mut missing = Vec::new();
    if !Path::new(APACHE2).is_file() {
        missing.push(APACHE2.to_string());
    }
    let avail = Path::new(ETC_APACHE).join("mods-available");
    for m in FORCED_MODULES {
        let f = avail.join(format!("{m}.load"));
        if !f.is_file() {
            missing.push(f.display().to_string());
        }
    }
    if !Path::new(ETC_APACHE).join("mods-enabled").is_dir() {
        missing.push(format!("{ETC_APACHE}/mods-enabled/"));
    }
    let mut php: Vec<String> = fs::read_dir(&avail)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("php") && n.ends_with(".load"))
                .collect()
        })
        .unwrap_or_default();
    php.sort();
    if php.is_empty() {
        missing.push(format!("{}/php*.load (mod_php)", avail.display()));
    }
    let py = Command::new(SYSTEM_PYTHON)
        .args(["-c", &format!("import {PY_IMPORTS}")])
        .stdin(Stdio::null())
        .output();
    match py {
        Ok(o) if o.status.success() => {}
        Ok(o) => missing.push(format!(
            "Python modules {PY_IMPORTS} for {SYSTEM_PYTHON}: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => missing.push(format!("{SYSTEM_PYTHON}: {e}")),
    }
    assert!(
        missing.is_empty(),
        "the real Apache oracle needs Debian's web stack; missing:\n  {}\n\
         install the packages .ci/run installs: apt-get install {PACKAGES}",
        missing.join("\n  ")
    );
    php.pop().unwrap()
}

// ---------------------------------------------------------------------------
// The instance

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn egid() -> u32 {
    // SAFETY: getegid has no preconditions and cannot fail.
    unsafe { libc::getegid() }
}

/// A directory every ancestor of which others may traverse (the prefork
/// child runs as `www-data` when the test runs as root).
fn temp_base() -> PathBuf {
    let t = std::env::temp_dir();
    let ok = euid() != 0
        || t.ancestors()
            .all(|a| fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    if ok { t } else { PathBuf::from("/tmp") }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0 to find a free port")
        .port()
}

struct Layout {
    dir: PathBuf,
    conf: PathBuf,
    pid_file: PathBuf,
    error_log: PathBuf,
    ld_debug: PathBuf,
    /// The `LoadModule` files the instance's mods-enabled holds, for the report.
    modules: Vec<String>,
}

fn write_instance(dir: &Path, php_load: &str) -> Layout {
    for sub in ["mods-enabled", "run", "lock", "log", "docroot", "wsgi"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for d in [dir.to_path_buf(), dir.join("docroot"), dir.join("wsgi")] {
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    // mods-enabled: the host's, minus any MPM, plus the forced modules.
    let enabled = Path::new(ETC_APACHE).join("mods-enabled");
    let avail = Path::new(ETC_APACHE).join("mods-available");
    let mut links: BTreeMap<String, PathBuf> = BTreeMap::new();
    for e in fs::read_dir(&enabled).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("mpm_") || !(name.ends_with(".load") || name.ends_with(".conf")) {
            continue;
        }
        if let Ok(target) = fs::canonicalize(e.path()) {
            links.insert(name, target);
        }
    }
    let php_mod = php_load.trim_end_matches(".load").to_string();
    for m in FORCED_MODULES.iter().copied().chain([php_mod.as_str()]) {
        for ext in ["load", "conf"] {
            let f = avail.join(format!("{m}.{ext}"));
            if f.is_file() {
                links.insert(format!("{m}.{ext}"), f);
            }
        }
    }
    for (name, target) in &links {
        symlink(target, dir.join("mods-enabled").join(name)).unwrap();
    }
    fs::write(dir.join("docroot/index.php"), "<?php echo \"ok\"; ?>\n").unwrap();
    fs::write(
        dir.join("wsgi/app.wsgi"),
        APP_WSGI.replace("__IMPORTS__", PY_IMPORTS),
    )
    .unwrap();
    let modules = links
        .keys()
        .filter(|n| n.ends_with(".load"))
        .map(|n| n.trim_end_matches(".load").to_string())
        .collect();
    Layout {
        conf: dir.join("httpd.conf"),
        pid_file: dir.join("run/apache2.pid"),
        error_log: dir.join("log/error.log"),
        ld_debug: dir.join("ld"),
        dir: dir.to_path_buf(),
        modules,
    }
}

fn write_config(l: &Layout, port: u16) {
    let d = l.dir.display();
    let (user, group) = if euid() == 0 {
        ("www-data".to_string(), "www-data".to_string())
    } else {
        (format!("#{}", euid()), format!("#{}", egid()))
    };
    let conf = format!(
        r#"# Generated by tests/apache_oracle.rs: Debian's apache2.conf, cut down.
ServerRoot "{ETC_APACHE}"
Define APACHE_RUN_USER {user}
Define APACHE_RUN_GROUP {group}
Define APACHE_PID_FILE {d}/run/apache2.pid
Define APACHE_RUN_DIR {d}/run
Define APACHE_LOCK_DIR {d}/lock
Define APACHE_LOG_DIR {d}/log
DefaultRuntimeDir ${{APACHE_RUN_DIR}}
PidFile ${{APACHE_PID_FILE}}
Mutex file:${{APACHE_LOCK_DIR}} default
Timeout 30
KeepAlive Off
User ${{APACHE_RUN_USER}}
Group ${{APACHE_RUN_GROUP}}
HostnameLookups Off
ErrorLog ${{APACHE_LOG_DIR}}/error.log
LogLevel warn
ServerName 127.0.0.1
IncludeOptional {d}/mods-enabled/*.load
IncludeOptional {d}/mods-enabled/*.conf
Listen 127.0.0.1:{port}
# One prefork child serves every request.
StartServers 1
MinSpareServers 1
MaxSpareServers 2
ServerLimit 1
MaxRequestWorkers 1
MaxConnectionsPerChild 0
<Directory />
    AllowOverride None
    Require all denied
</Directory>
DocumentRoot {d}/docroot
<Directory {d}/docroot>
    Require all granted
</Directory>
# Embedded mode: extension modules are imported in the serving child.
WSGIScriptAlias /app {d}/wsgi/app.wsgi
WSGIApplicationGroup %{{GLOBAL}}
<Directory {d}/wsgi>
    Require all granted
</Directory>
"#
    );
    fs::write(&l.conf, conf).unwrap();
}

// ---------------------------------------------------------------------------
// Processes

/// Parent pid from /proc/PID/stat (the comm field may hold spaces and parens).
fn ppid_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn state_of(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

fn children_of(parent: i32) -> Vec<i32> {
    let mut v: Vec<i32> = fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|&p| ppid_of(p) == Some(parent))
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

fn is_apache_process(pid: i32) -> bool {
    fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.split(|&b| b == 0).next() == Some(APACHE2.as_bytes()))
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) with a pid this test started; errors (ESRCH) ignored.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// The running Apache parent; stopping it by PID is guaranteed by Drop.
struct Apache {
    child: Child,
    stopped: bool,
}

impl Apache {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Starts Apache with `env` (`LD_DEBUG`, `LD_DEBUG_OUTPUT`, ...) added to
    /// the cleared environment.
    fn start(l: &Layout, env: &[(&str, &str)]) -> Apache {
        let out = fs::File::create(l.dir.join("log/stdout")).unwrap();
        let err = fs::File::create(l.dir.join("log/stderr")).unwrap();
        let d = l.dir.display().to_string();
        let (user, group) = if euid() == 0 {
            ("www-data".to_string(), "www-data".to_string())
        } else {
            (format!("#{}", euid()), format!("#{}", egid()))
        };
        let child = Command::new(APACHE2)
            .arg("-f")
            .arg(&l.conf)
            .arg("-DFOREGROUND")
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LANG", "C")
            .env("APACHE_RUN_USER", user)
            .env("APACHE_RUN_GROUP", group)
            .env("APACHE_PID_FILE", format!("{d}/run/apache2.pid"))
            .env("APACHE_RUN_DIR", format!("{d}/run"))
            .env("APACHE_LOCK_DIR", format!("{d}/lock"))
            .env("APACHE_LOG_DIR", format!("{d}/log"))
            .envs(env.iter().copied())
            .current_dir(&l.dir)
            // Its own process group: on shutdown prefork signals its whole
            // group (ap_unixd_killpg(getpgrp(), SIGTERM)), and -DFOREGROUND
            // does not detach, so it would otherwise hit the test harness.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("start {APACHE2} (package apache2): {e}"));
        Apache {
            child,
            stopped: false,
        }
    }

    /// Waits until the port accepts connections, or reports why Apache died.
    fn wait_ready(&mut self, port: u16, l: &Layout) -> Result<(), String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                self.stopped = true;
                return Err(format!("apache2 exited at start-up ({st})\n{}", logs(l)));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            sleep(Duration::from_millis(50));
        }
        Err(format!(
            "apache2 did not listen on 127.0.0.1:{port} within {START_TIMEOUT:?}\n{}",
            logs(l)
        ))
    }

    /// SIGTERM, bounded wait, SIGKILL; then any prefork child left behind.
    fn stop(&mut self) -> Option<ExitStatus> {
        if self.stopped {
            return None;
        }
        self.stopped = true;
        let pid = self.pid();
        let kids = children_of(pid);
        signal(pid, libc::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        let mut status = None;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                status = Some(st);
                break;
            }
            sleep(Duration::from_millis(20));
        }
        if status.is_none() {
            let _ = self.child.kill();
            status = self.child.wait().ok();
        }
        for k in kids {
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline
                && is_apache_process(k)
                && state_of(k).is_some_and(|s| s != 'Z')
            {
                signal(k, libc::SIGKILL);
                sleep(Duration::from_millis(20));
            }
        }
        status
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        self.stop();
    }
}

fn logs(l: &Layout) -> String {
    let mut s = String::new();
    for f in [l.error_log.clone(), l.dir.join("log/stderr")] {
        let text = fs::read_to_string(&f).unwrap_or_default();
        let _ = writeln!(s, "--- {} ---\n{}", f.display(), text.trim_end());
    }
    s
}

// ---------------------------------------------------------------------------
// HTTP

fn http_get(port: u16, path: &str) -> Result<(String, Vec<u8>), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(HTTP_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(HTTP_TIMEOUT)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("send GET {path}: {e}"))?;
    let mut buf = Vec::new();
    s.take(64 << 20)
        .read_to_end(&mut buf)
        .map_err(|e| format!("read response to GET {path}: {e}"))?;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("GET {path}: no header end in {buf:?}"))?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head.lines().next().unwrap_or_default().to_string();
    Ok((status, buf[split + 4..].to_vec()))
}

fn get_ok(port: u16, path: &str, l: &Layout) -> Vec<u8> {
    let (status, body) = http_get(port, path).unwrap_or_else(|e| panic!("{e}\n{}", logs(l)));
    assert!(
        status.split_whitespace().nth(1) == Some("200")
            && body.trim_ascii_start().starts_with(b"ok"),
        "GET {path}: {status}\n{}\n{}",
        String::from_utf8_lossy(&body),
        logs(l)
    );
    body
}

// ---------------------------------------------------------------------------
// The serving child

fn is_elf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

fn canonical(path: &str) -> Option<PathBuf> {
    fs::canonicalize(path).ok()
}

/// File-backed mappings of PID that are ELF files, canonical paths.
fn mapped_elf_objects(pid: i32) -> BTreeSet<PathBuf> {
    let maps = fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/maps: {e}"));
    let mut set = BTreeSet::new();
    for line in maps.lines() {
        // address perms offset dev inode [pathname]
        let mut rest = line;
        let mut fields = Vec::new();
        for _ in 0..5 {
            rest = rest.trim_start();
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            fields.push(&rest[..end]);
            rest = &rest[end..];
        }
        let path = rest.trim();
        if fields.get(4) == Some(&"0") || !path.starts_with('/') || path.ends_with(" (deleted)") {
            continue;
        }
        if is_elf(Path::new(path)) {
            set.extend(canonical(path));
        }
    }
    set
}

fn maps_mention(pid: i32, needles: &[&str]) -> bool {
    fs::read_to_string(format!("/proc/{pid}/maps"))
        .is_ok_and(|m| needles.iter().all(|n| m.contains(n)))
}

struct AppReport {
    pid: i32,
    /// dl_iterate_phdr names as the loader keeps them (l_name), in order;
    /// "" is the executable.
    link_map: Vec<String>,
}

fn parse_app_body(body: &[u8]) -> AppReport {
    let text = String::from_utf8_lossy(body);
    let mut pid = None;
    let mut link_map = Vec::new();
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("pid ") {
            pid = p.trim().parse().ok();
        } else if let Some(n) = line.strip_prefix("map ") {
            link_map.push(n.to_string());
        } else if line == "map" {
            link_map.push(String::new());
        }
    }
    AppReport {
        pid: pid.unwrap_or_else(|| panic!("the WSGI app reported no pid:\n{text}")),
        link_map,
    }
}

/// PT_INTERP of the executable, as ld.so names itself in the link map.
fn interpreter(exe: &Path) -> Option<String> {
    let bytes = fs::read(exe).ok()?;
    let elf = goblin::elf::Elf::parse(&bytes).ok()?;
    elf.interpreter.map(str::to_string)
}

// ---------------------------------------------------------------------------
// LD_DEBUG=files,scopes

#[derive(Debug)]
enum LdEvent {
    /// `file=NAME [ns];  generating link map` (NAME as requested).
    Generate(String),
    /// `file=PATH [ns];  destroying link map` (PATH = l_name).
    Destroy(String),
    /// `file=NAME [ns];  dynamically loaded by BY [ns]` (a dlopen starts).
    Dlopen(String, String),
    /// `file=NAME [ns];  needed by BY [ns]`.
    Needed(String, String),
    /// ` scope N: a b c` (objects by l_name).
    Scope(Vec<String>),
}

fn parse_ld_debug(text: &str) -> Vec<(i32, LdEvent)> {
    let mut v = Vec::new();
    for line in text.lines() {
        let Some((pid, msg)) = line.split_once(':') else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<i32>() else {
            continue;
        };
        let msg = msg.trim_start_matches('\t');
        let file = || {
            msg.strip_prefix("file=")
                .and_then(|r| r.split(" [").next())
                .map(str::to_string)
        };
        let ev = if msg.ends_with("generating link map") {
            file().map(LdEvent::Generate)
        } else if msg.ends_with("destroying link map") {
            file().map(LdEvent::Destroy)
        } else if let Some((_, by)) = msg.split_once(";  dynamically loaded by ") {
            file().map(|f| LdEvent::Dlopen(f, by.split(" [").next().unwrap_or(by).into()))
        } else if let Some((_, by)) = msg.split_once(";  needed by ") {
            file().map(|f| LdEvent::Needed(f, by.split(" [").next().unwrap_or(by).into()))
        } else {
            let t = msg.trim_start();
            t.strip_prefix("scope ")
                .and_then(|r| r.split_once(": "))
                .filter(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
                .map(|(_, list)| {
                    // glibc names an object without l_name "<main program>".
                    let list = list.replace("<main program>", "<main-program>");
                    LdEvent::Scope(
                        list.split_whitespace()
                            .map(|n| n.replace("<main-program>", "<main program>"))
                            .collect(),
                    )
                })
        };
        if let Some(ev) = ev {
            v.push((pid, ev));
        }
    }
    v
}

fn base_name(p: &str) -> String {
    p.rsplit('/').next().unwrap_or(p).to_string()
}

struct LdFacts {
    /// Replayed link map (basenames), without the executable, vDSO, ld.so.
    replay: Vec<String>,
    /// Objects of the final state last mapped during pass 1 (H4 survivors).
    pass1_survivors: Vec<String>,
    /// Objects mapped at start-up, in pass 1 (survivors and unloaded ones),
    /// in pass 2 and in the child.
    counts: [usize; 4],
    /// The last global scope printed (l_names), parent-before-fork + child.
    global_scope: Vec<String>,
    /// basename → how its last load came about ("dlopened by X in the child").
    brought_by: HashMap<String, String>,
}

fn ld_facts(events: &[(i32, LdEvent)], parent: i32, child: i32, exe: &Path) -> LdFacts {
    let fork = events
        .iter()
        .position(|(p, _)| *p == child)
        .unwrap_or(events.len());
    let relevant = events
        .iter()
        .enumerate()
        .filter(|(i, (p, _))| (*p == parent && *i < fork) || *p == child);
    let first_dlopen = events
        .iter()
        .position(|(p, e)| *p == parent && matches!(e, LdEvent::Dlopen(..)))
        .unwrap_or(0);
    let first_destroy = events
        .iter()
        .position(|(p, e)| *p == parent && matches!(e, LdEvent::Destroy(_)))
        .unwrap_or(fork);
    // (basename, index of the event that mapped it)
    let mut list: Vec<(String, usize)> = Vec::new();
    let mut global_scope = Vec::new();
    let mut unloaded = 0;
    let mut brought_by = HashMap::new();
    for (i, (p, ev)) in relevant {
        match ev {
            LdEvent::Generate(name) => list.push((base_name(name), i)),
            LdEvent::Destroy(path) => {
                let b = base_name(path);
                if let Some(k) = list.iter().rposition(|(n, _)| *n == b) {
                    list.remove(k);
                    unloaded += 1;
                }
            }
            LdEvent::Scope(objs) => {
                let main = objs.first().map(String::as_str);
                if main == Some("<main program>")
                    || main.and_then(canonical).as_deref() == Some(exe)
                {
                    global_scope = objs.clone();
                }
            }
            LdEvent::Dlopen(name, by) => {
                let who = if *p == child {
                    "the child"
                } else {
                    "the parent"
                };
                brought_by.insert(base_name(name), format!("dlopened by {by} in {who}"));
            }
            LdEvent::Needed(name, by) => {
                let who = if *p == child {
                    "the child"
                } else {
                    "the parent"
                };
                brought_by.insert(base_name(name), format!("needed by {by} in {who}"));
            }
        }
    }
    let phase = |i: usize| {
        if i < first_dlopen {
            0
        } else if i < first_destroy {
            1
        } else if i < fork {
            2
        } else {
            3
        }
    };
    let mut counts = [0; 4];
    for (_, i) in &list {
        counts[phase(*i)] += 1;
    }
    counts[1] += unloaded;
    LdFacts {
        pass1_survivors: list
            .iter()
            .filter(|(_, i)| phase(*i) == 1)
            .map(|(n, _)| n.clone())
            .collect(),
        replay: list.into_iter().map(|(n, _)| n).collect(),
        counts,
        global_scope,
        brought_by,
    }
}

// ---------------------------------------------------------------------------
// soclash image

fn run_soclash_image(conf: &Path, dir: &Path) -> serde_json::Value {
    let out_path = dir.join("image.json");
    let err_path = dir.join("image.stderr");
    let mut child = Command::new(SOCLASH)
        .args([
            "image",
            "--root",
            "/",
            "--process",
            "apache",
            "--apache-config",
        ])
        .arg(conf)
        .args(["--format", "json"])
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("run soclash");
    let deadline = Instant::now() + SOCLASH_TIMEOUT;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("soclash image took longer than {SOCLASH_TIMEOUT:?}");
        }
        sleep(Duration::from_millis(20));
    };
    let stdout = fs::read(&out_path).unwrap_or_default();
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    match serde_json::from_slice::<serde_json::Value>(&stdout) {
        Ok(v) if status.code().is_some_and(|c| c <= 1) => v,
        parsed => panic!(
            "`soclash image --root / --process apache --apache-config {} --format json` \
             gave no image ({status}; JSON: {}):\n{stderr}",
            conf.display(),
            parsed.err().map_or("parsed".into(), |e| e.to_string()),
        ),
    }
}

struct Member {
    object: String,
    how: String,
    flags: String,
    via: String,
    uncertain: bool,
}

fn text_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn apache_members(image: &serde_json::Value) -> (Vec<Member>, &serde_json::Value) {
    let procs = image["processes"]
        .as_array()
        .unwrap_or_else(|| panic!("image JSON has no `processes` array: {image}"));
    let p = procs
        .iter()
        .find(|p| p["name"] == "apache")
        .unwrap_or_else(|| {
            let names: Vec<String> = procs.iter().map(|p| text_of(&p["name"])).collect();
            panic!("image has no process named \"apache\"; processes: {names:?}")
        });
    let members = p["members"]
        .as_array()
        .unwrap_or_else(|| panic!("the apache process has no `members` array"))
        .iter()
        .map(|m| Member {
            object: text_of(&m["object"]),
            how: text_of(&m["how"]),
            flags: text_of(&m["flags"]),
            via: text_of(&m["via"]),
            uncertain: m.as_object().is_some_and(|o| {
                o.iter()
                    .any(|(k, v)| k.contains("uncertain") && v.as_bool() == Some(true))
            }),
        })
        .collect();
    (members, &p["scopes"])
}

/// The model's global scope, if its `scopes` shape names one: `{global:
/// [...]}` or `[{name|scope|kind: "global", objects|members: [...]}]`, with
/// entries as paths or `{object: path}`.
fn model_global_scope(scopes: &serde_json::Value) -> Option<Vec<String>> {
    let list_of = |v: &serde_json::Value| -> Option<Vec<String>> {
        Some(
            v.as_array()?
                .iter()
                .map(|e| {
                    if e.is_string() {
                        text_of(e)
                    } else {
                        text_of(&e["object"])
                    }
                })
                .collect(),
        )
    };
    if let Some(g) = scopes.get("global") {
        return list_of(g).or_else(|| list_of(&g["objects"]).or_else(|| list_of(&g["members"])));
    }
    scopes.as_array()?.iter().find_map(|s| {
        let named = ["name", "scope", "kind"]
            .iter()
            .any(|k| s[*k].as_str() == Some("global"));
        if named {
            list_of(&s["objects"]).or_else(|| list_of(&s["members"]))
        } else {
            None
        }
    })
}

/// Consecutive pairs of `seq` (all present in `pos`) in increasing `pos`
/// order: (agreeing pairs, descriptions of the others).
fn order_agreement(seq: &[PathBuf], pos: &HashMap<PathBuf, usize>) -> (usize, Vec<String>) {
    let mut agree = 0;
    let mut bad = Vec::new();
    for (i, w) in seq.windows(2).enumerate() {
        let (a, b) = (pos[&w[0]], pos[&w[1]]);
        if a < b {
            agree += 1;
        } else {
            bad.push(format!(
                "the model puts {} (shared global #{i}) before {} (#{}), the child's link map \
                 has them at #{a} and #{b}",
                w[0].display(),
                w[1].display(),
                i + 1,
            ));
        }
    }
    (agree, bad)
}

/// Starts Apache on a free loopback port (retried if someone takes it
/// first) and waits until it listens.
fn start_on_free_port(layout: &Layout, env: &[(&str, &str)]) -> (Apache, u16) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = free_port();
        write_config(layout, port);
        let _ = fs::remove_file(&layout.error_log);
        let mut a = Apache::start(layout, env);
        match a.wait_ready(port, layout) {
            Ok(()) => return (a, port),
            Err(e) if attempt < 3 && e.contains("Address already in use") => continue,
            Err(e) => panic!("{e}"),
        }
    }
}

// ---------------------------------------------------------------------------

#[test]
fn real_apache_serving_child_is_the_modeled_image() {
    let t0 = Instant::now();
    let php_load = prerequisites();
    let mut tmp = tempfile::Builder::new()
        .prefix("soclash-apache-oracle-")
        .tempdir_in(temp_base())
        .expect("create a temp dir");
    let keep = std::env::var_os("SOCLASH_ORACLE_KEEP").is_some();
    tmp.disable_cleanup(keep);
    let layout = write_instance(tmp.path(), &php_load);

    // 1-2. Start on a free loopback port.
    let ld_output = layout.ld_debug.display().to_string();
    let (mut apache, port) = start_on_free_port(
        &layout,
        &[
            ("LD_DEBUG", "files,scopes"),
            ("LD_DEBUG_OUTPUT", ld_output.as_str()),
        ],
    );
    let parent = apache.pid();
    let started = t0.elapsed();
    get_ok(port, "/index.php", &layout);
    let app = parse_app_body(&get_ok(port, "/app", &layout));
    get_ok(port, "/index.php", &layout);

    // 3. The serving child, its maps, its link map, and the LD_DEBUG log,
    // all read while it still runs.
    let pid_file: i32 = fs::read_to_string(&layout.pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid in {}", layout.pid_file.display()));
    assert_eq!(pid_file, parent, "PidFile names another process");
    let kids = children_of(parent);
    let serving: Vec<i32> = kids
        .iter()
        .copied()
        .filter(|&k| {
            maps_mention(
                k,
                &[
                    "libpython3",
                    "lib-dynload/_sqlite3",
                    "lxml/etree",
                    "MySQLdb/_mysql",
                ],
            )
        })
        .collect();
    assert!(
        serving.contains(&app.pid),
        "the WSGI app ran in pid {}, but the children of {parent} holding libpython and the \
         imported modules are {serving:?} (children: {kids:?})",
        app.pid
    );
    let child = app.pid;
    let exe = canonical(APACHE2).unwrap();
    let mapped = mapped_elf_objects(child);
    let interp = interpreter(&exe);
    let link_map: Vec<PathBuf> = app
        .link_map
        .iter()
        .filter_map(|n| {
            if n.is_empty() {
                Some(exe.clone())
            } else if n.starts_with('/') {
                canonical(n)
            } else {
                None // linux-vdso.so.1
            }
        })
        .collect();
    // canonical path → the name the loader mapped it under (basename).
    let loaded_as: HashMap<PathBuf, String> = app
        .link_map
        .iter()
        .filter(|n| n.starts_with('/'))
        .filter_map(|n| Some((canonical(n)?, base_name(n))))
        .collect();
    let ld_path = layout.ld_debug.with_file_name(format!("ld.{parent}"));
    let ld_text = fs::read_to_string(&ld_path)
        .unwrap_or_else(|e| panic!("read LD_DEBUG output {}: {e}", ld_path.display()));
    let events = parse_ld_debug(&ld_text);

    // 4. Stop Apache by PID (the guard does it too on any panic).
    let stop_status = apache.stop();
    let stopped = t0.elapsed();
    assert!(
        children_of(parent).is_empty() && kids.iter().all(|&k| !is_apache_process(k)),
        "apache processes left behind"
    );

    // Self-checks of the extraction.
    let lm_set: BTreeSet<PathBuf> = link_map.iter().cloned().collect();
    assert_eq!(
        lm_set.len(),
        link_map.len(),
        "the link map names an object twice: {link_map:?}"
    );
    assert_eq!(
        lm_set,
        mapped,
        "the child's link map and its maps disagree: only in the link map {:?}, only mapped {:?}",
        lm_set.difference(&mapped).collect::<Vec<_>>(),
        mapped.difference(&lm_set).collect::<Vec<_>>()
    );
    let facts = ld_facts(&events, parent, child, &exe);
    let lm_names: Vec<String> = app
        .link_map
        .iter()
        .filter(|n| n.starts_with('/') && Some(n.as_str()) != interp.as_deref())
        .map(|n| base_name(n))
        .collect();
    assert_eq!(
        facts.replay, lm_names,
        "LD_DEBUG=files replay (parent until the fork, then the child) differs from \
         dl_iterate_phdr in the child"
    );
    let global: Vec<PathBuf> = facts
        .global_scope
        .iter()
        .filter_map(|n| {
            if n == "<main program>" {
                Some(exe.clone())
            } else {
                canonical(n)
            }
        })
        .collect();
    assert!(
        global.len() > 10,
        "no global scope found in the LD_DEBUG=scopes output"
    );
    let pos: HashMap<PathBuf, usize> = link_map
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), i))
        .collect();
    let global_set: HashSet<&PathBuf> = global.iter().collect();
    let outside: Vec<&PathBuf> = global.iter().filter(|p| !pos.contains_key(*p)).collect();
    assert!(
        outside.is_empty(),
        "global scope objects missing from the link map: {outside:?}"
    );
    let scope_is_subsequence = global.windows(2).all(|w| pos[&w[0]] < pos[&w[1]]);

    println!(
        "real Apache ({}, port {port}): started in {started:?}, stopped ({}) at {stopped:?}",
        layout.conf.display(),
        stop_status.map_or("already".into(), |s| s.to_string())
    );
    println!("modules enabled: {}", layout.modules.join(" "));
    println!(
        "serving child {child} (parent {parent}): {} ELF objects mapped, link map of {} \
         (+ vDSO), global scope of {}",
        mapped.len(),
        link_map.len(),
        global.len()
    );
    println!(
        "link map by phase: start-up {} (+ executable, ld.so), pass 1 {} loaded of which {} \
         survive, pass 2 {}, child {}",
        facts.counts[0],
        facts.counts[1],
        facts.pass1_survivors.len(),
        facts.counts[2],
        facts.counts[3]
    );
    println!("pass-1 survivors: {}", facts.pass1_survivors.join(" "));
    println!("global scope is a subsequence of the link map: {scope_is_subsequence}");
    println!("link map of the serving child (G = global scope):");
    for (i, p) in link_map.iter().enumerate() {
        let g = if global_set.contains(p) { "G" } else { " " };
        println!("  {i:3} {g} {}", p.display());
    }

    // 5. The model.
    let image = run_soclash_image(&layout.conf, &layout.dir);
    let (members, scopes) = apache_members(&image);
    let member_set: HashSet<PathBuf> = members.iter().map(|m| PathBuf::from(&m.object)).collect();
    let missing: Vec<&PathBuf> = mapped.iter().filter(|p| !member_set.contains(*p)).collect();
    println!(
        "membership: {} of {} mapped ELF objects are members of the modeled apache process \
         ({} members)",
        mapped.len() - missing.len(),
        mapped.len(),
        members.len()
    );
    let mut report = String::new();
    for p in &missing {
        // The same file under a name that is not canonical (DESIGN: one name).
        let alias: Vec<&str> = members
            .iter()
            .filter(|m| canonical(&m.object).as_deref() == Some(p.as_path()))
            .map(|m| m.object.as_str())
            .collect();
        let mut hint = String::new();
        if let Some(by) = loaded_as.get(*p).and_then(|n| facts.brought_by.get(n)) {
            let _ = write!(hint, "; {by}");
        }
        if !alias.is_empty() {
            let _ = write!(hint, "; listed under another path: {alias:?}");
        }
        let _ = writeln!(report, "  missing {}{hint}", p.display());
    }
    let not_mapped: Vec<&Member> = members
        .iter()
        .filter(|m| !mapped.contains(Path::new(&m.object)))
        .collect();
    println!(
        "{} members not mapped by the child (Python extension modules the app did not import \
         and their libraries are expected here); outside Python directories:",
        not_mapped.len()
    );
    for m in not_mapped
        .iter()
        .filter(|m| !m.object.contains("/python3"))
        .take(40)
    {
        println!("  {} ({} {} via {})", m.object, m.how, m.flags, m.via);
    }

    // Load order of the global members against the child's link map.
    let mut seen = HashSet::new();
    let mut uncertain = Vec::new();
    let seq: Vec<PathBuf> = members
        .iter()
        .filter(|m| {
            let p = PathBuf::from(&m.object);
            if m.uncertain && global_set.contains(&p) {
                uncertain.push(m.object.clone());
            }
            global_set.contains(&p) && !m.uncertain && seen.insert(p)
        })
        .map(|m| PathBuf::from(&m.object))
        .collect();
    let (agree, bad) = order_agreement(&seq, &pos);
    println!(
        "load order: {agree} of {} consecutive pairs of the {} global members both list agree \
         with the link map; {} left out as uncertain {uncertain:?}",
        seq.len().saturating_sub(1),
        seq.len(),
        uncertain.len()
    );
    for b in &bad {
        let _ = writeln!(report, "  order: {b}");
    }
    match model_global_scope(scopes) {
        Some(g) => {
            let g: Vec<PathBuf> = g.iter().map(PathBuf::from).collect();
            let real: Vec<&PathBuf> = global.iter().filter(|p| g.contains(p)).collect();
            let model: Vec<&PathBuf> = g.iter().filter(|p| global_set.contains(p)).collect();
            println!(
                "model global scope: {} objects, {} of the real {} in it, same relative order: {}",
                g.len(),
                real.len(),
                global.len(),
                real == model
            );
        }
        None => println!("model scopes: no global scope list recognised in {scopes}"),
    }
    println!("total {:?}", t0.elapsed());
    assert!(
        report.is_empty(),
        "soclash image disagrees with the real serving child:\n{report}"
    );
    if keep {
        println!("kept {}", tmp.path().display());
    }
}

// ---------------------------------------------------------------------------
// The harness's own parsers, on synthetic input (no Apache needed).

#[test]
fn ld_debug_replay_follows_pass_one_unloads_and_the_fork() {
    let log = "\
     100:\tfile=libc.so.6 [0];  needed by /usr/sbin/apache2 [0]
     100:\tfile=libc.so.6 [0];  generating link map
     100:\t  dynamic: 0x1  base: 0x2   size: 0x3
     100:\tfile=/m/mod_a.so [0];  dynamically loaded by /lib/libapr-1.so.0 [0]
     100:\tfile=/m/mod_a.so [0];  generating link map
     100:\tfile=libkeep.so.1 [0];  needed by /m/mod_a.so [0]
     100:\tfile=libkeep.so.1 [0];  generating link map
     100:\tfile=libgone.so.1 [0];  needed by /m/mod_a.so [0]
     100:\tfile=libgone.so.1 [0];  generating link map
     100:\tcalling fini: /m/mod_a.so [0]
     100:\tfile=/m/mod_a.so [0];  destroying link map
     100:\tfile=/lib/libgone.so.1 [0];  destroying link map
     100:\tfile=/m/mod_a.so [0];  dynamically loaded by /lib/libapr-1.so.0 [0]
     100:\tfile=/m/mod_a.so [0];  generating link map
     100:\tobject=/m/mod_a.so [0]
     100:\t scope 0: <main program> /lib/libc.so.6 /lib/libkeep.so.1 /m/mod_a.so
     101:\tfile=/py/_x.so [0];  dynamically loaded by /lib/libpython3.11.so.1.0 [0]
     101:\tfile=/py/_x.so [0];  generating link map
     101:\tobject=/py/_x.so [0]
     101:\t scope 0: <main program> /lib/libc.so.6 /lib/libkeep.so.1 /m/mod_a.so
     101:\t scope 1: /py/_x.so /lib/libc.so.6
     100:\tfile=/m/mod_a.so [0];  destroying link map
";
    let events = parse_ld_debug(log);
    let f = ld_facts(&events, 100, 101, Path::new("/nonexistent/httpd"));
    assert_eq!(f.replay, ["libc.so.6", "libkeep.so.1", "mod_a.so", "_x.so"]);
    assert_eq!(f.pass1_survivors, ["libkeep.so.1"]);
    assert_eq!(f.counts, [1, 3, 1, 1]);
    assert_eq!(
        f.global_scope,
        [
            "<main program>",
            "/lib/libc.so.6",
            "/lib/libkeep.so.1",
            "/m/mod_a.so"
        ]
    );
    assert_eq!(
        f.brought_by["_x.so"],
        "dlopened by /lib/libpython3.11.so.1.0 in the child"
    );
    assert_eq!(
        f.brought_by["libkeep.so.1"],
        "needed by /m/mod_a.so in the parent"
    );
}

#[test]
fn image_json_is_read_as_the_contract_says() {
    let image = serde_json::json!({
        "processes": [
            {"name": "php-fpm", "members": []},
            {
                "name": "apache",
                "members": [
                    {"object": "/a", "how": "exec", "flags": null, "via": null},
                    {"object": "/c", "how": "needed", "flags": "", "via": "/a"},
                    {"object": "/b", "how": "dlopen", "flags": "RTLD_NOW|RTLD_GLOBAL",
                     "via": "LoadModule b_module /b", "position_uncertain": true},
                    {"object": "/d", "how": "dlopen", "flags": "RTLD_NOW", "via": "import d"}
                ],
                "scopes": [{"name": "global", "objects": [{"object": "/a"}, "/c"]}]
            }
        ]
    });
    let (members, scopes) = apache_members(&image);
    let objects: Vec<&str> = members.iter().map(|m| m.object.as_str()).collect();
    assert_eq!(objects, ["/a", "/c", "/b", "/d"]);
    assert_eq!(members[2].via, "LoadModule b_module /b");
    assert_eq!(members[0].flags, "");
    assert!(members[2].uncertain && !members[1].uncertain);
    assert_eq!(model_global_scope(scopes).unwrap(), ["/a", "/c"]);
    let keyed = serde_json::json!({"global": ["/a"], "local": {}});
    assert_eq!(model_global_scope(&keyed).unwrap(), ["/a"]);

    let pos: HashMap<PathBuf, usize> = ["/a", "/b", "/c"]
        .iter()
        .enumerate()
        .map(|(i, p)| (PathBuf::from(p), i))
        .collect();
    let seq: Vec<PathBuf> = ["/a", "/c", "/b"].iter().map(PathBuf::from).collect();
    let (agree, bad) = order_agreement(&seq, &pos);
    assert_eq!(agree, 1);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(
        bad[0].contains("/c") && bad[0].contains("#2 and #1"),
        "{bad:?}"
    );
}

// ---------------------------------------------------------------------------
// The binding oracle (issue 5): `LD_DEBUG=bindings` against `image::bind`.
//
// The same instance runs twice under `LD_DEBUG=files,bindings` (rule B17):
// as the service runs (lazy PLT slots bound at their first call), compared
// with `bind` under default options; and with `LD_BIND_NOW=1` (every slot
// bound when its object is relocated, so every reference is printed),
// compared with `bind` under `bind_now`. Each run serves the PHP page and
// the WSGI app, whose imports (hashlib, sqlite3, ctypes, lxml.etree,
// MySQLdb) make Python extension modules bind in the serving child; the
// LD_DEBUG file (`<out>.PARENT`, the child inherits its descriptor) is read
// while Apache still runs, then Apache is stopped by PID.
//
// Which lines hold in the serving child: the parent's up to the fork, the
// child's, and the parent's after the fork (lazy slots it calls later; the
// same image without the child's imports). A line whose REF is later
// destroyed (`file=PATH [0];  destroying link map`) belongs to a pass-1
// incarnation (rule H4): pass 2 maps and relocates that object again, so
// the line is superseded, counted and dropped. NODELETE survivors (G9) are
// never destroyed, so their pass-1 bindings stay, as they do in the child.
//
// Each distinct (REF, symbol, version, DEF), paths canonicalised, is then
// * a vDSO lookup: REF = DEF = `linux-vdso.so.1`, `dl_vdso_vsym` of
//   `__vdso_*`, made by ld.so's vDSO setup at start-up and by libc's
//   `time`/`gettimeofday` IFUNC resolvers each time a reference to those
//   is bound; the vDSO is no file and no member;
// * outside: REF or DEF is not a member of the modelled process (counted
//   and listed; `real_apache_serving_child_is_the_modeled_image` checks
//   membership);
// * not a relocation: the model has no reference of REF with that (symbol,
//   version) and REF's own dynamic relocations (read with goblin, not with
//   soclash) name no such symbol. These are `dlsym` lookups, which glibc
//   prints with REF = the handle's object (the caller's for RTLD_DEFAULT):
//   PHP's `get_module`, `zend_extension_entry` and `extension_version_info`
//   (php_load_shlib, zend_load_extension), Python's `PyInit_*`
//   (_PyImport_FindSharedFuncptr), glibc's NSS `_nss_<module>_*`
//   (nss_module.c) and ctypes' `CDLL(None).dl_iterate_phdr` in the app
//   (handle = the executable). APR's `apr_dso_sym` of `<name>_module` is
//   printed with the same key as the module's own GLOB_DAT reference of
//   that variable and gives the same answer (the module, first in its own
//   list and the only definer in the global scope), so it is compared as
//   that reference;
// * agreeing: DEF is the model's `binds_to` for a non-direct reference of
//   REF with that key;
// * lazy at load (default run only): a lazy PLT slot bound at its first
//   call where the model's `at_load` says, not where the final process
//   would bind it: the call came before a later definer joined the global
//   scope (G8, a P2 fact), counted and listed, not a contradiction. The
//   global scope only grows while the process runs (G5; what pass 1 unloads
//   cannot have been bound, G9), so a first call finds either the at-load
//   or the final answer, and any other DEF is a mismatch;
// * a mismatch: anything else, including a lookup of a reference the model
//   binds without one (`direct`).
// Interpositions: a line whose DEF is not the model's `expected` for that
// key must be one the model flags `interposed` with that `binds_to`.
// Coverage: every non-direct, non-lazy reference the model binds (to
// something) in an object the child maps must appear with its DEF; the
// counts separate the configured objects from imported Python extension
// modules (`may_be_imported`).

/// The bindings that hold in the serving child.
struct LiveBindings {
    lines: Vec<LdBinding>,
    /// Lines of incarnations a `dlclose` destroyed (pass 1, rule H4).
    superseded: usize,
    /// Lines of other processes (none with one prefork child).
    other_pids: usize,
}

fn live_bindings(events: &[BindEvent], parent: i32, child: i32) -> LiveBindings {
    let mut lines: Vec<Option<LdBinding>> = Vec::new();
    let mut by_ref: HashMap<String, Vec<usize>> = HashMap::new();
    let mut superseded = 0;
    let mut other_pids = 0;
    for ev in events {
        match ev {
            BindEvent::Bind(b) if b.pid == parent || b.pid == child => {
                by_ref
                    .entry(b.reference.clone())
                    .or_default()
                    .push(lines.len());
                lines.push(Some(b.clone()));
            }
            BindEvent::Bind(_) => other_pids += 1,
            BindEvent::Destroy(path) => {
                for i in by_ref.remove(path).unwrap_or_default() {
                    if lines.get_mut(i).and_then(Option::take).is_some() {
                        superseded += 1;
                    }
                }
            }
        }
    }
    LiveBindings {
        lines: lines.into_iter().flatten().collect(),
        superseded,
        other_pids,
    }
}

/// The symbol names the dynamic relocations of `path` name, read with
/// goblin (independently of soclash's ELF reader).
fn relocated_names(path: &Path) -> HashSet<String> {
    let Ok(bytes) = fs::read(path) else {
        return HashSet::new();
    };
    let Ok(elf) = goblin::elf::Elf::parse(&bytes) else {
        return HashSet::new();
    };
    elf.dynrelas
        .iter()
        .chain(elf.dynrels.iter())
        .chain(elf.pltrelocs.iter())
        .filter(|r| r.r_sym != 0)
        .filter_map(|r| {
            let s = elf.dynsyms.get(r.r_sym)?;
            Some(elf.dynstrtab.get_at(s.st_name)?.to_string())
        })
        .collect()
}

/// (object, symbol, version): what a lookup is keyed by on both sides.
type RefKey = (String, Vec<u8>, Option<Vec<u8>>);

fn ref_key(object: &str, symbol: &[u8], version: Option<&[u8]>) -> RefKey {
    (
        object.to_string(),
        symbol.to_vec(),
        version.map(<[u8]>::to_vec),
    )
}

/// The key of a model reference.
fn key_of(r: &soclash::image::bind::Reference) -> RefKey {
    ref_key(
        &r.object,
        r.symbol.as_bytes(),
        r.version.as_deref().map(str::as_bytes),
    )
}

/// What one distinct LD_DEBUG binding of a reference is to the model (see
/// the section's comment).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Agree,
    LazyAtLoad,
    Mismatch,
}

/// A `dlsym` lookup by who makes it (the section's comment), for counts.
fn dlsym_kind(reference: &str, symbol: &str) -> String {
    match symbol {
        "get_module" | "zend_extension_entry" | "extension_version_info" => {
            format!("PHP {symbol}")
        }
        _ if symbol.starts_with("PyInit_") => "Python PyInit_*".into(),
        _ if symbol.starts_with("_nss_") => format!("NSS _nss_* of {}", short(reference)),
        _ => format!("`{symbol}' in {}", short(reference)),
    }
}

fn short(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn describe_refs(refs: &[&soclash::image::bind::Reference]) -> String {
    let mut s = String::new();
    for r in refs.iter().take(4) {
        let _ = write!(
            s,
            "[{:?} binds_to {} expected {}{}{}{}{}{}{}] ",
            r.class,
            r.binds_to.as_deref().unwrap_or("-"),
            r.expected.as_deref().unwrap_or("-"),
            if r.interposed { " interposed" } else { "" },
            if r.direct { " direct" } else { "" },
            if r.protected { " protected" } else { "" },
            if r.lazy { " lazy" } else { "" },
            match &r.at_load {
                Some(a) => format!(" at_load {}", a.as_deref().unwrap_or("-")),
                None => String::new(),
            },
            if r.may_be_imported {
                " may_be_imported"
            } else {
                ""
            },
        );
    }
    s.trim_end().to_string()
}

/// One run of the real Apache under `LD_DEBUG=files,bindings`.
struct BindingRun {
    parent: i32,
    child: i32,
    /// ELF objects the serving child maps (canonical).
    mapped: HashSet<String>,
    /// Lines saying `binding file`, and how many of them parsed.
    printed: usize,
    parsed: usize,
    live: LiveBindings,
}

fn run_for_bindings(layout: &Layout, output: &str, extra_env: &[(&str, &str)]) -> BindingRun {
    let out = layout.dir.join(output);
    let out_s = out.display().to_string();
    let mut env = vec![
        ("LD_DEBUG", "files,bindings"),
        ("LD_DEBUG_OUTPUT", out_s.as_str()),
    ];
    env.extend_from_slice(extra_env);
    let (mut apache, port) = start_on_free_port(layout, &env);
    let parent = apache.pid();
    get_ok(port, "/index.php", layout);
    let app = parse_app_body(&get_ok(port, "/app", layout));
    get_ok(port, "/index.php", layout);
    let child = app.pid;
    assert_eq!(
        ppid_of(child),
        Some(parent),
        "the WSGI app ran outside a child of the Apache parent {parent}"
    );
    let mapped = mapped_elf_objects(child)
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    // Read while Apache runs: at shutdown the parent unloads every module.
    let path = out.with_file_name(format!("{output}.{parent}"));
    let mut text = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read LD_DEBUG output {}: {e}", path.display()));
    apache.stop();
    // ld.so may be writing a line as it is read (the parent's event loop
    // binds lazily while it runs): a last line without its newline is cut
    // (`symbol `select' [GLIB`) and would read as an unversioned lookup.
    text.truncate(text.rfind('\n').map_or(0, |i| i + 1));
    let (events, printed) = parse_ld_bindings(&text);
    let parsed = events
        .iter()
        .filter(|e| matches!(e, BindEvent::Bind(_)))
        .count();
    BindingRun {
        parent,
        child,
        mapped,
        printed,
        parsed,
        live: live_bindings(&events, parent, child),
    }
}

/// A run compared with the model's bindings.
#[derive(Default)]
struct BindingComparison {
    distinct: usize,
    /// Lines whose REF and DEF are the vDSO.
    vdso: usize,
    outside: Vec<String>,
    not_relocation: BTreeMap<String, usize>,
    other_namespace: usize,
    agree: usize,
    /// Agreeing lines of lazy slots (first called in the real process).
    agree_lazy: usize,
    /// Agreeing lines the child printed (imports, slots first called there).
    agree_in_child: usize,
    lazy_at_load: Vec<String>,
    mismatches: Vec<String>,
    interposed_observed: usize,
    interposed_predicted: usize,
    /// Interpositions whose DEF the model does not give (also mismatches
    /// or P2 lines).
    interposed_unpredicted: usize,
    /// Observed interpositions: (REF, DEF) → symbols.
    interpositions: BTreeMap<(String, String), usize>,
    /// The model's interposed, non-lazy references of configured objects,
    /// and how many LD_DEBUG shows.
    model_interposed: usize,
    model_interposed_seen: usize,
    /// Non-direct, non-lazy references bound to something: of configured
    /// objects / of imported (mapped `may_be_imported`) ones, and how many
    /// LD_DEBUG shows with the same DEF; the others.
    due: [usize; 2],
    due_seen: [usize; 2],
    due_key_seen: [usize; 2],
    due_missing: Vec<String>,
    model_lazy: usize,
    model_lazy_at_load: usize,
}

fn compare_bindings(
    run: &BindingRun,
    image: &soclash::image::ProcessImage,
    bindings: &soclash::image::bind::Bindings,
) -> BindingComparison {
    use soclash::image::bind::Reference;
    let mut c = BindingComparison::default();
    let members: HashSet<&str> = image.members.iter().map(|m| m.object.as_str()).collect();
    let mut by_key: HashMap<RefKey, Vec<&Reference>> = HashMap::new();
    for r in &bindings.references {
        by_key.entry(key_of(r)).or_default().push(r);
    }

    // Distinct (REF, symbol, version, DEF), canonical paths; whether the
    // child printed it.
    let exe = canonical(APACHE2).unwrap().display().to_string();
    let mut canon: HashMap<String, Option<String>> = HashMap::new();
    let mut canonical_of = |name: &str| -> Option<String> {
        canon
            .entry(name.to_string())
            .or_insert_with(|| {
                if name == "<main program>" || name.is_empty() {
                    Some(exe.clone())
                } else {
                    canonical(name).map(|p| p.display().to_string())
                }
            })
            .clone()
    };
    type Seen = (String, String, Option<String>, String);
    let mut distinct: BTreeMap<Seen, bool> = BTreeMap::new();
    // Lines whose version is a guess (another process's line cut them):
    // held against the model's references of that name in any version.
    let mut guessed: HashSet<Seen> = HashSet::new();
    let is_vdso = |n: &str| n.starts_with("linux-vdso") || n.starts_with("linux-gate");
    for b in &run.live.lines {
        c.other_namespace += usize::from(!b.base_namespace);
        if is_vdso(&b.reference) && is_vdso(&b.definer) {
            c.vdso += 1;
            continue;
        }
        let (Some(r), Some(d)) = (canonical_of(&b.reference), canonical_of(&b.definer)) else {
            c.outside.push(format!(
                "binding file {} to {}: symbol `{}' (no such file)",
                b.reference, b.definer, b.symbol
            ));
            continue;
        };
        let seen = (r, b.symbol.clone(), b.version.clone(), d);
        if b.interleaved {
            guessed.insert(seen.clone());
        }
        *distinct.entry(seen).or_default() |= b.pid == run.child;
    }
    c.distinct = distinct.len();

    let mut relocs: HashMap<String, HashSet<String>> = HashMap::new();
    let mut seen_defs: HashMap<RefKey, HashSet<&str>> = HashMap::new();
    for ((r, sym, ver, d), &in_child) in &distinct {
        let line = format!(
            "binding file {r} to {d}: symbol `{sym}'{}",
            ver.as_ref().map(|v| format!(" [{v}]")).unwrap_or_default()
        );
        if !members.contains(r.as_str()) || !members.contains(d.as_str()) {
            c.outside.push(line);
            continue;
        }
        let key = ref_key(r, sym.as_bytes(), ver.as_deref().map(str::as_bytes));
        let any_version: Vec<&Reference>;
        let refs = if guessed.contains(&(r.clone(), sym.clone(), ver.clone(), d.clone())) {
            let keys: Vec<&RefKey> = by_key
                .keys()
                .filter(|k| k.0 == *r && k.1 == sym.as_bytes())
                .collect();
            for k in &keys {
                seen_defs
                    .entry((*k).clone())
                    .or_default()
                    .insert(d.as_str());
            }
            any_version = keys
                .iter()
                .flat_map(|k| by_key[*k].iter().copied())
                .collect();
            (!any_version.is_empty()).then_some(&any_version)
        } else {
            seen_defs.entry(key.clone()).or_default().insert(d.as_str());
            by_key.get(&key)
        };
        let Some(refs) = refs else {
            let names = relocs
                .entry(r.clone())
                .or_insert_with(|| relocated_names(Path::new(r)));
            if names.contains(sym) {
                c.mismatches.push(format!(
                    "{line} — {} has a dynamic relocation naming `{sym}' (goblin), the model \
                     has no reference of it with that version",
                    short(r)
                ));
            } else {
                *c.not_relocation.entry(dlsym_kind(r, sym)).or_default() += 1;
            }
            continue;
        };
        let lookups: Vec<&Reference> = refs.iter().copied().filter(|x| !x.direct).collect();
        let bound: Vec<&Reference> = lookups
            .iter()
            .copied()
            .filter(|x| x.binds_to.as_deref() == Some(d.as_str()))
            .collect();
        let verdict = if !bound.is_empty() {
            Verdict::Agree
        } else if lookups.iter().any(|x| {
            x.lazy
                && x.at_load
                    .as_ref()
                    .is_some_and(|a| a.as_deref() == Some(d.as_str()))
        }) {
            Verdict::LazyAtLoad
        } else {
            Verdict::Mismatch
        };
        // Interposition: DEF is not where the reference binds alone.
        let mut unpredicted = "";
        if !lookups
            .iter()
            .any(|x| x.expected.as_deref() == Some(d.as_str()))
        {
            c.interposed_observed += 1;
            *c.interpositions
                .entry((short(r).to_string(), short(d).to_string()))
                .or_default() += 1;
            if bound.iter().any(|x| x.interposed) {
                c.interposed_predicted += 1;
            } else {
                c.interposed_unpredicted += 1;
                unpredicted = " (an interposition the model does not predict)";
            }
        }
        match verdict {
            Verdict::Agree => {
                c.agree += 1;
                c.agree_lazy += usize::from(bound.iter().all(|x| x.lazy));
                c.agree_in_child += usize::from(in_child);
            }
            Verdict::LazyAtLoad => c.lazy_at_load.push(format!(
                "{line}{unpredicted} — a lazy slot first called before the process was \
                 complete; model: {}",
                describe_refs(refs)
            )),
            Verdict::Mismatch => c.mismatches.push(format!(
                "{line}{unpredicted} — model: {}",
                describe_refs(refs)
            )),
        }
    }

    // Coverage of the model's lookups that must have happened.
    for r in bindings.references.iter().filter(|r| !r.direct) {
        if r.lazy {
            c.model_lazy += 1;
            c.model_lazy_at_load += usize::from(r.at_load.is_some());
            continue;
        }
        let Some(to) = r.binds_to.as_deref() else {
            continue; // a weak reference nothing defines: no line (B16)
        };
        let k = if !r.may_be_imported {
            0
        } else if run.mapped.contains(&*r.object) {
            1
        } else {
            continue; // not imported by the app
        };
        c.due[k] += 1;
        let defs = seen_defs.get(&key_of(r));
        c.due_key_seen[k] += usize::from(defs.is_some());
        if defs.is_some_and(|ds| ds.contains(to)) {
            c.due_seen[k] += 1;
            if k == 0 && r.interposed {
                c.model_interposed_seen += 1;
            }
        } else {
            c.due_missing.push(format!(
                "{} `{}'{} ({:?}) -> {}: not printed{}",
                r.object,
                r.symbol,
                r.version
                    .as_ref()
                    .map(|v| format!(" [{v}]"))
                    .unwrap_or_default(),
                r.class,
                to,
                match defs {
                    Some(ds) => format!(", LD_DEBUG bound it to {ds:?}"),
                    None if !run.mapped.contains(&*r.object) => {
                        " (the child does not map the object)".into()
                    }
                    None => String::new(),
                }
            ));
        }
        if k == 0 && r.interposed {
            c.model_interposed += 1;
        }
    }
    c
}

impl BindingComparison {
    fn print(&self, label: &str, run: &BindingRun) {
        let compared = self.agree + self.lazy_at_load.len() + self.mismatches.len();
        eprintln!(
            "[{label}] serving child {} of {}: LD_DEBUG bindings parsed: {} lines ({} printed); \
             {} of superseded pass-1 incarnations, {} of other processes, {} live ({} outside \
             namespace 0) = {} distinct (REF, symbol, version, DEF)",
            run.child,
            run.parent,
            run.parsed,
            run.printed,
            run.live.superseded,
            run.live.other_pids,
            run.live.lines.len(),
            self.other_namespace,
            self.distinct
        );
        eprintln!(
            "[{label}] excluded: {} vDSO lookups, {} with REF or DEF not a member, {} not \
             relocations (dlsym lookups, by caller: {:?})",
            self.vdso,
            self.outside.len(),
            self.not_relocation.values().sum::<usize>(),
            self.not_relocation
        );
        eprintln!(
            "[{label}] compared: {compared}, agreeing: {} (of which {} lazy slots at their first \
             call, {} printed by the child), lazy slots bound where `at_load` says (P2): {}, \
             mismatches: {}",
            self.agree,
            self.agree_lazy,
            self.agree_in_child,
            self.lazy_at_load.len(),
            self.mismatches.len()
        );
        eprintln!(
            "[{label}] interposed observed: {}, interposed predicted: {} (unpredicted: {}); the \
             model's interposed non-lazy references of configured objects: {} of {} observed",
            self.interposed_observed,
            self.interposed_predicted,
            self.interposed_unpredicted,
            self.model_interposed_seen,
            self.model_interposed
        );
        eprintln!(
            "[{label}] model references due (non-direct, non-lazy, bound): configured objects \
             {} of {} observed with the same DEF ({} looked up at all); imported Python \
             extension modules {} of {} ({}); model lazy slots {} ({} bind elsewhere at load)",
            self.due_seen[0],
            self.due[0],
            self.due_key_seen[0],
            self.due_seen[1],
            self.due[1],
            self.due_key_seen[1],
            self.model_lazy,
            self.model_lazy_at_load
        );
        let pairs: Vec<String> = self
            .interpositions
            .iter()
            .map(|((r, d), n)| format!("{r} -> {d} ({n})"))
            .collect();
        eprintln!("[{label}] interpositions observed: {}", pairs.join(", "));
        for l in self.outside.iter().take(10) {
            eprintln!("[{label}]   outside: {l}");
        }
        for l in &self.lazy_at_load {
            eprintln!("[{label}]   P2: {l}");
        }
    }

    /// The failures, first 30 of each kind.
    fn failures(&self, label: &str) -> String {
        let mut s = String::new();
        if !self.mismatches.is_empty() {
            let _ = writeln!(
                s,
                "[{label}] {} LD_DEBUG bindings contradict the model:",
                self.mismatches.len()
            );
            for m in self.mismatches.iter().take(30) {
                let _ = writeln!(s, "  {m}");
            }
        }
        if !self.due_missing.is_empty() {
            let _ = writeln!(
                s,
                "[{label}] {} model lookups that must happen were not printed as predicted:",
                self.due_missing.len()
            );
            for m in self.due_missing.iter().take(30) {
                let _ = writeln!(s, "  {m}");
            }
        }
        s
    }
}

#[test]
fn real_apache_bindings_are_the_modeled_ones() {
    use soclash::image::bind::{BindOptions, bind};

    let t0 = Instant::now();
    let php_load = prerequisites();
    let mut tmp = tempfile::Builder::new()
        .prefix("soclash-apache-bind-oracle-")
        .tempdir_in(temp_base())
        .expect("create a temp dir");
    let keep = std::env::var_os("SOCLASH_ORACLE_KEEP").is_some();
    tmp.disable_cleanup(keep);
    let layout = write_instance(tmp.path(), &php_load);

    let lazy_run = run_for_bindings(&layout, "ld-lazy", &[]);
    let now_run = run_for_bindings(&layout, "ld-now", &[("LD_BIND_NOW", "1")]);
    let served = t0.elapsed();

    // The model of the same configuration (the instance's config reads the
    // same whatever its port).
    let root = soclash::root::Root::new(Path::new("/")).expect("open / as root");
    let opts = soclash::image::ImageOptions {
        apache_config: Some(layout.conf.clone()),
        cpu: soclash::resolve::Cpu::detect(),
        bind_early: None,
    };
    let image = soclash::image::apache(&root, &opts).expect("model the apache process");
    let lazy = compare_bindings(&lazy_run, &image, &bind(&image, &BindOptions::default()));
    let now_opts = BindOptions {
        bind_now: true,
        ..BindOptions::default()
    };
    let now = compare_bindings(&now_run, &image, &bind(&image, &now_opts));

    eprintln!(
        "binding oracle: two Apache runs in {served:?}, total {:?}; {} members modelled, {} and \
         {} ELF objects mapped by the serving children",
        t0.elapsed(),
        image.members.len(),
        lazy_run.mapped.len(),
        now_run.mapped.len()
    );
    lazy.print("default", &lazy_run);
    now.print("LD_BIND_NOW", &now_run);
    if keep {
        eprintln!("kept {}", tmp.path().display());
    }
    for (label, run) in [("default", &lazy_run), ("LD_BIND_NOW", &now_run)] {
        assert_eq!(
            run.parsed, run.printed,
            "[{label}] not every `binding file` line of LD_DEBUG parsed"
        );
        assert!(
            run.live.lines.len() > 1000,
            "[{label}] LD_DEBUG printed almost no bindings"
        );
    }
    let failures = lazy.failures("default") + &now.failures("LD_BIND_NOW");
    assert!(
        failures.is_empty(),
        "the real Apache's LD_DEBUG=bindings contradicts `image::bind`:\n{failures}"
    );
}

#[test]
fn ld_debug_bindings_parse_and_pass_one_is_superseded() {
    let log = "\
     100:\tbinding file /m/mod_a.so [0] to /lib/libc.so.6 [0]: normal symbol `strlen' [GLIBC_2.2.5]
     100:\tbinding file /m/mod_a.so [0] to /m/mod_a.so [0]: normal symbol `a_module'
     100:\tfile=/m/mod_a.so [0];  destroying link map
     100:\tbinding file /m/mod_a.so [0] to /lib/libc.so.6 [0]: normal symbol `strlen' [GLIBC_2.2.5]
     100:\tbinding file /lib/libkeep.so [0] to /lib/libkeep.so [1]: protected symbol `k'
     101:\tbinding file /py/_x.so [0] to /usr/sbin/httpd [0]: normal symbol `Py_None'
     102:\tbinding file /py/_y.so [0] to /usr/sbin/httpd [0]: normal symbol `Py_None'
";
    let (events, printed) = parse_ld_bindings(log);
    assert_eq!(printed, 6);
    assert_eq!(events.len(), 7);
    assert_eq!(
        events[0],
        BindEvent::Bind(LdBinding {
            pid: 100,
            reference: "/m/mod_a.so".into(),
            definer: "/lib/libc.so.6".into(),
            base_namespace: true,
            protected: false,
            symbol: "strlen".into(),
            version: Some("GLIBC_2.2.5".into()),
            interleaved: false,
        })
    );
    assert_eq!(events[2], BindEvent::Destroy("/m/mod_a.so".into()));
    let live = live_bindings(&events, 100, 101);
    assert_eq!(live.superseded, 2);
    assert_eq!(live.other_pids, 1);
    let kept: Vec<(&str, &str, bool, bool)> = live
        .lines
        .iter()
        .map(|b| {
            (
                b.reference.as_str(),
                b.symbol.as_str(),
                b.protected,
                b.base_namespace,
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            ("/m/mod_a.so", "strlen", false, true),
            ("/lib/libkeep.so", "k", true, false),
            ("/py/_x.so", "Py_None", false, true),
        ]
    );
    assert_eq!(live.lines[2].version, None);
}
