//! Whether the `.rpm`s of a what-if can be installed as they are: each
//! one's `Requires` checked against the root's installed packages (its
//! rpm database) and the other packages of the what-if, as rpm's
//! `unsatisfiedDepend` (`lib/depends.c`) checks them before a
//! transaction. dnf would install what is missing with them; a what-if
//! without it audits a host that cannot exist, so what is missing is
//! named and the what-if is incomplete.
//!
//! A requirement is satisfied by a package that provides its name in a
//! range that overlaps ([`super::rpmvercmp::satisfies`]); a path (`/bin/sh`)
//! also by a package that lists that file. Satisfied by rpm itself:
//! `rpmlib(...)` (rpm's own features, which the rpm that reads the
//! package has; one it lacks would make it refuse the package, which
//! rpm says itself), and `user(NAME)`/`group(NAME)` when the root's
//! `/etc/passwd`/`/etc/group` has the name. Never unsatisfied: weak ones
//! (`missingok`). A `%pretrans` requirement only by installed packages.
//! Rich dependencies (`(a or b)`, `(a if b else c)`) are evaluated term
//! by term; `with` and `without`, which ask one package to provide both
//! or only the first, are taken as `and` and as the first term. A package
//! of the what-if with the name of an installed one replaces it: only the
//! new version's provisions count.

use std::collections::{HashMap, HashSet};

use super::rpmvercmp::satisfies;
use crate::budget::{self, RPM_REQUIRES};
use crate::root::rpm::{Dep, sense};

/// A package as the check sees it: installed (from the rpm database) or
/// part of the what-if (from its header).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub provides: Vec<Dep>,
    pub requires: Vec<Dep>,
    /// Its files, which satisfy file requirements.
    pub files: Vec<String>,
}

/// The capabilities one check reads: provisions by name, files.
struct Pool<'a> {
    provides: HashMap<&'a str, Vec<&'a Dep>>,
    files: HashSet<&'a str>,
}

impl<'a> Pool<'a> {
    fn new(packages: impl Iterator<Item = &'a Candidate>) -> Pool<'a> {
        let mut pool = Pool {
            provides: HashMap::new(),
            files: HashSet::new(),
        };
        for p in packages {
            for d in &p.provides {
                pool.provides.entry(d.name.as_str()).or_default().push(d);
            }
            pool.files.extend(p.files.iter().map(String::as_str));
        }
        pool
    }

    fn satisfies(&self, d: &Dep) -> bool {
        (d.name.starts_with('/') && self.files.contains(d.name.as_str()))
            || self
                .provides
                .get(d.name.as_str())
                .is_some_and(|ps| ps.iter().any(|p| satisfies(p, d)))
    }
}

/// Each what-if package's unsatisfied requirements, one line per package
/// (`foo needs libbar.so.1()(64bit), baz >= 2: not installed and not part
/// of this what-if`), in the what-if's order. `installed` are the root's
/// packages, those the what-if replaces already left out; `system` says
/// whether the root has a user (`user`) or group (`group`) of a name.
pub fn unmet(
    installed: &[Candidate],
    whatif: &[Candidate],
    system: &dyn Fn(&str, &str) -> bool,
) -> Vec<String> {
    let before = Pool::new(installed.iter());
    let after = Pool::new(installed.iter().chain(whatif));
    let mut out = Vec::new();
    for p in whatif {
        let mut missing: Vec<String> = Vec::new();
        let mut terms = 0usize;
        let mut over = false;
        for d in &p.requires {
            if d.flags & sense::MISSINGOK != 0
                || d.flags & sense::RPMLIB != 0
                || d.name.starts_with("rpmlib(")
            {
                continue;
            }
            let pool = if d.flags & (sense::PRETRANS | sense::PREUNTRANS) != 0 {
                &before
            } else {
                &after
            };
            let ok = if d.name.starts_with('(') {
                match rich(d.name.as_bytes()) {
                    Some(expr) => expr.holds(&mut |t| {
                        terms += 1;
                        terms <= RPM_REQUIRES && simple(pool, t, system)
                    }),
                    None => false,
                }
            } else {
                terms += 1;
                simple(pool, d, system)
            };
            if terms > RPM_REQUIRES {
                over = true;
                break;
            }
            let shown = d.to_string();
            if !ok && !missing.contains(&shown) {
                missing.push(shown);
            }
        }
        if over {
            missing.push(format!(
                "({}: the rest not checked)",
                budget::exceeded("RPM_REQUIRES", RPM_REQUIRES)
            ));
        }
        if !missing.is_empty() {
            out.push(format!(
                "{} needs {}: not installed and not part of this what-if",
                p.name,
                missing.join(", ")
            ));
        }
    }
    out
}

/// One requirement that is not rich.
fn simple(pool: &Pool<'_>, d: &Dep, system: &dyn Fn(&str, &str) -> bool) -> bool {
    if d.name.starts_with("rpmlib(") {
        return true;
    }
    for kind in ["user", "group"] {
        if let Some(name) = d
            .name
            .strip_prefix(kind)
            .and_then(|n| n.strip_prefix('('))
            .and_then(|n| n.strip_suffix(')'))
        {
            if system(kind, name) {
                return true;
            }
        }
    }
    pool.satisfies(d)
}

/// A rich dependency (rpm 4.13's boolean dependencies).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rich {
    Term(Dep),
    And(Vec<Rich>),
    Or(Vec<Rich>),
    /// `a if b [else c]`
    If(Box<Rich>, Box<Rich>, Option<Box<Rich>>),
    /// `a unless b [else c]`
    Unless(Box<Rich>, Box<Rich>, Option<Box<Rich>>),
}

