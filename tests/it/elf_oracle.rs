//! Differential test of `soclash::elf` against goblin, over every ELF file
//! of the web stack installed on this machine.
//!
//! Our reader walks program headers and the dynamic segment through
//! positional reads; goblin parses the whole file from memory and leans on
//! section headers for symbol versions. Two independent readers agreeing on
//! a thousand real files is the evidence that `ElfFacts` is right. Where
//! they legitimately differ, the difference is encoded below with the reason,
//! and checked rather than skipped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use goblin::elf::Elf;
use rayon::prelude::*;
use soclash::elf::{self, Class, Detail, ElfFacts};

use crate::common::tempdir;

/// Fewer ELF files than this means the web stack is not installed and the
/// comparison would prove nothing.
const MIN_FILES: usize = 200;

const DT_SYMBOLIC: u64 = 16;
const DT_BIND_NOW: u64 = 24;
const DT_AUXILIARY: u64 = 0x7fff_fffd;
const DT_FILTER: u64 = 0x7fff_ffff;
const DF_SYMBOLIC: u64 = 0x2;
const DF_TEXTREL: u64 = 0x4;
const DF_BIND_NOW: u64 = 0x8;
const DF_1_NOW: u64 = 0x1;
const NT_GNU_BUILD_ID: u32 = 3;
const NT_GNU_PROPERTY_TYPE_0: u32 = 5;
const GNU_PROPERTY_X86_ISA_1_NEEDED: u32 = 0xc000_8002;
const VERSYM_VERSION: u16 = 0x7fff;

/// The legitimate differences between goblin and us, see `compare`.
const TEXTREL_FLAG_ONLY: &str =
    "textrel from DF_TEXTREL without DT_TEXTREL (goblin's flag is the tag)";
const JMPREL_IN_RELA: &str = "DT_JMPREL inside the DT_RELA range (goblin counts it twice)";

/// Version requirements as compared: file, then (name, flags, index) of
/// each auxiliary entry.
type Needs<'a> = Vec<(&'a [u8], Vec<(&'a [u8], u16, u16)>)>;

/// The directories of the corpus.
fn corpus_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![
        PathBuf::from("/usr/lib/x86_64-linux-gnu"),
        PathBuf::from("/usr/lib/apache2/modules"),
        PathBuf::from("/usr/lib/php"),
    ];
    if let Ok(rd) = std::fs::read_dir("/usr/lib") {
        let mut py: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
            .map(|e| e.path().join("lib-dynload"))
            .filter(|p| p.is_dir())
            .collect();
        py.sort();
        dirs.extend(py);
    }
    dirs
}

/// Regular files (symlinks skipped) starting with `\x7fELF`, one path per
/// (device, inode): hard links (Mesa's `dri/*.so`) are one file.
fn corpus() -> (Vec<PathBuf>, usize) {
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    let mut paths = 0usize;
    for dir in corpus_dirs() {
        for entry in walkdir::WalkDir::new(&dir)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
        {
            if !entry.file_type().is_file() {
                continue;
            }
            let mut magic = [0u8; 4];
            let is_elf = File::open(entry.path())
                .and_then(|mut f| f.read_exact(&mut magic))
                .is_ok()
                && magic == *b"\x7fELF";
            if !is_elf {
                continue;
            }
            paths += 1;
            let Ok(meta) = entry.metadata() else { continue };
            if seen.insert((meta.dev(), meta.ino())) {
                files.push(entry.into_path());
            }
        }
    }
    (files, paths)
}

/// What one file contributed.
#[derive(Default)]
struct Tally {
    needed: usize,
    with_build_id: usize,
    with_isa_needed: usize,
    with_rpath_or_runpath: usize,
    symbols: usize,
    versioned_symbols: usize,
    relocations: usize,
    version_definitions: usize,
    version_requirements: usize,
    /// Legitimate differences met, by kind.
    explained: BTreeMap<&'static str, usize>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.needed += other.needed;
        self.with_build_id += other.with_build_id;
        self.with_isa_needed += other.with_isa_needed;
        self.with_rpath_or_runpath += other.with_rpath_or_runpath;
        self.symbols += other.symbols;
        self.versioned_symbols += other.versioned_symbols;
        self.relocations += other.relocations;
        self.version_definitions += other.version_definitions;
        self.version_requirements += other.version_requirements;
        for (k, v) in &other.explained {
            *self.explained.entry(k).or_default() += v;
        }
    }
}

