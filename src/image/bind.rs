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
//!
//! A musl process looks up as musl's `find_sym` (ldso/dynlink.c): by name
//! alone, symbol versions ignored but a hidden (`@`) version skipped, the
//! first definition of the name in an object taken or the object passed
//! over; weak like global, no `STB_GNU_UNIQUE` registry, no protected
//! rule, no `DT_SYMBOLIC`, no lazy binding (every slot bound at load).

use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, OnceLock};

use bstr::BString;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::elf::{ElfFacts, RelocClass, Symbol};

mod explain;
pub use explain::{Explained, Explanation, definitions, explain, write_table};

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
    /// The process's C library is musl: lookups as its `find_sym`.
    pub(crate) musl: bool,
    /// How many of `objects` are the namespace's (the rest only members'
    /// stand-alone loads reach).
    pub(crate) ns_objects: usize,
    /// The image this process was forked from (the Apache parent's), whose
    /// members' bindings are computed once for every process forked from
    /// it ([`Forked`]).
    pub(crate) forked: Option<Arc<Forked>>,
    /// `objects` by path, made at the first [`LinkMap::facts`] once the
    /// map is built: the rules ask for the facts of both ends of every
    /// interposed reference, tens of thousands per process: hashed, as a
    /// binary search compared long paths with long common prefixes.
    pub(crate) by_path: OnceLock<ByPath>,
}

/// The link map of a parent image, and its members' bindings per set of
/// options, computed at the first process that asks: Apache's children
/// and each mod_wsgi daemon start with the parent's members, relocated
/// first, in the same scopes (what a daemon adds is `RTLD_LOCAL`, after
/// them), so their references bind alike in every process. [`bind`]
/// reuses a member's only where that holds: the same global scope, the
/// same member link (scopes, G2.5 later lists, lazy; later lists may go
/// on past the parent's where no binding can change), and the same
/// `STB_GNU_UNIQUE` registrations so far.
#[derive(Debug)]
pub(crate) struct Forked {
    link: LinkMap,
    /// By (bind now, dynamic weak).
    bound: [OnceLock<Vec<Bound>>; 4],
    shared: OnceLock<Shared>,
    alike: Alike,
    /// What later stages pick out of the runs every process forked from
    /// the parent shares ([`Picks`]).
    picks: Picks,
    /// What later stages pick out of the files those processes hold
    /// ([`FilePicks`]).
    file_picks: FilePicks,
}

/// The symbols of a file a later stage picked (the matchers: the exports
/// a signature's names match), by what was picked and the file's facts:
/// the same in every process holding the file (or an identical copy, whose
/// facts it shares), so each is picked once. The facts are held with the
/// pick, so no other facts take their address.
#[derive(Debug, Default)]
pub(crate) struct FilePicks {
    picked: Mutex<FilePickMap>,
    /// Each kind of pick (its text) a number.
    whats: Mutex<FxHashMap<String, u32>>,
}

/// By what was picked and the facts' address: the facts and the pick.
type FilePickMap = FxHashMap<(u32, usize), (Arc<ElfFacts>, Picked)>;

impl FilePicks {
    /// The number [`FilePicks::get_or`] knows the pick `what` by.
    pub(crate) fn what(&self, what: &str) -> u32 {
        let Ok(mut whats) = self.whats.lock() else {
            return u32::MAX;
        };
        if let Some(&n) = whats.get(what) {
            return n;
        }
        let n = u32::try_from(whats.len()).unwrap_or(u32::MAX);
        whats.insert(what.to_string(), n);
        n
    }

    /// The symbol indices `pick` chose of `facts`, chosen once per `what`
    /// (a number from [`FilePicks::what`]).
    pub(crate) fn get_or(
        &self,
        what: u32,
        facts: &Arc<ElfFacts>,
        pick: impl FnOnce(&ElfFacts) -> Vec<u32>,
    ) -> Picked {
        let key = (what, Arc::as_ptr(facts) as usize);
        if let Some((_, p)) = self.picked.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return p;
        }
        let picked: Picked = pick(facts).into();
        if let Ok(mut m) = self.picked.lock() {
            m.entry(key)
                .or_insert_with(|| (Arc::clone(facts), Arc::clone(&picked)));
        }
        picked
    }
}

/// Subsets of shared runs of references a later stage picked (the rules:
/// the interposed references no design explains), by what was picked and
/// the run: a run the parent's members or members bound alike share is
/// the same in every process holding it, so each pick of it is made once.
/// The run is held with its pick, so no other run takes its address.
#[derive(Debug, Default)]
pub(crate) struct Picks(Mutex<PickMap>);

