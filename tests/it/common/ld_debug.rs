//! The lines of glibc's `LD_DEBUG=bindings` (elf/dl-lookup.c,
//! `_dl_debug_bindings`), for the tests that take a real process's bindings
//! as their oracle: tests/it/apache_oracle.rs (the host's Apache) and
//! tests/it/realistic.rs (Apache in the realistic root).

/// One `LD_DEBUG=bindings` line (rule B17):
/// ``PID: binding file REF [NS] to DEF [NS]: normal|protected symbol `NAME' [VERSION]``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdBinding {
    pub pid: i32,
    /// REF and DEF as printed: the object's `l_name` (the executable as
    /// `argv[0]`, or `<main program>` where it has none).
    pub reference: String,
    pub definer: String,
    /// Both namespaces are 0 (no `dlmopen`, rule G6).
    pub base_namespace: bool,
    pub protected: bool,
    pub symbol: String,
    /// The version the lookup asked for.
    pub version: Option<String>,
    /// Another process's line cut this one in two: which of the rests
    /// that followed (` [VERSION]` or nothing) was its own is not in the
    /// text, so its version is a guess.
    pub interleaved: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum BindEvent {
    Bind(LdBinding),
    /// `file=PATH [ns];  destroying link map` (PATH = `l_name`).
    Destroy(String),
}

pub fn parse_binding(pid: i32, msg: &str) -> Option<LdBinding> {
    let rest = msg.strip_prefix("binding file ")?;
    let (reference, rest) = rest.split_once(" [")?;
    let (ref_ns, rest) = rest.split_once("] to ")?;
    let (definer, rest) = rest.split_once(" [")?;
    let (def_ns, rest) = rest.split_once("]: ")?;
    let (kind, rest) = rest.split_once(" symbol `")?;
    let (symbol, rest) = rest.split_once('\'')?;
    let version = rest
        .trim()
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .map(str::to_string);
    Some(LdBinding {
        pid,
        reference: reference.to_string(),
        definer: definer.to_string(),
        base_namespace: ref_ns == "0" && def_ns == "0",
        protected: kind == "protected",
        symbol: symbol.to_string(),
        version,
        interleaved: false,
    })
}

/// Binding lines and unloads in file order, and how many lines said
/// `binding file` at all (every one must parse). Only whole lines: the
/// file is read while Apache runs, and a line ld.so is still writing
/// (`… symbol `select'` without its ` [GLIBC_2.2.5]` yet) would read as an
/// unversioned binding the model never predicts.
pub fn parse_ld_bindings(text: &str) -> (Vec<BindEvent>, usize) {
    let whole = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    let mut v = Vec::new();
    let mut printed = 0;
    for (line, interleaved) in records(whole) {
        let line = line.as_str();
        printed += usize::from(line.contains("\tbinding file "));
        let Some((pid, msg)) = line.split_once(':') else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<i32>() else {
            continue;
        };
        let msg = msg.trim_start_matches('\t');
        if let Some(b) = parse_binding(pid, msg) {
            v.push(BindEvent::Bind(LdBinding { interleaved, ..b }));
        } else if msg.ends_with("destroying link map") {
            if let Some(f) = msg.strip_prefix("file=").and_then(|r| r.split(" [").next()) {
                v.push(BindEvent::Destroy(f.to_string()));
            }
        }
    }
    (v, printed)
}

/// The messages of `text`, whole again where processes interleaved them,
/// each with whether it was. `_dl_debug_bindings` writes a binding in two
/// writes (the line up to the symbol's name, then ` [VERSION]` and the
/// newline, or the newline alone), and Apache's parent and children share
/// the output file: a record another process's record cuts in two is
/// taken up to where the other starts, and given the next line that is
/// only a rest (oldest cut first). Which rest was whose is not in the
/// text: every record of such a line, and the one a rest completes, is
/// marked interleaved.
fn records(text: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut cut: std::collections::VecDeque<usize> = Default::default();
    for line in text.lines() {
        let starts = record_starts(line);
        if starts.first() != Some(&0) {
            let (rest, more) = line.split_at(starts.first().copied().unwrap_or(line.len()));
            match cut.pop_front().and_then(|i| out.get_mut(i)) {
                Some(r) => r.0.push_str(rest),
                None => out.push((rest.to_string(), false)),
            }
            if more.is_empty() {
                continue;
            }
        }
        let base = starts.first().copied().unwrap_or(0);
        let mut bounds: Vec<usize> = starts.clone();
        bounds.push(line.len());
        let glued = bounds.len() > 2;
        for (k, w) in bounds.windows(2).enumerate() {
            let (a, b) = (w[0].max(base), w[1]);
            out.push((line[a..b].to_string(), glued));
            if k + 2 < bounds.len() {
                cut.push_back(out.len() - 1);
            }
        }
    }
    out
}

