//! Shell patterns inside a root, as glibc's `glob` and `fnmatch` match them
//! (ldconfig's `include` lines, the host crawler's search places).

use std::os::unix::ffi::OsStrExt;

use bstr::ByteSlice;
use std::path::PathBuf;

use super::Root;

fn inner(bytes: &[u8]) -> PathBuf {
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(dir.len() + 1 + name.len());
    p.extend_from_slice(dir);
    p.push(b'/');
    p.extend_from_slice(name);
    p
}

/// `glob (pattern, 0, …)` inside the root: `*`, `?`, `[…]` and `\` in any
/// component, hidden names only matched by a literal leading `.`, results
/// sorted bytewise (ldconfig forces `LC_COLLATE=C`). Literal components are
/// not checked here; a missing file is simply not read.
pub(super) fn glob(root: &Root, pattern: &[u8]) -> Vec<Vec<u8>> {
    let mut candidates: Vec<Vec<u8>> = vec![Vec::new()];
    for comp in pattern.split(|&c| c == b'/').filter(|c| !c.is_empty()) {
        if has_magic(comp) {
            let mut next = Vec::new();
            for c in &candidates {
                let dir = if c.is_empty() {
                    b"/".to_vec()
                } else {
                    c.clone()
                };
                let Ok(names) = root.read_dir(&inner(&dir)) else {
                    continue;
                };
                for n in names {
                    if fnmatch(comp, n.as_bytes()) {
                        next.push(join(c, n.as_bytes()));
                    }
                }
            }
            candidates = next;
        } else {
            let lit = unescape(comp);
            for c in &mut candidates {
                c.push(b'/');
                c.extend_from_slice(&lit);
            }
        }
        if candidates.is_empty() {
            break;
        }
    }
    candidates.retain(|c| !c.is_empty());
    candidates.sort();
    candidates
}

fn unescape(comp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(comp.len());
    let mut it = comp.iter();
    while let Some(&c) = it.next() {
        if c == b'\\' {
            out.push(it.next().copied().unwrap_or(b'\\'));
        } else {
            out.push(c);
        }
    }
    out
}