/// By what was picked and the run's address: the run and the pick.
type PickMap = FxHashMap<(&'static str, usize), (Run, Picked)>;

/// Indices into a run.
type Picked = Arc<[u32]>;

impl Picks {
    /// The indices `pick` chose of `run`, chosen once per `what`.
    pub(crate) fn get_or(
        &self,
        what: &'static str,
        run: &Run,
        pick: impl FnOnce(&[Reference]) -> Vec<u32>,
    ) -> Arc<[u32]> {
        let key = (what, Arc::as_ptr(run).cast::<u8>() as usize);
        if let Some((_, p)) = self.0.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return p;
        }
        let picked: Arc<[u32]> = pick(run).into();
        if let Ok(mut m) = self.0.lock() {
            m.entry(key)
                .or_insert_with(|| (Arc::clone(run), Arc::clone(&picked)));
        }
        picked
    }
}

/// The references of members each process forked from one parent links
/// alike. A member's bindings are a function of its object, its scope
/// lists, later lists and stand-alone list, the global scope, its flags
/// and the settings, and, only where a lookup meets an `STB_GNU_UNIQUE`
/// definition, of the registrations made before it. Of the objects in
/// its lists only their facts count, and their paths only as the names
/// the references give (one loader read every file, and identical copies
/// share their facts). So the references of a member whose lookups met
/// none are kept under that key, and another process whose member has
/// the same key takes them, with the paths of its own objects in place
/// of the first one's: the standard library's modules and the plugins of
/// the parent's libraries every mod_wsgi daemon loads are bound once,
/// and a virtualenv's copy of a module as another virtualenv's was.
#[derive(Debug, Default)]
struct Alike {
    /// Each path a number: the objects of the global scope (which every
    /// process forked from the parent shares by path) and those without
    /// facts are keyed by path.
    paths: Mutex<FxHashMap<String, u32>>,
    /// Each file's facts a number, by their address; the facts are held,
    /// so no other facts take that address.
    contents: Mutex<FxHashMap<usize, (u32, Arc<ElfFacts>)>>,
    globals: Mutex<FxHashMap<Vec<u32>, u32>>,
    /// `None`: bound once so far.
    bound: Keyed<Kept>,
    /// Members whose lookups met `STB_GNU_UNIQUE` definitions, by their
    /// key, the paths of what it lists and the registrations before them
    /// (by path and symbol): their references and the registrations they
    /// made (by path and symbol), to be made again.
    met: Keyed<(Run, Registered)>,
}

/// A member's references as one process bound them, with the paths of the
/// objects its key lists, in key order.
#[derive(Debug)]
struct Kept {
    references: Run,
    paths: Vec<String>,
}

/// One member's references.
type Run = Arc<[Reference]>;

/// What members bound alike keep, by key: `None` once one process has
/// bound it.
type Keyed<T> = Mutex<FxHashMap<Vec<u32>, Option<T>>>;

/// The `STB_GNU_UNIQUE` registrations a member made: (path number,
/// symbol index).
type Registered = Vec<(u32, usize)>;

/// The numbers a process's objects go by in keys, and its global scope's.
struct Numbers {
    /// Per object: its content's number times two, or its path's times two
    /// plus one.
    ids: Vec<u32>,
    /// Per object: its path's number.
    paths: Vec<u32>,
    global: u32,
}

impl Alike {
    fn numbers(&self, link: &LinkMap) -> Option<Numbers> {
        let mut global_set = vec![false; link.objects.len()];
        for &o in &link.global {
            if let Some(g) = global_set.get_mut(o) {
                *g = true;
            }
        }
        let mut paths = self.paths.lock().ok()?;
        let mut contents = self.contents.lock().ok()?;
        let mut path_number = |p: &str| -> u32 {
            if let Some(&n) = paths.get(p) {
                return n;
            }
            let next = u32::try_from(paths.len()).unwrap_or(u32::MAX);
            paths.insert(p.to_string(), next);
            next
        };
        let mut ids = Vec::with_capacity(link.objects.len());
        let mut path_ids = Vec::with_capacity(link.objects.len());
        for (o, obj) in link.objects.iter().enumerate() {
            path_ids.push(path_number(&obj.path));
            let id = match &obj.facts {
                Some(f) if !global_set.get(o).copied().unwrap_or(true) => {
                    let next = u32::try_from(contents.len()).unwrap_or(u32::MAX);
                    let n = contents
                        .entry(Arc::as_ptr(f) as usize)
                        .or_insert_with(|| (next, Arc::clone(f)))
                        .0;
                    n.checked_mul(2)?
                }
                _ => path_number(&obj.path).checked_mul(2)?.checked_add(1)?,
            };
            ids.push(id);
        }
        let global: Vec<u32> = link
            .global
            .iter()
            .map(|&o| {
                link.objects
                    .get(o)
                    .map_or(u32::MAX, |x| path_number(&x.path))
            })
            .collect();
        drop(paths);
        drop(contents);
        let mut globals = self.globals.lock().ok()?;
        let next = u32::try_from(globals.len()).unwrap_or(u32::MAX);
        let global = *globals.entry(global).or_insert(next);
        Some(Numbers {
            ids,
            paths: path_ids,
            global,
        })
    }

