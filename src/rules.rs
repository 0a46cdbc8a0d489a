//! Built-in findings from the binding model: one problem, one finding.
//!
//! - `symbol-interposition`: references that bind outside the group their
//!   object would bind in when loaded on its own (glibc's
//!   `elf/dl-lookup.c`), one per pair of losing and winning object, its
//!   severity from what crosses ([`consequence`]); [`group`] then makes one
//!   finding per root cause of the pairs and the signatures that explain
//!   them;
//! - `duplicate-soname-different-file`: an object expects a soname at one
//!   file, the process already has that soname from another (rule L1);
//! - `missing-symbol-version`: a required version its file does not define
//!   (rule B10: the load fails);
//! - `unresolved-symbol`: a strong reference nothing in the process defines
//!   (B16).
//!
//! Interpositions that are the design of the toolchain or of the host, not
//! clashes, are recognised by [`benign`], each with its reason.
//!
//! The findings that need no process model (`unresolved-dependency`,
//! `wrong-architecture`, `stale-ld-cache`) are in [`inventory`]; the
//! catalogue's known clashes are [`signature`]s, matched by [`matcher`].
//! To add a built-in rule, write its function in the submodule whose facts
//! it reads and call it from [`process_findings`] (or, for an inventory
//! rule, from `scan`).

pub mod consequence;
pub mod group;
pub mod inventory;
pub mod live;
pub mod matcher;
pub mod signature;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::elf::{ElfFacts, RelocClass};
use crate::image::ProcessImage;
use crate::image::bind::{Bindings, Reference};
use crate::model::{Binding, Finding};
use crate::model::{Certainty, FindingId, Severity};
use consequence::{file_version, version_text};

/// Bindings listed per finding; the rest are counted.
const EVIDENCE: usize = 5;

/// Every built-in binding finding of one modelled process.
pub fn process_findings(image: &ProcessImage, bindings: &Bindings) -> Vec<Finding> {
    let mut out = interpositions(image, bindings);
    out.extend(duplicate_sonames(image, bindings));
    out.extend(missing_versions(image));
    out.extend(unresolved_symbols(image, bindings));
    out.into_iter().map(capped).collect()
}

/// Why an interposed reference is not a clash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Benign {
    /// `get_module`, Apache's `*_module` records, Python's `PyInit_*` and
    /// `init<name>`: the host finds them with `dlsym(handle)`, which
    /// searches the module's own group first; two modules exporting the same
    /// entry point is the convention, and httpd refuses a second module of
    /// the same name.
    EntryPoint,
    /// `_end`, `_edata`, `__bss_start`, `_init`, `_fini`: every object has
    /// its own, written by the static linker; nobody means another's.
    LinkerDefined,
    /// glibc's objects export some symbols twice on purpose (`modf` in libc
    /// and libm, `_dl_catch_error` in ld.so and libc, libpthread's stubs);
    /// whichever glibc object answers is the same code base and release.
    Glibc,
    /// C++ inline functions, template instances, typeinfo and vtables are
    /// weak or unique definitions emitted into every object that uses them;
    /// the One Definition Rule says they are the same, and binding all
    /// references to the first copy is how C++ works. An `STB_GNU_UNIQUE`
    /// definition of any name means "one copy per process" (B14).
    VagueLinkage,
    /// The executable's `COPY` relocation moved the data into the
    /// executable; every reference must then use that copy (B15).
    CopyRelocation,
    /// A non-PIE executable's canonical PLT entry (an undefined symbol
    /// with an address) answers pointers to a library function so that
    /// its address is the same everywhere; calls through it reach the
    /// library's function (B7).
    CanonicalPltEntry,
}

/// Symbols the static linker defines in every object.
const LINKER_DEFINED: [&str; 8] = [
    "_end",
    "_edata",
    "_etext",
    "__bss_start",
    "__end__",
    "_init",
    "_fini",
    "_DYNAMIC",
];

/// Sonames of glibc's own objects (and their prefixes for the versioned
/// ones).
fn is_glibc(f: &ElfFacts) -> bool {
    let Some(soname) = f.soname.as_ref() else {
        return false;
    };
    let s = soname.as_slice();
    [
        b"libc.so.".as_slice(),
        b"libm.so.",
        b"libpthread.so.",
        b"libdl.so.",
        b"librt.so.",
        b"libresolv.so.",
        b"libutil.so.",
        b"libanl.so.",
        b"libnsl.so.1",
        b"libmvec.so.",
        b"libBrokenLocale.so.",
        b"libc_malloc_debug.so.",
        b"libthread_db.so.",
        b"ld-linux",
        b"ld64.so.",
        b"ld.so.",
        b"libnss_files.so.",
        b"libnss_dns.so.",
        b"libnss_compat.so.",
        b"libnss_db.so.",
        b"libnss_hesiod.so.",
    ]
    .iter()
    .any(|p| s.starts_with(p))
}

/// Whether an interposed reference is by design, and why.
pub fn benign(image: &ProcessImage, r: &Reference) -> Option<Benign> {
    const WEAK: u8 = 2;
    const UNIQUE: u8 = 10;
    let name = &*r.symbol;
    let facts = |p: &Option<Arc<str>>| p.as_deref().and_then(|p| image.link.facts(p));
    let (expected, actual) = (facts(&r.expected), facts(&r.binds_to));
    let file_stem = |p: &Option<Arc<str>>| -> String {
        p.as_deref()
            .and_then(|p| p.rsplit('/').next())
            .and_then(|n| n.split('.').next())
            .unwrap_or_default()
            .to_string()
    };
    let loaded_by = |p: &Option<Arc<str>>, what: &str| {
        image
            .members
            .iter()
            .any(|m| Some(m.object.as_str()) == p.as_deref() && m.via.starts_with(what))
    };
    if name == "get_module"
        || name.starts_with("PyInit_")
        || name.strip_prefix("init").is_some_and(|m| {
            !m.is_empty() && (m == file_stem(&r.expected) || m == file_stem(&r.binds_to))
        })
        || (name.ends_with("_module")
            && (loaded_by(&r.expected, "LoadModule") || loaded_by(&r.binds_to, "LoadModule")))
    {
        return Some(Benign::EntryPoint);
    }
    if LINKER_DEFINED.contains(&name) {
        return Some(Benign::LinkerDefined);
    }
    if expected.is_some_and(is_glibc) && actual.is_some_and(is_glibc) {
        return Some(Benign::Glibc);
    }
    // A file that defines nothing weak or unique of the kind asked
    // answers without a lookup of the name.
    let defined_as = |f: Option<&ElfFacts>, binds: &[u8]| {
        f.is_some_and(|f| {
            let v = f.vague_linkage();
            (if binds.contains(&WEAK) {
                v.weak_cxx
            } else {
                v.unique
            }) && f
                .named(name.as_bytes())
                .any(|s| s.is_defined() && binds.contains(&s.bind))
        })
    };
    if (name.starts_with("_Z")
        && (defined_as(expected, &[WEAK, UNIQUE]) || defined_as(actual, &[WEAK, UNIQUE])))
        || defined_as(expected, &[UNIQUE])
        || defined_as(actual, &[UNIQUE])
    {
        return Some(Benign::VagueLinkage);
    }
    let exec = image.members.first().map(|m| m.object.as_str());
    if r.binds_to.is_none() || r.binds_to.as_deref() != exec {
        return None;
    }
    if actual.is_some_and(|f| {
        f.relocations.iter().any(|x| {
            x.class == RelocClass::Copy
                && f.symbols
                    .get(x.symbol as usize)
                    .is_some_and(|s| s.name.as_slice() == name.as_bytes())
        })
    }) {
        return Some(Benign::CopyRelocation);
    }
    let canonical_plt = actual.is_some_and(|f| {
        f.named(name.as_bytes())
            .any(|s| !s.is_defined() && s.value != 0)
            && !f.named(name.as_bytes()).any(|s| s.is_defined())
    });
    if canonical_plt {
        return Some(Benign::CanonicalPltEntry);
    }
    None
}

