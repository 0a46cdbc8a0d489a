//! How bad an interposition is, from what it does: the severity of one
//! pair of copies (the loser, whose definitions its references expected,
//! and the winner, which answers them) with the reason said in words.
//!
//! What decides, in order:
//!
//! 1. Which two copies. Two *different libraries* (the loser is an
//!    extension module or library with a static copy of the winner's
//!    library, or another implementation of the same names) or two
//!    *ABIs* of one library (the sonames' major versions differ:
//!    `libsasl2.so.3` and `libsasl2.so.2`) are high: the references run
//!    on code that was not built for them. Two copies of one library and
//!    ABI are high when the loser's own references move and the file
//!    versions differ (a *split copy*: its internal functions stay, its
//!    exported ones are the other release's, and the two share the
//!    loser's private structures); medium when a newer copy loses to an
//!    older one (the objects built against the newer run on the older);
//!    low otherwise (older or the same version, or unknown). GCC's
//!    runtime (`libstdc++`, `libgcc_s`) taking functions of a static copy
//!    is low: GCC keeps it backward compatible, so the system's copy
//!    serves code built with an older GCC
//!    (<https://gcc.gnu.org/onlinedocs/libstdc++/manual/abi.html>).
//! 2. Whether the path needs an import web applications do not make: when
//!    every crossing needs a module only interactive sessions (`readline`,
//!    `curses`, Tk) or test suites (`_test*`, `*_tests`) import, it is at
//!    most low ([`interactive_only`]).
//!
//! Whether references cross at all is the binding model's answer (B8–B10
//! of glibc's `elf/dl-lookup.c`: a versioned reference only matches a
//! definition of that version name): copies kept apart by their version
//! nodes never make a pair, and a signature about them says so
//! (`when_apart`, [`super::matcher`]).

use std::collections::BTreeSet;

use crate::elf::ElfFacts;
use crate::image::{How, ProcessImage};
use crate::model::Severity;

use super::file_name;

/// One pair of copies as the severity rules see it.
#[derive(Debug, Clone, Copy)]
pub struct Pair<'a> {
    pub loser: &'a str,
    pub winner: &'a str,
    pub loser_facts: Option<&'a ElfFacts>,
    pub winner_facts: Option<&'a ElfFacts>,
    /// The loser's own references are among those that move.
    pub loser_refers_itself: bool,
    /// Some symbol that moves is a variable (`STT_OBJECT`, `STT_TLS`) in
    /// the winner: data, not only functions.
    pub data: bool,
}

/// A severity and the sentence that justifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub severity: Severity,
    pub why: String,
}

/// The name a copy goes by: its soname, else its file name.
fn name(path: &str, facts: Option<&ElfFacts>) -> String {
    facts
        .and_then(|f| f.soname.as_ref())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .unwrap_or_else(|| file_name(path).to_string())
}

/// The library family of a copy: its soname (else file name) before
/// `.so`, without auditwheel's `-<8 hex>` graft suffix, and for a Python
/// extension module (`pycurl.cpython-311-x86_64-linux-gnu.so`) its module
/// name: `libsasl2-883649fd.so.3` and `libsasl2.so.2` are both `libsasl2`.
pub fn family(path: &str, facts: Option<&ElfFacts>) -> String {
    let n = name(path, facts);
    let stem = n.split(".so").next().unwrap_or(&n);
    let stem = if stem.contains(".cpython-") || stem.contains(".abi3") || stem.contains(".pypy") {
        stem.split('.').next().unwrap_or(stem)
    } else {
        stem
    };
    match stem.rsplit_once('-') {
        Some((base, hash))
            if !base.is_empty()
                && hash.len() == 8
                && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            base.to_string()
        }
        _ => stem.to_string(),
    }
}

/// The soname's major version (`3` of `libsasl2-883649fd.so.3`), the
/// number a library changes when it breaks its ABI.
fn abi(path: &str, facts: Option<&ElfFacts>) -> Option<String> {
    let n = name(path, facts);
    let (_, v) = n.split_once(".so.")?;
    v.split('.').next().map(str::to_string)
}

/// The version the file name carries after `.so.` (`2.0.25` of
/// `libsasl2.so.2.0.25`), as numbers for comparing.
pub fn file_version(p: &str) -> Option<Vec<u64>> {
    let (_, v) = file_name(p).split_once(".so.")?;
    v.split('.').map(|x| x.parse().ok()).collect()
}

/// The text after `.so.` in a file name, or `unversioned`.
pub(crate) fn version_text(p: &str) -> String {
    file_name(p)
        .split_once(".so.")
        .map_or_else(|| "unversioned".to_string(), |(_, v)| v.to_string())
}

