//! `soclash apt-hook` inside the real `apt-get` of this machine (Debian 12,
//! as root): the hook of the soclash under test is given with `-o`
//! options only, so nothing under /etc/apt changes. The packages are built
//! here with gcc and dpkg-deb; each install is undone by a guard that runs
//! `dpkg --purge` however the test ends, and a package left by a killed
//! run is purged before it starts. A missing tool, or not being root,
//! fails the test with what to do. What apt and the hook print when the
//! bad package is stopped is the README's transcript (`readme::check_block`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::common::{SOCLASH, path, tempdir};

/// apt takes dpkg's lock: one apt run of these tests at a time.
static APT: Mutex<()> = Mutex::new(());

const BAD: &str = "soclash-test-sqlite";
const GOOD: &str = "soclash-test-harmless";
/// Where the bad package's extension goes: PHP 8.2's extension_dir.
const BAD_SO: &str = "/usr/lib/php/20220829/soclash_test_sqlite.so";

fn tool(cmd: &str, args: &[&str]) -> std::process::Output {
    Command::new(cmd)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| panic!("{cmd} is needed (a Debian machine with gcc; .ci/deps): {e}"))
}

fn installed(name: &str) -> bool {
    let out = tool("dpkg-query", &["-W", "-f=${Status}", name]);
    String::from_utf8_lossy(&out.stdout).contains("install ok installed")
}

