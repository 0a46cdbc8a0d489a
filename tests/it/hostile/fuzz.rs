//! A fuzzing harness that stays: every reader of untrusted bytes is fed
//! mutants of real inputs (this machine's libraries, ld.so.cache, Debian's
//! Apache and PHP configuration, a package built here, a report soclash
//! wrote) and must return, never panic.
//!
//! CI runs a fixed number of cases per target (`SOCLASH_FUZZ_CASES`,
//! default [`CI_CASES`]) from a fixed seed, so a run is reproducible;
//! `make fuzz` sets `SOCLASH_FUZZ_SECONDS` and a seed from the clock to run
//! each target for that long. A panicking or hanging input is written to
//! `target/fuzz-crashes/` and named in the failure, so it can become a
//! fixture.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use soclash::root::Root;

use crate::common::{SOCLASH, repo, tempdir};

/// Cases per target in CI: enough to reach past the headers of each
/// format in a debug build within a few seconds per target.
const CI_CASES: u64 = 2000;
/// One case that takes longer than this is a hang.
const CASE_DEADLINE: Duration = Duration::from_secs(20);

/// xorshift64*: tiny, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Values that sit on the edges parsers get wrong: zero, one, sign bits,
/// all ones, and sizes just past what a 32-bit count can hold.
const INTERESTING: [u64; 10] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    u64::MAX,
];

/// One mutant of `seed`: a few stacked byte-level edits, sometimes spliced
/// with another seed, never longer than `max_len`.
fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], max_len: usize) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(4) {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())] as u8;
            }
            2 if len >= 8 => {
                // A whole word: counts, offsets and sizes live in words.
                let width = [2usize, 4, 8][rng.below(3)];
                let i = rng.below(len - width + 1) & !(width - 1);
                let v = INTERESTING[rng.below(INTERESTING.len())].to_le_bytes();
                data[i..i + width].copy_from_slice(&v[..width]);
            }
            3 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                data.splice(i..i, bytes);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                data.drain(i..i + n);
            }
            5 if len > 0 => {
                // Repeat a slice: lines, directives and table entries.
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(256));
                let piece = data[i..i + n].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, piece);
            }
            6 if len > 0 => data.truncate(rng.below(len)),
            _ => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() && len > 0 {
                    let from = rng.below(other.len());
                    let n = 1 + rng.below((other.len() - from).min(512));
                    let at = rng.below(len);
                    let end = (at + n).min(len);
                    data.splice(at..end, other[from..from + n].iter().copied());
                }
            }
        }
    }
    data.truncate(max_len);
    data
}

/// How long to fuzz: a case count (CI) or a time (`make fuzz`).
enum Amount {
    Cases(u64),
    For(Duration),
}