/// GCC's runtime libraries, which GCC keeps backward compatible.
const GCC_RUNTIME: [&str; 2] = ["libstdc++", "libgcc_s"];

/// The severity of one pair of copies, and why (module comment, rule 1).
pub fn judge(p: &Pair<'_>) -> Judgement {
    let (lf, wf) = (
        family(p.loser, p.loser_facts),
        family(p.winner, p.winner_facts),
    );
    let (ln, wn) = (file_name(p.loser), file_name(p.winner));
    let what = if p.data {
        "functions and data"
    } else {
        "functions"
    };
    if lf != wf {
        if GCC_RUNTIME.contains(&wf.as_str()) && !p.data {
            return Judgement {
                severity: Severity::Low,
                why: format!(
                    "{wn} (GCC's runtime) answers functions of {ln}'s own copy; GCC keeps its runtime backward compatible, so it serves code built with an older GCC (it matters only if {ln} was built with a newer one)"
                ),
            };
        }
        return Judgement {
            severity: Severity::High,
            why: format!(
                "{what} of {ln} are answered by {wn}, a different library ({lf} and {wf} define the same names, as a static copy or another implementation does): {ln} runs partly on code it was not built with"
            ),
        };
    }
    if let (Some(la), Some(wa)) = (abi(p.loser, p.loser_facts), abi(p.winner, p.winner_facts))
        && la != wa
    {
        return Judgement {
            severity: Severity::High,
            why: format!(
                "{ln} and {wn} are copies of {lf} with different ABIs (soname version {la} and {wa}): {what} of one ABI run on the other"
            ),
        };
    }
    let (lv, wv) = (file_version(p.loser), file_version(p.winner));
    let (lt, wt) = (version_text(p.loser), version_text(p.winner));
    // Versions of which one is a prefix of the other (`4` and `4.8.0`: a
    // file named by its soname) say nothing about which is newer.
    let comparable = match (&lv, &wv) {
        (Some(l), Some(w)) => l == w || !(l.starts_with(w) || w.starts_with(l)),
        _ => false,
    };
    let differ = comparable && lv != wv;
    if p.loser_refers_itself && differ {
        return Judgement {
            severity: Severity::High,
            why: format!(
                "{ln} ({lt}) is split: its own calls to its exported {what} go to {wn} ({wt}) while its internal ones stay, so two releases of {lf} share its private structures"
            ),
        };
    }
    if differ && lv > wv {
        return Judgement {
            severity: Severity::Medium,
            why: format!(
                "the newer {lf} {lt} loses {what} to the older {wt}: objects built against {lt} run on {wt}"
            ),
        };
    }
    Judgement {
        severity: Severity::Low,
        why: if differ {
            format!("the older {lf} {lt} loses {what} to the newer {wt}, the same ABI")
        } else if comparable {
            format!(
                "two copies of {lf} with the same ABI and file version ({lt}): no sign the builds differ"
            )
        } else {
            format!(
                "two copies of {lf} with the same ABI; their file names ({ln}, {wn}) do not tell which release is newer"
            )
        },
    }
}

/// Python modules only interactive sessions or test suites import (a web
/// application does not): `readline`, `_curses`, `_curses_panel`,
/// `_tkinter` and other Tk bridges (a name ending in `tk`, like Pillow's
/// `_imagingtk`), and test modules (`_test*`, `*_test`, `*_tests`,
/// `xxlimited*`, `xxsubtype`, `_xxtestfuzz`, anything under a `test` or
/// `tests` directory).
pub fn interactive_module(path: &str) -> bool {
    let module = module_name(path);
    let in_test_dir = path
        .rsplit('/')
        .skip(1)
        .any(|d| d == "test" || d == "tests");
    matches!(
        module,
        "readline" | "_curses" | "_curses_panel" | "_tkinter"
    ) || module.ends_with("tk")
        || module.starts_with("_test")
        || module.ends_with("_test")
        || module.ends_with("_tests")
        || module.starts_with("xxlimited")
        || module == "xxsubtype"
        || module == "_xxtestfuzz"
        || in_test_dir
}

/// A Python extension module's name: its file name before the first `.`.
fn module_name(path: &str) -> &str {
    file_name(path).split('.').next().unwrap_or_default()
}

/// The Python module whose import puts `object` in the process: the
/// object itself when it is an imported extension module, else the module
/// that brought it; `None` for what the configuration loads.
fn importer<'a>(image: &'a ProcessImage, object: &'a str) -> Option<&'a str> {
    let m = image.members.iter().find(|m| m.object == object)?;
    if m.how == How::Dlopen && m.via.starts_with("import") {
        Some(m.object.as_str())
    } else if m.may_be_imported {
        m.brought_by.as_deref()
    } else {
        None
    }
}