    /// The references kept under `key`, named with `paths` (this
    /// process's objects in key order).
    fn get(&self, key: &[u32], paths: &[&str]) -> Option<Run> {
        let bound = self.bound.lock().ok()?;
        let kept = bound.get(key)?.as_ref()?;
        if kept
            .paths
            .iter()
            .map(String::as_str)
            .eq(paths.iter().copied())
        {
            return Some(Arc::clone(&kept.references));
        }
        let mut renamed: FxHashMap<&str, &str> = FxHashMap::default();
        for (a, b) in kept
            .paths
            .iter()
            .map(String::as_str)
            .zip(paths.iter().copied())
        {
            // Slots are objects, and a link map holds one object per path;
            // one that held a path twice, named apart here, cannot be
            // renamed: bind afresh.
            if *renamed.entry(a).or_insert(b) != b {
                return None;
            }
        }
        renamed.retain(|a, b| a != b);
        Some(renamed_references(&kept.references, &renamed))
    }

    /// Keeps `references` under `key` once a second process has bound a
    /// member alike: what only one process has is not held after that
    /// process is done with it.
    fn put(&self, key: Vec<u32>, references: &Run, paths: &[&str]) {
        if let Ok(mut bound) = self.bound.lock() {
            match bound.entry(key) {
                Entry::Vacant(v) => {
                    v.insert(None);
                }
                Entry::Occupied(mut o) => {
                    o.get_mut().get_or_insert_with(|| Kept {
                        references: Arc::clone(references),
                        paths: paths.iter().map(|p| p.to_string()).collect(),
                    });
                }
            }
        }
    }
}

impl Alike {
    fn get_met(&self, key: &[u32]) -> Option<(Run, Registered)> {
        let met = self.met.lock().ok()?;
        let (run, registered) = met.get(key)?.as_ref()?;
        Some((Arc::clone(run), registered.clone()))
    }

    /// As [`Alike::put`].
    fn put_met(&self, key: Vec<u32>, references: &Run, registered: Registered) {
        if let Ok(mut met) = self.met.lock() {
            match met.entry(key) {
                Entry::Vacant(v) => {
                    v.insert(None);
                }
                Entry::Occupied(mut o) => {
                    o.get_mut()
                        .get_or_insert_with(|| (Arc::clone(references), registered));
                }
            }
        }
    }
}

/// The key of a member whose lookups meet `STB_GNU_UNIQUE` definitions:
/// its [`member_key`], the paths of the objects that lists, and the
/// registrations so far, so that their answers are the same.
fn met_key(key: &[u32], slots: &[u32], log: &[Def], paths: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(key.len() + slots.len() + 2 * log.len() + 2);
    out.extend_from_slice(key);
    out.push(u32::MAX);
    out.extend_from_slice(slots);
    out.push(u32::MAX);
    for &(o, i) in log {
        out.push(paths.get(o).copied().unwrap_or(u32::MAX));
        out.push(u32::try_from(i).unwrap_or(u32::MAX));
    }
    out
}

/// `run` with each path `renamed` names in its place.
fn renamed_references(run: &[Reference], renamed: &FxHashMap<&str, &str>) -> Run {
    // Each new name made once, then shared by every reference naming it.
    let shared: FxHashMap<&str, Arc<str>> = renamed
        .iter()
        .map(|(&old, &new)| (old, Arc::from(new)))
        .collect();
    let name =
        |p: &Arc<str>| -> Arc<str> { shared.get(&**p).map_or_else(|| Arc::clone(p), Arc::clone) };
    run.iter()
        .map(|r| Reference {
            object: name(&r.object),
            symbol: r.symbol.clone(),
            version: r.version.clone(),
            class: r.class,
            binds_to: r.binds_to.as_ref().map(name),
            binds_to_version: r.binds_to_version.clone(),
            expected: r.expected.as_ref().map(name),
            interposed: r.interposed,
            weak: r.weak,
            direct: r.direct,
            protected: r.protected,
            lazy: r.lazy,
            at_load: r.at_load.as_ref().map(|a| a.as_ref().map(name)),
            may_be_imported: r.may_be_imported,
            installed_only: r.installed_only,
        })
        .collect()
}

/// The paths of the objects a member's key lists, each once, in the order
/// it first lists them, with their paths' numbers.
type Slots<'l> = (Vec<&'l str>, Vec<u32>);