fn amount() -> Amount {
    if let Some(s) = std::env::var("SOCLASH_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return Amount::For(Duration::from_secs(s));
    }
    Amount::Cases(
        std::env::var("SOCLASH_FUZZ_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(CI_CASES),
    )
}

fn crash_dir() -> PathBuf {
    repo().join("target/fuzz-crashes")
}

fn save(name: &str, input: &[u8]) -> PathBuf {
    let dir = crash_dir();
    let _ = std::fs::create_dir_all(&dir);
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let at = dir.join(format!("{name}-{hash:016x}"));
    let _ = std::fs::write(&at, input);
    at
}

/// Feeds `target` the seeds, then mutants of them, for the configured
/// amount; fails on the first input that panics or runs past
/// [`CASE_DEADLINE`], saving it.
fn fuzz(name: &'static str, seeds: Vec<Vec<u8>>, max_len: usize, target: impl Fn(&[u8])) {
    assert!(!seeds.is_empty(), "{name}: no seed inputs");
    let seed = std::env::var("SOCLASH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c1a5_u64);
    let mut rng = Rng(seed | 1);
    let current: Arc<Mutex<Vec<u8>>> = Arc::default();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let beat: Arc<Mutex<Instant>> = Arc::new(Mutex::new(Instant::now()));
    let watchdog = {
        let current = Arc::clone(&current);
        let beat = Arc::clone(&beat);
        std::thread::spawn(move || {
            loop {
                if done_rx.recv_timeout(Duration::from_secs(1)).is_ok() {
                    return;
                }
                let since = beat.lock().map(|b| b.elapsed()).unwrap_or_default();
                if since > CASE_DEADLINE {
                    let input = current.lock().map(|c| c.clone()).unwrap_or_default();
                    let at = save(name, &input);
                    eprintln!(
                        "fuzz {name}: one case ran past {CASE_DEADLINE:?}; input saved to {}",
                        at.display()
                    );
                    std::process::abort();
                }
            }
        })
    };
    let started = Instant::now();
    let mut cases = 0u64;
    let mut i = 0usize;
    loop {
        let more = match amount() {
            Amount::Cases(n) => cases < n,
            Amount::For(d) => started.elapsed() < d,
        };
        if !more {
            break;
        }
        let input = if i < seeds.len() {
            seeds[i].clone()
        } else {
            mutate(&mut rng, &seeds, max_len)
        };
        i += 1;
        if let Ok(mut c) = current.lock() {
            c.clone_from(&input);
        }
        if let Ok(mut b) = beat.lock() {
            *b = Instant::now();
        }
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            let at = save(name, &input);
            let _ = done_tx.send(());
            panic!(
                "fuzz {name}: case {cases} (SOCLASH_FUZZ_SEED={seed}) panicked; input saved to {}",
                at.display()
            );
        }
        cases += 1;
    }
    let _ = done_tx.send(());
    let _ = watchdog.join();
    eprintln!(
        "fuzz {name}: {cases} cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(cases as usize >= seeds.len(), "{name}: ran {cases} cases");
}

fn system(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e} (.ci/run installs it)"))
}

/// A scratch root with one file rewritten per case.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new(files: &[(&str, &[u8])]) -> Scratch {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (path, bytes) in files {
            let at = dir.path().join(path.trim_start_matches('/'));
            std::fs::create_dir_all(at.parent().expect("a parent")).expect("mkdir");
            std::fs::write(at, bytes).expect("write");
        }
        Scratch { dir }
    }

    fn put(&self, path: &str, bytes: &[u8]) -> Root {
        std::fs::write(self.dir.path().join(path.trim_start_matches('/')), bytes).expect("write");
        // A fresh root per case: `Root` caches directory resolutions.
        Root::new(self.dir.path()).expect("the scratch root opens")
    }
}

/// Small forms of issue 13's hostile ELF files: repeated note segments,
/// `DT_NEEDED` into a string table without a NUL, a `DT_HASH` that claims
/// 2^32-1 symbols.
fn crafted_elfs(dir: &Path) -> Vec<Vec<u8>> {
    use super::elf::*;
    let at = dir.join("crafted.so");
    let mut out = Vec::new();
    let notes: Vec<Ph> = (0..64).map(|_| Ph(PT_NOTE, 4096, 4096)).collect();
    write_elf(&at, 16 << 10, &notes, &[]);
    out.push(std::fs::read(&at).expect("read"));
    let needed: Vec<(u64, u64)> = (0..64).map(|i| (DT_NEEDED, i)).collect();
    let mut entries = vec![(DT_STRTAB, 8192), (DT_STRSZ, 4096)];
    entries.extend(needed);
    write_elf(
        &at,
        16 << 10,
        &[Ph(PT_DYNAMIC, 4096, 16 * 70)],
        &[(4096, dynamic(&entries)), (8192, vec![b'a'; 4096])],
    );
    out.push(std::fs::read(&at).expect("read"));
    let mut hash = 1u32.to_le_bytes().to_vec();
    hash.extend_from_slice(&u32::MAX.to_le_bytes());
    write_elf(
        &at,
        32 << 10,
        &[Ph(PT_DYNAMIC, 4096, 6 * 16 + 16)],
        &[
            (
                4096,
                dynamic(&[
                    (DT_HASH, 8192),
                    (DT_STRTAB, 8256),
                    (DT_STRSZ, 16),
                    (DT_SYMTAB, 16384),
                    (DT_SYMENT, 24),
                ]),
            ),
            (8192, hash),
            (8256, b"\0libc.so.6\0".to_vec()),
        ],
    );
    out.push(std::fs::read(&at).expect("read"));
    out
}

