//! What a YAML document from disk (a signature file, an archived report)
//! must pass before serde_norway parses it, and the one way such a file is
//! read.
//!
//! serde_norway reads a document's whole event stream before it
//! deserializes anything, so its own recursion limit comes too late: its
//! scanner (libyaml's) does work proportional to the open flow collections
//! for every token, which made 200 KB of `[[[…]]]` take half a minute, and
//! it expands an alias in full each time it is used, which made a 718 KB
//! report of aliases to aliases take gigabytes. [`check`] pulls
//! saphyr-parser's events one at a time, builds nothing, and stops at the
//! first collection nested deeper than [`budget::YAML_DEPTH`] or the first
//! alias past [`budget::YAML_ALIASES`] or [`budget::YAML_ALIAS_BYTES`];
//! saphyr's per-token work also grows
//! with the open collections, which that stop keeps below the budget, so
//! the check is linear in the document.
//!
//! [`read_regular`] keeps a FIFO, a device or a file that grows while it is
//! read from hanging or filling memory: reports and signatures are regular
//! files of bounded size or nothing.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use saphyr_parser::{Event, Parser};

use crate::budget;

/// Why a document was refused before parsing, and where (1-based, as
/// serde_norway counts, so both kinds of error read alike).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line} column {column}")]
pub struct Refusal {
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// For a syntax error (not a budget), the characters up to and
    /// including the one it is at: all of them passed the check.
    checked_chars: Option<usize>,
}

impl Refusal {
    /// The part of `text` that passed the check, when the refusal is a
    /// syntax error: serde_norway may parse it to say the error its own
    /// way (where saphyr and libyaml word or place it differently), and
    /// nothing after it, which was never checked.
    pub fn checked_prefix<'a>(&self, text: &'a str) -> Option<&'a str> {
        let n = self.checked_chars?;
        Some(match text.char_indices().nth(n) {
            Some((end, _)) => &text[..end],
            None => text,
        })
    }
}

