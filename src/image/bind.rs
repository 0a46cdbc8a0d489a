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

use std::sync::{Arc, OnceLock};

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
    /// Search lists of later `dlopen`s that included this object after it
    /// had been `dlopen`ed itself: glibc appends them to its scopes
    /// (`update_scopes`, G2.5); only its lazy slots see them.
    pub later: Vec<Scope>,
    /// Relocated lazily: its PLT slots bind at the first call (G8).
    pub lazy: bool,
    /// The main program (skipped by `COPY` lookups, B15).
    pub exec: bool,
    /// The search list when it is loaded on its own (`expected`): `ld.so
    /// --list` of the member, or, for a library that finds its
    /// dependencies only through its loaders' `DT_RPATH`, of the nearest
    /// loader that loads it complete (`super::solo`).
    pub solo: Vec<usize>,
    /// When `solo` is a loader's: the member first, then what it needs in
    /// that list (its closure as found there). `None`: `solo` is the
    /// member's own, member first.
    pub closure: Option<Vec<usize>>,
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
    /// How many of `objects` are the namespace's (the rest only members'
    /// stand-alone loads reach).
    pub(crate) ns_objects: usize,
    /// The image this process was forked from (the Apache parent's), whose
    /// members' bindings are computed once for every process forked from
    /// it ([`Forked`]).
    pub(crate) forked: Option<Arc<Forked>>,
}

/// The link map of a parent image, and its members' bindings per set of
/// options, computed at the first process that asks: Apache's children
/// and each mod_wsgi daemon start with the parent's members, relocated
/// first, in the same scopes (what a daemon adds is `RTLD_LOCAL`, after
/// them), so their references bind alike in every process. [`bind`]
/// reuses a member's only where that holds: the same global scope, the
/// same member link (scopes, G2.5 later lists, lazy), and the same
/// `STB_GNU_UNIQUE` registrations so far.
#[derive(Debug)]
pub(crate) struct Forked {
    link: LinkMap,
    /// By (bind now, dynamic weak).
    bound: [OnceLock<Vec<Bound>>; 4],
}

impl Forked {
    pub(crate) fn new(link: LinkMap) -> Forked {
        Forked {
            link,
            bound: Default::default(),
        }
    }

    fn bound(&self, bind_now: bool, dynamic_weak: bool) -> Option<&[Bound]> {
        let slot = self
            .bound
            .get(usize::from(bind_now) * 2 + usize::from(dynamic_weak))?;
        Some(slot.get_or_init(|| {
            let mut out = Vec::new();
            bind_link(&self.link, bind_now, dynamic_weak, None, |b| out.push(b));
            out
        }))
    }
}

/// One member's bindings, at its place in the relocation order.
#[derive(Debug)]
struct Bound {
    member: usize,
    references: Vec<Reference>,
    /// The `STB_GNU_UNIQUE` definitions its lookups registered, in order.
    registered: Vec<Def>,
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
    /// dependencies (a library that finds them only through its loaders'
    /// `DT_RPATH`: as the nearest such loader loaded on its own loads it);
    /// a symbol none of them defines is provided by the host (httpd,
    /// libphp, libpython) and expected wherever it binds.
    pub expected: Option<String>,
    /// `binds_to` differs from `expected`.
    pub interposed: bool,
    /// The reference is `STB_WEAK` (unresolved is 0, not an error).
    pub weak: bool,
    /// Bound without a lookup (local or hidden symbol): never interposable
    /// and never printed by `LD_DEBUG`.
    pub direct: bool,
    /// A reference from a protected symbol (B13; `LD_DEBUG` says
    /// "protected symbol"): it stays in its object unless a non-PIE
    /// executable's canonical PLT entry answers a pointer to it.
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

/// Per-namespace `STB_GNU_UNIQUE` registrations (B14), and the order
/// they were made in.
#[derive(Default)]
struct Unique<'a> {
    by_name: FxHashMap<&'a [u8], Def>,
    log: Vec<Def>,
}

impl<'a> Unique<'a> {
    fn register(&mut self, name: &'a [u8], def: Def) -> Def {
        *self.by_name.entry(name).or_insert_with(|| {
            self.log.push(def);
            def
        })
    }
}

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
    let mut weak: Option<Def> = None;
    // The definers a scope contains, in scope order; one allocation per
    // lookup, reused across its scopes.
    let mut here: Vec<(usize, usize)> = Vec::with_capacity(defs.len());
    for scope in scopes {
        here.clear();
        match scope {
            Scope::Global(n) => {
                let n = global_len.unwrap_or(*n);
                here.extend(defs.iter().filter_map(|&(o, _)| {
                    let p = index.global_pos.get(o).copied().unwrap_or(usize::MAX);
                    (p < n).then_some((p, o))
                }));
            }
            Scope::List(list) => here.extend(
                defs.iter()
                    .filter_map(|&(o, _)| list.iter().position(|&x| x == o).map(|p| (p, o))),
            ),
        }
        here.sort_unstable();
        here.dedup();
        for &(_, o) in &here {
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
                    return Some(unique.register(name, (o, i)));
                }
                STB_GLOBAL | STB_WEAK => return Some((o, i)),
                _ => {}
            }
        }
    }
    weak
}

/// Predicts every binding of the process (rule B1: every dynamic relocation
/// that names a symbol). The members of the image it was forked from are
/// bound once for every process forked from it ([`Forked`]).
pub fn bind(image: &super::ProcessImage, opts: &BindOptions) -> Bindings {
    bind_with(image, opts, true)
}

/// [`bind`] with every member bound in this process, the parent's too:
/// what reusing the parent's bindings must equal.
pub fn bind_afresh(image: &super::ProcessImage, opts: &BindOptions) -> Bindings {
    bind_with(image, opts, false)
}

fn bind_with(image: &super::ProcessImage, opts: &BindOptions, reuse: bool) -> Bindings {
    let link = &image.link;
    let bind_now = opts.bind_now || link.env_bind_now;
    let dynamic_weak = opts.dynamic_weak || link.env_dynamic_weak;
    let parent = link
        .forked
        .as_deref()
        .filter(|f| reuse && same_namespace(link, &f.link))
        .and_then(|f| Some((&f.link, f.bound(bind_now, dynamic_weak)?)));
    let mut references = Vec::new();
    bind_link(link, bind_now, dynamic_weak, parent, |b| {
        references.extend(b.references)
    });
    Bindings {
        process: image.name.clone(),
        references,
    }
}

/// Whether a process's link map starts as its parent's: the same
/// namespace objects first, the same global scope (lazy slots search it
/// whole), the same environment.
fn same_namespace(link: &LinkMap, parent: &LinkMap) -> bool {
    let n = parent.ns_objects;
    link.ns_objects >= n
        && link.objects.iter().take(n).map(|o| &o.path).eq(parent
            .objects
            .iter()
            .take(n)
            .map(|o| &o.path))
        && link.global == parent.global
        && link.env_bind_now == parent.env_bind_now
        && link.env_dynamic_weak == parent.env_dynamic_weak
}

