//! Bad input is normal input: truncated, corrupt, hostile and odd files must
//! give a specific error or a `problems` entry, never a panic, a hang or an
//! allocation out of proportion to the file.
//!
//! Fixtures are real libraries of this machine patched at offsets found by
//! parsing them with goblin (never hard-coded), small files written by hand,
//! and libraries built with gcc. Tests whose failure mode is unbounded work
//! run in a child process of this test binary under an address-space limit
//! and a deadline (see [`isolated`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, symlink};
use std::os::unix::process::CommandExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use soclash::elf::{self, Class, Detail, ElfFacts, Error, RelocClass};
use soclash::root::{Kind, Root, RootError};

use crate::common::tempdir;

const LIBZ: &str = "/usr/lib/x86_64-linux-gnu/libz.so.1";
const LIBC_SCRIPT: &str = "/usr/lib/x86_64-linux-gnu/libc.so";
const LIBCRYPTO: &str = "/usr/lib/x86_64-linux-gnu/libcrypto.so.3";
const RTLD: &str = "/lib64/ld-linux-x86-64.so.2";
const DETAILS: [Detail; 2] = [Detail::Linking, Detail::Symbols];

const DT_NEEDED: u64 = 1;
const DT_PLTRELSZ: u64 = 2;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_RELASZ: u64 = 8;
const DT_STRSZ: u64 = 10;
const DT_SYMENT: u64 = 11;
const DT_GNU_HASH: u64 = 0x6fff_fef5;
const DT_VERDEF: u64 = 0x6fff_fffc;
const DT_VERDEFNUM: u64 = 0x6fff_fffd;
const DT_VERNEED: u64 = 0x6fff_fffe;
const DT_VERNEEDNUM: u64 = 0x6fff_ffff;

// ---------------------------------------------------------------------------
// Fixtures and helpers.

fn system_file(path: &str, package: &str) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| {
        panic!("cannot read {path} ({e}): .ci/run must install the {package} package")
    })
}

fn libz() -> Vec<u8> {
    system_file(LIBZ, "zlib1g")
}

/// Where things are in a 64-bit little-endian ELF file, from goblin.
struct Layout {
    phoff: usize,
    phnum: usize,
    phentsize: usize,
    /// (file offset, size) of PT_DYNAMIC.
    dynamic: (usize, usize),
    /// (file offset, size) of the first PT_NOTE.
    note: (usize, usize),
    /// (d_tag, file offset of d_val) of each `.dynamic` entry.
    dyns: Vec<(u64, usize)>,
    /// (p_vaddr, p_offset, p_filesz) of each PT_LOAD, and the offset of its
    /// program header.
    loads: Vec<(u64, u64, u64, usize)>,
    /// File offsets of tables the dynamic section points to.
    strtab: usize,
    gnu_hash: usize,
    verneed: usize,
    relasz: usize,
}

fn layout(bytes: &[u8]) -> Layout {
    use goblin::elf::program_header::{PT_DYNAMIC, PT_LOAD, PT_NOTE};
    let g = goblin::elf::Elf::parse(bytes).expect("goblin parses the fixture");
    assert!(g.is_64 && g.little_endian, "fixture must be ELF64 LSB");
    let phoff = g.header.e_phoff as usize;
    let phentsize = usize::from(g.header.e_phentsize);
    let ph = |t: u32| {
        g.program_headers
            .iter()
            .find(|p| p.p_type == t)
            .map(|p| (p.p_offset as usize, p.p_filesz as usize))
    };
    let dynamic = ph(PT_DYNAMIC).expect("fixture has PT_DYNAMIC");
    let d = g.dynamic.as_ref().expect("fixture has .dynamic");
    let dyns = d
        .dyns
        .iter()
        .enumerate()
        .map(|(i, e)| (e.d_tag, dynamic.0 + i * 16 + 8))
        .collect();
    let loads = g
        .program_headers
        .iter()
        .enumerate()
        .filter(|(_, p)| p.p_type == PT_LOAD)
        .map(|(i, p)| (p.p_vaddr, p.p_offset, p.p_filesz, phoff + i * phentsize))
        .collect();
    Layout {
        phoff,
        phnum: usize::from(g.header.e_phnum),
        phentsize,
        dynamic,
        note: ph(PT_NOTE).unwrap_or((0, 0)),
        dyns,
        loads,
        strtab: d.info.strtab,
        gnu_hash: d.info.gnu_hash.unwrap_or(0) as usize,
        verneed: d.info.verneed as usize,
        relasz: d.info.relasz,
    }
}

impl Layout {
    fn dyn_val(&self, tag: u64) -> usize {
        self.dyns
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, o)| *o)
            .unwrap_or_else(|| panic!("fixture has no dynamic tag {tag:#x}"))
    }
}

fn put_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}
fn get_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

/// libz with one dynamic entry's value replaced.
fn libz_with_dyn(tag: u64, val: u64) -> Vec<u8> {
    let mut b = libz();
    let l = layout(&b);
    put_u64(&mut b, l.dyn_val(tag), val);
    b
}

/// `elf::read` of bytes through an anonymous temporary file; a panic is
/// reported with what was being read.
fn read_bytes(bytes: &[u8], detail: Detail, what: &str) -> Result<ElfFacts, Error> {
    let mut f = tempfile::tempfile().expect("temporary file");
    f.write_all(bytes).expect("write temporary file");
    match catch_unwind(AssertUnwindSafe(|| elf::read(f, detail))) {
        Ok(r) => r,
        Err(p) => panic!(
            "elf::read panicked on {what} ({detail:?}): {}",
            panic_text(&p)
        ),
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Both detail levels must read the file and report a problem containing
/// `needle`; returns the `Detail::Symbols` facts.
fn expect_problem(bytes: &[u8], what: &str, needle: &str) -> ElfFacts {
    let mut last = None;
    for detail in DETAILS {
        let f = read_bytes(bytes, detail, what).unwrap_or_else(|e| {
            panic!("{what} ({detail:?}): expected facts with a problem, got {e:?}")
        });
        assert!(
            has_problem(&f, needle),
            "{what} ({detail:?}): expected a problem containing {needle:?}, got {:?}",
            f.problems
        );
        last = Some(f);
    }
    last.unwrap()
}

/// Only `Detail::Symbols` reads the symbol-level tables.
fn expect_symbol_problem(bytes: &[u8], what: &str, needle: &str) -> ElfFacts {
    let linking = read_bytes(bytes, Detail::Linking, what)
        .unwrap_or_else(|e| panic!("{what} (Linking): {e:?}"));
    assert!(
        linking.problems.is_empty(),
        "{what} (Linking) reads no symbol table, yet: {:?}",
        linking.problems
    );
    assert_eq!(
        linking.needed,
        ["libc.so.6"],
        "{what}: DT_NEEDED still read"
    );
    let f = read_bytes(bytes, Detail::Symbols, what)
        .unwrap_or_else(|e| panic!("{what} (Symbols): {e:?}"));
    assert!(
        has_problem(&f, needle),
        "{what} (Symbols): expected a problem containing {needle:?}, got {:?}",
        f.problems
    );
    assert_eq!(f.needed, ["libc.so.6"], "{what}: DT_NEEDED still read");
    f
}

fn bytes(s: &Option<bstr::BString>) -> Option<&[u8]> {
    s.as_ref().map(|s| s.as_slice())
}

fn has_problem(f: &ElfFacts, needle: &str) -> bool {
    f.problems.iter().any(|p| p.contains(needle))
}

/// Runs `body` in a child process of this test binary, limited to `mem`
/// bytes of address space and `secs` seconds, so that a hang or a runaway
/// allocation fails this test instead of the machine.
fn isolated(name: &str, secs: u64, mem: u64, body: impl FnOnce()) {
    const CHILD: &str = "SOCLASH_BAD_INPUT_CHILD";
    if std::env::var(CHILD).as_deref() == Ok(name) {
        body();
        return;
    }
    let exe = std::env::current_exe().expect("test binary path");
    // libtest names the test by its module path below the crate root.
    let test = match module_path!().split_once("::") {
        Some((_, module)) => format!("{module}::{name}"),
        None => name.to_string(),
    };
    let mut cmd = Command::new(exe);
    cmd.args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the hook.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: mem,
                rlim_max: mem,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn the test binary");
    let drain = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as _));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as _));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for the child") {
            break Some(s);
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    match status {
        None => panic!(
            "{name}: not finished after {secs} s (unbounded work on bad input)\n{out}\n{err}"
        ),
        Some(s) if !s.success() => panic!(
            "{name}: failed in its child process ({s}; a limit of {} MiB of address space \
             applies, an abort means an allocation beyond it):\n{out}\n{err}",
            mem >> 20
        ),
        Some(_) => assert!(
            out.contains("1 passed"),
            "{name}: the child did not run the test:\n{out}\n{err}"
        ),
    }
}