/// Checks a document's nesting and aliases without building it.
///
/// An alias costs the source bytes of the node it names, with the aliases
/// inside that node at their own cost, because serde_norway replays the
/// node's events for every use: `b: &b [*a, *a]`, `c: [*b, *b]` doubles
/// at each level, and it is this sum that [`budget::YAML_ALIAS_BYTES`]
/// bounds, the number of aliases alone bounding nothing.
pub fn check(text: &str) -> Result<(), Refusal> {
    // The open collections: anchor id (0 for none), where the collection
    // starts, and the bytes the aliases inside it stand for.
    let mut open: Vec<(usize, usize, u64)> = Vec::new();
    // The cost of each complete anchored node, by anchor id.
    let mut anchored: BTreeMap<usize, u64> = BTreeMap::new();
    let mut aliases = 0usize;
    let mut alias_bytes = 0u64;
    let mut nodes = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| {
            let mark = e.marker();
            // saphyr's scanner reads ahead over flow collections that could
            // be keys, so past 255 of them (its own limit) this error comes
            // before the events that would have hit YAML_DEPTH.
            let budget = e.info() == "recursion limit exceeded";
            Refusal {
                line: mark.line(),
                column: mark.col() + 1,
                message: if budget {
                    too_deep()
                } else {
                    format!("not YAML: {}", e.info())
                },
                checked_chars: (!budget).then(|| mark.index().saturating_add(1)),
            }
        })?;
        let at = |message: String| Refusal {
            line: span.start.line(),
            column: span.start.col() + 1,
            message,
            checked_chars: None,
        };
        let length = |from: usize| span.end.index().saturating_sub(from) as u64;
        if matches!(
            event,
            Event::Scalar(..)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
                | Event::Alias(_)
        ) {
            nodes += 1;
            if nodes > budget::YAML_NODES {
                return Err(at(format!(
                    "{}: nodes (scalars, sequences, mappings, aliases)",
                    budget::exceeded("YAML_NODES", budget::YAML_NODES)
                )));
            }
        }
        match event {
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if open.len() >= budget::YAML_DEPTH {
                    return Err(at(too_deep()));
                }
                open.push((anchor, span.start.index(), 0));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, from, inner)) = open.pop() {
                    if anchor != 0 {
                        anchored.insert(anchor, length(from).saturating_add(inner));
                    }
                    if let Some(parent) = open.last_mut() {
                        parent.2 = parent.2.saturating_add(inner);
                    }
                }
            }
            Event::Scalar(_, _, anchor, _) if anchor != 0 => {
                anchored.insert(anchor, length(span.start.index()));
            }
            Event::Alias(anchor) => {
                aliases += 1;
                if aliases > budget::YAML_ALIASES {
                    return Err(at(format!(
                        "{}: aliases (`*name`)",
                        budget::exceeded("YAML_ALIASES", budget::YAML_ALIASES)
                    )));
                }
                // An alias to a collection still open (to itself) would
                // never end; it costs more than any budget.
                let cost = anchored.get(&anchor).copied().unwrap_or(u64::MAX);
                alias_bytes = alias_bytes.saturating_add(cost);
                if alias_bytes > budget::YAML_ALIAS_BYTES {
                    return Err(at(format!(
                        "{}: what the aliases stand for",
                        budget::exceeded(
                            "YAML_ALIAS_BYTES",
                            budget::bytes(budget::YAML_ALIAS_BYTES)
                        )
                    )));
                }
                if let Some(parent) = open.last_mut() {
                    parent.2 = parent.2.saturating_add(cost);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// [`check`] for a report: what soclash writes (block style, no aliases, a
/// few KiB) is proven within the budgets by one pass over its bytes
/// ([`plainly_within_budgets`]) instead of a second parse, as `fleet`
/// reads thousands of reports; anything else gets the full check. A
/// syntax error is then serde_norway's to report, as the budgets hold.
pub fn check_report(text: &str) -> Result<(), Refusal> {
    if plainly_within_budgets(text) {
        return Ok(());
    }
    check(text)
}

/// Whether one pass over the bytes proves `text` within every budget
/// [`check`] enforces. Each bound over-counts, so a document that fails
/// one still gets the full check:
///
/// - an alias is a `*` where a node may start, after a space, an indicator
///   or at a line's start, never after a word character (`sqlite3_*` in a
///   title is no alias);
/// - every node takes at least one byte, so a document of at most half of
///   [`budget::YAML_NODES`] bytes has fewer nodes;
/// - a block collection nested in another starts at least one column
///   further right, or at the same column once (a sequence as a mapping's
///   value), so block depth is at most twice the largest column a line's
///   content starts at after its indentation and `-`, `?`, `:` indicators,
///   plus one; flow collections nest at most one deeper than the number of
///   `[` and `{` not closed by the very next byte (an empty `[]` holds
///   nothing that could nest).
fn plainly_within_budgets(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() > budget::YAML_NODES / 2 {
        return false;
    }
    let mut open = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'*' => {
                let word = i > 0
                    && bytes.get(i - 1).is_some_and(|p| {
                        p.is_ascii_alphanumeric() || matches!(p, b'_' | b'.' | b'/')
                    });
                if !word {
                    return false;
                }
            }
            b'[' | b'{' => {
                let closer = if b == b'[' { b']' } else { b'}' };
                if bytes.get(i + 1) != Some(&closer) {
                    open += 1;
                }
            }
            _ => {}
        }
    }
    let column = bytes
        .split(|&b| b == b'\n')
        .map(|line| {
            line.iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'-' | b'?' | b':'))
                .unwrap_or(line.len())
        })
        .max()
        .unwrap_or(0);
    // Depth is at most 2 (column + 1) + open + 1, which must not pass it.
    2 * (column + 1) + open < budget::YAML_DEPTH
}

fn too_deep() -> String {
    format!(
        "{}: collections nested deeper",
        budget::exceeded("YAML_DEPTH", budget::YAML_DEPTH)
    )
}

/// Why [`read_regular`] gave no text. Each message is whole (a report
/// entry or a signature error keeps it as it is), so the I/O error is
/// part of it, not a source a caller would print a second time.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open: {0}")]
    Open(io::Error),
    #[error("cannot stat: {0}")]
    Stat(io::Error),
    /// What it is instead (`a FIFO`, `a directory`).
    #[error("not a regular file but {0}")]
    NotRegular(&'static str),
    /// Larger than the budget when opened, or grown past it while read.
    #[error("{}", budget::exceeded(.0.name, budget::bytes(.0.value)))]
    Budget(budget::Named),
    #[error("cannot read: {0}")]
    Read(io::Error),
    #[error("not UTF-8 text (byte {valid_up_to})")]
    NotUtf8 { valid_up_to: usize },
}

