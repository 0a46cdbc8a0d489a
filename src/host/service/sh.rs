//! A small POSIX sh interpreter for the start-up scripts a service
//! sources (Debian's `/etc/apache2/envvars`): assignments, `export`,
//! `unset`, `if`/`elif`/`else` on `[ ]`/`test`, and the parameter
//! expansions such scripts use, within the `ENVVARS_*` budgets. Nothing is
//! executed; what is not interpreted is reported and skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::budget::{ENVVARS_EXPANDED, ENVVARS_NESTING, ENVVARS_VALUE};
use crate::host::text::{at, lossy};
use crate::root::{Kind, Root, fnmatch};

use super::env_name_ok;

/// One simple command of a shell file: its raw words (quotes kept), the
/// line it starts on, and why it cannot be interpreted, if so.
#[derive(Debug)]
struct ShCmd {
    line: usize,
    words: Vec<Vec<u8>>,
    problem: Option<&'static str>,
}

/// Splits shell text into simple commands at unquoted newlines and `;`,
/// words at unquoted blanks; comments, quotes and `${...}` are respected,
/// a backslash-newline joins lines. Pipelines, `&&`/`||`, redirections,
/// subshells and command substitution mark the command as not
/// interpretable.
fn sh_commands(src: &[u8]) -> Vec<ShCmd> {
    let mut out = Vec::new();
    let mut cmd = ShCmd {
        line: 1,
        words: Vec::new(),
        problem: None,
    };
    let mut word: Vec<u8> = Vec::new();
    let mut in_word = false;
    let mut line = 1usize;
    let mut i = 0usize;
    let len = src.len();
    // Index of the byte that closes a run starting at `from`, or `len`.
    let find = |from: usize, b: u8| {
        src.get(from..)
            .and_then(|r| r.iter().position(|&c| c == b))
            .map_or(len, |p| p + from)
    };
    let lines_in = |a: usize, b: usize| {
        src.get(a..b.min(len))
            .map_or(0, |s| s.iter().filter(|&&c| c == b'\n').count())
    };
    macro_rules! start_word {
        () => {
            if !in_word {
                if cmd.words.is_empty() {
                    cmd.line = line;
                }
                in_word = true;
            }
        };
    }
    macro_rules! end_word {
        () => {
            if in_word {
                cmd.words.push(std::mem::take(&mut word));
                in_word = false;
            }
        };
    }
    while let Some(&c) = src.get(i) {
        match c {
            b'\\' => match src.get(i + 1) {
                Some(b'\n') => {
                    i += 2;
                    line += 1;
                }
                Some(&n) => {
                    start_word!();
                    word.extend_from_slice(&[c, n]);
                    i += 2;
                }
                None => {
                    start_word!();
                    word.push(c);
                    i += 1;
                }
            },
            b'\'' => {
                start_word!();
                let end = find(i + 1, b'\'');
                line += lines_in(i, end);
                word.extend_from_slice(src.get(i..(end + 1).min(len)).unwrap_or_default());
                i = end + 1;
            }
            b'"' => {
                start_word!();
                let mut j = i + 1;
                while let Some(&d) = src.get(j) {
                    match d {
                        b'"' => break,
                        b'\\' => j += 1,
                        b'`' => cmd.problem = Some("command substitution"),
                        b'$' if src.get(j + 1) == Some(&b'(') => {
                            cmd.problem = Some("command substitution")
                        }
                        _ => {}
                    }
                    j += 1;
                }
                let end = j.min(len);
                line += lines_in(i, end);
                word.extend_from_slice(src.get(i..(end + 1).min(len)).unwrap_or_default());
                i = end + 1;
            }
            b'`' => {
                start_word!();
                cmd.problem = Some("command substitution");
                let end = find(i + 1, b'`');
                line += lines_in(i, end);
                i = end + 1;
            }
            b'$' if src.get(i + 1) == Some(&b'(') => {
                start_word!();
                cmd.problem = Some("command substitution");
                let mut depth = 0usize;
                let mut j = i + 1;
                while let Some(&d) = src.get(j) {
                    match d {
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        b'\n' => line += 1,
                        _ => {}
                    }
                    j += 1;
                }
                i = j + 1;
            }
            b'$' if src.get(i + 1) == Some(&b'{') => {
                start_word!();
                let end = matching_brace(src, i + 2);
                line += lines_in(i, end);
                word.extend_from_slice(src.get(i..(end + 1).min(len)).unwrap_or_default());
                i = end + 1;
            }
            b'#' if !in_word => {
                i = find(i, b'\n');
            }
            b' ' | b'\t' => {
                end_word!();
                i += 1;
            }
            b'\n' | b';' => {
                end_word!();
                if !cmd.words.is_empty() || cmd.problem.is_some() {
                    out.push(std::mem::replace(
                        &mut cmd,
                        ShCmd {
                            line,
                            words: Vec::new(),
                            problem: None,
                        },
                    ));
                }
                if c == b'\n' {
                    line += 1;
                }
                i += 1;
            }
            b'&' | b'|' => {
                end_word!();
                cmd.problem = Some("pipelines and && / || lists");
                i += 1;
            }
            b'<' | b'>' | b'(' | b')' => {
                start_word!();
                cmd.problem = Some(if matches!(c, b'<' | b'>') {
                    "redirections"
                } else {
                    "subshells and functions"
                });
                word.push(c);
                i += 1;
            }
            _ => {
                start_word!();
                word.push(c);
                i += 1;
            }
        }
    }
    if in_word {
        cmd.words.push(word);
    }
    if !cmd.words.is_empty() || cmd.problem.is_some() {
        out.push(cmd);
    }
    out
}