/// Collects mismatches of one file as `field: ours vs goblin`.
struct Diff<'a> {
    path: &'a Path,
    out: Vec<String>,
}

impl Diff<'_> {
    fn check<T: std::fmt::Debug + PartialEq>(&mut self, field: &str, ours: T, goblin: T) {
        if ours != goblin {
            self.out.push(format!(
                "{}: {field}: ours {ours:?} vs goblin {goblin:?}",
                self.path.display()
            ));
        }
    }
}

fn gstr<'a>(elf: &Elf<'a>, off: usize) -> Option<&'a [u8]> {
    elf.dynstrtab.get_at(off).map(str::as_bytes)
}

fn bytes(s: Option<&bstr::BString>) -> Option<&[u8]> {
    s.map(|s| s.as_slice())
}

fn as_slices(v: &[bstr::BString]) -> Vec<&[u8]> {
    v.iter().map(|s| s.as_slice()).collect()
}

/// Compares one file; mismatches go to `diff`.
fn compare(path: &Path, data: &[u8], ours: &ElfFacts, g: &Elf<'_>, diff: &mut Diff<'_>) -> Tally {
    let mut tally = Tally::default();

    // --- Header and program headers.
    diff.check(
        "class",
        ours.class,
        Some(if g.is_64 { Class::Elf64 } else { Class::Elf32 }),
    );
    diff.check("little_endian", ours.little_endian, g.little_endian);
    diff.check("machine", ours.machine, g.header.e_machine);
    diff.check("e_type", ours.e_type, g.header.e_type);
    diff.check("e_phentsize", ours.e_phentsize, g.header.e_phentsize);
    diff.check(
        "interpreter",
        bytes(ours.interpreter.as_ref()),
        g.interpreter.map(str::as_bytes),
    );
    diff.check("dynamic", ours.dynamic, g.dynamic.is_some());

    // PT_GNU_STACK: executable when absent or PF_X.
    let g_exec_stack = g
        .program_headers
        .iter()
        .find(|p| p.p_type == goblin::elf::program_header::PT_GNU_STACK)
        .is_none_or(|p| p.p_flags & goblin::elf::program_header::PF_X != 0);
    diff.check("exec_stack", ours.exec_stack, g_exec_stack);

    // Notes of the PT_NOTE segments: the build-id (the last NT_GNU_BUILD_ID;
    // ours keeps the last one it meets too) and the x86 ISA level needed
    // (GNU_PROPERTY_X86_ISA_1_NEEDED of NT_GNU_PROPERTY_TYPE_0, decoded here
    // by hand from goblin's note).
    let mut build_id = None;
    let mut isa_needed = None;
    if let Some(notes) = g.iter_note_headers(data) {
        for note in notes {
            match note {
                Ok(n) if n.name == "GNU" && n.n_type == NT_GNU_BUILD_ID => {
                    build_id = Some(n.desc.to_vec());
                }
                Ok(n) if n.name == "GNU" && n.n_type == NT_GNU_PROPERTY_TYPE_0 => {
                    if let Some(v) = x86_isa_needed(n.desc, g.is_64) {
                        isa_needed = Some(v);
                    }
                }
                Ok(_) => {}
                Err(e) => diff.out.push(format!(
                    "{}: goblin could not read a note: {e}",
                    path.display()
                )),
            }
        }
    }
    diff.check("build_id", ours.build_id.as_deref(), build_id.as_deref());
    diff.check("isa_needed", ours.isa_needed, isa_needed);
    tally.with_build_id += usize::from(ours.build_id.is_some());
    tally.with_isa_needed += usize::from(ours.isa_needed.is_some());

    // --- Dynamic section.
    let Some(dynamic) = &g.dynamic else {
        diff.check("needed", ours.needed.len(), 0);
        return tally;
    };
    let info = &dynamic.info;
    diff.check(
        "soname",
        bytes(ours.soname.as_ref()),
        g.soname.map(str::as_bytes),
    );
    diff.check(
        "needed",
        ours.needed.iter().map(|s| s.as_slice()).collect::<Vec<_>>(),
        g.libraries.iter().map(|s| s.as_bytes()).collect::<Vec<_>>(),
    );
    // goblin lists every DT_RPATH/DT_RUNPATH; ld.so (and we) keep the last
    // of each tag (`l_info[tag]` is overwritten while scanning `.dynamic`).
    diff.check(
        "rpath",
        bytes(ours.rpath.as_ref()),
        g.rpaths.last().map(|s| s.as_bytes()),
    );
    diff.check(
        "runpath",
        bytes(ours.runpath.as_ref()),
        g.runpaths.last().map(|s| s.as_bytes()),
    );
    tally.needed += ours.needed.len();
    tally.with_rpath_or_runpath += usize::from(ours.rpath.is_some() || ours.runpath.is_some());
    diff.check("DT_FLAGS", ours.flags, info.flags);
    diff.check("DT_FLAGS_1", ours.flags_1, info.flags_1);
    // Filters, DT_SYMBOLIC and DT_BIND_NOW from goblin's raw entries.
    let tag_strings = |tag: u64| -> Vec<&[u8]> {
        dynamic
            .dyns
            .iter()
            .filter(|d| d.d_tag == tag)
            .map(|d| gstr(g, d.d_val as usize).unwrap_or(b"<bad>"))
            .collect()
    };
    diff.check(
        "DT_AUXILIARY",
        as_slices(&ours.auxiliary),
        tag_strings(DT_AUXILIARY),
    );
    diff.check("DT_FILTER", as_slices(&ours.filter), tag_strings(DT_FILTER));
    let has_tag = |tag: u64| dynamic.dyns.iter().any(|d| d.d_tag == tag);
    diff.check(
        "symbolic",
        ours.symbolic,
        has_tag(DT_SYMBOLIC) || info.flags & DF_SYMBOLIC != 0,
    );
    diff.check(
        "bind_now",
        ours.bind_now,
        has_tag(DT_BIND_NOW) || info.flags & DF_BIND_NOW != 0 || info.flags_1 & DF_1_NOW != 0,
    );
    // goblin's `textrel` is the DT_TEXTREL tag only; ours is what ld.so acts
    // on: DT_TEXTREL or DF_TEXTREL in DT_FLAGS (modern linkers emit both,
    // `-z text` neither).
    let g_textrel = info.textrel || info.flags & DF_TEXTREL != 0;
    if ours.textrel && !info.textrel && g_textrel {
        *tally.explained.entry(TEXTREL_FLAG_ONLY).or_default() += 1;
    }
    diff.check("textrel", ours.textrel, g_textrel);

    // --- Version definitions (goblin: SHT_GNU_VERDEF; ours: DT_VERDEF).
    let gdefs: Vec<(u16, u16, Vec<&[u8]>)> = g
        .verdef
        .as_ref()
        .map(|vd| {
            vd.iter()
                .map(|d| {
                    let names = d
                        .iter()
                        .map(|a| gstr(g, a.vda_name).unwrap_or(b"<bad>"))
                        .collect();
                    (d.vd_ndx, d.vd_flags, names)
                })
                .collect()
        })
        .unwrap_or_default();
    let odefs: Vec<(u16, u16, Vec<&[u8]>)> = ours
        .version_definitions
        .iter()
        .map(|d| {
            let mut names = vec![d.name.as_slice()];
            names.extend(d.parents.iter().map(|p| p.as_slice()));
            (d.index, d.flags, names)
        })
        .collect();
    tally.version_definitions += odefs.len();
    diff.check("version definitions", &odefs, &gdefs);

    // --- Version requirements. `vna_other` is compared without bit 15, as
    // glibc reads it (`aux->vna_other & 0x7fff` in dl-version.c); the raw
    // value never has it set in this corpus, which is checked.
    let mut gneeds: Needs<'_> = Vec::new();
    if let Some(vn) = g.verneed.as_ref() {
        for need in vn.iter() {
            let auxes = need
                .iter()
                .map(|a| {
                    if a.vna_other & !VERSYM_VERSION != 0 {
                        diff.out.push(format!(
                            "{}: vna_other {:#x} has bit 15 set",
                            path.display(),
                            a.vna_other
                        ));
                    }
                    (
                        gstr(g, a.vna_name).unwrap_or(b"<bad>"),
                        a.vna_flags,
                        a.vna_other & VERSYM_VERSION,
                    )
                })
                .collect();
            gneeds.push((gstr(g, need.vn_file).unwrap_or(b"<bad>"), auxes));
        }
    }
    let oneeds: Needs<'_> = ours
        .version_requirements
        .iter()
        .map(|r| {
            (
                r.file.as_slice(),
                r.versions
                    .iter()
                    .map(|v| (v.name.as_slice(), v.flags, v.index))
                    .collect(),
            )
        })
        .collect();
    tally.version_requirements += oneeds.iter().map(|n| n.1.len()).sum::<usize>();
    diff.check("version requirements", &oneeds, &gneeds);

    // --- Dynamic symbols.
    let gsyms: Vec<goblin::elf::Sym> = g.dynsyms.iter().collect();
    // The count. Ours is DT_HASH's nchain, else one past the last symbol
    // reachable through DT_GNU_HASH. goblin prefers DT_GNU_HASH, returns 0
    // when every bucket is empty, and then raises the count to cover the
    // symbols relocations name. The `.dynsym` section header, when the file
    // has one, is a third witness: both must match it. (An all-empty
    // DT_GNU_HASH is where goblin's count is a guess; it never occurs in
    // this corpus, and `empty_gnu_hash_keeps_every_symbol` covers it.)
    let shdr_dynsyms = g
        .section_headers
        .iter()
        .find(|s| s.sh_type == goblin::elf::section_header::SHT_DYNSYM && s.sh_entsize != 0)
        .map(|s| (s.sh_size / s.sh_entsize) as usize);
    if let Some(n) = shdr_dynsyms {
        diff.check("symbol count vs .dynsym section", ours.symbols.len(), n);
    }
    diff.check("symbol count", ours.symbols.len(), gsyms.len());
    let compared = ours.symbols.len().min(gsyms.len());
    let gversym = g.versym.as_ref();
    for (i, (o, gs)) in ours.symbols.iter().zip(&gsyms).enumerate().take(compared) {
        let before = diff.out.len();
        diff.check(
            &format!("symbol {i} name"),
            Some(o.name.as_slice()),
            gstr(g, gs.st_name),
        );
        diff.check(&format!("symbol {i} bind"), o.bind, gs.st_bind());
        diff.check(&format!("symbol {i} type"), o.kind, gs.st_type());
        diff.check(
            &format!("symbol {i} visibility"),
            o.visibility,
            gs.st_visibility(),
        );
        diff.check(
            &format!("symbol {i} defined"),
            o.is_defined(),
            gs.st_shndx != 0,
        );
        diff.check(&format!("symbol {i} value"), o.value, gs.st_value);
        diff.check(&format!("symbol {i} size"), o.size, gs.st_size);
        let gv = gversym.and_then(|v| v.get_at(i));
        diff.check(
            &format!("symbol {i} version"),
            o.version.as_ref().map(|v| (v.index, v.hidden)),
            gv.map(|v| (v.version(), v.is_hidden())),
        );
        if let Some(v) = &o.version {
            tally.versioned_symbols += 1;
            // The (name, file) we attach, from goblin's tables: a defined
            // symbol's index names a definition first, an undefined one's a
            // requirement first (dl-lookup.c's reading).
            let def = || {
                gdefs
                    .iter()
                    .find(|d| d.0 == v.index)
                    .and_then(|d| Some((*d.2.first()?, None)))
            };
            let need = || {
                gneeds.iter().find_map(|(file, auxes)| {
                    auxes
                        .iter()
                        .find(|a| a.2 == v.index)
                        .map(|a| (a.0, Some(*file)))
                })
            };
            let want = if v.index <= 1 {
                None
            } else if o.is_defined() {
                def().or_else(need)
            } else {
                need().or_else(def)
            };
            diff.check(
                &format!("symbol {i} version name"),
                v.name
                    .as_ref()
                    .map(|n| (n.as_slice(), bytes(v.file.as_ref()))),
                want,
            );
        }
        if diff.out.len() > before + 20 {
            break;
        }
        tally.symbols += 1;
    }

    // --- Relocations that name a symbol, as a multiset of (type, name).
    let mut greloc: HashMap<(u32, &[u8]), i64> = HashMap::new();
    for r in g
        .dynrelas
        .iter()
        .chain(g.dynrels.iter())
        .chain(g.pltrelocs.iter())
    {
        if r.r_sym == 0 {
            continue;
        }
        let name = g
            .dynsyms
            .get(r.r_sym)
            .and_then(|s| gstr(g, s.st_name))
            .unwrap_or(b"<bad symbol>");
        *greloc.entry((r.r_type, name)).or_default() += 1;
    }
    // A linker may let DT_RELASZ cover DT_JMPREL too (the PLT relocations
    // at the end of the DT_RELA range); glibc then processes them once, as
    // PLT relocations, and so do we. goblin reads both ranges and counts
    // them twice: take the overlap out of goblin's side. (GNU ld on x86-64
    // keeps the ranges apart: not met in Debian 12's corpus.)
    let overlap = jmprel_inside_rela(info);
    if overlap {
        *tally.explained.entry(JMPREL_IN_RELA).or_default() += 1;
        for r in g.pltrelocs.iter().filter(|r| r.r_sym != 0) {
            let name = g
                .dynsyms
                .get(r.r_sym)
                .and_then(|s| gstr(g, s.st_name))
                .unwrap_or(b"<bad symbol>");
            *greloc.entry((r.r_type, name)).or_default() -= 1;
        }
    }
    let mut oreloc: HashMap<(u32, &[u8]), i64> = HashMap::new();
    for r in &ours.relocations {
        let name = ours
            .symbols
            .get(r.symbol as usize)
            .map_or(&b"<bad symbol>"[..], |s| s.name.as_slice());
        *oreloc.entry((r.r_type, name)).or_default() += 1;
    }
    tally.relocations += ours.relocations.len();
    greloc.retain(|_, n| *n != 0);
    if oreloc != greloc {
        let mut keys: Vec<_> = oreloc.keys().chain(greloc.keys()).copied().collect();
        keys.sort();
        keys.dedup();
        let mut text = String::new();
        let differing = keys.iter().filter(|k| oreloc.get(k) != greloc.get(k));
        for k in differing.take(10) {
            let _ = write!(
                text,
                " (type {} {}: ours {:?} goblin {:?})",
                k.0,
                String::from_utf8_lossy(k.1),
                oreloc.get(k),
                greloc.get(k)
            );
        }
        diff.out
            .push(format!("{}: relocations differ:{text}", path.display()));
    }
    tally
}