#[test]
fn elf_facts() {
    let scratch = tempdir();
    let mut seeds = vec![
        system("/usr/lib/x86_64-linux-gnu/libz.so.1"),
        system("/usr/bin/true"),
        system("/lib64/ld-linux-x86-64.so.2"),
    ];
    seeds.extend(crafted_elfs(scratch.path()));
    let at = scratch.path().join("case.so");
    fuzz("elf", seeds, 4 << 20, |bytes| {
        std::fs::write(&at, bytes).expect("write");
        let file = std::fs::File::open(&at).expect("open");
        let _ = soclash::elf::read(file, soclash::elf::Detail::Symbols);
    });
}

#[test]
fn ld_so_cache() {
    fuzz(
        "ld.so.cache",
        vec![system("/etc/ld.so.cache")],
        1 << 20,
        |bytes| {
            if let Ok(cache) = soclash::resolve::cache::LdCache::parse(bytes) {
                for e in cache.entries() {
                    let _ = (e.hwcaps_subdir(), e.isa_level());
                }
                let _ = cache.generator();
            }
        },
    );
}

#[test]
fn apache_config() {
    let conf = system("/etc/apache2/apache2.conf");
    let ports = system("/etc/apache2/ports.conf");
    let scratch = Scratch::new(&[
        ("/etc/apache2/apache2.conf", &conf),
        ("/etc/apache2/ports.conf", &ports),
        (
            "/etc/apache2/mods-enabled/x.load",
            b"LoadModule x_module /x.so\n",
        ),
    ]);
    let seeds = vec![
        conf.clone(),
        b"<IfModule x>\nInclude mods-enabled/*.load\n<IfDefine !Y>\nDefine Z ${Z}${Z}\n</IfDefine>\n</IfModule>\nServerRoot /etc/apache2\nIncludeOptional /etc/apache2/*/*.load\n".to_vec(),
    ];
    fuzz("apache", seeds, 256 << 10, |bytes| {
        let root = scratch.put("/etc/apache2/apache2.conf", bytes);
        let _ = soclash::host::apache::read_config(&root, &Default::default());
    });
}

#[test]
fn apache_envvars() {
    let envvars = system("/etc/apache2/envvars");
    let scratch = Scratch::new(&[("/etc/apache2/envvars", &envvars)]);
    fuzz("envvars", vec![envvars.clone()], 64 << 10, |bytes| {
        let root = scratch.put("/etc/apache2/envvars", bytes);
        let _ = soclash::host::apache::service_env(&root);
    });
}

#[test]
fn php_ini() {
    let ini = system("/etc/php/8.2/apache2/php.ini");
    let scratch = Scratch::new(&[
        ("/etc/php/8.2/apache2/php.ini", &ini),
        ("/etc/php/8.2/apache2/conf.d/20-x.ini", b"extension=x\n"),
    ]);
    let seeds = vec![
        ini.clone(),
        b"[PHP]\nextension=${HOME}/a.so\nzend_extension=\"b\"\nx = (1|2) & ~4\ny[] = ${Z:-w}\n[PATH=/x]\nextension=c\n".to_vec(),
    ];
    let hints = soclash::host::php::PhpHints {
        version: Some("8.2".into()),
        ..Default::default()
    };
    fuzz("php.ini", seeds, 256 << 10, |bytes| {
        let root = scratch.put("/etc/php/8.2/apache2/php.ini", bytes);
        let _ =
            soclash::host::php::php_extensions(&root, soclash::host::php::Sapi::Apache2, &hints);
    });
}

