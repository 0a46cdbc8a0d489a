//! The search itself: rules L1–L13 for one name, and the breadth-first
//! start-up of rule G1 (`_dl_map_object_deps` as `ld.so --list` runs it).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bstr::{BStr, BString, ByteSlice};
use rustc_hash::FxHashMap;

use super::profile::Search;
use super::{How, Load, LoadError, Loaded, Loader, Opened, Probe, View};
use crate::elf::{Class, DependencyTag, ElfFacts};

/// Where a name was found, and through which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A name with a slash, opened as given (L2).
    Path,
    /// `DT_RPATH` of an object of the loader chain or of the executable (L3.1–2).
    Rpath(PathBuf),
    /// `LD_LIBRARY_PATH` (L3.3).
    LdLibraryPath,
    /// The requester's own `DT_RUNPATH` (L3.4).
    Runpath(PathBuf),
    /// `/etc/ld.so.cache` (L3.5).
    Cache,
    /// A trusted default directory (L3.6, L10).
    DefaultDir,
    /// Already loaded under this name or soname (L1).
    AlreadyLoaded,
    /// Already loaded: the same (device, inode) under another path (L13).
    SameFile,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Path => write!(f, "path given"),
            Found::Rpath(of) => write!(f, "RPATH of {}", of.display()),
            Found::LdLibraryPath => write!(f, "LD_LIBRARY_PATH"),
            Found::Runpath(of) => write!(f, "RUNPATH of {}", of.display()),
            Found::Cache => write!(f, "ld.so.cache"),
            Found::DefaultDir => write!(f, "default directory"),
            Found::AlreadyLoaded => write!(f, "already loaded"),
            Found::SameFile => write!(f, "same file already loaded"),
        }
    }
}

/// One search list: directories (as `fillin_rpath` stores them, with a
/// trailing slash) and the rule that contributed them.
struct SearchList {
    dirs: Vec<Vec<u8>>,
    found: Found,
    label: String,
}

/// The outcome of resolving one name.
enum Outcome {
    Existing(usize),
    New {
        path: PathBuf,
        opened: Arc<Opened>,
        found: Found,
    },
    NotFound(Vec<String>),
    Fatal {
        path: PathBuf,
        reason: String,
    },
}

/// The namespace being built.
#[derive(Clone)]
struct State {
    objects: Vec<Loaded>,
    /// Extra names each object answers to (`l_libname`), first is the name
    /// it was loaded by.
    aliases: Vec<Vec<BString>>,
    /// The objects whose alias lists grew, in order, so a failed `dlopen`
    /// takes back only what it added instead of saving every list.
    alias_log: Vec<usize>,
    /// Rule L1's names (each chain object's path, aliases and soname, the
    /// unopened dynamic linker's file name) to the objects that had them:
    /// a superset, each candidate checked again (`answers`), so a lookup
    /// is not a walk of the whole chain comparing every name, which it
    /// was once per `DT_NEEDED` of every `dlopen`.
    names: FxHashMap<BString, Vec<usize>>,
    /// The objects in the namespace's link-map chain, for rule L1.
    chain: Vec<usize>,
    /// The link-map chain as trace mode prints it: every object but the
    /// dynamic linker, not-found ones included, in creation order except
    /// where a filtee was placed before its filter (elf/dl-deps.c).
    order: Vec<usize>,
    want: (Class, u16),
    /// Loaded by the root's other C library (its `PT_INTERP` names that
    /// library's loader): see `Loader::view_of`.
    other: bool,
    /// musl: the reserved name classes already printed, and the lines for
    /// the loader after its first, each after that many entries of `order`.
    reported: u32,
    itself_lines: Vec<(usize, BString)>,
}

/// What a `dlopen` undoes when it fails.
struct Saved {
    objects: usize,
    chain: usize,
    alias_log: usize,
    order: Vec<usize>,
}

/// `dlopen` mode bits (glibc `bits/dlfcn.h`, rule G3).
pub mod rtld {
    pub const LAZY: u32 = 0x1;
    pub const NOW: u32 = 0x2;
    pub const NOLOAD: u32 = 0x4;
    pub const DEEPBIND: u32 = 0x8;
    pub const GLOBAL: u32 = 0x100;
    pub const LOCAL: u32 = 0;
    pub const NODELETE: u32 = 0x1000;

    /// `RTLD_NOW|RTLD_GLOBAL` style text for reports.
    pub fn describe(flags: u32) -> String {
        let mut parts = vec![if flags & NOW != 0 {
            "RTLD_NOW"
        } else {
            "RTLD_LAZY"
        }];
        parts.push(if flags & GLOBAL != 0 {
            "RTLD_GLOBAL"
        } else {
            "RTLD_LOCAL"
        });
        if flags & DEEPBIND != 0 {
            parts.push("RTLD_DEEPBIND");
        }
        if flags & NODELETE != 0 {
            parts.push("RTLD_NODELETE");
        }
        parts.join("|")
    }
}

/// One `dlopen` (or the start-up) and the search list it built (rule G2).
#[derive(Debug, Clone)]
pub struct Group {
    /// The object opened (the main program for the start-up group).
    pub root: usize,
    /// Its breadth-first search list `R`, root first, already loaded
    /// objects included (G2.2).
    pub list: Vec<usize>,
    pub flags: u32,
    /// Why the `dlopen` would fail, when it would (then nothing it loaded
    /// stays in the namespace).
    pub failed: Option<DlopenError>,
    /// The objects this call created (indices, in creation order).
    pub created: std::ops::Range<usize>,
    /// How long the global scope was when the call began: what the new
    /// objects see of it when they are relocated (G2.7, G5).
    pub global_before: usize,
    /// Each `DT_NEEDED` this call (or the start-up) found nowhere (L3):
    /// the canonical path of the object that needs it, and the name. A
    /// `dlopen` with one fails and leaves nothing behind; the start-up, in
    /// trace mode, goes on without it.
    pub missing: Vec<(PathBuf, BString)>,
    /// For a call that failed: the canonical paths of the objects it had
    /// opened before it was undone, the object it opened first.
    pub attempted: Vec<PathBuf>,
}

