//! Env files as systemd reads them (`EnvironmentFile=`, and the same
//! syntax in files such as RHEL's `/etc/sysconfig/httpd`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::budget;
use crate::host::text::{at, lossy};
use crate::root::Root;

use super::{Log, env_name_ok};

/// An `EnvironmentFile=` (or RHEL's `/etc/sysconfig/httpd`), parsed as
/// systemd's `parse_env_file_internal` does: `#`/`;` comment lines, `KEY=`
/// with white space around the key, single quotes literal, double quotes
/// with `\"`, `\\`, `` \` ``, `\$` escapes, unquoted backslash escapes any
/// character, a backslash-newline continues, trailing white space of an
/// unquoted value goes. No variable expansion. Invalid names are dropped.
pub(crate) fn read_env_file(
    root: &Root,
    path: &Path,
    optional: bool,
    from: &Path,
    env: &mut BTreeMap<String, String>,
    log: &mut Log,
) {
    let bytes = match root.read(path, budget::named!(SMALL_FILE)) {
        Ok(b) => b,
        Err(e) => {
            if !(optional && e.is_absent()) {
                log.errors.push((
                    from.to_path_buf(),
                    format!(
                        "EnvironmentFile {}: {e}{}",
                        path.display(),
                        if optional {
                            ""
                        } else {
                            ": the service does not start"
                        }
                    ),
                ));
            }
            return;
        }
    };
    log.sources.push(path.to_path_buf());
    for (line, key, value) in parse_env_file(&bytes) {
        if env_name_ok(&key) {
            env.insert(key, value);
        } else {
            log.errors.push((
                at(path, line),
                format!("invalid variable name, ignored: {key}"),
            ));
        }
    }
}

/// The state machine of systemd's env-file parser: (line, key, value).
fn parse_env_file(bytes: &[u8]) -> Vec<(usize, String, String)> {
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        PreKey,
        Key,
        PreValue,
        Value,
        ValueEscape,
        Single,
        Double,
        DoubleEscape,
        Comment,
        CommentEscape,
    }
    let mut out = Vec::new();
    let mut st = St::PreKey;
    let mut key: Vec<u8> = Vec::new();
    let mut value: Vec<u8> = Vec::new();
    let mut key_ws: Option<usize> = None;
    let mut value_ws: Option<usize> = None;
    let mut line = 1usize;
    let finish = |key: &mut Vec<u8>,
                  value: &mut Vec<u8>,
                  key_ws: Option<usize>,
                  value_ws: Option<usize>,
                  line: usize,
                  out: &mut Vec<(usize, String, String)>| {
        if let Some(k) = key_ws {
            key.truncate(k);
        }
        if let Some(v) = value_ws {
            value.truncate(v);
        }
        out.push((line, lossy(key), lossy(value)));
        key.clear();
        value.clear();
    };
    for &c in bytes.iter().take_while(|&&c| c != 0) {
        let newline = c == b'\n' || c == b'\r';
        let ws = matches!(c, b' ' | b'\t' | b'\n' | b'\r');
        let quoted = matches!(st, St::Single | St::Double | St::DoubleEscape);
        match st {
            St::PreKey => {
                if c == b'#' || c == b';' {
                    st = St::Comment;
                } else if !ws {
                    st = St::Key;
                    key_ws = None;
                    key.push(c);
                }
            }
            St::Key => {
                if newline {
                    st = St::PreKey;
                    key.clear();
                } else if c == b'=' {
                    st = St::PreValue;
                    value_ws = None;
                } else {
                    if !ws {
                        key_ws = None;
                    } else if key_ws.is_none() {
                        key_ws = Some(key.len());
                    }
                    key.push(c);
                }
            }
            St::PreValue => {
                if newline {
                    st = St::PreKey;
                    finish(&mut key, &mut value, key_ws, None, line, &mut out);
                } else if c == b'\'' {
                    st = St::Single;
                } else if c == b'"' {
                    st = St::Double;
                } else if c == b'\\' {
                    st = St::ValueEscape;
                } else if !ws {
                    st = St::Value;
                    value.push(c);
                }
            }
            St::Value => {
                if newline {
                    st = St::PreKey;
                    finish(&mut key, &mut value, key_ws, value_ws, line, &mut out);
                } else if c == b'\\' {
                    st = St::ValueEscape;
                    value_ws = None;
                } else {
                    if !ws {
                        value_ws = None;
                    } else if value_ws.is_none() {
                        value_ws = Some(value.len());
                    }
                    value.push(c);
                }
            }
            St::ValueEscape => {
                st = St::Value;
                if !newline {
                    value.push(c);
                }
            }
            St::Single => {
                if c == b'\'' {
                    st = St::PreValue;
                } else {
                    value.push(c);
                }
            }
            St::Double => {
                if c == b'"' {
                    st = St::PreValue;
                } else if c == b'\\' {
                    st = St::DoubleEscape;
                } else {
                    value.push(c);
                }
            }
            St::DoubleEscape => {
                st = St::Double;
                if matches!(c, b'"' | b'\\' | b'`' | b'$') {
                    value.push(c);
                } else if c != b'\n' {
                    value.push(b'\\');
                    value.push(c);
                }
            }
            St::Comment => {
                if c == b'\\' {
                    st = St::CommentEscape;
                } else if newline {
                    st = St::PreKey;
                }
            }
            St::CommentEscape => {
                st = if newline { St::PreKey } else { St::Comment };
            }
        }
        // Lines are counted at every newline but those inside quotes (part
        // of the value, or dropped after a backslash there).
        if c == b'\n' && !quoted {
            line += 1;
        }
    }
    match st {
        St::PreValue | St::Single | St::Double | St::DoubleEscape | St::ValueEscape => {
            finish(&mut key, &mut value, key_ws, None, line, &mut out);
        }
        St::Value => finish(&mut key, &mut value, key_ws, value_ws, line, &mut out),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_parser() {
        let got = parse_env_file(b"A=1\n B = two words  \nC=\"x\\\"y\\n\"z\nD='q\\'\n#E=no\n;F=no\nG=a\\\nb\nH\nI=\"multi\nline\"\nJ=");
        let got: Vec<(String, String)> = got.into_iter().map(|(_, k, v)| (k, v)).collect();
        let want = [
            ("A", "1"),
            ("B", "two words"),
            ("C", "x\"y\\nz"),
            ("D", "q\\"),
            ("G", "ab"),
            ("I", "multi\nline"),
            ("J", ""),
        ];
        assert_eq!(got, want.map(|(k, v)| (k.to_string(), v.to_string())));
    }
}
