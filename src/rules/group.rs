//! One finding per root cause: the `symbol-interposition` pairs of every
//! modelled process, and the signature findings that explain
//! interpositions, grouped by what a sysadmin acts on.
//!
//! The cause of a pair (its loser, the objects whose references move, its
//! winner) is the first that holds:
//!
//! 1. a Python distribution one of them belongs to, loser first
//!    ([`Units`]: the wheel whose `RECORD` lists the file, else its
//!    directory in `site-packages`, a `<dist>.libs/` bundle being its
//!    dist's): Pillow's bundled libjpeg, libpng16, libtiff… and lxml's
//!    static libxml2, libxslt and zlib are each one cause, in every
//!    virtualenv and process that has them;
//! 2. an object with static copies of other libraries (loser or winner
//!    without a soname of its own, of another family than the other):
//!    every pair it is in;
//! 3. the two packages that ship the copies (`host::packages`), else
//!    their library families, in either direction.
//!
//! A signature finding with interposed bindings (it explained pairs, or its
//! matcher saw references cross) takes the cause of its objects' Python
//! distribution, else of its first binding, and heads the group: its id,
//! title, symptoms and remedy. A signature finding of copies that no
//! reference crosses is grouped only with the same signature's findings
//! of the same distribution (or objects), so it stays visible at its own
//! severity. Everything else passes through untouched.
//!
//! A group's finding lists every location (objects of all its pairs, the
//! virtualenvs, the processes), keeps each pair's first bindings and one
//! evidence line per pair with its counts and its severity's reason, and
//! takes the worst severity: a signature's own for the pairs it explained,
//! each remaining pair's ([`super::consequence`]). Its title names the
//! library families whose copies lose; definitions glibc answers are no
//! copy of libc, so they are named by the C library API they implement
//! (librdkafka's C11 threads).

use rustc_hash::FxHashSet;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::elf::ElfFacts;
use crate::host::packages::Package;
use crate::host::wheels::site_of;
use crate::image::ProcessImage;
use crate::model::{Finding, FindingId};

use super::consequence::family;

/// A Python distribution: what a sysadmin installs, upgrades or removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dist {
    /// The name normalised (PEP 503: lower case, runs of `-_.` as `-`).
    pub key: String,
    pub name: String,
    pub version: Option<String>,
    /// Its `site-packages` (or `dist-packages`) directory.
    pub site: String,
}

/// Which Python distribution each file belongs to.
#[derive(Debug, Clone, Default)]
pub struct Units {
    record: BTreeMap<String, Package>,
    /// (site, top-level name) → the distribution of the `.libs` bundle a
    /// module under that name brought in (`PIL` → `pillow`).
    aliases: BTreeMap<(String, String), String>,
}

/// PEP 503's normal form of a distribution name.
pub fn normalise(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.extend(c.to_lowercase());
    }
    out
}

fn text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A path's site directory and what its place there names: the
/// distribution of a `<dist>.libs/` bundle, else the top-level package
/// directory or module (`pycurl` of `pycurl.cpython-311-….so`).
fn place(path: &str) -> Option<(String, String)> {
    let site = site_of(Path::new(path))?;
    let rest = Path::new(path).strip_prefix(&site).ok()?;
    let mut parts = rest.iter();
    let first = parts.next()?.to_str()?;
    let name = if parts.next().is_none() {
        first.split('.').next().unwrap_or(first)
    } else {
        first.strip_suffix(".libs").unwrap_or(first)
    };
    (!name.is_empty()).then(|| (text(&site), name.to_string()))
}

fn bundle(path: &str) -> bool {
    path.split('/').any(|c| c.ends_with(".libs"))
}

impl Units {
    /// From the RECORD owners (`host::wheels`), and the processes' members:
    /// a `.libs` library brought in by a module of another top-level name
    /// in the same site directory ties that name to the bundle's
    /// distribution, for files no RECORD lists.
    pub fn new(record: &BTreeMap<PathBuf, Package>, images: &[&ProcessImage]) -> Units {
        let mut aliases = BTreeMap::new();
        for m in images.iter().flat_map(|i| &i.members) {
            let (Some(by), true) = (&m.brought_by, bundle(&m.object)) else {
                continue;
            };
            let (Some((site, dist)), Some((by_site, top))) = (place(&m.object), place(by)) else {
                continue;
            };
            if site == by_site && normalise(&top) != normalise(&dist) {
                aliases.entry((site, normalise(&top))).or_insert(dist);
            }
        }
        Units {
            record: record.iter().map(|(p, d)| (text(p), d.clone())).collect(),
            aliases,
        }
    }

    /// The distribution `path` belongs to, if it is in a site directory.
    pub fn of(&self, path: &str) -> Option<Dist> {
        let site = text(&site_of(Path::new(path))?);
        if let Some(d) = self.record.get(path) {
            return Some(Dist {
                key: normalise(&d.name),
                name: d.name.clone(),
                version: Some(d.version.clone()),
                site,
            });
        }
        let (site, name) = place(path)?;
        let name = self
            .aliases
            .get(&(site.clone(), normalise(&name)))
            .cloned()
            .unwrap_or(name);
        Some(Dist {
            key: normalise(&name),
            name,
            version: None,
            site,
        })
    }
}

