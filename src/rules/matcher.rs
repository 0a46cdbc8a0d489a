//! Evaluating signatures on a modelled process: each matcher kind of
//! [`super::signature::Matcher`] gathers the objects, symbols and bindings
//! that make it true, and a signature that matches becomes one finding per
//! process, carrying that evidence with the signature's title, severity,
//! symptoms, remedy and references.

use rustc_hash::FxHashMap;
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::elf::ElfFacts;
use crate::host::apache::{Directive, DirectiveKind};
use crate::image::bind::{Bindings, FilePicks, Reference};
use crate::image::{How, ProcessImage};
use crate::model::{Binding, Finding};
use crate::model::{Certainty, FindingId, Severity};

use super::group::Units;
use super::signature::{
    DirectiveMatch, EmbeddedCopy, FamilyMix, FindingMatch, Glob, Imports, Kind, Matcher,
    ObjectPattern, Property, Signature, SymbolClash,
};

/// Bindings listed per finding; the rest are counted.
const EVIDENCE: usize = 5;

/// What made a matcher true.
#[derive(Debug, Default)]
struct Evidence {
    /// Member paths, in the order found, without repeats.
    objects: Vec<String>,
    symbols: BTreeSet<String>,
    bindings: Vec<Binding>,
    /// How many bindings in all (more than `bindings` may list).
    binding_count: usize,
    /// (referencing object, winner) of every interposed reference.
    crossings: BTreeSet<(String, String)>,
    lines: Vec<String>,
}

impl Evidence {
    fn object(&mut self, path: &str) {
        if !self.objects.iter().any(|o| o == path) {
            self.objects.push(path.to_string());
        }
    }

    fn join(&mut self, other: Evidence) {
        for o in &other.objects {
            self.object(o);
        }
        self.symbols.extend(other.symbols);
        self.binding_count += other.binding_count;
        self.crossings.extend(other.crossings);
        for b in other.bindings {
            if self.bindings.len() < EVIDENCE && !self.bindings.contains(&b) {
                self.bindings.push(b);
            }
        }
        self.lines.extend(other.lines);
    }
}

/// One member as the matchers see it.
#[derive(Clone)]
struct View<'a> {
    path: &'a str,
    facts: Option<&'a ElfFacts>,
    /// The same facts as held, for [`Context::exported`]'s memo.
    held: Option<&'a Arc<ElfFacts>>,
    /// Its soname, read once for every pattern of every signature.
    soname: Option<String>,
    kind: Kind,
    certainty: Certainty,
    /// Its index among the process's members.
    index: usize,
}

/// Reads a member's file for `version_string` (the scan passes a reader
/// confined to the root; bounded by the caller).
pub type ReadFile<'a> = &'a (dyn Fn(&str) -> Option<Vec<u8>> + Sync);

struct Context<'a> {
    image: &'a ProcessImage,
    bindings: &'a Bindings,
    members: Vec<View<'a>>,
    read: ReadFile<'a>,
    /// The built-in findings of the process, before any is explained away
    /// (shared by the views of one evaluation: a daemon has hundreds).
    builtin: std::rc::Rc<Vec<Finding>>,
    /// Members left out of this view (other Python distributions'), and
    /// every reference and built-in finding that touches one.
    hidden: BTreeSet<&'a str>,
    /// `members` by path (the first of a path), asked for both ends of
    /// every interposed reference.
    by_path: FxHashMap<&'a str, usize>,
    /// The interposed references no design explains (`super::benign`),
    /// in order: what every symbol-clash matcher looks through, judged
    /// once per process rather than once per signature.
    interposed: std::rc::Rc<Vec<&'a Reference>>,
    /// Their symbols in name order, each with its place in `interposed`:
    /// a signature's names are looked up as runs of their prefixes.
    by_symbol: std::rc::Rc<Vec<(&'a str, usize)>>,
    /// The exports and imports each file's facts give for a list of
    /// names, shared by the processes forked from one parent.
    picks: Option<&'a FilePicks>,
    /// The number `picks` knows each list by, by kind and the list's
    /// address: asked of `picks`, by the lists' text, once per list.
    lists: std::cell::RefCell<FxHashMap<(&'static str, usize), u32>>,
    /// [`Context::pattern_at`]'s answers by pattern (its address) and path:
    /// a symbol-clash signature asks it of both ends of every reference its
    /// names match, thousands of times for the few objects they name.
    at: std::cell::RefCell<PatternAt>,
}

type PatternAt = FxHashMap<usize, FxHashMap<Box<str>, bool>>;

/// Where each path is first in `members`.
fn by_path<'a>(members: &[View<'a>]) -> FxHashMap<&'a str, usize> {
    let mut out = FxHashMap::default();
    for (i, m) in members.iter().enumerate() {
        out.entry(m.path).or_insert(i);
    }
    out
}