/// A small package in the four compressions `root::deb` reads.
fn debs() -> Vec<Vec<u8>> {
    let tarball = |entries: &[(&str, &[u8])]| {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            // Raw names, so that a hostile `../` path can be written.
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, *data).expect("append");
        }
        b.into_inner().expect("a tarball")
    };
    let control = tarball(&[
        ("./control", b"Package: php8.2-x\nVersion: 1.0-1\n"),
        ("./postinst", b"#!/bin/sh\nphp_invoke enmod 8.2 ALL x\n"),
    ]);
    let data = tarball(&[
        ("./usr/lib/php/20220829/x.so", b"\x7fELF"),
        ("./usr/share/php8.2-x/x/x.ini", b"extension=x.so\n"),
    ]);
    let gz = |bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, bytes).expect("gzip");
        e.finish().expect("gzip")
    };
    let ar = |members: &[(&str, Vec<u8>)]| {
        let mut a = ar::Builder::new(Vec::new());
        for (name, data) in members {
            let h = ar::Header::new(name.as_bytes().to_vec(), data.len() as u64);
            a.append(&h, data.as_slice()).expect("ar");
        }
        a.into_inner().expect("an ar archive")
    };
    let climbing = tarball(&[
        ("./etc/php", b""),
        ("../../escape", b"out"),
        ("./usr/share/x/../../../x", b"out"),
    ]);
    vec![
        ar(&[
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar", control.clone()),
            ("data.tar", data.clone()),
        ]),
        ar(&[
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar", control.clone()),
            ("data.tar", data.clone()),
            ("data.tar", data.clone()),
        ]),
        ar(&[
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar", control.clone()),
            ("data.tar", climbing),
        ]),
        ar(&[
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar.gz", gz(&control)),
            ("data.tar.gz", gz(&data)),
        ]),
        ar(&[
            ("debian-binary", b"2.0\n".to_vec()),
            (
                "control.tar.zst",
                zstd::encode_all(&control[..], 1).expect("zstd"),
            ),
            ("data.tar.xz", {
                let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
                std::io::Write::write_all(&mut e, &data).expect("xz");
                e.finish().expect("xz")
            }),
        ]),
    ]
}

#[test]
fn deb_packages() {
    let scratch = tempdir();
    let deb = scratch.path().join("case.deb");
    fuzz("deb", debs(), 1 << 20, |bytes| {
        std::fs::write(&deb, bytes).expect("write");
        let dest = tempfile::tempdir_in(scratch.path()).expect("tempdir");
        let mut whatif = soclash::root::deb::Unpacked::default();
        let _ = soclash::root::deb::unpack(&deb, dest.path(), &mut whatif);
    });
}

/// The shapes of issue 13's hostile YAML, small: deep flow and block
/// nesting, aliases to aliases.
fn crafted_yaml() -> Vec<Vec<u8>> {
    let flow = format!("id: x\nm: {}{}\n", "[".repeat(300), "]".repeat(300));
    let block = format!("id: x\nm:\n{}\n", "- ".repeat(300) + "x");
    let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f"]
        .windows(2)
        .map(|w| (w[0], w[1]))
    {
        laughs.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 8].join(", ")
        ));
    }
    vec![flow.into_bytes(), block.into_bytes(), laughs.into_bytes()]
}

#[test]
fn signatures() {
    let dir = repo().join("signatures");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("signatures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| std::fs::read(p).expect("a signature"))
        .collect();
    seeds.sort();
    seeds.truncate(8);
    seeds.extend(crafted_yaml());
    fuzz("signature", seeds, 1 << 20, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let _ = soclash::rules::signature::parse(Path::new("case.yaml"), &text);
    });
}