/// What a group is keyed by (module comment).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Cause {
    Python(String),
    Embedder(String),
    Libraries(String, String),
    /// A signature finding no reference crosses: its id, and its
    /// distribution or objects.
    Apart(String, String),
}

/// What the grouping reads besides the findings.
pub struct Context<'a> {
    pub images: &'a [&'a ProcessImage],
    pub owners: &'a BTreeMap<PathBuf, Package>,
    pub units: &'a Units,
    /// Ids of the signatures that explain `symbol-interposition`.
    pub interposing: &'a BTreeSet<String>,
}

impl Context<'_> {
    fn facts(&self, process: Option<&str>, path: &str) -> Option<&ElfFacts> {
        self.images
            .iter()
            .filter(|i| process.is_none_or(|p| i.name == p))
            .find_map(|i| i.link.facts(path))
    }

    fn family(&self, process: Option<&str>, path: &str) -> String {
        family(path, self.facts(process, path))
    }

    fn package(&self, path: &str) -> Option<&Package> {
        self.owners.get(Path::new(path))
    }

    /// The cause of a pair: loser, the referencing objects, winner.
    fn pair(&self, process: Option<&str>, loser: &str, froms: &[&str], winner: &str) -> Cause {
        let order = std::iter::once(loser)
            .chain(froms.iter().copied())
            .chain(std::iter::once(winner));
        for p in order {
            if let Some(d) = self.units.of(p) {
                return Cause::Python(d.key);
            }
        }
        let (lf, wf) = (self.facts(process, loser), self.facts(process, winner));
        let label = |p: &str| {
            self.package(p)
                .map_or_else(|| p.to_string(), |k| k.name.clone())
        };
        if family(loser, lf) != family(winner, wf) {
            let bare = |f: Option<&ElfFacts>| f.is_some_and(|f| f.soname.is_none());
            if bare(lf) && !bare(wf) {
                return Cause::Embedder(label(loser));
            }
            if bare(wf) && !bare(lf) {
                return Cause::Embedder(label(winner));
            }
        }
        let side = |p: &str, f: Option<&ElfFacts>| {
            self.package(p)
                .map_or_else(|| family(p, f), |k| k.name.clone())
        };
        let mut two = [side(loser, lf), side(winner, wf)];
        two.sort();
        let [a, b] = two;
        Cause::Libraries(a, b)
    }

    fn cause(&self, f: &Finding) -> Option<Cause> {
        let process = f.process.as_deref();
        if f.id == FindingId::SymbolInterposition {
            let (loser, winner) = (f.objects.first()?, f.objects.get(1)?);
            let froms: Vec<&str> = f.objects.iter().skip(2).map(String::as_str).collect();
            return Some(self.pair(process, loser, &froms, winner));
        }
        if !self.interposing.contains(f.id.as_str()) {
            return None;
        }
        let dist = f.objects.iter().find_map(|o| self.units.of(o));
        if f.bindings.is_empty() {
            let which = dist.map_or_else(
                || {
                    let mut o = f.objects.clone();
                    o.sort();
                    o.join(" ")
                },
                |d| d.key,
            );
            return Some(Cause::Apart(f.id.to_string(), which));
        }
        if let Some(d) = dist {
            return Some(Cause::Python(d.key));
        }
        let b = f.bindings.first()?;
        match (&b.expected, &b.actual) {
            (Some(e), Some(a)) => Some(self.pair(process, e, &[b.from.as_str()], a)),
            _ => Some(Cause::Apart(f.id.to_string(), f.objects.join(" "))),
        }
    }
}

/// Groups the findings by cause (module comment); findings that are not
/// about interpositions pass through in their order, then one finding per
/// group in the order its first finding came.
pub fn by_cause(findings: Vec<Finding>, cx: &Context<'_>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut same: BTreeMap<Same, usize> = BTreeMap::new();
    let mut groups: Vec<(Cause, Vec<Finding>)> = Vec::new();
    let mut index: BTreeMap<Cause, usize> = BTreeMap::new();
    for f in findings {
        match cx.cause(&f) {
            // The same finding in several processes (the parent's image
            // is in every daemon's) is one, listing them.
            None => match same.get(&Same::of(&f)).and_then(|&i| out.get_mut(i)) {
                Some(first) => join_processes(first, &f),
                None => {
                    if f.process.is_some() {
                        same.insert(Same::of(&f), out.len());
                    }
                    out.push(f);
                }
            },
            Some(c) => match index.get(&c) {
                Some(&i) => {
                    if let Some(g) = groups.get_mut(i) {
                        g.1.push(f);
                    }
                }
                None => {
                    index.insert(c.clone(), groups.len());
                    groups.push((c, vec![f]));
                }
            },
        }
    }
    for (cause, fs) in groups {
        out.extend(merge(&cause, fs, cx));
    }
    out
}