/// `GNU_PROPERTY_X86_ISA_1_NEEDED` from the descriptor of a property note:
/// (pr_type, pr_datasz, data padded to the class's word size) records.
fn x86_isa_needed(desc: &[u8], is_64: bool) -> Option<u32> {
    let align = if is_64 { 8 } else { 4 };
    let u32_at = |o: usize| {
        desc.get(o..o.checked_add(4)?)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut off = 0usize;
    let mut found = None;
    while let (Some(pr_type), Some(size)) = (u32_at(off), u32_at(off + 4)) {
        if pr_type == GNU_PROPERTY_X86_ISA_1_NEEDED && size == 4 {
            found = u32_at(off + 8);
        }
        off = (off + 8 + size as usize).next_multiple_of(align);
    }
    found
}

/// DT_JMPREL..+DT_PLTRELSZ ends exactly where DT_RELA..+DT_RELASZ does.
fn jmprel_inside_rela(info: &goblin::elf::dynamic::DynamicInfo) -> bool {
    info.pltrelsz != 0
        && info.relasz != 0
        && info.pltrel == goblin::elf::dynamic::DT_RELA
        && info.jmprel >= info.rela
        && info.jmprel + info.pltrelsz == info.rela + info.relasz
}

#[test]
fn elf_facts_agree_with_goblin() {
    let start = Instant::now();
    let (files, paths) = corpus();
    assert!(
        files.len() >= MIN_FILES,
        "only {} ELF files under {:?}: the web stack is not installed; .ci/run installs \
         apache2, libapache2-mod-php, php, python3 and their libraries before the tests",
        files.len(),
        corpus_dirs()
    );
    let total = Mutex::new(Tally::default());
    let mismatches = Mutex::new(Vec::<String>::new());
    let bytes_read = std::sync::atomic::AtomicU64::new(0);
    files.par_iter().for_each(|path| {
        let mut diff = Diff {
            path,
            out: Vec::new(),
        };
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                diff.out
                    .push(format!("{}: cannot read: {e}", path.display()));
                mismatches.lock().unwrap().extend(diff.out);
                return;
            }
        };
        bytes_read.fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let ours = File::open(path)
            .map_err(elf::Error::from)
            .and_then(|f| elf::read(f, Detail::Symbols));
        let g = Elf::parse(&data);
        match (ours, g) {
            (Ok(ours), Ok(g)) => {
                if !ours.problems.is_empty() {
                    diff.out.push(format!(
                        "{}: problems on a well-formed file: {:?}",
                        path.display(),
                        ours.problems
                    ));
                }
                let t = compare(path, &data, &ours, &g, &mut diff);
                total.lock().unwrap().add(&t);
            }
            (Err(e), Ok(_)) => diff.out.push(format!(
                "{}: ours failed, goblin parsed: {e}",
                path.display()
            )),
            (Ok(_), Err(e)) => diff.out.push(format!(
                "{}: goblin failed, ours parsed: {e}",
                path.display()
            )),
            (Err(a), Err(b)) => diff.out.push(format!(
                "{}: both failed: ours {a}, goblin {b}",
                path.display()
            )),
        }
        if !diff.out.is_empty() {
            mismatches.lock().unwrap().extend(diff.out);
        }
    });
    let total = total.into_inner().unwrap();
    let mismatches = mismatches.into_inner().unwrap();
    eprintln!(
        "elf oracle: {} files ({} ELF paths, hard links once, {} MB): {} DT_NEEDED, \
         {} with RPATH/RUNPATH, {} with a build-id, {} with an x86 ISA level, {} dynamic \
         symbols ({} with a version), {} relocations naming a symbol, {} version \
         definitions, {} version requirements compared in {:.1} s",
        files.len(),
        paths,
        bytes_read.into_inner() >> 20,
        total.needed,
        total.with_rpath_or_runpath,
        total.with_build_id,
        total.with_isa_needed,
        total.symbols,
        total.versioned_symbols,
        total.relocations,
        total.version_definitions,
        total.version_requirements,
        start.elapsed().as_secs_f64()
    );
    for kind in [TEXTREL_FLAG_ONLY, JMPREL_IN_RELA] {
        let n = total.explained.get(kind).copied().unwrap_or(0);
        eprintln!("elf oracle: explained difference met in {n} files: {kind}");
    }
    let files_with_mismatch: HashSet<&str> = mismatches
        .iter()
        .filter_map(|m| m.split(": ").next())
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} mismatches in {} of {} files:\n{}",
        mismatches.len(),
        files_with_mismatch.len(),
        files.len(),
        mismatches
            .iter()
            .take(100_000)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        total.symbols > 10_000,
        "too few symbols compared: {}",
        total.symbols
    );
    assert!(
        total.relocations > 1_000,
        "too few relocations compared: {}",
        total.relocations
    );
}

