//! Symbol binding in a modelled process (research/loader-model.md §4,
//! rules B1–B16, G8, P2): for every reference of every member, the
//! definition ld.so picks, and the one the object would get loaded on its
//! own with its dependencies.
//!
//! The lookup follows glibc's `_dl_lookup_symbol_x`/`do_lookup_x`/
//! `check_match` (elf/dl-lookup.c): scopes in order, objects in list
//! order, the first acceptable definition wins, with the version rules of
//! B8/B9, hidden definitions skipped, weak like global unless
//! `LD_DYNAMIC_WEAK`, `STB_GNU_UNIQUE` registered once per namespace,
//! protected references kept in their object, and `COPY` relocations
//! skipping the executable.

use std::sync::Arc;

use bstr::BString;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::elf::{ElfFacts, RelocClass, Symbol};

/// One object the binding model reads: a member of the process, or an
/// object only a member's stand-alone load reaches (for `expected`).
#[derive(Debug, Clone)]
pub(crate) struct Obj {
    /// Canonical path inside the root.
    pub path: String,
    pub facts: Option<Arc<ElfFacts>>,
}

/// One scope list of a member (G2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The global scope as it stood when the member was relocated: its
    /// first `n` entries (G5: append-only).
    Global(usize),
    /// A search list (object indices).
    List(Vec<usize>),
}

/// What the binding model needs of one member.
#[derive(Debug, Clone)]
pub(crate) struct MemberLink {
    /// Index into [`LinkMap::objects`].
    pub object: usize,
    /// Scope lists in lookup order at relocation time.
    pub scopes: Vec<Scope>,
    /// Relocated lazily: its PLT slots bind at the first call (G8).
    pub lazy: bool,
    /// The main program (skipped by `COPY` lookups, B15).
    pub exec: bool,
    /// The search list when it is loaded on its own (`expected`).
    pub solo: Vec<usize>,
    /// Loaded only if the application imports it.
    pub may_be_imported: bool,
    /// Installed, not loaded by the configuration (a what-if).
    pub installed_only: bool,
}

/// The link map of a modelled process, as the binding model reads it.
/// Kept beside the [`super::ProcessImage`], not serialised.
#[derive(Debug, Clone, Default)]
pub struct LinkMap {
    pub(crate) objects: Vec<Obj>,
    /// In link-map order, the same order as `ProcessImage::members`.
    pub(crate) members: Vec<MemberLink>,
    /// The final global scope (object indices).
    pub(crate) global: Vec<usize>,
    /// Member indices in the order ld.so relocates them (rtld.c and
    /// dl-open.c walk each new search list backwards).
    pub(crate) relocation_order: Vec<usize>,
    /// `LD_BIND_NOW` in the service environment.
    pub(crate) env_bind_now: bool,
    /// `LD_DYNAMIC_WEAK` in the service environment.
    pub(crate) env_dynamic_weak: bool,
}

impl PartialEq for LinkMap {
    /// Two link maps are equal when they list the same objects; the facts
    /// are the files'.
    fn eq(&self, other: &LinkMap) -> bool {
        self.objects.len() == other.objects.len()
            && self
                .objects
                .iter()
                .zip(&other.objects)
                .all(|(a, b)| a.path == b.path)
    }
}

impl Eq for LinkMap {}

/// Settings that change bindings (rules G8, B12).
#[derive(Debug, Clone, Copy, Default)]
pub struct BindOptions {
    /// Bind every PLT slot at load (`LD_BIND_NOW`), whatever the service
    /// environment says.
    pub bind_now: bool,
    /// `LD_DYNAMIC_WEAK`, whatever the service environment says.
    pub dynamic_weak: bool,
}

/// One reference (a dynamic relocation naming a symbol, rule B1) and where
/// it binds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// The referencing member (canonical path).
    pub object: String,
    pub symbol: String,
    /// The version the lookup asks for (B8), if any.
    pub version: Option<String>,
    pub class: RelocClass,
    /// The object whose definition ld.so picks, or `None` when nothing
    /// defines it (B16).
    pub binds_to: Option<String>,
    /// The version of that definition.
    pub binds_to_version: Option<String>,
    /// Where it binds when its object is loaded on its own with its
    /// dependencies; a symbol none of them defines is provided by the host
    /// (httpd, libphp, libpython) and expected wherever it binds.
    pub expected: Option<String>,
    /// `binds_to` differs from `expected`.
    pub interposed: bool,
    /// The reference is `STB_WEAK` (unresolved is 0, not an error).
    pub weak: bool,
    /// Bound without a lookup (local or hidden symbol): never interposable
    /// and never printed by `LD_DEBUG`.
    pub direct: bool,
    /// Kept in its own object because the definition is protected (B13).
    pub protected: bool,
    /// A lazy PLT slot: bound at the first call, evaluated against the
    /// process as it stands once everything is loaded (G8, P2).
    pub lazy: bool,
    /// For a lazy slot whose target differs when bound at load time, that
    /// target (`Some(None)`: undefined at load time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_load: Option<Option<String>>,
    /// The member may only be loaded if the application imports it.
    pub may_be_imported: bool,
    /// The member is installed, not loaded by the configuration: the
    /// binding is a what-if (`scan --installed`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub installed_only: bool,
}

