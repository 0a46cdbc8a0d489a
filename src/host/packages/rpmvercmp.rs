//! RPM's version order and range overlap, as rpm defines them
//! (`rpmio/rpmvercmp.c`, `rpmio/rpmver.c`'s `rpmverOverlap`,
//! `lib/rpmds.c`'s `rpmdsCompare`), checked against rpm's own
//! `rpm.vercmp` on a table of pairs (`tests/it/overlay_rpm.rs`).
//!
//! A version is split into segments of ASCII digits or ASCII letters,
//! any other byte separating them; segments compare pairwise, numbers by
//! value (leading zeros dropped, then the longer one wins, then byte
//! order), letters by byte order, a number beating letters. `~` sorts
//! before anything, even the end (`1.0~rc1 < 1.0`); `^` after the end but
//! before anything else (`1.0 < 1.0^git1 < 1.0.1`). When every segment
//! compares equal, the version with segments left wins.

use std::cmp::Ordering;

use crate::root::rpm::{Dep, sense};

/// rpm's `rpmvercmp`: how version (or release, or epoch) `a` compares
/// with `b`.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut one, mut two) = (a.as_bytes(), b.as_bytes());
    let separator = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while one.first().is_some_and(|&c| separator(c)) {
            one = &one[1..];
        }
        while two.first().is_some_and(|&c| separator(c)) {
            two = &two[1..];
        }
        if one.is_empty() && two.is_empty() {
            break;
        }
        let (c1, c2) = (one.first().copied(), two.first().copied());
        if c1 == Some(b'~') || c2 == Some(b'~') {
            if c1 != Some(b'~') {
                return Ordering::Greater;
            }
            if c2 != Some(b'~') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        if c1 == Some(b'^') || c2 == Some(b'^') {
            if c1.is_none() {
                return Ordering::Less;
            }
            if c2.is_none() {
                return Ordering::Greater;
            }
            if c1 != Some(b'^') {
                return Ordering::Greater;
            }
            if c2 != Some(b'^') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        let (Some(c1), Some(_)) = (c1, c2) else {
            break;
        };
        let numeric = c1.is_ascii_digit();
        let class = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let n1 = one.iter().take_while(|c| class(c)).count();
        let n2 = two.iter().take_while(|c| class(c)).count();
        let (s1, s2) = (&one[..n1], &two[..n2]);
        // The second has no segment of the first's kind: a number is
        // newer than letters.
        if s2.is_empty() {
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let order = if numeric {
            let t1 = trim_zeros(s1);
            let t2 = trim_zeros(s2);
            t1.len().cmp(&t2.len()).then_with(|| t1.cmp(t2))
        } else {
            s1.cmp(s2)
        };
        if order != Ordering::Equal {
            return order;
        }
        one = &one[n1..];
        two = &two[n2..];
    }
    match (one.is_empty(), two.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let zeros = s.iter().take_while(|&&c| c == b'0').count();
    &s[zeros..]
}

/// `[epoch:]version[-release]` split as rpm's `parseEVR`: the epoch is
/// the leading digits before a `:` (an empty one is `0`), the release what
/// follows the last `-`.
struct Evr<'a> {
    epoch: Option<&'a str>,
    version: &'a str,
    release: Option<&'a str>,
}

fn parse_evr(evr: &str) -> Evr<'_> {
    let digits = evr.bytes().take_while(u8::is_ascii_digit).count();
    let (epoch, rest) = match evr.as_bytes().get(digits) {
        Some(b':') => {
            let e = &evr[..digits];
            (Some(if e.is_empty() { "0" } else { e }), &evr[digits + 1..])
        }
        _ => (None, evr),
    };
    // rpm looks for the last `-` from the end of the epoch's digits, so a
    // `-` in the epoch part is never one: the rest holds it.
    match rest.rfind('-') {
        Some(i) => Evr {
            epoch,
            version: &rest[..i],
            release: Some(&rest[i + 1..]),
        },
        None => Evr {
            epoch,
            version: rest,
            release: None,
        },
    }
}

fn set(e: Option<&str>) -> Option<&str> {
    e.filter(|e| !e.is_empty())
}

/// Whether `provided` satisfies `required`, as rpm's `rpmdsCompare`
/// decides it for two dependencies of the same name: either without a
/// comparison or a version always does; else the ranges must overlap.
pub fn satisfies(provided: &Dep, required: &Dep) -> bool {
    if provided.name != required.name {
        return false;
    }
    overlap(provided, required)
}