/// Index of the `}` closing a `${` whose body starts at `from` (nested
/// `${` counted, quotes skipped), or the end.
fn matching_brace(src: &[u8], from: usize) -> usize {
    let mut depth = 0usize;
    let mut j = from;
    while let Some(&c) = src.get(j) {
        match c {
            b'\\' => j += 1,
            b'\'' => {
                j = src
                    .get(j + 1..)
                    .and_then(|r| r.iter().position(|&d| d == b'\''))
                    .map_or(src.len(), |p| p + j + 1);
            }
            b'$' if src.get(j + 1) == Some(&b'{') => {
                depth += 1;
                j += 1;
            }
            b'}' => {
                if depth == 0 {
                    return j;
                }
                depth -= 1;
            }
            _ => {}
        }
        j += 1;
    }
    src.len()
}

/// A conditional being interpreted.
#[derive(Debug)]
enum ShFrame {
    If {
        /// The enclosing code runs.
        outer: bool,
        /// A branch was taken already.
        taken: bool,
        /// A condition could not be evaluated: no branch runs.
        unknown: bool,
        /// The current branch runs.
        active: bool,
        /// The condition waiting for its `then`.
        cond: Option<bool>,
    },
    /// A construct not interpreted (`case`, loops, `{ }`): skipped to the
    /// word that closes it.
    Skip(&'static str),
}

/// Fields being built by word expansion.
struct Fields {
    fields: Vec<Vec<u8>>,
    cur: Vec<u8>,
    started: bool,
    split: bool,
    /// Bytes produced so far, and how many may be.
    size: usize,
    limit: usize,
    /// The budget `limit` comes from, as the error names it, once passed.
    over: Option<&'static str>,
    budget: &'static str,
}

/// [`budget::exceeded`] of the shell's budgets, as static error texts.
const ENVVARS_VALUE_TEXT: &str = "budget exceeded: ENVVARS_VALUE (128 KiB)";

const ENVVARS_EXPANDED_TEXT: &str = "budget exceeded: ENVVARS_EXPANDED (16 MiB)";

const ENVVARS_NESTING_TEXT: &str = "budget exceeded: ENVVARS_NESTING (64)";

impl Fields {
    /// Fields of at most [`ENVVARS_VALUE`] bytes, and at most `left` of the
    /// file's [`ENVVARS_EXPANDED`].
    fn new(split: bool, left: usize) -> Fields {
        let (limit, budget) = if left < ENVVARS_VALUE {
            (left, ENVVARS_EXPANDED_TEXT)
        } else {
            (ENVVARS_VALUE, ENVVARS_VALUE_TEXT)
        };
        Fields {
            fields: Vec::new(),
            cur: Vec::new(),
            started: false,
            split,
            size: 0,
            limit,
            over: None,
            budget,
        }
    }

    /// Whether `n` more bytes fit; once they do not, nothing more is added.
    fn room(&mut self, n: usize) -> bool {
        if self.over.is_some() || self.size.saturating_add(n) > self.limit {
            self.over = Some(self.budget);
            return false;
        }
        self.size += n;
        true
    }

