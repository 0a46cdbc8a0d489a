//! `soclash scan`: discovery, ELF facts and resolution of every
//! candidate, the process models of every registered process kind
//! ([`crate::image::PROCESSES`]), and the findings of the rules.
//!
//! This module wires the stages (`host` → `elf`/`resolve` → `image` →
//! `rules` → `report`) and owns nothing else: each finding is built by a
//! rule function of [`crate::rules`] from the facts gathered, and the
//! [`Report`] is sorted before it is returned so output is deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bstr::ByteSlice;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::elf::machine_name;
use crate::elf::{Class, ElfFacts};
use crate::host;
use crate::host::packages::Package;
use crate::model::Finding;
use crate::model::{Certainty, FindingId, Role};
use crate::report::{ErrorEntry, Host, Object, OsRelease, ProcessEntry, Report, Tool};
use crate::resolve::profile::glibc;
use crate::resolve::{CacheSource, Cpu, How, Load, Loader, Opened, Options, SharedLoad, cache};
use crate::root::Root;
use crate::rules;

/// Settings of one scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub cpu: Cpu,
    /// Report time (RFC 3339); the caller supplies it so the rest is pure.
    pub scanned_at: String,
    /// Also model installed modules and extensions the configuration does
    /// not load, as what-ifs (findings `latent`, never above low).
    pub installed: bool,
    /// Directories of signature files added to the embedded catalogue.
    pub signatures: Vec<PathBuf>,
    /// The package each of the root's overlays is (by index, as
    /// [`Root::overlays`]), when it is one (`--overlay-deb`).
    pub overlay_packages: Vec<Option<Package>>,
}

/// One confirmed object of the inventory, keyed by canonical path.
struct Entry {
    role: Role,
    opened: Arc<Opened>,
    /// Paths by which it was found or reached.
    names: BTreeSet<String>,
    /// Its `DT_NEEDED` resolved: name → canonical path (or not found).
    resolved: Option<BTreeMap<String, Option<String>>>,
}

/// Runs a scan of `root`.
pub fn scan(root: &Root, opts: &ScanOptions) -> Report {
    scan_configured(root, opts, None)
}