#[test]
fn reports() {
    // A report soclash wrote of a sample root with findings, in both forms.
    let root = repo().join("target/sample-roots/bind/c-deepbind/root");
    assert!(root.is_dir(), "{}: run `make sample-libs`", root.display());
    let write = |format: &str| {
        let out = std::process::Command::new(SOCLASH)
            .args(["scan", "--root"])
            .arg(&root)
            .args(["--format", format])
            .output()
            .expect("soclash runs");
        assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
        out.stdout
    };
    let mut seeds = vec![write("yaml"), write("json")];
    seeds.extend(crafted_yaml());
    let scratch = tempdir();
    let at = scratch.path().join("case.yaml");
    fuzz("report", seeds, 1 << 20, |bytes| {
        std::fs::write(&at, bytes).expect("write");
        let _ = soclash::report::diff::read_report(&at);
    });
}

/// The harness itself can fail: a reader that panics on a mutant is caught
/// and named.
#[test]
#[should_panic(expected = "panicked; input saved to")]
fn a_panicking_reader_fails_the_run() {
    fuzz("self-test", vec![b"abc".to_vec()], 64, |bytes| {
        assert!(bytes == b"abc" || bytes.len() < 3, "a mutant");
    });
}

/// An installed rpm header as rpm stores it in `Packages.blob`: entries
/// (tag, type, offset, count), then their data (name, version, release,
/// one file as dir index, base name, dir name).
fn rpm_header(name: &str, dir: &str, base: &str) -> Vec<u8> {
    let mut entries: Vec<[u32; 4]> = Vec::new();
    let mut data = Vec::new();
    let mut add = |tag: u32, kind: u32, count: u32, bytes: &[u8]| {
        entries.push([tag, kind, data.len() as u32, count]);
        data.extend_from_slice(bytes);
    };
    add(1000, 6, 1, format!("{name}\0").as_bytes());
    add(1001, 6, 1, b"1.0\0");
    add(1002, 6, 1, b"1.el9\0");
    add(1003, 4, 1, &1u32.to_be_bytes());
    add(1116, 4, 1, &0u32.to_be_bytes());
    add(1117, 8, 1, format!("{base}\0").as_bytes());
    add(1118, 8, 1, format!("{dir}\0").as_bytes());
    let mut blob = (entries.len() as u32).to_be_bytes().to_vec();
    blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
    for e in entries {
        for v in e {
            blob.extend_from_slice(&v.to_be_bytes());
        }
    }
    blob.extend_from_slice(&data);
    blob
}

/// The rpm header parser, through the whole path a scan takes: a root
/// whose rpmdb.sqlite holds the mutant as its one package.
#[test]
fn rpm_headers() {
    let scratch = tempdir();
    let root_dir = scratch.path();
    std::fs::create_dir_all(root_dir.join("usr/lib64")).expect("mkdir");
    std::fs::create_dir_all(root_dir.join("var/lib/rpm")).expect("mkdir");
    std::fs::write(root_dir.join("usr/lib64/libx.so"), b"x").expect("write");
    let files: std::collections::BTreeSet<PathBuf> = [PathBuf::from("/usr/lib64/libx.so")].into();
    let db = root_dir.join("var/lib/rpm/rpmdb.sqlite");
    let seeds = vec![
        rpm_header("libx", "/usr/lib64/", "libx.so"),
        rpm_header("x", "/usr/lib64/../lib64/", "libx.so"),
    ];
    fuzz("rpm-header", seeds, 64 << 10, |blob| {
        let _ = std::fs::remove_file(&db);
        let c = rusqlite::Connection::open(&db).expect("a database");
        c.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; \
             CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
        )
        .expect("rpm's schema");
        c.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob])
            .expect("a row");
        drop(c);
        let root = Root::new(root_dir).expect("the root opens");
        let _ = soclash::host::packages::owners(&root, &files);
    });
}