    fn lit(&mut self, b: &[u8]) {
        if !self.room(b.len()) {
            return;
        }
        self.cur.extend_from_slice(b);
        self.started = true;
    }

    /// The result of an unquoted expansion: split at blanks and newlines
    /// (the default `IFS`) when splitting.
    fn unquoted(&mut self, v: &[u8]) {
        if !self.room(v.len()) {
            return;
        }
        if !self.split {
            self.cur.extend_from_slice(v);
            return;
        }
        for &c in v {
            if matches!(c, b' ' | b'\t' | b'\n') {
                if self.started {
                    self.fields.push(std::mem::take(&mut self.cur));
                    self.started = false;
                }
            } else {
                self.cur.push(c);
                self.started = true;
            }
        }
    }

    fn finish(mut self) -> Vec<Vec<u8>> {
        if !self.split {
            return vec![self.cur];
        }
        if self.started {
            self.fields.push(self.cur);
        }
        self.fields
    }
}

/// The state of a shell reading a start-up script (Debian's `envvars`
/// for `apache2ctl`).
pub(crate) struct Shell<'a> {
    root: &'a Root,
    vars: BTreeMap<String, String>,
    exported: BTreeSet<String>,
    pub(crate) errors: Vec<(PathBuf, String)>,
    /// Bytes produced by expansion so far ([`ENVVARS_EXPANDED`]).
    expanded: std::cell::Cell<usize>,
}

type ShResult<T> = Result<T, &'static str>;

impl<'a> Shell<'a> {
    /// Starts with `env` as the exported environment.
    pub(crate) fn new(root: &'a Root, env: &BTreeMap<String, String>) -> Shell<'a> {
        Shell {
            root,
            vars: env.clone(),
            exported: env.keys().cloned().collect(),
            errors: Vec::new(),
            expanded: std::cell::Cell::new(0),
        }
    }

    /// Fields for an expansion, within what is left of the budgets.
    fn fields(&self, split: bool) -> Fields {
        Fields::new(split, ENVVARS_EXPANDED.saturating_sub(self.expanded.get()))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub(crate) fn set(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_string(), value.to_string());
    }

    pub(crate) fn unset(&mut self, name: &str) {
        self.vars.remove(name);
        self.exported.remove(name);
    }

    /// The environment a command started now would get.
    pub(crate) fn exported(&self) -> BTreeMap<String, String> {
        self.exported
            .iter()
            .filter_map(|k| self.vars.get(k).map(|v| (k.clone(), v.clone())))
            .collect()
    }

    fn active(frames: &[ShFrame]) -> bool {
        frames
            .iter()
            .all(|f| matches!(f, ShFrame::If { active: true, .. }))
    }

    /// Interprets a sourced file. What is not interpreted is an error entry
    /// and is skipped.
    pub(crate) fn run(&mut self, file: &Path, src: &[u8]) {
        let mut frames: Vec<ShFrame> = Vec::new();
        for cmd in sh_commands(src) {
            let here = at(file, cmd.line);
            if frames.len() >= ENVVARS_NESTING {
                // Each command looks at every open construct.
                self.errors.push((
                    here,
                    format!("{ENVVARS_NESTING_TEXT}: the rest of the file is not interpreted"),
                ));
                return;
            }
            let mut words: &[Vec<u8>] = &cmd.words;
            // Reserved words at the front of a command.
            while let Some(first) = words.first() {
                let rest = words.get(1..).unwrap_or_default();
                let skipping = frames.iter().any(|f| matches!(f, ShFrame::Skip(_)));
                let closer: Option<&'static str> = match first.as_slice() {
                    b"case" => Some("esac"),
                    b"for" | b"while" | b"until" => Some("done"),
                    b"{" => Some("}"),
                    b"if" if skipping => Some("fi"),
                    _ => None,
                };
                if let Some(closer) = closer {
                    if Self::active(&frames) {
                        self.errors.push((
                            here.clone(),
                            format!(
                                "`{}` is not interpreted: skipped to `{closer}`",
                                lossy(first)
                            ),
                        ));
                    }
                    frames.push(ShFrame::Skip(closer));
                    words = &[];
                    break;
                }
                if skipping {
                    if let Some(ShFrame::Skip(closer)) = frames.last() {
                        if first.as_slice() == closer.as_bytes() {
                            frames.pop();
                        }
                    }
                    words = &[];
                    break;
                }
                match first.as_slice() {
                    b"if" => {
                        let outer = Self::active(&frames);
                        let cond = if outer {
                            self.condition(&here, rest, cmd.problem)
                        } else {
                            Some(false)
                        };
                        frames.push(ShFrame::If {
                            outer,
                            taken: false,
                            unknown: cond.is_none(),
                            active: false,
                            cond,
                        });
                        words = &[];
                    }
                    b"then" => {
                        if let Some(ShFrame::If {
                            outer,
                            taken,
                            unknown,
                            active,
                            cond,
                        }) = frames.last_mut()
                        {
                            *active = *outer && !*unknown && !*taken && *cond == Some(true);
                            *taken |= *active;
                            *cond = None;
                        }
                        words = rest;
                        continue;
                    }
                    b"elif" => {
                        let probe = matches!(
                            frames.last(),
                            Some(ShFrame::If {
                                outer: true,
                                taken: false,
                                unknown: false,
                                ..
                            })
                        );
                        let c = if probe {
                            self.condition(&here, rest, cmd.problem)
                        } else {
                            Some(false)
                        };
                        if let Some(ShFrame::If {
                            unknown,
                            active,
                            cond,
                            ..
                        }) = frames.last_mut()
                        {
                            *active = false;
                            *unknown |= c.is_none();
                            *cond = c;
                        }
                        words = &[];
                    }
                    b"else" => {
                        if let Some(ShFrame::If {
                            outer,
                            taken,
                            unknown,
                            active,
                            ..
                        }) = frames.last_mut()
                        {
                            *active = *outer && !*taken && !*unknown;
                            *taken = true;
                        }
                        words = rest;
                        continue;
                    }
                    b"fi" => {
                        if matches!(frames.last(), Some(ShFrame::If { .. })) {
                            frames.pop();
                        }
                        words = rest;
                        continue;
                    }
                    _ => {}
                }
                break;
            }
            if words.is_empty() || !Self::active(&frames) {
                continue;
            }
            if let Some(why) = cmd.problem {
                self.errors
                    .push((here, format!("{why} are not interpreted: command skipped")));
                continue;
            }
            if let Err(why) = self.simple(words, &here) {
                self.errors
                    .push((here, format!("not interpreted ({why}): command skipped")));
            }
        }
        if frames.iter().any(|f| matches!(f, ShFrame::If { .. })) {
            self.errors
                .push((file.to_path_buf(), "`if` without `fi`".into()));
        }
    }