/// [`scan`] with Apache's main configuration file given (an inner path),
/// as a running httpd's `-f` names it (`scan --live`); else the service's
/// or the distribution's.
pub fn scan_configured(root: &Root, opts: &ScanOptions, apache_config: Option<PathBuf>) -> Report {
    let found = host::discover(root);
    // With symbols: the process models use this loader where they search
    // as it does, so each file is read once for the inventory and the
    // models, and each stand-alone load made once.
    let loader = Loader::with_detail(
        root,
        Options {
            cpu: opts.cpu,
            ..Options::default()
        },
        crate::elf::Detail::Symbols,
    );
    let mut errors: Vec<ErrorEntry> = found
        .errors
        .iter()
        .chain(root.overlay_errors())
        .map(|(p, r)| error(p, r.clone()))
        .chain(
            loader
                .problems()
                .iter()
                .map(|p| error(&p.path, p.reason.clone())),
        )
        .collect();

    // Confirm each candidate from its ELF facts, in parallel.
    let opened: Vec<(host::Candidate, Result<Arc<Opened>, Rejected>)> = found
        .candidates
        .par_iter()
        .map(|c| (c.clone(), confirm(&loader, c)))
        .collect();
    let mut inventory: BTreeMap<PathBuf, Entry> = BTreeMap::new();
    // Objects of the web stack that could not be read: findings once the
    // processes are modelled, not errors, so a partial audit is not clean.
    let mut unreadable: BTreeMap<PathBuf, (Role, String)> = BTreeMap::new();
    for (c, reason) in &found.unreadable {
        let e = unreadable
            .entry(c.path.clone())
            .or_insert((c.role, reason.clone()));
        e.0 = e.0.min(c.role);
    }
    for (c, result) in opened {
        match result {
            Ok(o) => {
                let e = inventory
                    .entry(o.canonical.clone())
                    .or_insert_with(|| Entry {
                        role: c.role,
                        opened: Arc::clone(&o),
                        names: BTreeSet::new(),
                        resolved: None,
                    });
                // A file in two places keeps the role of the first in Role order.
                e.role = e.role.min(c.role);
                e.names.insert(text(&c.path));
            }
            Err(reason) if reason.is_unreadable() => {
                let e = unreadable
                    .entry(c.path.clone())
                    .or_insert((c.role, reason.to_string()));
                e.0 = e.0.min(c.role);
            }
            Err(reason) => errors.push(error(&c.path, reason.to_string())),
        }
    }

    // The process's class and machine: those of the httpd binary.
    let target = inventory
        .values()
        .filter(|e| e.role == Role::Httpd)
        .find_map(|e| facts(&e.opened).map(|f| (f.class, f.machine)))
        .unwrap_or((Some(Class::Elf64), object::elf::EM_X86_64.0));

    // Which objects the modelled Apache process loads (`loaded`), and how
    // sure the findings about them are.
    let bind_opts = crate::image::bind::BindOptions::default();
    let image_opts = crate::image::ImageOptions {
        apache_config,
        cpu: opts.cpu,
        bind_early: Some(bind_opts),
    };
    // Every registered process kind, modelled in parallel, in registry order.
    let modelled: Vec<_> = crate::image::PROCESSES
        .par_iter()
        .map(|kind| {
            let r = kind.model_sharing(root, &image_opts, &found, opts.installed, &loader);
            (kind, r)
        })
        .collect();
    // A process that is there but could not be modelled (its binary over
    // a budget, unreadable, not ELF) is an error of the scan; one that is
    // not there is nothing to say.
    let mut models: Vec<crate::image::ProcessImage> = Vec::new();
    for (kind, r) in modelled {
        match r {
            Ok(images) => models.extend(images),
            Err(crate::image::ModelError::Absent(_)) => {}
            Err(crate::image::ModelError::Failed(binary, why)) => errors.push(ErrorEntry {
                path: binary.display().to_string(),
                reason: format!("the {} process could not be modelled: {why}", kind.name),
            }),
        }
    }
    let mut findings = Vec::new();
    let mains: Vec<(PathBuf, PathBuf)> = inventory
        .iter()
        .filter_map(|(canonical, e)| {
            let first = e.names.iter().next()?;
            Some((canonical.clone(), PathBuf::from(first)))
        })
        .collect();
    let loads: Vec<(PathBuf, SharedLoad)> = mains
        .par_iter()
        .map(|(canonical, path)| (canonical.clone(), loader.load_shared(path)))
        .collect();
    // What each object misses loaded on its own; judged in the processes
    // once they are modelled.
    let mut alone_misses = Vec::new();
    for (canonical, load) in loads {
        let Some(role) = inventory.get(&canonical).map(|e| e.role) else {
            continue;
        };
        let load = match load {
            Ok(l) => l,
            Err(reason) => {
                errors.push(error(&canonical, reason.to_string()));
                continue;
            }
        };
        if let Some((path, reason)) = load.fatal() {
            errors.push(error(
                path,
                format!("{reason} (ld.so would refuse to load it)"),
            ));
        }
        alone_misses.extend(rules::inventory::stand_alone_misses(
            &canonical, role, &load,
        ));
        add_load(&mut inventory, &load);
    }
    // Every member of every process is an object of the report: the
    // modules of a virtualenv or a `python-path` entry, and the libraries
    // they bundle, are found by the model alone. Each module, extension or
    // import is loaded on its own as a candidate is (its libraries come
    // with it), then any member still unreached.
    let mut extra: Vec<(PathBuf, Role)> = Vec::new();
    let mut listed: FxHashSet<&str> = FxHashSet::default();
    for m in models.iter().flat_map(|i| &i.members) {
        if !listed.insert(m.object.as_str()) {
            continue;
        }
        let path = PathBuf::from(&m.object);
        if !inventory.contains_key(&path) {
            extra.push((path, m.role));
        }
    }
    extra.sort_by(|(p, role), (q, other)| {
        (*role == Role::Library, p).cmp(&(*other == Role::Library, q))
    });
    let opened: Vec<(PathBuf, Role, Result<Arc<Opened>, crate::root::RootError>)> = extra
        .into_par_iter()
        .map(|(p, role)| {
            let o = loader.open(&p);
            (p, role, o)
        })
        .collect();
    let mut added = Vec::new();
    for (path, role, o) in opened {
        match o {
            Ok(o) => {
                added.push((o.canonical.clone(), role));
                inventory
                    .entry(o.canonical.clone())
                    .or_insert_with(|| Entry {
                        role,
                        opened: o,
                        names: BTreeSet::from([text(&path)]),
                        resolved: None,
                    });
            }
            Err(e) => errors.push(error(&path, e.to_string())),
        }
    }
    for libraries in [false, true] {
        let todo: Vec<PathBuf> = added
            .iter()
            .filter(|(_, role)| (*role == Role::Library) == libraries)
            .map(|(p, _)| p.clone())
            .filter(|p| inventory.get(p).is_some_and(|e| e.resolved.is_none()))
            .collect();
        let loads: Vec<(PathBuf, SharedLoad)> = todo
            .par_iter()
            .map(|p| (p.clone(), loader.load_shared(p)))
            .collect();
        for (canonical, load) in loads {
            let Some(role) = inventory.get(&canonical).map(|e| e.role) else {
                continue;
            };
            match load {
                Ok(load) => {
                    alone_misses.extend(rules::inventory::stand_alone_misses(
                        &canonical, role, &load,
                    ));
                    add_load(&mut inventory, &load);
                }
                Err(reason) => errors.push(error(&canonical, reason.to_string())),
            }
        }
    }
    for (path, e) in &inventory {
        if let Some(f) =
            rules::inventory::wrong_architecture(path, e.role, facts(&e.opened), target)
        {
            findings.push(f);
        }
    }
    if let Some(f) = rules::inventory::stale_ld_cache(root, &loader) {
        findings.push(f);
    }

    let apache = crate::image::APACHE.name;
    // The findings above are about the Apache process: without its model,
    // whether their objects are loaded is unknown.
    let image = models.iter().find(|i| i.name == apache);
    let images: Vec<&crate::image::ProcessImage> = models.iter().collect();
    // Per path, in process order, each process's first member of that
    // path and whether any of its members of that path is loaded by the
    // configuration: asked for every object of the inventory.
    let mut by_object: ByObject<'_> = FxHashMap::default();
    for (k, i) in images.iter().enumerate() {
        for m in &i.members {
            let of = by_object.entry(m.object.as_str()).or_default();
            match of.last_mut() {
                Some((at, _, any)) if *at == k => *any |= !m.installed_only,
                _ => of.push((k, m, !m.installed_only)),
            }
        }
    }
    let loaded = |path: &str| -> Option<bool> {
        image?;
        let members: Vec<&crate::image::Member> = by_object
            .get(path)
            .into_iter()
            .flatten()
            .map(|&(_, m, _)| m)
            .filter(|m| !m.installed_only)
            .collect();
        if members.iter().any(|m| !m.may_be_imported) {
            Some(true)
        } else if members.is_empty() {
            Some(false)
        } else {
            None
        }
    };
    let processes_of = |path: &str| -> Vec<String> {
        by_object
            .get(path)
            .into_iter()
            .flatten()
            .filter(|&&(_, _, any)| any)
            .filter_map(|&(k, _, _)| images.get(k))
            .map(|i| i.name.clone())
            .collect()
    };
    for f in &mut findings {
        if f.id == FindingId::StaleLdCache {
            continue;
        }
        let states: Vec<Option<bool>> = f.objects.iter().map(|o| loaded(o)).collect();
        if image.is_some() {
            f.certainty = if states.contains(&Some(true)) {
                Certainty::Certain
            } else if states.contains(&None) {
                Certainty::Likely
            } else {
                Certainty::Latent
            };
            // The first process that loads one of its objects.
            f.process = images
                .iter()
                .find(|i| {
                    i.members.iter().any(|m| {
                        !m.may_be_imported && !m.installed_only && f.objects.contains(&m.object)
                    })
                })
                .map(|i| i.name.clone());
        }
    }
    findings.extend(
        alone_misses
            .iter()
            .filter_map(|m| rules::inventory::unresolved_dependency(m, &images)),
    );
    findings.extend(unreadable.iter().map(|(path, (role, reason))| {
        rules::inventory::unreadable_object(path, *role, reason, &images)
    }));
    // What the binding model says about each process (rules B1–B16), and
    // which known clashes of the catalogue match it.
    let (signatures, schema_errors) = crate::rules::signature::catalogue(&opts.signatures);
    errors.extend(schema_errors.iter().map(|e| ErrorEntry {
        path: e.file.display().to_string(),
        reason: format!("signature not used: {e}"),
    }));
    let read = |p: &str| {
        root.read(Path::new(p), crate::budget::named!(VERSION_STRING_FILE))
            .ok()
    };
    // The first process's bindings (for Apache, those of the parent every
    // daemon shares, which each would otherwise wait for) while the
    // distributions' records are read.
    let (first, wheels) = rayon::join(
        || {
            images
                .first()
                .map(|i| crate::image::bind::bind(i, &bind_opts))
        },
        || {
            // Which Python distribution each object belongs to (the
            // inventory's and the processes' link maps: a virtualenv's
            // modules are only the latter's, and a wheel's library the
            // process replaces by another wheel's of the same soname is
            // only in a member's stand-alone load, yet the interposition
            // that expected it is its wheel's), for one finding per cause.
            let files: FxHashSet<&Path> = inventory
                .keys()
                .map(PathBuf::as_path)
                .chain(images.iter().flat_map(|i| i.link.paths()).map(Path::new))
                .collect();
            crate::host::wheels::owners(root, &files)
        },
    );
    let first = std::sync::Mutex::new(first);
    errors.extend(wheels.errors.iter().map(|(p, r)| error(p, r.clone())));
    let units = rules::group::Units::new(&wheels.by_file, &images);
    let per_process: Vec<Vec<Finding>> = images
        .par_iter()
        .enumerate()
        .map(|(k, i)| {
            let made = if k == 0 {
                first.lock().ok().and_then(|mut f| f.take())
            } else {
                None
            };
            let bindings = made.unwrap_or_else(|| crate::image::bind::bind(i, &bind_opts));
            let mut builtin = crate::rules::process_findings(i, &bindings);
            let known = crate::rules::matcher::evaluate(
                &signatures,
                i,
                &bindings,
                &read,
                &mut builtin,
                &units,
            );
            builtin.extend(known);
            builtin
        })
        .collect();
    findings.extend(per_process.into_iter().flatten());
    let found = crate::host::packages::owners(root, &inventory.keys().cloned().collect());
    let mut owners = found.by_file;
    overlay_owners(root, opts, inventory.keys(), &mut owners);
    let interposing: BTreeSet<String> = signatures
        .iter()
        .filter(|s| {
            s.explains
                .iter()
                .any(|e| e.0 == FindingId::SymbolInterposition)
        })
        .map(|s| s.id.0.clone())
        .collect();
    // One finding per cause, and the report's objects and processes,
    // side by side: neither reads the other, and with forty daemons each
    // is tens of milliseconds.
    let (findings, (objects, processes)) = rayon::join(
        || {
            let mut findings = rules::group::by_cause(
                findings,
                &rules::group::Context {
                    images: &images,
                    owners: &owners,
                    units: &units,
                    interposing: &interposing,
                },
            );
            for f in &mut findings {
                name_packages(f, &owners, &images, &by_object);
            }
            findings
        },
        || {
            let objects: Vec<Object> = inventory
                .into_iter()
                .filter_map(|(path, e)| object(&path, e))
                .map(|mut o| {
                    o.loaded = loaded(&o.path);
                    o.processes = processes_of(&o.path);
                    // A virtualenv's file: the wheel its RECORD names.
                    o.package = owners
                        .get(Path::new(&o.path))
                        .or_else(|| wheels.by_file.get(Path::new(&o.path)))
                        .cloned();
                    o
                })
                .collect();
            let processes: Vec<ProcessEntry> =
                images.par_iter().map(|&i| ProcessEntry::from(i)).collect();
            (objects, processes)
        },
    );
    let mut report = Report {
        schema: crate::report::SCHEMA,
        tool: Tool {
            signatures: Some(crate::rules::signature::set_version(&opts.signatures)),
            ..Tool::default()
        },
        host: host_facts(root, &loader, opts),
        processes,
        objects,
        findings,
        waived: Vec::new(),
        errors,
        summary: Default::default(),
        overlay: None,
        live: None,
    };
    report.host.stack = stack(&report.objects, |p| {
        root.read(Path::new(p), crate::budget::named!(VERSION_STRING_FILE))
            .ok()
    });
    report.host.packages = found.databases;
    drop(images);
    if report.audited_nothing() {
        // Said in the report too: an archived report of nothing must not
        // read as a clean host.
        report.errors.push(error(
            Path::new("/"),
            "nothing to audit: no httpd, Apache module, PHP extension or Python extension module found".into(),
        ));
    }
    report.finish();
    // The process models and what the loader read are not needed past
    // here: freeing them (tens of thousands of scope lists and symbol
    // names with forty daemons) is left to one other thread while the
    // report is written.
    let held = loader.into_held();
    rayon::spawn(move || {
        drop(models);
        drop(held);
    });
    report
}