/// Why `dlopen` would fail, in the words of `dlerror()` where the model
/// has them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DlopenError {
    /// The object itself: the places searched, in order.
    #[error("{name}: cannot open shared object file; tried {}", tried.join(", "))]
    NotFound { name: BString, tried: Vec<String> },
    /// A candidate that stops the search (rule L12).
    #[error("{}: {reason}", path.display())]
    Fatal { path: PathBuf, reason: String },
    /// Dependencies of the object, by name.
    #[error("{name}: dependencies not found: {}", missing.join(", "))]
    Dependencies { name: BString, missing: Vec<String> },
}

/// A link-map namespace being built: the start-up of a program, then
/// `dlopen`s in order (rules G1, G2, G4, G5). A clone goes on apart, as a
/// forked process does.
#[derive(Clone)]
pub struct Namespace<'a, 'r> {
    loader: &'a Loader<'r>,
    st: State,
    /// The global scope, in order (G1, G2.7, G5).
    global: Vec<usize>,
    groups: Vec<Group>,
    /// The start-up search list (what `ld.so --list` prints).
    startup: Vec<usize>,
    /// Objects that existed when the start-up was done.
    startup_len: usize,
    /// The preloads ld.so would ignore, in its words.
    preload_errors: Vec<String>,
}

impl<'r> Loader<'r> {
    /// Simulates `ld.so --list FILE` for a file inside the root: the main
    /// program, then every `DT_NEEDED` breadth-first (rule G1).
    pub fn load(&self, file: &Path) -> Result<Load, LoadError> {
        Ok(self.start(file, &[])?.finish())
    }

    /// The start-up of a program with `LD_PRELOAD`-style preloads (L14),
    /// as a namespace further `dlopen`s can be simulated in.
    pub fn start<'a>(
        &'a self,
        file: &Path,
        preload: &[BString],
    ) -> Result<Namespace<'a, 'r>, LoadError> {
        let preload: Vec<(BString, &str)> =
            preload.iter().map(|p| (p.clone(), "LD_PRELOAD")).collect();
        self.start_with(file, &preload)
    }

    /// `ld.so --list FILE` with preloads, each with where it came from
    /// (`LD_PRELOAD`, `/etc/ld.so.preload`), in the order ld.so takes
    /// them: `LD_PRELOAD` first.
    pub fn load_with(&self, file: &Path, preload: &[(BString, &str)]) -> Result<Load, LoadError> {
        Ok(self.start_with(file, preload)?.finish())
    }

    /// [`Loader::start`] with the source of each preload named, as ld.so
    /// names it when one cannot be loaded.
    pub fn start_with<'a>(
        &'a self,
        file: &Path,
        preload: &[(BString, &str)],
    ) -> Result<Namespace<'a, 'r>, LoadError> {
        let main_path = self.absolute(file.as_os_str().as_encoded_bytes());
        let opened = self.open(&main_path)?;
        let facts = opened.facts.clone().map_err(LoadError::Elf)?;
        if !facts.dynamic {
            return Err(LoadError::NotDynamic);
        }
        let Some(class) = facts.class else {
            return Err(LoadError::NotDynamic);
        };
        let name = BString::from(file.as_os_str().as_encoded_bytes());
        let other = match &facts.interpreter {
            Some(i) => self.is_other_libc(i.as_bytes()),
            None => self.links_other_libc(&facts.needed),
        };
        let mut st = State {
            objects: vec![Loaded {
                name: name.clone(),
                path: Some(PathBuf::from(file)),
                opened: Some(Arc::clone(&opened)),
                how: How::Main,
                needed: Vec::new(),
                filtees: Vec::new(),
                loader: None,
            }],
            aliases: vec![vec![name]],
            alias_log: Vec::new(),
            names: FxHashMap::default(),
            chain: vec![0],
            order: vec![0],
            want: (class, facts.machine),
            other,
            reported: 0,
            itself_lines: Vec::new(),
        };
        // The dynamic linker is in the namespace from the start. `ld.so
        // --list` is one loader, the compiled-in RTLD, whatever the file
        // asks for: its name is the main program's PT_INTERP (else RTLD's
        // own), its path RTLD, so a PT_INTERP elsewhere lists as
        // `PT_INTERP => RTLD` (rtld.c, `_dl_rtld_libname`).
        let rtld = BString::from(
            self.view_of(&st)
                .profile
                .interpreter()
                .as_os_str()
                .as_encoded_bytes(),
        );
        let rtld_name: BString = facts.interpreter.clone().unwrap_or_else(|| rtld.clone());
        let rtld_opened = [&rtld, &rtld_name].into_iter().find_map(|n| {
            match self.probe(&self.absolute(n.as_bytes()), st.want) {
                Probe::Accepted(o) => Some(o),
                _ => None,
            }
        });
        st.objects.push(Loaded {
            name: rtld_name.clone(),
            path: Some(path_of(&rtld)),
            opened: rtld_opened,
            how: How::Interpreter,
            needed: Vec::new(),
            filtees: Vec::new(),
            loader: None,
        });
        st.aliases.push(vec![rtld_name, rtld]);
        st.chain.push(1);
        st.index(0);
        st.index(1);
        let mut ns = Namespace {
            loader: self,
            st,
            global: Vec::new(),
            groups: Vec::new(),
            startup: Vec::new(),
            startup_len: 0,
            preload_errors: Vec::new(),
        };
        // L14: preloads come right after the main program, resolved as its
        // dependencies, before its own DT_NEEDED. One that cannot be loaded
        // is ignored with a message and is not listed (rtld.c,
        // `do_preload`); its object stays, faked, so indices after the
        // preloads keep their place.
        let mut first = vec![0usize];
        let mut preload_errors = Vec::new();
        for (p, from) in preload {
            let j = self.map_object(&mut ns.st, p.as_ref(), Some(0), Some(0));
            if ns.st.is_faked(j) {
                let why = match ns.st.objects.get(j).map(|o| &o.how) {
                    Some(How::Fatal { reason, .. }) => reason.clone(),
                    _ => "cannot open shared object file".to_string(),
                };
                preload_errors.push(format!(
                    "ERROR: ld.so: object '{}' from {from} cannot be preloaded ({why}): ignored.",
                    p.to_str_lossy()
                ));
                ns.st.order.retain(|&k| k != j);
                if let Some(o) = ns.st.objects.get_mut(j) {
                    if let How::Fatal { reason, .. } = &o.how {
                        o.how = How::NotFound(vec![reason.clone()]);
                    }
                }
            } else if !first.contains(&j) {
                first.push(j);
            }
        }
        ns.preload_errors = preload_errors;
        let list = ns.map_deps(first);
        ns.global = list.clone();
        ns.startup = list.clone();
        ns.startup_len = ns.st.objects.len();
        let missing = ns.st.missing(0..ns.startup_len);
        ns.groups.push(Group {
            root: 0,
            list,
            flags: rtld::NOW | rtld::GLOBAL,
            failed: None,
            created: 0..ns.startup_len,
            global_before: ns.global.len(),
            missing,
            attempted: Vec::new(),
        });
        Ok(ns)
    }
}

