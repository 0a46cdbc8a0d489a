//! Built-in findings from the binding model: one problem, one finding.
//!
//! - `symbol-interposition`: references that bind outside the group their
//!   object would bind in when loaded on its own (loader-model.md B1–B16),
//!   one finding per pair of losing and winning object;
//! - `duplicate-soname-different-file`: an object expects a soname at one
//!   file, the process already has that soname from another (rule L1);
//! - `missing-symbol-version`: a required version its file does not define
//!   (rule B10: the load fails);
//! - `unresolved-symbol`: a strong reference nothing in the process defines
//!   (B16).
//!
//! Interpositions that are the design of the toolchain or of the host, not
//! clashes, are recognised by [`benign`], each with its reason.

use std::collections::{BTreeMap, BTreeSet};

use crate::elf::{ElfFacts, RelocClass};
use crate::image::ProcessImage;
use crate::image::bind::{Bindings, Reference};
use crate::report::{Binding, Certainty, Finding, Severity};

/// Bindings listed per finding; the rest are counted.
const EVIDENCE: usize = 5;

/// Every built-in binding finding of one modelled process.
pub fn process_findings(image: &ProcessImage, bindings: &Bindings) -> Vec<Finding> {
    let mut out = interpositions(image, bindings);
    out.extend(duplicate_sonames(image));
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
    /// references to the first copy is how C++ works.
    VagueLinkage,
    /// The executable's `COPY` relocation moved the data into the
    /// executable; every reference must then use that copy (B15).
    CopyRelocation,
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
    let name = r.symbol.as_str();
    let facts = |p: &Option<String>| p.as_deref().and_then(|p| image.link.facts(p));
    let (expected, actual) = (facts(&r.expected), facts(&r.binds_to));
    let file_stem = |p: &Option<String>| -> String {
        p.as_deref()
            .and_then(|p| p.rsplit('/').next())
            .and_then(|n| n.split('.').next())
            .unwrap_or_default()
            .to_string()
    };
    let loaded_by = |p: &Option<String>, what: &str| {
        image
            .members
            .iter()
            .any(|m| Some(&m.object) == p.as_ref() && m.via.starts_with(what))
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
    if name.starts_with("_Z") {
        let vague = |f: Option<&ElfFacts>| {
            f.is_some_and(|f| {
                f.symbols.iter().any(|s| {
                    s.name.as_slice() == name.as_bytes()
                        && s.is_defined()
                        && matches!(s.bind, 2 | 10)
                })
            })
        };
        if vague(expected) || vague(actual) {
            return Some(Benign::VagueLinkage);
        }
    }
    let exec = image.members.first().map(|m| m.object.as_str());
    if r.binds_to.as_deref() == exec
        && actual.is_some_and(|f| {
            f.relocations.iter().any(|x| {
                x.class == RelocClass::Copy
                    && f.symbols
                        .get(x.symbol as usize)
                        .is_some_and(|s| s.name.as_slice() == name.as_bytes())
            })
        })
    {
        return Some(Benign::CopyRelocation);
    }
    None
}

/// The file name of a path.
fn file_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// The version a library's file name carries after `.so.` (`3.45.1` of
/// `libsqlite3.so.0.8.6`'s `0.8.6`), as numbers for comparing.
fn file_version(p: &str) -> Option<Vec<u64>> {
    let (_, v) = file_name(p).split_once(".so.")?;
    v.split('.').map(|x| x.parse().ok()).collect()
}

fn version_text(p: &str) -> String {
    file_name(p)
        .split_once(".so.")
        .map_or_else(|| "unversioned".to_string(), |(_, v)| v.to_string())
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

/// `symbol-interposition`: per (losing, winning) object pair.
fn interpositions(image: &ProcessImage, bindings: &Bindings) -> Vec<Finding> {
    type Key = (String, String);
    let mut groups: BTreeMap<Key, Vec<&Reference>> = BTreeMap::new();
    for r in &bindings.references {
        if !r.interposed || benign(image, r).is_some() {
            continue;
        }
        let (Some(e), Some(a)) = (&r.expected, &r.binds_to) else {
            continue;
        };
        let list = groups.entry((e.clone(), a.clone())).or_default();
        if !list
            .iter()
            .any(|x| x.object == r.object && x.symbol == r.symbol && x.version == r.version)
        {
            list.push(r);
        }
    }
    let mut out = Vec::new();
    for ((loser, winner), refs) in groups {
        let lf = image.link.facts(&loser);
        let wf = image.link.facts(&winner);
        let symbols: BTreeSet<&str> = refs.iter().map(|r| r.symbol.as_str()).collect();
        let froms: BTreeSet<&str> = refs.iter().map(|r| r.object.as_str()).collect();
        let sure = certainty(refs.iter().map(|r| (r.may_be_imported, r.installed_only)));
        let data = refs.iter().any(|r| r.class != RelocClass::Plt);
        let lazy_only = refs.iter().all(|r| r.at_load.is_some());
        let (severity, why) = match (soname(lf), soname(wf)) {
            (Some(a), Some(b)) if a == b => {
                let (lv, wv) = (file_version(&loser), file_version(&winner));
                if lv.is_some() && wv.is_some() && lv > wv {
                    (
                        Severity::Medium,
                        format!(
                            "two copies of {a}: the newer {} loses to the older {}",
                            version_text(&loser),
                            version_text(&winner)
                        ),
                    )
                } else {
                    (
                        Severity::Low,
                        format!(
                            "two copies of {a}: {} loses to {}",
                            version_text(&loser),
                            version_text(&winner)
                        ),
                    )
                }
            }
            _ => (
                Severity::High,
                format!(
                    "{} takes {}'s {}",
                    file_name(&winner),
                    file_name(&loser),
                    if data {
                        "symbols, data included"
                    } else {
                        "functions"
                    }
                ),
            ),
        };
        let from_list: Vec<&str> = froms.iter().map(|f| file_name(f)).collect();
        let title = format!(
            "{} of {} bind to {} instead of {} ({})",
            plural(symbols.len(), "symbol"),
            from_list.join(", "),
            file_name(&winner),
            file_name(&loser),
            why
        );
        let mut evidence = vec![format!(
            "{} in {} from {} objects; each binds to {} where its object, loaded on its own, binds to {}",
            plural(refs.len(), "reference"),
            plural(symbols.len(), "symbol"),
            froms.len(),
            winner,
            loser
        )];
        if lazy_only {
            evidence.push(
                "only lazily bound PLT slots: they bind at the first call, here evaluated once everything is loaded (P2); a call before the winner is loaded binds as expected".into(),
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
            id: "symbol-interposition".into(),
            severity,
            certainty: sure,
            title,
            process: Some(image.name.clone()),
            objects,
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            bindings: refs
                .iter()
                .take(EVIDENCE)
                .map(|r| Binding {
                    symbol: match &r.version {
                        Some(v) => format!("{}@{v}", r.symbol),
                        None => r.symbol.clone(),
                    },
                    from: r.object.clone(),
                    expected: r.expected.clone(),
                    actual: r.binds_to.clone(),
                })
                .collect(),
            evidence,
            remedy: format!(
                "Keep {} and {} out of one process (disable the module or extension that brings one of them), or rebuild the referencing objects so they bind their own definitions (-Bsymbolic, hidden visibility, prefixed names).",
                file_name(&winner),
                file_name(&loser)
            ),
            references: vec![
                "research/loader-model.md B1-B5 (scope order: an earlier global definition wins)".into(),
            ],
        });
    }
    out
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
fn duplicate_sonames(image: &ProcessImage) -> Vec<Finding> {
    let members: Vec<(&str, Option<&ElfFacts>)> = image.link.members().collect();
    let by_soname: BTreeMap<String, &str> = members
        .iter()
        .rev()
        .filter_map(|(p, f)| Some((soname(*f)?, *p)))
        .collect();
    // (soname, expected file, file in the process) -> (objects, imports only)
    type Froms = (BTreeSet<String>, Vec<(bool, bool)>);
    let mut groups: BTreeMap<(String, String, String), Froms> = BTreeMap::new();
    for (i, (path, _)) in members.iter().enumerate() {
        for (s, sf) in image.link.solo(i).into_iter().skip(1) {
            let Some(name) = soname(sf) else { continue };
            let Some(&have) = by_soname.get(&name) else {
                continue;
            };
            let same_build = sf.and_then(|f| f.build_id.as_ref()).is_some()
                && sf.and_then(|f| f.build_id.as_ref())
                    == image.link.facts(have).and_then(|f| f.build_id.as_ref());
            if have == s || same_build {
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
            Finding {
                id: "duplicate-soname-different-file".into(),
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
                objects,
                symbols: Vec::new(),
                bindings: Vec::new(),
                evidence: vec![
                    format!("loaded on its own, {} resolves {name} to {wanted}", from_list.join(", ")),
                    format!("in the process {name} is already loaded from {have}; ld.so reuses an object whose soname matches (L1), whatever RPATH says"),
                ],
                remedy: format!(
                    "Use one {name} for the whole process: update or remove the copy at {wanted} or {have} so that both are the same version."
                ),
                references: vec!["research/loader-model.md L1 (already loaded: match by name and soname)".into()],
            }
        })
        .collect()
}

/// `missing-symbol-version`: ld.so's version check at load (B10).
fn missing_versions(image: &ProcessImage) -> Vec<Finding> {
    const VER_FLG_WEAK: u16 = 0x2;
    let members: Vec<(&str, Option<&ElfFacts>)> = image.link.members().collect();
    let mut out = Vec::new();
    for (i, (path, facts)) in members.iter().enumerate() {
        let Some(facts) = facts else { continue };
        for req in &facts.version_requirements {
            // The file that answers the name in the process (L1: soname).
            let Some((dep, df)) = members.iter().find_map(|(p, f)| {
                let f = (*f)?;
                let matches = f.soname.as_ref() == Some(&req.file)
                    || file_name(p).as_bytes() == req.file.as_slice();
                matches.then_some((*p, f))
            }) else {
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
                id: "missing-symbol-version".into(),
                severity: Severity::High,
                certainty: certainty([member_flags(image, i)]),
                title: format!(
                    "{} needs version {} of {file}, which {dep} does not define: it fails to load",
                    file_name(path),
                    missing.join(", ")
                ),
                process: Some(image.name.clone()),
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
                references: vec!["research/loader-model.md B10 (_dl_check_map_versions)".into()],
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
    for r in &bindings.references {
        if r.binds_to.is_none()
            && !r.weak
            && !r.direct
            && (!r.installed_only || !installed.contains(r.symbol.as_bytes()))
        {
            let list = groups.entry(r.object.as_str()).or_default();
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
                    None => r.symbol.clone(),
                })
                .collect();
            Finding {
                id: "unresolved-symbol".into(),
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
                objects: vec![object.to_string()],
                symbols: symbols.clone(),
                bindings: refs
                    .iter()
                    .take(EVIDENCE)
                    .map(|r| Binding {
                        symbol: r.symbol.clone(),
                        from: r.object.clone(),
                        expected: r.expected.clone(),
                        actual: None,
                    })
                    .collect(),
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
                references: vec!["research/loader-model.md B16".into()],
            }
        })
        .collect()
}