/// The file name of a path.
fn file_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// How sure a finding about references from these members is: certain
/// when one of them is loaded by the configuration, likely when they are
/// loaded only if imported, latent when they are installed only.
fn certainty(members: impl IntoIterator<Item = (bool, bool)>) -> Certainty {
    members
        .into_iter()
        .map(|(may_be_imported, installed_only)| {
            if installed_only {
                Certainty::Latent
            } else if may_be_imported {
                Certainty::Likely
            } else {
                Certainty::Certain
            }
        })
        .min()
        .unwrap_or(Certainty::Certain)
}

/// A what-if about an object the configuration does not load is never
/// above low.
fn capped(f: Finding) -> Finding {
    if f.certainty == Certainty::Latent && f.severity > Severity::Low {
        Finding {
            severity: Severity::Low,
            ..f
        }
    } else {
        f
    }
}

fn member_flags(image: &ProcessImage, i: usize) -> (bool, bool) {
    image
        .members
        .get(i)
        .map_or((false, false), |m| (m.may_be_imported, m.installed_only))
}

fn soname(f: Option<&ElfFacts>) -> Option<String> {
    f?.soname
        .as_ref()
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

/// The member that stands in for an expected definer the process does not
/// hold: ld.so handed the referencing object the file it had already
/// loaded under that soname (or, for a library without one, file name)
/// instead (L1). `None` when the expected definer is a member itself, or
/// nothing answers its name.
fn stand_in<'a>(image: &'a ProcessImage, expected: &str) -> Option<&'a str> {
    if image.members.iter().any(|m| m.object == expected) {
        return None;
    }
    let name = soname(image.link.facts(expected)).unwrap_or_else(|| file_name(expected).into());
    image
        .link
        .members()
        .find(|(p, f)| soname(*f).as_deref() == Some(name.as_str()) || file_name(p) == name)
        .map(|(p, _)| p)
}

/// Two files of one build (the same GNU build ID): the same code, whatever
/// their paths.
fn same_build(a: Option<&ElfFacts>, b: Option<&ElfFacts>) -> bool {
    fn id(f: Option<&ElfFacts>) -> Option<&Vec<u8>> {
        f.and_then(|f| f.build_id.as_ref())
    }
    id(a).is_some() && id(a) == id(b)
}

/// The interposed references that are not by design ([`benign`]), each
/// once: an object's reference to a symbol (and version) that binds
/// elsewhere than expected counts once however many relocations name it
/// (a keymap's hundreds of pointers to one function, a TLS variable's
/// module and offset). What `symbol-interposition` and
/// `duplicate-soname-different-file` count, and `image --format dot` draws.
pub fn clashes<'b>(image: &ProcessImage, bindings: &'b Bindings) -> Vec<&'b Reference> {
    let mut seen = rustc_hash::FxHashSet::default();
    unexplained(image, bindings)
        .into_iter()
        .filter(|r| r.expected.is_some() && r.binds_to.is_some())
        .filter(|r| {
            seen.insert((
                &*r.object,
                &*r.symbol,
                r.version.as_deref(),
                r.expected.as_deref(),
                r.binds_to.as_deref(),
            ))
        })
        .collect()
}

/// The interposed references of the process no design explains
/// ([`benign`]), in order. [`benign`] asks the process only what every
/// process forked from one parent answers alike (its objects' facts by
/// path, whether a path is a `LoadModule` member, the executable), so a
/// run of references shared with others (the parent's members, members
/// bound alike) is judged once for all of them.
pub(crate) fn unexplained<'b>(image: &ProcessImage, bindings: &'b Bindings) -> Vec<&'b Reference> {
    let runs: Vec<&Arc<[Reference]>> = bindings.references.runs().collect();
    let at = bindings.picked.get_or_init(|| {
        picked_at(image, &runs, "unexplained", |r| {
            r.interposed && benign(image, r).is_none()
        })
    });
    at.iter()
        .filter_map(|&(k, i)| runs.get(k as usize)?.get(i as usize))
        .collect()
}

/// The references `keep` keeps, in order. `keep` must ask a reference
/// only what every process forked from one parent answers alike, as
/// [`unexplained`] does: a run shared with others is picked once for all.
fn picked<'b>(
    image: &ProcessImage,
    bindings: &'b Bindings,
    what: &'static str,
    keep: impl Fn(&Reference) -> bool,
) -> Vec<&'b Reference> {
    let runs: Vec<&Arc<[Reference]>> = bindings.references.runs().collect();
    picked_at(image, &runs, what, keep)
        .iter()
        .filter_map(|&(k, i)| runs.get(k as usize)?.get(i as usize))
        .collect()
}

/// [`picked`] as (run, index) pairs.
fn picked_at(
    image: &ProcessImage,
    runs: &[&Arc<[Reference]>],
    what: &'static str,
    keep: impl Fn(&Reference) -> bool,
) -> Vec<(u32, u32)> {
    let picks = image.link.forked.as_deref().map(|f| f.picks());
    let pick = |run: &[Reference]| -> Vec<u32> {
        run.iter()
            .enumerate()
            .filter(|(_, r)| keep(r))
            .filter_map(|(i, _)| u32::try_from(i).ok())
            .collect()
    };
    let mut at = Vec::new();
    for (k, run) in runs.iter().enumerate() {
        let picked = match picks.filter(|_| Arc::strong_count(run) > 1) {
            Some(p) => p.get_or(what, run, pick),
            None => pick(run).into(),
        };
        let k = u32::try_from(k).unwrap_or(u32::MAX);
        at.extend(picked.iter().map(|&i| (k, i)));
    }
    at
}

