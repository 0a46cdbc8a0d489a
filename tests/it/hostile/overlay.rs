//! Hostile overlay input (issue 13): `.deb` packages whose files, links
//! and maintainer scripts try to make the what-if write outside its private
//! temporary directory, `.deb` bombs, and runs that end by a signal.
//!
//! Every case points `TMPDIR` at a directory of its own, so what soclash
//! leaves behind can be listed, and keeps a canary tree outside the audited
//! root that must be the same after the run.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::harness::{self, DEADLINE, DEB_DEADLINE, Run};

use crate::common::strace::Syscall;
use crate::common::{SOCLASH, tempdir};

/// A tar archive built entry by entry.
struct Tar(tar::Builder<Vec<u8>>);

impl Tar {
    fn new() -> Tar {
        Tar(tar::Builder::new(Vec::new()))
    }

    fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h
    }

    fn dir(&mut self, path: &str) -> &mut Tar {
        let mut h = Tar::header(tar::EntryType::Directory, 0, 0o755);
        self.0.append_data(&mut h, path, &[][..]).unwrap();
        self
    }

    fn file(&mut self, path: &str, data: &[u8]) -> &mut Tar {
        let mut h = Tar::header(tar::EntryType::Regular, data.len() as u64, 0o644);
        self.0.append_data(&mut h, path, data).unwrap();
        self
    }

    /// A regular file of `size` zero bytes, streamed.
    fn zeros(&mut self, path: &str, size: u64) -> &mut Tar {
        let mut h = Tar::header(tar::EntryType::Regular, size, 0o644);
        self.0
            .append_data(&mut h, path, std::io::Read::take(std::io::repeat(0), size))
            .unwrap();
        self
    }

    /// A header that claims `size` bytes and no data after it: the reader
    /// must refuse it by the header alone.
    fn claims(&mut self, path: &str, size: u64) -> &mut Tar {
        let mut h = Tar::header(tar::EntryType::Regular, size, 0o644);
        h.set_path(path).unwrap();
        h.set_cksum();
        self.0.get_mut().extend_from_slice(h.as_bytes());
        self
    }

    fn symlink(&mut self, path: &str, target: &str) -> &mut Tar {
        let mut h = Tar::header(tar::EntryType::Symlink, 0, 0o777);
        self.0.append_link(&mut h, path, target).unwrap();
        self
    }

    fn fifo(&mut self, path: &str) -> &mut Tar {
        let mut h = Tar::header(tar::EntryType::Fifo, 0, 0o644);
        self.0.append_data(&mut h, path, &[][..]).unwrap();
        self
    }

    fn finish(&mut self) -> Vec<u8> {
        let b = std::mem::replace(&mut self.0, tar::Builder::new(Vec::new()));
        b.into_inner().unwrap()
    }
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn control(package: &str, postinst: &str) -> Vec<u8> {
    let text = format!("Package: {package}\nVersion: 1.0-1\nArchitecture: amd64\n");
    let mut t = Tar::new();
    t.dir("./").file("./control", text.as_bytes());
    if !postinst.is_empty() {
        t.file("./postinst", postinst.as_bytes());
    }
    gz(&t.finish())
}

/// An `ar` archive of `members`, in order.
fn ar(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut a = ar::Builder::new(Vec::new());
    for (name, data) in members {
        let h = ar::Header::new(name.as_bytes().to_vec(), data.len() as u64);
        a.append(&h, data.as_slice()).unwrap();
    }
    a.into_inner().unwrap()
}

/// A well-formed package with `data` (an uncompressed tar) as its files.
fn deb(package: &str, postinst: &str, data: &[u8]) -> Vec<u8> {
    ar(&[
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.gz", control(package, postinst)),
        ("data.tar.gz", gz(data)),
    ])
}

/// A test's directories: the audited root (a small web stack), a canary
/// tree beside it, and the `TMPDIR` soclash is given.
struct Case {
    dir: tempfile::TempDir,
    /// soclash's `TMPDIR`.
    tmp: PathBuf,
    _tmpfs: Option<tempfile::TempDir>,
}