/// Apache, PHP and Python as the inventory shows them: the httpd binary,
/// the PHP Apache module (or else an extension), and the first Python
/// runtime library or extension module; versions from the file names
/// (`libphp8.2.so`, `/usr/lib/python3.11/`), packages from the database.
fn stack(
    objects: &[Object],
    read: impl Fn(&str) -> Option<Vec<u8>>,
) -> Vec<crate::report::Software> {
    let file = |o: &Object| o.path.rsplit('/').next().unwrap_or_default().to_string();
    let version_after = |text: &str, prefix: &str| -> Option<String> {
        let rest = &text[text.find(prefix)? + prefix.len()..];
        let v: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let v = v.trim_end_matches('.');
        (!v.is_empty()).then(|| v.to_string())
    };
    // The executable of Apache's process (php-fpm's is an executable too).
    let apache = objects
        .iter()
        .find(|o| {
            o.role == Role::Httpd && o.processes.iter().any(|p| p == crate::image::APACHE.name)
        })
        .or_else(|| objects.iter().find(|o| o.role == Role::Httpd));
    let php = objects
        .iter()
        .find(|o| o.role == Role::ApacheModule && file(o).starts_with("libphp"))
        .or_else(|| objects.iter().find(|o| o.role == Role::PhpExtension));
    // The interpreter in use: libpython, else its own modules
    // (lib-dynload, shipped with the interpreter), not the first
    // extension module some package put in dist-packages.
    let python = objects
        .iter()
        .find(|o| file(o).starts_with("libpython"))
        .or_else(|| {
            objects
                .iter()
                .find(|o| o.role == Role::PythonExtension && o.path.contains("/lib-dynload/"))
        })
        .or_else(|| objects.iter().find(|o| o.role == Role::PythonExtension));
    // httpd's banner (`Apache/2.4.62`), compiled into the executable.
    let apache_version = apache.and_then(|o| {
        use bstr::ByteSlice;
        let bytes = read(&o.path)?;
        // `Apache/2` and `Apache/2.4` are there too: the fullest wins.
        bytes
            .find_iter(b"Apache/")
            .map(|at| {
                let v: String = bytes[at + "Apache/".len()..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit() || **b == b'.')
                    .map(|&b| char::from(b))
                    .collect();
                v.trim_end_matches('.').to_string()
            })
            .filter(|v| v.contains('.'))
            .max_by_key(|v| v.matches('.').count())
    });
    let mut out = Vec::new();
    for (name, o, version) in [
        ("apache", apache, apache_version),
        (
            "php",
            php,
            php.and_then(|o| version_after(&file(o), "libphp")),
        ),
        (
            "python",
            python,
            python.and_then(|o| version_after(&o.path, "python")),
        ),
    ] {
        if let Some(o) = o {
            out.push(crate::report::Software {
                name: name.into(),
                version,
                path: o.path.clone(),
                package: o.package.clone(),
            });
        }
    }
    out
}