    /// A simple command: assignments, `export`, `unset`, `readonly`, `:`,
    /// `true`; `ulimit` and `umask` change no variable and are passed over.
    fn simple(&mut self, words: &[Vec<u8>], here: &Path) -> ShResult<()> {
        let n_assign = words.iter().take_while(|w| assignment(w).is_some()).count();
        let (assigns, rest) = words.split_at(n_assign);
        if rest.is_empty() {
            for w in assigns {
                self.assign(w, false)?;
            }
            return Ok(());
        }
        let name = self.expand(rest.first().map_or(&[][..], Vec::as_slice), false)?;
        let name = name.first().map(|n| lossy(n)).unwrap_or_default();
        let args = rest.get(1..).unwrap_or_default();
        if !assigns.is_empty() && !matches!(name.as_str(), "export" | "readonly" | ":") {
            return Err("assignments for one command");
        }
        match name.as_str() {
            "export" | "readonly" => {
                for w in args {
                    if w.as_slice() == b"-p" {
                        continue;
                    }
                    if assignment(w).is_some() {
                        self.assign(w, name == "export")?;
                    } else {
                        for n in self.expand(w, true)? {
                            let n = lossy(&n);
                            if !env_name_ok(&n) {
                                return Err("bad variable name");
                            }
                            if name == "export" {
                                self.exported.insert(n);
                            }
                        }
                    }
                }
            }
            "unset" => {
                for w in args {
                    match w.as_slice() {
                        b"-v" => continue,
                        b"-f" => break,
                        _ => {}
                    }
                    for n in self.expand(w, true)? {
                        self.unset(&lossy(&n));
                    }
                }
            }
            ":" | "true" => {}
            "ulimit" | "umask" => {}
            "." | "source" => {
                let what = args.first().map(|a| lossy(a)).unwrap_or_default();
                self.errors.push((
                    here.to_path_buf(),
                    format!("`. {what}` is not followed: what it sets is not modelled"),
                ));
            }
            _ => return Err("not an assignment, export, unset or if"),
        }
        Ok(())
    }