/// What member `m`'s bindings depend on besides the registrations
/// ([`Alike`]), as numbers, and its [`Slots`]: `None` if an index is out
/// of range.
fn member_key<'l>(
    link: &'l LinkMap,
    m: usize,
    numbers: &Numbers,
    bind_now: bool,
    dynamic_weak: bool,
) -> Option<(Vec<u32>, Slots<'l>)> {
    let ml = link.members.get(m)?;
    // Sized once: a daemon's members' lists hold hundreds of objects, and
    // growing these a step at a time was most of making the key.
    let entries = [&ml.scopes, &ml.later]
        .into_iter()
        .flatten()
        .map(|s| match s {
            Scope::Global(_) => 2,
            Scope::List(l) => 1 + l.len(),
        })
        .sum::<usize>()
        + ml.solo.len()
        + ml.closure.as_ref().map_or(0, Vec::len)
        + 8;
    let mut paths: Vec<&str> = Vec::with_capacity(entries);
    let mut path_ids: Vec<u32> = Vec::with_capacity(entries);
    let mut ids: Vec<u32> = Vec::with_capacity(entries);
    // An object's place among `paths`, by its index: `image::link_map`
    // makes one object per path, so this is the place of its path,
    // without hashing the path for every entry of every list.
    let mut places: FxHashMap<usize, u32> =
        FxHashMap::with_capacity_and_hasher(entries, Default::default());
    let mut slot = |o: usize| -> Option<u32> {
        if let Some(&at) = places.get(&o) {
            return Some(at);
        }
        let p = link.objects.get(o)?.path.as_str();
        let at = u32::try_from(paths.len()).ok()?;
        paths.push(p);
        ids.push(*numbers.ids.get(o)?);
        path_ids.push(*numbers.paths.get(o)?);
        places.insert(o, at);
        Some(at)
    };
    let len = |n: usize| u32::try_from(n).ok();
    let mut key = Vec::with_capacity(2 * entries);
    key.extend([
        numbers.global,
        u32::from(ml.lazy)
            | u32::from(ml.exec) << 1
            | u32::from(ml.may_be_imported) << 2
            | u32::from(ml.installed_only) << 3
            | u32::from(bind_now) << 4
            | u32::from(dynamic_weak) << 5
            | u32::from(link.musl) << 6,
        slot(ml.object)?,
    ]);
    let mut list = |key: &mut Vec<u32>, l: &[usize]| -> Option<()> {
        key.push(len(l.len())?);
        for &o in l {
            key.push(slot(o)?);
        }
        Some(())
    };
    for scopes in [&ml.scopes, &ml.later] {
        key.push(len(scopes.len())?);
        for s in scopes {
            match s {
                Scope::Global(n) => key.extend([0, len(*n)?]),
                Scope::List(l) => {
                    key.push(1);
                    list(&mut key, l)?;
                }
            }
        }
    }
    list(&mut key, &ml.solo)?;
    match &ml.closure {
        None => key.push(0),
        Some(c) => {
            key.push(1);
            list(&mut key, c)?;
        }
    }
    key.push(len(ids.len())?);
    key.extend(ids);
    Some((key, (paths, path_ids)))
}

impl Forked {
    pub(crate) fn new(link: LinkMap) -> Forked {
        Forked {
            link,
            bound: Default::default(),
            shared: OnceLock::new(),
            alike: Alike::default(),
            picks: Picks::default(),
            file_picks: FilePicks::default(),
        }
    }

    fn shared(&self) -> &Shared {
        self.shared.get_or_init(|| Shared::new(&self.link))
    }

    pub(crate) fn picks(&self) -> &Picks {
        &self.picks
    }

    pub(crate) fn file_picks(&self) -> &FilePicks {
        &self.file_picks
    }

    /// Binds the parent's members with `opts` on a thread of the pool,
    /// for the forked processes a caller will bind with them: the first
    /// to ask then finds them bound, or waits for the rest.
    pub(crate) fn bind_early(self: &Arc<Self>, opts: BindOptions) {
        let forked = Arc::clone(self);
        rayon::spawn(move || {
            let (bind_now, dynamic_weak) = opts.with_env(&forked.link);
            forked.bound(bind_now, dynamic_weak);
        });
    }

    fn bound(&self, bind_now: bool, dynamic_weak: bool) -> Option<&[Bound]> {
        let slot = self
            .bound
            .get(usize::from(bind_now) * 2 + usize::from(dynamic_weak))?;
        Some(slot.get_or_init(|| {
            let mut out = Vec::new();
            let shared = Some(self.shared());
            let with = With {
                parent: None,
                shared,
                alike: Some(&self.alike),
            };
            bind_link(&self.link, bind_now, dynamic_weak, with, |b| out.push(b));
            out
        }))
    }
}

/// One member's bindings, at its place in the relocation order.
#[derive(Debug)]
struct Bound {
    member: usize,
    references: Arc<[Reference]>,
    /// The `STB_GNU_UNIQUE` definitions its lookups registered, in order.
    registered: Vec<Def>,
}

/// [`LinkMap::facts`]' index: how many objects it was made of, and each
/// path's first object.
pub(crate) type ByPath = (usize, FxHashMap<Box<str>, u32>);

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

impl BindOptions {
    /// (bind now, dynamic weak) as the options or the service's
    /// environment (`link`'s) say.
    fn with_env(&self, link: &LinkMap) -> (bool, bool) {
        (
            self.bind_now || link.env_bind_now,
            self.dynamic_weak || link.env_dynamic_weak,
        )
    }
}