/// A remedy a sysadmin can act on names packages: the evidence lists the
/// packages that ship the finding's objects, and the remedy says for each
/// library which loaded module or extension brings it, and from which
/// package, since that is what one disables or removes.
/// Each process's first member of a path, by path, in process order
/// (with whether any of its members of that path is loaded).
type ByObject<'i> = FxHashMap<&'i str, Vec<(usize, &'i crate::image::Member, bool)>>;

fn name_packages(
    f: &mut Finding,
    owners: &BTreeMap<PathBuf, Package>,
    images: &[&crate::image::ProcessImage],
    by_object: &ByObject<'_>,
) {
    let package = |p: &str| {
        owners
            .get(Path::new(p))
            .map(|p| format!("{} {}", p.name, p.version))
    };
    let file = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let mut named: Vec<String> = f.objects.iter().filter_map(|o| package(o)).collect();
    named.sort();
    named.dedup();
    if !named.is_empty() {
        f.evidence.push(format!("packages: {}", named.join(", ")));
    }
    // The finding's process first, then the others a group spans.
    let own = |k: usize| {
        images
            .get(k)
            .is_some_and(|i| f.process.as_ref() == Some(&i.name))
    };
    // One line per module that brings objects (or package that holds
    // them), its objects listed: a group of one cause names many.
    let mut lines: Vec<(String, Vec<String>)> = Vec::new();
    for o in &f.objects {
        let members = by_object.get(o.as_str()).map_or(&[][..], Vec::as_slice);
        let brought = members
            .iter()
            .find(|(k, _, _)| own(*k))
            .or_else(|| members.iter().find(|(k, _, _)| !own(*k)))
            .and_then(|(_, m, _)| m.brought_by.as_deref());
        let tail = match brought {
            Some(b) => Some(match package(b) {
                Some(p) => format!("with {} (package {p})", file(b)),
                None => format!("with {}", file(b)),
            }),
            None => package(o).map(|p| format!("in package {p}")),
        };
        let Some(tail) = tail else { continue };
        match lines.iter_mut().find(|(t, _)| *t == tail) {
            Some((_, names)) => names.push(file(o)),
            None => lines.push((tail, vec![file(o)])),
        }
    }
    let lines: Vec<String> = lines
        .into_iter()
        .map(|(tail, names)| {
            const SHOWN: usize = 4;
            let (verb, rest) = match tail.strip_prefix("with ") {
                Some(r) => (("comes", "come"), format!("with {r}")),
                None => (("is", "are"), tail.clone()),
            };
            let who = match names.as_slice() {
                [one] => return format!("{one} {} {rest}", verb.0),
                [init @ .., last] if names.len() <= SHOWN => {
                    format!("{} and {last}", init.join(", "))
                }
                _ => format!(
                    "{} and {} more",
                    names[..SHOWN].join(", "),
                    names.len() - SHOWN
                ),
            };
            format!("{who} {} {rest}", verb.1)
        })
        .collect();
    if !lines.is_empty() {
        f.remedy = format!("{} Packages: {}.", f.remedy.trim_end(), lines.join("; "));
    }
}

/// A file an overlay brings is its package's, or nobody's known one: the
/// root's package database still names the file it replaces.
fn overlay_owners<'a>(
    root: &Root,
    opts: &ScanOptions,
    files: impl Iterator<Item = &'a PathBuf>,
    owners: &mut BTreeMap<PathBuf, Package>,
) {
    for f in files {
        let Some(layer) = root.overlay_of(f) else {
            continue;
        };
        match opts.overlay_packages.get(layer) {
            Some(Some(p)) => owners.insert(f.clone(), p.clone()),
            _ => owners.remove(f),
        };
    }
}