/// `symbol-interposition`: per (losing, winning) object pair, its
/// severity from what crosses ([`consequence::judge`], capped by
/// [`consequence::interactive_only`]); [`group`] then makes one finding per
/// root cause of them.
fn interpositions(image: &ProcessImage, bindings: &Bindings) -> Vec<Finding> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Reference>> = BTreeMap::new();
    // Each expected definer's stand-in, looked for once: thousands of
    // references share a few.
    let mut stand_ins: rustc_hash::FxHashMap<&str, Option<&str>> = Default::default();
    for r in clashes(image, bindings) {
        let (Some(e), Some(a)) = (r.expected.as_deref(), r.binds_to.as_deref()) else {
            continue;
        };
        let s = *stand_ins.entry(e).or_insert_with(|| stand_in(image, e));
        // Binding to the stand-in for the expected definer is what the
        // substitution does, which `duplicate-soname-different-file`
        // reports, and which changes nothing when the stand-in is the same
        // build. A reference whose expected definer is replaced but that
        // binds elsewhere still is interposed: a third object takes what
        // its own copy (and the stand-in) defines, as when pymssql's
        // bundled libkrb5 is replaced by psycopg2-binary's identical one
        // and both lose to Debian's.
        if s == Some(a) {
            continue;
        }
        groups.entry((e, a)).or_default().push(r);
    }
    let mut out = Vec::new();
    for ((loser, winner), refs) in groups {
        let (loser, winner) = (loser.to_string(), winner.to_string());
        let lf = image.link.facts(&loser);
        let wf = image.link.facts(&winner);
        let symbols: BTreeSet<&str> = refs.iter().map(|r| &*r.symbol).collect();
        let froms: BTreeSet<&str> = refs.iter().map(|r| &*r.object).collect();
        let sure = certainty(refs.iter().map(|r| (r.may_be_imported, r.installed_only)));
        let lazy_only = refs.iter().all(|r| r.at_load.is_some());
        // Variables of the winner among what moves: data, not only code.
        let variables: BTreeSet<&[u8]> = wf
            .map(|f| {
                f.symbols
                    .iter()
                    .filter(|s| s.is_defined() && matches!(s.kind, 1 | 5 | 6))
                    .map(|s| s.name.as_slice())
                    .collect()
            })
            .unwrap_or_default();
        let data = symbols.iter().any(|s| variables.contains(s.as_bytes()));
        let judgement = consequence::judge(&consequence::Pair {
            loser: &loser,
            winner: &winner,
            loser_facts: lf,
            winner_facts: wf,
            loser_refers_itself: froms.contains(loser.as_str()),
            data,
        });
        let interactive =
            consequence::interactive_only(image, froms.iter().map(|f| (*f, winner.as_str())));
        let mut severity = judgement.severity;
        if interactive.is_some() {
            severity = severity.min(Severity::Low);
        }
        let what = plural(symbols.len(), "symbol");
        let data_note = if data { ", data included" } else { "" };
        let others: Vec<&str> = froms
            .iter()
            .filter(|f| **f != loser)
            .map(|f| file_name(f))
            .collect();
        let mut from = Vec::new();
        if froms.contains(loser.as_str()) {
            from.push(format!("{} itself", file_name(&loser)));
        }
        from.extend(others.iter().map(|o| o.to_string()));
        let title = format!(
            "{} takes {what} of {}{data_note}; referenced from {}",
            file_name(&winner),
            file_name(&loser),
            from.join(" and ")
        );
        let mut evidence = vec![
            format!("{}: {}", judgement.severity, judgement.why),
            format!(
                "{} from {} bind to {winner}; loaded on its own, each binds to {loser}",
                plural(refs.len(), "reference"),
                plural(froms.len(), "object"),
            ),
        ];
        if let Some(modules) = &interactive {
            evidence.push(consequence::interactive_note(modules));
        }
        if let Some(s) = stand_in(image, &loser) {
            let name = soname(lf).unwrap_or_else(|| file_name(&loser).into());
            evidence.push(if same_build(lf, image.link.facts(s)) {
                format!(
                    "{loser} itself is not in the process: ld.so reuses {s}, the same build, for {name} (L1: docs/RULES.md), and {} takes these symbols from it too",
                    file_name(&winner)
                )
            } else {
                format!(
                    "{loser} itself is not in the process: ld.so reuses {s}, another build, for {name} (L1; duplicate-soname-different-file)"
                )
            });
        }
        if lazy_only {
            evidence.push(
                "only lazily bound PLT slots: they bind at the first call, here evaluated once everything is loaded (P2: docs/RULES.md); a call before the winner is loaded binds as expected".into(),
            );
        }
        match sure {
            Certainty::Likely => evidence.push(
                "only from Python extension modules: it happens when the application imports them"
                    .into(),
            ),
            Certainty::Latent => evidence.push(
                "only from objects the configuration does not load: it happens if they are enabled"
                    .into(),
            ),
            Certainty::Certain => {}
        }
        let mut objects: Vec<String> = vec![loser.clone(), winner.clone()];
        for f in &froms {
            if !objects.iter().any(|o| o == f) {
                objects.push(f.to_string());
            }
        }
        out.push(Finding {
            id: FindingId::SymbolInterposition,
            severity,
            certainty: sure,
            title,
            process: Some(image.name.clone()),
            processes: Vec::new(),
            objects,
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            bindings: refs.iter().take(EVIDENCE).map(|r| binding(r)).collect(),
            evidence,
            remedy: format!(
                "Keep {} and {} out of one process (disable the module or extension that brings one of them), or rebuild the referencing objects so they bind their own definitions (-Bsymbolic, hidden visibility, prefixed names).",
                file_name(&winner),
                file_name(&loser)
            ),
            references: vec![
                "https://sourceware.org/git/?p=glibc.git;a=blob;f=elf/dl-lookup.c (_dl_lookup_symbol_x: the first definition in scope order wins)".into(),
            ],
            symptoms: Vec::new(),
            status: None,
        });
    }
    out
}