/// Every binding of one process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Bindings {
    pub process: String,
    /// In relocation order of the members, then relocation order within one.
    pub references: Vec<Reference>,
}

/// One definition of a symbol in a process, for `explain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Definition {
    pub object: String,
    pub version: Option<String>,
    /// `global`, `weak` or `unique`.
    pub binding: &'static str,
    /// `default`, `protected`, `hidden` or `internal`.
    pub visibility: &'static str,
    /// What a reference without a version gets from this object: not a
    /// hidden (`@`) version.
    pub default: bool,
}

const STB_LOCAL: u8 = 0;
const STB_GLOBAL: u8 = 1;
const STB_WEAK: u8 = 2;
const STB_GNU_UNIQUE: u8 = 10;
const STV_INTERNAL: u8 = 1;
const STV_HIDDEN: u8 = 2;
const STV_PROTECTED: u8 = 3;
const STT_TLS: u8 = 6;
const SHN_ABS: u16 = 0xfff1;

/// `check_match`'s types: NOTYPE, OBJECT, FUNC, COMMON, TLS, GNU_IFUNC.
const ALLOWED_TYPES: u32 = 1 | 1 << 1 | 1 << 2 | 1 << 5 | 1 << 6 | 1 << 10;

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn binds_local(s: &Symbol) -> bool {
    matches!(s.visibility, STV_HIDDEN | STV_INTERNAL)
}

/// One lookup (`_dl_lookup_symbol_x`'s arguments that matter).
struct Request<'a> {
    name: &'a [u8],
    /// The version asked for (B8), `None` for an unversioned lookup.
    version: Option<&'a [u8]>,
    class: RelocClass,
    /// The object a `COPY` lookup skips (B15).
    skip: Option<usize>,
    dynamic_weak: bool,
}

/// What looking into one object gave.
enum InObject {
    /// An acceptable definition: the symbol's index.
    Found(usize),
    /// Nothing usable here: go on with the next object.
    Next,
}

/// Defined symbols by name over all objects, each list in object order
/// then `.dynsym` order (the order a hash chain meets symbols of one name).
struct Index<'a> {
    by_name: FxHashMap<&'a [u8], Vec<Def>>,
    versioned: Vec<bool>,
    /// Position of each object in the final global scope.
    global_pos: Vec<usize>,
}