impl Namespace<'_, '_> {
    /// `_dl_map_object_deps`: the breadth-first search list from `first`,
    /// mapping what is not loaded yet; objects that were not found are in
    /// the chain but never in the list. Each object's `DT_NEEDED`,
    /// `DT_FILTER` and `DT_AUXILIARY` entries are taken in `.dynamic`
    /// order: a needed object goes to the end of the list, a filtee just
    /// before its filter (moved there if it was later in the list, left
    /// where it is if earlier), in the list and in the chain, and the
    /// filtees are processed next.
    fn map_deps(&mut self, first: Vec<usize>) -> Vec<usize> {
        let mut list = first;
        let mut done = vec![false; list.len()];
        let mut in_list = vec![false; self.st.objects.len()];
        for &i in &list {
            if let Some(x) = in_list.get_mut(i) {
                *x = true;
            }
        }
        let mut cursor = 0;
        loop {
            while done.get(cursor) == Some(&true) {
                cursor += 1;
            }
            let Some(&i) = list.get(cursor) else { break };
            if let Some(d) = done.get_mut(cursor) {
                *d = true;
            }
            let first_inserted = cursor;
            let mut at = cursor;
            let Some(facts) = self
                .st
                .objects
                .get(i)
                .and_then(|o| o.opened.as_ref())
                .and_then(|o| o.facts.as_ref().ok())
                .map(Arc::clone)
            else {
                continue;
            };
            // An object met before has its edges already: walk them again
            // (the new list includes it and its dependencies).
            let (known, known_filtees) = self
                .st
                .objects
                .get(i)
                .map(|o| (o.needed.clone(), o.filtees.clone()))
                .unwrap_or_default();
            let reuse = known.len() == facts.needed.len()
                && (known.len() + known_filtees.len() > 0 || facts.dependency_tags.is_empty());
            let mut edges = Vec::new();
            let mut filtees = Vec::new();
            let (mut n, mut f) = (0usize, 0usize);
            let tags: Vec<DependencyTag> = if facts.dependency_tags.is_empty() {
                // Facts made by hand: their DT_NEEDED only.
                vec![DependencyTag::Needed; facts.needed.len()]
            } else {
                facts.dependency_tags.clone()
            };
            let (mut aux, mut filt) = (0usize, 0usize);
            // musl's loader knows no filters (`load_deps` reads DT_NEEDED only).
            let musl = self.loader.view_of(&self.st).profile.search() == Search::Musl;
            for tag in tags {
                if musl && tag != DependencyTag::Needed {
                    continue;
                }
                let j = if tag == DependencyTag::Needed {
                    let j = if reuse {
                        known.get(n).copied()
                    } else {
                        facts.needed.get(n).map(|name| {
                            self.loader
                                .map_object(&mut self.st, name.as_ref(), Some(i), Some(i))
                        })
                    };
                    n += 1;
                    let Some(j) = j else { continue };
                    edges.push(j);
                    if in_list.len() <= j {
                        in_list.resize(j + 1, false);
                    }
                    if !in_list[j] && !self.st.is_faked(j) {
                        in_list[j] = true;
                        list.push(j);
                        done.push(false);
                    }
                    continue;
                } else if reuse {
                    let j = known_filtees.get(f).copied();
                    f += 1;
                    match j {
                        Some(j) => j,
                        None => continue,
                    }
                } else {
                    let name = if tag == DependencyTag::Filter {
                        filt += 1;
                        facts.filter.get(filt - 1)
                    } else {
                        aux += 1;
                        facts.auxiliary.get(aux - 1)
                    };
                    let Some(name) = name else { continue };
                    self.loader
                        .map_object(&mut self.st, name.as_ref(), Some(i), Some(i))
                };
                filtees.push(j);
                if j == i {
                    continue;
                }
                if in_list.len() <= j {
                    in_list.resize(j + 1, false);
                }
                let placed = if self.st.is_faked(j) {
                    // In the chain only: trace mode prints it there.
                    true
                } else if in_list[j] {
                    match list.iter().position(|&k| k == j) {
                        Some(p) if p > at => {
                            list.remove(p);
                            done.remove(p);
                            list.insert(at, j);
                            done.insert(at, false);
                            at += 1;
                            true
                        }
                        // Already earlier in the list: found early enough.
                        _ => false,
                    }
                } else {
                    in_list[j] = true;
                    list.insert(at, j);
                    done.insert(at, false);
                    at += 1;
                    true
                };
                if placed {
                    self.st.order.retain(|&k| k != j);
                    let p = self
                        .st
                        .order
                        .iter()
                        .position(|&k| k == i)
                        .unwrap_or(self.st.order.len());
                    self.st.order.insert(p, j);
                }
            }
            if !reuse {
                if let Some(o) = self.st.objects.get_mut(i) {
                    o.needed = edges;
                    o.filtees = filtees;
                }
            }
            cursor = first_inserted;
        }
        list
    }

