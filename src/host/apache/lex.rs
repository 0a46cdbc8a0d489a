//! The lexical layer of httpd's configuration language: logical lines as
//! `ap_cfg_getline` makes them, white space as `apr_isspace` sees it,
//! words as `ap_getword_conf` splits them, and paths merged as
//! `ap_server_root_relative` merges them.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use std::os::unix::ffi::OsStrExt;

use crate::budget::APACHE_LINE;
use crate::host::text::path_of;

/// `apr_filepath_merge(base, add, APR_FILEPATH_TRUENAME)` as
/// `ap_server_root_relative` uses it: an absolute `add` replaces `base`;
/// `.` and empty segments go, `..` removes the previous segment lexically
/// and stays at `/` above the root.
pub(super) fn normalize(base: &Path, add: &[u8]) -> PathBuf {
    let mut parts: Vec<&[u8]> = Vec::new();
    if add.first() != Some(&b'/') {
        for c in base.as_os_str().as_bytes().split(|&c| c == b'/') {
            push_segment(&mut parts, c);
        }
    }
    for c in add.split(|&c| c == b'/') {
        push_segment(&mut parts, c);
    }
    let mut out = Vec::with_capacity(add.len() + 16);
    for p in &parts {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    path_of(&out)
}

fn push_segment<'a>(parts: &mut Vec<&'a [u8]>, seg: &'a [u8]) {
    match seg {
        b"" | b"." => {}
        b".." => {
            parts.pop();
        }
        s => parts.push(s),
    }
}