/// Why a candidate is not in the inventory (an entry of the report's
/// errors).
#[derive(Debug, thiserror::Error)]
enum Rejected {
    /// A link to nothing inside the root: often an absolute link that
    /// points at the auditing machine's file, not the root's.
    #[error("dangling symlink: {} does not exist inside the root", target.display())]
    Dangling { target: PathBuf },
    #[error("{0}")]
    Open(crate::root::RootError),
    /// Not ELF that ld.so would map.
    #[error("{0}")]
    Elf(Arc<crate::elf::Error>),
    /// An ELF type its role cannot be (a module that is an executable).
    #[error("not a shared object ({}), so not a {}", elf_type(*e_type), role.as_str())]
    Type { e_type: u16, role: Role },
    #[error("no dynamic section: cannot be loaded")]
    NotDynamic,
}

impl Rejected {
    /// The file could not be read as ELF at all (missing, not a regular
    /// file, not ELF ld.so maps), as opposed to ELF that is no object of
    /// its role: what it would bring into a process is unknown.
    fn is_unreadable(&self) -> bool {
        matches!(
            self,
            Rejected::Dangling { .. } | Rejected::Open(_) | Rejected::Elf(_)
        )
    }
}

fn elf_type(e_type: u16) -> &'static str {
    match e_type {
        1 => "relocatable object",
        2 => "executable",
        4 => "core file",
        _ => "unknown ELF type",
    }
}

