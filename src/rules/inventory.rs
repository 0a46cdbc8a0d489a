//! Built-in findings about the inventory: what the loader cannot find,
//! what the httpd process cannot load, and an `ld.so.cache` that
//! `ldconfig` would write differently.
//!
//! - `unresolved-dependency`: a `DT_NEEDED` the loader finds nowhere (L3),
//!   found from each object loaded on its own ([`stand_alone_misses`],
//!   what `ldd` prints as "not found") and judged in the processes that
//!   load it ([`unresolved_dependency`]);
//! - `wrong-architecture`: a module or extension of another ELF class or
//!   machine than httpd's (L12);
//! - `stale-ld-cache`: the cache ld.so reads disagrees with ld.so.conf (C11);
//! - `unreadable-object`: an object of the web stack that could not be read
//!   or is no ELF ld.so maps ([`unreadable_object`]), so that an audit
//!   that could not see part of the stack does not pass as clean.
//!
//! `scan` calls each with the facts it gathered; the certainty and process
//! of `wrong-architecture` and `stale-ld-cache` are set later from the
//! process models, while `unresolved-dependency` and `unreadable-object`
//! are judged with them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bstr::ByteSlice;

use crate::elf::machine_name;
use crate::elf::{Class, ElfFacts};
use crate::image::ProcessImage;
use crate::model::Finding;
use crate::model::{Certainty, FindingId, Role, Severity};
use crate::resolve::{CacheSource, How, Load, Loader, cache};
use crate::root::Root;

/// What `ldd` shows as "not found" for one inventory object loaded on its
/// own: the half of `unresolved-dependency` that needs no process model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandAloneMisses {
    path: PathBuf,
    role: Role,
    /// The names found nowhere.
    names: BTreeSet<String>,
    /// One line per miss: the name, what needs it, where ld.so looked.
    evidence: Vec<String>,
}

/// The names `load` (the object at `path` loaded on its own, as `ldd`
/// does) finds nowhere, if any.
pub fn stand_alone_misses(path: &Path, role: Role, load: &Load) -> Option<StandAloneMisses> {
    let mut evidence = Vec::new();
    let mut names = BTreeSet::new();
    for o in &load.objects {
        if let How::NotFound(tried) = &o.how {
            let by = o
                .loader
                .and_then(|l| load.objects.get(l))
                .and_then(|l| l.path.as_ref())
                .map_or_else(String::new, |p| format!(" (needed by {})", p.display()));
            evidence.push(format!(
                "{} => not found{by}; tried {}",
                o.name.to_str_lossy(),
                tried.join(", ")
            ));
            names.insert(o.name.to_str_lossy().into_owned());
        }
    }
    if evidence.is_empty() {
        return None;
    }
    evidence.dedup();
    Some(StandAloneMisses {
        path: path.to_path_buf(),
        role,
        names,
        evidence,
    })
}

