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
    for line in whole.lines() {
        printed += usize::from(line.contains("\tbinding file "));
        let Some((pid, msg)) = line.split_once(':') else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<i32>() else {
            continue;
        };
        let msg = msg.trim_start_matches('\t');
        if let Some(b) = parse_binding(pid, msg) {
            v.push(BindEvent::Bind(b));
        } else if msg.ends_with("destroying link map") {
            if let Some(f) = msg.strip_prefix("file=").and_then(|r| r.split(" [").next()) {
                v.push(BindEvent::Destroy(f.to_string()));
            }
        }
    }
    (v, printed)
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