/// Opens a candidate and checks that its ELF facts fit its role.
fn confirm(loader: &Loader<'_>, c: &host::Candidate) -> Result<Arc<Opened>, Rejected> {
    let o = loader
        .open(&c.path)
        .map_err(|e| match loader.root().read_link(&c.path) {
            Some(target) if e.is_absent() => Rejected::Dangling { target },
            _ => Rejected::Open(e),
        })?;
    let f = o.facts.as_ref().map_err(|e| Rejected::Elf(Arc::clone(e)))?;
    let ok = match c.role {
        Role::Httpd => f.e_type == 2 || f.e_type == 3,
        _ => f.e_type == 3,
    };
    if !ok {
        return Err(Rejected::Type {
            e_type: f.e_type,
            role: c.role,
        });
    }
    if !f.dynamic {
        return Err(Rejected::NotDynamic);
    }
    Ok(o)
}

/// Adds every object of a load to the inventory, with its resolved
/// dependencies as this load found them (loads run in path order, so the
/// first one to reach a library decides, deterministically).
fn add_load(inventory: &mut BTreeMap<PathBuf, Entry>, load: &Load) {
    for (i, o) in load.objects.iter().enumerate() {
        let Some(opened) = &o.opened else { continue };
        // Most objects of a load are in the inventory already (a
        // virtualenv's modules share their libraries): looked up before a
        // key is made for them.
        let e = match inventory.get_mut(&opened.canonical) {
            Some(e) => e,
            None => inventory
                .entry(opened.canonical.clone())
                .or_insert_with(|| Entry {
                    role: Role::Library,
                    opened: Arc::clone(opened),
                    names: BTreeSet::new(),
                    resolved: None,
                }),
        };
        if let Some(p) = &o.path {
            e.names.insert(text(p));
        }
        // The interpreter is loaded, not searched: no edges of its own here.
        // A candidate's own load (index 0) says it best.
        if i == 0 || (e.resolved.is_none() && !matches!(o.how, How::Interpreter)) {
            let resolved: BTreeMap<String, Option<String>> = o
                .facts()
                .map(|f| f.needed.iter())
                .into_iter()
                .flatten()
                .zip(o.needed.iter())
                .map(|(name, &j)| {
                    let target = load
                        .objects
                        .get(j)
                        .and_then(|t| t.opened.as_ref())
                        .map(|t| text(&t.canonical));
                    (name.to_str_lossy().into_owned(), target)
                })
                .collect();
            e.resolved = Some(resolved);
        }
    }
}