/// `unresolved-dependency`, judged in the modelled processes (issue 15):
/// a name the object misses alone matters where a process loads the object
/// and misses it too.
///
/// - A process whose load of the object (the start-up, or the `dlopen` of
///   the module, extension or import whose search list holds it) misses one
///   of those names: the finding stands at its stand-alone severity
///   (`certain`, or `likely` when only imports fail).
/// - Else, a process that has the object as a member found every name (a
///   `dlopen` missing one fails and leaves nothing behind; typically the
///   loader chain's `DT_RPATH` or `LD_LIBRARY_PATH` finds it): no finding.
///   The report's `objects[].processes` says which processes load it.
/// - Else nothing modelled loads it: at most `low`, `latent`, since only
///   what loads it would fail.
/// - Without any process model the object alone is all there is to judge:
///   the stand-alone severity, `likely`.
pub fn unresolved_dependency(
    alone: &StandAloneMisses,
    processes: &[&ProcessImage],
) -> Option<Finding> {
    let path = text(&alone.path);
    let mut evidence = alone.evidence.clone();
    let mut severity = if alone.role == Role::Library {
        Severity::Medium
    } else {
        Severity::High
    };
    let mut certainty = Certainty::Likely;
    let mut process = None;
    if !processes.is_empty() {
        // (process, the load that fails, what it misses of ours).
        let mut fails = Vec::new();
        let mut what_ifs = Vec::new();
        for p in processes {
            for u in &p.unresolved {
                if !u.objects.contains(&path) {
                    continue;
                }
                let ours: Vec<&(String, String)> = u
                    .missing
                    .iter()
                    .filter(|(_, name)| alone.names.contains(name))
                    .collect();
                if ours.is_empty() {
                    continue;
                }
                if u.installed_only {
                    what_ifs.push((p, u, ours));
                } else {
                    fails.push((p, u, ours));
                }
            }
        }
        let loaded_by: Vec<&str> = processes
            .iter()
            .filter(|p| {
                p.members
                    .iter()
                    .any(|m| m.object == path && !m.installed_only)
            })
            .map(|p| p.name.as_str())
            .collect();
        for (p, u, ours) in &fails {
            let names: Vec<String> = ours
                .iter()
                .map(|(by, name)| format!("{name} (needed by {by})"))
                .collect();
            evidence.push(format!(
                "in process {}: {} misses {}",
                p.name,
                u.via,
                names.join(", ")
            ));
        }
        if let Some((p, _, _)) = fails.iter().find(|(_, u, _)| !u.may_be_imported) {
            certainty = Certainty::Certain;
            process = Some(p.name.clone());
        } else if let Some((p, _, _)) = fails.first() {
            process = Some(p.name.clone());
        } else if !loaded_by.is_empty() {
            return None;
        } else {
            severity = severity.min(Severity::Low);
            certainty = Certainty::Latent;
            let modelled: Vec<&str> = processes.iter().map(|p| p.name.as_str()).collect();
            evidence.push(format!(
                "no modelled process ({}) loads it: only what loads it would fail",
                modelled.join(", ")
            ));
            for (p, u, _) in &what_ifs {
                evidence.push(format!(
                    "in process {}, if enabled: {} would fail",
                    p.name, u.via
                ));
            }
        }
    } else {
        evidence
            .push("no process could be modelled: judged from the object loaded on its own".into());
    }
    let names: Vec<&str> = alone.names.iter().map(String::as_str).collect();
    let what = match alone.role {
        Role::Httpd => "httpd cannot start",
        Role::ApacheModule => "Apache fails to start when the module is loaded",
        Role::PhpExtension => "PHP fails to load the extension",
        Role::PythonExtension => "importing the module fails",
        Role::Library => "whatever loads this library fails",
    };
    Some(Finding {
        id: FindingId::UnresolvedDependency,
        severity,
        certainty,
        title: format!(
            "{path} needs {} that the loader cannot find: {what}",
            names.join(", ")
        ),
        process,
        processes: Vec::new(),
        objects: vec![path.clone()],
        symbols: Vec::new(),
        bindings: Vec::new(),
        evidence,
        remedy: "Install the package that provides the missing library, or fix the \
                 RPATH/RUNPATH or ld.so.conf that should find it (then run ldconfig); \
                 if the object is not used, remove it."
            .into(),
        references: vec!["https://sourceware.org/git/?p=glibc.git;a=blob;f=elf/dl-load.c (_dl_map_object: RPATH, LD_LIBRARY_PATH, RUNPATH, ld.so.cache, default directories)".into()],
        symptoms: Vec::new(),
        status: None,
    })
}

/// `wrong-architecture`: a module or extension the httpd process cannot load.
pub fn wrong_architecture(
    path: &Path,
    role: Role,
    facts: Option<&ElfFacts>,
    target: (Option<Class>, u16),
) -> Option<Finding> {
    if matches!(role, Role::Library | Role::Httpd) {
        return None;
    }
    let f = facts?;
    if (f.class, f.machine) == target {
        return None;
    }
    let class = |c: Option<Class>| match c {
        Some(Class::Elf32) => "32-bit",
        _ => "64-bit",
    };
    Some(Finding {
        id: FindingId::WrongArchitecture,
        severity: Severity::High,
        certainty: Certainty::Likely,
        title: format!(
            "{} is {} {}, the httpd process is {} {}",
            text(path),
            class(f.class),
            machine_name(f.machine),
            class(target.0),
            machine_name(target.1)
        ),
        process: None,
        processes: Vec::new(),
        objects: vec![text(path)],
        symbols: Vec::new(),
        bindings: Vec::new(),
        evidence: vec![format!(
            "ELF class {}, e_machine {} ({})",
            class(f.class),
            f.machine,
            machine_name(f.machine)
        )],
        remedy: "Replace it with the build for this machine's architecture, or remove it; \
                 ld.so refuses to load it (\"wrong ELF class\")."
            .into(),
        references: vec!["https://sourceware.org/git/?p=glibc.git;a=blob;f=elf/dl-load.c (open_verify: a file of another ELF class or machine is skipped)".into()],
        symptoms: Vec::new(),
        status: None,
    })
}