/// `__glob_pattern_p` with quoting: `*`, `?`, or `[` with a later `]`.
fn has_magic(comp: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&c) = comp.get(i) {
        match c {
            b'\\' => i += 1,
            b'*' | b'?' => return true,
            b'[' if comp.get(i + 1..).is_some_and(|r| r.contains(&b']')) => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// One pattern element.
enum Token {
    Star,
    Any,
    Byte(u8),
    Set { negate: bool, items: Vec<SetItem> },
}

enum SetItem {
    Range(u8, u8),
    Class(fn(u8) -> bool),
    Never,
}

/// The next token at `p` and where the one after starts.
fn token(pat: &[u8], p: usize) -> Option<(Token, usize)> {
    let c = *pat.get(p)?;
    Some(match c {
        b'*' => (Token::Star, p + 1),
        b'?' => (Token::Any, p + 1),
        b'\\' => match pat.get(p + 1) {
            Some(&n) => (Token::Byte(n), p + 2),
            None => (Token::Byte(b'\\'), p + 1),
        },
        b'[' => bracket(pat, p).unwrap_or((Token::Byte(b'['), p + 1)),
        _ => (Token::Byte(c), p + 1),
    })
}

/// A bracket expression at `p` (`[`), or `None` if it is not closed.
fn bracket(pat: &[u8], p: usize) -> Option<(Token, usize)> {
    let mut i = p + 1;
    let negate = matches!(pat.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut items = Vec::new();
    let mut first = true;
    loop {
        let c = *pat.get(i)?;
        if c == b']' && !first {
            return Some((Token::Set { negate, items }, i + 1));
        }
        first = false;
        if c == b'[' && pat.get(i + 1) == Some(&b':') {
            let rest = pat.get(i + 2..)?;
            let end = rest.find(b":]")?;
            let name = rest.get(..end)?;
            items.push(match class(name) {
                Some(f) => SetItem::Class(f),
                None => SetItem::Never,
            });
            i += 2 + end + 2;
            continue;
        }
        let (lo, next) = if c == b'\\' {
            (*pat.get(i + 1)?, i + 2)
        } else {
            (c, i + 1)
        };
        i = next;
        if pat.get(i) == Some(&b'-') && pat.get(i + 1).is_some_and(|&n| n != b']') {
            let hc = *pat.get(i + 1)?;
            let (hi, next) = if hc == b'\\' {
                (*pat.get(i + 2)?, i + 3)
            } else {
                (hc, i + 2)
            };
            i = next;
            items.push(SetItem::Range(lo, hi));
        } else {
            items.push(SetItem::Range(lo, lo));
        }
    }
}

fn class(name: &[u8]) -> Option<fn(u8) -> bool> {
    Some(match name {
        b"alpha" => |c: u8| c.is_ascii_alphabetic(),
        b"digit" => |c: u8| c.is_ascii_digit(),
        b"alnum" => |c: u8| c.is_ascii_alphanumeric(),
        b"upper" => |c: u8| c.is_ascii_uppercase(),
        b"lower" => |c: u8| c.is_ascii_lowercase(),
        b"space" => is_space,
        b"blank" => is_blank,
        b"punct" => |c: u8| c.is_ascii_punctuation(),
        b"xdigit" => |c: u8| c.is_ascii_hexdigit(),
        b"cntrl" => |c: u8| c.is_ascii_control(),
        b"graph" => |c: u8| c.is_ascii_graphic(),
        b"print" => |c: u8| c.is_ascii_graphic() || c == b' ',
        _ => return None,
    })
}

fn matches_one(t: &Token, c: u8) -> bool {
    match t {
        Token::Star => true,
        Token::Any => true,
        Token::Byte(b) => *b == c,
        Token::Set { negate, items } => {
            let hit = items.iter().any(|i| match i {
                SetItem::Range(lo, hi) => (*lo..=*hi).contains(&c),
                SetItem::Class(f) => f(c),
                SetItem::Never => false,
            });
            hit != *negate
        }
    }
}

/// `fnmatch (pattern, name, FNM_PERIOD)` for one path component.
pub fn fnmatch(pat: &[u8], name: &[u8]) -> bool {
    if name.starts_with(b".") && !(pat.starts_with(b".") || pat.starts_with(b"\\.")) {
        return false;
    }
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some((t, next)) = token(pat, p) {
            if matches!(t, Token::Star) {
                star = Some((next, n));
                p = next;
                continue;
            }
            if let Some(&c) = name.get(n) {
                if matches_one(&t, c) {
                    p = next;
                    n += 1;
                    continue;
                }
            }
        } else if n == name.len() {
            return true;
        }
        match star {
            Some((sp, sn)) if sn < name.len() => {
                star = Some((sp, sn + 1));
                p = sp;
                n = sn + 1;
            }
            _ => return false,
        }
    }
}

/// `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// `isblank` in the C locale.
fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_patterns() {
        assert!(fnmatch(b"*.conf", b"a.conf"));
        assert!(!fnmatch(b"*.conf", b".a.conf"));
        assert!(fnmatch(b".*", b".a"));
        assert!(fnmatch(b"[a-c]?.conf", b"bx.conf"));
        assert!(!fnmatch(b"[!a-c]?.conf", b"bx.conf"));
        assert!(fnmatch(b"[[:digit:]]*", b"10-x"));
        assert!(fnmatch(b"a\\*", b"a*"));
        assert!(!fnmatch(b"a\\*", b"ab"));
        assert!(fnmatch(b"[]x]", b"]"));
        assert!(fnmatch(b"a[", b"a["));
        assert!(fnmatch(b"*a*b*", b"xxaybzb"));
        assert!(!fnmatch(b"*a*b", b"xxaybzbc"));
        assert!(has_magic(b"*.conf"));
        assert!(!has_magic(b"a\\*"));
        assert!(!has_magic(b"a["));
    }
}