/// A library that exports nothing (everything hidden) and imports a few
/// functions: its DT_GNU_HASH has no hashed symbol, so GNU ld writes the
/// special empty table (one empty bucket, `symoffset` 1) and the table says
/// nothing about how many undefined symbols precede it. Not met in the
/// corpus above, so built here.
#[test]
fn empty_gnu_hash_keeps_every_symbol() {
    let t = tempdir();
    let d = t.path();
    std::fs::write(
        d.join("a.c"),
        "#include <stdio.h>\n\
         static void f(void) { puts(\"x\"); }\n\
         void g(void) { f(); }\n",
    )
    .unwrap();
    let out = std::process::Command::new("gcc")
        .current_dir(d)
        .args([
            "-shared",
            "-fPIC",
            "-fvisibility=hidden",
            "-Wl,--hash-style=gnu",
        ])
        .args(["-o", "libhidden.so", "a.c"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run gcc ({e}): .ci/run must install the gcc package"));
    assert!(
        out.status.success(),
        "gcc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = d.join("libhidden.so");
    let data = std::fs::read(&path).unwrap();
    let g = Elf::parse(&data).expect("goblin parses the fixture");
    let ours = elf::read(File::open(&path).unwrap(), Detail::Symbols).unwrap();
    // The fixture is what it claims: no DT_HASH, and one empty bucket.
    let info = &g.dynamic.as_ref().expect("dynamic").info;
    assert!(info.hash.is_none(), "fixture has DT_HASH");
    let gh = info.gnu_hash.expect("fixture has DT_GNU_HASH") as usize;
    let word = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
    assert_eq!((word(gh), word(gh + 4)), (1, 1), "nbuckets, symoffset");
    assert_eq!(word(gh + 16 + 8), 0, "the only bucket is empty");
    let mut diff = Diff {
        path: &path,
        out: Vec::new(),
    };
    compare(&path, &data, &ours, &g, &mut diff);
    if !ours.problems.is_empty() {
        diff.out
            .push(format!("{}: problems: {:?}", path.display(), ours.problems));
    }
    assert!(diff.out.is_empty(), "{}", diff.out.join("\n"));
    assert!(
        ours.symbols.len() > 1,
        "only {} symbols",
        ours.symbols.len()
    );
}