fn object(path: &Path, e: Entry) -> Option<Object> {
    let f = facts(&e.opened)?;
    let canonical = text(path);
    Some(Object {
        soname: f.soname.as_ref().map(|s| s.to_str_lossy().into_owned()),
        needed: f
            .needed
            .iter()
            .map(|n| n.to_str_lossy().into_owned())
            .collect(),
        resolved: e.resolved.unwrap_or_default(),
        loaded: None,
        build_id: f
            .build_id
            .as_ref()
            .map(|b| b.iter().map(|x| format!("{x:02x}")).collect()),
        size: e.opened.size,
        class: match f.class {
            Some(Class::Elf32) => "elf32".into(),
            _ => "elf64".into(),
        },
        machine: machine_name(f.machine),
        names: e.names.into_iter().filter(|n| *n != canonical).collect(),
        processes: Vec::new(),
        package: None,
        path: canonical,
        role: e.role,
    })
}

fn host_facts(root: &Root, loader: &Loader<'_>, opts: &ScanOptions) -> Host {
    let hostname = if root.is_host() { nix_hostname() } else { None }.or_else(|| {
        root.read(Path::new("/etc/hostname"), 4096)
            .ok()
            .and_then(|b| first_line(&b))
    });
    let os = root
        .read(Path::new("/etc/os-release"), 64 * 1024)
        .or_else(|_| root.read(Path::new("/usr/lib/os-release"), 64 * 1024))
        .map(|b| os_release(&b))
        .unwrap_or_default();
    let ld_cache = match (loader.cache_source(), loader.cache()) {
        (CacheSource::File, Some(c)) => match c.format() {
            cache::Format::New => "new",
            cache::Format::Old => "old",
            cache::Format::Compat => "compat",
        },
        (CacheSource::Rebuilt, Some(_)) => "rebuilt",
        _ => "none",
    };
    Host {
        hostname,
        root: root.host_dir().display().to_string(),
        os_release: os,
        // The release of another C library is no glibc release.
        glibc: Some(loader.profile())
            .filter(|p| p.name() == glibc::NAME)
            .and_then(|p| p.version()),
        libc: Some({
            let p = loader.profile();
            match p.version() {
                Some(v) => format!("{} {v}", p.name()),
                None => p.name().to_string(),
            }
        }),
        ld_cache: ld_cache.into(),
        cpu_level: opts.cpu.level,
        scanned_at: opts.scanned_at.clone(),
        stack: Vec::new(),
        packages: Vec::new(),
    }
}