/// One reference (a dynamic relocation naming a symbol, rule B1) and where
/// it binds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// The referencing member (canonical path). Text fields are shared
    /// strings: a process holds tens of thousands of references, and those
    /// of identical copies in other virtualenvs are the same but for their
    /// paths, so a copy's references are made of counted handles, not new
    /// strings.
    pub object: Arc<str>,
    pub symbol: Arc<str>,
    /// The version the lookup asks for (B8), if any.
    pub version: Option<Arc<str>>,
    pub class: RelocClass,
    /// The object whose definition ld.so picks, or `None` when nothing
    /// defines it (B16).
    pub binds_to: Option<Arc<str>>,
    /// The version of that definition.
    pub binds_to_version: Option<Arc<str>>,
    /// Where it binds when its object is loaded on its own with its
    /// dependencies (a library that finds them only through its loaders'
    /// `DT_RPATH`: as the nearest such loader loaded on its own loads it);
    /// a symbol none of them defines is provided by the host (httpd,
    /// libphp, libpython) and expected wherever it binds.
    pub expected: Option<Arc<str>>,
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
    pub at_load: Option<Option<Arc<str>>>,
    /// The member may only be loaded if the application imports it.
    pub may_be_imported: bool,
    /// The member is installed, not loaded by the configuration: the
    /// binding is a what-if (`scan --installed`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub installed_only: bool,
}

/// Every binding of one process.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Bindings {
    pub process: String,
    /// In relocation order of the members, then relocation order within one.
    pub references: References,
    /// The references a later stage picked (the rules: the interposed ones
    /// no design explains), as (run, index), for its other readers in the
    /// same process (the built-in rules and the matchers).
    #[serde(skip)]
    pub(crate) picked: OnceLock<Vec<(u32, u32)>>,
}

impl PartialEq for Bindings {
    /// The same references of the same process; what was picked of them
    /// is derived.
    fn eq(&self, other: &Bindings) -> bool {
        self.process == other.process && self.references == other.references
    }
}

impl Eq for Bindings {}

/// A process's references, one run per member: the runs of the members a
/// process shares with the image it was forked from are that image's,
/// not copies (forty mod_wsgi daemons hold the Apache parent's tens of
/// thousands of references once).
#[derive(Debug, Clone, Default)]
pub struct References {
    runs: Vec<Arc<[Reference]>>,
    len: usize,
}

impl References {
    pub fn iter(&self) -> impl Iterator<Item = &Reference> + Clone {
        self.runs.iter().flat_map(|r| r.iter())
    }

    /// The runs, one per member, each shared with every process that
    /// holds the same (with another holder, its count is above one).
    pub(crate) fn runs(&self) -> impl Iterator<Item = &Run> {
        self.runs.iter()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push_run(&mut self, run: Arc<[Reference]>) {
        self.len += run.len();
        if !run.is_empty() {
            self.runs.push(run);
        }
    }
}

impl<'a> IntoIterator for &'a References {
    type Item = &'a Reference;
    type IntoIter = std::iter::FlatMap<
        std::slice::Iter<'a, Arc<[Reference]>>,
        &'a [Reference],
        fn(&'a Arc<[Reference]>) -> &'a [Reference],
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.runs.iter().flat_map(|r| &r[..])
    }
}

impl From<Vec<Reference>> for References {
    fn from(v: Vec<Reference>) -> References {
        let mut out = References::default();
        out.push_run(v.into());
        out
    }
}

impl FromIterator<Reference> for References {
    fn from_iter<I: IntoIterator<Item = Reference>>(iter: I) -> References {
        let mut out = References::default();
        out.push_run(iter.into_iter().collect());
        out
    }
}

impl PartialEq for References {
    fn eq(&self, other: &References) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for References {}

impl Serialize for References {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
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
/// musl's `OK_TYPES`: no GNU_IFUNC (musl does not run resolvers).
const MUSL_TYPES: u32 = 1 | 1 << 1 | 1 << 2 | 1 << 5 | 1 << 6;

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// [`lossy`] as a shared string, for a [`Reference`].
fn shared(b: &[u8]) -> Arc<str> {
    Arc::from(String::from_utf8_lossy(b).as_ref())
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
/// A process forked from a parent takes the parent's index of the
/// namespace objects they share ([`Shared`]) and indexes only the rest.
struct Index<'a> {
    shared: Option<&'a Shared>,
    /// Objects from `shared.len` on (all of them without `shared`).
    by_name: FxHashMap<&'a [u8], Vec<Def>>,
    versioned: Vec<bool>,
    /// Position of each object in the final global scope.
    global_pos: Vec<usize>,
}

/// The index of a parent's namespace objects, which every process forked
/// from it starts with at the same indices: built once, not once per
/// mod_wsgi daemon.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    by_name: FxHashMap<Box<[u8]>, Vec<Def>>,
    /// How many objects it covers.
    len: usize,
}

impl Shared {
    fn new(link: &LinkMap) -> Shared {
        let mut by_name: FxHashMap<Box<[u8]>, Vec<Def>> = FxHashMap::default();
        let len = link.ns_objects.min(link.objects.len());
        each_definition(link, 0..len, |name, def| {
            by_name.entry(name.into()).or_default().push(def)
        });
        Shared { by_name, len }
    }
}

/// Every definition a lookup may find among objects `range` of `link`.
fn each_definition<'a>(
    link: &'a LinkMap,
    range: std::ops::Range<usize>,
    mut add: impl FnMut(&'a [u8], Def),
) {
    for o in range {
        let Some(f) = link.objects.get(o).and_then(|x| x.facts.as_deref()) else {
            continue;
        };
        for (i, s) in f.symbols.iter().enumerate() {
            // An undefined entry with a value (a canonical PLT address
            // in a non-PIE executable) answers non-PLT lookups.
            if i == 0 || (!s.is_defined() && s.value == 0) || s.bind == STB_LOCAL {
                continue;
            }
            add(s.name.as_slice(), (o, i));
        }
    }
}

impl<'a> Index<'a> {
    fn new(link: &'a LinkMap, shared: Option<&'a Shared>) -> Index<'a> {
        let start = shared.map_or(0, |s| s.len);
        let mut by_name: FxHashMap<&[u8], Vec<Def>> = FxHashMap::default();
        each_definition(link, start..link.objects.len(), |name, def| {
            by_name.entry(name).or_default().push(def)
        });
        let versioned = link
            .objects
            .iter()
            .map(|o| o.facts.as_deref().is_some_and(ElfFacts::has_versym))
            .collect();
        let mut global_pos = vec![usize::MAX; link.objects.len()];
        for (p, &o) in link.global.iter().enumerate() {
            if let Some(x) = global_pos.get_mut(o) {
                *x = (*x).min(p);
            }
        }
        Index {
            shared,
            by_name,
            versioned,
            global_pos,
        }
    }