    fn assign(&mut self, word: &[u8], export: bool) -> ShResult<()> {
        let Some((name, value)) = assignment(word) else {
            return Err("not an assignment");
        };
        let v = self.expand(value, false)?;
        let v = v.first().map(|v| lossy(v)).unwrap_or_default();
        self.vars.insert(name.clone(), v);
        if export {
            self.exported.insert(name);
        }
        Ok(())
    }

    /// `if` conditions: `[ ... ]`, `test ...`, `true`, `false`, with `!`.
    fn condition(
        &mut self,
        here: &Path,
        words: &[Vec<u8>],
        problem: Option<&'static str>,
    ) -> Option<bool> {
        let result = match problem {
            Some(p) => Err(p),
            None => self.eval_condition(words),
        };
        match result {
            Ok(b) => Some(b),
            Err(why) => {
                self.errors.push((
                    here.to_path_buf(),
                    format!("condition not interpreted ({why}): none of its branches is applied"),
                ));
                None
            }
        }
    }

    fn eval_condition(&mut self, words: &[Vec<u8>]) -> ShResult<bool> {
        let (negate, words) = match words.split_first() {
            Some((first, rest)) if first.as_slice() == b"!" => (true, rest),
            _ => (false, words),
        };
        let mut fields: Vec<String> = Vec::new();
        for w in words {
            fields.extend(self.expand(w, true)?.iter().map(|f| lossy(f)));
        }
        let result = match fields.split_first() {
            Some((cmd, args)) if cmd == "[" => match args.split_last() {
                Some((last, inner)) if last == "]" => self.test(inner)?,
                _ => return Err("[ without ]"),
            },
            Some((cmd, args)) if cmd == "test" => self.test(args)?,
            Some((cmd, [])) if cmd == "true" || cmd == ":" => true,
            Some((cmd, [])) if cmd == "false" => false,
            _ => return Err("only [ ], test, true and false are evaluated"),
        };
        Ok(result != negate)
    }

    /// `test` with zero to four arguments (POSIX's rules by count).
    fn test(&self, args: &[String]) -> ShResult<bool> {
        let s = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
        match args.len() {
            0 => Ok(false),
            1 => Ok(!s(0).is_empty()),
            2 if s(0) == "!" => Ok(s(1).is_empty()),
            2 => self.unary(s(0), s(1)),
            3 if s(0) == "!" => self.unary(s(1), s(2)).map(|b| !b),
            3 => binary(s(0), s(1), s(2)),
            4 if s(0) == "!" => binary(s(1), s(2), s(3)).map(|b| !b),
            _ => Err("test expression too complex"),
        }
    }

    fn unary(&self, op: &str, arg: &str) -> ShResult<bool> {
        match op {
            "-z" => Ok(arg.is_empty()),
            "-n" => Ok(!arg.is_empty()),
            "-e" | "-f" | "-d" | "-r" | "-s" if arg.starts_with('/') => {
                let kind = self.root.kind(Path::new(arg));
                Ok(match op {
                    "-f" => kind == Some(Kind::Regular),
                    "-d" => kind == Some(Kind::Directory),
                    _ => kind.is_some(),
                })
            }
            _ => Err("unsupported test operator"),
        }
    }

    /// Word expansion: quotes, `\`, `$NAME`, `${NAME}` with `:-`, `-`,
    /// `:+`, `+`, `#`, `##`, `%`, `%%`, `${#NAME}`; field splitting of
    /// unquoted expansions when `split`. No pathname expansion, no tilde.
    fn expand(&self, raw: &[u8], split: bool) -> ShResult<Vec<Vec<u8>>> {
        self.expand_at(raw, split, 0)
    }

    /// [`Shell::expand`] at `depth` of nested expansions: what it produces
    /// counts toward [`ENVVARS_EXPANDED`], even when it fails.
    fn expand_at(&self, raw: &[u8], split: bool, depth: usize) -> ShResult<Vec<Vec<u8>>> {
        let mut f = self.fields(split);
        let r = self.expand_into(raw, &mut f, depth);
        self.expanded
            .set(self.expanded.get().saturating_add(f.size));
        r?;
        Ok(f.finish())
    }