/// This machine's host name: `uname(2)`'s nodename, which is what glibc's
/// `gethostname` returns on Linux.
fn nix_hostname() -> Option<String> {
    first_line(rustix::system::uname().nodename().to_bytes())
}

fn first_line(b: &[u8]) -> Option<String> {
    let line = b.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_str_lossy().into_owned())
}

/// `os-release(5)`: `KEY=value` lines, values optionally quoted.
fn os_release(b: &[u8]) -> OsRelease {
    let mut out = OsRelease::default();
    for line in b.lines() {
        let Some((k, v)) = line.split_once_str("=") else {
            continue;
        };
        let v = v.trim();
        let v = v
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .or_else(|| v.strip_prefix(b"'").and_then(|v| v.strip_suffix(b"'")))
            .unwrap_or(v);
        let v = Some(v.to_str_lossy().into_owned());
        match k.trim() {
            b"ID" => out.id = v,
            b"VERSION_ID" => out.version_id = v,
            b"PRETTY_NAME" => out.pretty_name = v,
            _ => {}
        }
    }
    out
}

fn facts(o: &Opened) -> Option<&ElfFacts> {
    o.facts.as_ref().ok().map(|f| &**f)
}

fn text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn error(p: &Path, reason: String) -> ErrorEntry {
    ErrorEntry {
        path: text(p),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::LoadError;

    /// os-release(5): quoted and unquoted values, comments, other keys.
    #[test]
    fn os_release_values() {
        let o = os_release(
            b"# comment\nNAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID='9.4'\nPRETTY_NAME=Rocky\n",
        );
        assert_eq!(o.id.as_deref(), Some("rocky"));
        assert_eq!(o.version_id.as_deref(), Some("9.4"));
        assert_eq!(o.pretty_name.as_deref(), Some("Rocky"));
        assert_eq!(os_release(b"garbage\n\0\xff"), OsRelease::default());
    }

    /// main prints `{e:#}`, each source after the message: an error whose
    /// message prints the error inside it must not also name it as its
    /// source, or main would say it twice.
    #[test]
    fn no_error_names_as_source_what_it_prints() {
        let io = || std::io::Error::from_raw_os_error(libc::ENOENT);
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(crate::root::RootError::Io(io())),
            Box::new(crate::elf::Error::Io(io())),
            Box::new(crate::root::deb::DebError::Io(io())),
            Box::new(LoadError::Open(crate::root::RootError::Io(io()))),
            Box::new(crate::yaml_guard::Error::Open(io())),
            Box::new(crate::report::diff::ArchiveError::ReadDir {
                dir: PathBuf::from("/a"),
                error: io(),
            }),
            Box::new(crate::whatif::OverlayError::Unpack {
                deb: PathBuf::from("x.deb"),
                error: crate::root::deb::DebError::Io(io()),
            }),
            Box::new(crate::whatif::OverlayError::UnpackRpm {
                rpm: PathBuf::from("x.rpm"),
                error: crate::root::rpm::RpmError::Io(io()),
            }),
        ];
        for e in &errors {
            assert!(e.source().is_none(), "{e}: {:?}", e.source());
            assert!(e.to_string().contains("No such file or directory"), "{e}");
        }
    }
}
