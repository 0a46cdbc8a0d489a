//! Debian's version order, as dpkg compares (`lib/dpkg/version.c`:
//! `parseversion` splits, `verrevcmp` compares), for the what-if's
//! dependency check: `libxml2 (>= 2.9.14)` is satisfied or not by the
//! version installed, and apt and dpkg decide by this order alone.
//!
//! Written here rather than taken from the `debversion` crate, which
//! disagrees with dpkg on four of the forty-four pairs of dpkg's own test
//! table (`0foo-` against `0foo`, `0foo-0`, `0foo+`, and `-0.6.5` against
//! `0.9.1`: it keeps a trailing `-` in the upstream version where dpkg
//! takes an empty revision). Digit runs are compared by length once their
//! leading zeros are dropped, so a hostile version of any length costs
//! linear time and never overflows.

use std::cmp::Ordering;

/// A version split as dpkg's `parseversion` splits it: the epoch before
/// the first `:` (0 when absent or not a number), the revision after the
/// last `-` (empty when absent), the upstream version between. Invalid
/// versions are split the same way, as `dpkg --compare-versions` does
/// with a warning: a package database is not refused for one odd string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version<'a> {
    pub epoch: u64,
    pub upstream: &'a str,
    pub revision: &'a str,
}

impl<'a> Version<'a> {
    pub fn parse(text: &'a str) -> Version<'a> {
        let text = text.trim();
        let (epoch, rest) = match text.split_once(':') {
            Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
                // dpkg refuses an epoch over INT_MAX; the largest keeps the order.
                (e.parse().unwrap_or(u64::MAX), rest)
            }
            _ => (0, text),
        };
        let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
        Version {
            epoch,
            upstream,
            revision,
        }
    }
}

impl Ord for Version<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream, other.upstream))
            .then_with(|| verrevcmp(self.revision, other.revision))
    }
}

impl PartialOrd for Version<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two version strings in Debian's order.
pub fn compare(a: &str, b: &str) -> Ordering {
    Version::parse(a).cmp(&Version::parse(b))
}

/// dpkg's `order()`: `~` sorts before everything, even the end of the
/// part; letters before other characters.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternating runs of non-digits (compared with
/// [`order`]) and digits (compared as numbers).
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = a.get(i).copied().filter(|c| !c.is_ascii_digit());
            let bc = b.get(j).copied().filter(|c| !c.is_ascii_digit());
            let (x, y) = (order(ac), order(bc));
            if x != y {
                return x.cmp(&y);
            }
            i += usize::from(ac.is_some());
            j += usize::from(bc.is_some());
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let (si, sj) = (i, j);
        while a.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        // Without leading zeros, the longer run is the larger number; of
        // two as long, the first differing digit decides.
        let by_number = (i - si)
            .cmp(&(j - sj))
            .then_with(|| a[si..i].cmp(&b[sj..j]));
        if by_number != Ordering::Equal {
            return by_number;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    /// dpkg's own table (scripts/t/Dpkg_Version.t, `__DATA__`): A B and
    /// how A compares with B.
    const DPKG_TABLE: &str = "\
1.0-1 2.0-2 -1
2.2~rc-4 2.2-1 -1
2.2-1 2.2~rc-4 1
1.0000-1 1.0-1 0
1 0:1 0
0 0:0-0 0
2:2.5 1:7.5 1
1:0foo 0foo 1
0:0foo 0foo 0
0foo 0foo 0
0foo- 0foo 0
0foo- 0foo-0 0
0foo 0fo 1
0foo- 0foo+ -1
0foo~1 0foo -1
0foo~foo+Bar 0foo~foo+bar -1
0foo~~ 0foo~ -1
1~ 1 -1
12345+that-really-is-some-ver-0 12345+that-really-is-some-ver-10 -1
0foo-0 0foo-01 -1
0foo.bar 0foobar 1
0foo.bar 0foo1bar 1
0foo.bar 0foo0bar 1
0foo1bar-1 0foobar-1 -1
0foo2.0 0foo2 1
0foo2.0.0 0foo2.10.0 -1
0foo2.0 0foo2.0.0 -1
0foo2.0 0foo2.10 -1
0foo2.1 0foo2.10 -1
1.09 1.9 0
1.0.8+nmu1 1.0.8 1
3.11 3.10+nmu1 1
0.9j-20080306-4 0.9i-20070324-2 1
1.2.0~b7-1 1.2.0~b6-1 1
1.011-1 1.06-2 1
0.0.9+dfsg1-1 0.0.8+dfsg1-3 1
4.6.99+svn6582-1 4.6.99+svn6496-1 1
53 52 1
0.9.9~pre122-1 0.9.9~pre111-1 1
2:2.3.2-2+lenny2 2:2.3.2-2 1
1:3.8.1-1 3.8.GA-1 1
1.0.1+gpl-1 1.0.1-2 1
1a 1000a -1
-0.6.5 0.9.1 -1
";

    #[test]
    fn dpkgs_table() {
        let mut n = 0;
        for line in DPKG_TABLE.lines() {
            let [a, b, want]: [&str; 3] = line
                .split(' ')
                .collect::<Vec<_>>()
                .try_into()
                .unwrap_or_else(|_| panic!("{line}"));
            let want = match want {
                "-1" => Ordering::Less,
                "0" => Ordering::Equal,
                _ => Ordering::Greater,
            };
            assert_eq!(compare(a, b), want, "{a} vs {b}");
            assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
            n += 1;
        }
        assert_eq!(n, 44);
    }

    /// lib/dpkg/t/t-version.c's splits: the last `-` starts the revision,
    /// the first `:` ends the epoch, spaces around are ignored.
    #[test]
    fn splits_as_parseversion() {
        let v = |e, u, r| Version {
            epoch: e,
            upstream: u,
            revision: r,
        };
        assert_eq!(Version::parse("0:0-0-0"), v(0, "0-0", "0"));
        assert_eq!(Version::parse("0:0:0-0"), v(0, "0:0", "0"));
        assert_eq!(Version::parse("0:0-0:0-0"), v(0, "0-0:0", "0"));
        assert_eq!(Version::parse("5:1"), v(5, "1", ""));
        assert_eq!(Version::parse(" \t0:0-1  "), v(0, "0", "1"));
        assert_eq!(compare("0:09azAZ.-+~:-0", "09azAZ.-+~:-0"), Ordering::Equal);
        assert_eq!(compare("1:2.36-9", "1:2.36-9+deb12u14"), Ordering::Less);
    }

    /// A hostile version: a digit run longer than any integer, compared
    /// without overflow; a huge epoch sorts last.
    #[test]
    fn long_numbers_compare_as_numbers() {
        let big = format!("1{}", "0".repeat(10_000));
        let bigger = format!("2{}", "0".repeat(10_000));
        assert_eq!(compare(&big, &bigger), Ordering::Less);
        assert_eq!(compare(&format!("000{big}"), &big), Ordering::Equal);
        assert_eq!(compare(&big, "9"), Ordering::Greater);
        assert_eq!(
            compare("99999999999999999999999999:1", "4294967295:1"),
            Ordering::Greater
        );
    }
}