/// `unreadable-object`: an object discovery found in a place of the web
/// stack (`role`) that could not be opened or is no ELF ld.so would map
/// (`reason`). Whatever it would bring into a process is unknown, so the
/// audit of that process is partial: medium, certain when a modelled
/// process's configuration loads it (its `dlopen` is among the process's
/// refused ones), likely when only an import would or no process could be
/// modelled, and latent, at most low, when no modelled process loads it,
/// as for `unresolved-dependency`.
pub fn unreadable_object(
    path: &Path,
    role: Role,
    reason: &str,
    processes: &[&ProcessImage],
) -> Finding {
    let path = text(path);
    let what = match role {
        Role::Httpd => "the httpd binary",
        Role::ApacheModule => "the Apache module",
        Role::PhpExtension => "the PHP extension",
        Role::PythonExtension => "the Python extension module",
        Role::Library => "the library",
    };
    let mut evidence = vec![reason.to_string()];
    let tried: Vec<(&str, &crate::image::Refused)> = processes
        .iter()
        .flat_map(|p| p.refused.iter().map(move |r| (p.name.as_str(), r)))
        .filter(|(_, r)| r.path == path)
        .collect();
    let configured = tried
        .iter()
        .find(|(_, r)| !r.installed_only && !r.may_be_imported);
    let imported = tried
        .iter()
        .find(|(_, r)| !r.installed_only && r.may_be_imported);
    let (severity, certainty, process) = if let Some((p, _)) = configured {
        evidence.push(format!(
            "the {p} process's configuration loads it, and the load fails"
        ));
        (Severity::Medium, Certainty::Certain, Some(p.to_string()))
    } else if let Some((p, _)) = imported {
        evidence.push(format!(
            "the {p} process loads it if the application imports it"
        ));
        (Severity::Medium, Certainty::Likely, Some(p.to_string()))
    } else if processes.is_empty() || role == Role::Httpd {
        evidence.push(
            "no process could be modelled from it: whether anything loads it is unknown".into(),
        );
        (Severity::Medium, Certainty::Likely, None)
    } else {
        let modelled: Vec<&str> = processes.iter().map(|p| p.name.as_str()).collect();
        evidence.push(format!(
            "no modelled process ({}) loads it: only what would load it is affected",
            modelled.join(", ")
        ));
        (Severity::Low, Certainty::Latent, None)
    };
    Finding {
        id: FindingId::UnreadableObject,
        severity,
        certainty,
        title: format!(
            "{what} {path} could not be read as an ELF object, so what it brings was not audited"
        ),
        process,
        processes: Vec::new(),
        objects: vec![path],
        symbols: Vec::new(),
        bindings: Vec::new(),
        evidence,
        remedy: "Make the file readable as the ELF shared object it should be: reinstall \
                 the package that ships it (a truncated or replaced file), fix the symlink, \
                 or remove it and the line that loads it if it is not used."
            .into(),
        references: vec!["glibc elf/dl-load.c (open_verify: what ld.so refuses to map)".into()],
        symptoms: Vec::new(),
        status: None,
    }
}