    /// Stops at the first byte past a budget (a value can be made to
    /// double at each line).
    fn expand_into(&self, raw: &[u8], f: &mut Fields, depth: usize) -> ShResult<()> {
        if depth > 8 {
            return Err("expansions nested too deeply");
        }
        let mut i = 0;
        while let Some(&c) = raw.get(i) {
            if let Some(over) = f.over {
                return Err(over);
            }
            match c {
                b'\\' => {
                    match raw.get(i + 1) {
                        Some(&n) => f.lit(&[n]),
                        None => f.lit(b"\\"),
                    }
                    i += 2;
                }
                b'\'' => {
                    let end = raw
                        .get(i + 1..)
                        .and_then(|r| r.iter().position(|&d| d == b'\''))
                        .map_or(raw.len(), |p| p + i + 1);
                    f.lit(raw.get(i + 1..end).unwrap_or_default());
                    i = end + 1;
                }
                b'"' => {
                    f.lit(b"");
                    i += 1;
                    while let Some(&d) = raw.get(i) {
                        if let Some(over) = f.over {
                            return Err(over);
                        }
                        match d {
                            b'"' => break,
                            b'\\' => match raw.get(i + 1) {
                                Some(&n) if matches!(n, b'$' | b'`' | b'"' | b'\\' | b'\n') => {
                                    if n != b'\n' {
                                        f.lit(&[n]);
                                    }
                                    i += 2;
                                    continue;
                                }
                                _ => f.lit(b"\\"),
                            },
                            b'$' => {
                                let (v, next) = self.param(raw, i, depth)?;
                                match v {
                                    Some(v) => f.lit(&v),
                                    None => f.lit(b"$"),
                                }
                                i = next;
                                continue;
                            }
                            b'`' => return Err("command substitution"),
                            _ => f.lit(&[d]),
                        }
                        i += 1;
                    }
                    i += 1;
                }
                b'$' => {
                    let (v, next) = self.param(raw, i, depth)?;
                    match v {
                        Some(v) => f.unquoted(&v),
                        None => f.lit(b"$"),
                    }
                    i = next;
                }
                b'`' => return Err("command substitution"),
                _ => {
                    f.lit(&[c]);
                    i += 1;
                }
            }
        }
        match f.over {
            Some(over) => Err(over),
            None => Ok(()),
        }
    }

    /// A parameter expansion at `raw[i] == '$'`: its value (`None` for a
    /// lone `$`) and the index after it.
    fn param(&self, raw: &[u8], i: usize, depth: usize) -> ShResult<(Option<Vec<u8>>, usize)> {
        match raw.get(i + 1) {
            Some(b'{') => {
                let end = matching_brace(raw, i + 2);
                if end >= raw.len() {
                    return Err("unterminated ${");
                }
                let inner = raw.get(i + 2..end).unwrap_or_default();
                Ok((Some(self.braced(inner, depth)?), end + 1))
            }
            Some(&c) if c == b'_' || c.is_ascii_alphabetic() => {
                let len = raw
                    .get(i + 1..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|&&c| c == b'_' || c.is_ascii_alphanumeric())
                    .count();
                let name = lossy(raw.get(i + 1..i + 1 + len).unwrap_or_default());
                Ok((
                    Some(self.get(&name).unwrap_or_default().as_bytes().to_vec()),
                    i + 1 + len,
                ))
            }
            Some(b'(') => Err("command substitution"),
            Some(&c) if c.is_ascii_digit() || b"@*#?$!-".contains(&c) => Err("special parameters"),
            _ => Ok((None, i + 1)),
        }
    }