/// The overlap of the two version ranges (the names aside).
pub fn overlap(a: &Dep, b: &Dep) -> bool {
    let (fa, fb) = (a.flags & sense::MASK, b.flags & sense::MASK);
    if fa == 0 || fb == 0 || a.evr.is_empty() || b.evr.is_empty() {
        return true;
    }
    let (va, vb) = (parse_evr(&a.evr), parse_evr(&b.evr));
    let positive = |e: &str| {
        e.parse::<u64>()
            .map_or(e.bytes().any(|c| c != b'0'), |n| n > 0)
    };
    let mut order = match (set(va.epoch), set(vb.epoch)) {
        (Some(x), Some(y)) => rpmvercmp(x, y),
        (Some(x), None) if positive(x) => Ordering::Greater,
        (None, Some(y)) if positive(y) => Ordering::Less,
        _ => Ordering::Equal,
    };
    if order == Ordering::Equal {
        order = rpmvercmp(va.version, vb.version);
        if order == Ordering::Equal {
            match (set(va.release), set(vb.release)) {
                (Some(x), Some(y)) => order = rpmvercmp(x, y),
                // The side without a release matches any release when the
                // other side asks for equality.
                (Some(_), None) if fb & sense::EQUAL != 0 => return true,
                (None, Some(_)) if fa & sense::EQUAL != 0 => return true,
                _ => {}
            }
        }
    }
    match order {
        Ordering::Less => fa & sense::GREATER != 0 || fb & sense::LESS != 0,
        Ordering::Greater => fa & sense::LESS != 0 || fb & sense::GREATER != 0,
        Ordering::Equal => fa & fb & sense::MASK != 0,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Pairs and `rpm.vercmp(a, b)` as rpm 4.18 answers it (`rpm --eval
    /// '%{lua: print(rpm.vercmp(a, b))}'`); tests/it/overlay_rpm.rs asks
    /// rpm again for every pair, so the table cannot drift from rpm.
    pub(crate) const ORACLE: &[(&str, &str, i8)] = &[
        ("1.0", "1.0", 0),
        ("1.0", "2.0", -1),
        ("2.0", "1.0", 1),
        ("2.0.1", "2.0.1", 0),
        ("2.0", "2.0.1", -1),
        ("2.0.1a", "2.0.1", 1),
        ("5.5p1", "5.5p2", -1),
        ("5.5p10", "5.5p1", 1),
        ("10xyz", "10.1xyz", -1),
        ("xyz10", "xyz10.1", -1),
        ("xyz.4", "8", -1),
        ("8", "xyz.4", 1),
        ("1.0010", "1.9", 1),
        ("1.05", "1.5", 0),
        ("1.0", "1", 1),
        ("2.50", "2.5", 1),
        ("fc4", "fc.4", 0),
        ("FC5", "fc4", -1),
        ("2a", "2.0", -1),
        ("1.0a", "1.0", 1),
        ("1b.fc17", "1b.fc17", 0),
        ("1b.fc17", "1.fc17", -1),
        ("1.1.α", "1.1.α", 0),
        ("1.1.α", "1.1", 0),
        ("20101121", "20101121", 0),
        ("20101122", "20101121", 1),
        ("2_0", "2_0", 0),
        ("2.0", "2_0", 0),
        ("a", "a", 0),
        ("a+", "a+", 0),
        ("a+", "a_", 0),
        ("+a", "_a", 0),
        ("+_", "_+", 0),
        ("1.0~rc1", "1.0~rc1", 0),
        ("1.0~rc1", "1.0", -1),
        ("1.0", "1.0~rc1", 1),
        ("1.0~rc1", "1.0~rc2", -1),
        ("1.0~rc1~git123", "1.0~rc1", -1),
        ("1.0^", "1.0^", 0),
        ("1.0^", "1.0", 1),
        ("1.0", "1.0^", -1),
        ("1.0^git1", "1.0", 1),
        ("1.0^git1", "1.01", -1),
        ("1.0^20160101", "1.0.1", -1),
        ("1.0^20160101^git1", "1.0^20160101", 1),
        ("1.0~rc1^git1", "1.0~rc1", 1),
        ("1.0^git1~pre", "1.0^git1", -1),
        ("0000000000000000000000000010", "9", 1),
        (
            "99999999999999999999999999999",
            "100000000000000000000000000000",
            -1,
        ),
        ("1.2.13", "1.2.13", 0),
        ("3.el9", "3.el9_1", -1),
        ("3.el9_1", "3.el9_2", -1),
        ("8.2.25", "8.2.7", 1),
    ];

    #[test]
    fn rpmvercmp_agrees_with_rpm() {
        for &(a, b, want) in ORACLE {
            let got = match rpmvercmp(a, b) {
                Ordering::Less => -1,
                Ordering::Equal => 0,
                Ordering::Greater => 1,
            };
            assert_eq!(got, want, "rpmvercmp({a:?}, {b:?})");
        }
    }

    fn dep(name: &str, op: &str, evr: &str) -> Dep {
        let flags = match op {
            "<" => sense::LESS,
            "<=" => sense::LESS | sense::EQUAL,
            "=" => sense::EQUAL,
            ">=" => sense::GREATER | sense::EQUAL,
            ">" => sense::GREATER,
            _ => 0,
        };
        Dep {
            name: name.into(),
            flags,
            evr: evr.into(),
        }
    }

    /// rpmdsCompare's rules: an unversioned side always overlaps; a
    /// missing release matches any with `=`; a missing epoch is 0 unless
    /// the other side's is positive.
    #[test]
    fn ranges_overlap_as_rpm_decides() {
        let cases = [
            (("baz", "=", "2.1-1"), ("baz", ">=", "2"), true),
            (("baz", "=", "1.9-1"), ("baz", ">=", "2"), false),
            (("baz", "", ""), ("baz", ">=", "2"), true),
            (("baz", "=", "2-1"), ("baz", "=", "2"), true),
            (("baz", "=", "2-1"), ("baz", "=", "2-2"), false),
            (("baz", "=", "2-1"), ("baz", "<", "2-2"), true),
            (("baz", "=", "1:1.0-1"), ("baz", ">=", "2.0"), true),
            (("baz", "=", "1.0-1"), ("baz", ">=", "1:0.1"), false),
            (("baz", "=", "0:2.0-1"), ("baz", ">=", "2.0"), true),
            (("baz", ">=", "2"), ("baz", "<", "3"), true),
            (("baz", "<", "2"), ("baz", ">", "3"), false),
            (("other", "=", "2"), ("baz", ">=", "2"), false),
        ];
        for ((pn, po, pv), (rn, ro, rv), want) in cases {
            let (p, r) = (dep(pn, po, pv), dep(rn, ro, rv));
            assert_eq!(satisfies(&p, &r), want, "{p} satisfies {r}");
        }
    }
}