/// `stale-ld-cache`: what `ldconfig` would write now differs from the cache
/// ld.so reads (research/peers.md cases E1/E2; rule C11).
pub fn stale_ld_cache(root: &Root, loader: &Loader<'_>) -> Option<Finding> {
    if *loader.cache_source() == CacheSource::Emulated {
        return missing_ld_cache(root, loader);
    }
    if *loader.cache_source() != CacheSource::File {
        return None;
    }
    let file = loader.cache()?;
    let fresh = loader.profile().ldconfig(root)?.cache;
    let first = |c: &cache::LdCache| -> BTreeMap<Vec<u8>, Vec<u8>> {
        let mut m = BTreeMap::new();
        for e in c.entries() {
            if e.flags == cache::DL_CACHE_DEFAULT_ID && e.hwcap == 0 {
                m.entry(e.key.to_vec()).or_insert_with(|| e.value.to_vec());
            }
        }
        m
    };
    let (old, new) = (first(file), first(&fresh));
    let mut evidence = Vec::new();
    let mut objects = BTreeSet::new();
    for (key, value) in &new {
        match old.get(key) {
            None => {
                evidence.push(format!(
                    "{} => {}: in a directory ld.so.conf names, missing from ld.so.cache (ldconfig not run since it was installed)",
                    key.to_str_lossy(),
                    value.to_str_lossy()
                ));
                objects.insert(value.to_str_lossy().into_owned());
            }
            Some(v) if v != value => {
                evidence.push(format!(
                    "{}: ld.so.cache gives {}, ld.so.conf would give {}",
                    key.to_str_lossy(),
                    v.to_str_lossy(),
                    value.to_str_lossy()
                ));
                objects.insert(v.to_str_lossy().into_owned());
                objects.insert(value.to_str_lossy().into_owned());
            }
            Some(_) => {}
        }
    }
    for (key, value) in &old {
        if !new.contains_key(key) {
            evidence.push(format!(
                "{} => {}: in ld.so.cache, but no directory of ld.so.conf provides it any more",
                key.to_str_lossy(),
                value.to_str_lossy()
            ));
            objects.insert(value.to_str_lossy().into_owned());
        }
    }
    if evidence.is_empty() {
        return None;
    }
    Some(Finding {
        id: FindingId::StaleLdCache,
        severity: Severity::Medium,
        certainty: Certainty::Certain,
        title: format!(
            "/etc/ld.so.cache disagrees with ld.so.conf for {} librar{}",
            evidence.len(),
            if evidence.len() == 1 { "y" } else { "ies" }
        ),
        process: None,
        processes: Vec::new(),
        objects: objects.into_iter().collect(),
        symbols: Vec::new(),
        bindings: Vec::new(),
        evidence,
        remedy: "Run ldconfig (as root) so the cache matches ld.so.conf; until then ld.so \
                 resolves these names from the stale cache."
            .into(),
        references: vec!["https://man7.org/linux/man-pages/man8/ldconfig.8.html (ld.so.cache is rebuilt only when ldconfig runs)".into()],
        symptoms: Vec::new(),
        status: None,
    })
}

/// `stale-ld-cache` of a root with no usable `/etc/ld.so.cache`: ld.so
/// then searches no cache at all (it never reads `ld.so.conf`, rule C4),
/// so every library only the cache would find is not found until
/// `ldconfig` runs. The evidence names those (outside the default
/// directories ld.so searches anyway) with the configuration line that
/// would bring each in; without any, there is no finding.
fn missing_ld_cache(root: &Root, loader: &Loader<'_>) -> Option<Finding> {
    let em = loader.unwritten_cache()?;
    let defaults = loader.profile().default_dirs();
    let mut evidence = Vec::new();
    let mut objects = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for e in em.cache.entries() {
        if e.flags != cache::DL_CACHE_DEFAULT_ID || e.hwcap != 0 || !seen.insert(e.key.to_vec()) {
            continue;
        }
        let value = e.value.to_str_lossy().into_owned();
        let dir = Path::new(&value).parent().unwrap_or(Path::new("/"));
        if defaults.iter().any(|d| d == dir) {
            continue;
        }
        let from = em
            .dirs
            .iter()
            .zip(&em.sources)
            .find(|(d, _)| d.as_path() == dir)
            .map_or("ld.so.conf", |(_, s)| s.as_str());
        evidence.push(format!(
            "{} => {value}: ldconfig would enter it (from {from}); without the cache ld.so does not find it",
            e.key.to_str_lossy()
        ));
        objects.insert(value);
    }
    // Nothing lost (everything ld.so.conf names is in a default
    // directory): the host's `ld_cache: none` says it, no finding.
    if evidence.is_empty() {
        return None;
    }
    let there = root.kind(Path::new("/etc/ld.so.cache")).is_some();
    let what = if there { "is unusable" } else { "is missing" };
    Some(Finding {
        id: FindingId::StaleLdCache,
        severity: Severity::Medium,
        certainty: Certainty::Certain,
        title: format!(
            "/etc/ld.so.cache {what}: ld.so does not find {} librar{} ld.so.conf names",
            evidence.len(),
            if evidence.len() == 1 { "y" } else { "ies" }
        ),
        process: None,
        processes: Vec::new(),
        objects: objects.into_iter().collect(),
        symbols: Vec::new(),
        bindings: Vec::new(),
        evidence,
        remedy: "Run ldconfig (as root) to write /etc/ld.so.cache from ld.so.conf; ld.so \
                 reads only the cache, never ld.so.conf itself."
            .into(),
        references: vec!["https://man7.org/linux/man-pages/man8/ld.so.8.html (the cache, not ld.so.conf, is what ld.so searches)".into()],
        symptoms: Vec::new(),
        status: None,
    })
}