    fn braced(&self, inner: &[u8], depth: usize) -> ShResult<Vec<u8>> {
        let name_len = |s: &[u8]| {
            s.iter()
                .take_while(|&&c| c == b'_' || c.is_ascii_alphanumeric())
                .count()
        };
        if let Some(rest) = inner.strip_prefix(b"#") {
            if !rest.is_empty() && name_len(rest) == rest.len() {
                let v = self.get(&lossy(rest)).unwrap_or_default();
                return Ok(v.chars().count().to_string().into_bytes());
            }
        }
        let n = name_len(inner);
        let name = inner.get(..n).unwrap_or_default();
        if name.is_empty() || name.first().is_some_and(u8::is_ascii_digit) {
            return Err("bad substitution");
        }
        let value = self.get(&lossy(name));
        let op_word = inner.get(n..).unwrap_or_default();
        if op_word.is_empty() {
            return Ok(value.unwrap_or_default().as_bytes().to_vec());
        }
        const OPS: &[&[u8]] = &[
            b":-", b":=", b":+", b":?", b"##", b"%%", b"-", b"=", b"+", b"?", b"#", b"%",
        ];
        let Some(op) = OPS.iter().find(|op| op_word.starts_with(op)) else {
            return Err("bad substitution");
        };
        let word = op_word.get(op.len()..).unwrap_or_default();
        let expand_word = || -> ShResult<Vec<u8>> {
            let fields = self.expand_at(word, false, depth + 1)?;
            Ok(fields.into_iter().next().unwrap_or_default())
        };
        let set = value.is_some();
        let non_empty = value.is_some_and(|v| !v.is_empty());
        let v = value.unwrap_or_default().as_bytes().to_vec();
        match *op {
            b":-" => {
                if non_empty {
                    Ok(v)
                } else {
                    expand_word()
                }
            }
            b"-" => {
                if set {
                    Ok(v)
                } else {
                    expand_word()
                }
            }
            b":+" => {
                if non_empty {
                    expand_word()
                } else {
                    Ok(Vec::new())
                }
            }
            b"+" => {
                if set {
                    expand_word()
                } else {
                    Ok(Vec::new())
                }
            }
            b":?" | b"?" => {
                if non_empty || (set && *op == b"?") {
                    Ok(v)
                } else {
                    Err("${NAME?} of an unset variable")
                }
            }
            b":=" | b"=" => Err("assignments inside ${}"),
            _ => {
                if v.len() > 4096 {
                    return Err("pattern removal on a long value");
                }
                let pat = expand_word()?;
                Ok(remove_pattern(&v, &pat, op).to_vec())
            }
        }
    }
}

/// `NAME=value` with a valid unquoted name.
fn assignment(word: &[u8]) -> Option<(String, &[u8])> {
    let eq = word.iter().position(|&c| c == b'=')?;
    let name = std::str::from_utf8(word.get(..eq)?).ok()?;
    env_name_ok(name).then(|| (name.to_string(), word.get(eq + 1..).unwrap_or_default()))
}

/// `${v#p}`, `${v##p}`, `${v%p}`, `${v%%p}` with shell patterns.
fn remove_pattern<'v>(v: &'v [u8], pat: &[u8], op: &[u8]) -> &'v [u8] {
    // fnmatch without FNM_PERIOD: shell patterns here match a leading dot.
    let matches = |s: &[u8]| {
        let mut p = Vec::with_capacity(pat.len() + 1);
        p.push(b'x');
        p.extend_from_slice(pat);
        let mut n = Vec::with_capacity(s.len() + 1);
        n.push(b'x');
        n.extend_from_slice(s);
        fnmatch(&p, &n)
    };
    let len = v.len();
    let split = |k: usize| v.split_at(k.min(len));
    match op {
        b"#" => (0..=len)
            .find(|&k| matches(split(k).0))
            .map_or(v, |k| split(k).1),
        b"##" => (0..=len)
            .rev()
            .find(|&k| matches(split(k).0))
            .map_or(v, |k| split(k).1),
        b"%" => (0..=len)
            .rev()
            .find(|&k| matches(split(k).1))
            .map_or(v, |k| split(k).0),
        _ => (0..=len)
            .find(|&k| matches(split(k).1))
            .map_or(v, |k| split(k).0),
    }
}

fn binary(a: &str, op: &str, b: &str) -> ShResult<bool> {
    let num = |s: &str| s.trim().parse::<i64>().map_err(|_| "integer expected");
    Ok(match op {
        "=" | "==" => a == b,
        "!=" => a != b,
        "-eq" => num(a)? == num(b)?,
        "-ne" => num(a)? != num(b)?,
        "-lt" => num(a)? < num(b)?,
        "-le" => num(a)? <= num(b)?,
        "-gt" => num(a)? > num(b)?,
        "-ge" => num(a)? >= num(b)?,
        _ => return Err("unsupported test operator"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget;

    #[test]
    fn envvars_budget_texts() {
        assert_eq!(
            ENVVARS_VALUE_TEXT,
            budget::exceeded("ENVVARS_VALUE", budget::bytes(ENVVARS_VALUE as u64))
        );
        assert_eq!(
            ENVVARS_EXPANDED_TEXT,
            budget::exceeded("ENVVARS_EXPANDED", budget::bytes(ENVVARS_EXPANDED as u64))
        );
        assert_eq!(
            ENVVARS_NESTING_TEXT,
            budget::exceeded("ENVVARS_NESTING", ENVVARS_NESTING)
        );
    }
}