/// Where records start in `line`: each `PID:\t` prefix (`%5d:\t`, the
/// spaces before the PID included) at the line's start or after a
/// record's text.
fn record_starts(line: &str) -> Vec<usize> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = line[from..].find(":\t").map(|i| i + from) {
        let mut s = at;
        while s > 0 && bytes[s - 1].is_ascii_digit() {
            s -= 1;
        }
        if s < at {
            while s > 0 && bytes[s - 1] == b' ' {
                s -= 1;
            }
            // Inside a line, only after a record's last word (`NAME'`).
            if s == 0 || bytes[s - 1] == b'\'' {
                out.push(s);
            }
        }
        from = at + 2;
    }
    out
}

/// A binding another process's binding cut in two is whole again, with
/// its version (or without one, when its rest was the newline alone).
#[test]
fn interleaved_bindings_are_made_whole() {
    let text = concat!(
        "   12:\tbinding file /a.so [0] to /libc.so.6 [0]: normal symbol `fclose'",
        "   13:\tbinding file /b.so [0] to /libc.so.6 [0]: normal symbol `open' [GLIBC_2.2.5]\n",
        " [GLIBC_2.2.5]\n",
        "   12:\tbinding file /c.so [0] to /c.so [0]: normal symbol `x'",
        "   13:\tbinding file /d.so [0] to /d.so [0]: normal symbol `y'\n",
        "\n",
        "   12:\tfile=/c.so [0];  destroying link map\n",
    );
    let (events, printed) = parse_ld_bindings(text);
    let got: Vec<(i32, String, bool)> = events
        .iter()
        .filter_map(|e| match e {
            BindEvent::Bind(b) => Some((b.pid, b.symbol.clone(), b.interleaved)),
            BindEvent::Destroy(_) => None,
        })
        .collect();
    assert_eq!(
        got,
        [
            (12, "fclose".into(), true),
            (13, "open".into(), true),
            (12, "x".into(), true),
            (13, "y".into(), true),
        ]
    );
    // The rests go to the records they may complete, oldest cut first.
    let versions: Vec<Option<&str>> = events
        .iter()
        .filter_map(|e| match e {
            BindEvent::Bind(b) => Some(b.version.as_deref()),
            BindEvent::Destroy(_) => None,
        })
        .collect();
    assert_eq!(
        versions,
        [Some("GLIBC_2.2.5"), Some("GLIBC_2.2.5"), None, None]
    );
    let (whole, _) = parse_ld_bindings(
        "   12:\tbinding file /a.so [0] to /libc.so.6 [0]: normal symbol `f' [GLIBC_2.2.5]\n",
    );
    assert!(matches!(&whole[0], BindEvent::Bind(b) if !b.interleaved));
    assert_eq!(printed, 4);
}

/// A line still being written when the file was read is left out, so it
/// cannot pass for a binding without its version.
#[test]
fn a_partly_written_last_line_is_not_a_binding() {
    let whole =
        "12:\tbinding file /a.so [0] to /libc.so.6 [0]: normal symbol `select' [GLIBC_2.2.5]\n";
    let cut =
        format!("{whole}12:\tbinding file /b.so [0] to /libc.so.6 [0]: normal symbol `select'");
    let (events, printed) = parse_ld_bindings(&cut);
    assert_eq!((events.len(), printed), (1, 1));
    assert!(
        matches!(&events[0], BindEvent::Bind(b) if b.version.as_deref() == Some("GLIBC_2.2.5"))
    );
    assert_eq!(parse_ld_bindings(whole).0.len(), 1);
}