/// When every crossing (a referencing object and the winner it binds to)
/// needs an import of an interactive or test-only module, those modules;
/// a crossing needs one when its referencing object or its winner is in
/// the process only through such an import.
pub fn interactive_only<'a>(
    image: &ProcessImage,
    crossings: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<Vec<String>> {
    let mut modules = BTreeSet::new();
    let mut any = false;
    for (from, winner) in crossings {
        any = true;
        let needs = [from, winner]
            .into_iter()
            .filter_map(|o| importer(image, o))
            .find(|m| interactive_module(m));
        match needs {
            Some(m) => modules.insert(module_name(m).to_string()),
            None => return None,
        };
    }
    any.then(|| modules.into_iter().collect())
}

/// The evidence line of the interactive cap.
pub fn interactive_note(modules: &[String]) -> String {
    let names: Vec<String> = modules.iter().map(|m| format!("`{m}`")).collect();
    format!(
        "at most low: every crossing needs Python to import {}, which only interactive sessions or test suites do, not web applications",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::bind::Scope::{Global, List};
    use crate::image::bind::tests::{O, P, def};

    fn facts(soname: &str) -> ElfFacts {
        ElfFacts {
            soname: Some(soname.into()),
            ..ElfFacts::default()
        }
    }

    fn pair<'a>(
        loser: &'a str,
        winner: &'a str,
        lf: Option<&'a ElfFacts>,
        wf: Option<&'a ElfFacts>,
    ) -> Pair<'a> {
        Pair {
            loser,
            winner,
            loser_facts: lf,
            winner_facts: wf,
            loser_refers_itself: false,
            data: false,
        }
    }

    /// Families: the soname before `.so`, the graft hash and a module's
    /// ABI tag removed.
    #[test]
    fn families() {
        let sasl = facts("libsasl2-883649fd.so.3");
        assert_eq!(
            family("/sp/x.libs/libsasl2-883649fd.so.3.0.0", Some(&sasl)),
            "libsasl2"
        );
        assert_eq!(family("/usr/lib/libsasl2.so.2.0.25", None), "libsasl2");
        assert_eq!(
            family("/sp/pycurl.cpython-311-x86_64-linux-gnu.so", None),
            "pycurl"
        );
        assert_eq!(family("/usr/lib/libstdc++.so.6.0.30", None), "libstdc++");
        // Not a graft hash: kept.
        assert_eq!(family("/usr/lib/libfoo-1.2.so", None), "libfoo-1.2");
    }

    /// Rule 1: another library (a static copy in a module) is high, with
    /// functions or data said.
    #[test]
    fn another_library_is_high() {
        let mut p = pair(
            "/sp/lxml/etree.cpython-311-x86_64-linux-gnu.so",
            "/usr/lib/libxml2.so.2.9.14",
            None,
            None,
        );
        p.data = true;
        let j = judge(&p);
        assert_eq!(j.severity, Severity::High);
        assert!(
            j.why.contains("functions and data") && j.why.contains("a different library"),
            "{}",
            j.why
        );
    }

    /// Rule 1: GCC's runtime answering functions of a static copy is low;
    /// with data it is high like any other library.
    #[test]
    fn gcc_runtime_is_low_for_functions() {
        let mut p = pair(
            "/sp/grpc/_cython/cygrpc.cpython-311-x86_64-linux-gnu.so",
            "/usr/lib/libstdc++.so.6.0.30",
            None,
            None,
        );
        assert_eq!(judge(&p).severity, Severity::Low);
        p.data = true;
        assert_eq!(judge(&p).severity, Severity::High);
    }

    /// Rule 1: one library, two ABIs (soname majors) is high whatever the
    /// versions.
    #[test]
    fn another_abi_is_high() {
        let (l, w) = (facts("libsasl2-883649fd.so.3"), facts("libsasl2.so.2"));
        let p = pair(
            "/sp/p.libs/libsasl2-883649fd.so.3.0.0",
            "/usr/lib/libsasl2.so.2.0.25",
            Some(&l),
            Some(&w),
        );
        let j = judge(&p);
        assert_eq!(j.severity, Severity::High);
        assert!(j.why.contains("different ABIs"), "{}", j.why);
    }

    /// Rule 1, one library and ABI: a split copy of another version is
    /// high; a newer copy losing whole is medium; an older or the same
    /// version low.
    #[test]
    fn same_abi_by_versions_and_split() {
        let (l, w) = (facts("libtiff-f683b479.so.6"), facts("libtiff.so.6"));
        let mut p = pair(
            "/sp/pillow.libs/libtiff-f683b479.so.6.0.2",
            "/usr/lib/libtiff.so.6.0.0",
            Some(&l),
            Some(&w),
        );
        assert_eq!(judge(&p).severity, Severity::Medium);
        p.loser_refers_itself = true;
        let j = judge(&p);
        assert_eq!(j.severity, Severity::High);
        assert!(j.why.contains("split"), "{}", j.why);
        // The same file version: low, split or not.
        let same = pair(
            "/sp/pillow.libs/libtiff-f683b479.so.6.0.0",
            "/usr/lib/libtiff.so.6.0.0",
            Some(&l),
            Some(&w),
        );
        assert_eq!(
            judge(&Pair {
                loser_refers_itself: true,
                ..same
            })
            .severity,
            Severity::Low
        );
        // A file named by its soname says nothing of its release: low.
        let unknown = pair(
            "/sp/pillow.libs/libtiff-f683b479.so.6.0.2",
            "/usr/lib/libtiff.so.6",
            Some(&l),
            Some(&w),
        );
        let j = judge(&Pair {
            loser_refers_itself: true,
            ..unknown
        });
        assert_eq!(j.severity, Severity::Low);
        assert!(j.why.contains("do not tell"), "{}", j.why);
        // Older loses to newer, whole: low.
        let older = pair(
            "/sp/pillow.libs/libtiff-f683b479.so.6.0.0",
            "/usr/lib/libtiff.so.6.0.2",
            Some(&l),
            Some(&w),
        );
        assert_eq!(judge(&older).severity, Severity::Low);
    }

    /// Interactive and test modules by name.
    #[test]
    fn interactive_modules_by_name() {
        for yes in [
            "/usr/lib/python3.11/lib-dynload/readline.cpython-311-x86_64-linux-gnu.so",
            "/usr/lib/python3.11/lib-dynload/_curses.cpython-311-x86_64-linux-gnu.so",
            "/usr/lib/python3.11/lib-dynload/_tkinter.cpython-311-x86_64-linux-gnu.so",
            "/sp/PIL/_imagingtk.cpython-311-x86_64-linux-gnu.so",
            "/usr/lib/python3.11/lib-dynload/_testcapi.cpython-311-x86_64-linux-gnu.so",
            "/sp/numpy/core/_umath_tests.cpython-311-x86_64-linux-gnu.so",
            "/sp/foo/tests/_helper.cpython-311-x86_64-linux-gnu.so",
        ] {
            assert!(interactive_module(yes), "{yes}");
        }
        for no in [
            "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
            "/sp/lxml/etree.cpython-311-x86_64-linux-gnu.so",
            "/usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so",
        ] {
            assert!(!interactive_module(no), "{no}");
        }
    }

    /// Rule 2: a crossing needs an interactive import when its referencing
    /// object or its winner is in the process only through one; every
    /// crossing must.
    #[test]
    fn interactive_only_needs_every_crossing() {
        let readline = "/usr/lib/python3.11/lib-dynload/readline.cpython-311-x86_64-linux-gnu.so";
        let mut p = P::new();
        let e = p.obj("/usr/sbin/httpd", O::new());
        let edit = p.obj("/usr/lib/libedit.so.2", O::new().sym(def("rl_done")));
        let rl = p.obj("/usr/lib/libreadline.so.8", O::new().sym(def("rl_done")));
        let m = p.obj(readline, O::new());
        let ssl = p.obj("/usr/lib/python3.11/lib-dynload/_ssl.so", O::new());
        p.link.global = vec![e, edit];
        let me = p.member(e, vec![Global(1)]);
        p.m(me).exec = true;
        p.member(edit, vec![Global(1)]);
        for (o, via) in [(m, "import (x)"), (ssl, "import (x)")] {
            let i = p.member(o, vec![Global(2), List(vec![o])]);
            p.via(i, via);
            p.m(i).may_be_imported = true;
        }
        let i = p.member(rl, vec![Global(2), List(vec![rl])]);
        p.m(i).may_be_imported = true;
        let mut image = p.image();
        image.members[i].brought_by = Some(readline.to_string());
        let (edit, rl) = ("/usr/lib/libedit.so.2", "/usr/lib/libreadline.so.8");
        assert_eq!(
            interactive_only(&image, [(rl, edit), (readline, edit)]),
            Some(vec!["readline".to_string()])
        );
        assert_eq!(
            interactive_only(
                &image,
                [
                    (rl, edit),
                    ("/usr/lib/python3.11/lib-dynload/_ssl.so", edit)
                ]
            ),
            None
        );
        assert_eq!(interactive_only(&image, []), None);
    }
}