impl Case {
    fn new() -> Case {
        let dir = tempdir();
        let p = dir.path();
        for d in [
            "root/etc/php/8.2/apache2/conf.d",
            "root/etc/php/8.2/cli/conf.d",
            "root/etc/php/8.2/mods-available",
            "root/etc/apache2/mods-available",
            "root/etc/apache2/mods-enabled",
            "root/usr/lib",
            "canary/dir/sub",
            "tmp",
        ] {
            std::fs::create_dir_all(p.join(d)).unwrap();
        }
        std::fs::write(p.join("canary/file"), "canary\n").unwrap();
        std::fs::write(p.join("canary/dir/sub/inner"), "inner\n").unwrap();
        std::fs::write(p.join("canary/dir/secret.load"), "# Depends: evil\n").unwrap();
        let tmp = p.join("tmp");
        Case {
            dir,
            tmp,
            _tmpfs: None,
        }
    }

    /// A case whose `TMPDIR` is on tmpfs (`/dev/shm`) where there is one:
    /// creating 160,000 files costs a loaded CI disk more than the
    /// deadline, and what is tested is soclash's own work.
    fn on_tmpfs() -> Case {
        let mut case = Case::new();
        if let Ok(shm) = tempfile::tempdir_in("/dev/shm") {
            case.tmp = shm.path().to_path_buf();
            case._tmpfs = Some(shm);
        }
        case
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn canary(&self) -> String {
        self.path("canary").display().to_string()
    }

    fn write_deb(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// The canary tree: listing and contents.
    fn snapshot(&self) -> Vec<String> {
        let mut out = harness::listing(&self.path("canary"));
        for e in walkdir::WalkDir::new(self.path("canary")).sort_by_file_name() {
            let e = e.unwrap();
            if e.file_type().is_file() {
                out.push(format!(
                    "{}: {}",
                    e.path().display(),
                    String::from_utf8_lossy(&std::fs::read(e.path()).unwrap())
                ));
            }
        }
        out
    }

    fn tmp_listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.tmp)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn args<'a>(&'a self, root: &'a str, debs: &'a [String]) -> Vec<&'a str> {
        let mut args = vec!["scan", "--root", root, "--format", "json"];
        for d in debs {
            args.push("--overlay-deb");
            args.push(d);
        }
        args
    }

    /// Runs a what-if of the root with `debs`, with `TMPDIR` the case's.
    fn run(&self, debs: &[PathBuf], deadline: Duration) -> Run {
        let root = self.path("root").display().to_string();
        let debs: Vec<String> = debs.iter().map(|d| d.display().to_string()).collect();
        let tmp = self.tmp.display().to_string();
        harness::run(
            self.dir.path(),
            &self.args(&root, &debs),
            &[("TMPDIR", &tmp)],
            deadline,
        )
    }

    /// Runs the what-if and checks that it was bounded, changed nothing in
    /// the canary tree and left no temporary file.
    fn run_contained(&self, debs: &[PathBuf], deadline: Duration) -> Run {
        let before = self.snapshot();
        let run = self.run(debs, deadline);
        eprintln!(
            "exit {:?} in {:.2} s, peak RSS {} MB",
            run.code, run.secs, run.peak_rss_mb
        );
        run.assert_bounded(deadline);
        assert_eq!(
            self.snapshot(),
            before,
            "the canary tree changed: {}",
            run.stderr
        );
        assert!(
            self.tmp_listing().is_empty(),
            "left behind: {:?}",
            self.tmp_listing()
        );
        run
    }
}

const EVIL_INI: &[u8] = b"; priority=20\nextension=evil.so\n";

/// Climbs above `/` from any depth, then names `abs`: a relative link that
/// reaches `abs` wherever the package is unpacked.
fn climbing(abs: &str) -> String {
    format!("{}{}", "../".repeat(40), abs.trim_start_matches('/'))
}