impl<'a> Index<'a> {
    fn new(link: &'a LinkMap) -> Index<'a> {
        let mut by_name: FxHashMap<&[u8], Vec<Def>> = FxHashMap::default();
        let mut versioned = Vec::with_capacity(link.objects.len());
        for (o, obj) in link.objects.iter().enumerate() {
            let Some(f) = &obj.facts else {
                versioned.push(false);
                continue;
            };
            by_name.reserve(f.symbols.len());
            for (i, s) in f.symbols.iter().enumerate() {
                // An undefined entry with a value (a canonical PLT address
                // in a non-PIE executable) answers non-PLT lookups.
                if i == 0 || (!s.is_defined() && s.value == 0) || s.bind == STB_LOCAL {
                    continue;
                }
                by_name.entry(s.name.as_slice()).or_default().push((o, i));
            }
            versioned.push(f.has_versym());
        }
        let mut global_pos = vec![usize::MAX; link.objects.len()];
        for (p, &o) in link.global.iter().enumerate() {
            if let Some(x) = global_pos.get_mut(o) {
                *x = (*x).min(p);
            }
        }
        Index {
            by_name,
            versioned,
            global_pos,
        }
    }

    /// `do_lookup_x` over one object: `check_match` on each symbol of the
    /// name, the single-versioned-candidate rule, then visibility.
    fn in_object(&self, link: &LinkMap, o: usize, defs: &[Def], req: &Request<'_>) -> InObject {
        let Some(Some(facts)) = link.objects.get(o).map(|x| x.facts.as_deref()) else {
            return InObject::Next;
        };
        let idxs = defs.iter().filter(|d| d.0 == o).map(|d| d.1);
        let versioned = self.versioned.get(o).copied().unwrap_or(false);
        let mut num_versions = 0;
        let mut versioned_sym = None;
        let mut found = None;
        for i in idxs {
            let Some(s) = facts.symbols.get(i) else {
                continue;
            };
            if (s.value == 0 && s.shndx != SHN_ABS && s.kind != STT_TLS)
                || (req.class == RelocClass::Plt && !s.is_defined())
                || ALLOWED_TYPES & (1u32 << s.kind.min(31)) == 0
            {
                continue;
            }
            let (ndx, hidden, vname) = match &s.version {
                Some(v) => (v.index, v.hidden, v.name.as_ref().map(|n| n.as_slice())),
                None => (0, false, None),
            };
            match req.version {
                Some(want) => {
                    if versioned && vname != Some(want) && (hidden || ndx >= 2) {
                        continue;
                    }
                }
                None => {
                    if versioned && ndx >= 3 {
                        if !hidden {
                            num_versions += 1;
                            if num_versions == 1 {
                                versioned_sym = Some(i);
                            }
                        }
                        continue;
                    }
                }
            }
            found = Some(i);
            break;
        }
        let found = found.or(if num_versions == 1 {
            versioned_sym
        } else {
            None
        });
        match found {
            Some(i) if facts.symbols.get(i).is_some_and(|s| !binds_local(s)) => InObject::Found(i),
            _ => InObject::Next,
        }
    }
}

/// A definition: (object, symbol index).
type Def = (usize, usize);

/// Per-namespace `STB_GNU_UNIQUE` registrations (B14).
type Unique<'a> = FxHashMap<&'a [u8], Def>;

/// `_dl_lookup_symbol_x` over scope lists.
fn lookup<'a>(
    link: &'a LinkMap,
    index: &Index<'a>,
    scopes: &[Scope],
    global_len: Option<usize>,
    req: &Request<'_>,
    unique: Option<&mut Unique<'a>>,
) -> Option<Def> {
    let defs = index.by_name.get(req.name)?;
    let mut definers: Vec<usize> = defs.iter().map(|d| d.0).collect();
    definers.dedup();
    let mut weak: Option<Def> = None;
    for scope in scopes {
        // The definers this scope contains, in scope order.
        let mut here: Vec<(usize, usize)> = match scope {
            Scope::Global(n) => {
                let n = global_len.unwrap_or(*n);
                definers
                    .iter()
                    .filter_map(|&o| {
                        let p = index.global_pos.get(o).copied().unwrap_or(usize::MAX);
                        (p < n).then_some((p, o))
                    })
                    .collect()
            }
            Scope::List(list) => definers
                .iter()
                .filter_map(|&o| list.iter().position(|&x| x == o).map(|p| (p, o)))
                .collect(),
        };
        here.sort_unstable();
        for (_, o) in here {
            if req.skip == Some(o) {
                continue;
            }
            let InObject::Found(i) = index.in_object(link, o, defs, req) else {
                continue;
            };
            let Some(s) = link
                .objects
                .get(o)
                .and_then(|x| x.facts.as_deref())
                .and_then(|f| f.symbols.get(i))
            else {
                continue;
            };
            match s.bind {
                STB_WEAK if req.dynamic_weak => {
                    weak.get_or_insert((o, i));
                }
                STB_GNU_UNIQUE => {
                    let Some(unique) = unique else {
                        return Some((o, i));
                    };
                    let name: &'a [u8] = s.name.as_slice();
                    return Some(*unique.entry(name).or_insert((o, i)));
                }
                STB_GLOBAL | STB_WEAK => return Some((o, i)),
                _ => {}
            }
        }
    }
    weak
}