/// Whether member `m` of `link` is linked as member `pm` of `parent`:
/// the same object, scopes, later lists, laziness and stand-alone load,
/// compared by path where indices may differ.
fn same_member(link: &LinkMap, m: usize, parent: &LinkMap, pm: usize) -> bool {
    let (Some(a), Some(b)) = (link.members.get(m), parent.members.get(pm)) else {
        return false;
    };
    fn path(l: &LinkMap, o: usize) -> Option<&str> {
        l.objects.get(o).map(|x| x.path.as_str())
    }
    let list = |x: &[usize], y: &[usize]| {
        x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|(&i, &j)| path(link, i) == path(parent, j))
    };
    let scopes = |x: &[Scope], y: &[Scope]| {
        x.len() == y.len()
            && x.iter().zip(y).all(|s| match s {
                (Scope::Global(i), Scope::Global(j)) => i == j,
                (Scope::List(i), Scope::List(j)) => list(i, j),
                _ => false,
            })
    };
    path(link, a.object) == path(parent, b.object)
        && (a.lazy, a.exec, a.may_be_imported, a.installed_only)
            == (b.lazy, b.exec, b.may_be_imported, b.installed_only)
        && scopes(&a.scopes, &b.scopes)
        && scopes(&a.later, &b.later)
        && list(&a.solo, &b.solo)
        && match (&a.closure, &b.closure) {
            (None, None) => true,
            (Some(x), Some(y)) => list(x, y),
            _ => false,
        }
}

/// Binds the members of `link` in relocation order, handing each one's
/// [`Bound`] to `out`; with `parent` (its link map and bindings), a
/// member linked as the parent's at the same place, while the
/// `STB_GNU_UNIQUE` registrations so far are the parent's, takes the
/// parent's bindings instead of looking them up again.
fn bind_link(
    link: &LinkMap,
    bind_now: bool,
    dynamic_weak: bool,
    parent: Option<(&LinkMap, &[Bound])>,
    mut out: impl FnMut(Bound),
) {
    let index = Index::new(link);
    let mut unique = Unique::default();
    // The registrations so far differ from the parent's: nothing after
    // can be reused.
    let mut diverged = parent.is_none();
    let path = |o: usize| link.objects.get(o).map(|x| x.path.clone());
    for (k, &m) in link.relocation_order.iter().enumerate() {
        let theirs = parent.and_then(|(pl, bound)| {
            let b = bound.get(k)?;
            (pl.relocation_order.get(k) == Some(&b.member)).then_some((pl, b))
        });
        if !diverged
            && let Some((pl, b)) = theirs
            && same_member(link, m, pl, b.member)
        {
            for &(o, i) in &b.registered {
                let name = link
                    .objects
                    .get(o)
                    .and_then(|x| x.facts.as_deref())
                    .and_then(|f| f.symbols.get(i));
                if let Some(s) = name {
                    unique.register(s.name.as_slice(), (o, i));
                }
            }
            out(Bound {
                member: m,
                references: b.references.clone(),
                registered: b.registered.clone(),
            });
            continue;
        }
        let before = unique.log.len();
        let mut references = Vec::new();
        bind_member(
            link,
            &index,
            m,
            bind_now,
            dynamic_weak,
            &mut unique,
            &path,
            &mut references,
        );
        let registered = unique.log.get(before..).unwrap_or_default().to_vec();
        if !diverged && theirs.is_none_or(|(_, b)| b.registered != registered) {
            diverged = true;
        }
        out(Bound {
            member: m,
            references,
            registered,
        });
    }
}