/// The package's `mods-available/evil.ini` is a symlink to a file outside
/// (by absolute and by climbing relative target) and its postinst enables
/// `evil`: ucf's copy of the shipped ini must not land on the link's target.
#[test]
fn a_symlinked_ini_overwrites_nothing() {
    let case = Case::new();
    let canary_file = format!("{}/file", case.canary());
    for (n, target) in [canary_file.clone(), climbing(&canary_file)]
        .iter()
        .enumerate()
    {
        let data = Tar::new()
            .dir("./usr/share/php-evil/evil/")
            .file("./usr/share/php-evil/evil/evil.ini", EVIL_INI)
            .dir("./etc/php/8.2/mods-available/")
            .symlink("./etc/php/8.2/mods-available/evil.ini", target)
            .finish();
        let d = case.write_deb(
            &format!("evil{n}.deb"),
            &deb("php-evil", "php_invoke enmod 8.2 apache2 evil\n", &data),
        );
        case.run_contained(&[d], DEADLINE);
    }
}

/// `etc/php` is a symlink to a directory outside: the modelled ini copy and
/// conf.d link must not be created there.
#[test]
fn a_symlinked_config_directory_gains_nothing() {
    let case = Case::new();
    let dir = format!("{}/dir", case.canary());
    for (n, target) in [dir.clone(), climbing(&dir)].iter().enumerate() {
        let data = Tar::new()
            .dir("./etc/")
            .symlink("./etc/php", target)
            .dir("./usr/share/php-evil/evil/")
            .file("./usr/share/php-evil/evil/evil.ini", EVIL_INI)
            .finish();
        let d = case.write_deb(
            &format!("evil{n}.deb"),
            &deb("php-evil", "php_invoke enmod 8.2 ALL evil\n", &data),
        );
        case.run_contained(&[d], DEADLINE);
    }
}

/// `mods-enabled` is a symlink to a directory outside, and the module's
/// `.load` file is read through a link to a file outside: `a2enmod`'s
/// links must not be created there.
#[test]
fn a_symlinked_mods_enabled_gains_nothing() {
    let case = Case::new();
    let dir = format!("{}/dir", case.canary());
    let data = Tar::new()
        .dir("./etc/apache2/")
        .symlink("./etc/apache2/mods-enabled", &dir)
        .dir("./etc/apache2/mods-available/")
        .file(
            "./etc/apache2/mods-available/evil.load",
            b"LoadModule evil_module /usr/lib/apache2/modules/mod_evil.so\n",
        )
        .file("./etc/apache2/mods-available/evil.conf", b"\n")
        .symlink(
            "./etc/apache2/mods-available/other.load",
            &format!("{dir}/secret.load"),
        )
        .finish();
    let d = case.write_deb(
        "evil.deb",
        &deb(
            "apache-evil",
            "apache2_invoke enmod evil\napache2_invoke enmod other\n",
            &data,
        ),
    );
    case.run_contained(&[d], DEADLINE);
}

/// A second `control.tar` (dpkg-deb refuses it), a second `data.tar`
/// (dpkg-deb skips it) and a `data.tar` before the `control.tar` are
/// refused before anything is unpacked.
#[test]
fn a_second_data_member_is_refused() {
    let case = Case::new();
    let dir = format!("{}/dir", case.canary());
    let evil = Tar::new()
        .symlink("./etc", &dir)
        .file("./etc/written", b"x")
        .finish();
    let fine = Tar::new().dir("./usr/").finish();
    for members in [
        vec![
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar.gz", control("x", "")),
            ("data.tar.gz", gz(&fine)),
            ("data.tar.gz", gz(&evil)),
        ],
        vec![
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar.gz", control("x", "")),
            ("control.tar.gz", control("y", "")),
            ("data.tar.gz", gz(&fine)),
        ],
        vec![
            ("debian-binary", b"2.0\n".to_vec()),
            ("data.tar.gz", gz(&fine)),
            ("control.tar.gz", control("x", "")),
        ],
    ] {
        let d = case.write_deb("two.deb", &ar(&members));
        let run = case.run_contained(&[d], DEADLINE);
        assert_eq!(run.code, Some(2), "{run:#?}");
        assert!(run.stderr.contains("cannot unpack"), "{}", run.stderr);
    }
}