fn soname(f: Option<&ElfFacts>) -> Option<String> {
    f?.soname
        .as_ref()
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

fn kind_of(m: &crate::image::Member) -> Kind {
    let via = m.via.as_str();
    if m.how == How::Exec {
        Kind::Httpd
    } else if via.starts_with("LoadModule") || via.ends_with("(apache-module)") {
        Kind::ApacheModule
    } else if via.contains("extension=") || via.ends_with("(php-extension)") {
        Kind::PhpExtension
    } else if m.how == How::Dlopen && (m.may_be_imported || via.ends_with("(python-extension)")) {
        Kind::PythonExtension
    } else {
        Kind::Library
    }
}

impl<'a> Context<'a> {
    fn new(
        image: &'a ProcessImage,
        bindings: &'a Bindings,
        read: ReadFile<'a>,
        builtin: std::rc::Rc<Vec<Finding>>,
    ) -> Context<'a> {
        let members = image
            .link
            .members()
            .zip(image.link.member_facts())
            .zip(&image.members)
            .enumerate()
            .map(|(i, (((path, facts), held), m))| View {
                path,
                facts,
                held,
                soname: soname(facts),
                kind: kind_of(m),
                certainty: if m.installed_only {
                    Certainty::Latent
                } else if m.may_be_imported {
                    Certainty::Likely
                } else {
                    Certainty::Certain
                },
                index: i,
            })
            .collect::<Vec<_>>();
        let interposed = super::unexplained(image, bindings);
        let mut by_symbol: Vec<(&str, usize)> = interposed
            .iter()
            .enumerate()
            .map(|(k, r)| (&*r.symbol, k))
            .collect();
        by_symbol.sort_unstable();
        Context {
            image,
            bindings,
            interposed: std::rc::Rc::new(interposed),
            by_symbol: std::rc::Rc::new(by_symbol),
            picks: image.link.forked.as_deref().map(|f| f.file_picks()),
            lists: Default::default(),
            at: Default::default(),
            by_path: by_path(&members),
            members,
            read,
            builtin,
            hidden: BTreeSet::new(),
        }
    }

    /// The process as if the only Python distribution in it were `dist`
    /// (members of other distributions hidden): a signature that matches
    /// several wheels is one finding per wheel, each its own cause.
    fn only(&self, dist: &str, units: &Units) -> Context<'a> {
        let other = |path: &str| units.of(path).is_some_and(|d| d.key != dist);
        let members: Vec<View<'a>> = self
            .members
            .iter()
            .filter(|m| !other(m.path))
            .cloned()
            .collect();
        Context {
            image: self.image,
            bindings: self.bindings,
            interposed: std::rc::Rc::clone(&self.interposed),
            by_symbol: std::rc::Rc::clone(&self.by_symbol),
            picks: self.picks,
            lists: Default::default(),
            at: Default::default(),
            by_path: by_path(&members),
            members,
            read: self.read,
            builtin: std::rc::Rc::clone(&self.builtin),
            hidden: self
                .members
                .iter()
                .filter(|m| other(m.path))
                .map(|m| m.path)
                .chain(self.hidden.iter().copied())
                .collect(),
        }
    }

    fn visible(&self, path: &str) -> bool {
        !self.hidden.contains(path)
    }

    fn member(&self, path: &str) -> Option<&View<'a>> {
        self.by_path.get(path).and_then(|&i| self.members.get(i))
    }

    /// Sonames of member `m`'s stand-alone dependency closure (itself
    /// excluded), asked only of the few members a matcher gets that far
    /// with.
    fn closure(&self, m: &View<'_>) -> Vec<String> {
        self.image
            .link
            .solo(m.index)
            .into_iter()
            .skip(1)
            .filter_map(|(_, f)| soname(f))
            .collect()
    }

    /// [`exported`] of member `m`, picked once per file for every process
    /// forked from the same parent.
    fn exported(&self, m: &View<'a>, globs: &[Glob]) -> Vec<&'a str> {
        let Some(facts) = m.facts else {
            return Vec::new();
        };
        let (Some(picks), Some(held)) = (self.picks, m.held) else {
            return exported_at(facts, globs)
                .iter()
                .filter_map(|&i| facts.symbols.get(i as usize))
                .filter_map(|s| std::str::from_utf8(&s.name).ok())
                .collect();
        };
        let what = self.what(picks, "exports", globs);
        let picked = picks.get_or(what, held, |f| exported_at(f, globs));
        picked
            .iter()
            .filter_map(|&i| facts.symbols.get(i as usize))
            .filter_map(|s| std::str::from_utf8(&s.name).ok())
            .collect()
    }

    /// The number `picks` knows a pick of `kind` by `globs` by, asked of
    /// `picks` once per list.
    fn what(&self, picks: &FilePicks, kind: &'static str, globs: &[Glob]) -> u32 {
        *self
            .lists
            .borrow_mut()
            .entry((kind, globs.as_ptr() as usize))
            .or_insert_with(|| {
                let texts: Vec<&str> = std::iter::once(kind)
                    .chain(globs.iter().map(|g| g.text.as_str()))
                    .collect();
                picks.what(&texts.join("\n"))
            })
    }

    /// The names member `m` imports (undefined, named) that `globs`
    /// match, picked once per file for every process forked from the same
    /// parent.
    fn imported(&self, m: &View<'a>, globs: &[Glob]) -> BTreeSet<String> {
        let Some(facts) = m.facts else {
            return BTreeSet::new();
        };
        let names = |at: &[u32]| -> BTreeSet<String> {
            at.iter()
                .filter_map(|&i| facts.symbols.get(i as usize))
                .map(|s| String::from_utf8_lossy(&s.name).into_owned())
                .collect()
        };
        match (self.picks, m.held) {
            (Some(picks), Some(held)) => {
                let what = self.what(picks, "imports", globs);
                names(&picks.get_or(what, held, |f| imported_at(f, globs)))
            }
            _ => names(&imported_at(facts, globs)),
        }
    }

    fn pattern(&self, p: &ObjectPattern, m: &View<'_>) -> bool {
        p.soname
            .as_ref()
            .is_none_or(|re| m.soname.as_deref().is_some_and(|s| re.0.is_match(s)))
            && p.path.as_ref().is_none_or(|re| re.0.is_match(m.path))
            && p.kind.is_none_or(|k| k == m.kind)
            && (p.exports.is_empty() || exported(m.facts, &p.exports).next().is_some())
    }

    fn pattern_at(&self, p: Option<&ObjectPattern>, path: Option<&str>) -> bool {
        match (p, path) {
            (None, _) => true,
            (Some(p), Some(path)) => {
                let key = p as *const ObjectPattern as usize;
                if let Some(&known) = self.at.borrow().get(&key).and_then(|m| m.get(path)) {
                    return known;
                }
                let answer = self.member(path).is_some_and(|m| self.pattern(p, m));
                self.at
                    .borrow_mut()
                    .entry(key)
                    .or_default()
                    .insert(path.into(), answer);
                answer
            }
            (Some(_), None) => false,
        }
    }

    fn eval(&self, m: &Matcher) -> Option<Evidence> {
        match m {
            Matcher::All(list) => {
                let mut ev = Evidence::default();
                for m in list {
                    ev.join(self.eval(m)?);
                }
                Some(ev)
            }
            Matcher::Any(list) => {
                let mut found: Option<Evidence> = None;
                for e in list.iter().filter_map(|m| self.eval(m)) {
                    found.get_or_insert_with(Evidence::default).join(e);
                }
                found
            }
            Matcher::Not(m) => self.eval(m).is_none().then(Evidence::default),
            Matcher::SymbolClash(c) if c.exported_twice => self.exported_twice(c),
            Matcher::SymbolClash(c) => self.symbol_clash(c),
            Matcher::FamilyMix(f) => self.family_mix(f),
            Matcher::EmbeddedCopy(e) => self.embedded_copy(e),
            Matcher::Imports(i) => self.imports(i),
            Matcher::ElfProperty(p) => self.elf_property(p.property, p.object.as_ref()),
            Matcher::Directive(d) => self.directive(d),
            Matcher::Finding(f) => self.finding(f),
            Matcher::Present(p) => {
                let mut ev = Evidence::default();
                for m in self.members.iter().filter(|m| self.pattern(p, m)) {
                    ev.object(m.path);
                }
                (!ev.objects.is_empty()).then_some(ev)
            }
        }
    }

    /// References to the symbols that bind elsewhere than expected.
    fn symbol_clash(&self, c: &SymbolClash) -> Option<Evidence> {
        let mut ev = Evidence::default();
        let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
        // The references whose symbol a glob matches, in their order.
        let mut at: Vec<usize> = Vec::new();
        for g in &c.symbols {
            let from = self.by_symbol.partition_point(|(s, _)| *s < g.prefix());
            let run = self.by_symbol.get(from..).unwrap_or_default();
            at.extend(
                run.iter()
                    .take_while(|(s, _)| s.starts_with(g.prefix()))
                    .filter(|(s, _)| g.matches(s))
                    .map(|&(_, k)| k),
            );
        }
        at.sort_unstable();
        at.dedup();
        for r in at
            .into_iter()
            .filter_map(|k| self.interposed.get(k).copied())
        {
            if c.version
                .as_ref()
                .is_some_and(|v| r.version.as_deref() != Some(v.as_str()))
                || !self.pattern_at(c.owner.as_ref(), r.expected.as_deref())
                || !self.pattern_at(c.taker.as_ref(), r.binds_to.as_deref())
                || [Some(&r.object), r.expected.as_ref(), r.binds_to.as_ref()]
                    .into_iter()
                    .flatten()
                    .any(|o| !self.visible(o))
            {
                continue;
            }
            if !seen.insert((&*r.object, &*r.symbol)) {
                continue;
            }
            if let Some(w) = &r.binds_to {
                ev.crossings.insert((r.object.to_string(), w.to_string()));
            }
            for o in [&r.expected, &r.binds_to].into_iter().flatten() {
                if self.member(o).is_some() {
                    ev.object(o);
                }
            }
            ev.object(&r.object);
            ev.symbols.insert(r.symbol.to_string());
            ev.binding_count += 1;
            if ev.bindings.len() < EVIDENCE {
                ev.bindings.push(super::binding(r));
            }
        }
        if ev.symbols.len() < c.min_symbols.max(1) {
            return None;
        }
        ev.lines.push(format!(
            "{} bind elsewhere than their objects expect",
            plural(ev.binding_count, "reference")
        ));
        Some(ev)
    }

    /// Two members exporting the same symbol.
    fn exported_twice(&self, c: &SymbolClash) -> Option<Evidence> {
        let mut ev = Evidence::default();
        let mut pairs = BTreeSet::new();
        // Each member's exports of the names once, and who exports each
        // name, in member order: not every later member asked about every
        // name of every earlier one.
        let names: Vec<Vec<&str>> = self
            .members
            .iter()
            .map(|m| self.exported(m, &c.symbols))
            .collect();
        let mut exporters: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
        for (j, list) in names.iter().enumerate() {
            for &name in list {
                exporters.entry(name).or_default().push(j);
            }
        }
        for (i, a) in self.members.iter().enumerate() {
            for &name in names.get(i).into_iter().flatten() {
                let later = exporters
                    .get(name)
                    .into_iter()
                    .flatten()
                    .filter(|&&j| j > i);
                for b in later.filter_map(|&j| self.members.get(j)) {
                    if b.path == a.path {
                        continue;
                    }
                    let roles_fit = match (&c.owner, &c.taker) {
                        (Some(o), Some(t)) => {
                            (self.pattern(o, a) && self.pattern(t, b))
                                || (self.pattern(o, b) && self.pattern(t, a))
                        }
                        (Some(p), None) | (None, Some(p)) => {
                            self.pattern(p, a) || self.pattern(p, b)
                        }
                        (None, None) => true,
                    };
                    if !roles_fit {
                        continue;
                    }
                    ev.object(a.path);
                    ev.object(b.path);
                    ev.symbols.insert(name.to_string());
                    pairs.insert((a.path, b.path));
                }
            }
        }
        if ev.symbols.len() < c.min_symbols.max(1) {
            return None;
        }
        for (a, b) in pairs {
            ev.lines.push(format!(
                "{a} and {b} both export {}",
                ev.symbols
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Some(ev)
    }

    fn family_mix(&self, f: &FamilyMix) -> Option<Evidence> {
        let mut ev = Evidence::default();
        for m in &self.members {
            if let Some(s) = m.soname.as_ref().filter(|s| f.soname.0.is_match(s)) {
                ev.object(m.path);
                ev.lines.push(format!("{s}: {}", m.path));
            }
        }
        (ev.objects.len() >= f.min_files.max(2)).then_some(ev)
    }

    fn embedded_copy(&self, e: &EmbeddedCopy) -> Option<Evidence> {
        let libraries: Vec<&View<'_>> = self
            .members
            .iter()
            .filter(|m| m.soname.as_ref().is_some_and(|s| e.library.0.is_match(s)))
            .collect();
        if e.with_library && libraries.is_empty() {
            return None;
        }
        let mut ev = Evidence::default();
        for m in &self.members {
            if m.soname.as_ref().is_some_and(|s| e.library.0.is_match(s))
                || e.embedder.as_ref().is_some_and(|p| !self.pattern(p, m))
            {
                continue;
            }
            let api: BTreeSet<&str> = self.exported(m, &e.api).into_iter().collect();
            if api.len() < e.min_symbols.max(1)
                || self.closure(m).iter().any(|s| e.library.0.is_match(s))
            {
                continue;
            }
            if let Some(needle) = &e.version_string {
                let found = (self.read)(m.path).is_some_and(|bytes| {
                    bytes
                        .windows(needle.len().max(1))
                        .any(|w| w == needle.as_bytes())
                });
                if !found {
                    continue;
                }
                ev.lines.push(format!("{} carries {needle:?}", m.path));
            }
            ev.object(m.path);
            ev.lines.push(format!(
                "{} defines {} of the API ({}…) without being or needing it",
                m.path,
                plural(api.len(), "symbol"),
                api.iter().take(3).copied().collect::<Vec<_>>().join(", ")
            ));
            ev.symbols
                .extend(api.iter().take(20).map(|s| s.to_string()));
        }
        if ev.objects.is_empty() {
            return None;
        }
        if e.with_library {
            for l in libraries {
                ev.object(l.path);
            }
        }
        Some(ev)
    }

    fn imports(&self, i: &Imports) -> Option<Evidence> {
        let mut ev = Evidence::default();
        for m in &self.members {
            if i.object.as_ref().is_some_and(|p| !self.pattern(p, m)) {
                continue;
            }
            let names = self.imported(m, &i.symbols);
            if !names.is_empty() {
                ev.object(m.path);
                ev.lines.push(format!(
                    "{} imports {}",
                    m.path,
                    names.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
                ev.symbols.extend(names);
            }
        }
        (!ev.objects.is_empty()).then_some(ev)
    }

    fn elf_property(&self, p: Property, object: Option<&ObjectPattern>) -> Option<Evidence> {
        let mut ev = Evidence::default();
        for m in &self.members {
            let Some(f) = m.facts else { continue };
            if object.is_some_and(|o| !self.pattern(o, m)) {
                continue;
            }
            let why = match p {
                Property::Textrel if f.textrel => "has text relocations (DT_TEXTREL)".to_string(),
                Property::ExecStack if f.exec_stack => "asks for an executable stack".to_string(),
                Property::StaticLibpython
                    if f.named(b"Py_Initialize").any(|s| s.is_defined())
                        && !self.closure(m).iter().any(|s| s.starts_with("libpython"))
                        && !m
                            .soname
                            .as_ref()
                            .is_some_and(|s| s.starts_with("libpython")) =>
                {
                    "defines Py_Initialize without needing a libpython (static libpython)"
                        .to_string()
                }
                Property::GraftedSoname => match m.soname.clone().filter(|s| grafted(s)) {
                    Some(s) => format!("has the grafted soname {s}"),
                    None => continue,
                },
                _ => continue,
            };
            ev.object(m.path);
            ev.lines.push(format!("{} {why}", m.path));
        }
        (!ev.objects.is_empty()).then_some(ev)
    }

    fn finding(&self, m: &FindingMatch) -> Option<Evidence> {
        let mut ev = Evidence::default();
        for f in self
            .builtin
            .iter()
            .filter(|f| f.id == m.id.0 && f.objects.iter().all(|o| self.visible(o)))
        {
            let about = |o: &String| {
                self.member(o)
                    .is_some_and(|v| m.object.as_ref().is_none_or(|p| self.pattern(p, v)))
            };
            if !f.objects.iter().any(about) {
                continue;
            }
            for o in &f.objects {
                if self.member(o).is_some() {
                    ev.object(o);
                }
            }
            ev.symbols.extend(f.symbols.iter().cloned());
            ev.lines.push(f.title.clone());
            ev.lines.extend(f.evidence.iter().cloned());
        }
        (!ev.lines.is_empty()).then_some(ev)
    }

    fn directive(&self, d: &DirectiveMatch) -> Option<Evidence> {
        let mut ev = Evidence::default();
        for dir in self.image.config.iter() {
            let Some((name, arg, options)) = directive_parts(dir) else {
                continue;
            };
            if !name.eq_ignore_ascii_case(&d.name) {
                continue;
            }
            let value = match &d.option {
                Some(o) => options
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(o))
                    .map(|(_, v)| v.clone()),
                None => Some(arg.clone()),
            };
            let Some(value) = value else { continue };
            if d.value.as_ref().is_some_and(|re| !re.0.is_match(&value)) {
                continue;
            }
            ev.lines.push(format!(
                "{}:{}: {name} {}",
                dir.file.display(),
                dir.line,
                match &d.option {
                    Some(o) => format!("{o}={value}"),
                    None => value,
                }
            ));
        }
        (!ev.lines.is_empty()).then_some(ev)
    }
}

/// A directive as matchers see it: name, argument, `option=value`s.
type Parts = (&'static str, String, Vec<(String, String)>);

/// A directive as [`Parts`] for matching.
fn directive_parts(d: &Directive) -> Option<Parts> {
    let opts = |o: &std::collections::BTreeMap<String, String>| {
        o.iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    Some(match &d.kind {
        DirectiveKind::LoadModule { name, path, .. } => (
            "LoadModule",
            format!("{name} {}", path.display()),
            Vec::new(),
        ),
        DirectiveKind::LoadFile { path, .. } => {
            ("LoadFile", path.display().to_string(), Vec::new())
        }
        DirectiveKind::PhpIniDir(p) => ("PHPINIDir", p.display().to_string(), Vec::new()),
        DirectiveKind::WsgiPythonHome(p) => ("WSGIPythonHome", p.display().to_string(), Vec::new()),
        DirectiveKind::WsgiPythonPath(v) => (
            "WSGIPythonPath",
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":"),
            Vec::new(),
        ),
        DirectiveKind::WsgiDaemonProcess { name, options } => {
            ("WSGIDaemonProcess", name.clone(), opts(options))
        }
        DirectiveKind::WsgiProcessGroup(g) => ("WSGIProcessGroup", g.clone(), Vec::new()),
        DirectiveKind::WsgiApplicationGroup(g) => ("WSGIApplicationGroup", g.clone(), Vec::new()),
        DirectiveKind::WsgiLazyInitialization(b) => (
            "WSGILazyInitialization",
            if *b { "On" } else { "Off" }.to_string(),
            Vec::new(),
        ),
        DirectiveKind::WsgiScriptAlias {
            url,
            path,
            regex,
            options,
        } => (
            if *regex {
                "WSGIScriptAliasMatch"
            } else {
                "WSGIScriptAlias"
            },
            format!("{url} {}", path.display()),
            opts(options),
        ),
        DirectiveKind::WsgiImportScript { path, options } => (
            "WSGIImportScript",
            path.display().to_string(),
            opts(options),
        ),
        DirectiveKind::WsgiScriptHandler {
            directive,
            extensions,
        } => (
            if directive == "AddHandler" {
                "AddHandler"
            } else {
                "SetHandler"
            },
            std::iter::once("wsgi-script")
                .chain(extensions.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            Vec::new(),
        ),
        DirectiveKind::ModPython { .. } => return None,
    })
}

/// Symbols a member exports (defined, global/weak/unique, default or
/// protected) that match one of `globs`, in name order, each once.
fn exported<'f>(facts: Option<&'f ElfFacts>, globs: &'f [Glob]) -> impl Iterator<Item = &'f str> {
    let mut out: Vec<&str> = facts
        .into_iter()
        .flat_map(|f| {
            globs
                .iter()
                .flat_map(move |g| f.exports_from(g.prefix()).filter(|n| g.matches(n)))
        })
        .collect();
    if globs.len() > 1 {
        out.sort_unstable();
        out.dedup();
    }
    out.into_iter()
}

/// The indices of the symbols `f` imports (undefined, named) that one of
/// `globs` matches: each glob's from the symbol index's run of its prefix,
/// not every symbol.
fn imported_at(f: &ElfFacts, globs: &[Glob]) -> Vec<u32> {
    globs
        .iter()
        .flat_map(|g| {
            f.starting_with_at(g.prefix().as_bytes())
                .filter(|(_, s)| !s.is_defined() && !s.name.is_empty())
                .filter(move |(_, s)| g.matches(&String::from_utf8_lossy(&s.name)))
                .map(|(i, _)| i)
        })
        .collect()
}

/// [`exported`] as symbol indices of `f`.
fn exported_at(f: &ElfFacts, globs: &[Glob]) -> Vec<u32> {
    let mut out: Vec<(u32, &str)> = globs
        .iter()
        .flat_map(|g| f.exports_from_at(g.prefix()).filter(|(_, n)| g.matches(n)))
        .collect();
    if globs.len() > 1 {
        out.sort_unstable_by(|a, b| a.1.cmp(b.1));
        out.dedup_by(|a, b| a.1 == b.1);
    }
    out.into_iter().map(|(i, _)| i).collect()
}

/// auditwheel / delocate graft names: `lib<name>-<8 hex>.so...`.
fn grafted(soname: &str) -> bool {
    let Some(stem) = soname.split(".so").next() else {
        return false;
    };
    let Some((_, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    soname.starts_with("lib") && hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The findings of every signature that matches the process; built-in
/// findings a matching signature explains are removed from `builtin`.
///
/// A signature whose evidence spans several Python distributions
/// (`units`) is evaluated once per distribution, the others hidden, and
/// gives one finding for each it matches alone: one per cause, which
/// [`super::group`] then joins across virtualenvs and processes. Its
/// severity is the signature's, at most its `when_apart` when no reference
/// crosses between its objects, at most low when every crossing needs an
/// interactive or test-only import ([`super::consequence`]) or when only
/// `--installed` what-ifs make it.
pub fn evaluate(
    sigs: &[Signature],
    image: &ProcessImage,
    bindings: &Bindings,
    read: ReadFile<'_>,
    builtin: &mut Vec<Finding>,
    units: &Units,
) -> Vec<Finding> {
    let before = std::rc::Rc::new(std::mem::take(builtin));
    // Which of them a matching signature explains, taken out at the end.
    let mut taken = vec![false; before.len()];
    let cx = Context::new(image, bindings, read, std::rc::Rc::clone(&before));
    let mut out = Vec::new();
    for sig in sigs {
        let Some(ev) = cx.eval(&sig.matcher) else {
            continue;
        };
        let dists: BTreeSet<String> = ev
            .objects
            .iter()
            .filter_map(|o| units.of(o).map(|d| d.key))
            .collect();
        let mut views: Vec<(Evidence, Option<Context<'_>>)> = Vec::new();
        if dists.len() > 1 {
            for d in &dists {
                let only = cx.only(d, units);
                if let Some(e) = only.eval(&sig.matcher) {
                    views.push((e, Some(only)));
                }
            }
        }
        if views.is_empty() {
            views.push((ev, None));
        }
        for (ev, view) in views {
            out.push(finding(
                sig,
                image,
                view.as_ref().unwrap_or(&cx),
                ev,
                &mut taken,
            ));
        }
    }
    drop(cx);
    let mut kept = std::rc::Rc::try_unwrap(before).unwrap_or_else(|rc| (*rc).clone());
    let mut taken = taken.into_iter();
    kept.retain(|_| !taken.next().unwrap_or(false));
    *builtin = kept;
    out
}

/// The finding of one signature that matched, taking over the built-in
/// findings it explains (of `cx`'s, those not `taken` yet, then taken).
fn finding(
    sig: &Signature,
    image: &ProcessImage,
    cx: &Context<'_>,
    mut ev: Evidence,
    taken: &mut [bool],
) -> Finding {
    let certainty = ev
        .objects
        .iter()
        .filter_map(|o| cx.member(o))
        .map(|m| m.certainty)
        .max()
        .unwrap_or(Certainty::Certain);
    let mut severity = if certainty == Certainty::Latent {
        sig.severity.min(Severity::Low)
    } else {
        sig.severity
    };
    let mut evidence = std::mem::take(&mut ev.lines);
    if ev.binding_count > ev.bindings.len() {
        evidence.push(format!(
            "{} bindings in all, the first {} listed",
            ev.binding_count,
            ev.bindings.len()
        ));
    }
    let objects: BTreeSet<String> = ev.objects.iter().cloned().collect();
    let takes = |f: &Finding| {
        sig.explains.iter().any(|e| e.0 == f.id)
            && f.process.as_deref() == Some(image.name.as_str())
            && f.objects.iter().take(2).all(|o| objects.contains(o))
    };
    let mut explained: Vec<Finding> = Vec::new();
    for (f, taken) in cx.builtin.iter().zip(taken.iter_mut()) {
        if !*taken && takes(f) {
            *taken = true;
            explained.push(f.clone());
        }
    }
    let apart = ev.binding_count == 0 && explained.is_empty();
    // The explained finding's evidence is this problem's evidence.
    for f in explained {
        if f.id == FindingId::SymbolInterposition
            && let (Some(l), Some(w)) = (f.objects.first(), f.objects.get(1))
        {
            for r in cx.bindings.references.iter().filter(|r| {
                r.interposed
                    && r.expected.as_deref() == Some(l.as_str())
                    && r.binds_to.as_deref() == Some(w.as_str())
            }) {
                ev.crossings.insert((r.object.to_string(), w.clone()));
            }
        }
        for o in &f.objects {
            ev.object(o);
        }
        ev.symbols.extend(f.symbols);
        for b in f.bindings {
            if ev.bindings.len() < EVIDENCE && !ev.bindings.contains(&b) {
                ev.bindings.push(b);
            }
        }
        evidence.push(format!("{} ({}): {}", f.id, f.severity, f.title));
        evidence.extend(f.evidence);
    }
    if let Some(cap) = sig.when_apart.filter(|_| apart) {
        if cap < severity {
            severity = cap;
        }
        evidence.insert(
            0,
            format!(
                "at most {cap}: no reference crosses between these copies (their symbol versions keep them apart: glibc's elf/dl-lookup.c matches a versioned reference only to a definition of that version), so each object runs on its own copy"
            ),
        );
    }
    if let Some(modules) = super::consequence::interactive_only(
        image,
        ev.crossings.iter().map(|(f, w)| (f.as_str(), w.as_str())),
    ) {
        severity = severity.min(Severity::Low);
        evidence.insert(0, super::consequence::interactive_note(&modules));
    }
    // An explained finding may have said the same (its own cap).
    let mut seen = BTreeSet::new();
    evidence.retain(|e| seen.insert(e.clone()));
    Finding {
        id: FindingId::Signature(sig.id.0.clone()),
        severity,
        certainty,
        title: sig.title.clone(),
        process: Some(image.name.clone()),
        processes: Vec::new(),
        objects: ev.objects,
        symbols: ev.symbols.into_iter().collect(),
        bindings: ev.bindings,
        evidence,
        remedy: sig.remedy.clone(),
        references: sig.references.clone(),
        symptoms: sig.symptoms.clone(),
        status: Some(sig.status),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::elf::RelocClass::Plt;
    use crate::image::bind::tests::{O, P, data, def, undef};
    use crate::image::bind::{BindOptions, Scope::Global, Scope::List, bind};
    use crate::rules::signature::parse;

    /// A signature from YAML text (the schema is exercised too).
    fn sig(id: &str, body: &str) -> Signature {
        let text = format!(
            "id: {id}\ntitle: t\nseverity: high\nstatus: confirmed\nera: current\n{body}\nremedy: r\nreferences: [x]\n"
        );
        parse(&PathBuf::from(format!("{id}.yaml")), &text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn run(p: &P, sigs: &[Signature], read: ReadFile<'_>) -> (Vec<Finding>, Vec<Finding>) {
        let image = p.image();
        let b = bind(&image, &BindOptions::default());
        let mut builtin = crate::rules::process_findings(&image, &b);
        let found = evaluate(sigs, &image, &b, read, &mut builtin, &Units::default());
        (found, builtin)
    }

    fn no_read(_: &str) -> Option<Vec<u8>> {
        None
    }

    /// httpd, a global library `libmh.so.2` defining MD5Init and MD5Update,
    /// then a module that defines both and calls them (interposed).
    fn md5_process(installed_only: bool) -> P {
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new());
        let l = p.obj(
            "/lib/libmh.so.2",
            O::new()
                .soname("libmh.so.2")
                .sym(def("MD5Init"))
                .sym(def("MD5Update")),
        );
        let m = p.obj(
            "/py/md5.so",
            O::new()
                .reloc(def("MD5Init"), Plt)
                .reloc(def("MD5Update"), Plt),
        );
        p.link.global = vec![e, l];
        let me = p.member(e, vec![Global(1)]);
        p.m(me).exec = true;
        p.member(l, vec![Global(2), List(vec![l])]);
        let mm = p.member(m, vec![Global(2), List(vec![m])]);
        p.m(mm).installed_only = installed_only;
        p
    }

    /// symbol_clash: one finding with the interposed bindings; a taker that
    /// does not match, or min_symbols above what matched, gives none; the
    /// built-in finding it explains is dropped and its evidence joins it.
    #[test]
    fn symbol_clash_and_explains() {
        let s = sig(
            "md5",
            "explains: [symbol-interposition]\nmatch:\n  symbol_clash:\n    symbols: ['MD5*']\n    taker: { soname: '^libmh\\.so' }",
        );
        let (found, builtin) = run(&md5_process(false), &[s], &no_read);
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert_eq!(f.id, "md5");
        assert_eq!(f.symbols, vec!["MD5Init", "MD5Update"]);
        assert!(f.bindings.iter().any(|b| b.from == "/py/md5.so"
            && b.actual.as_deref() == Some("/lib/libmh.so.2")
            && b.expected.as_deref() == Some("/py/md5.so")));
        assert!(
            builtin.iter().all(|b| b.id != "symbol-interposition"),
            "{builtin:#?}"
        );
        assert!(
            f.evidence
                .iter()
                .any(|e| e.starts_with("symbol-interposition"))
        );

        let other = sig(
            "other",
            "match:\n  symbol_clash:\n    symbols: ['MD5*']\n    taker: { soname: '^libother' }",
        );
        let (found, builtin) = run(&md5_process(false), &[other], &no_read);
        assert!(found.is_empty());
        assert_eq!(
            builtin
                .iter()
                .filter(|b| b.id == "symbol-interposition")
                .count(),
            1
        );
        let three = sig(
            "three",
            "match:\n  symbol_clash:\n    symbols: ['MD5*']\n    min_symbols: 3",
        );
        assert!(run(&md5_process(false), &[three], &no_read).0.is_empty());
    }

    /// A what-if member (`--installed`) makes the finding latent and low.
    #[test]
    fn latent_is_capped_at_low() {
        let s = sig("md5", "match:\n  symbol_clash:\n    symbols: ['MD5*']");
        let (found, _) = run(&md5_process(true), &[s], &no_read);
        assert_eq!(found[0].certainty, Certainty::Latent);
        assert_eq!(found[0].severity, Severity::Low);
    }

    /// httpd with the system `libssl.so.3` global, a wheel's grafted copy
    /// `libssl-a1b2c3d4` (both define `SSL_new`), and the wheel's module
    /// `module` that loaded on its own finds `SSL_new` in the grafted copy;
    /// `refers` makes the module call it (it then binds to the system's).
    fn grafted_ssl(module: &str, refers: bool) -> P {
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new());
        let sys = p.obj(
            "/usr/lib/libssl.so.3",
            O::new().soname("libssl.so.3").sym(def("SSL_new")),
        );
        let w = p.obj(
            "/sp/w.libs/libssl-a1b2c3d4.so.3",
            O::new().soname("libssl-a1b2c3d4.so.3").sym(def("SSL_new")),
        );
        let m = p.obj(
            module,
            if refers {
                O::new().reloc(undef("SSL_new"), Plt)
            } else {
                O::new()
            },
        );
        p.link.global = vec![e, sys];
        let me = p.member(e, vec![Global(2)]);
        p.m(me).exec = true;
        p.member(sys, vec![Global(2)]);
        let mw = p.member(w, vec![Global(2), List(vec![m, w])]);
        p.m(mw).may_be_imported = true;
        let mm = p.member(m, vec![Global(2), List(vec![m, w])]);
        p.m(mm).solo = vec![m, w];
        p.m(mm).may_be_imported = true;
        p.via(mm, "import (x)");
        p
    }

    const VENDORED: &str = "explains: [symbol-interposition]\nwhen_apart: info\nmatch:\n  all:\n    - present: { soname: '^libssl-' }\n    - any:\n        - symbol_clash: { symbols: ['SSL_*'] }\n        - present: { soname: '^libssl\\.so' }";

    /// `when_apart`: copies no reference crosses between are at most its
    /// severity, said first in the evidence; once one crosses, the
    /// signature's own.
    #[test]
    fn when_apart_caps_copies_kept_apart() {
        let s = sig("vendored", VENDORED);
        let module = "/sp/w/_m.cpython-311-x86_64-linux-gnu.so";
        let (found, _) = run(
            &grafted_ssl(module, false),
            std::slice::from_ref(&s),
            &no_read,
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].severity, Severity::Info);
        assert!(found[0].evidence[0].starts_with("at most info: no reference crosses"));
        let (found, builtin) = run(&grafted_ssl(module, true), &[s], &no_read);
        assert_eq!(found[0].severity, Severity::High, "{found:#?}");
        assert!(found[0].evidence.iter().all(|e| !e.starts_with("at most")));
        assert!(builtin.iter().all(|b| b.id != "symbol-interposition"));
    }

    /// A signature whose every crossing needs an interactive import (the
    /// module is Python's `readline`) is at most low, saying so; the same
    /// crossing from `_ssl` keeps its severity.
    #[test]
    fn interactive_imports_cap_at_low() {
        let s = sig("vendored", VENDORED);
        let rl = "/usr/lib/python3.11/lib-dynload/readline.cpython-311-x86_64-linux-gnu.so";
        let (found, _) = run(&grafted_ssl(rl, true), std::slice::from_ref(&s), &no_read);
        assert_eq!(found[0].severity, Severity::Low, "{found:#?}");
        assert!(
            found[0].evidence[0]
                .starts_with("at most low: every crossing needs Python to import `readline`"),
            "{:?}",
            found[0].evidence
        );
        let ssl = "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so";
        let (found, _) = run(&grafted_ssl(ssl, true), &[s], &no_read);
        assert_eq!(found[0].severity, Severity::High);
    }

    /// A signature matching two Python distributions' copies is one
    /// finding per distribution, each with its own objects; one that only
    /// the two together make true stays one finding.
    #[test]
    fn one_finding_per_distribution() {
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new());
        let sys = p.obj("/usr/lib/libssl.so.3", O::new().soname("libssl.so.3"));
        let a = p.obj(
            "/v/site-packages/a.libs/libssl-11111111.so.3",
            O::new().soname("libssl-11111111.so.3"),
        );
        let b = p.obj(
            "/v/site-packages/b.libs/libssl-22222222.so.3",
            O::new().soname("libssl-22222222.so.3"),
        );
        p.link.global = vec![e, sys];
        let me = p.member(e, vec![Global(2)]);
        p.m(me).exec = true;
        p.member(sys, vec![Global(2)]);
        p.member(a, vec![Global(2), List(vec![a])]);
        p.member(b, vec![Global(2), List(vec![b])]);
        let image = p.image();
        let bindings = bind(&image, &BindOptions::default());
        let units = Units::default();
        let found = evaluate(
            &[sig("vendored", VENDORED)],
            &image,
            &bindings,
            &no_read,
            &mut Vec::new(),
            &units,
        );
        let objects: Vec<&Vec<String>> = found.iter().map(|f| &f.objects).collect();
        assert_eq!(
            objects,
            [
                &vec![
                    "/v/site-packages/a.libs/libssl-11111111.so.3".to_string(),
                    "/usr/lib/libssl.so.3".to_string()
                ],
                &vec![
                    "/v/site-packages/b.libs/libssl-22222222.so.3".to_string(),
                    "/usr/lib/libssl.so.3".to_string()
                ],
            ]
        );
        let both = sig(
            "both",
            "match:\n  all:\n    - present: { path: '/a\\.libs/' }\n    - present: { path: '/b\\.libs/' }",
        );
        let found = evaluate(
            &[both],
            &image,
            &bindings,
            &no_read,
            &mut Vec::new(),
            &units,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].objects.len(), 2);
    }

    /// all / any / not: `not` silences; `any` joins the evidence of what
    /// matched; an `all` with one false part is false.
    #[test]
    fn composition() {
        let p = md5_process(false);
        let yes = "present: { soname: '^libmh' }";
        let no = "present: { soname: '^libnone' }";
        let cases = [
            (format!("match:\n  not:\n    {yes}"), false),
            (format!("match:\n  not:\n    {no}"), true),
            (format!("match:\n  any:\n    - {no}\n    - {yes}"), true),
            (format!("match:\n  all:\n    - {yes}\n    - {no}"), false),
            (
                format!("match:\n  all:\n    - {yes}\n    - present: {{ path: '/md5' }}"),
                true,
            ),
        ];
        for (body, want) in cases {
            let (found, _) = run(&p, &[sig("c", &body)], &no_read);
            assert_eq!(!found.is_empty(), want, "{body}");
        }
        let (found, _) = run(
            &p,
            &[sig(
                "c",
                &format!("match:\n  all:\n    - {yes}\n    - present: {{ path: '/md5' }}"),
            )],
            &no_read,
        );
        assert_eq!(found[0].objects, vec!["/lib/libmh.so.2", "/py/md5.so"]);
    }

    /// exported_twice with owner and taker: one exporter must match each.
    #[test]
    fn exported_twice_roles() {
        let p = md5_process(false);
        let both = sig(
            "t",
            "match:\n  symbol_clash:\n    symbols: [MD5Init]\n    exported_twice: true\n    owner: { path: '/py/' }\n    taker: { soname: '^libmh' }",
        );
        assert_eq!(run(&p, &[both], &no_read).0.len(), 1);
        let wrong = sig(
            "t",
            "match:\n  symbol_clash:\n    symbols: [MD5Init]\n    exported_twice: true\n    owner: { path: '/py/' }\n    taker: { path: '/py/' }",
        );
        assert!(run(&p, &[wrong], &no_read).0.is_empty());
    }

    /// embedded_copy: the version string is looked for through the reader
    /// the caller passes; `with_library: false` needs no shared library.
    #[test]
    fn embedded_copy_version_string_and_library() {
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new());
        let m = p.obj(
            "/mods/mod_x.so",
            O::new().sym(def("sqlite3_open")).sym(def("sqlite3_close")),
        );
        p.link.global = vec![e, m];
        let me = p.member(e, vec![Global(1)]);
        p.m(me).exec = true;
        p.member(m, vec![Global(2)]);
        let with_lib = sig(
            "s",
            "match:\n  embedded_copy: { api: ['sqlite3_*'], library: '^libsqlite3' }",
        );
        assert!(
            run(&p, &[with_lib], &no_read).0.is_empty(),
            "no libsqlite3 in the process"
        );
        let alone = "match:\n  embedded_copy: { api: ['sqlite3_*'], min_symbols: 2, library: '^libsqlite3', with_library: false, version_string: '3.40.1' }";
        let has = |path: &str| (path == "/mods/mod_x.so").then(|| b"..3.40.1..".to_vec());
        assert_eq!(run(&p, &[sig("s", alone)], &has).0.len(), 1);
        let lacks = |_: &str| Some(b"3.39".to_vec());
        assert!(run(&p, &[sig("s", alone)], &lacks).0.is_empty());
    }

    /// directive with an option, and imports of undefined symbols.
    #[test]
    fn directive_option_and_imports() {
        use crate::host::apache::{Directive, DirectiveKind};
        let mut p = md5_process(false);
        let u = p.obj(
            "/py/_swig.so",
            O::new()
                .reloc(undef("PyGILState_Ensure"), Plt)
                .sym(data(def("x"))),
        );
        p.member(u, vec![Global(2), List(vec![u])]);
        let mut image = p.image();
        image.config = vec![Directive {
            file: Path::new("/etc/apache2/apache2.conf").to_path_buf(),
            line: 7,
            context: Vec::new(),
            kind: DirectiveKind::WsgiDaemonProcess {
                name: "app".into(),
                options: [("display-name".to_string(), "%{GROUP}".to_string())].into(),
            },
        }]
        .into();
        let b = bind(&image, &BindOptions::default());
        let s = sig(
            "g",
            "match:\n  all:\n    - imports: { symbols: ['PyGILState_*'] }\n    - directive: { name: wsgidaemonprocess, option: display-name, value: '%\\{GROUP\\}' }",
        );
        let found = evaluate(
            &[s],
            &image,
            &b,
            &no_read,
            &mut Vec::new(),
            &Units::default(),
        );
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .evidence
                .iter()
                .any(|e| e.contains("apache2.conf:7"))
        );
        let other = sig(
            "g",
            "match:\n  directive: { name: WSGIDaemonProcess, option: display-name, value: '[()]' }",
        );
        assert!(
            evaluate(
                &[other],
                &image,
                &b,
                &no_read,
                &mut Vec::new(),
                &Units::default()
            )
            .is_empty()
        );
    }
}
