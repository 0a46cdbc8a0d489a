//! Built-in findings about the inventory, before any process model: what
//! the loader cannot find, what the httpd process cannot load, and an
//! `ld.so.cache` that `ldconfig` would write differently.
//!
//! - `unresolved-dependency`: a `DT_NEEDED` the loader finds nowhere (L3);
//! - `wrong-architecture`: a module or extension of another ELF class or
//!   machine than httpd's (L12);
//! - `stale-ld-cache`: the cache ld.so reads disagrees with ld.so.conf (C11).
//!
//! `scan` calls each with the facts it gathered; the findings' certainty
//! and process are set later from the process models.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bstr::ByteSlice;

use crate::elf::machine_name;
use crate::elf::{Class, ElfFacts};
use crate::model::Finding;
use crate::model::{Certainty, FindingId, Role, Severity};
use crate::resolve::{CacheSource, How, Load, Loader, cache};
use crate::root::Root;

/// `unresolved-dependency`: what `ldd` shows as "not found" for the object.
pub fn unresolved_dependency(path: &Path, role: Role, load: &Load) -> Option<Finding> {
    let mut evidence = Vec::new();
    let mut symbols = BTreeSet::new();
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
            symbols.insert(o.name.to_str_lossy().into_owned());
        }
    }
    if evidence.is_empty() {
        return None;
    }
    evidence.dedup();
    let names: Vec<String> = symbols.into_iter().collect();
    let what = match role {
        Role::Httpd => "httpd cannot start",
        Role::ApacheModule => "Apache fails to start when the module is loaded",
        Role::PhpExtension => "PHP fails to load the extension",
        Role::PythonExtension => "importing the module fails",
        Role::Library => "whatever loads this library fails",
    };
    Some(Finding {
        id: FindingId::UnresolvedDependency,
        severity: if role == Role::Library {
            Severity::Medium
        } else {
            Severity::High
        },
        certainty: Certainty::Likely,
        title: format!(
            "{} needs {} that the loader cannot find: {what}",
            text(path),
            names.join(", ")
        ),
        process: None,
        objects: vec![text(path)],
        symbols: Vec::new(),
        bindings: Vec::new(),
        evidence,
        remedy: "Install the package that provides the missing library, or fix the \
                 RPATH/RUNPATH or ld.so.conf that should find it (then run ldconfig); \
                 if the object is not used, remove it."
            .into(),
        references: vec!["research/loader-model.md §1 (L3)".into()],
        symptoms: Vec::new(),
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
        references: vec!["research/loader-model.md §1 (L12)".into()],
        symptoms: Vec::new(),
    })
}

/// `stale-ld-cache`: what `ldconfig` would write now differs from the cache
/// ld.so reads (research/peers.md cases E1/E2; rule C11).
pub fn stale_ld_cache(root: &Root, loader: &Loader<'_>) -> Option<Finding> {
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
        objects: objects.into_iter().collect(),
        symbols: Vec::new(),
        bindings: Vec::new(),
        evidence,
        remedy: "Run ldconfig (as root) so the cache matches ld.so.conf; until then ld.so \
                 resolves these names from the stale cache."
            .into(),
        references: vec!["research/loader-model.md §2.3 (C11)".into()],
        symptoms: Vec::new(),
    })
}

fn text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