/// Three data members of 64 MiB each (a few hundred KiB compressed): the
/// layout is refused before any member is unpacked.
#[test]
fn three_data_members_unpack_nothing() {
    let case = Case::new();
    let member = gz(&Tar::new().zeros("./zeros", 64 << 20).finish());
    let d = case.write_deb(
        "three.deb",
        &ar(&[
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar.gz", control("x", "")),
            ("data.tar.gz", member.clone()),
            ("data.tar.gz", member.clone()),
            ("data.tar.gz", member),
        ]),
    );
    let run = case.run_contained(&[d], DEB_DEADLINE);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(
        run.stderr.contains("second data.tar member"),
        "{}",
        run.stderr
    );
}

/// 160,000 files in one directory: unpacked and laid in linear time.
#[test]
fn many_files_in_one_directory_are_laid_in_time() {
    let case = Case::on_tmpfs();
    let mut t = Tar::new();
    t.dir("./usr/").dir("./usr/share/").dir("./usr/share/many/");
    for i in 0..160_000 {
        t.file(&format!("./usr/share/many/f{i}"), b"");
    }
    let d = case.write_deb("many.deb", &deb("many", "", &t.finish()));
    let run = case.run_contained(&[d], DEB_DEADLINE);
    run.assert_scanned();
}

/// More entries than `DEB_ENTRIES` (FIFOs, which are counted but never
/// created): refused, naming the budget.
#[test]
fn entries_over_budget_are_refused() {
    let case = Case::new();
    let mut t = Tar::new();
    t.dir("./usr/");
    for i in 0..=soclash::budget::DEB_ENTRIES {
        t.fifo(&format!("./usr/p{i}"));
    }
    let d = case.write_deb("entries.deb", &deb("entries", "", &t.finish()));
    let run = case.run_contained(&[d], DEB_DEADLINE);
    assert_eq!(run.code, Some(2), "{run:#?}");
    run.assert_names_budget("DEB_ENTRIES");
}

/// Three packages each within `DEB_ENTRIES` but together over
/// `WHATIF_ENTRIES`: the what-if is refused, naming the budget.
#[test]
fn whatif_entries_over_budget_are_refused() {
    let case = Case::new();
    let mut t = Tar::new();
    t.dir("./usr/");
    for i in 1..soclash::budget::DEB_ENTRIES {
        t.fifo(&format!("./usr/p{i}"));
    }
    let bytes = deb("entries", "", &t.finish());
    let n = soclash::budget::WHATIF_ENTRIES / soclash::budget::DEB_ENTRIES + 1;
    let debs: Vec<PathBuf> = (0..n)
        .map(|i| case.write_deb(&format!("e{i}.deb"), &bytes))
        .collect();
    let run = case.run_contained(&debs, DEB_DEADLINE);
    assert_eq!(run.code, Some(2), "{run:#?}");
    run.assert_names_budget("WHATIF_ENTRIES");
}

/// A small package whose second file claims more than `DEB_UNPACKED`
/// bytes: refused by its header, before anything more is written.
#[test]
fn bytes_over_budget_are_refused() {
    let case = Case::new();
    let data = Tar::new()
        .dir("./usr/")
        .zeros("./usr/first", 1 << 20)
        .claims("./usr/huge", soclash::budget::DEB_UNPACKED)
        .finish();
    let d = case.write_deb("bytes.deb", &deb("bytes", "", &data));
    assert!(std::fs::metadata(&d).unwrap().len() < 64 << 10);
    let run = case.run_contained(&[d], DEB_DEADLINE);
    assert_eq!(run.code, Some(2), "{run:#?}");
    run.assert_names_budget("DEB_UNPACKED");
}

/// A 6 MiB postinst of 100,000 helper calls, each on a loop variable of
/// its own: modelled within `MAINTSCRIPT_CALLS`, the budget named in the
/// layer's label.
#[test]
fn a_huge_postinst_is_bounded() {
    let case = Case::new();
    let script: String = (0..100_000)
        .map(|i| format!("for v{i} in m{i}; do\n php_invoke enmod 8.2 ALL $v{i}\ndone\n"))
        .collect();
    let data = Tar::new().dir("./usr/").finish();
    let d = case.write_deb("postinst.deb", &deb("postinst", &script, &data));
    let run = case.run_contained(&[d], DEADLINE);
    run.assert_scanned();
    run.assert_names_budget("MAINTSCRIPT_CALLS");
}