    /// The definitions of `name`: the shared objects', then the rest's;
    /// together in object order.
    fn defs(&self, name: &[u8]) -> (&[Def], &[Def]) {
        let shared = self
            .shared
            .and_then(|s| s.by_name.get(name))
            .map_or(&[][..], Vec::as_slice);
        let own = self.by_name.get(name).map_or(&[][..], Vec::as_slice);
        (shared, own)
    }

    /// Those of the two lists that hold object `o`'s.
    fn defs_of<'d>(&self, o: usize, (shared, own): (&'d [Def], &'d [Def])) -> &'d [Def] {
        if self.shared.is_some_and(|s| o < s.len) {
            shared
        } else {
            own
        }
    }

    /// `do_lookup_x` over one object: `check_match` on each symbol of the
    /// name, the single-versioned-candidate rule, then visibility.
    fn in_object(&self, link: &LinkMap, o: usize, defs: &[Def], req: &Request<'_>) -> InObject {
        let Some(Some(facts)) = link.objects.get(o).map(|x| x.facts.as_deref()) else {
            return InObject::Next;
        };
        let mut idxs = defs.iter().filter(|d| d.0 == o).map(|d| d.1);
        if link.musl {
            return musl_in_object(facts, &mut idxs, req);
        }
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

/// musl's `find_sym2` over one object: its hash lookup answers the first
/// symbol of the name (in `.dynsym` order, as a GNU hash chain meets
/// them) whose version is not hidden, whatever version was asked for;
/// if that one is unfit the next object is tried, not another symbol.
fn musl_in_object(
    facts: &ElfFacts,
    mut idxs: impl Iterator<Item = usize>,
    req: &Request<'_>,
) -> InObject {
    let first = idxs.find_map(|i| {
        let s = facts.symbols.get(i)?;
        (!s.version.as_ref().is_some_and(|v| v.hidden)).then_some((i, s))
    });
    let Some((i, s)) = first else {
        return InObject::Next;
    };
    let unfit = (!s.is_defined() && (req.class == RelocClass::Plt || s.kind == STT_TLS))
        || (s.value == 0 && s.kind != STT_TLS)
        || MUSL_TYPES & (1u32 << s.kind.min(31)) == 0
        || !matches!(s.bind, STB_GLOBAL | STB_WEAK | STB_GNU_UNIQUE);
    if unfit {
        InObject::Next
    } else {
        InObject::Found(i)
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
    /// How many lookups met an `STB_GNU_UNIQUE` definition: one whose
    /// answer may depend on the registrations before it.
    met: usize,
}

impl<'a> Unique<'a> {
    fn register(&mut self, name: &'a [u8], def: Def) -> Def {
        self.met += 1;
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
    let both = index.defs(req.name);
    if both.0.is_empty() && both.1.is_empty() {
        return None;
    }
    let defs = || both.0.iter().chain(both.1);
    let mut weak: Option<Def> = None;
    // The definers a scope contains, in scope order; one allocation per
    // lookup, reused across its scopes.
    let mut here: Vec<(usize, usize)> = Vec::with_capacity(both.0.len() + both.1.len());
    for scope in scopes {
        here.clear();
        match scope {
            Scope::Global(n) => {
                let n = global_len.unwrap_or(*n);
                here.extend(defs().filter_map(|&(o, _)| {
                    let p = index.global_pos.get(o).copied().unwrap_or(usize::MAX);
                    (p < n).then_some((p, o))
                }));
            }
            Scope::List(list) => here.extend(
                defs().filter_map(|&(o, _)| list.iter().position(|&x| x == o).map(|p| (p, o))),
            ),
        }
        here.sort_unstable();
        here.dedup();
        for &(_, o) in &here {
            if req.skip == Some(o) {
                continue;
            }
            let InObject::Found(i) = index.in_object(link, o, index.defs_of(o, both), req) else {
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
            if link.musl {
                return Some((o, i));
            }
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
    let (bind_now, dynamic_weak) = opts.with_env(link);
    let forked = link
        .forked
        .as_deref()
        .filter(|f| reuse && same_namespace(link, &f.link));
    let with = With {
        parent: forked.and_then(|f| Some((&f.link, f.bound(bind_now, dynamic_weak)?))),
        shared: forked.map(Forked::shared),
        alike: forked.map(|f| &f.alike),
    };
    let mut references = References::default();
    bind_link(link, bind_now, dynamic_weak, with, |b| {
        references.push_run(b.references)
    });
    Bindings {
        process: image.name.clone(),
        references,
        picked: OnceLock::new(),
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
        && link.musl == parent.musl
}

/// Whether member `m` of `link` is linked as member `pm` of `parent`:
/// the same object, scopes, later lists, laziness and stand-alone load,
/// compared by path where indices may differ. Later lists may also go on
/// past the parent's (G2.5: the groups a daemon dlopens after the fork
/// whose search lists hold a parent's library) where `grown_ok` says no
/// binding can change: a lazy slot searches them only after everything
/// before them, so one that found its definition earlier finds it again.
fn same_member(
    link: &LinkMap,
    m: usize,
    parent: &LinkMap,
    pm: usize,
    grown_ok: impl FnOnce() -> bool,
) -> bool {
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
        && list(&a.solo, &b.solo)
        && match (&a.closure, &b.closure) {
            (None, None) => true,
            (Some(x), Some(y)) => list(x, y),
            _ => false,
        }
        && match a.later.get(..b.later.len()) {
            Some(before) if before.len() == a.later.len() => scopes(before, &b.later),
            Some(before) => scopes(before, &b.later) && grown_ok(),
            None => false,
        }
}

/// What a process forked from a parent binds with besides its own link
/// map.
#[derive(Clone, Copy, Default)]
struct With<'p> {
    /// The parent's link map and bindings.
    parent: Option<(&'p LinkMap, &'p [Bound])>,
    /// The parent's symbol index.
    shared: Option<&'p Shared>,
    /// The members linked alike in the processes forked from it.
    alike: Option<&'p Alike>,
}

/// Binds the members of `link` in relocation order, handing each one's
/// [`Bound`] to `out`; with a parent (its link map and bindings), a
/// member linked as the parent's at the same place, while the
/// `STB_GNU_UNIQUE` registrations so far are the parent's, takes the
/// parent's bindings instead of looking them up again, and any other
/// member another process linked alike, whose lookups met no
/// `STB_GNU_UNIQUE` definition, takes that process's ([`Alike`]).
fn bind_link(
    link: &LinkMap,
    bind_now: bool,
    dynamic_weak: bool,
    with: With<'_>,
    mut out: impl FnMut(Bound),
) {
    let With {
        parent,
        shared,
        alike,
    } = with;
    // Made at the first member that needs a lookup: none may, when every
    // member is the parent's or linked alike elsewhere.
    let index: std::cell::OnceCell<Index<'_>> = std::cell::OnceCell::new();
    let numbers = alike.and_then(|a| a.numbers(link));
    // Each path's number to its first object here, for registrations made
    // again.
    let first_of_path: std::cell::OnceCell<FxHashMap<u32, usize>> = std::cell::OnceCell::new();
    let mut unique = Unique::default();
    // The registrations so far differ from the parent's: nothing after
    // can be reused.
    let mut diverged = parent.is_none();
    // Each object's path as the one shared string its references hold.
    let paths: Vec<Arc<str>> = link
        .objects
        .iter()
        .map(|x| Arc::from(x.path.as_str()))
        .collect();
    let path = |o: usize| paths.get(o).cloned();
    for (k, &m) in link.relocation_order.iter().enumerate() {
        let theirs = parent.and_then(|(pl, bound)| {
            let b = bound.get(k)?;
            (pl.relocation_order.get(k) == Some(&b.member)).then_some((pl, b))
        });
        // With lists appended, a lazy slot the parent left unbound may
        // find a definition in them, and with `LD_DYNAMIC_WEAK` a lookup
        // goes on past a weak one.
        if !diverged
            && let Some((pl, b)) = theirs
            && same_member(link, m, pl, b.member, || {
                !dynamic_weak && !b.references.iter().any(|r| r.lazy && r.binds_to.is_none())
            })
        {
            for &def in &b.registered {
                register_again(link, &mut unique, def);
            }
            out(Bound {
                member: m,
                references: Arc::clone(&b.references),
                registered: b.registered.clone(),
            });
            continue;
        }
        let key = alike.zip(numbers.as_ref()).and_then(|(a, numbers)| {
            let (key, paths) = member_key(link, m, numbers, bind_now, dynamic_weak)?;
            Some((a, key, paths))
        });
        if let Some(references) = key.as_ref().and_then(|(a, k, p)| a.get(k, &p.0)) {
            // Not where the parent's run can go on from.
            diverged = true;
            out(Bound {
                member: m,
                references,
                registered: Vec::new(),
            });
            continue;
        }
        let met_key = key
            .as_ref()
            .zip(numbers.as_ref())
            .map(|((_, k, p), n)| met_key(k, &p.1, &unique.log, &n.paths));
        if let Some((references, registered)) =
            alike.zip(met_key.as_ref()).and_then(|(a, k)| a.get_met(k))
        {
            let objects = first_of_path.get_or_init(|| {
                let mut first = FxHashMap::default();
                for (o, &p) in numbers.iter().flat_map(|n| n.paths.iter().enumerate()) {
                    first.entry(p).or_insert(o);
                }
                first
            });
            let mut made = Vec::new();
            for (pid, i) in registered {
                let Some(&o) = objects.get(&pid) else {
                    continue;
                };
                if register_again(link, &mut unique, (o, i)) {
                    made.push((o, i));
                }
            }
            diverged = true;
            out(Bound {
                member: m,
                references,
                registered: made,
            });
            continue;
        }
        let before = unique.log.len();
        let met = unique.met;
        let mut references = Vec::new();
        bind_member(
            link,
            index.get_or_init(|| Index::new(link, shared)),
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
        let references: Arc<[Reference]> = references.into();
        if unique.met == met
            && let Some((a, k, p)) = key
        {
            a.put(k, &references, &p.0);
        } else if let (Some(a), Some(k), Some(n)) = (alike, met_key, numbers.as_ref()) {
            let made = registered
                .iter()
                .map(|&(o, i)| (n.paths.get(o).copied().unwrap_or(u32::MAX), i))
                .collect();
            a.put_met(k, &references, made);
        }
        out(Bound {
            member: m,
            references,
            registered,
        });
    }
}

/// Makes a registration a reused member made when it was bound (`STB_GNU_UNIQUE`
/// definition `(o, i)` of `link`) again: whether `link` has that symbol.
fn register_again<'a>(link: &'a LinkMap, unique: &mut Unique<'a>, (o, i): Def) -> bool {
    let symbol = link
        .objects
        .get(o)
        .and_then(|x| x.facts.as_deref())
        .and_then(|f| f.symbols.get(i));
    let Some(s) = symbol else {
        return false;
    };
    unique.register(s.name.as_slice(), (o, i));
    true
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
    path: &dyn Fn(usize) -> Option<Arc<str>>,
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
        let Some(this) = path(ml.object) else {
            return;
        };
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
                object: Arc::clone(&this),
                symbol: shared(&sym.name),
                version: version.map(|v| shared(v)),
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
                reference.binds_to = Some(Arc::clone(&this));
                reference.binds_to_version = sym
                    .version
                    .as_ref()
                    .and_then(|v| v.name.as_ref())
                    .map(|v| shared(v));
                reference.expected = Some(Arc::clone(&this));
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
            let lazy = r.class == RelocClass::Plt && ml.lazy && !bind_now && !link.musl;
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
            if sym.visibility == STV_PROTECTED && !link.musl {
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
                    .map(|v| shared(v))
            });
            reference.expected = expected.and_then(|d| path(d.0));
            reference.interposed = reference.binds_to != reference.expected;
            references.push(reference);
        }
    }
}

impl LinkMap {
    /// The facts of the object at `path`, if the model read it.
    pub fn facts(&self, path: &str) -> Option<&ElfFacts> {
        let (count, by_path) = self.by_path.get_or_init(|| {
            let mut first: FxHashMap<Box<str>, u32> = FxHashMap::default();
            for (i, o) in self.objects.iter().enumerate() {
                // The first of equal paths, as a scan in order finds it.
                if let Ok(i) = u32::try_from(i) {
                    first.entry(o.path.as_str().into()).or_insert(i);
                }
            }
            (self.objects.len(), first)
        });
        if *count != self.objects.len() {
            // Objects added after the first question: look in order.
            return self
                .objects
                .iter()
                .find(|o| o.path == path)
                .and_then(|o| o.facts.as_deref());
        }
        by_path
            .get(path)
            .and_then(|&i| self.objects.get(i as usize))
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

    /// [`LinkMap::members`]' facts, as held.
    pub(crate) fn member_facts(&self) -> impl Iterator<Item = Option<&Arc<ElfFacts>>> {
        self.members
            .iter()
            .filter_map(|m| Some(self.objects.get(m.object)?.facts.as_ref()))
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
pub(crate) mod tests;