    /// `dlopen(name, flags)` from `caller` (rule G2): L1 first; a new object
    /// and its dependencies form a group; with `RTLD_GLOBAL` the group joins
    /// the global scope after the fact (G2.7), an existing object is promoted
    /// (G4). Returns the object, or why `dlopen` would fail.
    pub fn dlopen(
        &mut self,
        name: &BStr,
        flags: u32,
        caller: Option<usize>,
    ) -> Result<usize, DlopenError> {
        let saved = Saved {
            objects: self.st.objects.len(),
            chain: self.st.chain.len(),
            alias_log: self.st.alias_log.len(),
            order: self.st.order.clone(),
        };
        // musl's dlopen searches as for a dependency of the main program
        // (`load_library(file, head)`), whoever calls it. musl has no
        // RTLD_DEEPBIND (its dlfcn.h defines none, so PHP built on it
        // passes none): the flag is dropped, and the object binds through
        // the global scope like any other.
        let musl = self.loader.view_of(&self.st).profile.search() == Search::Musl;
        let (requester, loader) = if musl {
            (Some(0), Some(0))
        } else {
            (caller, None)
        };
        let flags = if musl { flags & !rtld::DEEPBIND } else { flags };
        let j = self
            .loader
            .map_object(&mut self.st, name, requester, loader);
        let existing = j < saved.objects;
        let failure = match self.st.objects.get(j).map(|o| &o.how) {
            Some(How::NotFound(tried)) => Some(DlopenError::NotFound {
                name: name.to_owned(),
                tried: tried.clone(),
            }),
            Some(How::Fatal { path, reason }) => Some(DlopenError::Fatal {
                path: path.clone(),
                reason: reason.clone(),
            }),
            _ => None,
        };
        if let Some(why) = failure {
            return self.fail(saved, j, flags, why);
        }
        if existing {
            // G2.1 and G4: no new search; RTLD_GLOBAL promotes it and its list.
            // An object loaded as a dependency gets its own search list now
            // (all of it already loaded).
            if flags & rtld::GLOBAL != 0 && !self.global.contains(&j) {
                let known = self
                    .groups
                    .iter()
                    .find(|g| g.root == j && g.failed.is_none())
                    .map(|g| g.list.clone());
                let list = known.unwrap_or_else(|| self.map_deps(vec![j]));
                self.add_global(&list);
            }
            return Ok(j);
        }
        let list = self.map_deps(vec![j]);
        let missing: Vec<String> = (saved.objects..self.st.objects.len())
            .filter(|&k| self.st.is_faked(k))
            .filter_map(|k| self.st.objects.get(k))
            .map(|o| o.name.to_str_lossy().into_owned())
            .collect();
        if !missing.is_empty() {
            let why = DlopenError::Dependencies {
                name: name.to_owned(),
                missing,
            };
            let created = saved.objects..self.st.objects.len();
            let misses = self.st.missing(created.clone());
            let attempted = created
                .filter_map(|k| self.st.objects.get(k)?.opened.as_ref())
                .map(|o| o.canonical.clone())
                .collect();
            let r = self.fail(saved, j, flags, why);
            if let Some(g) = self.groups.last_mut() {
                g.missing = misses;
                g.attempted = attempted;
            }
            return r;
        }
        let global_before = self.global.len();
        if flags & rtld::GLOBAL != 0 {
            self.add_global(&list);
        }
        self.groups.push(Group {
            root: j,
            list,
            flags,
            failed: None,
            created: saved.objects..self.st.objects.len(),
            global_before,
            missing: Vec::new(),
            attempted: Vec::new(),
        });
        Ok(j)
    }

    /// Records a failed `dlopen` after undoing what it loaded.
    fn fail(
        &mut self,
        saved: Saved,
        root: usize,
        flags: u32,
        why: DlopenError,
    ) -> Result<usize, DlopenError> {
        self.rollback(saved);
        self.groups.push(Group {
            root,
            list: Vec::new(),
            flags,
            failed: Some(why.clone()),
            created: 0..0,
            global_before: self.global.len(),
            missing: Vec::new(),
            attempted: Vec::new(),
        });
        Err(why)
    }

    fn add_global(&mut self, list: &[usize]) {
        for &k in list {
            if !self.global.contains(&k) {
                self.global.push(k);
            }
        }
    }

    /// A failed `dlopen` leaves nothing behind (`_dl_close_worker`).
    fn rollback(&mut self, saved: Saved) {
        let Saved {
            objects,
            chain,
            alias_log,
            order,
        } = saved;
        for j in self.st.alias_log.split_off(alias_log).into_iter().rev() {
            if let Some(a) = self.st.aliases.get_mut(j) {
                a.pop();
            }
        }
        self.st.objects.truncate(objects);
        self.st.aliases.truncate(objects);
        self.st.chain.truncate(chain);
        self.st.order = order;
        for o in &mut self.st.objects {
            o.needed.retain(|&j| j < objects);
            o.filtees.retain(|&j| j < objects);
        }
    }

    pub fn objects(&self) -> &[Loaded] {
        &self.st.objects
    }

    /// The loader this namespace resolves with.
    pub fn loader(&self) -> &Loader<'_> {
        self.loader
    }

    /// How the C library that loads this namespace searches: musl's also
    /// binds by name alone, which the binding model must know.
    pub fn search(&self) -> Search {
        self.loader.view_of(&self.st).profile.search()
    }

    /// The global scope in order (G5).
    pub fn global(&self) -> &[usize] {
        &self.global
    }

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Every object in link-map order (what `dl_iterate_phdr` walks): the
    /// start-up as `ld.so --list` orders it, then what `dlopen`s added.
    pub fn chain_order(&self) -> Vec<usize> {
        let interpreter = self.startup.contains(&1).then_some(1);
        let mut order = print_order(&self.startup, &self.st.order, interpreter);
        order.retain(|&j| !self.st.is_faked(j));
        order
    }

    /// The start-up as `ld.so --list` prints it.
    pub fn finish(self) -> Load {
        let interpreter = self.startup.contains(&1).then_some(1);
        let listing = self.loader.view_of(&self.st).profile.search();
        // Objects created by later dlopens are not part of the listing.
        let mut objects = self.st.objects;
        objects.truncate(self.startup_len);
        let chain: Vec<usize> = self
            .st
            .order
            .iter()
            .copied()
            .filter(|&j| j < self.startup_len)
            .collect();
        let order = match listing {
            // musl prints each object as it maps it, itself when first
            // asked for (`load_library`).
            Search::Musl => std::iter::once(0)
                .chain(chain.into_iter().filter(|&j| j != 0))
                .collect(),
            Search::Glibc => print_order(&self.startup, &chain, interpreter),
        };
        Load {
            order,
            objects,
            interpreter,
            preload_errors: self.preload_errors,
            listing,
            itself_lines: self.st.itself_lines,
        }
    }
}

impl State {
    /// `requester` and the objects up its `l_loader` chain, nearest
    /// first; at most one hop per object, whatever the links say.
    fn loader_chain(&self, requester: Option<usize>) -> impl Iterator<Item = (usize, &Loaded)> {
        let mut next = requester;
        std::iter::from_fn(move || {
            let x = next?;
            let o = self.objects.get(x)?;
            next = o.loader;
            Some((x, o))
        })
        .take(self.objects.len())
    }