/// What makes two findings of different processes the same finding: all
/// but the process and how sure it is there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Same {
    id: FindingId,
    severity: crate::model::Severity,
    title: String,
    objects: Vec<String>,
    symbols: Vec<String>,
    bindings: Vec<(String, String, Option<String>, Option<String>)>,
    evidence: Vec<String>,
}

impl Same {
    fn of(f: &Finding) -> Same {
        Same {
            id: f.id.clone(),
            severity: f.severity,
            title: f.title.clone(),
            objects: f.objects.clone(),
            symbols: f.symbols.clone(),
            bindings: f
                .bindings
                .iter()
                .map(|b| {
                    (
                        b.symbol.clone(),
                        b.from.clone(),
                        b.expected.clone(),
                        b.actual.clone(),
                    )
                })
                .collect(),
            evidence: f.evidence.clone(),
        }
    }
}

/// The processes a finding holds in, `process` first.
fn every_process(f: &Finding) -> Vec<String> {
    let mut all: Vec<String> = f.process.iter().cloned().collect();
    push_new(&mut all, &f.processes);
    all
}

/// `other`'s processes added to `first`'s, which is as sure as the surer.
fn join_processes(first: &mut Finding, other: &Finding) {
    let mut all = every_process(first);
    push_new(&mut all, &every_process(other));
    first.certainty = first.certainty.min(other.certainty);
    first.processes = if all.len() > 1 { all } else { Vec::new() };
}

fn file_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn push_new<T: PartialEq + Clone>(to: &mut Vec<T>, items: &[T]) {
    for i in items {
        if !to.contains(i) {
            to.push(i.clone());
        }
    }
}

/// [`push_new`] with what `to` holds in `seen`: the findings of forty
/// daemons merged are thousands of paths and bindings, which a scan of
/// the list per item compared pairwise.
fn push_unseen<'a, T: std::hash::Hash + Eq + Clone>(
    to: &mut Vec<T>,
    seen: &mut FxHashSet<&'a T>,
    items: &'a [T],
) {
    for i in items {
        if seen.insert(i) {
            to.push(i.clone());
        }
    }
}

/// "a, b, c" of at most `n`, then "…".
fn list(items: &[String], n: usize) -> String {
    let mut s = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > n {
        s.push_str(", …");
    }
    s
}

/// A version's numbers and words for ordering (`9.5.0` before `10.4.0`).
fn version_key(v: &str) -> Vec<(u64, String)> {
    v.split(['.', '-', '+'])
        .map(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            (digits.parse().unwrap_or(0), p[digits.len()..].to_string())
        })
        .collect()
}

/// A virtualenv's directory for its `lib/pythonX.Y/site-packages`.
fn environment(site: &str) -> &str {
    site.rfind("/lib/python")
        .or_else(|| site.rfind("/lib64/python"))
        .map_or(site, |i| &site[..i])
}

