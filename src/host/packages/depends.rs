//! Whether the packages of a what-if can be installed as they are: each
//! one's `Pre-Depends` and `Depends` (Debian policy §7.1, §7.5), checked
//! against the root's installed packages (dpkg's `status`) and the other
//! packages of the what-if. apt would install what is missing with them;
//! a what-if without it audits a host that cannot exist (a module whose
//! libraries were never installed fails to load), so what is missing is
//! named and the what-if is incomplete.
//!
//! The semantics are policy's: a field is a list of groups (`,`) of which
//! every one must be satisfied; a group is satisfied by any of its
//! alternatives (`|`); an alternative `NAME [(OP VERSION)]` by a package
//! named NAME whose version relates as asked (Debian's order,
//! [`super::debversion`]), or by a package that `Provides` NAME: any
//! such package when no version is asked, else only a versioned provision
//! (`Provides: NAME (= V)`) whose V relates. A package of the what-if
//! that has the name of an installed one replaces it: only the new version
//! counts. Only installed packages count (dpkg's `installed` and its two
//! trigger states), not ones half-installed or removed with their
//! configuration kept. Architectures: a package of another architecture
//! than the one depending on it satisfies it only when it is `all`, or
//! `Multi-Arch: foreign`, or the dependency says `:any` (and it is
//! `Multi-Arch: allowed`); `[arch]` and `<profile>` restrictions, which
//! only source packages carry, are ignored.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::debversion;
use crate::budget::{self, DEPENDS_ATOMS};

/// A package as the dependency check sees it: installed (from dpkg's
/// status) or part of the what-if (from its control file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub version: String,
    pub architecture: String,
    pub multi_arch: String,
    pub pre_depends: String,
    pub depends: String,
    pub provides: String,
}

/// A relation's operator (`<<`, `<=`, `=`, `>=`, `>>`; the obsolete `<` and
/// `>` mean `<=` and `>=`, as dpkg reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "<<" => Op::Lt,
            "<=" | "<" => Op::Le,
            "=" => Op::Eq,
            ">=" | ">" => Op::Ge,
            ">>" => Op::Gt,
            _ => return None,
        })
    }

    fn holds(self, o: Ordering) -> bool {
        match self {
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
            Op::Eq => o == Ordering::Equal,
            Op::Ge => o != Ordering::Less,
            Op::Gt => o == Ordering::Greater,
        }
    }
}

/// One alternative: `NAME[:ARCH] [(OP VERSION)]`, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Atom<'a> {
    name: &'a str,
    arch: Option<&'a str>,
    constraint: Option<(Op, &'a str)>,
    text: String,
}

/// A relation field: groups of alternatives, or the text of a group that
/// does not parse (which dpkg would refuse the package for).
/// Lazily, so a budget stops the work on a hostile field.
fn parse(field: &str) -> impl Iterator<Item = Result<Vec<Atom<'_>>, String>> {
    field
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(|group| {
            group
                .split('|')
                .map(|alt| atom(alt).ok_or_else(|| group.to_string()))
                .collect()
        })
}

fn atom(text: &str) -> Option<Atom<'_>> {
    // After the name and relation may come restrictions only source
    // packages carry: `[amd64]`, `<!nocheck>`.
    let restricted = |s: &str| {
        let s = s.trim_start();
        s.is_empty() || s.starts_with(['[', '<'])
    };
    match text.find('(') {
        Some(i) => {
            let (head, rest) = text.split_at(i);
            let (inner, after) = rest.get(1..)?.split_once(')')?;
            restricted(after).then_some(())?;
            named(head, Some(inner))
        }
        None => {
            let end = text.find(['[', '<']).unwrap_or(text.len());
            named(&text[..end], None)
        }
    }
}

fn named<'a>(head: &'a str, relation: Option<&'a str>) -> Option<Atom<'a>> {
    let head = head.trim();
    let (name, arch) = match head.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (head, None),
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    };
    if !valid(name) || arch.is_some_and(|a| !valid(a)) {
        return None;
    }
    let constraint = match relation {
        None => None,
        Some(r) => {
            let r = r.trim();
            let split = r
                .find(|c: char| !matches!(c, '<' | '>' | '='))
                .unwrap_or(r.len());
            let (op, version) = r.split_at(split);
            let version = version.trim();
            if version.is_empty() || version.contains(char::is_whitespace) {
                return None;
            }
            Some((Op::parse(op)?, version))
        }
    };
    let text = match constraint {
        Some(_) => format!("{} ({})", head, relation.unwrap_or_default().trim()),
        None => head.to_string(),
    };
    Some(Atom {
        name,
        arch,
        constraint,
        text,
    })
}