    /// Whether object `j` of the chain answers to `name` (rule L1): its
    /// opened path, an alias, its soname, or, for the dynamic linker no
    /// file stands for, its path's file name.
    fn answers(&self, j: usize, name: &[u8]) -> bool {
        let Some(o) = self.objects.get(j) else {
            return false;
        };
        o.path
            .as_ref()
            .is_some_and(|p| p.as_os_str().as_encoded_bytes() == name)
            || self
                .aliases
                .get(j)
                .is_some_and(|a| a.iter().any(|n| n == name))
            || o.facts()
                .and_then(|f| f.soname.as_ref())
                .is_some_and(|s| s == name)
            || (j == 1
                && o.opened.is_none()
                && o.path
                    .as_ref()
                    .and_then(|p| p.file_name())
                    .is_some_and(|n| n.as_encoded_bytes() == name))
    }

    /// The first object of the chain that answers to `name`: chain objects
    /// are created in order, so the least index.
    fn first_answering(&self, name: &[u8]) -> Option<usize> {
        self.names
            .get(name)?
            .iter()
            .copied()
            .filter(|&j| !self.is_faked(j) && self.answers(j, name))
            .min()
    }

    /// Enters the names object `j` answers to in `names`.
    fn index(&mut self, j: usize) {
        let Some(o) = self.objects.get(j) else { return };
        let mut keys: Vec<BString> = Vec::new();
        if let Some(p) = &o.path {
            keys.push(BString::from(p.as_os_str().as_encoded_bytes()));
            if j == 1 && o.opened.is_none() {
                keys.extend(p.file_name().map(|n| BString::from(n.as_encoded_bytes())));
            }
        }
        keys.extend(o.facts().and_then(|f| f.soname.clone()));
        keys.extend(self.aliases.get(j).into_iter().flatten().cloned());
        for k in keys {
            self.name(k, j);
        }
    }

    fn name(&mut self, key: BString, j: usize) {
        let at = self.names.entry(key).or_default();
        if !at.contains(&j) {
            at.push(j);
        }
    }

    /// `j` answers to `name` from now on (`l_libname` grows); undone with
    /// a failed `dlopen` through `alias_log`.
    fn add_alias(&mut self, j: usize, name: &BStr) {
        if let Some(a) = self.aliases.get_mut(j) {
            a.push(name.to_owned());
            self.alias_log.push(j);
            self.name(name.to_owned(), j);
        }
    }

    /// Not found in trace mode: "faked", never matched again (L1).
    fn is_faked(&self, j: usize) -> bool {
        j != 1 && self.objects.get(j).is_some_and(|o| o.opened.is_none())
    }

    /// The names among `range` found nowhere, with the canonical path of
    /// the object whose `DT_NEEDED` asked for each.
    fn missing(&self, range: std::ops::Range<usize>) -> Vec<(PathBuf, BString)> {
        range
            .filter(|&k| self.is_faked(k))
            .filter_map(|k| {
                let o = self.objects.get(k)?;
                if !matches!(o.how, How::NotFound(_)) {
                    return None;
                }
                let by = self.objects.get(o.loader?)?.opened.as_ref()?;
                Some((by.canonical.clone(), o.name.clone()))
            })
            .collect()
    }
}