/// A reference as report evidence: `symbol@version`, from, expected, actual
/// (the built-in rules' and the signatures').
fn binding(r: &Reference) -> Binding {
    Binding {
        symbol: match &r.version {
            Some(v) => format!("{}@{v}", r.symbol),
            None => r.symbol.to_string(),
        },
        from: r.object.to_string(),
        expected: r.expected.as_deref().map(str::to_owned),
        actual: r.binds_to.as_deref().map(str::to_owned),
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `duplicate-soname-different-file`: an object loaded on its own gets a
/// soname from one file; in the process, L1 hands it the file loaded first.
fn duplicate_sonames(image: &ProcessImage, bindings: &Bindings) -> Vec<Finding> {
    let members: Vec<(&str, Option<&ElfFacts>)> = image.link.members().collect();
    let by_soname: BTreeMap<String, &str> = members
        .iter()
        .rev()
        .filter_map(|(p, f)| Some((soname(*f)?, *p)))
        .collect();
    // (soname, expected file, file in the process) -> (objects, imports only)
    type Froms = (BTreeSet<String>, Vec<(bool, bool)>);
    let mut groups: BTreeMap<(String, String, String), Froms> = BTreeMap::new();
    // Only references bound elsewhere than expected can have moved to
    // another file of the soname; each group looks through these alone.
    let mut interposed: Option<Vec<&Reference>> = None;
    for (i, (path, _)) in members.iter().enumerate() {
        for (s, sf) in image.link.solo(i).into_iter().skip(1) {
            let Some(name) = soname(sf) else { continue };
            let Some(&have) = by_soname.get(&name) else {
                continue;
            };
            if have == s || same_build(sf, image.link.facts(have)) {
                continue;
            }
            let g = groups
                .entry((name, s.to_string(), have.to_string()))
                .or_default();
            g.0.insert(path.to_string());
            g.1.push(member_flags(image, i));
        }
    }
    groups
        .into_iter()
        .map(|((name, wanted, have), (froms, flags))| {
            let newer_loses = matches!(
                (file_version(&wanted), file_version(&have)),
                (Some(w), Some(h)) if w > h
            );
            let from_list: Vec<&str> = froms.iter().map(|f| file_name(f)).collect();
            let mut objects = vec![wanted.clone(), have.clone()];
            objects.extend(froms.iter().cloned());
            // The references that bind to the file loaded first where,
            // loaded on their own, they bind to the expected copy.
            let mut moved: Vec<&Reference> = Vec::new();
            let interposed = interposed
                .get_or_insert_with(|| picked(image, bindings, "interposed", |r| r.interposed));
            for r in interposed.iter().copied().filter(|r| {
                r.expected.as_deref() == Some(wanted.as_str())
                    && r.binds_to.as_deref() == Some(have.as_str())
            }) {
                if !moved.iter().any(|x| x.object == r.object && x.symbol == r.symbol) {
                    moved.push(r);
                }
            }
            let symbols: BTreeSet<String> = moved.iter().map(|r| r.symbol.to_string()).collect();
            let mut evidence = vec![
                format!("loaded on its own, {} resolves {name} to {wanted}", from_list.join(", ")),
                format!("in the process {name} is already loaded from {have}; ld.so reuses an object whose soname matches (L1: docs/RULES.md), whatever RPATH says"),
            ];
            if !moved.is_empty() {
                evidence.push(format!(
                    "{} expected in {wanted} bind to {have}",
                    plural(moved.len(), "reference")
                ));
            }
            Finding {
                id: FindingId::DuplicateSonameDifferentFile,
                severity: if newer_loses {
                    Severity::Medium
                } else {
                    Severity::Low
                },
                certainty: certainty(flags),
                title: format!(
                    "{} gets {name} from {have} ({}), not {wanted} ({}), because that one is loaded first",
                    from_list.join(", "),
                    version_text(&have),
                    version_text(&wanted)
                ),
                process: Some(image.name.clone()),
                processes: Vec::new(),
                objects,
                symbols: symbols.into_iter().collect(),
                bindings: moved
                    .iter()
                    .take(EVIDENCE)
                    .map(|r| binding(r))
                    .collect(),
                evidence,
                remedy: format!(
                    "Use one {name} for the whole process: update or remove the copy at {wanted} or {have} so that both are the same version."
                ),
                references: vec!["https://sourceware.org/git/?p=glibc.git;a=blob;f=elf/dl-load.c (_dl_map_object: an object already loaded under a matching name or soname is reused)".into()],
                symptoms: Vec::new(),
                status: None,
            }
        })
        .collect()
}

/// `missing-symbol-version`: ld.so's version check at load (B10).
fn missing_versions(image: &ProcessImage) -> Vec<Finding> {
    const VER_FLG_WEAK: u16 = 0x2;
    let members: Vec<(&str, Option<&ElfFacts>)> = image.link.members().collect();
    // The first member that answers each name, by soname or file name
    // (L1): asked for every version requirement of every member.
    let mut answers: rustc_hash::FxHashMap<&[u8], (&str, &ElfFacts)> = Default::default();
    for (p, f) in &members {
        let Some(f) = *f else { continue };
        for name in f
            .soname
            .iter()
            .map(|s| s.as_slice())
            .chain([file_name(p).as_bytes()])
        {
            answers.entry(name).or_insert((*p, f));
        }
    }
    let mut out = Vec::new();
    for (i, (path, facts)) in members.iter().enumerate() {
        let Some(facts) = facts else { continue };
        for req in &facts.version_requirements {
            // The file that answers the name in the process (L1: soname).
            let Some(&(dep, df)) = answers.get(req.file.as_slice()) else {
                continue;
            };
            if df.version_definitions.is_empty() {
                continue;
            }
            let missing: Vec<String> = req
                .versions
                .iter()
                .filter(|v| v.flags & VER_FLG_WEAK == 0)
                .filter(|v| !df.version_definitions.iter().any(|d| d.name == v.name))
                .map(|v| String::from_utf8_lossy(&v.name).into_owned())
                .collect();
            if missing.is_empty() {
                continue;
            }
            let file = String::from_utf8_lossy(&req.file);
            out.push(Finding {
                id: FindingId::MissingSymbolVersion,
                severity: Severity::High,
                certainty: certainty([member_flags(image, i)]),
                title: format!(
                    "{} needs version {} of {file}, which {dep} does not define: it fails to load",
                    file_name(path),
                    missing.join(", ")
                ),
                process: Some(image.name.clone()),
                processes: Vec::new(),
                objects: vec![path.to_string(), dep.to_string()],
                symbols: Vec::new(),
                bindings: Vec::new(),
                evidence: missing
                    .iter()
                    .map(|v| format!("{}: version `{v}' not found (required by {path})", dep))
                    .collect(),
                remedy: format!(
                    "Install the {file} that {} was built against, or rebuild {} against the one this process loads ({dep}).",
                    file_name(path),
                    file_name(path)
                ),
                references: vec!["https://sourceware.org/git/?p=glibc.git;a=blob;f=elf/dl-version.c (_dl_check_map_versions)".into()],
                symptoms: Vec::new(),
                status: None,
            });
        }
    }
    out
}

/// `unresolved-symbol`: strong references nothing in the process defines,
/// per object.
fn unresolved_symbols(image: &ProcessImage, bindings: &Bindings) -> Vec<Finding> {
    // An installed module that needs another installed one (mod_proxy_http
    // needs mod_proxy's exports) is enabled with it (a2enmod follows the
    // `Depends:` of its .load file): what another installed object defines
    // is not missing.
    let installed: BTreeSet<&[u8]> = image
        .link
        .members()
        .zip(&image.members)
        .filter(|(_, m)| m.installed_only)
        .filter_map(|((_, f), _)| f)
        .flat_map(|f| f.symbols.iter())
        .filter(|s| s.is_defined())
        .map(|s| s.name.as_slice())
        .collect();
    let mut groups: BTreeMap<&str, Vec<&Reference>> = BTreeMap::new();
    let unbound = picked(image, bindings, "unbound", |r| {
        r.binds_to.is_none() && !r.weak && !r.direct
    });
    for r in unbound {
        if !r.installed_only || !installed.contains(r.symbol.as_bytes()) {
            let list = groups.entry(&*r.object).or_default();
            if !list.iter().any(|x| x.symbol == r.symbol) {
                list.push(r);
            }
        }
    }
    groups
        .into_iter()
        .map(|(object, refs)| {
            let at_load = refs.iter().any(|r| !r.lazy);
            let symbols: Vec<String> = refs
                .iter()
                .map(|r| match &r.version {
                    Some(v) => format!("{}@{v}", r.symbol),
                    None => r.symbol.to_string(),
                })
                .collect();
            Finding {
                id: FindingId::UnresolvedSymbol,
                severity: if at_load {
                    Severity::High
                } else {
                    Severity::Medium
                },
                certainty: certainty(refs.iter().map(|r| (r.may_be_imported, r.installed_only))),
                title: format!(
                    "{} references {} that nothing in the process defines",
                    file_name(object),
                    plural(symbols.len(), "symbol")
                ),
                process: Some(image.name.clone()),
                processes: Vec::new(),
                objects: vec![object.to_string()],
                symbols: symbols.clone(),
                bindings: refs.iter().take(EVIDENCE).map(|r| binding(r)).collect(),
                evidence: vec![if at_load {
                    format!("{object}: undefined symbol: {} (its load fails)", symbols.first().map_or("", String::as_str))
                } else {
                    format!("symbol lookup error at the first call of {}", symbols.first().map_or("", String::as_str))
                }],
                remedy: format!(
                    "Install or load the library that defines {} for {}, or remove {} from the configuration.",
                    symbols.first().map_or("", String::as_str),
                    file_name(object),
                    file_name(object)
                ),
                references: vec!["https://sourceware.org/git/?p=glibc.git;a=blob;f=elf/dl-lookup.c (_dl_lookup_symbol_x: undefined symbol)".into()],
                symptoms: Vec::new(),
                status: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    //! The built-in findings on hand-made processes (fixture:
    //! `crate::image::bind::tests`).

    use super::*;
    use crate::elf::RelocClass::{Data, Plt};
    use crate::elf::Symbol;
    use crate::image::bind::Scope::{Global, List};
    use crate::image::bind::tests::{
        O, P, VER_FLG_WEAK, copy_relocation_process, data, def, one, undef, unique, weak,
    };
    use crate::image::bind::{BindOptions, bind};

    fn run(p: &P) -> (ProcessImage, Bindings, Vec<Finding>) {
        let image = p.image();
        let b = bind(&image, &BindOptions::default());
        let f = process_findings(&image, &b);
        (image, b, f)
    }

    fn with_id<'a>(f: &'a [Finding], id: &str) -> Vec<&'a Finding> {
        f.iter().filter(|x| x.id == id).collect()
    }

    /// httpd, then modules `a` and `b` loaded `RTLD_GLOBAL` in this order,
    /// both defining `sym`; `b` refers to its own definition, which `a`
    /// interposes (B1, B4).
    fn two_modules(sym: Symbol, a: &str, b: &str, via: &str) -> P {
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new());
        let oa = p.obj(a, O::new().reloc(sym.clone(), Plt));
        let ob = p.obj(b, O::new().reloc(sym, Plt));
        p.link.global = vec![e, oa, ob];
        let me = p.member(e, vec![Global(1)]);
        p.m(me).exec = true;
        let ma = p.member(oa, vec![Global(1), List(vec![oa])]);
        let mb = p.member(ob, vec![Global(2), List(vec![ob])]);
        p.via(ma, via);
        p.via(mb, via);
        p
    }

    /// Asserts that `b`'s reference to `name` is interposed, classified as
    /// `want`, and yields no `symbol-interposition` finding.
    fn assert_benign(p: &P, b: &str, name: &str, want: Option<Benign>) {
        let (image, bindings, f) = run(p);
        let r = one(&bindings, b, name);
        assert!(r.interposed, "{name}: {r:#?}");
        assert_eq!(benign(&image, r), want, "{name}");
        let n = with_id(&f, "symbol-interposition").len();
        assert_eq!(n, usize::from(want.is_none()), "{name}: {f:#?}");
    }

    /// Benign::EntryPoint: `get_module`, `*_module` of modules loaded by
    /// `LoadModule`, `PyInit_*`, `init<file stem>`; a `*_module` symbol of a
    /// `LoadFile` library is no entry point.
    #[test]
    fn benign_entry_points() {
        let cases = [
            (
                def("get_module"),
                "/usr/lib/php/20220829/a.so",
                "/usr/lib/php/20220829/b.so",
                "extension=b.so (/etc/php/8.2/apache2/php.ini:900)",
            ),
            (
                data(def("foo_module")),
                "/usr/lib/apache2/modules/mod_foo.so",
                "/opt/httpd/modules/mod_foo.so",
                "LoadModule foo_module (/etc/apache2/mods-enabled/foo.load:1)",
            ),
            (
                def("PyInit_x"),
                "/usr/lib/python3/dist-packages/x.cpython-311-x86_64-linux-gnu.so",
                "/srv/venv/lib/python3.11/site-packages/x.cpython-311-x86_64-linux-gnu.so",
                "import (Python extension module)",
            ),
            (
                def("init_sqlite"),
                "/usr/lib/python2.7/lib-dynload/_sqlite.so",
                "/usr/lib/python2.7/dist-packages/pysqlite2/_sqlite.so",
                "import (Python extension module)",
            ),
        ];
        for (sym, a, b, via) in cases {
            let name = String::from_utf8_lossy(&sym.name).into_owned();
            assert_benign(
                &two_modules(sym, a, b, via),
                b,
                &name,
                Some(Benign::EntryPoint),
            );
        }
        let p = two_modules(
            data(def("foo_module")),
            "/usr/lib/libfoo.so",
            "/usr/lib/libbar.so",
            "LoadFile (/etc/apache2/conf-enabled/x.conf:1)",
        );
        assert_benign(&p, "/usr/lib/libbar.so", "foo_module", None);
    }

    /// Benign::LinkerDefined: `_end` and friends exist in every object.
    #[test]
    fn benign_linker_defined() {
        let p = two_modules(
            Symbol {
                kind: 0,
                ..def("_end")
            },
            "/usr/lib/libfoo.so",
            "/usr/lib/libbar.so",
            "LoadFile (x.conf:1)",
        );
        assert_benign(
            &p,
            "/usr/lib/libbar.so",
            "_end",
            Some(Benign::LinkerDefined),
        );
    }

    /// libx loaded on its own finds `frexp` in libm (its solo list puts
    /// libm before libc); in httpd libc comes first.
    fn libm_libc(libm_soname: &str) -> P {
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new());
        let c = p.obj(
            "/lib/x86_64-linux-gnu/libc.so.6",
            O::new().soname("libc.so.6").sym(def("frexp")),
        );
        let m = p.obj(
            "/lib/x86_64-linux-gnu/libm.so.6",
            O::new().soname(libm_soname).sym(def("frexp")),
        );
        let x = p.obj("/usr/lib/libx.so.1", O::new().reloc(undef("frexp"), Plt));
        p.link.global = vec![e, c, m, x];
        let me = p.member(e, vec![Global(4)]);
        p.m(me).exec = true;
        for o in [c, m] {
            p.member(o, vec![Global(4)]);
        }
        let mx = p.member(x, vec![Global(4)]);
        p.m(mx).solo = vec![x, m, c];
        p
    }

    /// Benign::Glibc: libm's and libc's copies of one symbol (by soname).
    #[test]
    fn benign_glibc_pair() {
        assert_benign(
            &libm_libc("libm.so.6"),
            "/usr/lib/libx.so.1",
            "frexp",
            Some(Benign::Glibc),
        );
        assert_benign(
            &libm_libc("libopenlibm.so.4"),
            "/usr/lib/libx.so.1",
            "frexp",
            None,
        );
    }

    /// Benign::VagueLinkage: a weak or unique `_Z` definition (inline
    /// function, template instance); a strong `_Z` one is a clash.
    #[test]
    fn benign_vague_linkage() {
        for sym in [
            weak(def("_ZN3Foo3barEv")),
            unique(data(def("_ZN1S1xE"))),
            // Unique of any name: one copy per process is what it means.
            unique(data(def("shared_registry"))),
        ] {
            let name = String::from_utf8_lossy(&sym.name).into_owned();
            let p = two_modules(
                sym,
                "/usr/lib/liba.so",
                "/usr/lib/libb.so",
                "LoadFile (x:1)",
            );
            assert_benign(&p, "/usr/lib/libb.so", &name, Some(Benign::VagueLinkage));
        }
        let p = two_modules(
            def("_ZN3Foo3barEv"),
            "/usr/lib/liba.so",
            "/usr/lib/libb.so",
            "LoadFile (x:1)",
        );
        assert_benign(&p, "/usr/lib/libb.so", "_ZN3Foo3barEv", None);
    }

    /// Benign::CopyRelocation (B15): references to the executable's copy.
    #[test]
    fn benign_copy_relocation() {
        let p = copy_relocation_process();
        for from in ["/lib/libc.so.6", "/lib/libk.so"] {
            assert_benign(&p, from, "optarg", Some(Benign::CopyRelocation));
        }
    }

    /// Benign::CanonicalPltEntry (B7): a non-PIE executable's undefined
    /// `pfunc` with an address answers a library's pointer to its own
    /// function; a definition in the executable would be a clash.
    #[test]
    fn benign_canonical_plt_entry() {
        for (exe_sym, want) in [
            (
                Symbol {
                    value: 0x401030,
                    ..undef("pfunc")
                },
                Some(Benign::CanonicalPltEntry),
            ),
            (def("pfunc"), None),
        ] {
            let mut p = P::new();
            let e = p.obj("/usr/sbin/httpd", O::new().sym(exe_sym));
            let l = p.obj("/lib/libx.so.1", O::new().reloc(def("pfunc"), Data));
            p.link.global = vec![e, l];
            let me = p.member(e, vec![Global(2)]);
            p.m(me).exec = true;
            p.member(l, vec![Global(2)]);
            assert_benign(&p, "/lib/libx.so.1", "pfunc", want);
        }
    }

    /// md5.so (a Python module) and k.so (which needs md5.so) lose
    /// `MD5Init`/`MD5Update` to libmhash; libother loses `MD5Final` to it.
    fn md5_process() -> P {
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new());
        let w = p.obj(
            "/usr/lib/libmhash.so.2.0.1",
            O::new()
                .soname("libmhash.so.2")
                .sym(def("MD5Init"))
                .sym(def("MD5Update"))
                .sym(def("MD5Final")),
        );
        let l2 = p.obj(
            "/usr/lib/libother.so.1",
            O::new().soname("libother.so.1").reloc(def("MD5Final"), Plt),
        );
        let l = p.obj(
            "/usr/lib/python2.7/lib-dynload/md5.so",
            O::new()
                .reloc(def("MD5Init"), Plt)
                .reloc_again("MD5Init", Data)
                .reloc(def("MD5Update"), Plt),
        );
        let k = p.obj(
            "/usr/lib/python2.7/lib-dynload/k.so",
            O::new().reloc(undef("MD5Init"), Plt),
        );
        p.link.global = vec![e, w, l2];
        let me = p.member(e, vec![Global(1)]);
        p.m(me).exec = true;
        p.member(w, vec![Global(1), List(vec![w])]);
        p.member(l2, vec![Global(2), List(vec![l2])]);
        p.member(l, vec![Global(3), List(vec![l])]);
        let mk = p.member(k, vec![Global(3), List(vec![k, l])]);
        p.m(mk).solo = vec![k, l];
        p
    }

    /// `symbol-interposition`: one finding per (loser, winner) pair, every
    /// symbol listed, references counted once per (object, symbol,
    /// version); high when the two are different libraries; certain when a
    /// reference comes from what the configuration loads.
    #[test]
    fn interposition_one_finding_per_pair() {
        let (_, _, f) = run(&md5_process());
        let f = with_id(&f, "symbol-interposition");
        assert_eq!(f.len(), 2, "{f:#?}");
        let md5 = f
            .iter()
            .find(|x| {
                x.objects.first().map(String::as_str)
                    == Some("/usr/lib/python2.7/lib-dynload/md5.so")
            })
            .expect("md5.so loses");
        assert_eq!(md5.symbols, vec!["MD5Init", "MD5Update"]);
        assert_eq!(
            md5.objects,
            vec![
                "/usr/lib/python2.7/lib-dynload/md5.so",
                "/usr/lib/libmhash.so.2.0.1",
                "/usr/lib/python2.7/lib-dynload/k.so",
            ]
        );
        assert_eq!(md5.bindings.len(), 3);
        // Counted: 2 symbols, 3 distinct references (the PLT and data
        // relocation of md5.so's MD5Init count once), 2 referring objects.
        assert!(md5.title.contains("2 symbols"), "{}", md5.title);
        assert!(
            md5.evidence[1].contains("3 references") && md5.evidence[1].contains("2 objects"),
            "{:?}",
            md5.evidence
        );
        // Another library (md5.so's own MD5 code against libmhash): high,
        // its reason first.
        assert!(md5.evidence[0].starts_with("high: "), "{:?}", md5.evidence);
        assert_eq!(md5.severity, Severity::High);
        assert_eq!(md5.certainty, Certainty::Certain);
        let other = f
            .iter()
            .find(|x| x.objects.first().map(String::as_str) == Some("/usr/lib/libother.so.1"))
            .expect("libother loses");
        assert_eq!(other.symbols, vec!["MD5Final"]);
        assert_eq!(other.objects[1], "/usr/lib/libmhash.so.2.0.1");
        assert_eq!(other.severity, Severity::High);
    }

    /// Certainty: likely when every reference is from a member loaded only
    /// if imported; certain as soon as one is not; latent (and at most
    /// low) when every one is from an installed-only member.
    #[test]
    fn interposition_certainty() {
        let md5 = "/usr/lib/python2.7/lib-dynload/md5.so";
        let finding = |p: &P| {
            let (_, _, f) = run(p);
            with_id(&f, "symbol-interposition")
                .into_iter()
                .find(|x| x.objects.first().map(String::as_str) == Some(md5))
                .cloned()
                .expect("md5.so loses")
        };
        let mut p = md5_process();
        p.m(3).may_be_imported = true;
        p.m(4).may_be_imported = true;
        let f = finding(&p);
        assert_eq!(f.certainty, Certainty::Likely);
        assert_eq!(f.severity, Severity::High);
        assert!(
            f.evidence
                .iter()
                .any(|e| e.contains("Python extension modules"))
        );
        p.m(4).may_be_imported = false;
        assert_eq!(finding(&p).certainty, Certainty::Certain);
        let mut p = md5_process();
        p.m(3).installed_only = true;
        p.m(4).installed_only = true;
        let f = finding(&p);
        assert_eq!(f.certainty, Certainty::Latent);
        assert_eq!(f.severity, Severity::Low);
    }

    /// A module needing `libfoo.so.1`: loaded on its own it gets
    /// `wanted`, in the process `have` (loaded earlier, same soname, L1).
    fn same_soname(wanted: &str, have: &str) -> P {
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new());
        let h = p.obj(have, O::new().soname("libfoo.so.1").sym(def("foo_fn")));
        let m = p.obj("/mod/mod_m.so", O::new().reloc(undef("foo_fn"), Plt));
        let w = p.obj(wanted, O::new().soname("libfoo.so.1").sym(def("foo_fn")));
        p.link.global = vec![e, h, m];
        let me = p.member(e, vec![Global(1)]);
        p.m(me).exec = true;
        p.member(h, vec![Global(1), List(vec![h])]);
        let mm = p.member(m, vec![Global(2), List(vec![m, h])]);
        p.m(mm).solo = vec![m, w];
        p
    }

    /// Severity of `symbol-interposition` between two copies of one
    /// soname that are both in the process (one loaded by path, say by
    /// `LoadFile`): medium when the newer file loses to the older, low
    /// otherwise. When the expected copy is not in the process at all, the
    /// problem is the substitution, reported once as
    /// `duplicate-soname-different-file` with the same bindings.
    #[test]
    fn interposition_severity_same_soname() {
        let (_, _, f) = run(&same_soname(
            "/opt/lib/libfoo.so.1.2.3",
            "/usr/lib/libfoo.so.1.1.0",
        ));
        assert!(with_id(&f, "symbol-interposition").is_empty(), "{f:#?}");
        let d = with_id(&f, "duplicate-soname-different-file");
        assert_eq!(d.len(), 1, "{f:#?}");
        assert_eq!(d[0].symbols, vec!["foo_fn"]);
        assert_eq!(d[0].bindings.len(), 1);
        let severity = |wanted: &str, have: &str| {
            let mut p = same_soname(wanted, have);
            let w = p
                .link
                .objects
                .iter()
                .position(|o| o.path == wanted)
                .unwrap();
            p.member(w, vec![Global(2), List(vec![w])]);
            let (_, _, f) = run(&p);
            let f = with_id(&f, "symbol-interposition");
            assert_eq!(f.len(), 1, "{f:#?}");
            assert_eq!(f[0].objects[0], wanted);
            assert_eq!(f[0].objects[1], have);
            f[0].severity
        };
        assert_eq!(
            severity("/opt/lib/libfoo.so.1.2.3", "/usr/lib/libfoo.so.1.1.0"),
            Severity::Medium
        );
        assert_eq!(
            severity("/opt/lib/libfoo.so.1.1.0", "/usr/lib/libfoo.so.1.2.3"),
            Severity::Low
        );
        assert_eq!(
            severity("/opt/lib/libfoo.so.1", "/usr/lib/libfoo.so.1"),
            Severity::Low
        );
    }

    const PYMSSQL_KRB5: &str = "/sp/pymssql.libs/libkrb5-fcafa220.so.3.3";
    const PSYCOPG_KRB5: &str = "/sp/psycopg2_binary.libs/libkrb5-fcafa220.so.3.3";
    const MSSQL: &str = "/sp/pymssql/_mssql.cpython-311-x86_64-linux-gnu.so";
    const DEBIAN_KRB5: &str = "/usr/lib/libkrb5.so.3.3";

    /// Two wheels bundle libkrb5 under one soname (`libkrb5-fcafa220.so.3`);
    /// psycopg2-binary's copy is loaded first, so ld.so gives it to
    /// pymssql's `_mssql` as well (L1), and Debian's libkrb5 is global.
    /// `_mssql` loaded on its own binds to pymssql's copy, whose build is
    /// the stand-in's when `build` is `b"k5"`.
    fn shared_graft(build: &[u8]) -> P {
        let krb5 = |path: &str, p: &mut P, build: &[u8]| {
            p.obj(
                path,
                O::new()
                    .soname("libkrb5-fcafa220.so.3")
                    .build_id(build)
                    .sym(def("krb5_init_context"))
                    .sym(def("krb5int_only_here")),
            )
        };
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new());
        let deb = p.obj(
            DEBIAN_KRB5,
            O::new()
                .soname("libkrb5.so.3")
                .sym(def("krb5_init_context")),
        );
        let stand_in = krb5(PSYCOPG_KRB5, &mut p, build);
        let m = p.obj(
            MSSQL,
            O::new()
                .reloc(undef("krb5_init_context"), Plt)
                .reloc(undef("krb5int_only_here"), Plt),
        );
        let own = krb5(PYMSSQL_KRB5, &mut p, b"k5");
        p.link.global = vec![e, deb];
        let me = p.member(e, vec![Global(2)]);
        p.m(me).exec = true;
        p.member(deb, vec![Global(2)]);
        p.member(stand_in, vec![Global(2), List(vec![stand_in])]);
        let mm = p.member(m, vec![Global(2), List(vec![m, stand_in])]);
        p.m(mm).solo = vec![m, own];
        p
    }

    /// An expected definer the process replaces by another file of its
    /// soname (L1): a reference that binds to that stand-in is the
    /// substitution (`duplicate-soname-different-file`, none for the same
    /// build, where the code is the same); one that a third object takes
    /// (Debian's libkrb5) is a `symbol-interposition` of its own copy,
    /// which names that copy and says what stands in for it.
    #[test]
    fn interposition_of_a_replaced_copy() {
        for (build, same) in [(b"k5".as_slice(), true), (b"other".as_slice(), false)] {
            let (_, _, f) = run(&shared_graft(build));
            let i = with_id(&f, "symbol-interposition");
            assert_eq!(i.len(), 1, "{f:#?}");
            assert_eq!(i[0].objects, vec![PYMSSQL_KRB5, DEBIAN_KRB5, MSSQL]);
            assert_eq!(i[0].symbols, vec!["krb5_init_context"]);
            let note = i[0]
                .evidence
                .iter()
                .find(|e| e.contains("itself is not in the process"))
                .unwrap_or_else(|| panic!("{:?}", i[0].evidence));
            assert!(note.contains(PSYCOPG_KRB5), "{note}");
            assert_eq!(note.contains("the same build"), same, "{note}");
            let d = with_id(&f, "duplicate-soname-different-file");
            if same {
                assert!(d.is_empty(), "{d:#?}");
            } else {
                assert_eq!(d.len(), 1, "{f:#?}");
                assert_eq!(d[0].symbols, vec!["krb5int_only_here"]);
            }
        }
    }

    /// `duplicate-soname-different-file` (L1): a member's stand-alone
    /// search list has the soname at another path than the process member
    /// with that soname; not when it is the same file or the same build.
    #[test]
    fn duplicate_soname_different_file() {
        let (_, _, f) = run(&same_soname(
            "/opt/lib/libfoo.so.1.2.3",
            "/usr/lib/libfoo.so.1.1.0",
        ));
        let d = with_id(&f, "duplicate-soname-different-file");
        assert_eq!(d.len(), 1, "{f:#?}");
        assert_eq!(
            d[0].objects,
            vec![
                "/opt/lib/libfoo.so.1.2.3",
                "/usr/lib/libfoo.so.1.1.0",
                "/mod/mod_m.so"
            ]
        );
        assert_eq!(d[0].severity, Severity::Medium);
        assert_eq!(d[0].certainty, Certainty::Certain);

        // The same file: nothing.
        let mut p = same_soname("/opt/lib/libfoo.so.1.2.3", "/usr/lib/libfoo.so.1.1.0");
        p.m(2).solo = vec![2, 1];
        let (_, _, f) = run(&p);
        assert!(
            with_id(&f, "duplicate-soname-different-file").is_empty(),
            "{f:#?}"
        );

        // Another path, the same build: nothing.
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new());
        let h = p.obj(
            "/usr/lib/libfoo.so.1",
            O::new().soname("libfoo.so.1").build_id(b"\x01\x02"),
        );
        let m = p.obj("/mod/mod_m.so", O::new());
        let w = p.obj(
            "/opt/lib/libfoo.so.1",
            O::new().soname("libfoo.so.1").build_id(b"\x01\x02"),
        );
        p.link.global = vec![e, h, m];
        p.member(e, vec![Global(1)]);
        p.member(h, vec![Global(1), List(vec![h])]);
        let mm = p.member(m, vec![Global(2), List(vec![m, h])]);
        p.m(mm).solo = vec![m, w];
        let (_, _, f) = run(&p);
        assert!(
            with_id(&f, "duplicate-soname-different-file").is_empty(),
            "{f:#?}"
        );
    }

    /// `missing-symbol-version` (B10): a `Verneed` version the dependency
    /// does not define; not for `VER_FLG_WEAK`, not when the dependency
    /// defines no versions at all.
    #[test]
    fn missing_symbol_version() {
        let process = |dep: O| {
            let mut p = P::new();
            let e = p.obj("/usr/sbin/httpd", O::new());
            let d = p.obj("/usr/lib/libd.so.1", dep.soname("libd.so.1"));
            let m = p.obj(
                "/mod/mod_m.so",
                O::new()
                    .verneed("libd.so.1", "D_1", 2, 0)
                    .verneed("libd.so.1", "D_3", 3, 0)
                    .verneed("libd.so.1", "D_W", 4, VER_FLG_WEAK),
            );
            p.link.global = vec![e, d, m];
            p.member(e, vec![Global(1)]);
            p.member(d, vec![Global(1), List(vec![d])]);
            let mm = p.member(m, vec![Global(2), List(vec![m, d])]);
            p.m(mm).solo = vec![m, d];
            p
        };
        let versioned = O::new()
            .verdef(1, "libd.so.1")
            .verdef(2, "D_1")
            .verdef(3, "D_2");
        let (_, _, f) = run(&process(versioned));
        let v = with_id(&f, "missing-symbol-version");
        assert_eq!(v.len(), 1, "{f:#?}");
        assert_eq!(v[0].objects, vec!["/mod/mod_m.so", "/usr/lib/libd.so.1"]);
        assert_eq!(v[0].evidence.len(), 1, "only D_3: {:?}", v[0].evidence);
        assert!(v[0].evidence[0].contains("version `D_3' not found"));
        assert_eq!(v[0].severity, Severity::High);

        let (_, _, f) = run(&process(O::new()));
        assert!(with_id(&f, "missing-symbol-version").is_empty(), "{f:#?}");
    }
}