/// Predicts every binding of the process (rule B1: every dynamic relocation
/// that names a symbol).
pub fn bind(image: &super::ProcessImage, opts: &BindOptions) -> Bindings {
    let link = &image.link;
    let index = Index::new(link);
    let bind_now = opts.bind_now || link.env_bind_now;
    let dynamic_weak = opts.dynamic_weak || link.env_dynamic_weak;
    let mut unique: Unique<'_> = FxHashMap::default();
    let mut references = Vec::new();
    let path = |o: usize| link.objects.get(o).map(|x| x.path.clone());
    for &m in &link.relocation_order {
        let Some(ml) = link.members.get(m) else {
            continue;
        };
        let Some(obj) = link.objects.get(ml.object) else {
            continue;
        };
        let Some(facts) = obj.facts.as_deref() else {
            continue;
        };
        let versioned = facts.has_versym();
        let solo = [Scope::List(ml.solo.clone())];
        for r in &facts.relocations {
            let Some(sym) = facts.symbols.get(r.symbol as usize) else {
                continue;
            };
            if r.symbol == 0 || sym.name.is_empty() {
                continue;
            }
            let version: Option<&BString> = sym
                .version
                .as_ref()
                .filter(|v| versioned && v.index >= 2)
                .and_then(|v| v.name.as_ref());
            let mut reference = Reference {
                object: obj.path.clone(),
                symbol: lossy(&sym.name),
                version: version.map(|v| lossy(v)),
                class: r.class,
                binds_to: None,
                binds_to_version: None,
                expected: None,
                interposed: false,
                weak: sym.bind == STB_WEAK,
                direct: false,
                protected: false,
                lazy: false,
                at_load: None,
                may_be_imported: ml.may_be_imported,
                installed_only: ml.installed_only,
            };
            // resolve_map: local and hidden symbols bind to their object.
            if sym.bind == STB_LOCAL || binds_local(sym) {
                reference.direct = true;
                reference.binds_to = Some(obj.path.clone());
                reference.binds_to_version = sym
                    .version
                    .as_ref()
                    .and_then(|v| v.name.as_ref())
                    .map(|v| lossy(v));
                reference.expected = Some(obj.path.clone());
                references.push(reference);
                continue;
            }
            let req = Request {
                name: sym.name.as_slice(),
                version: version.map(|v| v.as_slice()),
                class: r.class,
                skip: (r.class == RelocClass::Copy && ml.exec).then_some(ml.object),
                dynamic_weak,
            };
            let lazy = r.class == RelocClass::Plt && ml.lazy && !bind_now;
            let final_len = lazy.then_some(link.global.len());
            let mut actual = lookup(link, &index, &ml.scopes, final_len, &req, Some(&mut unique));
            if lazy {
                let at_load = lookup(link, &index, &ml.scopes, None, &req, None);
                if at_load.map(|d| d.0) != actual.map(|d| d.0) {
                    reference.at_load = Some(at_load.and_then(|d| path(d.0)));
                }
            }
            // B13: a protected definition keeps its own references.
            if sym.visibility == STV_PROTECTED && sym.is_defined() && actual.is_some() {
                reference.protected = true;
                actual = Some((ml.object, r.symbol as usize));
            }
            let expected = if reference.protected {
                actual
            } else {
                lookup(link, &index, &solo, None, &req, None).or(actual)
            };
            reference.lazy = lazy;
            reference.binds_to = actual.and_then(|d| path(d.0));
            reference.binds_to_version = actual.and_then(|(o, i)| {
                link.objects
                    .get(o)?
                    .facts
                    .as_deref()?
                    .symbols
                    .get(i)?
                    .version
                    .as_ref()?
                    .name
                    .as_ref()
                    .map(|v| lossy(v))
            });
            reference.expected = expected.and_then(|d| path(d.0));
            reference.interposed = reference.binds_to != reference.expected;
            references.push(reference);
        }
    }
    Bindings {
        process: image.name.clone(),
        references,
    }
}

/// Every member's definition of `name`, in link-map order.
pub fn definitions(image: &super::ProcessImage, name: &[u8]) -> Vec<Definition> {
    let link = &image.link;
    let mut out = Vec::new();
    for ml in &link.members {
        let Some(obj) = link.objects.get(ml.object) else {
            continue;
        };
        let Some(facts) = obj.facts.as_deref() else {
            continue;
        };
        for s in &facts.symbols {
            if s.name.as_slice() != name || !s.is_defined() || s.bind == STB_LOCAL {
                continue;
            }
            let (version, hidden) = match &s.version {
                Some(v) if v.index >= 2 => (v.name.as_ref().map(|v| lossy(v)), v.hidden),
                _ => (None, false),
            };
            out.push(Definition {
                object: obj.path.clone(),
                version,
                binding: match s.bind {
                    STB_WEAK => "weak",
                    STB_GNU_UNIQUE => "unique",
                    _ => "global",
                },
                visibility: match s.visibility {
                    STV_INTERNAL => "internal",
                    STV_HIDDEN => "hidden",
                    STV_PROTECTED => "protected",
                    _ => "default",
                },
                default: !hidden,
            });
        }
    }
    out
}