impl Loader<'_> {
    /// Resolves one `DT_NEEDED` name of object `requester` and returns the
    /// index of the object it names, creating it if new.
    fn map_object(
        &self,
        st: &mut State,
        name: &BStr,
        requester: Option<usize>,
        loader: Option<usize>,
    ) -> usize {
        let musl = self.view_of(st).profile.search() == Search::Musl;
        if musl && self.view_of(st).profile.is_itself(name.as_bytes()) {
            // musl's loader is libc.so, libm.so… wherever a file of the
            // name is; it joins the list when first asked for, under the
            // name it was first asked by.
            let class = super::profile::musl::reserved_class(name.as_bytes());
            let printed = class.is_none_or(|c| st.reported & (1 << c) != 0);
            if let Some(c) = class {
                st.reported |= 1 << c;
            }
            if !st.order.contains(&1) {
                st.order.push(1);
                if let Some(o) = st.objects.get_mut(1) {
                    o.name = name.to_owned();
                    o.loader = requester;
                }
            } else if !printed {
                st.itself_lines.push((st.order.len(), name.to_owned()));
            }
            if st
                .aliases
                .get(1)
                .is_some_and(|a| !a.iter().any(|n| n == name))
            {
                st.add_alias(1, name);
            }
            return 1;
        }
        // `_dl_map_object_deps` expands DSTs in the name first: the expanded
        // name is what is matched (L1), searched and printed. musl does not.
        let expanded;
        let name = if name.contains(&b'$') && !musl {
            match self.expand(name, st, requester.unwrap_or(0)) {
                Some(e) => {
                    expanded = BString::from(e);
                    expanded.as_ref()
                }
                None => name,
            }
        } else {
            name
        };
        let outcome = if musl {
            self.lookup_musl(st, name, requester)
        } else {
            self.lookup(st, name, requester)
        };
        let (how, path, opened) = match outcome {
            Outcome::Existing(j) => {
                if st
                    .aliases
                    .get(j)
                    .is_some_and(|a| !a.iter().any(|n| n == name))
                {
                    st.add_alias(j, name);
                }
                return j;
            }
            Outcome::New {
                path,
                opened,
                found,
            } => {
                // Rule L13: the same file under another name is the same object.
                if let Some(&j) = st.chain.iter().find(|&&j| {
                    st.objects
                        .get(j)
                        .and_then(|o| o.opened.as_ref())
                        .is_some_and(|o| o.id == opened.id)
                }) {
                    st.add_alias(j, name);
                    return j;
                }
                (How::Found(found), Some(path), Some(opened))
            }
            Outcome::NotFound(tried) => (How::NotFound(tried), None, None),
            Outcome::Fatal { path, reason } => (How::Fatal { path, reason }, None, None),
        };
        let j = st.objects.len();
        // Not-found objects are "faked" in trace mode: never matched by
        // name again (rule L1 skips `l_faked`), so a second request searches
        // and prints again, as ld.so does.
        let faked = opened.is_none();
        st.objects.push(Loaded {
            name: name.to_owned(),
            path,
            opened,
            how,
            needed: Vec::new(),
            filtees: Vec::new(),
            loader,
        });
        st.aliases.push(vec![name.to_owned()]);
        if !faked {
            st.chain.push(j);
            st.index(j);
        }
        st.order.push(j);
        j
    }

    fn lookup(&self, st: &State, name: &BStr, requester: Option<usize>) -> Outcome {
        // Rule L1: by name against every object of the namespace, in load
        // order: the first of the chain (created in order) that answers.
        if let Some(j) = st.first_answering(name) {
            return Outcome::Existing(j);
        }
        // A dlopen without a known caller searches as the main program's
        // (L11); its RUNPATH still does not apply (there is no requester).
        let req = requester.and_then(|r| st.objects.get(r));
        let req_facts = req.and_then(Loaded::facts);

        // Rule L2: a name with a slash is opened as it is, after DST expansion.
        if name.contains(&b'/') {
            let path = path_of(name);
            return match self.probe(&self.absolute(name), st.want) {
                Probe::Accepted(o) => Outcome::New {
                    path,
                    opened: o,
                    found: Found::Path,
                },
                Probe::Fatal(reason) => Outcome::Fatal { path, reason },
                Probe::Absent | Probe::Skipped(_) | Probe::Ends(_) => {
                    Outcome::NotFound(vec![path.display().to_string()])
                }
            };
        }

        let mut lists = Vec::new();
        // Rule L3.1–2: the RPATH chain, only when the requester has no RUNPATH.
        if req_facts.is_none_or(|f| f.runpath.is_none()) {
            let mut did_main = false;
            for (x, o) in st.loader_chain(requester) {
                if let Some(rpath) = o.facts().and_then(rpath_of) {
                    lists.push(self.path_list(rpath, b":", st, x, Found::Rpath(o.display_path())));
                    did_main |= x == 0;
                }
            }
            if !did_main {
                if let Some(rpath) = st
                    .objects
                    .first()
                    .and_then(|o| o.facts())
                    .and_then(rpath_of)
                {
                    let of = st
                        .objects
                        .first()
                        .map(|o| o.display_path())
                        .unwrap_or_default();
                    lists.push(self.path_list(rpath, b":", st, 0, Found::Rpath(of)));
                }
            }
        }
        // Rule L3.3: LD_LIBRARY_PATH, split on ':' and ';', DSTs of the main program.
        if let Some(llp) = &self.opts.ld_library_path {
            lists.push(self.path_list(
                BStr::new(llp.as_bytes()),
                b":;",
                st,
                0,
                Found::LdLibraryPath,
            ));
        }
        // Rule L3.4: the requester's own RUNPATH, never inherited.
        if let (Some(r), Some(runpath)) = (requester, req_facts.and_then(|f| f.runpath.as_ref())) {
            let of = req.map(Loaded::display_path).unwrap_or_default();
            lists.push(self.path_list(runpath.as_ref(), b":", st, r, Found::Runpath(of)));
        }
        let mut tried = Vec::new();
        for list in &lists {
            match self.open_path(name, list, st.want) {
                Ok(outcome) => return outcome,
                Err(None) => tried.push(list.label.clone()),
                Err(Some(ended)) => tried.push(format!("{} ({ended})", list.label)),
            }
        }

        // Rule L3.5 and L7: the cache, without trusted directories under NODEFLIB.
        // L7: the requester's flag, or the main program's without one.
        let nodeflib = req_facts
            .or_else(|| st.objects.first().and_then(Loaded::facts))
            .is_some_and(ElfFacts::nodeflib);
        let view = self.view_of(st);
        if let Some(cached) = self.cache_lookup(name, st.want) {
            let trusted = view.profile.default_dirs().iter().any(|d| {
                let d = d.as_os_str().as_encoded_bytes();
                cached.starts_with(d) && cached.get(d.len()) == Some(&b'/')
            });
            if !(nodeflib && trusted) {
                let path = path_of(&cached);
                match self.probe(&self.absolute(&cached), st.want) {
                    Probe::Accepted(o) => {
                        return Outcome::New {
                            path,
                            opened: o,
                            found: Found::Cache,
                        };
                    }
                    Probe::Fatal(reason) => return Outcome::Fatal { path, reason },
                    // A stale entry falls through to the default directories.
                    Probe::Absent | Probe::Skipped(_) | Probe::Ends(_) => {}
                }
            }
        }
        match (self.cache_source(), self.cache.is_some()) {
            (super::CacheSource::File, true) => tried.push("ld.so.cache".to_string()),
            (super::CacheSource::Rebuilt, true) => {
                tried.push("ld.so.cache as the package manager's ldconfig rebuilds it".to_string());
            }
            _ => {
                if let Some(ctx) = view.cache_ctx.as_ref() {
                    match self.ldconfig_would(name.as_bytes(), ctx) {
                        Some((path, from)) => tried.push(format!(
                            "ld.so.cache: this root has none (ldconfig would enter {path}, from {from})"
                        )),
                        None => tried.push("ld.so.cache: this root has none".to_string()),
                    }
                }
            }
        }

        // Rule L3.6 and L10: the trusted directories.
        if !nodeflib {
            let defaults = SearchList {
                dirs: view
                    .profile
                    .default_dirs()
                    .iter()
                    .map(|d| with_slash(d.as_os_str().as_encoded_bytes()))
                    .collect(),
                found: Found::DefaultDir,
                label: String::new(),
            };
            let label = format!(
                "default directories {}",
                view.profile
                    .default_dirs()
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(":")
            );
            match self.open_path(name, &defaults, st.want) {
                Ok(outcome) => return outcome,
                Err(None) => tried.push(label),
                Err(Some(ended)) => tried.push(format!("{label} ({ended})")),
            }
        }
        Outcome::NotFound(tried)
    }

    /// The C library build that loads the namespace of `st`.
    fn view_of(&self, st: &State) -> &View {
        match (&self.other, st.other) {
            (Some(v), true) => v,
            _ => self.view(st.want),
        }
    }

    /// Whether a program asking for `interpreter` is loaded by the root's
    /// other C library (a musl program on a glibc host).
    fn is_other_libc(&self, interpreter: &[u8]) -> bool {
        self.other
            .as_ref()
            .is_some_and(|v| interpreter == v.profile.interpreter().as_os_str().as_encoded_bytes())
    }

    /// Whether an object without `PT_INTERP` (a library listed on its own)
    /// was linked against the root's other C library: it needs one of its
    /// sonames (musl's `libc.so`, which no glibc library needs).
    fn links_other_libc(&self, needed: &[BString]) -> bool {
        self.other.as_ref().is_some_and(|v| {
            needed
                .iter()
                .any(|n| v.profile.libc_sonames().iter().any(|s| n == s.as_bytes()))
        })
    }

    /// musl's `load_library` for a name that is not the loader itself: a
    /// name with a slash opened as it is; else the object already found
    /// under this short name, or `LD_LIBRARY_PATH`, the RUNPATH (else
    /// RPATH) of the requester and of each requester up its chain, then
    /// the default path (`path_open` on each). The first file that opens
    /// ends the search whether or not it maps; so does any error but
    /// `ENOENT`, `ENOTDIR`, `EACCES` (an `ELOOP`). Failures carry musl's
    /// `strerror` text, which its message prints.
    fn lookup_musl(&self, st: &State, name: &BStr, requester: Option<usize>) -> Outcome {
        if name.contains(&b'/') {
            let path = path_of(name);
            return match self.musl_open(&path, st.want) {
                Ok(Some(o)) => Outcome::New {
                    path,
                    opened: o,
                    found: Found::Path,
                },
                Ok(None) => Outcome::NotFound(vec![path.display().to_string()]),
                Err(reason) => Outcome::Fatal { path, reason },
            };
        }
        for &j in &st.chain {
            if j < 2 {
                continue;
            }
            if st
                .aliases
                .get(j)
                .is_some_and(|a| a.iter().any(|n| n == name && !n.contains(&b'/')))
            {
                return Outcome::Existing(j);
            }
        }
        let mut lists: Vec<(Vec<u8>, Found, String)> = Vec::new();
        if let Some(llp) = &self.opts.ld_library_path {
            lists.push((
                llp.as_bytes().to_vec(),
                Found::LdLibraryPath,
                "LD_LIBRARY_PATH".into(),
            ));
        }
        for (_, o) in st.loader_chain(requester) {
            let Some(f) = o.facts() else { continue };
            let (list, found) = match (&f.runpath, &f.rpath) {
                (Some(r), _) => (r, Found::Runpath(o.display_path())),
                (None, Some(r)) => (r, Found::Rpath(o.display_path())),
                (None, None) => continue,
            };
            if let Some(expanded) = self.musl_origin(list.as_ref(), o) {
                let label = found.to_string();
                lists.push((expanded, found, label));
            }
        }
        let view = self.view_of(st);
        let defaults: Vec<u8> = view
            .profile
            .default_dirs()
            .iter()
            .map(|d| d.as_os_str().as_encoded_bytes())
            .collect::<Vec<_>>()
            .join(&b':');
        let default_label = format!("default path {}", defaults.to_str_lossy());
        lists.push((defaults, Found::DefaultDir, default_label));
        let mut tried = Vec::new();
        for (list, found, label) in lists {
            for dir in list.split(|&b| b == b':' || b == b'\n') {
                if dir.is_empty() {
                    continue;
                }
                let mut candidate = dir.to_vec();
                candidate.push(b'/');
                candidate.extend_from_slice(name.as_bytes());
                let path = path_of(&candidate);
                match self.musl_open(&path, st.want) {
                    Ok(Some(o)) => {
                        return Outcome::New {
                            path,
                            opened: o,
                            found,
                        };
                    }
                    Ok(None) => {}
                    Err(reason) => return Outcome::Fatal { path, reason },
                }
            }
            tried.push(format!("{label}: {}", list.to_str_lossy()));
        }
        Outcome::NotFound(tried)
    }

    /// One candidate of musl's `path_open` then `map_library`: `Ok(None)`
    /// to go on searching, `Err` with musl's `strerror` text when the
    /// search ends on it. musl maps the first file that opens and does
    /// not skip one of another class or machine as glibc does.
    fn musl_open(&self, path: &Path, want: (Class, u16)) -> Result<Option<Arc<Opened>>, String> {
        let inner = self.absolute(path.as_os_str().as_encoded_bytes());
        match self.probe(&inner, want) {
            Probe::Accepted(o) => Ok(Some(o)),
            Probe::Absent => Ok(None),
            Probe::Ends(_) => Err("Symbolic link loop".into()),
            Probe::Fatal(r) if r.starts_with("cannot read file data") => {
                Err("Is a directory".into())
            }
            Probe::Fatal(_) | Probe::Skipped(_) => Err("Exec format error".into()),
        }
    }

    /// musl's `fixup_rpath`: a list with no `$` as it is; one whose every
    /// `$` starts `$ORIGIN` or `${ORIGIN}` with the directory of the path
    /// the object was loaded under (`.` when it has no slash); any other
    /// `$` drops the list whole (`None`).
    fn musl_origin(&self, list: &BStr, o: &Loaded) -> Option<Vec<u8>> {
        if !list.contains(&b'$') {
            return Some(list.to_vec());
        }
        let path = o.path.as_ref()?;
        let path = path.as_os_str().as_encoded_bytes();
        let origin: &[u8] = match path.rfind_byte(b'/') {
            Some(i) => path.get(..i)?,
            None => b".",
        };
        let mut out = Vec::with_capacity(list.len() + origin.len());
        let mut rest = list.as_bytes();
        while let Some(pos) = rest.find_byte(b'$') {
            out.extend_from_slice(rest.get(..pos)?);
            rest = rest.get(pos..)?;
            let skip = if rest.starts_with(b"${ORIGIN}") {
                9
            } else if rest.starts_with(b"$ORIGIN") {
                7
            } else {
                return None;
            };
            out.extend_from_slice(origin);
            rest = rest.get(skip..)?;
        }
        out.extend_from_slice(rest);
        Some(out)
    }

    /// `open_path`: every directory with its glibc-hwcaps and legacy
    /// subdirectories first (rule L5); the first acceptable file wins.
    /// `Err(None)`: not in this list; `Err(Some(why))`: the last candidate
    /// of a directory failed with an error that is neither `ENOENT` nor
    /// `EACCES` (`ELOOP`), and ld.so gave up on the rest of the list.
    fn open_path(
        &self,
        name: &BStr,
        list: &SearchList,
        want: (Class, u16),
    ) -> Result<Outcome, Option<String>> {
        for dir in &list.dirs {
            let mut last_error = None;
            for sub in &self.view(want).subdirs {
                // Room for the name too: tens of thousands of candidates.
                let mut d = Vec::with_capacity(dir.len() + sub.len() + name.len());
                d.extend_from_slice(dir);
                d.extend_from_slice(sub.as_bytes());
                if !self.dir_exists(&self.absolute(&d)) {
                    continue;
                }
                let mut candidate = d;
                candidate.extend_from_slice(name.as_bytes());
                let path = path_of(&candidate);
                last_error = None;
                match self.probe(&self.absolute(&candidate), want) {
                    Probe::Accepted(o) => {
                        return Ok(Outcome::New {
                            path,
                            opened: o,
                            found: list.found.clone(),
                        });
                    }
                    Probe::Fatal(reason) => return Ok(Outcome::Fatal { path, reason }),
                    Probe::Ends(why) => {
                        last_error = Some(format!("{}: {why}; search ended", path.display()))
                    }
                    Probe::Absent | Probe::Skipped(_) => {}
                }
            }
            if let Some(why) = last_error {
                return Err(Some(why));
            }
        }
        Err(None)
    }

    fn cache_lookup(&self, name: &BStr, want: (Class, u16)) -> Option<Vec<u8>> {
        let cache = self.cache.as_ref()?;
        cache
            .lookup(name.as_bytes(), self.view(want).cache_ctx.as_ref()?)
            .map(<[u8]>::to_vec)
    }

    /// `fillin_rpath`: split, expand DSTs (elements that cannot be expanded
    /// are dropped), empty element = current directory, trailing slashes
    /// normalised, duplicates searched once (rule L6).
    fn path_list(
        &self,
        list: &BStr,
        seps: &[u8],
        st: &State,
        owner: usize,
        found: Found,
    ) -> SearchList {
        let mut dirs: Vec<Vec<u8>> = Vec::new();
        for element in list.split(|b| seps.contains(b)) {
            // An empty element is the empty directory name: the name is
            // opened relative to the working directory, and its path is
            // the bare name (`libe.so`, printed without an arrow).
            let d = if element.is_empty() {
                Vec::new()
            } else {
                let Some(mut d) = self.expand(BStr::new(element), st, owner) else {
                    continue;
                };
                if d.is_empty() {
                    continue;
                }
                while d.len() > 1 && d.last() == Some(&b'/') {
                    d.pop();
                }
                with_slash(&d)
            };
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
        let label = format!(
            "{found}: {}",
            dirs.iter()
                .map(|d| d.to_str_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(":")
        );
        SearchList { dirs, found, label }
    }

    /// Rule L9: `$ORIGIN`, `$LIB`, `$PLATFORM` (also braced); unknown `$X`
    /// kept; `None` when `$ORIGIN` is needed but unknown.
    fn expand(&self, s: &BStr, st: &State, owner: usize) -> Option<Vec<u8>> {
        if !s.contains(&b'$') {
            return Some(s.to_vec());
        }
        let mut out = Vec::with_capacity(s.len());
        let mut rest = s.as_bytes();
        while let Some(pos) = rest.find_byte(b'$') {
            out.extend_from_slice(rest.get(..pos)?);
            rest = rest.get(pos + 1..)?;
            let token = [&b"ORIGIN"[..], b"LIB", b"PLATFORM"]
                .into_iter()
                .find_map(|t| {
                    if rest.starts_with(b"{")
                        && rest.get(1..)?.starts_with(t)
                        && rest.get(1 + t.len()) == Some(&b'}')
                    {
                        Some((t, t.len() + 2))
                    } else if rest.starts_with(t)
                        && !rest
                            .get(t.len())
                            .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
                    {
                        Some((t, t.len()))
                    } else {
                        None
                    }
                });
            match token {
                Some((t, len)) => {
                    match t {
                        b"ORIGIN" => out.extend_from_slice(&self.origin(st, owner)?),
                        b"LIB" => {
                            out.extend_from_slice(self.view_of(st).profile.dst_lib().as_bytes())
                        }
                        _ => out.extend_from_slice(
                            self.view_of(st)
                                .profile
                                .dst_platform(&self.opts.cpu)
                                .as_bytes(),
                        ),
                    }
                    rest = rest.get(len..)?;
                }
                None => out.push(b'$'),
            }
        }
        out.extend_from_slice(rest);
        Some(out)
    }

    /// `$ORIGIN` of an object: the directory of the path it was opened
    /// under, made absolute with the working directory, symlinks kept
    /// (`_dl_new_object`).
    fn origin(&self, st: &State, owner: usize) -> Option<Vec<u8>> {
        let path = st.objects.get(owner)?.path.as_ref()?;
        let path = path.as_os_str().as_encoded_bytes();
        let mut full = Vec::new();
        if path.first() != Some(&b'/') {
            full.extend_from_slice(self.opts.cwd.as_os_str().as_encoded_bytes());
            if full.last() != Some(&b'/') {
                full.push(b'/');
            }
        }
        full.extend_from_slice(path);
        let cut = full.rfind_byte(b'/')?;
        full.truncate(cut.max(1));
        Some(full)
    }

    /// An inner absolute path for a name as the process would open it.
    pub(super) fn absolute(&self, p: &[u8]) -> PathBuf {
        let s = path_of(p);
        if s.is_absolute() {
            s
        } else {
            self.opts.cwd.join(s)
        }
    }
}

/// The order rtld's trace mode prints: the link-map chain (creation order,
/// not-found objects included), with the dynamic linker moved to just after
/// the object that precedes it in the search list (`dl_main`, rtld.c).
fn print_order(list: &[usize], chain: &[usize], interpreter: Option<usize>) -> Vec<usize> {
    let mut order: Vec<usize> = chain.iter().copied().filter(|&j| j != 1).collect();
    if let Some(rtld) = interpreter {
        let before = list
            .iter()
            .position(|&i| i == rtld)
            .and_then(|p| p.checked_sub(1))
            .and_then(|p| list.get(p).copied())
            .unwrap_or(0);
        let at = order
            .iter()
            .position(|&i| i == before)
            .map_or(order.len(), |p| p + 1);
        order.insert(at, rtld);
    }
    order
}

fn rpath_of(f: &ElfFacts) -> Option<&BStr> {
    // get-dynamic-info.h: RPATH is ignored when RUNPATH is present.
    if f.runpath.is_some() {
        return None;
    }
    f.rpath.as_ref().map(|r| r.as_ref())
}

/// A path from ELF bytes, as the kernel would take them.
fn path_of(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

fn with_slash(d: &[u8]) -> Vec<u8> {
    let mut v = d.to_vec();
    if v.last() != Some(&b'/') {
        v.push(b'/');
    }
    v
}

impl Loaded {
    fn display_path(&self) -> PathBuf {
        self.path.clone().unwrap_or_default()
    }
}