/// The text of `path` if it is a regular file of UTF-8 within `cap`
/// (`budget::named!(REPORT_BYTES)`, whose name the error gives when the
/// size is what stops it).
pub fn read_regular(path: &Path, cap: budget::Named) -> Result<String, Error> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO returns at once instead of waiting for a
    // writer, so it can be refused below; reads of a regular file ignore
    // the flag.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(Error::Open)?;
    // The descriptor's own type and size, not the path's: the path may be
    // replaced between a stat and the open.
    let meta = file.metadata().map_err(Error::Stat)?;
    if !meta.is_file() {
        return Err(Error::NotRegular(kind(&meta.file_type())));
    }
    if meta.len() > cap.value {
        return Err(Error::Budget(cap));
    }
    let mut bytes = Vec::new();
    // One byte past the cap tells a file that grew since the fstat.
    file.take(cap.value.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(Error::Read)?;
    if bytes.len() as u64 > cap.value {
        return Err(Error::Budget(cap));
    }
    String::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
        valid_up_to: e.utf8_error().valid_up_to(),
    })
}

fn kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What soclash writes takes the one-pass bound; the shapes of issue
    /// 13's hostile documents, however small, never do.
    #[test]
    fn reports_pass_in_one_pass_and_hostile_shapes_get_the_full_check() {
        let report = "schema: 1\nfindings:\n- id: duplicate-sqlite3-in-process\n  title: More than one SQLite library copy exports sqlite3_* in one process\n  objects:\n  - /usr/lib/x86_64-linux-gnu/libsqlite3.so.0\n  symbols: []\n  evidence: {}\nerrors: []\n";
        assert!(plainly_within_budgets(report));
        assert!(check_report(report).is_ok());
        let hostile = [
            format!("m: {}{}", "[".repeat(70), "]".repeat(70)),
            format!("m:\n{}x", "- ".repeat(40)),
            format!(
                "m:\n{}",
                (0..40)
                    .map(|i| format!("{}a:\n", " ".repeat(i)))
                    .collect::<String>()
            ),
            "a: &a [x]\nb: *a\n".to_string(),
            "a: &a [x]\nb: [*a,*a]\n".to_string(),
            "a: &a x\nb: {k:*a}\n".to_string(),
            "x\n".repeat(budget::YAML_NODES / 4 + 1),
        ];
        for h in &hostile {
            assert!(!plainly_within_budgets(h), "{h:.60}");
        }
        // Within the budgets, so the one pass may take it: 40 deep.
        assert!(plainly_within_budgets(&format!(
            "m: {}{}",
            "[".repeat(40),
            "]".repeat(40)
        )));
    }

    #[test]
    fn nesting_up_to_the_budget_passes_and_one_more_is_refused() {
        let nested = |n: usize| format!("x: {}{}\n", "[".repeat(n - 1), "]".repeat(n - 1));
        // The mapping is one level, the sequences the rest.
        assert_eq!(check(&nested(budget::YAML_DEPTH)), Ok(()));
        let e = check(&nested(budget::YAML_DEPTH + 1)).unwrap_err();
        assert!(
            e.message.contains("budget exceeded: YAML_DEPTH (64)"),
            "{e}"
        );
        assert_eq!((e.line, e.column), (1, 3 + budget::YAML_DEPTH));
    }

    #[test]
    fn nesting_past_the_scanners_own_limit_names_the_budget() {
        let n = 100_000;
        let text = format!("x: {}{}\n", "[".repeat(n), "]".repeat(n));
        let e = check(&text).unwrap_err();
        assert!(
            e.message.contains("budget exceeded: YAML_DEPTH (64)"),
            "{e}"
        );
        assert_eq!(e.line, 1);
    }

    #[test]
    fn block_nesting_counts_too() {
        let mut text = String::new();
        for i in 0..=budget::YAML_DEPTH {
            text.push_str(&format!("{}k:\n", " ".repeat(i)));
        }
        text.push_str(&format!("{}v\n", " ".repeat(budget::YAML_DEPTH + 1)));
        let e = check(&text).unwrap_err();
        assert!(e.message.contains("YAML_DEPTH"), "{e}");
        let compact = format!("{}x\n", "- ".repeat(budget::YAML_DEPTH + 1));
        assert!(check(&compact).unwrap_err().message.contains("YAML_DEPTH"));
    }

    #[test]
    fn a_few_small_aliases_pass() {
        // As the catalogue shares a symbol list between two matchers.
        let text = "a: &api\n  - 'SSL_*'\n  - '*history*'\nb:\n  symbols: *api\n";
        assert_eq!(check(text), Ok(()));
        // An anchor alone, a `*` inside a scalar or a comment is no alias.
        let text = format!(
            "a: &a [x]\n{}",
            "b: 'SSL_*'\nc: SSL_*  # *a\nd: \"*a\"\n".repeat(100)
        );
        assert_eq!(check(&text), Ok(()));
    }

    #[test]
    fn too_many_aliases_are_refused_where_the_first_one_too_many_is() {
        let mut text = String::from("a: &a x\n");
        for i in 0..=budget::YAML_ALIASES {
            text.push_str(&format!("b{i}: *a\n"));
        }
        let e = check(&text).unwrap_err();
        assert!(e.message.contains("budget exceeded: YAML_ALIASES"), "{e}");
        assert_eq!((e.line, e.column), (budget::YAML_ALIASES + 2, 6));
    }

    #[test]
    fn aliases_to_aliases_count_what_they_stand_for() {
        // Each level doubles: 2^10 copies of a kilobyte, from 11 aliases'
        // worth of text per level.
        let mut text = format!("a0: &a0 [{}]\n", "x,".repeat(512));
        for i in 1..=10 {
            text.push_str(&format!("a{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1));
        }
        let e = check(&text).unwrap_err();
        assert!(
            e.message.contains("budget exceeded: YAML_ALIAS_BYTES"),
            "{e}"
        );
        // A big scalar used a few times is as costly as many small ones.
        let text = format!(
            "a: &a '{}'\nb: [*a, *a, *a, *a, *a]\n",
            "x".repeat((budget::YAML_ALIAS_BYTES / 4) as usize)
        );
        let e = check(&text).unwrap_err();
        assert!(e.message.contains("YAML_ALIAS_BYTES"), "{e}");
    }

    #[test]
    fn broken_yaml_is_refused_with_its_position() {
        let text = "a: [x\nb: [[[[[[[[\n";
        let e = check(text).unwrap_err();
        assert!(e.message.starts_with("not YAML: "), "{e}");
        let checked = e.checked_prefix(text).unwrap();
        assert!(text.starts_with(checked) && checked.len() < text.len());
        let e = check("a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[x")
            .unwrap_err();
        assert_eq!(e.checked_prefix("a: [[["), None);
    }

    #[test]
    fn only_regular_files_within_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("r.yaml");
        let cap = |value| budget::Named {
            name: "REPORT_BYTES",
            value,
        };
        std::fs::write(&f, "schema: 1\n").unwrap();
        assert_eq!(read_regular(&f, cap(10)).unwrap(), "schema: 1\n");
        let e = read_regular(&f, cap(9)).unwrap_err().to_string();
        assert!(e.contains("budget exceeded: REPORT_BYTES (9 bytes)"), "{e}");
        let e = read_regular(dir.path(), cap(10)).unwrap_err().to_string();
        assert!(e.contains("not a regular file but a directory"), "{e}");
        let e = read_regular(Path::new("/dev/zero"), cap(10)).unwrap_err();
        assert!(matches!(e, Error::NotRegular("a character device")), "{e}");
        let fifo = dir.path().join("fifo.yaml");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = read_regular(&fifo, cap(10)).unwrap_err().to_string();
        assert!(e.contains("a FIFO"), "{e}");
        std::fs::write(&f, b"\xff").unwrap();
        assert!(
            read_regular(&f, cap(10))
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
    }
}