/// A control file of 500,000 dependencies (8 MB, within `DEB_CONTROL`),
/// every one missing: checked within `DEPENDS_ATOMS`, the rest named as
/// not checked, the report's lines short.
#[test]
fn a_huge_depends_field_is_bounded() {
    let case = Case::new();
    let depends: Vec<String> = (0..500_000).map(|i| format!("p{i} (>= {i})")).collect();
    let text = format!(
        "Package: deps\nVersion: 1.0-1\nArchitecture: amd64\nDepends: {}\n",
        depends.join(", ")
    );
    let mut t = Tar::new();
    t.dir("./").file("./control", text.as_bytes());
    let d = case.write_deb(
        "deps.deb",
        &ar(&[
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar.gz", gz(&t.finish())),
            ("data.tar.gz", gz(&Tar::new().dir("./usr/").finish())),
        ]),
    );
    let run = case.run_contained(&[d], DEADLINE);
    assert_eq!(run.code, Some(2), "{run:#?}");
    run.assert_names_budget("DEPENDS_ATOMS");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("a report");
    let unmet = report["overlay"]["unmet"][0].as_str().expect("unmet");
    assert!(unmet.len() < 2000, "{} bytes", unmet.len());
    assert!(unmet.starts_with("deps needs p0, p1,"), "{}", &unmet[..100]);
}

/// A package slow to unpack (100,000 files), for the signal cases.
fn slow_deb(case: &Case) -> PathBuf {
    let mut t = Tar::new();
    t.dir("./usr/");
    for d in 0..100 {
        t.dir(&format!("./usr/d{d}/"));
        for f in 0..1000 {
            t.file(&format!("./usr/d{d}/f{f}"), b"x");
        }
    }
    case.write_deb("slow.deb", &deb("slow", "", &t.finish()))
}