impl Rich {
    /// Whether it holds, `term` deciding each simple requirement.
    fn holds(&self, term: &mut dyn FnMut(&Dep) -> bool) -> bool {
        match self {
            Rich::Term(d) => term(d),
            Rich::And(all) => all.iter().all(|r| r.holds(term)),
            Rich::Or(any) => any.iter().any(|r| r.holds(term)),
            // A IF B ELSE C: B ? A : C; without ELSE, C holds.
            Rich::If(a, b, c) => {
                if b.holds(term) {
                    a.holds(term)
                } else {
                    c.as_ref().is_none_or(|c| c.holds(term))
                }
            }
            // A UNLESS B ELSE C: B ? C : A; without ELSE, C fails.
            Rich::Unless(a, b, c) => {
                if b.holds(term) {
                    c.as_ref().is_some_and(|c| c.holds(term))
                } else {
                    a.holds(term)
                }
            }
        }
    }
}

/// Parses a rich dependency as rpm's `rpmrichParse` reads it, or `None`
/// for one it would refuse (rpm then counts it unsatisfied).
fn rich(text: &[u8]) -> Option<Rich> {
    let mut p = Parser { s: text, at: 0 };
    let r = p.group(0)?;
    p.blanks();
    (p.at == p.s.len()).then_some(r)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

/// Nesting of rich dependencies; rpm's own parser recurses without a
/// bound, real ones nest two or three deep.
const RICH_DEPTH: usize = 32;

impl Parser<'_> {
    fn blanks(&mut self) {
        while self.s.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn word(&mut self) -> &[u8] {
        self.blanks();
        let start = self.at;
        let mut depth = 0usize;
        while let Some(&c) = self.s.get(self.at) {
            match c {
                b'(' => depth += 1,
                b')' if depth == 0 => break,
                b')' => depth -= 1,
                c if c.is_ascii_whitespace() && depth == 0 => break,
                _ => {}
            }
            self.at += 1;
        }
        &self.s[start..self.at]
    }

    fn peek(&mut self) -> Option<u8> {
        self.blanks();
        self.s.get(self.at).copied()
    }

    /// `( operand [op operand]... )`
    fn group(&mut self, depth: usize) -> Option<Rich> {
        if depth > RICH_DEPTH || self.peek()? != b'(' {
            return None;
        }
        self.at += 1;
        let first = self.operand(depth)?;
        let mut op: Option<Vec<u8>> = None;
        let mut items = vec![first];
        let mut otherwise = None;
        loop {
            if self.peek()? == b')' {
                self.at += 1;
                break;
            }
            let word = self.word().to_vec();
            match (op.as_deref(), word.as_slice()) {
                (Some(b"if" | b"unless"), b"else") if otherwise.is_none() && items.len() == 2 => {
                    otherwise = Some(Box::new(self.operand(depth)?));
                }
                (None, b"and" | b"or" | b"with" | b"without" | b"if" | b"unless") => {
                    op = Some(word);
                    items.push(self.operand(depth)?);
                }
                (Some(prev), w) if prev == w && matches!(w, b"and" | b"or" | b"with") => {
                    items.push(self.operand(depth)?);
                }
                _ => return None,
            }
        }
        Some(match op.as_deref() {
            None => items.pop()?,
            Some(b"and" | b"with") => Rich::And(items),
            Some(b"or") => Rich::Or(items),
            Some(b"without") => items.into_iter().next()?,
            Some(kind) => {
                let mut it = items.into_iter();
                let (a, b) = (Box::new(it.next()?), Box::new(it.next()?));
                if kind == b"if" {
                    Rich::If(a, b, otherwise)
                } else {
                    Rich::Unless(a, b, otherwise)
                }
            }
        })
    }

    /// A nested group, or `NAME [OP EVR]`.
    fn operand(&mut self, depth: usize) -> Option<Rich> {
        if self.peek()? == b'(' {
            return self.group(depth + 1);
        }
        let name = String::from_utf8_lossy(self.word()).into_owned();
        if name.is_empty() {
            return None;
        }
        let save = self.at;
        let flags = match self.word() {
            b"<" => sense::LESS,
            b"<=" => sense::LESS | sense::EQUAL,
            b"=" | b"==" => sense::EQUAL,
            b">=" => sense::GREATER | sense::EQUAL,
            b">" => sense::GREATER,
            _ => {
                self.at = save;
                return Some(Rich::Term(Dep {
                    name,
                    flags: 0,
                    evr: String::new(),
                }));
            }
        };
        let evr = String::from_utf8_lossy(self.word()).into_owned();
        if evr.is_empty() {
            return None;
        }
        Some(Rich::Term(Dep { name, flags, evr }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(text: &str) -> Dep {
        let mut w = text.split_whitespace();
        let name = w.next().unwrap().to_string();
        let flags = match w.next() {
            Some(">=") => sense::GREATER | sense::EQUAL,
            Some("=") => sense::EQUAL,
            Some("<") => sense::LESS,
            _ => 0,
        };
        Dep {
            name,
            flags,
            evr: w.next().unwrap_or_default().to_string(),
        }
    }

    fn package(name: &str, provides: &[&str], requires: &[&str], files: &[&str]) -> Candidate {
        Candidate {
            name: name.into(),
            provides: provides.iter().map(|d| dep(d)).collect(),
            requires: requires
                .iter()
                .map(|d| {
                    if d.starts_with('(') {
                        Dep {
                            name: d.to_string(),
                            flags: 0,
                            evr: String::new(),
                        }
                    } else {
                        dep(d)
                    }
                })
                .collect(),
            files: files.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn nobody(_: &str, _: &str) -> bool {
        false
    }

    #[test]
    fn requires_against_installed_and_whatif() {
        let installed = [
            package("baz", &["baz = 2.1-1"], &[], &["/usr/bin/baz"]),
            package("bash", &["bash = 5.1-1"], &[], &["/usr/bin/sh"]),
        ];
        let whatif = [
            package(
                "foo",
                &["foo = 1.0-1"],
                &[
                    "baz >= 2",
                    "baz >= 3",
                    "libbar.so.1()(64bit)",
                    "/usr/bin/sh",
                    "/bin/sh",
                    "rpmlib(PayloadIsZstd) <= 5.4.18-1",
                    "qux",
                    "(qux or baz)",
                    "(qux if baz)",
                    "(qux if nothing else baz)",
                    "(baz and (qux or foo >= 1))",
                    "(baz unless qux)",
                    "(perl(Foo::Bar) or baz > 3)",
                ],
                &[],
            ),
            package("qux", &["qux = 1-1"], &[], &[]),
        ];
        assert_eq!(
            unmet(&installed, &whatif, &nobody),
            [
                "foo needs baz >= 3, libbar.so.1()(64bit), /bin/sh, (baz unless qux), (perl(Foo::Bar) or baz > 3): not installed and not part of this what-if"
            ]
        );
    }

    /// A `%pretrans` requirement is not met by a package of the same
    /// transaction; weak ones never fail; `user()` by the root's users.
    #[test]
    fn pretrans_weak_and_users() {
        let mut p = package("foo", &[], &["bar", "weak", "user(apache)"], &[]);
        p.requires[0].flags |= sense::PRETRANS;
        p.requires[1].flags |= sense::MISSINGOK;
        let bar = package("bar", &["bar = 1-1"], &[], &[]);
        let got = unmet(&[], &[p.clone(), bar], &|k, n| k == "user" && n == "apache");
        assert_eq!(
            got,
            ["foo needs bar: not installed and not part of this what-if"]
        );
        let got = unmet(&[], &[p], &nobody);
        assert_eq!(
            got,
            ["foo needs bar, user(apache): not installed and not part of this what-if"]
        );
    }

    /// What rpm's parser would refuse is unsatisfied, never a panic.
    #[test]
    fn rich_parse_errors() {
        for bad in [
            "(",
            "()",
            "(a and)",
            "(a and b or c)",
            "(a >=)",
            "(a b)",
            "((((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))",
        ] {
            assert!(rich(bad.as_bytes()).is_none(), "{bad}");
        }
        assert_eq!(
            rich(b"(a >= 1 with a < 2)"),
            Some(Rich::And(vec![
                Rich::Term(Dep {
                    name: "a".into(),
                    flags: sense::GREATER | sense::EQUAL,
                    evr: "1".into()
                }),
                Rich::Term(Dep {
                    name: "a".into(),
                    flags: sense::LESS,
                    evr: "2".into()
                }),
            ]))
        );
    }
}