/// `apr_isspace` in the C locale.
pub(super) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// White space ([`is_space`]) gone at both ends.
pub(super) fn trim(s: &[u8]) -> &[u8] {
    let mut s = skip_space(s);
    while let [rest @ .., last] = s {
        if !is_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// White space ([`is_space`]) gone at the start.
pub(super) fn skip_space(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_space(*first) {
            break;
        }
        s = rest;
    }
    s
}

/// `substring_conf`: a backslash escapes a backslash, and inside quotes the
/// quote character; any other backslash is kept.
fn substring_conf(s: &[u8], quote: Option<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'\\' {
            if let Some(&n) = s.get(i + 1) {
                if n == b'\\' || Some(n) == quote {
                    out.push(n);
                    i += 2;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// `ap_getword_conf`: the next word (a quoted one may hold white space)
/// and the rest of the line with leading white space removed.
pub(super) fn getword_conf(line: &[u8]) -> (Vec<u8>, &[u8]) {
    let s = skip_space(line);
    let Some(&first) = s.first() else {
        return (Vec::new(), s);
    };
    let (word, rest) = if first == b'"' || first == b'\'' {
        let mut i = 1;
        while let Some(&c) = s.get(i) {
            if c == first {
                break;
            }
            if c == b'\\' && matches!(s.get(i + 1), Some(&n) if n == first || n == b'\\') {
                i += 2;
            } else {
                i += 1;
            }
        }
        let end = i.min(s.len());
        let word = substring_conf(s.get(1..end).unwrap_or_default(), Some(first));
        let rest = s.get(end + 1..).unwrap_or_default();
        (word, rest)
    } else {
        let end = s.iter().position(|&c| is_space(c)).unwrap_or(s.len());
        let (w, rest) = s.split_at(end);
        (substring_conf(w, None), rest)
    };
    (word, skip_space(rest))
}

/// Every word of a line, as repeated `ap_getword_conf` calls give them.
pub(super) fn words(mut rest: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (w, r) = getword_conf(rest);
        out.push(w);
        rest = r;
    }
    out
}

/// Physical lines joined as `ap_cfg_getline` joins them (a backslash right
/// before a newline, or before CR LF, continues the line) and trimmed, each
/// numbered with its last physical line as httpd numbers it; `None` for a
/// line longer than [`APACHE_LINE`]. Lines are made one at a time, borrowed
/// from the file where not continued, so a file of millions of short lines
/// costs no more memory than the file.
pub(super) struct Lines<'a> {
    rest: &'a [u8],
    line_no: usize,
}

impl<'a> Lines<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Lines<'a> {
        Lines {
            rest: bytes,
            line_no: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, Option<Cow<'a, [u8]>>);

    fn next(&mut self) -> Option<Self::Item> {
        let mut acc: Option<Cow<'a, [u8]>> = None;
        let mut overflow = false;
        while !self.rest.is_empty() {
            self.line_no += 1;
            let (phys, terminated, next) = match self.rest.iter().position(|&c| c == b'\n') {
                Some(p) => (
                    self.rest.get(..p).unwrap_or_default(),
                    true,
                    self.rest.get(p + 1..).unwrap_or_default(),
                ),
                None => (self.rest, false, &b""[..]),
            };
            self.rest = next;
            let mut content = phys;
            let mut continued = false;
            if terminated {
                if let [head @ .., b'\r'] = content {
                    content = head;
                }
                if let [head @ .., b'\\'] = content {
                    content = head;
                    continued = true;
                } else {
                    content = phys;
                }
            }
            if !overflow {
                let len = acc.as_ref().map_or(0, |a| a.len());
                if len + content.len() > APACHE_LINE {
                    overflow = true;
                    acc = None;
                } else {
                    acc = Some(match acc.take() {
                        None => Cow::Borrowed(content),
                        Some(mut a) => {
                            a.to_mut().extend_from_slice(content);
                            a
                        }
                    });
                }
            }
            if continued {
                continue;
            }
            return Some((self.line_no, (!overflow).then(|| trim_cow(acc))));
        }
        // A continuation on the last line: what was read counts.
        if overflow {
            return Some((self.line_no, None));
        }
        acc.filter(|a| !a.is_empty())
            .map(|a| (self.line_no, Some(trim_cow(Some(a)))))
    }
}

fn trim_cow(line: Option<Cow<'_, [u8]>>) -> Cow<'_, [u8]> {
    match line {
        None => Cow::Borrowed(&b""[..]),
        Some(Cow::Borrowed(b)) => Cow::Borrowed(trim(b)),
        Some(Cow::Owned(v)) => Cow::Owned(trim(&v).to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::text::lossy;

    #[test]
    fn getword_conf_matches_httpd() {
        let w = |s: &str| {
            words(s.as_bytes())
                .iter()
                .map(|w| lossy(w))
                .collect::<Vec<_>>()
        };
        assert_eq!(w("  a  b\t c "), ["a", "b", "c"]);
        assert_eq!(
            w(r#""a b" 'c "d"' "e\"f" 'g\'h'"#),
            ["a b", "c \"d\"", "e\"f", "g'h"]
        );
        assert_eq!(
            w(r#"a\\b a\"b "a\\b" "a\nb""#),
            ["a\\b", "a\\\"b", "a\\b", "a\\nb"]
        );
        assert_eq!(
            w(r#"x"y z" "unterminated"#),
            ["x\"y", "z\"", "unterminated"]
        );
        assert_eq!(w(r#""" x"#), ["", "x"]);
    }

    /// The lines of a file, and the numbers of those too long.
    fn logical_lines(bytes: &[u8]) -> (Vec<(usize, Vec<u8>)>, Vec<usize>) {
        let mut out = Vec::new();
        let mut too_long = Vec::new();
        for (n, l) in Lines::new(bytes) {
            match l {
                Some(l) => out.push((n, l.into_owned())),
                None => {
                    too_long.push(n);
                    out.push((n, Vec::new()));
                }
            }
        }
        (out, too_long)
    }

    #[test]
    fn logical_lines_join_and_trim() {
        let (l, long) = logical_lines(b"  a \\\n b\\\r\nc\r\n\n\\\nd\ne\\");
        let l: Vec<(usize, String)> = l.into_iter().map(|(n, s)| (n, lossy(&s))).collect();
        assert_eq!(
            l,
            [
                (3, "a  bc".to_string()),
                (4, String::new()),
                (6, "d".into()),
                (7, "e\\".into())
            ]
        );
        assert!(long.is_empty());
        let big = vec![b'a'; APACHE_LINE + 1];
        let (l, long) = logical_lines(&[&big[..], b"\nok\n"].concat());
        assert_eq!(long, [1]);
        assert_eq!(l[1], (2, b"ok".to_vec()));
    }
}