/// Starts soclash on `deb` and waits until its temporary directory is
/// there; returns the child.
fn start_and_wait_for_temp(case: &Case, deb: &Path) -> std::process::Child {
    let root = case.path("root");
    let child = Command::new(SOCLASH)
        .args(["scan", "--format", "json", "--root"])
        .arg(&root)
        .arg("--overlay-deb")
        .arg(deb)
        .env("TMPDIR", &case.tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let prefix = format!("soclash-{}-", child.id());
    let start = Instant::now();
    while !case.tmp_listing().iter().any(|n| n.starts_with(&prefix)) {
        assert!(
            start.elapsed() < DEADLINE,
            "no temporary directory: {:?}",
            case.tmp_listing()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Well into the unpacking.
    std::thread::sleep(Duration::from_millis(300));
    child
}

fn wait_with_deadline(child: &mut std::process::Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("soclash did not end after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGINT and SIGTERM during the unpacking: the temporary directory is
/// removed and soclash ends by the signal, as a shell expects.
#[test]
fn a_signal_mid_unpack_removes_the_temporary_directory() {
    use std::os::unix::process::ExitStatusExt;
    let case = Case::new();
    let deb = slow_deb(&case);
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let mut child = start_and_wait_for_temp(&case, &deb);
        // SAFETY: kill(2) on our own running child.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
        let status = wait_with_deadline(&mut child);
        assert!(
            status.signal() == Some(sig) || status.code() == Some(128 + sig),
            "signal {sig}: {status:?}"
        );
        assert!(
            case.tmp_listing().is_empty(),
            "signal {sig} left {:?}",
            case.tmp_listing()
        );
    }
}

/// A SIGKILLed run leaves its directory; the next run removes it, and only
/// what soclash owns: not a live process's, not one of another mode, not
/// a symlink, not another program's.
#[test]
fn a_killed_runs_directory_is_swept_by_the_next() {
    let case = Case::new();
    let slow = slow_deb(&case);
    let mut child = start_and_wait_for_temp(&case, &slow);
    child.kill().unwrap();
    child.wait().unwrap();
    let stale = case.tmp_listing();
    assert_eq!(stale.len(), 1, "{stale:?}");

    let dead = {
        let mut c = Command::new("true").spawn().unwrap();
        c.wait().unwrap();
        c.id()
    };
    let tmp = case.tmp.clone();
    let mk = |name: &str, mode: u32| {
        let p = tmp.join(name);
        std::fs::create_dir(&p).unwrap();
        std::fs::write(p.join("keep"), "").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mk(&format!("soclash-{dead}-stale"), 0o700);
    mk(&format!("soclash-{dead}-open"), 0o755);
    mk(&format!("soclash-{}-live", std::process::id()), 0o700);
    mk(&format!("other-{dead}-x"), 0o700);
    mk(&format!("soclash-x{dead}-x"), 0o700);
    std::os::unix::fs::symlink(
        case.path("canary/dir"),
        tmp.join(format!("soclash-{dead}-link")),
    )
    .unwrap();

    let small = case.write_deb(
        "small.deb",
        &deb("small", "", &Tar::new().dir("./usr/").finish()),
    );
    let before = case.snapshot();
    let run = case.run(&[small], DEADLINE);
    run.assert_bounded(DEADLINE);
    assert_eq!(case.snapshot(), before);
    let mut want = vec![
        format!("other-{dead}-x"),
        format!("soclash-{dead}-link"),
        format!("soclash-{dead}-open"),
        format!("soclash-{}-live", std::process::id()),
        format!("soclash-x{dead}-x"),
    ];
    want.sort();
    assert_eq!(case.tmp_listing(), want);
}

/// Every write-like file system call of the what-if, as `strace -f -y`
/// shows it, must be inside soclash's own temporary directory, and no file
/// outside the root may be opened at all.
#[test]
fn strace_sees_no_write_outside_the_temporary_directory() {
    let case = Case::new();
    let canary = case.canary();
    let data = Tar::new()
        .dir("./usr/share/php-evil/evil/")
        .file("./usr/share/php-evil/evil/evil.ini", EVIL_INI)
        .dir("./etc/php/8.2/mods-available/")
        .symlink(
            "./etc/php/8.2/mods-available/evil.ini",
            &format!("{canary}/file"),
        )
        .dir("./etc/apache2/")
        .symlink("./etc/apache2/mods-enabled", &format!("{canary}/dir"))
        .dir("./etc/apache2/mods-available/")
        .file(
            "./etc/apache2/mods-available/evil.load",
            b"LoadModule evil_module /usr/lib/apache2/modules/mod_evil.so\n",
        )
        .finish();
    let d = case.write_deb(
        "evil.deb",
        &deb(
            "php-evil",
            "php_invoke enmod 8.2 apache2 evil\napache2_invoke enmod evil\n",
            &data,
        ),
    );
    let log = case.path("strace.log");
    let tmp = case.tmp.clone();
    let status = Command::new("strace")
        .args(["-f", "-y", "-qq", "-s", "4096", "-e", "trace=%file", "-o"])
        .arg(&log)
        .arg(SOCLASH)
        .args(["scan", "--format", "json", "--root"])
        .arg(case.path("root"))
        .arg("--overlay-deb")
        .arg(&d)
        .env("TMPDIR", &tmp)
        .current_dir(case.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("strace runs (apt-get install strace)");
    assert!(matches!(status.code(), Some(0..=2)), "{status:?}");
    let log = std::fs::read_to_string(&log).unwrap();
    let inside = format!("{}/soclash-", tmp.display());
    let mut writes = 0;
    let mut bad = Vec::new();
    for line in log.lines() {
        let Some(call) = Syscall::parse(line) else {
            continue;
        };
        if call
            .ret_fd_path
            .as_deref()
            .is_some_and(|p| p.starts_with(&canary))
        {
            bad.push(format!("opened outside: {line}"));
        }
        for path in call.written_paths(case.dir.path()) {
            writes += 1;
            if !path.starts_with(&inside) {
                bad.push(format!("{path}: {line}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "writes outside {inside}:\n{}",
        bad.join("\n")
    );
    assert!(
        writes > 0,
        "no write seen at all: is strace's log parsed?\n{log}"
    );
    assert!(case.tmp_listing().is_empty(), "{:?}", case.tmp_listing());
}