/// One finding of a group.
fn merge(cause: &Cause, fs: Vec<Finding>, cx: &Context<'_>) -> Option<Finding> {
    let one_pair = fs.len() == 1 && fs.iter().all(|f| f.id == FindingId::SymbolInterposition);
    if fs.len() < 2 && !(one_pair && matches!(cause, Cause::Python(_))) {
        return fs.into_iter().next();
    }
    let (mut sigs, pairs): (Vec<Finding>, Vec<Finding>) = fs
        .into_iter()
        .partition(|f| f.id != FindingId::SymbolInterposition);
    // The head: the worst signature, the most specific (fewest objects)
    // of equals.
    sigs.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.objects.len().cmp(&b.objects.len()))
            .then_with(|| a.id.cmp(&b.id))
    });
    let all: Vec<&Finding> = sigs.iter().chain(&pairs).collect();
    let severity = all.iter().map(|f| f.severity).max()?;
    let certainty = all.iter().map(|f| f.certainty).min()?;
    let mut processes: Vec<String> = Vec::new();
    for f in &all {
        push_new(&mut processes, &every_process(f));
    }
    let (mut objects, mut bindings, mut references, mut symptoms) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut seen = (
        FxHashSet::default(),
        FxHashSet::default(),
        FxHashSet::default(),
        FxHashSet::default(),
    );
    let mut symbols = BTreeSet::new();
    for f in &all {
        push_unseen(&mut objects, &mut seen.0, &f.objects);
        push_unseen(&mut bindings, &mut seen.1, &f.bindings);
        push_unseen(&mut references, &mut seen.2, &f.references);
        push_unseen(&mut symptoms, &mut seen.3, &f.symptoms);
        symbols.extend(f.symbols.iter().cloned());
    }
    // Where: the distributions' environments, the processes.
    let mut dists: Vec<Dist> = Vec::new();
    if let Cause::Python(key) = cause {
        for o in &objects {
            if let Some(d) = cx.units.of(o).filter(|d| d.key == *key)
                && !dists.iter().any(|x| x.site == d.site)
            {
                dists.push(d);
            }
        }
    }
    let mut where_ = Vec::new();
    if !dists.is_empty() {
        let at: Vec<String> = dists
            .iter()
            .map(|d| match &d.version {
                Some(v) => format!("{} ({} {v})", environment(&d.site), d.name),
                None => environment(&d.site).to_string(),
            })
            .collect();
        where_.push(format!(
            "in {} environment{}: {}",
            at.len(),
            if at.len() == 1 { "" } else { "s" },
            at.join(", ")
        ));
    }
    if processes.len() > 1 {
        where_.push(format!("in processes: {}", processes.join(", ")));
    }
    let pair_line = |p: &Finding| {
        let mut line = format!("{}: {}", p.title, p.evidence.join("; "));
        if processes.len() > 1
            && let Some(name) = &p.process
        {
            line.push_str(&format!(" (process {name})"));
        }
        line
    };
    // The first of the worst pairs, and its reason without its severity.
    let worst_pair = pairs.iter().rev().max_by_key(|p| p.severity);
    let reason = |p: &Finding| {
        let e = p.evidence.first().map_or("", String::as_str);
        e.split_once(": ")
            .filter(|(s, _)| ["info", "low", "medium", "high", "critical"].contains(s))
            .map_or(e, |(_, why)| why)
            .to_string()
    };
    let mut head = match sigs.first() {
        Some(h) => h.clone(),
        None => {
            let first = pairs.first()?.clone();
            Finding {
                title: title(cause, &pairs, &dists, symbols.len(), cx),
                remedy: remedy(cause, &dists, &first),
                ..first
            }
        }
    };
    let mut evidence = Vec::new();
    if sigs.is_empty() {
        if let Some(w) = worst_pair {
            evidence.push(if pairs.len() == 1 {
                format!("{}: {}", w.severity, reason(w))
            } else {
                format!(
                    "{}, the worst of {} pairs of copies: {}",
                    w.severity,
                    pairs.len(),
                    reason(w)
                )
            });
        }
    } else {
        evidence.extend(head.evidence.iter().cloned());
        if let Some(w) = worst_pair.filter(|w| w.severity > head.severity) {
            evidence.push(format!(
                "{}, more than the signature's {}, by a pair it does not explain: {}",
                w.severity,
                head.severity,
                reason(w)
            ));
        }
        for s in sigs.iter().skip(1) {
            if s.id != head.id {
                evidence.push(format!("also {} ({}): {}", s.id, s.severity, s.title));
            }
            evidence.extend(s.evidence.iter().cloned());
        }
    }
    evidence.extend(where_);
    evidence.extend(pairs.iter().map(pair_line));
    let mut remedy_text = head.remedy.clone();
    let mut said: BTreeSet<String> = BTreeSet::from([head.id.to_string()]);
    for s in sigs.iter().skip(1) {
        if said.insert(s.id.to_string()) {
            remedy_text.push_str(&format!(" Also ({}): {}", s.id, s.remedy));
        }
    }
    head.severity = severity;
    head.certainty = certainty;
    head.process = processes.first().cloned();
    head.processes = if processes.len() > 1 {
        processes
    } else {
        Vec::new()
    };
    head.objects = objects;
    head.symbols = symbols.into_iter().collect();
    head.bindings = bindings;
    head.evidence = evidence;
    head.remedy = remedy_text;
    head.references = references;
    head.symptoms = symptoms;
    Some(head)
}

/// APIs of the C library that other libraries implement themselves, by
/// the names (or name prefixes) of their functions and variables. A copy
/// that glibc answers is no copy of glibc: it is its own implementation of
/// one of these (librdkafka's bundled C11 threads next to glibc's since
/// 2.28), and a title naming "libc" would send the reader after the wrong
/// library.
const LIBC_APIS: [(&str, &[&str]); 4] = [
    (
        "C11 threads",
        &["thrd_", "mtx_", "cnd_", "tss_", "call_once"],
    ),
    (
        "POSIX regex",
        &["regcomp", "regexec", "regerror", "regfree"],
    ),
    (
        "getopt",
        &["getopt", "optarg", "optind", "opterr", "optopt"],
    ),
    ("iconv", &["iconv"]),
];