/// Purges the package when dropped (and when made, for one a killed run
/// left), so no test leaves it on the machine.
struct Purge(&'static str);

impl Purge {
    fn new(name: &'static str) -> Purge {
        let p = Purge(name);
        p.purge();
        p
    }

    fn purge(&self) {
        let status = tool("dpkg-query", &["-W", "-f=${Status}", self.0]);
        if status.status.success() && !status.stdout.ends_with(b"not-installed") {
            let out = tool("dpkg", &["--purge", self.0]);
            assert!(
                out.status.success() || std::thread::panicking(),
                "dpkg --purge {}: {}",
                self.0,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

impl Drop for Purge {
    fn drop(&mut self) {
        self.purge();
    }
}

/// A binary package NAME 1.0 of the tree `dir/root` (DEBIAN/control added).
fn build(dir: &Path, name: &str) -> PathBuf {
    let root = dir.join(name);
    std::fs::create_dir_all(root.join("DEBIAN")).expect("DEBIAN");
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: 1.0\nArchitecture: amd64\nMaintainer: soclash tests <tests@localhost>\nDescription: built by soclash's tests/it/apt_hook.rs; safe to purge\n"
        ),
    )
    .expect("control");
    let deb = dir.join(format!("{name}_1.0_amd64.deb"));
    let out = tool(
        "dpkg-deb",
        &["--root-owner-group", "--build", path(&root), path(&deb)],
    );
    assert!(
        out.status.success(),
        "dpkg-deb --build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    deb
}

/// A PHP extension that carries SQLite's API, exported without symbol
/// versions (an amalgamation built without -fvisibility=hidden), enabled
/// for mod_php before the extensions that link libsqlite3.so.0: Python's
/// `_sqlite3`, imported later in the same Apache process, binds to it.
fn bad_package(dir: &Path) -> PathBuf {
    let tree = dir.join(BAD);
    let so = tree.join(BAD_SO.trim_start_matches('/'));
    std::fs::create_dir_all(so.parent().expect("dir")).expect("extension dir");
    let mut c = String::from("void *get_module(void) { return 0; }\n");
    for f in [
        "sqlite3_libversion",
        "sqlite3_libversion_number",
        "sqlite3_sourceid",
        "sqlite3_open",
        "sqlite3_open_v2",
        "sqlite3_prepare_v2",
        "sqlite3_step",
        "sqlite3_finalize",
        "sqlite3_close",
        "sqlite3_close_v2",
        "sqlite3_errmsg",
        "sqlite3_exec",
    ] {
        c.push_str(&format!("int {f}(void) {{ return 0; }}\n"));
    }
    let src = dir.join("ext.c");
    std::fs::write(&src, c).expect("source");
    let out = tool(
        "gcc",
        &["-shared", "-fPIC", "-O2", "-o", path(&so), path(&src)],
    );
    assert!(
        out.status.success(),
        "gcc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let confd = tree.join("etc/php/8.2/apache2/conf.d");
    std::fs::create_dir_all(&confd).expect("conf.d");
    std::fs::write(
        confd.join("05-soclash-test-sqlite.ini"),
        "extension=soclash_test_sqlite.so\n",
    )
    .expect("ini");
    build(dir, BAD)
}

/// A package of one text file.
fn good_package(dir: &Path) -> PathBuf {
    let doc = dir.join(GOOD).join("usr/share/doc").join(GOOD);
    std::fs::create_dir_all(&doc).expect("doc dir");
    std::fs::write(doc.join("README"), "nothing to load\n").expect("README");
    build(dir, GOOD)
}

/// `apt-get install ./DEB` run in DEB's directory, as a person runs it,
/// with the hook `soclash apt-hook HOOK_ARGS` (and `extra` apt options,
/// `env`): (exit code, stdout and stderr in the order apt and the hook
/// wrote them: both go to one file).
fn apt_install(
    deb: &Path,
    hook_args: &str,
    extra: &[String],
    env: &[(&str, &str)],
) -> (i32, String) {
    let dir = deb.parent().expect("the .deb's directory");
    let name = deb.file_name().expect("a file name").to_string_lossy();
    let mut args = vec![
        "install".to_string(),
        "-y".into(),
        "--no-install-recommends".into(),
        "-o".into(),
        "DPkg::Lock::Timeout=300".into(),
        "-o".into(),
        format!("DPkg::Pre-Install-Pkgs::={SOCLASH} apt-hook {hook_args}"),
        "-o".into(),
        format!("DPkg::Tools::Options::{SOCLASH}::Version=3"),
    ];
    args.extend_from_slice(extra);
    args.push(format!("./{name}"));
    let log = dir.join("apt-output.txt");
    let file = std::fs::File::create(&log).expect("apt's output file");
    let mut cmd = Command::new("apt-get");
    cmd.args(&args)
        .current_dir(dir)
        .stdout(file.try_clone().expect("dup"))
        .stderr(file)
        .env("LC_ALL", "C")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env_remove("SOCLASH_APT_HOOK");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let t = std::time::Instant::now();
    let status = cmd.status().expect("apt-get is needed (a Debian machine)");
    let text = String::from_utf8_lossy(&std::fs::read(&log).expect("apt's output")).into_owned();
    eprintln!(
        "apt-get install {} (hook {hook_args:?}, {env:?}): exit {:?} in {:?}",
        deb.display(),
        status.code(),
        t.elapsed()
    );
    (status.code().unwrap_or(-1), text)
}

/// The README's transcript of apt stopped by the hook, from what apt and
/// the hook printed: as the administrator runs it, with the hook linked
/// into /etc/apt/apt.conf.d (so its command is /usr/bin/soclash apt-hook,
/// without the test's `--waivers`) in root's home (the test's temporary
/// directory). debconf's note that apt-utils is not installed is left
/// out: it is about this machine, not the upgrade.
fn transcript(out: &str, deb: &Path, hook_args: &str) -> String {
    let dir = deb.parent().expect("dir").display().to_string();
    let name = deb.file_name().expect("name").to_string_lossy();
    let mut t = format!(
        "# ln -s /usr/share/soclash/apt/50soclash /etc/apt/apt.conf.d/50soclash\n# apt-get install ./{name}\n"
    );
    let hook = format!("{SOCLASH} apt-hook {hook_args}");
    for line in out.lines().filter(|l| !l.starts_with("debconf: ")) {
        t.push_str(
            &line
                .replace(&hook, "/usr/bin/soclash apt-hook")
                .replace(&dir, "/root"),
        );
        t.push('\n');
    }
    t
}

/// What differs between two runs of the same transcript, masked: the
/// hook's time, the package versions its advice names, apt's counts and
/// sizes (of this machine's other packages, of what gcc built), and
/// debconf's note about apt-utils.
fn normalise(t: &str) -> String {
    let digits = regex::Regex::new(r"[0-9]+").expect("regex");
    let time = regex::Regex::new(r"checked in [0-9.]+ s:").expect("regex");
    let version = regex::Regex::new(r"(package [a-z0-9][a-z0-9+.-]+) [0-9](?:[^ ;)]*[^ ;).])?")
        .expect("regex");
    t.lines()
        .filter(|l| !l.starts_with("debconf: "))
        .map(|l| {
            let apt_numbers = ["Need to get ", "After this operation, ", "Get:"]
                .iter()
                .any(|p| l.starts_with(p))
                || l.contains(" newly installed, ");
            let l = if apt_numbers {
                digits.replace_all(l, "N").into_owned()
            } else {
                l.to_string()
            };
            let l = time.replace_all(&l, "checked in T s:");
            let l = version.replace_all(&l, "$1 VERSION");
            format!("{l}\n")
        })
        .collect()
}

#[test]
fn the_transcript_normalises_only_what_varies() {
    let a = "soclash: 1 package to unpack checked in 0.9 s: x\n  fix: y (package php8.2-sqlite3 8.2.36-1~deb12u1); z is in package libpython3.11-stdlib 3.11.2-6+deb12u6.\n0 upgraded, 1 newly installed, 0 to remove and 140 not upgraded.\ndebconf: delaying\n";
    let b = "soclash: 1 package to unpack checked in 12.3 s: x\n  fix: y (package php8.2-sqlite3 8.2.40-1); z is in package libpython3.11-stdlib 3.11.2-7.\n0 upgraded, 1 newly installed, 0 to remove and 3 not upgraded.\n";
    assert_eq!(normalise(a), normalise(b));
    assert!(
        normalise(a).contains("(package php8.2-sqlite3 VERSION);"),
        "{}",
        normalise(a)
    );
    assert!(
        normalise(a).contains("libpython3.11-stdlib VERSION."),
        "{}",
        normalise(a)
    );
    // What soclash says is not masked.
    assert_ne!(
        normalise(a),
        normalise(&a.replace("1 package", "2 packages"))
    );
    assert_ne!(
        normalise(a),
        normalise(&a.replace("php8.2-sqlite3", "php8.2-sqlite"))
    );
}

fn as_root() {
    let out = tool("id", &["-u"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "apt-get install needs root: run these tests as root (CI does)"
    );
}

/// An empty waivers file, so the machine's /etc/soclash/waivers.yaml (if
/// any) does not decide.
fn no_waivers(dir: &Path) -> PathBuf {
    let w = dir.join("waivers.yaml");
    std::fs::write(&w, "# none\n").expect("waivers");
    w
}

/// The bad package is stopped before dpkg runs: apt fails with the hook's
/// verdict, and neither the package nor its extension is on the machine.
#[test]
fn a_package_that_brings_a_clash_is_stopped_before_dpkg() {
    as_root();
    let _apt = APT.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempdir();
    let deb = bad_package(dir.path());
    let waivers = no_waivers(dir.path());
    let _purge = Purge::new(BAD);
    let (code, out) = apt_install(&deb, &format!("--waivers {}", path(&waivers)), &[], &[]);
    assert_ne!(code, 0, "apt went on:\n{out}");
    assert!(
        out.contains(
            "this upgrade introduces 1 finding at or above high: duplicate-sqlite3-in-process (high"
        ),
        "{out}"
    );
    assert!(out.contains(BAD_SO), "{out}");
    assert!(out.contains("apt stops here, before dpkg runs"), "{out}");
    assert!(out.contains("E: Failure running script"), "{out}");
    assert!(!out.contains("Unpacking"), "dpkg ran:\n{out}");
    assert!(!installed(BAD), "{BAD} is installed:\n{out}");
    assert!(!Path::new(BAD_SO).exists(), "{BAD_SO} is on the machine");
    // What apt and the hook printed is the README's transcript.
    crate::readme::check_block(
        "apt-hook",
        &transcript(&out, &deb, &format!("--waivers {}", path(&waivers))),
        normalise,
    );
}

/// A harmless package goes through (and is purged again); a second hook
/// captures what apt really sends, which the library's reader reads.
#[test]
fn a_harmless_package_goes_through() {
    as_root();
    let _apt = APT.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempdir();
    let deb = good_package(dir.path());
    let waivers = no_waivers(dir.path());
    let captured = dir.path().join("apt-v3.txt");
    let purge = Purge::new(GOOD);
    let (code, out) = apt_install(
        &deb,
        &format!("--waivers {}", path(&waivers)),
        &[
            "-o".into(),
            format!("DPkg::Pre-Install-Pkgs::=cat > {}", path(&captured)),
            "-o".into(),
            "DPkg::Tools::Options::cat::Version=3".into(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("1 package to unpack checked in")
            && out.contains("introduces nothing at or above high"),
        "{out}"
    );
    assert!(installed(GOOD), "{out}");
    drop(purge);
    assert!(!installed(GOOD), "{GOOD} was not purged");
    // apt's own version 3, read by the hook's reader.
    let text = std::fs::read(&captured).expect("the captured hook input");
    let t = soclash::apt_hook::read(text.as_slice()).expect("apt's input reads");
    assert_eq!(t.version, 3);
    assert!(
        t.config_items > 50,
        "{} configuration items",
        t.config_items
    );
    let step = t
        .steps
        .iter()
        .find(|s| s.package == GOOD && matches!(s.action, soclash::apt_hook::Action::Unpack(_)))
        .unwrap_or_else(|| panic!("no unpack step for {GOOD}: {:?}", t.steps));
    assert_eq!(step.old, None);
    assert_eq!(step.direction, '<');
    let new = step.new.as_ref().expect("the new version");
    assert_eq!(
        (new.version.as_str(), new.architecture.as_deref()),
        ("1.0", Some("amd64"))
    );
    assert_eq!(t.debs().len(), 1, "{:?}", t.debs());
    assert!(
        t.debs()[0].ends_with(format!("{GOOD}_1.0_amd64.deb")),
        "{:?}",
        t.debs()
    );
}

/// `SOCLASH_APT_HOOK=off` lets the bad package through (then purged).
#[test]
fn the_bypass_lets_apt_go_on_once() {
    as_root();
    let _apt = APT.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempdir();
    let deb = bad_package(dir.path());
    let waivers = no_waivers(dir.path());
    let purge = Purge::new(BAD);
    let (code, out) = apt_install(
        &deb,
        &format!("--waivers {}", path(&waivers)),
        &[],
        &[("SOCLASH_APT_HOOK", "off")],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("SOCLASH_APT_HOOK=off: the pre-upgrade check is skipped for this apt run"),
        "{out}"
    );
    assert!(installed(BAD), "{out}");
    drop(purge);
    assert!(!installed(BAD), "{BAD} was not purged");
    assert!(!Path::new(BAD_SO).exists(), "{BAD_SO} stayed");
}

/// A broken soclash (its waivers file cannot be read) warns and lets apt
/// go on.
#[test]
fn a_broken_hook_warns_and_lets_apt_go_on() {
    as_root();
    let _apt = APT.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempdir();
    let deb = good_package(dir.path());
    // A directory is no waivers file, even for root.
    let unreadable = dir.path().join("waivers.d");
    std::fs::create_dir(&unreadable).expect("dir");
    let purge = Purge::new(GOOD);
    let (code, out) = apt_install(&deb, &format!("--waivers {}", path(&unreadable)), &[], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("soclash: warning: the pre-upgrade check could not be done (")
            && out.contains(path(&unreadable))
            && out.contains("apt goes on unchecked"),
        "{out}"
    );
    assert!(installed(GOOD), "{out}");
    drop(purge);
    assert!(!installed(GOOD), "{GOOD} was not purged");
}