/// Runs `f` on another thread and fails if it takes longer than `secs`.
fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("{what}: blocked or hung for {secs} s"))
}

fn tool(name: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|c| c.is_file())
    });
    found.unwrap_or_else(|| panic!("{name} not found: .ci/run must install the {package} package"))
}

/// Runs gcc in `dir`; fails the test with gcc's message on error.
fn gcc(dir: &Path, args: &[&str]) {
    let out = Command::new(tool("gcc", "gcc"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "gcc {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o600) },
        0,
        "mkfifo {}",
        path.display()
    );
}

// ---------------------------------------------------------------------------
// Truncation, wrong files, wrong classes.

#[test]
fn truncated_at_every_header_boundary() {
    let lib = libz();
    let l = layout(&lib);
    let full = read_bytes(&lib, Detail::Symbols, "libz").unwrap();
    assert!(full.problems.is_empty(), "libz itself: {:?}", full.problems);
    let ph_end = l.phoff + l.phnum * l.phentsize;
    let (dyn_off, dyn_size) = l.dynamic;
    let dyn_end = dyn_off + dyn_size;
    let note_end = l.note.0 + l.note.1;
    assert!(
        ph_end < dyn_off && dyn_end < lib.len(),
        "unexpected libz layout"
    );
    let mut cuts = vec![
        0,
        1,
        2,
        4,
        15,
        16,
        17,
        52,
        63,
        64,
        l.phoff,
        l.phoff + 1,
        l.phoff + l.phentsize,
        ph_end - 1,
        ph_end,
        l.note.0 + 4,
        note_end - 1,
        note_end,
        dyn_off - 1,
        dyn_off,
        dyn_off + 8,
        dyn_off + 16,
        dyn_off + dyn_size / 2,
        dyn_end - 1,
        dyn_end,
        lib.len() - 1,
    ];
    cuts.sort_unstable();
    cuts.dedup();
    for n in cuts {
        for detail in DETAILS {
            let what = format!("libz cut to {n} bytes");
            let r = read_bytes(&lib[..n], detail, &what);
            if n < 64 {
                // Shorter than the ELF64 header (ld.so: "file too short").
                assert!(
                    matches!(r, Err(Error::TooShort)),
                    "{what} ({detail:?}): {r:?}"
                );
            } else if n < ph_end {
                assert!(
                    matches!(r, Err(Error::Invalid("program header table"))),
                    "{what} ({detail:?}): {r:?}"
                );
            } else if n < dyn_end {
                let f = r.unwrap_or_else(|e| panic!("{what} ({detail:?}): {e:?}"));
                assert_eq!(f.class, Some(Class::Elf64), "{what}");
                assert_eq!(f.machine, full.machine, "{what}");
                assert!(f.dynamic, "{what}: PT_DYNAMIC is still there");
                assert!(
                    has_problem(&f, "dynamic segment"),
                    "{what} ({detail:?}): {:?}",
                    f.problems
                );
                assert!(f.needed.is_empty() && f.soname.is_none(), "{what}");
                // Notes (the build-id) are read at Detail::Symbols.
                if detail == Detail::Symbols && n < note_end {
                    assert!(has_problem(&f, "note"), "{what}: {:?}", f.problems);
                    assert_eq!(f.build_id, None, "{what}");
                } else if detail == Detail::Symbols {
                    assert_eq!(f.build_id, full.build_id, "{what}");
                }
            } else {
                // Everything the reader uses lies before the end of PT_DYNAMIC.
                let f = r.unwrap_or_else(|e| panic!("{what} ({detail:?}): {e:?}"));
                assert_eq!(f.soname, full.soname, "{what}");
                assert_eq!(f.needed, full.needed, "{what}");
                if detail == Detail::Symbols {
                    assert_eq!(f.symbols, full.symbols, "{what}");
                    assert_eq!(f.relocations, full.relocations, "{what}");
                }
            }
        }
    }
}

#[test]
fn gnu_ld_script_named_libc_so() {
    let script = system_file(LIBC_SCRIPT, "libc6-dev");
    assert!(
        script.starts_with(b"/* GNU ld script"),
        "{LIBC_SCRIPT} is not the ld script"
    );
    for detail in DETAILS {
        let r = read_bytes(&script, detail, LIBC_SCRIPT);
        assert!(matches!(r, Err(Error::LinkerScript)), "{detail:?}: {r:?}");
        // Scripts shorter than an ELF identification, and with leading blanks.
        for s in [
            &b"INPUT(-lz)\n"[..],
            b"GROUP ( libc.so.6 )\n",
            b"\n\n  /* x */ GROUP(a)",
        ] {
            let r = read_bytes(s, detail, "short script");
            assert!(matches!(r, Err(Error::LinkerScript)), "{s:?}: {r:?}");
        }
    }
}

#[test]
fn other_non_elf_files_are_bad_magic() {
    for detail in DETAILS {
        for s in [
            &b"#!/bin/sh\necho hi\n"[..],
            b"\x7fELX and more than sixteen bytes",
            b"MZ\x90\0",
        ] {
            let r = read_bytes(s, detail, "non-ELF");
            assert!(matches!(r, Err(Error::BadMagic)), "{s:?}: {r:?}");
        }
    }
}

/// A minimal valid ELF32 i386 shared object: PT_LOAD + PT_DYNAMIC with
/// DT_NEEDED, DT_SONAME, DT_HASH, one exported symbol and one REL
/// relocation naming it.
fn elf32_i386_dso() -> Vec<u8> {
    let mut b = vec![0u8; 0x200];
    let strtab = 0x78usize; // after the header and two program headers (0x74)
    let strs = b"\0libdeflate.so.1\0libc.so.6\0inflate\0";
    let (soname, needed, inflate) = (1u32, 17u32, 27u32);
    b[strtab..strtab + strs.len()].copy_from_slice(strs);
    let hash = 0xa0usize; // nbucket, nchain, bucket[0], chain[0..2]
    for (i, v) in [1u32, 2, 1, 0, 0].into_iter().enumerate() {
        put_u32(&mut b, hash + 4 * i, v);
    }
    let symtab = 0xc0usize; // Elf32_Sym[2], symbol 0 all zero
    put_u32(&mut b, symtab + 16, inflate); // st_name
    put_u32(&mut b, symtab + 20, 0x180); // st_value
    put_u32(&mut b, symtab + 24, 4); // st_size
    b[symtab + 28] = 0x12; // STB_GLOBAL, STT_FUNC
    put_u16(&mut b, symtab + 30, 5); // st_shndx: defined
    let rel = 0xe0usize; // Elf32_Rel: r_offset, r_info = sym << 8 | R_386_GLOB_DAT
    put_u32(&mut b, rel, 0x1f0);
    put_u32(&mut b, rel + 4, (1 << 8) | 6);
    let dynamic = 0x100usize;
    let dyns: [(u32, u32); 11] = [
        (1, needed),
        (14, soname),
        (4, hash as u32),
        (5, strtab as u32),
        (10, strs.len() as u32),
        (6, symtab as u32),
        (11, 16),
        (17, rel as u32),
        (18, 8),
        (19, 8),
        (0, 0),
    ];
    for (i, (t, v)) in dyns.into_iter().enumerate() {
        put_u32(&mut b, dynamic + 8 * i, t);
        put_u32(&mut b, dynamic + 8 * i + 4, v);
    }
    // Elf32_Ehdr
    b[..7].copy_from_slice(b"\x7fELF\x01\x01\x01");
    put_u16(&mut b, 16, 3); // ET_DYN
    put_u16(&mut b, 18, 3); // EM_386
    put_u32(&mut b, 20, 1); // e_version
    put_u32(&mut b, 28, 52); // e_phoff
    put_u16(&mut b, 40, 52); // e_ehsize
    put_u16(&mut b, 42, 32); // e_phentsize
    put_u16(&mut b, 44, 2); // e_phnum
    put_u16(&mut b, 46, 40); // e_shentsize
    // Elf32_Phdr: type, offset, vaddr, paddr, filesz, memsz, flags, align
    let len = b.len() as u32;
    for (i, ph) in [
        [1u32, 0, 0, 0, len, len, 6, 0x1000],
        [2, dynamic as u32, dynamic as u32, 0, 88, 88, 6, 4],
    ]
    .into_iter()
    .enumerate()
    {
        for (j, v) in ph.into_iter().enumerate() {
            put_u32(&mut b, 52 + 32 * i + 4 * j, v);
        }
    }
    b
}

#[test]
fn elf32_file_reads_with_its_class() {
    let b = elf32_i386_dso();
    // The handcrafted file is valid to an independent reader.
    let g = goblin::elf::Elf::parse(&b).expect("goblin parses the ELF32 fixture");
    assert!(!g.is_64);
    assert_eq!(g.soname, Some("libdeflate.so.1"));
    assert_eq!(g.libraries, ["libc.so.6"]);
    for detail in DETAILS {
        let f = read_bytes(&b, detail, "ELF32").unwrap_or_else(|e| panic!("{detail:?}: {e:?}"));
        assert_eq!(f.class, Some(Class::Elf32));
        assert_eq!(f.machine, 3, "EM_386");
        assert_eq!(f.e_type, 3, "ET_DYN");
        assert_eq!(f.e_phentsize, 32);
        assert_eq!(bytes(&f.soname), Some(&b"libdeflate.so.1"[..]));
        assert_eq!(f.needed, ["libc.so.6"]);
        assert!(f.problems.is_empty(), "{detail:?}: {:?}", f.problems);
        if detail == Detail::Symbols {
            assert_eq!(f.symbols.len(), 2, "DT_HASH nchain");
            let sym = &f.symbols[1];
            assert_eq!(
                (sym.name.as_slice(), sym.bind, sym.kind),
                (&b"inflate"[..], 1, 2)
            );
            assert_eq!((sym.value, sym.size, sym.is_defined()), (0x180, 4, true));
            assert_eq!(f.relocations.len(), 1);
            let r = &f.relocations[0];
            assert_eq!((r.r_type, r.symbol, r.class), (6, 1, RelocClass::Data));
        }
    }
}

#[test]
fn foreign_machine_reads_with_its_machine() {
    let mut b = libz();
    put_u16(&mut b, 18, 183); // e_machine = EM_AARCH64
    for detail in DETAILS {
        let f = read_bytes(&b, detail, "libz as aarch64").unwrap();
        assert_eq!(f.class, Some(Class::Elf64));
        assert_eq!(f.machine, 183);
        assert_eq!(bytes(&f.soname), Some(&b"libz.so.1"[..]));
        assert_eq!(f.needed, ["libc.so.6"]);
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        if detail == Detail::Symbols {
            assert_eq!(f.symbols.len(), 125);
            // x86-64 JUMP_SLOT (7) means nothing on AArch64: no PLT class.
            assert!(f.relocations.iter().all(|r| r.class == RelocClass::Data));
        }
    }
}

#[test]
fn bad_identification_bytes() {
    let lib = libz();
    let mut class3 = lib.clone();
    class3[4] = 3;
    let mut data3 = lib.clone();
    data3[5] = 3;
    // Byte-swapped reading of a little-endian file: e_phentsize 0x3800.
    let mut big = lib.clone();
    big[5] = 2;
    for detail in DETAILS {
        let r = read_bytes(&class3, detail, "EI_CLASS 3");
        assert!(matches!(r, Err(Error::Unsupported("class"))), "{r:?}");
        let r = read_bytes(&data3, detail, "EI_DATA 3");
        assert!(
            matches!(r, Err(Error::Unsupported("data encoding"))),
            "{r:?}"
        );
        let r = read_bytes(&big, detail, "EI_DATA big-endian");
        assert!(
            matches!(r, Err(Error::Invalid("program header table"))),
            "{r:?}"
        );
    }
}

#[test]
fn program_header_table_out_of_bounds() {
    let lib = libz();
    let mut phnum = lib.clone();
    put_u16(&mut phnum, 56, 0xfffe);
    let mut phoff = lib.clone();
    put_u64(&mut phoff, 32, u64::MAX - 8);
    // PN_XNUM: the count is in section header 0's sh_info.
    let mut xnum = lib.clone();
    put_u16(&mut xnum, 56, 0xffff);
    let shoff = u64::from_le_bytes(lib[40..48].try_into().unwrap()) as usize;
    put_u32(&mut xnum, shoff + 44, u32::MAX);
    let mut dyn_size = lib.clone();
    let l = layout(&lib);
    let dyn_ph = (0..l.phnum)
        .map(|i| l.phoff + i * l.phentsize)
        .find(|&o| get_u32(&lib, o) == 2)
        .unwrap();
    put_u64(&mut dyn_size, dyn_ph + 32, u64::MAX / 2); // p_filesz
    for detail in DETAILS {
        for (b, what) in [
            (&phnum, "e_phnum 0xfffe"),
            (&phoff, "e_phoff huge"),
            (&xnum, "PN_XNUM"),
        ] {
            let r = read_bytes(b, detail, what);
            assert!(
                matches!(r, Err(Error::Invalid("program header table"))),
                "{what}: {r:?}"
            );
        }
    }
    expect_problem(&dyn_size, "PT_DYNAMIC p_filesz huge", "dynamic segment");
    let mut none = lib.clone();
    put_u16(&mut none, 56, 0);
    for detail in DETAILS {
        let f = read_bytes(&none, detail, "e_phnum 0").unwrap();
        assert!(
            !f.dynamic && f.needed.is_empty() && f.problems.is_empty(),
            "{f:?}"
        );
    }
}

#[test]
fn empty_file() {
    for detail in DETAILS {
        let r = read_bytes(b"", detail, "empty file");
        assert!(matches!(r, Err(Error::TooShort)), "{r:?}");
    }
    let t = tempdir();
    fs::write(t.path().join("empty.so"), b"").unwrap();
    let root = Root::new(t.path()).unwrap();
    let f = root
        .open(Path::new("/empty.so"))
        .expect("an empty regular file opens");
    assert_eq!(f.size, 0);
    assert!(matches!(
        elf::read(f.file, Detail::Linking),
        Err(Error::TooShort)
    ));
}

#[test]
fn directory_named_like_a_library() {
    let t = tempdir();
    fs::create_dir(t.path().join("x.so")).unwrap();
    let root = Root::new(t.path()).unwrap();
    assert_eq!(root.kind(Path::new("/x.so")), Some(Kind::Directory));
    let r = root.open(Path::new("/x.so"));
    assert!(
        matches!(r, Err(RootError::NotRegular("directory"))),
        "{r:?}"
    );
}

/// A read that fails (here EISDIR) is an I/O error, not a short or non-ELF
/// file: the caller must be able to tell a disk problem from a bad file.
#[test]
fn read_errors_are_io_errors() {
    let t = tempdir();
    let dir = File::open(t.path()).unwrap();
    let r = elf::read(dir, Detail::Linking);
    assert!(
        matches!(&r, Err(Error::Io(e)) if e.raw_os_error() == Some(libc::EISDIR)),
        "elf::read of a directory: expected Error::Io(EISDIR), got {r:?}"
    );
}

#[test]
fn fifo_is_refused_without_blocking() {
    let t = tempdir();
    mkfifo(&t.path().join("libfifo.so"));
    let root = Root::new(t.path()).unwrap();
    assert_eq!(
        root.kind(Path::new("/libfifo.so")),
        Some(Kind::Other("FIFO"))
    );
    let r = within(10, "Root::open of a FIFO", move || {
        root.open(Path::new("/libfifo.so")).map(|f| f.size)
    });
    assert!(matches!(r, Err(RootError::NotRegular("FIFO"))), "{r:?}");
}

#[test]
fn dangling_and_looping_symlinks() {
    let t = tempdir();
    let p = t.path();
    symlink("nothere.so.1", p.join("dangling.so")).unwrap();
    symlink("/nothere/either.so", p.join("dangling_abs.so")).unwrap();
    symlink("self.so", p.join("self.so")).unwrap();
    symlink("b.so", p.join("a.so")).unwrap();
    symlink("a.so", p.join("b.so")).unwrap();
    // A chain of exactly MAX_SYMLINKS links resolves; one more is a loop.
    fs::write(p.join("end.so"), b"x").unwrap();
    let max = soclash::root::MAX_SYMLINKS;
    for i in 0..=max {
        let target = if i == 0 {
            "end.so".to_string()
        } else {
            format!("l{}.so", i - 1)
        };
        symlink(target, p.join(format!("l{i}.so"))).unwrap();
    }
    let root = Root::new(p).unwrap();
    for name in ["/dangling.so", "/dangling_abs.so"] {
        let r = root.open(Path::new(name));
        assert!(matches!(r, Err(RootError::NotFound)), "{name}: {r:?}");
        assert!(r.unwrap_err().is_absent());
    }
    for name in ["/self.so", "/a.so", "/self.so/x.so"] {
        let r = within(10, "loop resolution", {
            let root = Root::new(p).unwrap();
            let name = name.to_string();
            move || root.open(Path::new(&name)).map(|f| f.size)
        });
        assert!(matches!(r, Err(RootError::Loop)), "{name}: {r:?}");
    }
    let ok = root.open(&PathBuf::from(format!("/l{}.so", max - 1)));
    assert_eq!(
        ok.expect("MAX_SYMLINKS links resolve").canonical,
        Path::new("/end.so")
    );
    let r = root.open(&PathBuf::from(format!("/l{max}.so")));
    assert!(
        matches!(r, Err(RootError::Loop)),
        "{} links: {r:?}",
        max + 1
    );
}

#[test]
fn absolute_symlinks_resolve_inside_the_root() {
    let t = tempdir();
    let p = t.path();
    fs::create_dir_all(p.join("usr/lib")).unwrap();
    fs::create_dir_all(p.join("lib")).unwrap();
    fs::write(p.join("usr/lib/libz.so.1.2.13"), libz()).unwrap();
    symlink("/usr/lib/libz.so.1.2.13", p.join("lib/libz.so.1")).unwrap();
    symlink("/usr/lib", p.join("lib64")).unwrap();
    // Host paths that exist on this machine but not in the root.
    symlink(LIBZ, p.join("lib/host.so")).unwrap();
    symlink(
        "../../../../../../../..".to_string() + LIBZ,
        p.join("lib/up.so"),
    )
    .unwrap();
    let root = Root::new(p).unwrap();
    for name in [
        "/lib/libz.so.1",
        "/lib64/libz.so.1.2.13",
        "/lib64/../lib/libz.so.1.2.13",
    ] {
        let f = root
            .open(Path::new(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(f.canonical, Path::new("/usr/lib/libz.so.1.2.13"), "{name}");
        let facts = elf::read(f.file, Detail::Linking).unwrap();
        assert_eq!(bytes(&facts.soname), Some(&b"libz.so.1"[..]), "{name}");
    }
    for name in [
        "/lib/host.so",
        "/lib/up.so",
        "/../../../../usr/lib/x86_64-linux-gnu/libz.so.1",
    ] {
        let r = root.open(Path::new(name));
        assert!(
            matches!(r, Err(RootError::NotFound)),
            "{name} must not reach the host: {r:?}"
        );
    }
}

/// The kernel refuses `file/..` (ENOTDIR): a path through a regular file
/// never names anything, even when `..` comes back out of it.
#[test]
fn dot_dot_after_a_regular_file_is_not_a_directory() {
    let t = tempdir();
    fs::create_dir_all(t.path().join("lib")).unwrap();
    fs::write(t.path().join("lib/libx.so"), b"x").unwrap();
    let host = t.path().join("lib/libx.so/../libx.so");
    let kernel = File::open(&host).map(|_| ()).map_err(|e| e.raw_os_error());
    assert_eq!(kernel, Err(Some(libc::ENOTDIR)), "the kernel's answer");
    let root = Root::new(t.path()).unwrap();
    let r = root.open(Path::new("/lib/libx.so/../libx.so"));
    assert!(
        matches!(r, Err(RootError::NotADirectory)),
        "Root::open(/lib/libx.so/../libx.so): expected NotADirectory like the kernel, got {:?}",
        r.map(|f| f.canonical)
    );
}

// ---------------------------------------------------------------------------
// DT_NEEDED names with a slash, against the real ld.so.

/// `ld.so` in trace mode as `ldd` runs it (LD_TRACE_LOADED_OBJECTS=1; glibc
/// 2.36's `--list` stops at the first missing library instead of printing
/// `not found`), without load addresses and linux-vdso.
fn ld_so_trace(dir: &Path, file: &str) -> Vec<String> {
    let out = Command::new(RTLD)
        .arg(file)
        .current_dir(dir)
        .env_clear()
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {RTLD}: {e} (package libc6)"));
    assert!(out.status.success(), "ld.so trace of {file}: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains("linux-vdso"))
        .map(|l| match l.rfind(" (0x") {
            Some(i) => l[..i].to_string(),
            None => l.to_string(),
        })
        .collect()
}

fn soclash_deps(dir: &Path, args: &[&str]) -> (Vec<String>, String, Option<i32>) {
    let out = assert_cmd::Command::cargo_bin("soclash")
        .expect("soclash binary")
        .current_dir(dir)
        .arg("deps")
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("run soclash");
    (
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

#[test]
fn needed_with_a_slash_matches_ld_so() {
    let t = tempdir();
    let d = t.path();
    fs::create_dir_all(d.join("sub")).unwrap();
    fs::create_dir_all(d.join("gone")).unwrap();
    fs::write(
        d.join("x.c"),
        "#include <stdio.h>\nint x(void) { return puts(\"x\"); }\n",
    )
    .unwrap();
    fs::write(d.join("y.c"), "int y(void) { return 2; }\n").unwrap();
    fs::write(
        d.join("u.c"),
        "int x(void); int y(void); int u(void) { return x() + y(); }\n",
    )
    .unwrap();
    // No -soname: the linker records each library by the path it was given.
    gcc(d, &["-shared", "-fPIC", "-o", "sub/libx.so", "x.c"]);
    gcc(d, &["-shared", "-fPIC", "-o", "gone/liby.so", "y.c"]);
    let abs = d.join("sub/libx.so").to_string_lossy().into_owned();
    let cases: [(&str, Vec<&str>); 3] = [
        ("libabs.so", vec![abs.as_str(), "gone/liby.so"]),
        ("libdotdot.so", vec!["sub/../sub/libx.so", "gone/liby.so"]),
        // The same file under two names is loaded once (rule L13).
        ("libtwice.so", vec!["sub/libx.so", "./sub/../sub/libx.so"]),
    ];
    for (name, libs) in &cases {
        let mut args = vec!["-shared", "-fPIC", "-o", name, "u.c", "-Wl,--no-as-needed"];
        args.extend(libs.iter().copied());
        gcc(d, &args);
        let g_bytes = fs::read(d.join(name)).unwrap();
        let g = goblin::elf::Elf::parse(&g_bytes).unwrap();
        assert_eq!(
            g.libraries[..libs.len()],
            libs[..],
            "{name}: DT_NEEDED as linked"
        );
    }
    fs::remove_file(d.join("gone/liby.so")).unwrap();
    for (name, _) in &cases {
        let file = format!("./{name}");
        let want = ld_so_trace(d, &file);
        let (got, err, code) = soclash_deps(d, &[&file]);
        assert_eq!(got, want, "{name}: soclash deps vs ld.so (stderr: {err})");
        assert_eq!(code, Some(0), "{name}: {err}");
    }
    // Sanity: the comparison saw a found slash name and a missing one.
    let want = ld_so_trace(d, "./libdotdot.so");
    assert!(
        want.contains(&"\tsub/../sub/libx.so".to_string()),
        "{want:?}"
    );
    assert!(
        want.contains(&"\tgone/liby.so => not found".to_string()),
        "{want:?}"
    );
}

#[test]
fn needed_with_a_slash_inside_a_root() {
    let t = tempdir();
    let b = t.path().join("build");
    let r = t.path().join("root");
    fs::create_dir_all(&b).unwrap();
    fs::create_dir_all(r.join("opt/sx")).unwrap();
    fs::create_dir_all(r.join("opt/sy")).unwrap();
    fs::write(b.join("x.c"), "int x(void) { return 1; }\n").unwrap();
    // -soname makes the linker record these names, slashes and all.
    let names = [
        "/opt/sx/libx.so",
        "/opt/../opt/sx/libx.so",
        "/../../../opt/sy/liby.so",
        LIBZ, // exists on the host, not in the root
        "/opt/sx/nothere.so",
    ];
    let mut link = vec![
        "-shared",
        "-nostdlib",
        "-o",
        "libuser.so",
        "x.c",
        "-Wl,--no-as-needed",
    ];
    let stubs: Vec<String> = (0..names.len()).map(|i| format!("stub{i}.so")).collect();
    for (i, n) in names.iter().enumerate() {
        gcc(
            &b,
            &[
                "-shared",
                "-nostdlib",
                "-fPIC",
                "-o",
                &stubs[i],
                "x.c",
                &format!("-Wl,-soname,{n}"),
            ],
        );
        link.push(&stubs[i]);
    }
    gcc(&b, &link);
    fs::copy(b.join("libuser.so"), r.join("opt/sx/libuser.so")).unwrap();
    fs::copy(b.join("stub0.so"), r.join("opt/sx/libx.so")).unwrap();
    fs::copy(b.join("stub2.so"), r.join("opt/sy/liby.so")).unwrap();
    let root = r.to_string_lossy().into_owned();
    let (got, err, code) = soclash_deps(t.path(), &["--root", &root, "/opt/sx/libuser.so"]);
    assert_eq!(
        got,
        [
            "\t/opt/sx/libx.so",
            // "/opt/../opt/sx/libx.so" is the same file: not loaded again.
            "\t/../../../opt/sy/liby.so",
            &format!("\t{LIBZ} => not found"),
            "\t/opt/sx/nothere.so => not found",
        ],
        "stderr: {err}"
    );
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn long_rpath_reads_the_same_at_both_details() {
    // Spack and Nix builds carry RPATHs of many kilobytes; ld.so has no
    // limit. With a large .dynstr (here 6000 exported functions, ~620 KiB)
    // a reader may look strings up one by one instead of reading the table
    // whole, and must still return the RPATH whole.
    let t = tempdir();
    let d = t.path();
    let mut c = String::new();
    for i in 0..6000 {
        c.push_str(&format!(
            "int exported_function_with_a_long_name_that_fills_the_dynamic_string_table_{i:05}\
             _padding_padding_padding(void) {{ return {i}; }}\n"
        ));
    }
    fs::write(d.join("x.c"), c).unwrap();
    let rpath: Vec<String> = (0..200)
        .map(|i| format!("/opt/spack/linux-debian12-x86_64/gcc-12.2.0/package-{i:03}-abcdefgh/lib"))
        .collect();
    let rpath = rpath.join(":");
    assert!(rpath.len() > 8192);
    gcc(
        d,
        &[
            "-shared",
            "-fPIC",
            "-o",
            "liblong.so",
            "x.c",
            &format!("-Wl,-rpath,{rpath}"),
            "-Wl,--disable-new-dtags",
        ],
    );
    let b = fs::read(d.join("liblong.so")).unwrap();
    let g = goblin::elf::Elf::parse(&b).expect("goblin parses the fixture");
    let strsz = g.dynamic.as_ref().map_or(0, |d| d.info.strsz);
    assert!(strsz > 512 << 10, "DT_STRSZ only {strsz}");
    assert_eq!(g.rpaths, [rpath.as_str()], "the fixture's RPATH");
    for detail in DETAILS {
        let f = read_bytes(&b, detail, "long RPATH").unwrap();
        assert_eq!(
            bytes(&f.rpath),
            Some(rpath.as_bytes()),
            "{detail:?}: RPATH of {} bytes (problems: {:?})",
            rpath.len(),
            f.problems
        );
        assert!(f.problems.is_empty(), "{detail:?}: {:?}", f.problems);
    }
}

// ---------------------------------------------------------------------------
// Corrupt dynamic sections.

#[test]
fn dt_strsz_huge() {
    for v in [u64::MAX, 1 << 40, 0x7fff_ffff] {
        let b = libz_with_dyn(DT_STRSZ, v);
        let f = expect_problem(&b, &format!("DT_STRSZ {v:#x}"), "string table");
        assert!(f.needed.is_empty() && f.soname.is_none() && f.symbols.is_empty());
    }
}

#[test]
fn dt_strtab_past_eof() {
    for v in [0x7fff_0000, u64::MAX, u64::MAX - 0x10] {
        let b = libz_with_dyn(DT_STRTAB, v);
        let f = expect_problem(&b, &format!("DT_STRTAB {v:#x}"), "string table");
        assert!(f.needed.is_empty() && f.soname.is_none());
    }
    // Starting inside the file, with DT_STRSZ running past its end.
    let mut b = libz();
    let l = layout(&b);
    let (vaddr, off, filesz, _) = *l.loads.last().unwrap();
    put_u64(&mut b, l.dyn_val(DT_STRTAB), vaddr + filesz - 16);
    let past_eof = b.len() as u64 - (off + filesz - 16) + 1;
    put_u64(&mut b, l.dyn_val(DT_STRSZ), past_eof);
    expect_problem(&b, "DT_STRTAB..+DT_STRSZ one byte past EOF", "string table");
}

#[test]
fn needed_offset_past_strsz() {
    let b = libz_with_dyn(DT_NEEDED, 0xffff_fff0);
    let f = expect_problem(&b, "DT_NEEDED past DT_STRSZ", "string offset");
    assert!(f.needed.is_empty());
    assert_eq!(
        bytes(&f.soname),
        Some(&b"libz.so.1"[..]),
        "the rest is still read"
    );
}

#[test]
fn dt_symtab_past_eof() {
    for v in [0x7fff_0000, u64::MAX] {
        let b = libz_with_dyn(DT_SYMTAB, v);
        let f = expect_symbol_problem(&b, &format!("DT_SYMTAB {v:#x}"), "DT_SYMTAB");
        assert!(f.symbols.is_empty() && f.relocations.is_empty());
    }
}

/// DT_SYMTAB near the end of the file: DT_GNU_HASH says 125 symbols, fewer
/// fit. The table must not be silently cut short.
#[test]
fn dt_symtab_running_past_eof() {
    let mut b = libz();
    let l = layout(&b);
    let last = *l.loads.last().unwrap();
    let addr = last.0 + last.2 - 24;
    put_u64(&mut b, l.dyn_val(DT_SYMTAB), addr);
    let f = read_bytes(&b, Detail::Symbols, "DT_SYMTAB near EOF").unwrap();
    assert!(f.symbols.len() < 125, "cannot hold 125 symbols");
    assert!(
        f.problems.iter().any(|p| p.contains("symbol table")),
        "{} of 125 symbols returned without a problem about the symbol table: {:?}",
        f.symbols.len(),
        f.problems
    );
}

#[test]
fn dt_syment_wrong() {
    let b = libz_with_dyn(DT_SYMENT, 16);
    let f = expect_symbol_problem(&b, "DT_SYMENT 16", "DT_SYMENT");
    assert!(f.symbols.is_empty());
}

#[test]
fn dt_relasz_huge() {
    let lib = libz();
    let l = layout(&lib);
    for v in [u64::MAX, u64::MAX - l.relasz as u64, 1 << 40] {
        let b = libz_with_dyn(DT_RELASZ, v);
        let f = expect_symbol_problem(&b, &format!("DT_RELASZ {v:#x}"), "relocation");
        assert_eq!(f.symbols.len(), 125, "symbols are still read");
    }
}

#[test]
fn dt_pltrelsz_huge() {
    for v in [u64::MAX, u64::MAX - 0x100, 1 << 40] {
        let b = libz_with_dyn(DT_PLTRELSZ, v);
        let f = expect_symbol_problem(&b, &format!("DT_PLTRELSZ {v:#x}"), "relocation");
        assert_eq!(f.symbols.len(), 125, "symbols are still read");
    }
}

#[test]
fn dt_gnu_hash_huge_nbuckets_or_bloom() {
    let lib = libz();
    let l = layout(&lib);
    for (field, v) in [
        (0usize, u32::MAX),
        (0, 0x1000_0000),
        (8, u32::MAX),
        (8, 0x0800_0000),
    ] {
        let mut b = lib.clone();
        put_u32(&mut b, l.gnu_hash + field, v);
        let what = format!(
            "DT_GNU_HASH {} = {v:#x}",
            if field == 0 { "nbuckets" } else { "bloom size" }
        );
        let f = expect_symbol_problem(&b, &what, "symbol count");
        assert!(f.symbols.is_empty(), "{what}");
    }
    // And DT_GNU_HASH itself pointing nowhere.
    let b = libz_with_dyn(DT_GNU_HASH, 0x7fff_0000);
    expect_symbol_problem(&b, "DT_GNU_HASH unmapped", "symbol count");
}

/// libz with the last PT_LOAD stretched over `extra` appended zero bytes
/// and DT_GNU_HASH moved there: one bucket whose chain never sets the end
/// bit, so the walk runs to the end of the file.
fn libz_with_endless_gnu_hash_chain(extra: usize) -> Vec<u8> {
    let mut b = libz();
    let l = layout(&b);
    let (vaddr, off, _, ph) = *l.loads.last().unwrap();
    let start = b.len().next_multiple_of(8);
    b.resize(start + extra, 0);
    let filesz = (b.len() as u64) - off;
    put_u64(&mut b, ph + 32, filesz); // p_filesz
    put_u64(&mut b, ph + 40, filesz); // p_memsz
    // nbuckets 1, symoffset 1, bloom size 1, shift; bloom word; bucket[0] = 1.
    for (i, v) in [1u32, 1, 1, 6].into_iter().enumerate() {
        put_u32(&mut b, start + 4 * i, v);
    }
    put_u32(&mut b, start + 24, 1);
    put_u64(&mut b, l.dyn_val(DT_GNU_HASH), vaddr + (start as u64 - off));
    b
}

#[test]
fn dt_gnu_hash_chain_without_end_bit() {
    // 16 MiB of chain: 4 Mi words, none with the end bit. Walking them is
    // one pass over 16 MiB; 10 s and 32 times the file in address space
    // are generous bounds for that, even in a debug build.
    isolated("dt_gnu_hash_chain_without_end_bit", 10, 512 << 20, || {
        let b = libz_with_endless_gnu_hash_chain(16 << 20);
        let start = Instant::now();
        let f = expect_symbol_problem(&b, "endless DT_GNU_HASH chain", "symbol count");
        assert!(f.symbols.is_empty());
        eprintln!(
            "endless chain over 16 MiB: {:.2} s",
            start.elapsed().as_secs_f64()
        );
    });
}

#[test]
fn verneednum_ffff_with_bogus_vn_next() {
    let lib = libz();
    let l = layout(&lib);
    // vn_next leading past the end of the file.
    let mut b = lib.clone();
    put_u64(&mut b, l.dyn_val(DT_VERNEEDNUM), 0xffff);
    put_u32(&mut b, l.verneed + 12, 0x4000_0000);
    let f = expect_symbol_problem(&b, "vn_next past EOF", "Verneed");
    assert_eq!(f.version_requirements.len(), 1, "the first entry is good");
    assert_eq!(f.version_requirements[0].file, "libc.so.6");
    // vn_next into the entry's own Vernaux array: garbage entries, each
    // read at a higher offset, so the walk ends within the file.
    let mut b = lib.clone();
    put_u64(&mut b, l.dyn_val(DT_VERNEEDNUM), 0xffff);
    put_u32(&mut b, l.verneed + 12, 16);
    let f = read_bytes(&b, Detail::Symbols, "vn_next 16").unwrap();
    let entries: usize = f
        .version_requirements
        .iter()
        .map(|r| 1 + r.versions.len())
        .sum();
    assert!(
        entries <= b.len() / 16,
        "{entries} entries from a {} byte file",
        b.len()
    );
    // The entries past the first have vn_version != 1 (ld.so: "unsupported
    // version of Verneed record") and string offsets outside DT_STRSZ.
    assert!(
        !f.problems.is_empty(),
        "garbage version requirements raise no problem: {:?}",
        f.version_requirements
            .iter()
            .skip(1)
            .take(3)
            .collect::<Vec<_>>()
    );
}

/// Verneed entries `stride` bytes apart, every one pointing at the same
/// long Vernaux chain: entries × chain length `Vernaux` reads from a file
/// that holds a few thousand structures.
fn libz_with_shared_vernaux_chain() -> Vec<u8> {
    let mut b = libz();
    let l = layout(&b);
    // The executable PT_LOAD (file offset == vaddr in libz) is the canvas.
    let (vaddr, off, filesz, _) = l.loads[1];
    let (start, end) = (off as usize, (off + filesz) as usize & !15);
    let mid = start + (end - start) / 2;
    for a in (start..mid).step_by(16) {
        put_u16(&mut b, a, 1); // vn_version
        put_u16(&mut b, a + 2, 0xffff); // vn_cnt
        put_u32(&mut b, a + 4, 1); // vn_file
        put_u32(&mut b, a + 8, (mid - a) as u32); // vn_aux: the shared chain
        put_u32(&mut b, a + 12, 16); // vn_next
    }
    let chain_end = end - 16;
    for a in (mid..end).step_by(16) {
        put_u32(&mut b, a, 0x0123_4567); // vna_hash
        put_u16(&mut b, a + 4, 0); // vna_flags
        put_u16(&mut b, a + 6, 2); // vna_other
        put_u32(&mut b, a + 8, 1); // vna_name
        put_u32(&mut b, a + 12, if a == chain_end { 0 } else { 16 }); // vna_next
    }
    // The last Verneed ends the list.
    put_u32(&mut b, mid - 16 + 12, 0);
    put_u64(&mut b, l.dyn_val(DT_VERNEED), vaddr + (start as u64 - off));
    put_u64(&mut b, l.dyn_val(DT_VERNEEDNUM), 0xffff);
    b
}

#[test]
fn version_requirement_chains_are_bounded() {
    isolated(
        "version_requirement_chains_are_bounded",
        20,
        1 << 30,
        || {
            let b = libz_with_shared_vernaux_chain();
            let start = Instant::now();
            let f = read_bytes(&b, Detail::Symbols, "shared Vernaux chain").unwrap();
            let entries: usize = f
                .version_requirements
                .iter()
                .map(|r| 1 + r.versions.len())
                .sum();
            eprintln!(
                "shared Vernaux chain: {} requirements, {entries} entries in {:.2} s",
                f.version_requirements.len(),
                start.elapsed().as_secs_f64()
            );
            assert!(
                entries <= b.len() / 16,
                "{entries} version requirement entries from a {} byte file",
                b.len()
            );
        },
    );
}

/// The same with Verdef entries sharing one Verdaux chain.
fn libz_with_shared_verdaux_chain() -> Vec<u8> {
    let mut b = libz();
    let l = layout(&b);
    let (vaddr, off, filesz, _) = l.loads[1];
    let (start, end) = (off as usize, (off + filesz) as usize & !15);
    let mid = start + ((end - start) / 2) / 20 * 20;
    for a in (start..mid).step_by(20) {
        put_u16(&mut b, a, 1); // vd_version
        put_u16(&mut b, a + 2, 0); // vd_flags
        put_u16(&mut b, a + 4, 2); // vd_ndx
        put_u16(&mut b, a + 6, 0xffff); // vd_cnt
        put_u32(&mut b, a + 8, 0); // vd_hash
        put_u32(&mut b, a + 12, (mid - a) as u32); // vd_aux
        put_u32(&mut b, a + 16, if a + 20 == mid { 0 } else { 20 }); // vd_next
    }
    let last = end - 8;
    for a in (mid..=last).step_by(8) {
        put_u32(&mut b, a, 1); // vda_name
        put_u32(&mut b, a + 4, if a == last { 0 } else { 8 }); // vda_next
    }
    put_u64(&mut b, l.dyn_val(DT_VERDEF), vaddr + (start as u64 - off));
    put_u64(&mut b, l.dyn_val(DT_VERDEFNUM), 0xffff);
    b
}

#[test]
fn version_definition_chains_are_bounded() {
    isolated("version_definition_chains_are_bounded", 20, 1 << 30, || {
        let b = libz_with_shared_verdaux_chain();
        let start = Instant::now();
        let f = read_bytes(&b, Detail::Symbols, "shared Verdaux chain").unwrap();
        let entries: usize = f
            .version_definitions
            .iter()
            .map(|d| 1 + d.parents.len())
            .sum();
        eprintln!(
            "shared Verdaux chain: {} definitions, {entries} names in {:.2} s",
            f.version_definitions.len(),
            start.elapsed().as_secs_f64()
        );
        assert!(
            entries <= b.len() / 8,
            "{entries} version definition names from a {} byte file",
            b.len()
        );
    });
}

// ---------------------------------------------------------------------------
// Random corruption.

#[test]
fn random_byte_flips_never_panic() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    isolated("random_byte_flips_never_panic", 120, 2 << 30, || {
        let lib = libz();
        let l = layout(&lib);
        let headers = l.phoff + l.phnum * l.phentsize;
        // Where the reader looks: headers, the first PT_LOAD (hash, dynsym,
        // dynstr, versions, relocations), PT_DYNAMIC, and anywhere.
        let (_, load_off, load_size, _) = l.loads[0];
        let regions = [
            (0usize, headers),
            (load_off as usize, (load_off + load_size) as usize),
            (l.dynamic.0, l.dynamic.0 + l.dynamic.1),
            (0, lib.len()),
        ];
        let flips = prop::collection::vec((0..regions.len(), any::<u32>(), any::<u8>()), 1..12);
        let mut runner = TestRunner::new(Config {
            cases: 1000,
            failure_persistence: None,
            ..Config::default()
        });
        let outcomes = [0usize; 3].map(std::cell::Cell::new);
        runner
            .run(&flips, |flips| {
                let mut b = lib.clone();
                for &(r, at, v) in &flips {
                    let (lo, hi) = regions[r];
                    b[lo + at as usize % (hi - lo)] ^= v | 1;
                }
                for detail in DETAILS {
                    let start = Instant::now();
                    let r = read_bytes(&b, detail, "flipped libz");
                    prop_assert!(start.elapsed() < Duration::from_secs(5), "slow: {flips:?}");
                    match r {
                        Ok(f) => {
                            let o = &outcomes[usize::from(!f.problems.is_empty())];
                            o.set(o.get() + 1);
                            prop_assert!(f.symbols.len() <= b.len() / 24);
                            for rel in &f.relocations {
                                prop_assert!((rel.symbol as usize) < f.symbols.len());
                            }
                            prop_assert!(f.needed.len() <= b.len() / 16, "one per Elf64_Dyn");
                        }
                        Err(e) => {
                            outcomes[2].set(outcomes[2].get() + 1);
                            prop_assert!(
                                !matches!(e, Error::Io(_) | Error::LinkerScript),
                                "{e:?} for {flips:?}"
                            );
                        }
                    }
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let [clean, problems, errors] = outcomes.map(std::cell::Cell::into_inner);
        eprintln!("byte flips: {clean} clean reads, {problems} with problems, {errors} errors");
        assert!(problems + errors > 0, "no flip was ever noticed");
    });
}

// ---------------------------------------------------------------------------
// Files that change under the reader.

#[test]
fn file_truncated_between_open_and_read() {
    let big = system_file(LIBCRYPTO, "libssl3");
    let l = layout(&big);
    let ph_end = l.phoff + l.phnum * l.phentsize;
    let t = tempdir();
    let root = Root::new(t.path()).unwrap();
    let path = t.path().join("libcrypto.so.3");
    for cut in [
        0,
        10,
        63,
        ph_end - 1,
        ph_end,
        l.dynamic.0,
        l.dynamic.0 + 100,
    ] {
        fs::write(&path, &big).unwrap();
        for detail in DETAILS {
            let opened = root.open(Path::new("/libcrypto.so.3")).unwrap();
            assert_eq!(opened.size, big.len() as u64);
            OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(cut as u64)
                .unwrap();
            let r = elf::read(opened.file, detail);
            let what = format!("libcrypto truncated to {cut} after open ({detail:?})");
            if cut < 64 {
                assert!(matches!(r, Err(Error::TooShort)), "{what}: {r:?}");
            } else if cut < ph_end {
                assert!(matches!(r, Err(Error::Invalid(_))), "{what}: {r:?}");
            } else {
                let f = r.unwrap_or_else(|e| panic!("{what}: {e:?}"));
                assert!(
                    has_problem(&f, "dynamic segment"),
                    "{what}: {:?}",
                    f.problems
                );
            }
            fs::write(&path, &big).unwrap();
        }
    }
}

#[test]
fn file_shrinking_while_being_read() {
    // A package upgrade rewriting a library in place while it is read: a
    // writer truncates the file at various points and writes the rest back,
    // over and over, while it is opened and read. Every read must end in an
    // error, in facts with a problem, or (when it saw the whole file) in the
    // very facts of the intact file; a mapping-based reader would die of
    // SIGBUS here.
    let big = system_file(LIBCRYPTO, "libssl3");
    let t = tempdir();
    let path = t.path().join("libcrypto.so.3");
    fs::write(&path, &big).unwrap();
    let root = Root::new(t.path()).unwrap();
    let reference = elf::read(File::open(&path).unwrap(), Detail::Symbols).unwrap();
    assert!(reference.problems.is_empty(), "{:?}", reference.problems);
    let l = layout(&big);
    let cuts = [
        0usize,
        40,
        1000,
        l.strtab + 5000,
        l.dynamic.0 + 8,
        big.len() - 100,
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, rounds, big, path) = (
            Arc::clone(&stop),
            Arc::clone(&rounds),
            big.clone(),
            path.clone(),
        );
        thread::spawn(move || {
            let f = OpenOptions::new().write(true).open(&path).unwrap();
            while !stop.load(Ordering::Relaxed) {
                let cut = cuts[rounds.load(Ordering::Relaxed) % cuts.len()];
                f.set_len(cut as u64).unwrap();
                thread::sleep(Duration::from_micros(500));
                f.write_all_at(&big[cut..], cut as u64).unwrap();
                thread::sleep(Duration::from_micros(500));
                rounds.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut seen = [0usize; 3];
    let deadline = Instant::now() + Duration::from_secs(30);
    while (rounds.load(Ordering::Relaxed) < 3 * cuts.len() || seen.iter().sum::<usize>() < 200)
        && Instant::now() < deadline
    {
        let opened = root.open(Path::new("/libcrypto.so.3")).unwrap();
        match elf::read(opened.file, Detail::Symbols) {
            Ok(f) if f.problems.is_empty() => {
                seen[0] += 1;
                assert_eq!(f.needed, reference.needed);
                assert_eq!(f.symbols.len(), reference.symbols.len());
                assert_eq!(f.relocations, reference.relocations);
                assert_eq!(f.version_requirements, reference.version_requirements);
            }
            Ok(_) => seen[1] += 1,
            Err(e) => {
                assert!(
                    matches!(e, Error::TooShort | Error::Invalid(_) | Error::Io(_)),
                    "{e:?}"
                );
                seen[2] += 1;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let rounds = rounds.load(Ordering::Relaxed);
    eprintln!(
        "shrinking file: {} clean reads, {} with problems, {} errors over {rounds} truncations",
        seen[0], seen[1], seen[2]
    );
    assert!(
        rounds >= 3 * cuts.len() && seen.iter().sum::<usize>() >= 200,
        "too little overlap in 30 s: {rounds} truncations, {seen:?} reads"
    );
}

// ---------------------------------------------------------------------------
// The command line.

#[test]
fn deps_reports_each_bad_file_and_exits_2() {
    let t = tempdir();
    let d = t.path();
    let fifo = d.join("libfifo.so");
    mkfifo(&fifo);
    let script = d.join("libc.so");
    fs::write(&script, system_file(LIBC_SCRIPT, "libc6-dev")).unwrap();
    let empty = d.join("libempty.so");
    fs::write(&empty, b"").unwrap();
    let dir = d.join("libdir.so");
    fs::create_dir(&dir).unwrap();
    let dangling = d.join("libdangling.so");
    symlink("nothere.so", &dangling).unwrap();
    let looping = d.join("libloop.so");
    symlink("libloop.so", &looping).unwrap();
    let good = d.join("libz.so.1");
    fs::write(&good, libz()).unwrap();
    let bad: [(&Path, &str); 6] = [
        (&fifo, "FIFO"),
        (&script, "GNU ld script"),
        (&empty, "too short"),
        (&dir, "directory"),
        (&dangling, "no such file"),
        (&looping, "symbolic links"),
    ];
    let mut args: Vec<String> = bad.iter().map(|(p, _)| p.display().to_string()).collect();
    args.insert(2, good.display().to_string());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, err, code) = soclash_deps(d, &argv);
    assert_eq!(code, Some(2), "exit status; stderr:\n{err}");
    // The good file's block, in its place among the others.
    let good_header = format!("{}:", good.display());
    let at = out
        .iter()
        .position(|l| *l == good_header)
        .unwrap_or_else(|| panic!("no block for {}: {out:?}", good.display()));
    assert!(
        out.get(at + 1)
            .is_some_and(|l| l.starts_with("\tlibc.so.6 => /")),
        "libz's block: {out:?}"
    );
    for (p, reason) in bad {
        let shown = p.display().to_string();
        assert!(
            out.contains(&format!("{shown}:")),
            "no header line for {shown}: {out:?}"
        );
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.contains(&format!("{shown}:")))
            .collect();
        assert_eq!(lines.len(), 1, "one stderr line for {shown}:\n{err}");
        assert!(
            lines[0].starts_with("soclash: ") && lines[0].contains(reason),
            "{shown}: expected the reason {reason:?}: {}",
            lines[0]
        );
    }
    assert!(
        !err.contains(&good_header),
        "the good library is not reported:\n{err}"
    );
}

/// A file cut after its dynamic section still parses, but ld.so maps every
/// PT_LOAD whole and would SIGBUS on the missing tail: say so.
#[test]
fn truncated_after_dynamic_reports_short_pt_load() {
    let full = libz();
    let l = layout(&full);
    let end = l
        .loads
        .iter()
        .map(|&(_, off, filesz, _)| (off + filesz) as usize)
        .max()
        .expect("fixture has PT_LOAD");
    let dyn_end = l.dynamic.0 + l.dynamic.1;
    assert!(
        end > dyn_end,
        "fixture's last PT_LOAD must extend past .dynamic"
    );
    let cut = &full[..end - 1];
    let f = expect_problem(cut, "cut one byte before the last PT_LOAD ends", "PT_LOAD");
    assert!(!f.needed.is_empty(), "the dynamic section is still read");
    let whole = read_bytes(&full, Detail::Symbols, "whole libz").expect("libz parses");
    assert!(!has_problem(&whole, "PT_LOAD"), "{:?}", whole.problems);
}