/// What an object's own definitions that glibc answers are: the C
/// library's APIs they belong to ([`LIBC_APIS`], else "C library"), with
/// the first names of each (`C11 threads functions (thrd_create,
/// mtx_destroy, cnd_broadcast, …)`).
fn libc_functions(symbols: &BTreeSet<String>) -> String {
    const SHOWN: usize = 3;
    let api_of = |s: &str| {
        LIBC_APIS
            .iter()
            .find(|(_, names)| names.iter().any(|n| s.starts_with(n)))
            .map(|(api, _)| *api)
    };
    let mut apis: Vec<&str> = Vec::new();
    let mut examples: Vec<&str> = Vec::new();
    for (api, names) in LIBC_APIS {
        for n in names {
            if let Some(s) = symbols.iter().find(|s| s.starts_with(n)) {
                push_new(&mut apis, &[api]);
                push_new(&mut examples, &[s.as_str()]);
            }
        }
    }
    let others: Vec<&str> = symbols
        .iter()
        .map(String::as_str)
        .filter(|s| api_of(s).is_none())
        .collect();
    push_new(&mut examples, &others);
    let mut what = match apis.split_last() {
        None => "C library".to_string(),
        Some((last, [])) => last.to_string(),
        Some((last, init)) => format!("{} and {last}", init.join(", ")),
    };
    if !apis.is_empty() && !others.is_empty() {
        what.push_str(" and other C library");
    }
    let mut shown = examples
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if symbols.len() > SHOWN {
        shown.push_str(", …");
    }
    format!("{what} functions ({shown})")
}

/// The title of a group of built-in pairs: the libraries whose copies
/// clash (for an embedder, those it holds copies of), and the C library
/// functions of its own that glibc answers.
fn title(
    cause: &Cause,
    pairs: &[Finding],
    dists: &[Dist],
    symbols: usize,
    cx: &Context<'_>,
) -> String {
    let mut families: Vec<String> = Vec::new();
    let mut libc: BTreeSet<String> = BTreeSet::new();
    for p in pairs {
        let (Some(l), Some(w)) = (p.objects.first(), p.objects.get(1)) else {
            continue;
        };
        let copy = match cause {
            Cause::Embedder(e)
                if cx.package(w).map_or(w.as_str(), |k| k.name.as_str()) == e.as_str() =>
            {
                l
            }
            _ => w,
        };
        let process = p.process.as_deref();
        if cx.facts(process, copy).is_some_and(super::is_glibc) {
            libc.extend(p.symbols.iter().cloned());
        } else {
            push_new(&mut families, &[cx.family(process, copy)]);
        }
    }
    families.sort();
    let n = format!("{symbols} symbol{}", if symbols == 1 { "" } else { "s" });
    let own = |copies: &str| match (families.is_empty(), libc.is_empty()) {
        (_, true) => format!("{copies} {}", list(&families, 6)),
        (false, false) => format!(
            "{copies} {} and its own {}",
            list(&families, 6),
            libc_functions(&libc)
        ),
        (true, false) => format!("its own {}", libc_functions(&libc)),
    };
    match cause {
        Cause::Python(_) => {
            let name = dists
                .first()
                .map_or("a Python package", |d| d.name.as_str());
            let mut versions: Vec<String> =
                dists.iter().filter_map(|d| d.version.clone()).collect();
            versions.sort_by_key(|v| version_key(v));
            versions.dedup();
            let versions = if versions.is_empty() {
                String::new()
            } else {
                format!(" {}", versions.join(", "))
            };
            let to = match (families.is_empty(), libc.is_empty()) {
                (_, true) => "other copies in the process",
                (false, false) => "other copies in the process and glibc's",
                (true, false) => "glibc's",
            };
            format!(
                "{name}{versions}: {} lose {n} to {to}",
                own("its own copies of")
            )
        }
        Cause::Embedder(e) => format!(
            "{}: {} and the process's shared ones take each other's symbols ({n})",
            file_name(e),
            own("its static copies of")
        ),
        Cause::Libraries(a, b) | Cause::Apart(a, b) => format!(
            "{a} and {b}: {n} of one bind to the other ({} pairs of copies)",
            pairs.len()
        ),
    }
}