/// The packages that satisfy dependencies, by name and by what they
/// provide.
struct Universe<'a> {
    by_name: HashMap<&'a str, Vec<&'a Candidate>>,
    /// Provided name → (provider, provided version).
    provided: HashMap<&'a str, Vec<(&'a Candidate, Option<&'a str>)>>,
}

impl<'a> Universe<'a> {
    fn new(packages: &[&'a Candidate]) -> Universe<'a> {
        let mut by_name: HashMap<&str, Vec<&Candidate>> = HashMap::new();
        let mut provided: HashMap<&str, Vec<(&Candidate, Option<&str>)>> = HashMap::new();
        for &p in packages {
            by_name.entry(&p.name).or_default().push(p);
            for group in parse(&p.provides).flatten() {
                for a in group {
                    // Only `=` is allowed in Provides.
                    let version = a.constraint.filter(|c| c.0 == Op::Eq).map(|c| c.1);
                    provided.entry(a.name).or_default().push((p, version));
                }
            }
        }
        Universe { by_name, provided }
    }

    /// How the best-matching package of `atom`'s name fails it, or `None`
    /// when one satisfies it.
    fn satisfies(&self, of: &Candidate, atom: &Atom<'_>) -> Result<(), Miss> {
        let arch_ok = |p: &Candidate| {
            p.architecture == "all"
                || of.architecture == "all"
                || p.architecture == of.architecture
                || p.multi_arch == "foreign"
                || (atom.arch == Some("any") && p.multi_arch == "allowed")
        };
        let relates = |version: &str| match atom.constraint {
            None => true,
            Some((op, wanted)) => op.holds(debversion::compare(version, wanted)),
        };
        let mut seen = None;
        for p in self.by_name.get(atom.name).into_iter().flatten() {
            if arch_ok(p) && relates(&p.version) {
                return Ok(());
            }
            seen.get_or_insert(*p);
        }
        for (p, version) in self.provided.get(atom.name).into_iter().flatten() {
            let ok = match (atom.constraint, version) {
                (None, _) => true,
                (Some(_), Some(v)) => relates(v),
                (Some(_), None) => false,
            };
            if arch_ok(p) && ok {
                return Ok(());
            }
        }
        Err(match seen {
            Some(p) => Miss::Version(p.name.clone(), p.version.clone()),
            None => Miss::Absent,
        })
    }
}

enum Miss {
    Absent,
    /// A package of the name is there, at this version (or architecture).
    Version(String, String),
}

/// Groups of unmet dependencies named per package.
const GROUPS_NAMED: usize = 16;

/// The unmet `Pre-Depends` and `Depends` of each package of `whatif`,
/// against `installed` (dpkg's installed packages; those a package of
/// the what-if replaces are left out) and the what-if's own packages: one
/// line per package that has any (`libapache2-mod-security2 needs
/// liblua5.1-0, libyajl2: not installed and not part of this what-if`),
/// in the what-if's order.
pub fn unmet(installed: &[Candidate], whatif: &[Candidate]) -> Vec<String> {
    let replaced = |i: &Candidate| {
        whatif.iter().any(|w| {
            w.name == i.name
                && (w.architecture == i.architecture
                    || w.architecture == "all"
                    || i.architecture == "all")
        })
    };
    let all: Vec<&Candidate> = installed
        .iter()
        .filter(|i| !replaced(i))
        .chain(whatif)
        .collect();
    let universe = Universe::new(&all);
    let mut out = Vec::new();
    for pkg in whatif {
        let mut absent = Vec::new();
        let mut wrong = Vec::new();
        let mut bad = Vec::new();
        let mut atoms = 0usize;
        let mut over = false;
        let fields = parse(&pkg.pre_depends).chain(parse(&pkg.depends));
        for group in fields {
            let group = match group {
                Ok(g) => g,
                Err(text) => {
                    bad.push(text);
                    continue;
                }
            };
            atoms += group.len();
            if atoms > DEPENDS_ATOMS {
                over = true;
                break;
            }
            let mut misses = Vec::new();
            for a in &group {
                match universe.satisfies(pkg, a) {
                    Ok(()) => {
                        misses.clear();
                        break;
                    }
                    Err(m) => misses.push((a, m)),
                }
            }
            if misses.is_empty() {
                continue;
            }
            let text = group
                .iter()
                .map(|a| a.text.as_str())
                .collect::<Vec<_>>()
                .join(" | ");
            let found: Vec<String> = misses
                .iter()
                .filter_map(|(_, m)| match m {
                    Miss::Version(n, v) => Some(format!("{n} {v}")),
                    Miss::Absent => None,
                })
                .collect();
            if found.is_empty() {
                let names: Vec<&str> = group.iter().map(|a| a.name).collect();
                absent.push(names.join(" | "));
            } else {
                wrong.push(format!("{text} ({} is there)", found.join(", ")));
            }
        }
        if absent.is_empty() && wrong.is_empty() && bad.is_empty() && !over {
            continue;
        }
        let mut parts = Vec::new();
        if !absent.is_empty() {
            parts.push(format!(
                "{}: not installed and not part of this what-if",
                named_list(&absent)
            ));
        }
        if !wrong.is_empty() {
            parts.push(named_list(&wrong));
        }
        if !bad.is_empty() {
            parts.push(format!("{} (does not parse)", named_list(&bad)));
        }
        if over {
            parts.push(format!(
                "{}: the rest not checked",
                budget::exceeded("DEPENDS_ATOMS", DEPENDS_ATOMS)
            ));
        }
        out.push(format!("{} needs {}", pkg.name, parts.join("; ")));
    }
    out
}

/// `a, b, c` of at most [`GROUPS_NAMED`], then how many more.
fn named_list(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(GROUPS_NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > GROUPS_NAMED {
        s.push_str(&format!(" and {} more", items.len() - GROUPS_NAMED));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, version: &str, depends: &str, provides: &str) -> Candidate {
        Candidate {
            name: name.into(),
            version: version.into(),
            architecture: "amd64".into(),
            multi_arch: String::new(),
            pre_depends: String::new(),
            depends: depends.into(),
            provides: provides.into(),
        }
    }

    #[test]
    fn parses_policy_relations() {
        let g = parse(
            "libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, foo:any, bar [amd64] <!nocheck>,, baz(<<2)",
        );
        let g: Vec<Vec<String>> = g
            .map(|g| g.unwrap().into_iter().map(|a| a.text).collect())
            .collect();
        assert_eq!(
            g,
            vec![
                vec!["libc6 (>= 2.34)".to_string()],
                vec!["debconf (>= 0.5)".into(), "debconf-2.0".into()],
                vec!["foo:any".into()],
                vec!["bar".into()],
                vec!["baz (<<2)".into()],
            ]
        );
        let a = atom("x ( >> 1:2-3 )").unwrap();
        assert_eq!(a.constraint, Some((Op::Gt, "1:2-3")));
        assert_eq!(atom("x (>= )"), None);
        assert_eq!(atom("x (~= 1)"), None);
        assert_eq!(atom("x y"), None);
        assert_eq!(atom("x (>= 1"), None);
        assert!(parse("a, (b)").any(|g| g.is_err()));
    }

    /// The case: mod_security2 alone names its two missing
    /// libraries; with them in the what-if nothing is missing.
    #[test]
    fn names_what_is_missing() {
        let installed = vec![
            pkg("libc6", "2.36-9+deb12u14", "", ""),
            pkg("libxml2", "2.9.14+dfsg-1.3~deb12u6", "", ""),
            pkg(
                "apache2-bin",
                "2.4.71-1~deb12u1",
                "",
                "apache2-api-20120211, httpd",
            ),
        ];
        let modsec = pkg(
            "libapache2-mod-security2",
            "2.9.7-1+deb12u2",
            "libxml2 (>= 2.9.14), libc6 (>= 2.34), liblua5.1-0, libyajl2 (>= 2.0.4), apache2-api-20120211, apache2-bin (>= 2.4.16)",
            "",
        );
        assert_eq!(
            unmet(&installed, std::slice::from_ref(&modsec)),
            vec![
                "libapache2-mod-security2 needs liblua5.1-0, libyajl2: not installed and not part of this what-if"
            ]
        );
        let with = vec![
            modsec,
            pkg("liblua5.1-0", "5.1.5-9", "libc6 (>= 2.14)", ""),
            pkg("libyajl2", "2.1.0-3+deb12u2", "libc6 (>= 2.4)", ""),
        ];
        assert_eq!(unmet(&installed, &with), Vec::<String>::new());
    }

    /// Versions in Debian's order, `=` exact, a replaced package's old
    /// version gone, versioned and unversioned provisions as policy §7.5
    /// says, alternatives.
    #[test]
    fn versions_provisions_and_replacements() {
        let installed = vec![
            pkg("libpython3.11-minimal", "3.11.2-6+deb12u6", "", ""),
            pkg("libpython3.11-stdlib", "3.11.2-6+deb12u6", "", ""),
            pkg("mime-support", "3.66", "", ""),
            pkg(
                "apache2-bin",
                "2.4.71-1~deb12u1",
                "",
                "httpd, apache2-api-20120211 (= 1)",
            ),
        ];
        let stdlib = pkg(
            "libpython3.11-stdlib",
            "3.11.2-6+deb12u9",
            "libpython3.11-minimal (= 3.11.2-6+deb12u9), media-types | mime-support",
            "",
        );
        assert_eq!(
            unmet(&installed, std::slice::from_ref(&stdlib)),
            vec![
                "libpython3.11-stdlib needs libpython3.11-minimal (= 3.11.2-6+deb12u9) (libpython3.11-minimal 3.11.2-6+deb12u6 is there)"
            ]
        );
        let minimal = pkg("libpython3.11-minimal", "3.11.2-6+deb12u9", "", "");
        assert!(unmet(&installed, &[stdlib.clone(), minimal.clone()]).is_empty());
        // A package of the what-if that needs the old version of one it
        // replaces is not satisfied by the installed old one.
        let old_user = pkg("x", "1", "libpython3.11-stdlib (<< 3.11.2-6+deb12u7)", "");
        assert_eq!(
            unmet(&installed, std::slice::from_ref(&old_user)),
            Vec::<String>::new()
        );
        assert_eq!(
            unmet(&installed, &[stdlib, minimal, old_user]),
            vec![
                "x needs libpython3.11-stdlib (<< 3.11.2-6+deb12u7) (libpython3.11-stdlib 3.11.2-6+deb12u9 is there)"
            ]
        );
        // Provisions: unversioned by any, versioned only by `(= V)`.
        let needs = |d: &str| unmet(&installed, &[pkg("m", "1", d, "")]);
        assert!(needs("httpd").is_empty());
        assert_eq!(needs("httpd (>= 2)").len(), 1);
        assert!(needs("apache2-api-20120211 (>= 1)").is_empty());
        assert_eq!(needs("apache2-api-20120211 (>> 1)").len(), 1);
        assert!(needs("nope | httpd").is_empty());
        assert_eq!(
            needs("a (>= 1), b | c, apache2-bin (>= 3)"),
            vec![
                "m needs a, b | c: not installed and not part of this what-if; apache2-bin (>= 3) (apache2-bin 2.4.71-1~deb12u1 is there)"
            ]
        );
    }

    /// Another architecture satisfies only when it may.
    #[test]
    fn architectures() {
        let mut i386 = pkg("libfoo", "1", "", "");
        i386.architecture = "i386".into();
        let needs =
            |installed: &[Candidate], d: &str| unmet(installed, &[pkg("m", "1", d, "")]).len();
        assert_eq!(needs(std::slice::from_ref(&i386), "libfoo"), 1);
        i386.multi_arch = "foreign".into();
        assert_eq!(needs(std::slice::from_ref(&i386), "libfoo"), 0);
        i386.multi_arch = "allowed".into();
        assert_eq!(needs(std::slice::from_ref(&i386), "libfoo"), 1);
        assert_eq!(needs(std::slice::from_ref(&i386), "libfoo:any"), 0);
        i386.architecture = "all".into();
        i386.multi_arch.clear();
        assert_eq!(needs(std::slice::from_ref(&i386), "libfoo"), 0);
    }

    /// A hostile field: a million alternatives are checked within the
    /// budget, the rest named as not checked; the lines stay short.
    #[test]
    fn huge_fields_are_bounded() {
        let field: String = (0..1_000_000).map(|i| format!("p{i}, ")).collect();
        let t = std::time::Instant::now();
        let out = unmet(&[], &[pkg("m", "1", &field, "")]);
        assert!(t.elapsed().as_secs() < 2, "{:?}", t.elapsed());
        assert_eq!(out.len(), 1);
        assert!(out[0].contains("and 9984 more"), "{}", &out[0][..200]);
        assert!(out[0].ends_with("budget exceeded: DEPENDS_ATOMS (10000): the rest not checked"));
        assert!(out[0].len() < 1000);
    }
}