/// The references of member `m`, in its relocations' order.
#[allow(clippy::too_many_arguments)]
fn bind_member<'a>(
    link: &'a LinkMap,
    index: &Index<'a>,
    m: usize,
    bind_now: bool,
    dynamic_weak: bool,
    unique: &mut Unique<'a>,
    path: &dyn Fn(usize) -> Option<String>,
    references: &mut Vec<Reference>,
) {
    {
        let Some(ml) = link.members.get(m) else {
            return;
        };
        let Some(obj) = link.objects.get(ml.object) else {
            return;
        };
        let Some(facts) = obj.facts.as_deref() else {
            return;
        };
        let versioned = facts.has_versym();
        let solo = [Scope::List(ml.solo.clone())];
        // Lazy slots search the scopes as they stand at the first call,
        // later groups' search lists appended (G2.5).
        let lazy_scopes: Vec<Scope> = ml.scopes.iter().chain(&ml.later).cloned().collect();
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
            let (scopes, final_len) = if lazy {
                (&lazy_scopes, Some(link.global.len()))
            } else {
                (&ml.scopes, None)
            };
            let mut actual = lookup(link, index, scopes, final_len, &req, Some(unique));
            if lazy {
                let at_load = lookup(link, index, &ml.scopes, None, &req, None);
                if at_load.map(|d| d.0) != actual.map(|d| d.0) {
                    reference.at_load = Some(at_load.and_then(|d| path(d.0)));
                }
            }
            // B13: a reference from a protected symbol stays in its object
            // when the lookup lands elsewhere: at once for a PLT slot; for
            // other relocations only if a PLT-style lookup (which skips a
            // non-PIE executable's canonical PLT entries) lands elsewhere
            // too, else the first answer stands (`_dl_lookup_symbol_x`).
            if sym.visibility == STV_PROTECTED {
                reference.protected = true;
                let own = match actual {
                    Some((o, _)) if r.class == RelocClass::Plt => o != ml.object,
                    Some(_) => {
                        let again = Request {
                            class: RelocClass::Plt,
                            ..req
                        };
                        lookup(link, index, scopes, final_len, &again, None)
                            .is_some_and(|(o, _)| o != ml.object)
                    }
                    None => false,
                };
                if own {
                    actual = Some((ml.object, r.symbol as usize));
                }
            }
            let expected = if reference.protected {
                actual
            } else {
                lookup(link, index, &solo, None, &req, None).or(actual)
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

/// The terminal view of one explanation, `width` columns wide.
pub fn write_table(
    e: &Explanation,
    out: &mut dyn std::io::Write,
    width: u16,
) -> std::io::Result<()> {
    use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
    let version = |v: &Option<String>| v.as_ref().map(|v| format!("@{v}")).unwrap_or_default();
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    writeln!(
        out,
        "process {}: `{}`, {}, {}",
        e.process,
        e.symbol,
        count(e.definitions.len(), "definition"),
        count(e.references.len(), "reference")
    )?;
    if !e.definitions.is_empty() {
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width)
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
            .set_width(width)
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

    /// Every object's canonical path: the members, and the files only
    /// their stand-alone loads hold (one the process has another file of
    /// the same soname for, L1).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.objects.iter().map(|o| o.path.as_str())
    }

    /// Member `i` and its dependencies as it loads on its own (`ld.so
    /// --list` order; found through its loaders' `DT_RPATH` where only
    /// that finds them), member first, as paths with their facts.
    pub fn solo(&self, i: usize) -> Vec<(&str, Option<&ElfFacts>)> {
        self.members
            .get(i)
            .map(|m| {
                m.closure
                    .as_ref()
                    .unwrap_or(&m.solo)
                    .iter()
                    .filter_map(|&o| self.objects.get(o))
                    .map(|o| (o.path.as_str(), o.facts.as_deref()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! The binding rules of research/loader-model.md §3 (G2.3 scopes, G8
    //! lazy binding) and §4 (B1–B16) on hand-made link maps. The fixture
    //! (`def`, `O`, `P`, `one`) is shared with the tests of `crate::rules`.

    use super::*;
    use crate::elf::{
        Relocation, SymbolVersion, VersionDefinition, VersionNeeded, VersionRequirement,
    };
    use crate::image::{How, Member, ProcessImage, Scopes};
    use RelocClass::{Copy, Data, Plt};
    use Scope::{Global, List};

    pub(crate) const STT_OBJECT: u8 = 1;
    pub(crate) const STT_FUNC: u8 = 2;
    pub(crate) const STT_SECTION: u8 = 3;
    pub(crate) const STT_FILE: u8 = 4;
    pub(crate) const STT_GNU_IFUNC: u8 = 10;
    pub(crate) const VER_FLG_WEAK: u16 = 0x2;

    /// A defined `STB_GLOBAL` default-visibility function.
    pub(crate) fn def(name: &str) -> Symbol {
        Symbol {
            name: name.into(),
            bind: STB_GLOBAL,
            kind: STT_FUNC,
            visibility: 0,
            shndx: 12,
            value: 0x1000,
            size: 16,
            version: None,
        }
    }

    /// An undefined reference.
    pub(crate) fn undef(name: &str) -> Symbol {
        Symbol {
            shndx: 0,
            value: 0,
            size: 0,
            ..def(name)
        }
    }

    pub(crate) fn weak(s: Symbol) -> Symbol {
        Symbol {
            bind: STB_WEAK,
            ..s
        }
    }

    pub(crate) fn unique(s: Symbol) -> Symbol {
        Symbol {
            bind: STB_GNU_UNIQUE,
            ..s
        }
    }

    pub(crate) fn local(s: Symbol) -> Symbol {
        Symbol {
            bind: STB_LOCAL,
            ..s
        }
    }

    pub(crate) fn data(s: Symbol) -> Symbol {
        Symbol {
            kind: STT_OBJECT,
            ..s
        }
    }

    pub(crate) fn kind(s: Symbol, kind: u8) -> Symbol {
        Symbol { kind, ..s }
    }

    pub(crate) fn visibility(s: Symbol, visibility: u8) -> Symbol {
        Symbol { visibility, ..s }
    }

    /// `name@VER` (`hidden`) or `name@@VER` with `DT_VERSYM` index `index`.
    pub(crate) fn ver(s: Symbol, index: u16, hidden: bool, name: &str) -> Symbol {
        Symbol {
            version: Some(SymbolVersion {
                index,
                hidden,
                name: (index >= 2).then(|| name.into()),
                file: None,
            }),
            ..s
        }
    }

    /// A reference to `name@VER` required (`Verneed`) from `file`.
    pub(crate) fn needs(s: Symbol, index: u16, name: &str, file: &str) -> Symbol {
        Symbol {
            version: Some(SymbolVersion {
                index,
                hidden: false,
                name: Some(name.into()),
                file: Some(file.into()),
            }),
            ..s
        }
    }

    /// An object's facts: `.dynsym` (entry 0 is the null symbol), versions,
    /// relocations.
    pub(crate) struct O {
        f: ElfFacts,
        versym: bool,
    }

    impl O {
        pub(crate) fn new() -> O {
            O {
                f: ElfFacts {
                    symbols: vec![Symbol {
                        bind: STB_LOCAL,
                        kind: 0,
                        ..undef("")
                    }],
                    ..ElfFacts::default()
                },
                versym: false,
            }
        }

        pub(crate) fn soname(mut self, s: &str) -> O {
            self.f.soname = Some(s.into());
            self
        }

        pub(crate) fn build_id(mut self, id: &[u8]) -> O {
            self.f.build_id = Some(id.to_vec());
            self
        }

        /// The object has `DT_VERSYM` (symbols without an explicit version
        /// get index 1, the null symbol index 0).
        pub(crate) fn versym(mut self) -> O {
            self.versym = true;
            self
        }

        /// A symbol nothing in this object relocates against.
        pub(crate) fn sym(mut self, s: Symbol) -> O {
            self.f.symbols.push(s);
            self
        }

        /// A symbol and a relocation against it.
        pub(crate) fn reloc(mut self, s: Symbol, class: RelocClass) -> O {
            self.f.symbols.push(s);
            let symbol = u32::try_from(self.f.symbols.len() - 1).unwrap();
            self.f.relocations.push(Relocation {
                r_type: 0,
                symbol,
                class,
            });
            self
        }

        /// One more relocation against the first symbol called `name`.
        pub(crate) fn reloc_again(mut self, name: &str, class: RelocClass) -> O {
            let i = self
                .f
                .symbols
                .iter()
                .position(|s| s.name.as_slice() == name.as_bytes())
                .expect("symbol added before");
            self.f.relocations.push(Relocation {
                r_type: 0,
                symbol: u32::try_from(i).unwrap(),
                class,
            });
            self
        }

        pub(crate) fn verdef(mut self, index: u16, name: &str) -> O {
            self.f.version_definitions.push(VersionDefinition {
                index,
                flags: u16::from(index == 1),
                hash: 0,
                name: name.into(),
                parents: Vec::new(),
            });
            self
        }

        pub(crate) fn verneed(mut self, file: &str, name: &str, index: u16, flags: u16) -> O {
            let v = VersionNeeded {
                name: name.into(),
                hash: 0,
                flags,
                index,
            };
            match self
                .f
                .version_requirements
                .iter_mut()
                .find(|r| r.file.as_slice() == file.as_bytes())
            {
                Some(r) => r.versions.push(v),
                None => self.f.version_requirements.push(VersionRequirement {
                    file: file.into(),
                    versions: vec![v],
                }),
            }
            self
        }

        pub(crate) fn facts(mut self) -> Arc<ElfFacts> {
            if self.versym || self.f.symbols.iter().any(|s| s.version.is_some()) {
                for (i, s) in self.f.symbols.iter_mut().enumerate() {
                    s.version.get_or_insert(SymbolVersion {
                        index: u16::from(i != 0),
                        hidden: false,
                        name: None,
                        file: None,
                    });
                }
            }
            Arc::new(self.f)
        }
    }

    /// A process: objects, members with their scopes, the global scope.
    pub(crate) struct P {
        pub(crate) link: LinkMap,
        vias: Vec<String>,
    }

    impl P {
        pub(crate) fn new() -> P {
            P {
                link: LinkMap::default(),
                vias: Vec::new(),
            }
        }

        /// An object (a member only once [`P::member`] makes it one).
        pub(crate) fn obj(&mut self, path: &str, o: O) -> usize {
            self.link.objects.push(Obj {
                path: path.into(),
                facts: Some(o.facts()),
            });
            self.link.objects.len() - 1
        }

        /// Makes object `o` the next member with these scopes, relocated
        /// after the members before it, loaded on its own as `[o]`.
        pub(crate) fn member(&mut self, o: usize, scopes: Vec<Scope>) -> usize {
            self.link.members.push(MemberLink {
                object: o,
                scopes,
                later: Vec::new(),
                lazy: false,
                exec: false,
                solo: vec![o],
                closure: None,
                may_be_imported: false,
                installed_only: false,
            });
            self.vias.push("test".into());
            let m = self.link.members.len() - 1;
            self.link.relocation_order.push(m);
            m
        }

        pub(crate) fn m(&mut self, m: usize) -> &mut MemberLink {
            &mut self.link.members[m]
        }

        pub(crate) fn via(&mut self, m: usize, via: &str) {
            self.vias[m] = via.into();
        }

        pub(crate) fn image(&self) -> ProcessImage {
            let path = |o: usize| self.link.objects[o].path.clone();
            ProcessImage {
                name: "test".into(),
                members: self
                    .link
                    .members
                    .iter()
                    .zip(&self.vias)
                    .map(|(m, via)| Member {
                        object: path(m.object),
                        how: if m.exec {
                            How::Exec
                        } else if m.scopes.len() > 1 {
                            How::Dlopen
                        } else {
                            How::Needed
                        },
                        flags: String::new(),
                        via: via.clone(),
                        global: self.link.global.contains(&m.object),
                        may_be_imported: m.may_be_imported,
                        uncertain: false,
                        installed_only: m.installed_only,
                        brought_by: None,
                        role: crate::model::Role::Library,
                    })
                    .collect(),
                scopes: Scopes {
                    global: self.link.global.iter().map(|&o| path(o)).collect(),
                },
                errors: Vec::new(),
                notes: Vec::new(),
                link: self.link.clone(),
                config: Default::default(),
                unresolved: Vec::new(),
                refused: Vec::new(),
            }
        }

        pub(crate) fn bind(&self, opts: BindOptions) -> Bindings {
            bind(&self.image(), &opts)
        }
    }

    /// The references of `object` to `symbol` with class `class`.
    pub(crate) fn refs<'a>(
        b: &'a Bindings,
        object: &str,
        symbol: &str,
        class: Option<RelocClass>,
    ) -> Vec<&'a Reference> {
        b.references
            .iter()
            .filter(|r| {
                r.object == object && r.symbol == symbol && class.is_none_or(|c| c == r.class)
            })
            .collect()
    }

    /// The only reference of `object` to `symbol`.
    pub(crate) fn one<'a>(b: &'a Bindings, object: &str, symbol: &str) -> &'a Reference {
        let r = refs(b, object, symbol, None);
        assert_eq!(r.len(), 1, "references of {object} to {symbol}: {r:#?}");
        r[0]
    }

    /// The only reference of `object` to `symbol` with class `class`.
    pub(crate) fn one_of<'a>(
        b: &'a Bindings,
        object: &str,
        symbol: &str,
        class: RelocClass,
    ) -> &'a Reference {
        let r = refs(b, object, symbol, Some(class));
        assert_eq!(
            r.len(),
            1,
            "{class:?} references of {object} to {symbol}: {r:#?}"
        );
        r[0]
    }

    fn to(r: &Reference) -> Option<&str> {
        r.binds_to.as_deref()
    }

    const DEFAULT: BindOptions = BindOptions {
        bind_now: false,
        dynamic_weak: false,
    };

    /// B1: "Every dynamic relocation with a non-zero symbol index in object
    /// X, whether or not X itself defines that symbol. A default-visibility
    /// function or variable that X defines and uses through its PLT/GOT is
    /// interposable … Relocation symbols that are `STB_LOCAL`, or have
    /// `STV_HIDDEN`/`STV_INTERNAL` visibility, bind to X without lookup."
    #[test]
    fn b1_self_reference_interposed_local_and_hidden_direct() {
        let mut p = P::new();
        let g = p.obj(
            "/lib/libg.so",
            O::new()
                .sym(def("foo"))
                .sym(def("loc"))
                .sym(def("hid"))
                .sym(def("int")),
        );
        let m = p.obj(
            "/mod/m.so",
            O::new()
                .reloc(def("foo"), Plt)
                .reloc_again("foo", Data)
                .reloc(local(def("loc")), Data)
                .reloc(visibility(def("hid"), STV_HIDDEN), Plt)
                .reloc(visibility(def("int"), STV_INTERNAL), Data),
        );
        p.link.global = vec![g];
        p.member(g, vec![Global(1)]);
        p.member(m, vec![Global(1), List(vec![m])]);
        let b = p.bind(DEFAULT);
        for class in [Plt, Data] {
            let r = one_of(&b, "/mod/m.so", "foo", class);
            assert_eq!(to(r), Some("/lib/libg.so"), "{class:?}");
            assert_eq!(r.expected.as_deref(), Some("/mod/m.so"));
            assert!(r.interposed && !r.direct);
        }
        for name in ["loc", "hid", "int"] {
            let r = one(&b, "/mod/m.so", name);
            assert!(r.direct, "{name}");
            assert_eq!(to(r), Some("/mod/m.so"), "{name}");
            assert!(!r.interposed, "{name}");
        }
    }

    /// B3: "Reference from a startup object …: scope = global scope only;
    /// definitions in `RTLD_LOCAL` modules are never visible to them."
    /// B4 / G2.3: a dlopen'd member's scopes are `[global scope, own
    /// group]`, the global scope as it was when the member was relocated
    /// (`Scope::Global(n)`): "An earlier global definition beats the
    /// module's own definition."
    #[test]
    fn b3_b4_startup_sees_global_dlopened_sees_global_then_group() {
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new().reloc(undef("only_local"), Data));
        let s = p.obj("/lib/libs.so", O::new().sym(def("foo")));
        // RTLD_GLOBAL module loaded before g: global position 3.
        let m = p.obj("/mod/m.so", O::new().reloc(def("late"), Data));
        // RTLD_GLOBAL module: global position 4.
        let g = p.obj("/mod/g.so", O::new().sym(def("late")));
        // RTLD_LOCAL module l with its dependency d, after everything.
        let l = p.obj(
            "/mod/l.so",
            O::new()
                .reloc(def("foo"), Data)
                .reloc(undef("dep_only"), Data)
                .reloc(undef("late"), Plt),
        );
        let d = p.obj(
            "/lib/libd.so",
            O::new()
                .sym(def("foo"))
                .sym(def("dep_only"))
                .sym(def("late"))
                .sym(def("only_local")),
        );
        let e2 = p.obj("/lib/libe2.so", O::new().reloc(undef("late"), Data));
        p.link.global = vec![e, s, e2, m, g];
        let me = p.member(e, vec![Global(3)]);
        p.m(me).exec = true;
        p.member(s, vec![Global(3)]);
        p.member(e2, vec![Global(3)]);
        p.member(m, vec![Global(3), List(vec![m])]);
        p.member(g, vec![Global(4), List(vec![g])]);
        let ml = p.member(l, vec![Global(5), List(vec![l, d])]);
        p.m(ml).solo = vec![l, d];
        p.member(d, vec![Global(5), List(vec![l, d])]);
        let b = p.bind(DEFAULT);

        // B3: the local module's definition is invisible to startup objects.
        assert_eq!(to(one(&b, "/usr/sbin/httpd", "only_local")), None);
        // B3: a startup object's scope is the startup global scope.
        assert_eq!(to(one(&b, "/lib/libe2.so", "late")), None);
        // B4: m was relocated before g joined the global scope.
        assert_eq!(to(one(&b, "/mod/m.so", "late")), Some("/mod/m.so"));
        // B4: global first (s before l's own group), then the group.
        let r = one(&b, "/mod/l.so", "foo");
        assert_eq!(to(r), Some("/lib/libs.so"));
        assert_eq!(r.expected.as_deref(), Some("/mod/l.so"));
        assert!(r.interposed);
        assert_eq!(to(one(&b, "/mod/l.so", "dep_only")), Some("/lib/libd.so"));
        let r = one(&b, "/mod/l.so", "late");
        assert_eq!(to(r), Some("/mod/m.so"));
        assert_eq!(r.expected.as_deref(), Some("/lib/libd.so"));
        assert!(r.interposed);
    }

    /// B5: "Reference from an object of an `RTLD_DEEPBIND` group: own group
    /// first (root, then its BFS list …), then the global scope."
    #[test]
    fn b5_deepbind_own_group_first() {
        let mut p = P::new();
        let s = p.obj(
            "/lib/libs.so",
            O::new().sym(def("foo")).sym(def("global_only")),
        );
        let x = p.obj(
            "/php/x.so",
            O::new()
                .reloc(undef("foo"), Plt)
                .reloc(undef("global_only"), Plt),
        );
        let d = p.obj("/lib/libxd.so", O::new().sym(def("foo")));
        p.link.global = vec![s];
        p.member(s, vec![Global(1)]);
        let mx = p.member(x, vec![List(vec![x, d]), Global(1)]);
        p.m(mx).solo = vec![x, d];
        p.member(d, vec![List(vec![x, d]), Global(1)]);
        let b = p.bind(DEFAULT);
        let r = one(&b, "/php/x.so", "foo");
        assert_eq!(to(r), Some("/lib/libxd.so"));
        assert!(!r.interposed);
        assert_eq!(
            to(one(&b, "/php/x.so", "global_only")),
            Some("/lib/libs.so")
        );
    }

    /// B6: "`DT_SYMBOLIC` object (not DEEPBIND): itself first, then as
    /// B4/B5." G2.3: link_map adds the extra first scope `[self]`.
    #[test]
    fn b6_symbolic_itself_first() {
        let mut p = P::new();
        let s = p.obj("/lib/libs.so", O::new().sym(def("foo")).sym(def("bar")));
        let x = p.obj(
            "/mod/x.so",
            O::new().reloc(def("foo"), Plt).reloc(undef("bar"), Plt),
        );
        let d = p.obj("/lib/libxd.so", O::new().sym(def("bar")));
        p.link.global = vec![s];
        p.member(s, vec![Global(1)]);
        p.member(x, vec![List(vec![x]), Global(1), List(vec![x, d])]);
        p.member(d, vec![Global(1), List(vec![x, d])]);
        let b = p.bind(DEFAULT);
        let r = one(&b, "/mod/x.so", "foo");
        assert_eq!(to(r), Some("/mod/x.so"));
        assert!(!r.interposed);
        // Not defined in x: on as B4 (global first).
        assert_eq!(to(one(&b, "/mod/x.so", "bar")), Some("/lib/libs.so"));
    }

    /// B7 (`check_match`): "skip entries with `st_value == 0` unless
    /// `SHN_ABS` or `STT_TLS`; skip `SHN_UNDEF` entries for PLT-class
    /// lookups (for other classes an undefined symbol with a non-zero value
    /// … *is* accepted); only types NOTYPE, OBJECT, FUNC, COMMON, TLS,
    /// GNU_IFUNC; … then hidden/internal definitions are skipped …;
    /// `STB_LOCAL` ignored." Each skip goes on with the next object.
    #[test]
    fn b7_symbol_acceptance() {
        let names = [
            "zero", "abs0", "tls0", "canon", "sect", "file", "hid", "loc", "ifunc",
        ];
        let mut p = P::new();
        let a = p.obj(
            "/usr/bin/nonpie",
            O::new()
                .sym(Symbol {
                    value: 0,
                    ..def("zero")
                })
                .sym(Symbol {
                    value: 0,
                    shndx: SHN_ABS,
                    kind: 0,
                    ..def("abs0")
                })
                .sym(Symbol {
                    value: 0,
                    kind: STT_TLS,
                    ..def("tls0")
                })
                // A canonical PLT address in a non-PIE executable.
                .sym(Symbol {
                    value: 0x401030,
                    ..undef("canon")
                })
                .sym(kind(def("sect"), STT_SECTION))
                .sym(kind(def("file"), STT_FILE))
                .sym(visibility(def("hid"), STV_HIDDEN))
                .sym(local(def("loc")))
                .sym(kind(def("ifunc"), STT_GNU_IFUNC)),
        );
        let mut bo = O::new();
        for n in names {
            bo = bo.sym(def(n));
        }
        let bb = p.obj("/lib/libb.so", bo);
        let mut ro = O::new();
        for n in names {
            ro = ro.reloc(undef(n), Plt);
        }
        ro = ro.reloc_again("canon", Data);
        let r = p.obj("/lib/libr.so", ro);
        p.link.global = vec![a, bb, r];
        for o in [a, bb, r] {
            p.member(o, vec![Global(3)]);
        }
        let b = p.bind(DEFAULT);
        let want = [
            ("zero", Plt, "/lib/libb.so"),
            ("abs0", Plt, "/usr/bin/nonpie"),
            ("tls0", Plt, "/usr/bin/nonpie"),
            ("canon", Plt, "/lib/libb.so"),
            ("canon", Data, "/usr/bin/nonpie"),
            ("sect", Plt, "/lib/libb.so"),
            ("file", Plt, "/lib/libb.so"),
            ("hid", Plt, "/lib/libb.so"),
            ("loc", Plt, "/lib/libb.so"),
            ("ifunc", Plt, "/usr/bin/nonpie"),
        ];
        for (name, class, obj) in want {
            assert_eq!(
                to(one_of(&b, "/lib/libr.so", name, class)),
                Some(obj),
                "{name} {class:?}"
            );
        }
    }

    /// B8: "Unversioned reference against an object with `DT_VERSYM`: … a
    /// definition with version index 0, 1 or 2 is accepted immediately —
    /// index 2 … even if it is hidden; a definition with index ≥ 3 that is
    /// not hidden is accepted only if it is the only such candidate in that
    /// object; hidden definitions with index ≥ 3 never match." A reference
    /// whose own versym index is 0 or 1 is unversioned.
    #[test]
    fn b8_unversioned_reference_against_versioned_definer() {
        let mut p = P::new();
        let d = p.obj(
            "/lib/libd.so",
            O::new()
                .verdef(1, "libd.so")
                .verdef(2, "V1")
                .verdef(3, "V2")
                .verdef(4, "V3")
                // a@@V2 then a@V1: index 2 wins although hidden.
                .sym(ver(def("a"), 3, false, "V2"))
                .sym(ver(def("a"), 2, true, "V1"))
                .sym(ver(def("b"), 3, false, "V2"))
                .sym(ver(def("c"), 3, false, "V2"))
                .sym(ver(def("c"), 4, false, "V3"))
                .sym(ver(def("d"), 3, true, "V2"))
                .sym(ver(def("e"), 4, true, "V3")),
        );
        let z = p.obj(
            "/lib/libz.so",
            O::new().sym(def("a")).sym(def("c")).sym(def("d")),
        );
        // The referrer has DT_VERSYM: its references carry index 1.
        let mut ro = O::new().versym();
        for n in ["a", "b", "c", "d", "e"] {
            ro = ro.reloc(undef(n), Plt);
        }
        let r = p.obj("/lib/libr.so", ro);
        p.link.global = vec![d, z, r];
        for o in [d, z, r] {
            p.member(o, vec![Global(3)]);
        }
        let b = p.bind(DEFAULT);
        let got = |n: &str| {
            let x = one(&b, "/lib/libr.so", n);
            assert_eq!(x.version, None, "{n} is an unversioned lookup");
            (x.binds_to.clone(), x.binds_to_version.clone())
        };
        let s = |x: &str| Some(x.to_string());
        assert_eq!(got("a"), (s("/lib/libd.so"), s("V1")));
        assert_eq!(got("b"), (s("/lib/libd.so"), s("V2")));
        assert_eq!(got("c"), (s("/lib/libz.so"), None));
        assert_eq!(got("d"), (s("/lib/libz.so"), None));
        assert_eq!(got("e"), (None, None));
    }

    /// B9: "Versioned reference (`name@VER`): within each object in scope
    /// order — object without `DT_VERSYM`: accepted …; definition with
    /// exactly `VER`: accepted; otherwise a non-hidden definition whose
    /// version is the base/unversioned one … is a fallback …; all else skip
    /// and continue with the next object." B8: a self-reference to its own
    /// `foo@@V` is looked up as version `V` ("skipped an earlier global
    /// `foo@@OTHER` but was taken over by an earlier *unversioned* `foo`").
    #[test]
    fn b9_versioned_reference() {
        let mut p = P::new();
        let u = p.obj("/lib/libu.so", O::new().sym(def("x")).sym(def("t")));
        let o = p.obj(
            "/lib/libo.so",
            O::new()
                .verdef(1, "libo.so")
                .verdef(2, "OTHER")
                .sym(ver(def("y"), 2, false, "OTHER"))
                .sym(ver(def("z"), 2, false, "OTHER"))
                .sym(ver(def("w"), 2, false, "OTHER"))
                .sym(ver(def("s"), 2, false, "OTHER")),
        );
        // DT_VERSYM, no version definitions: its exports have index 1.
        let b1 = p.obj("/lib/libb1.so", O::new().versym().sym(def("w")));
        let d = p.obj(
            "/lib/libd.so.1",
            O::new()
                .soname("libd.so.1")
                .verdef(1, "libd.so.1")
                .verdef(2, "D_2")
                .verdef(3, "D_3")
                .sym(ver(def("y"), 2, false, "D_2"))
                .sym(ver(def("z"), 2, true, "D_2"))
                .sym(ver(def("v"), 3, false, "D_3")),
        );
        let mut ro = O::new()
            .verdef(1, "libr.so")
            .verdef(2, "R_1")
            .verneed("libd.so.1", "D_2", 3, 0)
            .reloc(ver(def("s"), 2, false, "R_1"), Plt)
            .reloc(ver(def("t"), 2, false, "R_1"), Plt);
        for n in ["x", "y", "z", "w", "v"] {
            ro = ro.reloc(needs(undef(n), 3, "D_2", "libd.so.1"), Plt);
        }
        let r = p.obj("/lib/libr.so", ro);
        p.link.global = vec![u, o, b1, d, r];
        for x in [u, o, b1, d, r] {
            p.member(x, vec![Global(5)]);
        }
        let b = p.bind(DEFAULT);
        let got = |n: &str, v: &str| {
            let x = one(&b, "/lib/libr.so", n);
            assert_eq!(x.version.as_deref(), Some(v), "{n}");
            (x.binds_to.clone(), x.binds_to_version.clone())
        };
        let s = |x: &str| Some(x.to_string());
        // Without DT_VERSYM: accepted.
        assert_eq!(got("x", "D_2"), (s("/lib/libu.so"), None));
        // y@@OTHER skipped, exact version taken.
        assert_eq!(got("y", "D_2"), (s("/lib/libd.so.1"), s("D_2")));
        // Exact version, even hidden (`@D_2`).
        assert_eq!(got("z", "D_2"), (s("/lib/libd.so.1"), s("D_2")));
        // Base/unversioned (index 1) non-hidden: the fallback.
        assert_eq!(got("w", "D_2"), (s("/lib/libb1.so"), None));
        // Another version only: skipped, nothing else defines it.
        assert_eq!(got("v", "D_2"), (None, None));
        // Self-references looked up as R_1.
        assert_eq!(got("s", "R_1"), (s("/lib/libr.so"), s("R_1")));
        let t = one(&b, "/lib/libr.so", "t");
        assert_eq!(to(t), Some("/lib/libu.so"));
        assert_eq!(t.expected.as_deref(), Some("/lib/libr.so"));
        assert!(t.interposed);
    }

    /// B12: "`STB_WEAK` definitions are treated exactly like `STB_GLOBAL`
    /// (first found wins) unless `LD_DYNAMIC_WEAK` is set …, in which case
    /// a weak definition is remembered and the search continues for a
    /// global one."
    #[test]
    fn b12_weak_definitions() {
        let mut p = P::new();
        let a = p.obj(
            "/lib/liba.so",
            O::new().sym(weak(def("foo"))).sym(weak(def("bar"))),
        );
        let g = p.obj("/lib/libg.so", O::new().sym(def("foo")));
        let r = p.obj(
            "/lib/libr.so",
            O::new().reloc(undef("foo"), Plt).reloc(undef("bar"), Data),
        );
        p.link.global = vec![a, g, r];
        for o in [a, g, r] {
            p.member(o, vec![Global(3)]);
        }
        let b = p.bind(DEFAULT);
        assert_eq!(to(one(&b, "/lib/libr.so", "foo")), Some("/lib/liba.so"));
        assert_eq!(to(one(&b, "/lib/libr.so", "bar")), Some("/lib/liba.so"));
        let dynamic = BindOptions {
            dynamic_weak: true,
            ..DEFAULT
        };
        let b = p.bind(dynamic);
        assert_eq!(to(one(&b, "/lib/libr.so", "foo")), Some("/lib/libg.so"));
        assert_eq!(to(one(&b, "/lib/libr.so", "bar")), Some("/lib/liba.so"));
        // LD_DYNAMIC_WEAK in the service environment does the same.
        p.link.env_dynamic_weak = true;
        let b = p.bind(DEFAULT);
        assert_eq!(to(one(&b, "/lib/libr.so", "foo")), Some("/lib/libg.so"));
    }

    /// B13 in `_dl_lookup_symbol_x`: a non-PLT reference from a protected
    /// symbol is forced to its own object only if a PLT-style lookup (which
    /// skips undefined entries) lands elsewhere; when a non-PIE executable's
    /// canonical PLT entry answered the first lookup and the repeat finds
    /// the object itself, the executable's entry stands (glibc warns that
    /// pointer equality may break). Found by sample-libs' m-canonical-plt.
    #[test]
    fn b13_protected_pointer_to_canonical_plt_entry() {
        let mut p = P::new();
        let canonical = Symbol {
            value: 0x401030,
            ..undef("pfunc")
        };
        let e = p.obj("/usr/sbin/httpd", O::new().sym(canonical));
        let protected = visibility(def("pfunc"), STV_PROTECTED);
        let l = p.obj(
            "/lib/libcanonx.so.1",
            O::new().reloc(protected, Data).reloc_again("pfunc", Plt),
        );
        p.link.global = vec![e, l];
        let me = p.member(e, vec![Global(2)]);
        p.m(me).exec = true;
        p.member(l, vec![Global(2)]);
        let b = p.bind(DEFAULT);
        let data = one_of(&b, "/lib/libcanonx.so.1", "pfunc", Data);
        assert!(data.protected);
        assert_eq!(to(data), Some("/usr/sbin/httpd"));
        assert!(!data.interposed, "a protected reference is never a clash");
        // A PLT slot is forced to its own object at once.
        let plt = one_of(&b, "/lib/libcanonx.so.1", "pfunc", Plt);
        assert!(plt.protected);
        assert_eq!(to(plt), Some("/lib/libcanonx.so.1"));
        // When the repeat lands in another object, the own object wins.
        let mut p2 = P::new();
        let g = p2.obj("/lib/libg.so", O::new().sym(def("pfunc")));
        let l = p2.obj(
            "/lib/libcanonx.so.1",
            O::new().reloc(visibility(def("pfunc"), STV_PROTECTED), Data),
        );
        p2.link.global = vec![g, l];
        p2.member(g, vec![Global(2)]);
        p2.member(l, vec![Global(2)]);
        let b = p2.bind(DEFAULT);
        assert_eq!(
            to(one(&b, "/lib/libcanonx.so.1", "pfunc")),
            Some("/lib/libcanonx.so.1")
        );
    }

    /// G2.5: a later `dlopen` whose search list includes an object that was
    /// itself `dlopen`ed earlier appends that list to the object's scopes;
    /// its lazy slots then find what only the later group defines. Found by
    /// sample-libs' p-scope-update.
    #[test]
    fn g2_5_later_search_lists_reach_lazy_slots() {
        let mut p = P::new();
        let shared = p.obj(
            "/lib/libsharedx.so.1",
            O::new().reloc(weak(undef("py_provided")), Plt),
        );
        let provider = p.obj("/py/_provider.so", O::new().sym(def("py_provided")));
        p.link.global = vec![shared];
        let m = p.member(shared, vec![List(vec![shared]), Global(0)]);
        p.m(m).lazy = true;
        p.member(provider, vec![Global(1), List(vec![provider, shared])]);
        let b = p.bind(DEFAULT);
        assert_eq!(to(one(&b, "/lib/libsharedx.so.1", "py_provided")), None);
        p.m(m).later = vec![List(vec![provider, shared])];
        let b = p.bind(DEFAULT);
        let r = one(&b, "/lib/libsharedx.so.1", "py_provided");
        assert_eq!(to(r), Some("/py/_provider.so"));
        assert_eq!(r.at_load, Some(None));
        // Bound at load, the slot never sees it.
        let now = BindOptions {
            bind_now: true,
            ..DEFAULT
        };
        assert_eq!(
            to(one(&p.bind(now), "/lib/libsharedx.so.1", "py_provided")),
            None
        );
    }

    /// B13: "`STV_PROTECTED` definitions: exported and bindable by others in
    /// normal scope order; the defining object's own references never get
    /// interposed … LD_DEBUG marks such bindings 'protected'."
    #[test]
    fn b13_protected_keeps_own_references() {
        let mut p = P::new();
        let g = p.obj("/lib/libg.so", O::new().sym(def("foo")));
        let m = p.obj(
            "/lib/libm1.so",
            O::new()
                .reloc(visibility(def("foo"), STV_PROTECTED), Plt)
                .reloc_again("foo", Data)
                .sym(visibility(def("bar"), STV_PROTECTED)),
        );
        let n = p.obj(
            "/lib/libn.so",
            O::new().reloc(undef("foo"), Plt).reloc(undef("bar"), Plt),
        );
        p.link.global = vec![g, m, n];
        for o in [g, m, n] {
            p.member(o, vec![Global(3)]);
        }
        let b = p.bind(DEFAULT);
        for class in [Plt, Data] {
            let r = one_of(&b, "/lib/libm1.so", "foo", class);
            assert_eq!(to(r), Some("/lib/libm1.so"), "{class:?}");
            assert!(r.protected && !r.interposed && !r.direct);
        }
        // Others bind in scope order: g first, m's protected bar otherwise.
        let r = one(&b, "/lib/libn.so", "foo");
        assert_eq!(to(r), Some("/lib/libg.so"));
        assert!(!r.protected);
        assert_eq!(to(one(&b, "/lib/libn.so", "bar")), Some("/lib/libm1.so"));
    }

    /// B14: "`STB_GNU_UNIQUE`: the first lookup that lands on a unique
    /// definition registers it …; every later lookup of that name that lands
    /// on *any* unique definition returns the registered one — across
    /// `RTLD_LOCAL` and `RTLD_DEEPBIND` boundaries."
    #[test]
    fn b14_unique_first_registration_wins() {
        let name = "_ZN1S1xE";
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new());
        let pm = p.obj("/py/p.so", O::new().reloc(unique(data(def(name))), Data));
        let q = p.obj("/py/q.so", O::new().reloc(unique(data(def(name))), Data));
        let r = p.obj("/php/r.so", O::new().reloc(unique(data(def(name))), Data));
        p.link.global = vec![e];
        p.member(e, vec![Global(1)]);
        p.member(pm, vec![Global(1), List(vec![pm])]);
        p.member(q, vec![Global(1), List(vec![q])]);
        p.member(r, vec![List(vec![r]), Global(1)]);
        let b = p.bind(DEFAULT);
        assert_eq!(to(one(&b, "/py/p.so", name)), Some("/py/p.so"));
        for x in ["/py/q.so", "/php/r.so"] {
            let rr = one(&b, x, name);
            assert_eq!(to(rr), Some("/py/p.so"), "{x}");
            assert_eq!(rr.expected.as_deref(), Some(x));
            assert!(rr.interposed);
        }
        // The first lookup registers: relocating q first makes q's copy win.
        p.link.relocation_order = vec![0, 2, 1, 3];
        let b = p.bind(DEFAULT);
        assert_eq!(to(one(&b, "/py/p.so", name)), Some("/py/q.so"));
    }

    /// B15's process: the executable copies `optarg@GLIBC_2.2.5` (`COPY`;
    /// its defined copy carries the `Verneed` version), libc defines
    /// `optarg@@GLIBC_2.2.5` and uses it, libk (unversioned) uses it.
    pub(crate) fn copy_relocation_process() -> P {
        let mut p = P::new();
        let e = p.obj(
            "/usr/sbin/httpd",
            O::new().verneed("libc.so.6", "GLIBC_2.2.5", 2, 0).reloc(
                needs(
                    data(Symbol {
                        shndx: 26,
                        value: 0x404040,
                        ..def("optarg")
                    }),
                    2,
                    "GLIBC_2.2.5",
                    "libc.so.6",
                ),
                Copy,
            ),
        );
        let c = p.obj(
            "/lib/libc.so.6",
            O::new()
                .soname("libc.so.6")
                .verdef(1, "libc.so.6")
                .verdef(2, "GLIBC_2.2.5")
                .reloc(ver(data(def("optarg")), 2, false, "GLIBC_2.2.5"), Data),
        );
        let k = p.obj("/lib/libk.so", O::new().reloc(undef("optarg"), Data));
        p.link.global = vec![e, c, k];
        let me = p.member(e, vec![Global(3)]);
        p.m(me).exec = true;
        p.m(me).solo = vec![e, c];
        p.member(c, vec![Global(3)]);
        let mk = p.member(k, vec![Global(3)]);
        p.m(mk).solo = vec![k, c];
        p
    }

    /// B15: "an executable's `R_X86_64_COPY` looks up the symbol skipping
    /// the executable; afterwards every other object's reference to that
    /// data binds to the executable's copy". rules::benign: CopyRelocation.
    #[test]
    fn b15_copy_relocation() {
        let p = copy_relocation_process();
        let image = p.image();
        let b = bind(&image, &DEFAULT);
        let r = one(&b, "/usr/sbin/httpd", "optarg");
        assert_eq!(r.class, Copy);
        assert_eq!(r.version.as_deref(), Some("GLIBC_2.2.5"));
        assert_eq!(to(r), Some("/lib/libc.so.6"));
        assert!(!r.interposed);
        for x in ["/lib/libc.so.6", "/lib/libk.so"] {
            let r = one(&b, x, "optarg");
            assert_eq!(to(r), Some("/usr/sbin/httpd"), "{x}");
            assert_eq!(r.binds_to_version.as_deref(), Some("GLIBC_2.2.5"), "{x}");
            assert_eq!(r.expected.as_deref(), Some("/lib/libc.so.6"), "{x}");
            assert!(r.interposed, "{x}");
            assert_eq!(
                crate::rules::benign(&image, r),
                Some(crate::rules::Benign::CopyRelocation),
                "{x}"
            );
        }
        let findings = crate::rules::process_findings(&image, &b);
        assert!(
            findings.iter().all(|f| f.id != "symbol-interposition"),
            "{findings:#?}"
        );
    }

    /// B16: "strong reference not found → error …; weak reference → 0."
    /// A strong unresolved reference is the `unresolved-symbol` finding; a
    /// weak one is none.
    #[test]
    fn b16_unresolved_strong_is_a_finding_weak_is_not() {
        let mut p = P::new();
        let r = p.obj(
            "/mod/r.so",
            O::new()
                .reloc(undef("missing"), Plt)
                .reloc(weak(undef("maybe")), Data),
        );
        p.link.global = vec![r];
        p.member(r, vec![Global(1)]);
        let image = p.image();
        let b = bind(&image, &DEFAULT);
        let strong = one(&b, "/mod/r.so", "missing");
        assert_eq!(to(strong), None);
        assert!(!strong.weak && !strong.interposed);
        let weak = one(&b, "/mod/r.so", "maybe");
        assert_eq!(to(weak), None);
        assert!(weak.weak);
        let findings = crate::rules::process_findings(&image, &b);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].id, "unresolved-symbol");
        assert_eq!(findings[0].symbols, vec!["missing".to_string()]);
        assert_eq!(findings[0].severity, crate::model::Severity::High);
        // A lazy PLT slot fails at its first call, not at load: medium.
        p.m(0).lazy = true;
        let image = p.image();
        let b = bind(&image, &DEFAULT);
        assert!(one(&b, "/mod/r.so", "missing").lazy);
        let findings = crate::rules::process_findings(&image, &b);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].severity, crate::model::Severity::Medium);
    }

    /// G8: "Otherwise a PLT slot is resolved at its first call, searching
    /// the object's scope list *as it is at that time*, so objects added to
    /// the global scope after the object was loaded can win." Non-PLT
    /// relocations bind at relocation time; `LD_BIND_NOW` binds PLT slots at
    /// load too.
    #[test]
    fn g8_lazy_plt_slot_binds_against_final_global_scope() {
        let mut p = P::new();
        let e = p.obj(
            "/usr/sbin/httpd",
            O::new()
                .reloc(undef("late_fn"), Plt)
                .reloc_again("late_fn", Data)
                .reloc(undef("both"), Plt),
        );
        let s = p.obj("/lib/libs.so", O::new().sym(def("both")));
        let g = p.obj("/mod/g.so", O::new().sym(def("late_fn")).sym(def("both")));
        p.link.global = vec![e, s, g];
        let me = p.member(e, vec![Global(2)]);
        p.m(me).exec = true;
        p.m(me).lazy = true;
        p.member(s, vec![Global(2)]);
        p.member(g, vec![Global(2), List(vec![g])]);

        let b = p.bind(DEFAULT);
        let r = one_of(&b, "/usr/sbin/httpd", "late_fn", Plt);
        assert!(r.lazy);
        assert_eq!(to(r), Some("/mod/g.so"));
        assert_eq!(r.at_load, Some(None));
        let r = one_of(&b, "/usr/sbin/httpd", "late_fn", Data);
        assert!(!r.lazy);
        assert_eq!(to(r), None);
        // An earlier definition wins at load and at the call alike.
        let r = one(&b, "/usr/sbin/httpd", "both");
        assert!(r.lazy);
        assert_eq!(to(r), Some("/lib/libs.so"));
        assert_eq!(r.at_load, None);

        let now = BindOptions {
            bind_now: true,
            ..DEFAULT
        };
        for b in [p.bind(now), {
            p.link.env_bind_now = true;
            p.bind(DEFAULT)
        }] {
            let r = one_of(&b, "/usr/sbin/httpd", "late_fn", Plt);
            assert!(!r.lazy);
            assert_eq!(to(r), None);
            assert_eq!(r.at_load, None);
        }
    }

    /// `expected` is the lookup in the member's stand-alone search list
    /// (`solo`); a symbol none of that list defines is provided by the host
    /// (a module's `ap_log_error` from httpd) and is not interposed.
    #[test]
    fn expected_is_the_solo_lookup_host_symbols_not_interposed() {
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new().sym(def("ap_log_error")));
        let s = p.obj("/lib/libs.so", O::new().sym(def("foo")));
        let m = p.obj(
            "/mod/mod_x.so",
            O::new()
                .reloc(undef("ap_log_error"), Plt)
                .reloc(undef("foo"), Plt)
                .reloc(undef("bar"), Plt),
        );
        let c = p.obj("/lib/libc1.so", O::new().sym(def("foo")).sym(def("bar")));
        let c2 = p.obj("/lib/libc2.so", O::new().sym(def("bar")));
        p.link.global = vec![e, s, m, c2, c];
        let me = p.member(e, vec![Global(2)]);
        p.m(me).exec = true;
        p.member(s, vec![Global(2)]);
        let mm = p.member(m, vec![Global(2), List(vec![m, c2, c])]);
        // Loaded on its own, c comes before c2.
        p.m(mm).solo = vec![m, c, c2];
        p.member(c2, vec![Global(2), List(vec![m, c2, c])]);
        p.member(c, vec![Global(2), List(vec![m, c2, c])]);
        let b = p.bind(DEFAULT);
        let r = one(&b, "/mod/mod_x.so", "ap_log_error");
        assert_eq!(to(r), Some("/usr/sbin/httpd"));
        assert_eq!(r.expected.as_deref(), Some("/usr/sbin/httpd"));
        assert!(!r.interposed);
        let r = one(&b, "/mod/mod_x.so", "foo");
        assert_eq!(to(r), Some("/lib/libs.so"));
        assert_eq!(r.expected.as_deref(), Some("/lib/libc1.so"));
        assert!(r.interposed);
        let r = one(&b, "/mod/mod_x.so", "bar");
        assert_eq!(to(r), Some("/lib/libc2.so"));
        assert_eq!(r.expected.as_deref(), Some("/lib/libc1.so"));
        assert!(r.interposed);
    }

    /// `definitions` lists every member's non-local definition in link-map
    /// order with binding, visibility and whether it is a default version;
    /// `explain` keeps one line per distinct reference.
    #[test]
    fn definitions_and_explain() {
        let mut p = P::new();
        let a = p.obj(
            "/lib/liba.so",
            O::new()
                .verdef(1, "liba.so")
                .verdef(2, "A_1")
                .verdef(3, "A_2")
                .sym(ver(weak(def("foo")), 2, true, "A_1"))
                .sym(ver(def("foo"), 3, false, "A_2")),
        );
        let u = p.obj(
            "/lib/libu.so",
            O::new()
                .sym(unique(data(def("foo"))))
                .sym(local(def("foo")))
                .sym(undef("foo")),
        );
        let r = p.obj(
            "/lib/libr.so",
            O::new()
                .reloc(visibility(def("foo"), STV_PROTECTED), Plt)
                .reloc_again("foo", Plt),
        );
        p.link.global = vec![a, u, r];
        for o in [a, u, r] {
            p.member(o, vec![Global(3)]);
        }
        let image = p.image();
        let d = definitions(&image, b"foo");
        let got: Vec<_> = d
            .iter()
            .map(|d| {
                (
                    d.object.as_str(),
                    d.version.as_deref(),
                    d.binding,
                    d.visibility,
                    d.default,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("/lib/liba.so", Some("A_1"), "weak", "default", false),
                ("/lib/liba.so", Some("A_2"), "global", "default", true),
                ("/lib/libu.so", None, "unique", "default", true),
                ("/lib/libr.so", None, "global", "protected", true),
            ]
        );
        let b = bind(&image, &DEFAULT);
        let e = explain(&image, &b, b"foo");
        assert_eq!(e.definitions, d);
        assert_eq!(e.references.len(), 1);
        assert!(e.references[0].protected);
        assert_eq!(e.references[0].binds_to.as_deref(), Some("/lib/libr.so"));
    }
}