/// The remedy of a group of built-in pairs.
fn remedy(cause: &Cause, dists: &[Dist], first: &Finding) -> String {
    match (cause, dists.first()) {
        (Cause::Python(_), Some(d)) => format!(
            "Build {0} from source in each environment so that it links the system's libraries instead of its own copies (`pip install --no-binary {0} {0}`, or the project's source distribution where {0} is a binary-only one), or keep the modules and extensions that bring the other copies out of the processes that import it.",
            d.name
        ),
        (Cause::Embedder(e), _) => format!(
            "Rebuild {} against the shared libraries instead of static copies, or keep it out of the process that loads the libraries its copies clash with.",
            file_name(e)
        ),
        _ => first.remedy.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Binding, Certainty, Severity};

    fn pair(
        process: &str,
        loser: &str,
        winner: &str,
        froms: &[&str],
        severity: Severity,
    ) -> Finding {
        let mut objects = vec![loser.to_string(), winner.to_string()];
        objects.extend(froms.iter().map(|s| s.to_string()));
        Finding {
            id: FindingId::SymbolInterposition,
            severity,
            certainty: Certainty::Likely,
            title: format!(
                "{} takes symbols of {}",
                file_name(winner),
                file_name(loser)
            ),
            process: Some(process.into()),
            processes: Vec::new(),
            objects,
            symbols: vec![format!("{}_fn", file_name(loser))],
            bindings: vec![Binding {
                symbol: "fn".into(),
                from: loser.into(),
                expected: Some(loser.into()),
                actual: Some(winner.into()),
            }],
            evidence: vec![format!("{severity}: why"), "1 reference".into()],
            remedy: "r".into(),
            references: vec!["x".into()],
            symptoms: Vec::new(),
            status: None,
        }
    }

    fn sig(id: &str, objects: &[&str], crossing: bool, severity: Severity) -> Finding {
        Finding {
            id: FindingId::Signature(id.into()),
            title: format!("signature {id}"),
            bindings: if crossing {
                vec![Binding {
                    symbol: "s".into(),
                    from: objects[0].into(),
                    expected: Some(objects[0].into()),
                    actual: objects.get(1).map(|s| s.to_string()),
                }]
            } else {
                Vec::new()
            },
            objects: objects.iter().map(|s| s.to_string()).collect(),
            remedy: format!("remedy of {id}"),
            ..pair("apache", "/a", "/b", &[], severity)
        }
    }

    const S1: &str = "/srv/app1/venv/lib/python3.11/site-packages";
    const S2: &str = "/srv/app2/venv/lib/python3.11/site-packages";

    fn run(
        findings: Vec<Finding>,
        owners: &BTreeMap<PathBuf, Package>,
        units: &Units,
    ) -> Vec<Finding> {
        let interposing = BTreeSet::from(["lxml-sig".to_string(), "apart-sig".to_string()]);
        by_cause(
            findings,
            &Context {
                images: &[],
                owners,
                units,
                interposing: &interposing,
            },
        )
    }

    #[test]
    fn normalised_names() {
        assert_eq!(normalise("psycopg2_binary"), "psycopg2-binary");
        assert_eq!(normalise("Pillow"), "pillow");
        assert_eq!(normalise("zope..interface"), "zope-interface");
    }

    /// Rule 1: a wheel's bundle (`<dist>.libs`), its module directory tied
    /// to it by RECORD, in two virtualenvs and two processes: one finding
    /// listing both environments and processes, every pair's evidence and
    /// bindings, the worst severity.
    #[test]
    fn one_finding_per_wheel_across_venvs_and_processes() {
        let jpeg1 = format!("{S1}/pillow.libs/libjpeg-2caf4b68.so.62.3.0");
        let tiff1 = format!("{S1}/pillow.libs/libtiff-ac0c3d92.so.6.0.0");
        let img1 = format!("{S1}/PIL/_imaging.cpython-311-x86_64-linux-gnu.so");
        let jpeg2 = format!("{S2}/pillow.libs/libjpeg-25f93ad1.so.62.4.0");
        let record: BTreeMap<PathBuf, Package> = [
            (&img1, "9.5.0"),
            (&jpeg1, "9.5.0"),
            (&tiff1, "9.5.0"),
            (&jpeg2, "11.0.0"),
        ]
        .into_iter()
        .map(|(p, v)| {
            (
                PathBuf::from(p),
                Package {
                    name: "pillow".into(),
                    version: v.into(),
                },
            )
        })
        .collect();
        let units = Units::new(&record, &[]);
        let unrelated = pair(
            "apache",
            "/usr/lib/liba.so.1",
            "/usr/lib/libb.so.1",
            &[],
            Severity::Low,
        );
        let found = run(
            vec![
                pair(
                    "app1",
                    &jpeg1,
                    "/usr/lib/libjpeg.so.62.3.0",
                    &[&img1],
                    Severity::Low,
                ),
                unrelated.clone(),
                pair(
                    "app1",
                    &tiff1,
                    "/usr/lib/libtiff.so.6.0.0",
                    &[],
                    Severity::Medium,
                ),
                pair(
                    "app2",
                    &jpeg2,
                    "/usr/lib/libjpeg.so.62.3.0",
                    &[],
                    Severity::High,
                ),
            ],
            &BTreeMap::new(),
            &units,
        );
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found.contains(&unrelated),
            "a group of one is left as it is"
        );
        let g = found
            .iter()
            .find(|f| *f != &unrelated)
            .expect("the pillow group");
        assert_eq!(g.id, FindingId::SymbolInterposition);
        assert_eq!(g.severity, Severity::High);
        assert_eq!(g.process.as_deref(), Some("app1"));
        assert!(
            g.title
                .starts_with("pillow 9.5.0, 11.0.0: its own copies of libjpeg, libtiff"),
            "{}",
            g.title
        );
        for o in [&jpeg1, &tiff1, &img1, &jpeg2] {
            assert!(g.objects.contains(o), "{o}");
        }
        assert_eq!(g.bindings.len(), 3);
        assert_eq!(g.evidence[0], "high, the worst of 3 pairs of copies: why");
        assert!(g.evidence.iter().any(|e| e == "in 2 environments: /srv/app1/venv (pillow 9.5.0), /srv/app2/venv (pillow 11.0.0)"), "{:?}", g.evidence);
        assert!(g.evidence.iter().any(|e| e == "in processes: app1, app2"));
        assert_eq!(
            g.evidence
                .iter()
                .filter(|e| e.contains("takes symbols of"))
                .count(),
            3
        );
        assert!(
            g.remedy.contains("pip install --no-binary pillow pillow"),
            "{}",
            g.remedy
        );
    }

    /// Rule 1 without RECORD: a module directory is tied to the `.libs`
    /// bundle its module brought (`psycopg2` → `psycopg2_binary`).
    #[test]
    fn bundle_alias_without_record() {
        let mut p = crate::image::bind::tests::P::new();
        let libs = format!("{S1}/psycopg2_binary.libs/libpq-e8a0a51f.so.5.16");
        let module = format!("{S1}/psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so");
        let a = p.obj(&libs, crate::image::bind::tests::O::new());
        let i = p.member(a, vec![crate::image::bind::Scope::Global(1)]);
        let mut image = p.image();
        image.members[i].brought_by = Some(module.clone());
        let units = Units::new(&BTreeMap::new(), &[&image]);
        assert_eq!(
            units.of(&module).map(|d| d.key),
            Some("psycopg2-binary".into())
        );
        assert_eq!(
            units.of(&libs).map(|d| d.name),
            Some("psycopg2_binary".into())
        );
        assert_eq!(
            units
                .of(&format!("{S1}/pycurl.cpython-311-x86_64-linux-gnu.so"))
                .map(|d| d.key),
            Some("pycurl".into())
        );
        assert_eq!(units.of("/usr/lib/libpq.so.5"), None);
    }

    /// Rule 1 with a signature: a signature finding with interposed
    /// bindings heads its distribution's group (its id, title, remedy), and
    /// a pair it does not explain raises the severity, saying why; one of
    /// copies no reference crosses stays apart, merged only with the same
    /// signature's finding of the same distribution.
    #[test]
    fn signatures_head_their_cause_and_apart_stays_visible() {
        let etree1 = format!("{S1}/lxml/etree.cpython-311-x86_64-linux-gnu.so");
        let etree2 = format!("{S2}/lxml/etree.cpython-311-x86_64-linux-gnu.so");
        let ssl1 = format!("{S1}/psycopg2_binary.libs/libssl-0331cfe8.so.1.1");
        let ssl2 = format!("{S2}/psycopg2_binary.libs/libssl-3e69114b.so.1.1");
        let krb = format!("{S1}/psycopg2_binary.libs/libkrb5-fcafa220.so.3.3");
        let units = Units::default();
        let found = run(
            vec![
                sig(
                    "lxml-sig",
                    &[&etree1, "/usr/lib/libxml2.so.2"],
                    true,
                    Severity::Medium,
                ),
                pair(
                    "app1",
                    &etree1,
                    "/usr/lib/libxslt.so.1",
                    &[],
                    Severity::High,
                ),
                sig(
                    "lxml-sig",
                    &[&etree2, "/usr/lib/libxml2.so.2"],
                    true,
                    Severity::Medium,
                ),
                sig(
                    "apart-sig",
                    &[&ssl1, "/usr/lib/libssl.so.3"],
                    false,
                    Severity::Info,
                ),
                sig(
                    "apart-sig",
                    &[&ssl2, "/usr/lib/libssl.so.3"],
                    false,
                    Severity::Info,
                ),
                pair("app1", &krb, "/usr/lib/libkrb5.so.3.3", &[], Severity::High),
            ],
            &BTreeMap::new(),
            &units,
        );
        let ids: Vec<(String, Severity)> = found
            .iter()
            .map(|f| (f.id.to_string(), f.severity))
            .collect();
        assert_eq!(
            ids,
            [
                ("lxml-sig".to_string(), Severity::High),
                ("apart-sig".to_string(), Severity::Info),
                ("symbol-interposition".to_string(), Severity::High),
            ]
        );
        let lxml = &found[0];
        assert_eq!(lxml.title, "signature lxml-sig");
        assert_eq!(lxml.remedy, "remedy of lxml-sig");
        assert!(
            lxml.objects.contains(&etree2)
                && lxml.objects.contains(&"/usr/lib/libxslt.so.1".to_string())
        );
        assert!(
            lxml.evidence.iter().any(|e| e
                == "high, more than the signature's medium, by a pair it does not explain: why"),
            "{:?}",
            lxml.evidence
        );
        assert!(found[1].objects.contains(&ssl1) && found[1].objects.contains(&ssl2));
    }

    /// A wheel's own definitions that glibc answers are no copy of "libc":
    /// the title names the C library API they implement (librdkafka's
    /// bundled C11 threads) with their first names, next to the libraries
    /// it has copies of; names of no known API are "C library functions".
    #[test]
    fn glibc_answering_is_named_by_its_functions() {
        let rdkafka = format!("{S1}/confluent_kafka.libs/librdkafka-55260171.so.1");
        let (libc, libz) = (
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
        );
        let mut p = crate::image::bind::tests::P::new();
        let o = crate::image::bind::tests::O::new;
        for (path, soname) in [
            (libc, "libc.so.6"),
            (libz, "libz.so.1"),
            (rdkafka.as_str(), "librdkafka-55260171.so.1"),
        ] {
            let x = p.obj(path, o().soname(soname));
            p.member(x, vec![crate::image::bind::Scope::Global(1)]);
        }
        let mut image = p.image();
        image.name = "app1".into();
        let record = BTreeMap::from([(
            PathBuf::from(&rdkafka),
            Package {
                name: "confluent-kafka".into(),
                version: "2.3.0".into(),
            },
        )]);
        let units = Units::new(&record, &[]);
        let (owners, interposing, images) = (BTreeMap::new(), BTreeSet::new(), [&image]);
        let cx = Context {
            images: &images,
            owners: &owners,
            units: &units,
            interposing: &interposing,
        };
        let with = |winner: &str, symbols: &[&str]| Finding {
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            ..pair("app1", &rdkafka, winner, &[], Severity::High)
        };
        let threads = ["cnd_broadcast", "cnd_wait", "mtx_lock", "thrd_create"];
        let found = by_cause(
            vec![with(libc, &threads), with(libz, &["deflate", "inflate"])],
            &cx,
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            found[0].title,
            "confluent-kafka 2.3.0: its own copies of libz and its own C11 threads functions \
             (thrd_create, mtx_lock, cnd_broadcast, …) lose 6 symbols to other copies in the \
             process and glibc's"
        );
        let found = by_cause(vec![with(libc, &["regcomp", "regexec", "strlcpy"])], &cx);
        assert_eq!(
            found[0].title,
            "confluent-kafka 2.3.0: its own POSIX regex and other C library functions \
             (regcomp, regexec, strlcpy) lose 3 symbols to glibc's"
        );
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            libc_functions(&names(&["strlcpy"])),
            "C library functions (strlcpy)"
        );
        assert_eq!(
            libc_functions(&names(&["regfree", "thrd_create"])),
            "C11 threads and POSIX regex functions (thrd_create, regfree)"
        );
    }

    /// Rules 2 and 3: an object with static copies groups every pair it is
    /// in; otherwise the packages (or families) of the two copies, in
    /// either direction.
    #[test]
    fn embedder_and_library_pairs() {
        let mut p = crate::image::bind::tests::P::new();
        let o = crate::image::bind::tests::O::new;
        for (path, soname) in [
            ("/usr/lib/apache2/modules/mod_x.so", None),
            ("/usr/lib/libz.so.1", Some("libz.so.1")),
            ("/usr/lib/libcrypto.so.3", Some("libcrypto.so.3")),
            ("/usr/lib/libedit.so.2", Some("libedit.so.2")),
            ("/usr/lib/libreadline.so.8", Some("libreadline.so.8")),
        ] {
            let x = p.obj(path, soname.map_or_else(o, |s| o().soname(s)));
            p.member(x, vec![crate::image::bind::Scope::Global(1)]);
        }
        let mut image = p.image();
        image.name = "apache".into();
        let owners: BTreeMap<PathBuf, Package> = [
            ("/usr/lib/libedit.so.2", "libedit2"),
            ("/usr/lib/libreadline.so.8", "libreadline8"),
        ]
        .into_iter()
        .map(|(f, n)| {
            (
                PathBuf::from(f),
                Package {
                    name: n.into(),
                    version: "1".into(),
                },
            )
        })
        .collect();
        let interposing = BTreeSet::new();
        let images = [&image];
        let cx = Context {
            images: &images,
            owners: &owners,
            units: &Units::default(),
            interposing: &interposing,
        };
        let found = by_cause(
            vec![
                pair(
                    "apache",
                    "/usr/lib/apache2/modules/mod_x.so",
                    "/usr/lib/libz.so.1",
                    &[],
                    Severity::High,
                ),
                pair(
                    "apache",
                    "/usr/lib/libreadline.so.8",
                    "/usr/lib/libedit.so.2",
                    &[],
                    Severity::High,
                ),
                pair(
                    "apache",
                    "/usr/lib/libcrypto.so.3",
                    "/usr/lib/apache2/modules/mod_x.so",
                    &[],
                    Severity::High,
                ),
                pair(
                    "apache",
                    "/usr/lib/libedit.so.2",
                    "/usr/lib/libreadline.so.8",
                    &[],
                    Severity::Low,
                ),
            ],
            &cx,
        );
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0]
                .title
                .starts_with("mod_x.so: its static copies of libcrypto, libz and"),
            "{}",
            found[0].title
        );
        assert_eq!(
            found[1].title,
            "libedit2 and libreadline8: 2 symbols of one bind to the other (2 pairs of copies)"
        );
        assert_eq!(found[1].severity, Severity::High);
    }
}