/// One reference in `explain`'s document (DESIGN.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explained {
    pub object: String,
    pub version: Option<String>,
    pub binds_to: Option<String>,
    pub expected: Option<String>,
    pub interposed: bool,
    /// `plt`, `copy` or `data` (a pointer in data, `GLOB_DAT`, TLS).
    pub class: RelocClass,
    /// Bound at the first call; `binds_to` is the process once everything
    /// is loaded (P2).
    pub lazy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_load: Option<Option<String>>,
    pub protected: bool,
    /// Bound without a lookup (a local or hidden symbol).
    pub direct: bool,
    pub may_be_imported: bool,
}

/// `soclash explain SYMBOL` for one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub symbol: String,
    pub process: String,
    pub definitions: Vec<Definition>,
    pub references: Vec<Explained>,
}

/// Who defines `symbol` in the process, who references it, where each
/// reference binds and where it expected to; one line per distinct
/// (object, version, answer), in relocation order.
pub fn explain(image: &super::ProcessImage, bindings: &Bindings, symbol: &[u8]) -> Explanation {
    let name = lossy(symbol);
    let mut references: Vec<Explained> = Vec::new();
    for r in bindings.references.iter().filter(|r| r.symbol == name) {
        let e = Explained {
            object: r.object.clone(),
            version: r.version.clone(),
            binds_to: r.binds_to.clone(),
            expected: r.expected.clone(),
            interposed: r.interposed,
            class: r.class,
            lazy: r.lazy,
            at_load: r.at_load.clone(),
            protected: r.protected,
            direct: r.direct,
            may_be_imported: r.may_be_imported,
        };
        if !references.contains(&e) {
            references.push(e);
        }
    }
    Explanation {
        symbol: name,
        process: image.name.clone(),
        definitions: definitions(image, symbol),
        references,
    }
}

/// The terminal view of one explanation.
pub fn write_table(e: &Explanation, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
    let version = |v: &Option<String>| v.as_ref().map(|v| format!("@{v}")).unwrap_or_default();
    writeln!(
        out,
        "process {}: `{}`, {} definitions, {} references",
        e.process,
        e.symbol,
        e.definitions.len(),
        e.references.len()
    )?;
    if !e.definitions.is_empty() {
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header([
                "defined in (load order)",
                "version",
                "binding",
                "visibility",
            ]);
        for d in &e.definitions {
            let mut v = version(&d.version);
            if d.version.is_some() && !d.default {
                v.push_str(" (hidden)");
            }
            t.add_row([d.object.clone(), v, d.binding.into(), d.visibility.into()]);
        }
        writeln!(out, "{t}")?;
    }
    if !e.references.is_empty() {
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["referenced by", "binds to", "expected", "note"]);
        for r in &e.references {
            let mut note = Vec::new();
            if r.interposed {
                note.push("INTERPOSED".to_string());
            }
            note.push(format!("{:?}", r.class).to_lowercase());
            if r.lazy {
                note.push("lazy".into());
            }
            if let Some(at) = &r.at_load {
                note.push(format!("at load: {}", at.as_deref().unwrap_or("undefined")));
            }
            if r.protected {
                note.push("protected".into());
            }
            if r.direct {
                note.push("no lookup".into());
            }
            if r.may_be_imported {
                note.push("if imported".into());
            }
            t.add_row([
                format!("{}{}", r.object, version(&r.version)),
                r.binds_to.clone().unwrap_or_else(|| "undefined".into()),
                r.expected.clone().unwrap_or_else(|| "undefined".into()),
                note.join(", "),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    Ok(())
}

impl LinkMap {
    /// The facts of the object at `path`, if the model read it.
    pub fn facts(&self, path: &str) -> Option<&ElfFacts> {
        self.objects
            .iter()
            .find(|o| o.path == path)
            .and_then(|o| o.facts.as_deref())
    }

    /// Each member's canonical path and facts, in link-map order (the
    /// order of `ProcessImage::members`).
    pub fn members(&self) -> impl Iterator<Item = (&str, Option<&ElfFacts>)> {
        self.members.iter().filter_map(|m| {
            let o = self.objects.get(m.object)?;
            Some((o.path.as_str(), o.facts.as_deref()))
        })
    }

    /// The search list of member `i` loaded on its own (`ld.so --list`
    /// order), as paths with their facts.
    pub fn solo(&self, i: usize) -> Vec<(&str, Option<&ElfFacts>)> {
        self.members
            .get(i)
            .map(|m| {
                m.solo
                    .iter()
                    .filter_map(|&o| self.objects.get(o))
                    .map(|o| (o.path.as_str(), o.facts.as_deref()))
                    .collect()
            })
            .unwrap_or_default()
    }
}