fn text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    //! `unresolved-dependency` judged in hand-made processes: the
    //! stand-alone half is a `Load` as ld.so's trace mode makes it, the
    //! process half what the model records of each member and failed load.

    use std::sync::Arc;

    use bstr::BString;

    use super::*;
    use crate::image::{How as MemberHow, Member, Scopes, Unresolved};
    use crate::resolve::{Found, Loaded, Opened};
    use crate::root::FileId;

    const MODULE: &str = "/usr/lib/apache2/modules/mod_x.so";

    /// `MODULE` loaded alone: it needs libgone.so.1, found nowhere.
    fn alone(role: Role) -> StandAloneMisses {
        let main = Loaded {
            name: BString::from(MODULE),
            path: Some(PathBuf::from(MODULE)),
            opened: Some(Arc::new(Opened {
                id: FileId { dev: 1, ino: 1 },
                canonical: PathBuf::from(MODULE),
                size: 0,
                facts: Ok(Arc::new(ElfFacts::default())),
            })),
            how: How::Found(Found::Path),
            needed: vec![1],
            filtees: Vec::new(),
            loader: None,
        };
        let gone = Loaded {
            name: BString::from("libgone.so.1"),
            path: None,
            opened: None,
            how: How::NotFound(vec!["ld.so.cache".into()]),
            needed: Vec::new(),
            filtees: Vec::new(),
            loader: Some(0),
        };
        let load = Load {
            objects: vec![main, gone],
            interpreter: None,
            order: vec![0],
            preload_errors: Vec::new(),
            listing: crate::resolve::profile::Search::Glibc,
            itself_lines: Vec::new(),
        };
        stand_alone_misses(Path::new(MODULE), role, &load).expect("a miss")
    }

    fn process(members: &[(&str, bool)], unresolved: Vec<Unresolved>) -> ProcessImage {
        ProcessImage {
            name: "apache".into(),
            members: members
                .iter()
                .map(|(object, may_be_imported)| Member {
                    object: object.to_string(),
                    how: MemberHow::Dlopen,
                    flags: String::new(),
                    via: "test".into(),
                    global: false,
                    may_be_imported: *may_be_imported,
                    uncertain: false,
                    installed_only: false,
                    brought_by: None,
                    role: crate::model::Role::Library,
                })
                .collect(),
            scopes: Scopes { global: Vec::new() },
            errors: Vec::new(),
            notes: Vec::new(),
            link: Default::default(),
            config: Default::default(),
            unresolved,
            refused: Vec::new(),
        }
    }

    fn failed(via: &str, may_be_imported: bool, installed_only: bool) -> Unresolved {
        Unresolved {
            via: via.into(),
            objects: vec![MODULE.into()],
            missing: vec![(MODULE.into(), "libgone.so.1".into())],
            may_be_imported,
            installed_only,
        }
    }

    #[test]
    fn the_stand_alone_half_is_what_ldd_prints_not_found() {
        let a = alone(Role::ApacheModule);
        assert_eq!(a.names, BTreeSet::from(["libgone.so.1".to_string()]));
        assert!(a.evidence[0].starts_with("libgone.so.1 => not found (needed by"));
    }

    #[test]
    fn a_process_whose_load_misses_it_keeps_the_severity() {
        let p = process(
            &[],
            vec![failed("LoadModule x_module (a.conf:3)", false, false)],
        );
        let f = unresolved_dependency(&alone(Role::ApacheModule), &[&p]).expect("a finding");
        assert_eq!(
            (f.severity, f.certainty, f.process.as_deref()),
            (Severity::High, Certainty::Certain, Some("apache"))
        );
        assert!(f.evidence.iter().any(|e| e.contains("LoadModule x_module")));
        // Only an import that fails: it happens if the application imports it.
        let p = process(&[], vec![failed("import", true, false)]);
        let f = unresolved_dependency(&alone(Role::PythonExtension), &[&p]).expect("a finding");
        assert_eq!(
            (f.severity, f.certainty),
            (Severity::High, Certainty::Likely)
        );
    }

    #[test]
    fn a_member_of_every_process_that_loads_it_is_no_finding() {
        let loads = process(&[(MODULE, false)], Vec::new());
        let other = process(&[], Vec::new());
        assert_eq!(
            unresolved_dependency(&alone(Role::Library), &[&loads, &other]),
            None
        );
        // A failure of another load that misses a name of its own is not
        // this object's.
        let mut elsewhere = failed("LoadModule y_module (a.conf:4)", false, false);
        elsewhere.objects = vec!["/usr/lib/apache2/modules/mod_y.so".into()];
        let p = process(&[(MODULE, false)], vec![elsewhere]);
        assert_eq!(
            unresolved_dependency(&alone(Role::ApacheModule), &[&p]),
            None
        );
    }

    #[test]
    fn nothing_loads_it_at_most_low() {
        let p = process(&[], vec![failed("installed, not loaded", false, true)]);
        let f = unresolved_dependency(&alone(Role::ApacheModule), &[&p]).expect("a finding");
        assert_eq!(
            (f.severity, f.certainty, f.process),
            (Severity::Low, Certainty::Latent, None)
        );
        assert!(
            f.evidence
                .iter()
                .any(|e| e.contains("no modelled process (apache)"))
        );
        assert!(f.evidence.iter().any(|e| e.contains("if enabled")));
    }

    #[test]
    fn without_a_process_model_the_object_alone_decides() {
        let f = unresolved_dependency(&alone(Role::Library), &[]).expect("a finding");
        assert_eq!(
            (f.severity, f.certainty),
            (Severity::Medium, Certainty::Likely)
        );
        assert!(
            f.evidence
                .iter()
                .any(|e| e.contains("no process could be modelled"))
        );
    }
    /// An unreadable module is certain in the process whose configuration
    /// loads it, likely when only an import would or nothing could be
    /// modelled, and latent (low) when no modelled process loads it,
    /// `--installed` what-ifs included.
    #[test]
    fn unreadable_object_is_judged_by_who_loads_it() {
        use crate::image::Refused;
        let refusing = |may_be_imported: bool, installed_only: bool| {
            let mut p = process(&[], Vec::new());
            p.refused.push(Refused {
                path: MODULE.into(),
                may_be_imported,
                installed_only,
            });
            p
        };
        let judge = |ps: &[&ProcessImage]| {
            let f = unreadable_object(Path::new(MODULE), Role::ApacheModule, "a FIFO", ps);
            assert_eq!(f.id, FindingId::UnreadableObject);
            assert_eq!(f.objects, [MODULE]);
            assert_eq!(f.evidence.first().map(String::as_str), Some("a FIFO"));
            (f.severity, f.certainty, f.process)
        };
        let apache = Some("apache".to_string());
        assert_eq!(
            judge(&[&refusing(false, false)]),
            (Severity::Medium, Certainty::Certain, apache.clone())
        );
        assert_eq!(
            judge(&[&refusing(true, false)]),
            (Severity::Medium, Certainty::Likely, apache)
        );
        assert_eq!(judge(&[]), (Severity::Medium, Certainty::Likely, None));
        let latent = (Severity::Low, Certainty::Latent, None);
        assert_eq!(judge(&[&process(&[], Vec::new())]), latent);
        assert_eq!(judge(&[&refusing(false, true)]), latent);
        // Another path refused is not this one.
        let mut other = refusing(false, false);
        other.refused[0].path = format!("{MODULE}.1");
        assert_eq!(judge(&[&other]), latent);
    }
}
