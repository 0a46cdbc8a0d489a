//! The ini language as PHP reads it at start-up: Zend's scanner
//! (`zend_ini_scanner.l`) and grammar (`zend_ini_parser.y`), and the
//! callback that sorts entries into the configuration hash and the two
//! extension lists (`php_ini_parser_cb`, main/php_ini.c). Which files are
//! read, and what the lists become, is the parent module's business.
//!
//! **Ini syntax.** `Lexer` re-implements the states and the longest-match
//! rules of Zend's ini scanner (`zend_ini_scanner.l`, normal mode) and
//! `Parser` the grammar of `zend_ini_parser.y`: `[sections]`, `;`
//! comments, quoted `"…"` (with `\"`, `\\`, `\$` escapes) and raw `'…'`
//! values, unquoted values with constants, `${name}` (the configuration so
//! far, then the environment, else empty; `${name:-fallback}` since PHP
//! 8.3), the `| & ^ ~ !` integer operators. `#` starts no comment (PHP 7
//! removed that), so a `#` line is an entry with a strange name, or a
//! syntax error when it holds one of the scanner's operator characters.
//! The grammar has no error recovery: at the first syntax error PHP stops
//! reading *that* file, keeps the entries read before it and goes on with
//! the next file. So does this model. The rest of the file is still
//! scanned so that further syntax errors, and extension lines that PHP
//! will not see, are reported in [`PhpConfig::errors`](super::PhpConfig::errors).
//!
//! **The two lists** (`php_ini_parser_cb`). `extension` and
//! `zend_extension` (names compared case-insensitively) are appended to
//! two lists unless the current section is a `[PATH=…]` or `[HOST=…]` one
//! (any section whose name starts with `PATH` or `HOST`, case-insensitive);
//! every other section is flat. The section is reset for each file
//! (`RESET_ACTIVE_INI_HASH`). Other entries go to the configuration hash,
//! where `extension_dir` (exact name, last assignment wins) and `${name}`
//! find them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bstr::ByteSlice;

use super::ExtensionKind;
use crate::budget::{self, ERRORS_PER_FILE, PHP_EXTENSIONS, PHP_INI_LINES, PHP_VALUE_DEPTH};

/// One `extension=` or `zend_extension=` as read.
#[derive(Debug, Clone)]
pub(super) struct RawEntry {
    pub(super) name: Vec<u8>,
    pub(super) file: PathBuf,
    pub(super) line: usize,
}

// ---------------------------------------------------------------------------
// The ini state shared by all files (php_ini_parser_cb)

pub(super) struct IniState<'h> {
    env: &'h BTreeMap<String, String>,
    constants: Vec<(&'static [u8], Vec<u8>)>,
    /// `configuration_hash`: top-level entries other than the two lists.
    config: BTreeMap<Vec<u8>, Vec<u8>>,
    /// `is_special_section`: inside `[PATH=…]` / `[HOST=…]`.
    special: bool,
    /// The same, for the part of a file PHP does not read.
    shadow_special: bool,
    pub(super) zend: Vec<RawEntry>,
    pub(super) ext: Vec<RawEntry>,
    /// The winning `extension_dir` value and its `path:line`.
    pub(super) extension_dir: Option<(Vec<u8>, String)>,
    pub(super) errors: Vec<(String, String)>,
    /// [`PHP_EXTENSIONS`] reached and reported.
    full: bool,
}

/// Line numbers as PHP counts them (`\n`, `\r\n` and a lone `\r`).
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &[u8]) -> Lines {
        let mut starts = vec![0];
        let mut i = 0;
        while i < text.len() {
            match text.get(i) {
                Some(b'\r') if text.get(i + 1) == Some(&b'\n') => {
                    i += 2;
                    starts.push(i);
                }
                Some(b'\r' | b'\n') => {
                    i += 1;
                    starts.push(i);
                }
                _ => i += 1,
            }
        }
        Lines { starts }
    }

    /// 1-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset).max(1)
    }

    /// Byte offset where a 1-based line starts.
    fn start_of(&self, line: usize) -> Option<usize> {
        self.starts.get(line.checked_sub(1)?).copied()
    }
}

impl<'h> IniState<'h> {
    /// The state before the first file: no entries, no section, the
    /// service environment and the build's constants for `${…}` and
    /// unquoted words.
    pub(super) fn new(
        env: &'h BTreeMap<String, String>,
        constants: Vec<(&'static [u8], Vec<u8>)>,
    ) -> IniState<'h> {
        IniState {
            env,
            constants,
            config: BTreeMap::new(),
            special: false,
            shadow_special: false,
            zend: Vec::new(),
            ext: Vec::new(),
            extension_dir: None,
            errors: Vec::new(),
            full: false,
        }
    }

    /// One file, as `zend_parse_ini_file` reads it with `php_ini_parser_cb`.
    pub(super) fn parse_file(&mut self, file: &Path, text: &[u8], fallback_syntax: bool) {
        self.special = false; // RESET_ACTIVE_INI_HASH
        let lines = Lines::new(text);
        let mut text = text;
        if let Some(cut) = lines.start_of(PHP_INI_LINES + 1) {
            if cut < text.len() {
                self.errors.push((
                    file.display().to_string(),
                    format!(
                        "{}: the rest is not read",
                        budget::exceeded("PHP_INI_LINES", PHP_INI_LINES)
                    ),
                ));
                text = text.get(..cut).unwrap_or_default();
            }
        }
        let result = Parser {
            lx: Lexer::new(text, 0, fallback_syntax),
            peeked: None,
            depth: 0,
            st: self,
            file,
            lines: &lines,
            stopped_at: None,
        }
        .statements();
        let Err(e) = result else {
            return;
        };
        let stop_line = lines.line_of(e.at);
        self.errors.push((
            format!("{}:{stop_line}", file.display()),
            format!("{}; PHP does not read the rest of this file", e.msg),
        ));
        // What follows is not read by PHP: scan it for what that loses.
        self.shadow_special = self.special;
        let mut line = stop_line;
        // One more than is kept, so that "and N more" says there are more.
        for _ in 0..ERRORS_PER_FILE {
            let Some(start) = lines.start_of(line + 1).filter(|s| *s < text.len()) else {
                return;
            };
            let result = Parser {
                lx: Lexer::new(text, start, fallback_syntax),
                peeked: None,
                depth: 0,
                st: self,
                file,
                lines: &lines,
                stopped_at: Some(stop_line),
            }
            .statements();
            let Err(e) = result else {
                return;
            };
            let l = lines.line_of(e.at).max(line + 1);
            self.errors.push((
                format!("{}:{l}", file.display()),
                format!("{} (in the part PHP does not read)", e.msg),
            ));
            line = l;
        }
    }

    /// `${name}`: the configuration so far, then the environment, then the
    /// fallback, else empty (`zend_ini_get_var`).
    fn lookup(&self, name: &[u8], fallback: Option<Vec<u8>>) -> Vec<u8> {
        if let Some(v) = self.config.get(name) {
            return v.clone();
        }
        if let Some(v) = std::str::from_utf8(name).ok().and_then(|n| self.env.get(n)) {
            return v.as_bytes().to_vec();
        }
        fallback.unwrap_or_default()
    }

    /// An unquoted constant-like word (`zend_ini_get_constant`).
    fn constant(&self, name: Vec<u8>) -> Vec<u8> {
        if name.contains(&b':') {
            return name;
        }
        match self.constants.iter().find(|(n, _)| *n == name.as_slice()) {
            Some((_, v)) => v.clone(),
            None => name,
        }
    }
}

// ---------------------------------------------------------------------------
// The scanner (zend_ini_scanner.l, ZEND_INI_SCANNER_NORMAL)

/// Scanner conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Initial,
    Value,
    SectionValue,
    Offset,
    DoubleQuotes,
    VarName,
    VarFallback,
}

/// Tokens of `zend_ini_parser.y`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Section,
    Label(Vec<u8>),
    Offset(Vec<u8>),
    Raw(Vec<u8>),
    Constant(Vec<u8>),
    Number(Vec<u8>),
    Str(Vec<u8>),
    Space(Vec<u8>),
    Quoted(Vec<u8>),
    DollarCurly,
    VarName(Vec<u8>),
    Fallback,
    True,
    False,
    Null,
    Eol,
    Ch(u8),
    End,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Section => "'['".to_string(),
        Tok::Label(s) => format!("name '{}'", s.as_bstr()),
        Tok::Offset(s) => format!("'{}['", s.as_bstr()),
        Tok::Raw(s) | Tok::Constant(s) | Tok::Number(s) | Tok::Str(s) | Tok::Quoted(s) => {
            format!("'{}'", s.as_bstr())
        }
        Tok::Space(_) => "whitespace".to_string(),
        Tok::DollarCurly => "'${'".to_string(),
        Tok::VarName(s) => format!("variable name '{}'", s.as_bstr()),
        Tok::Fallback => "':-'".to_string(),
        Tok::True => "boolean true (true/on/yes)".to_string(),
        Tok::False => "boolean false (false/off/no/none)".to_string(),
        Tok::Null => "null".to_string(),
        Tok::Eol => "end of line".to_string(),
        Tok::Ch(c) => format!("'{}'", [*c].as_bstr()),
        Tok::End => "end of file".to_string(),
    }
}

/// `TOKENS`: characters returned as themselves outside values.
const TOKEN_CHARS: &[u8] = b":,.[]\"'()&|^+-/*=%$!~<>?@{}";
/// `OPERATORS` inside values.
const OPERATOR_CHARS: &[u8] = b"&|^~()!";

/// `LABEL_CHAR`.
fn is_label_char(c: u8) -> bool {
    !b"=\n\r\t;&|^$~(){}!\"[]\0".contains(&c)
}

fn is_ts(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Which run of characters a string token is made of.
#[derive(Clone, Copy)]
enum Run {
    /// `VALUE_CHARS`.
    Value,
    /// `FALLBACK_CHARS`.
    Fallback,
    /// `SECTION_VALUE_CHARS`.
    Section,
}

/// Zend's ini scanner, state for state. Bytes past the end read as NUL, as
/// the scanner's `ZEND_MMAP_AHEAD` padding does.
struct Lexer<'a> {
    b: &'a [u8],
    pos: usize,
    st: St,
    stack: Vec<St>,
    /// `${name:-fallback}` (PHP ≥ 8.3).
    fallback_syntax: bool,
    /// Where the catch-all rule `<*>[^]` ended the input.
    halted_at: Option<usize>,
}

impl<'a> Lexer<'a> {
    fn new(b: &'a [u8], pos: usize, fallback_syntax: bool) -> Lexer<'a> {
        Lexer {
            b,
            pos,
            st: St::Initial,
            stack: Vec::new(),
            fallback_syntax,
            halted_at: None,
        }
    }

    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    fn slice(&self, from: usize, to: usize) -> Vec<u8> {
        self.b.get(from..to).unwrap_or_default().to_vec()
    }

    fn push(&mut self, next: St) {
        self.stack.push(self.st);
        self.st = next;
    }

    fn pop(&mut self) {
        self.st = self.stack.pop().unwrap_or(St::Initial);
    }

    /// `{TABS_AND_SPACES}*`
    fn ts(&self, i: usize) -> usize {
        let mut j = i;
        while j < self.b.len() && is_ts(self.at(j)) {
            j += 1;
        }
        j - i
    }

    /// `{NEWLINE}`
    fn newline(&self, i: usize) -> usize {
        if i >= self.b.len() {
            return 0;
        }
        match (self.at(i), self.at(i + 1)) {
            (b'\r', b'\n') if i + 1 < self.b.len() => 2,
            (b'\r' | b'\n', _) => 1,
            _ => 0,
        }
    }

    /// `{TABS_AND_SPACES}*{NEWLINE}`
    fn eol(&self, i: usize) -> usize {
        let t = self.ts(i);
        match self.newline(i + t) {
            0 => 0,
            n => t + n,
        }
    }

    /// `{TABS_AND_SPACES}*[;][^\r\n]*{NEWLINE}`: needs the newline.
    fn comment(&self, i: usize) -> usize {
        let t = self.ts(i);
        if self.at(i + t) != b';' || i + t >= self.b.len() {
            return 0;
        }
        let mut j = i + t + 1;
        while j < self.b.len() && !matches!(self.at(j), b'\r' | b'\n') {
            j += 1;
        }
        match self.newline(j) {
            0 => 0,
            n => j + n - i,
        }
    }

    /// `{LABEL}`
    fn label(&self, i: usize) -> usize {
        let mut j = i;
        while j < self.b.len() && is_label_char(self.at(j)) {
            j += 1;
        }
        j - i
    }

    /// A case-insensitive keyword (the scanner is built with re2c
    /// `--case-inverted`) followed by `{TABS_AND_SPACES}*`.
    fn keyword(&self, i: usize, words: &[&str]) -> usize {
        let best = words
            .iter()
            .filter(|w| {
                self.b
                    .get(i..i + w.len())
                    .is_some_and(|s| s.eq_ignore_ascii_case(w.as_bytes()))
            })
            .map(|w| w.len())
            .max()
            .unwrap_or(0);
        if best == 0 {
            0
        } else {
            best + self.ts(i + best)
        }
    }

    /// `{CONSTANT}`
    fn constant(&self, i: usize) -> usize {
        let c = self.at(i);
        if i >= self.b.len() || !(c.is_ascii_alphabetic() || c == b'_') {
            return 0;
        }
        let mut j = i + 1;
        while j < self.b.len() && (self.at(j).is_ascii_alphanumeric() || self.at(j) == b'_') {
            j += 1;
        }
        j - i
    }

    fn digits(&self, i: usize) -> usize {
        let mut j = i;
        while j < self.b.len() && self.at(j).is_ascii_digit() {
            j += 1;
        }
        j - i
    }

    /// `{NUMBER}`: `[-]?{LNUM}|{DNUM}`.
    fn number(&self, i: usize) -> usize {
        let d0 = self.digits(i);
        let lnum = if self.at(i) == b'-' {
            match self.digits(i + 1) {
                0 => 0,
                d => d + 1,
            }
        } else {
            d0
        };
        let dnum = if self.at(i + d0) == b'.' && i + d0 < self.b.len() {
            match self.digits(i + d0 + 1) {
                0 if d0 > 0 => d0 + 1,
                0 => 0,
                d => d0 + 1 + d,
            }
        } else {
            0
        };
        lnum.max(dnum)
    }

    /// A run of `VALUE_CHARS`, `FALLBACK_CHARS` or `SECTION_VALUE_CHARS`,
    /// each with `LITERAL_DOLLAR` (`$` not followed by `{`).
    fn run(&self, i: usize, run: Run) -> usize {
        let len = self.b.len();
        let mut j = i;
        while j < len {
            let c = self.at(j);
            if c == b'$' {
                let n = self.at(j + 1);
                if j + 1 >= len || n == b'{' || n == 0 {
                    break;
                }
                j += if n == b'\\' && j + 2 < len { 3 } else { 2 };
                continue;
            }
            match run {
                Run::Value => {
                    if b"= \t\n\r;&|^~()!\"'\0".contains(&c) {
                        break;
                    }
                    j += 1;
                }
                Run::Fallback | Run::Section => {
                    if c == b'\\' {
                        if j + 1 < len {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    let stop: &[u8] = match run {
                        Run::Fallback => b"\n\r;\"'}",
                        _ => b"\n\r;\"']",
                    };
                    if stop.contains(&c) {
                        break;
                    }
                    j += 1;
                }
            }
        }
        j.min(len) - i
    }

    /// `'…'` (at least one character): its length.
    fn raw(&self, i: usize) -> usize {
        if self.at(i) != b'\'' || i >= self.b.len() {
            return 0;
        }
        match self.b.get(i + 1..).and_then(|r| r.find_byte(b'\'')) {
            Some(0) | None => 0,
            Some(k) => k + 2,
        }
    }

    /// `${`
    fn dollar_curly(&self, i: usize) -> usize {
        if self.at(i) == b'$' && self.at(i + 1) == b'{' && i + 1 < self.b.len() {
            2
        } else {
            0
        }
    }

    /// `{TABS_AND_SPACES}*["]`
    fn quote_start(&self, i: usize) -> usize {
        let t = self.ts(i);
        if self.at(i + t) == b'"' && i + t < self.b.len() {
            t + 1
        } else {
            0
        }
    }

    /// The next token and its offset.
    fn next(&mut self) -> (Tok, usize) {
        loop {
            let i = self.pos;
            if i >= self.b.len() {
                if self.st == St::Value {
                    self.st = St::Initial;
                    return (Tok::Eol, i);
                }
                return (Tok::End, i);
            }
            // A UTF-8 byte order mark at the very start is skipped.
            if i == 0 && self.b.len() > 3 && self.b.starts_with(b"\xef\xbb\xbf") {
                self.pos = 3;
                continue;
            }
            let tok = match self.st {
                St::Initial => self.initial(i),
                St::Value => Some(self.value(i)),
                St::SectionValue | St::Offset => Some(self.section_or_offset(i)),
                St::DoubleQuotes => Some(self.double_quotes(i)),
                St::VarName => Some(self.var_name(i)),
                St::VarFallback => Some(self.var_fallback(i)),
            };
            if let Some(t) = tok {
                return (t, i);
            }
        }
    }

    /// Longest match; on a tie the rule listed first wins, as in re2c.
    fn pick(lens: &[usize]) -> (usize, usize) {
        let mut best = (0, 0);
        for (rule, len) in lens.iter().enumerate() {
            if *len > best.1 {
                best = (rule, *len);
            }
        }
        best
    }

    fn halt(&mut self, i: usize) -> Tok {
        self.halted_at = Some(i);
        self.pos = self.b.len();
        Tok::End
    }

    /// `<INITIAL>`; `None` for skipped blanks.
    fn initial(&mut self, i: usize) -> Option<Tok> {
        let c = self.at(i);
        let label = self.label(i);
        let offset = if label > 0 && self.at(i + label) == b'[' && i + label < self.b.len() {
            label + 1 + self.ts(i + label + 1)
        } else {
            0
        };
        let eq = {
            let t = self.ts(i);
            if self.at(i + t) == b'=' && i + t < self.b.len() {
                t + 1 + self.ts(i + t + 1)
            } else {
                0
            }
        };
        let lens = [
            usize::from(c == b'['),                           // 0 "["
            offset,                                           // 1 {LABEL}"["
            self.keyword(i, &["true", "on", "yes"]),          // 2
            self.keyword(i, &["false", "off", "no", "none"]), // 3
            self.keyword(i, &["null"]),                       // 4
            label,                                            // 5 {LABEL}
            eq,                                               // 6 =
            usize::from(c != 0 && TOKEN_CHARS.contains(&c)),  // 7 {TOKENS}
            self.ts(i),                                       // 8 blanks
            self.eol(i),                                      // 9 newline
            self.comment(i),                                  // 10 comment
            1,                                                // 11 [^]
        ];
        let (rule, len) = Self::pick(&lens);
        let text = self.slice(i, i + len);
        self.pos = i + len;
        Some(match rule {
            0 => {
                self.st = St::SectionValue;
                Tok::Section
            }
            1 => {
                self.st = St::Offset;
                Tok::Offset(trim(&text, b"[\n\r\t "))
            }
            2 => Tok::True,
            3 => Tok::False,
            4 => Tok::Null,
            5 => Tok::Label(trim(&text, b"\n\r\t ")),
            6 => {
                self.st = St::Value;
                Tok::Ch(b'=')
            }
            7 => Tok::Ch(c),
            8 => return None,
            9 | 10 => Tok::Eol,
            _ => self.halt(i),
        })
    }

    /// `<ST_VALUE>`
    fn value(&mut self, i: usize) -> Tok {
        let c = self.at(i);
        let lens = [
            self.raw(i),                                      // 0
            self.dollar_curly(i),                             // 1
            self.keyword(i, &["true", "on", "yes"]),          // 2
            self.keyword(i, &["false", "off", "no", "none"]), // 3
            self.keyword(i, &["null"]),                       // 4
            self.eol(i),                                      // 5
            self.constant(i),                                 // 6
            self.number(i),                                   // 7
            if c != 0 && OPERATOR_CHARS.contains(&c) {
                1 + self.ts(i + 1)
            } else {
                0
            }, // 8
            usize::from(c == b'='),                           // 9
            self.run(i, Run::Value),                          // 10
            self.quote_start(i),                              // 11
            self.ts(i),                                       // 12
            self.comment(i),                                  // 13
            1,                                                // 14
        ];
        let (rule, len) = Self::pick(&lens);
        let text = self.slice(i, i + len);
        self.pos = i + len;
        match rule {
            0 => Tok::Raw(
                text.get(1..text.len().saturating_sub(1))
                    .unwrap_or_default()
                    .to_vec(),
            ),
            1 => {
                self.push(St::VarName);
                Tok::DollarCurly
            }
            2 => Tok::True,
            3 => Tok::False,
            4 => Tok::Null,
            6 => Tok::Constant(text),
            7 => Tok::Number(text),
            8 => Tok::Ch(c),
            9 => {
                // "=" inside a value ends it without being consumed, so
                // that the next statement starts with '=' and fails.
                self.pos = i;
                self.st = St::Initial;
                Tok::Eol
            }
            10 => Tok::Str(text),
            11 => {
                self.push(St::DoubleQuotes);
                Tok::Ch(b'"')
            }
            12 => Tok::Space(text),
            _ => {
                // 5 newline, 13 comment, 14 any other byte: end of value.
                self.st = St::Initial;
                Tok::Eol
            }
        }
    }

    /// `<ST_SECTION_VALUE>` and `<ST_OFFSET>`.
    fn section_or_offset(&mut self, i: usize) -> Tok {
        let end = if self.st == St::SectionValue {
            if self.at(i) == b']' && i < self.b.len() {
                let t = self.ts(i + 1);
                1 + t + self.newline(i + 1 + t)
            } else {
                0
            }
        } else {
            let t = self.ts(i);
            if self.at(i + t) == b']' && i + t < self.b.len() {
                t + 1
            } else {
                0
            }
        };
        let lens = [
            self.raw(i),
            end,
            self.dollar_curly(i),
            self.constant(i),
            self.number(i),
            self.run(i, Run::Section),
            self.quote_start(i),
            self.ts(i),
            1,
        ];
        let (rule, len) = Self::pick(&lens);
        let text = self.slice(i, i + len);
        self.pos = i + len;
        match rule {
            0 => Tok::Raw(
                text.get(1..text.len().saturating_sub(1))
                    .unwrap_or_default()
                    .to_vec(),
            ),
            1 => {
                self.st = St::Initial;
                Tok::Ch(b']')
            }
            2 => {
                self.push(St::VarName);
                Tok::DollarCurly
            }
            3 => Tok::Constant(text),
            4 => Tok::Number(text),
            5 => Tok::Str(text),
            6 => {
                self.push(St::DoubleQuotes);
                Tok::Ch(b'"')
            }
            7 => Tok::Space(text),
            _ => self.halt(i),
        }
    }

    /// `<ST_DOUBLE_QUOTES>`: up to the closing quote or `${`, with
    /// `zend_ini_escape_string`'s escapes.
    fn double_quotes(&mut self, i: usize) -> Tok {
        if self.dollar_curly(i) > 0 {
            self.pos = i + 2;
            self.push(St::VarName);
            return Tok::DollarCurly;
        }
        if self.at(i) == b'"' {
            self.pos = i + 1 + self.ts(i + 1);
            self.pop();
            return Tok::Ch(b'"');
        }
        let len = self.b.len();
        let mut s = i;
        while s < len {
            let c = self.at(s);
            s += 1;
            match c {
                b'"' => {
                    s -= 1;
                    break;
                }
                b'$' if s < len && self.at(s) == b'{' => {
                    s -= 1;
                    break;
                }
                b'\\' if s < len => {
                    let escaped = self.at(s);
                    s += 1;
                    // key="C:\path\" at the end of a line: the backslash
                    // stays and the quote closes the string.
                    if escaped == b'"' && (s >= len || matches!(self.at(s), b'\n' | b'\r')) {
                        s -= 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        self.pos = s;
        Tok::Quoted(unescape(self.b.get(i..s).unwrap_or_default()))
    }

    /// `<ST_VARNAME>`
    fn var_name(&mut self, i: usize) -> Tok {
        let c = self.at(i);
        if self.fallback_syntax && c == b':' && self.at(i + 1) == b'-' && i + 1 < self.b.len() {
            self.pos = i + 2;
            self.pop();
            self.push(St::VarFallback);
            return Tok::Fallback;
        }
        if is_label_char(c) {
            let mut j = i + 1;
            while j < self.b.len() {
                let d = self.at(j);
                if b"=\n\r\t;&|^$~(){}!\"[]".contains(&d)
                    || (self.fallback_syntax && d == b':' && self.at(j + 1) == b'-')
                {
                    break;
                }
                j += 1;
            }
            self.pos = j;
            return Tok::VarName(trim(&self.slice(i, j), b"\n\r\t "));
        }
        if c == b'}' {
            self.pos = i + 1;
            self.pop();
            return Tok::Ch(b'}');
        }
        self.halt(i)
    }

    /// `<ST_VAR_FALLBACK>`
    fn var_fallback(&mut self, i: usize) -> Tok {
        let lens = [
            self.dollar_curly(i),
            usize::from(self.at(i) == b'}'),
            self.constant(i),
            self.number(i),
            self.run(i, Run::Fallback),
            self.quote_start(i),
            self.ts(i),
            1,
        ];
        let (rule, len) = Self::pick(&lens);
        let text = self.slice(i, i + len);
        self.pos = i + len;
        match rule {
            0 => {
                self.push(St::VarName);
                Tok::DollarCurly
            }
            1 => {
                self.pop();
                Tok::Ch(b'}')
            }
            2 => Tok::Constant(text),
            3 => Tok::Number(text),
            4 => Tok::Str(text),
            5 => {
                self.push(St::DoubleQuotes);
                Tok::Ch(b'"')
            }
            6 => Tok::Space(text),
            _ => self.halt(i),
        }
    }
}

/// Leading blanks and trailing `trailing` bytes removed
/// (`EAT_LEADING_WHITESPACE`, `EAT_TRAILING_WHITESPACE_EX`).
fn trim(s: &[u8], trailing: &[u8]) -> Vec<u8> {
    let start = s.iter().position(|c| !is_ts(*c)).unwrap_or(s.len());
    let s = s.get(start..).unwrap_or_default();
    let end = s
        .iter()
        .rposition(|c| !trailing.contains(c))
        .map_or(0, |p| p + 1);
    s.get(..end).unwrap_or_default().to_vec()
}

/// `zend_ini_escape_string` for `"…"`: `\"`, `\\`, `\$` lose the backslash,
/// other escapes stay as written.
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.iter().copied().peekable();
    while let Some(c) = it.next() {
        if c != b'\\' {
            out.push(c);
            continue;
        }
        match it.peek().copied() {
            None => out.push(b'\\'),
            Some(e @ (b'"' | b'\\' | b'$')) => {
                out.push(e);
                it.next();
            }
            Some(e) => {
                out.push(b'\\');
                out.push(e);
                it.next();
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The grammar (zend_ini_parser.y) and the callback (php_ini_parser_cb)

/// A syntax error: where, and bison's complaint.
struct SyntaxError {
    at: usize,
    msg: String,
}

struct Parser<'a, 's, 'h> {
    lx: Lexer<'a>,
    peeked: Option<(Tok, usize)>,
    depth: usize,
    st: &'s mut IniState<'h>,
    file: &'a Path,
    lines: &'a Lines,
    /// `Some(line)` when PHP stopped reading the file at `line`: entries
    /// are reported, not applied.
    stopped_at: Option<usize>,
}

type Parsed<T> = Result<T, SyntaxError>;

fn unexpected(t: &Tok, at: usize) -> SyntaxError {
    SyntaxError {
        at,
        msg: format!("syntax error, unexpected {}", describe(t)),
    }
}

impl Parser<'_, '_, '_> {
    fn next(&mut self) -> (Tok, usize) {
        match self.peeked.take() {
            Some(p) => p,
            None => self.lx.next(),
        }
    }

    fn peek(&mut self) -> Tok {
        if let Some((t, _)) = &self.peeked {
            return t.clone();
        }
        let p = self.lx.next();
        let t = p.0.clone();
        self.peeked = Some(p);
        t
    }

    fn expect(&mut self, c: u8) -> Parsed<()> {
        match self.next() {
            (Tok::Ch(d), _) if d == c => Ok(()),
            (t, at) => Err(unexpected(&t, at)),
        }
    }

    fn enter(&mut self, at: usize) -> Parsed<()> {
        self.depth += 1;
        if self.depth > PHP_VALUE_DEPTH {
            return Err(SyntaxError {
                at,
                msg: format!(
                    "{}: value not modelled",
                    budget::exceeded("PHP_VALUE_DEPTH", PHP_VALUE_DEPTH)
                ),
            });
        }
        Ok(())
    }

    /// `statement_list`
    fn statements(&mut self) -> Parsed<()> {
        loop {
            let (t, at) = self.next();
            match t {
                Tok::End => {
                    return match self.lx.halted_at {
                        Some(h) if h < self.lx.b.len() && self.lx.at(h) == 0 => Err(SyntaxError {
                            at: h,
                            msg: "NUL byte: PHP's ini scanner takes it for the end of the file"
                                .to_string(),
                        }),
                        _ => Ok(()),
                    };
                }
                Tok::Eol => {}
                Tok::Section => {
                    let name = if starts_value(&self.peek()) {
                        self.var_string_list(false)?
                    } else {
                        Vec::new()
                    };
                    self.expect(b']')?;
                    self.section(&name);
                }
                Tok::Label(key) => {
                    if self.peek() == Tok::Ch(b'=') {
                        self.next();
                        let value = self.string_or_value()?;
                        self.entry(key, value, at);
                    }
                    // A bare name is an entry without value: nothing to do.
                }
                Tok::Offset(_) => {
                    // name[offset] = value: an array entry, never an extension.
                    if starts_value(&self.peek()) {
                        self.var_string_list(true)?;
                    }
                    self.expect(b']')?;
                    self.expect(b'=')?;
                    self.string_or_value()?;
                }
                other => return Err(unexpected(&other, at)),
            }
        }
    }

    /// `string_or_value`
    fn string_or_value(&mut self) -> Parsed<Vec<u8>> {
        match self.peek() {
            Tok::True => {
                self.next();
                Ok(b"1".to_vec())
            }
            Tok::False | Tok::Null | Tok::Eol => {
                self.next();
                Ok(Vec::new())
            }
            _ => self.expr(),
        }
    }

    /// `expr`: `|`, `&`, `^` (left-associative, one level) over unary terms.
    fn expr(&mut self) -> Parsed<Vec<u8>> {
        let mut v = self.unary()?;
        loop {
            match self.peek() {
                Tok::Ch(op @ (b'|' | b'&' | b'^')) => {
                    self.next();
                    let r = self.unary()?;
                    v = int_op(op, &v, Some(&r));
                }
                _ => return Ok(v),
            }
        }
    }

    fn unary(&mut self) -> Parsed<Vec<u8>> {
        let (t, at) = self.next();
        self.enter(at)?;
        let v = match t {
            Tok::Ch(op @ (b'~' | b'!')) => {
                let v = self.unary()?;
                int_op(op, &v, None)
            }
            Tok::Ch(b'(') => {
                let v = self.expr()?;
                self.expect(b')')?;
                v
            }
            other => {
                self.peeked = Some((other, at));
                self.var_string_list(true)?
            }
        };
        self.depth -= 1;
        Ok(v)
    }

    /// `var_string_list` (constants looked up) or `var_string_list_section`.
    fn var_string_list(&mut self, constants: bool) -> Parsed<Vec<u8>> {
        let mut out = Vec::new();
        let mut first = true;
        loop {
            let (t, at) = self.next();
            match t {
                Tok::DollarCurly => out.extend(self.var_ref(at)?),
                Tok::Constant(name) if constants => out.extend(self.st.constant(name)),
                Tok::Constant(s) | Tok::Raw(s) | Tok::Number(s) | Tok::Str(s) | Tok::Space(s) => {
                    out.extend(s);
                }
                Tok::Ch(b'"') => out.extend(self.encapsed(at)?),
                other if first => return Err(unexpected(&other, at)),
                other => {
                    self.peeked = Some((other, at));
                    return Ok(out);
                }
            }
            first = false;
        }
    }

    /// `'"' encapsed_list '"'`, the opening quote read.
    fn encapsed(&mut self, open: usize) -> Parsed<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            match self.next() {
                (Tok::Quoted(s), _) => out.extend(s),
                (Tok::DollarCurly, at) => out.extend(self.var_ref(at)?),
                (Tok::Ch(b'"'), _) => return Ok(out),
                (Tok::End, _) => {
                    return Err(SyntaxError {
                        at: open,
                        msg:
                            "unterminated double quote: PHP reads to the end of the file and fails"
                                .to_string(),
                    });
                }
                (t, at) => return Err(unexpected(&t, at)),
            }
        }
    }

    /// `cfg_var_ref`, the `${` read.
    fn var_ref(&mut self, at: usize) -> Parsed<Vec<u8>> {
        self.enter(at)?;
        let name = match self.next() {
            (Tok::VarName(n), _) => n,
            (t, at) => return Err(unexpected(&t, at)),
        };
        let v = match self.next() {
            (Tok::Ch(b'}'), _) => self.st.lookup(&name, None),
            (Tok::Fallback, _) => {
                let fallback = if starts_value(&self.peek()) {
                    self.var_string_list(true)?
                } else {
                    Vec::new()
                };
                self.expect(b'}')?;
                self.st.lookup(&name, Some(fallback))
            }
            (t, at) => return Err(unexpected(&t, at)),
        };
        self.depth -= 1;
        Ok(v)
    }

    /// `ZEND_INI_PARSER_SECTION`: `[PATH…]` and `[HOST…]` are special.
    fn section(&mut self, name: &[u8]) {
        let special = starts_with_ci(name, b"PATH") || starts_with_ci(name, b"HOST");
        if self.stopped_at.is_some() {
            self.st.shadow_special = special;
        } else {
            self.st.special = special;
        }
    }

    /// `ZEND_INI_PARSER_ENTRY` with a value.
    fn entry(&mut self, key: Vec<u8>, value: Vec<u8>, at: usize) {
        let line = self.lines.line_of(at);
        let here = format!("{}:{line}", self.file.display());
        let kind = if key.eq_ignore_ascii_case(b"extension") {
            Some(ExtensionKind::Extension)
        } else if key.eq_ignore_ascii_case(b"zend_extension") {
            Some(ExtensionKind::Zend)
        } else {
            None
        };
        if let Some(stop) = self.stopped_at {
            if self.st.shadow_special {
                return;
            }
            let what = match kind {
                Some(k) => k.key(),
                None if key == b"extension_dir" => "extension_dir",
                None => return,
            };
            self.st.errors.push((
                here,
                format!(
                    "{what}={} is not seen by PHP: it stopped reading this file at line {stop}",
                    value.as_bstr()
                ),
            ));
            return;
        }
        if self.st.special {
            // Entries of [PATH=…] / [HOST=…] go to that section's own hash.
            return;
        }
        let Some(kind) = kind else {
            if key == b"extension_dir" {
                self.st.extension_dir = Some((value.clone(), here));
            }
            self.st.config.insert(key, value);
            return;
        };
        if self.st.zend.len() + self.st.ext.len() >= PHP_EXTENSIONS {
            if !self.st.full {
                self.st.full = true;
                self.st.errors.push((
                    here,
                    format!(
                        "{}: the rest of the extension entries are not modelled",
                        budget::exceeded("PHP_EXTENSIONS", PHP_EXTENSIONS)
                    ),
                ));
            }
            return;
        }
        let e = RawEntry {
            name: value,
            file: self.file.to_path_buf(),
            line,
        };
        match kind {
            ExtensionKind::Zend => self.st.zend.push(e),
            ExtensionKind::Extension => self.st.ext.push(e),
        }
    }
}

/// Tokens that can start a `var_string_list`.
fn starts_value(t: &Tok) -> bool {
    matches!(
        t,
        Tok::DollarCurly
            | Tok::Constant(_)
            | Tok::Raw(_)
            | Tok::Number(_)
            | Tok::Str(_)
            | Tok::Space(_)
            | Tok::Ch(b'"')
    )
}

fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

/// `zend_ini_do_op`: integer operators on `atoi` of the operands, printed
/// back as a decimal string.
fn int_op(op: u8, a: &[u8], b: Option<&[u8]>) -> Vec<u8> {
    let x = atoi(a);
    let y = b.map_or(0, atoi);
    let r = match op {
        b'|' => x | y,
        b'&' => x & y,
        b'^' => x ^ y,
        b'~' => !x,
        b'!' => i32::from(x == 0),
        _ => 0,
    };
    r.to_string().into_bytes()
}

/// C's `atoi`: optional blanks and sign, then digits, wrapping.
fn atoi(s: &[u8]) -> i32 {
    let mut it = s
        .iter()
        .copied()
        .skip_while(|c| c.is_ascii_whitespace())
        .peekable();
    let neg = match it.peek() {
        Some(b'-') => {
            it.next();
            true
        }
        Some(b'+') => {
            it.next();
            false
        }
        _ => false,
    };
    let mut v: i32 = 0;
    for c in it.take_while(u8::is_ascii_digit) {
        v = v.wrapping_mul(10).wrapping_add(i32::from(c - b'0'));
    }
    if neg { v.wrapping_neg() } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One ini text parsed on its own: the two lists, the errors, the state.
    struct Outcome {
        zend: Vec<String>,
        ext: Vec<String>,
        errors: Vec<(String, String)>,
        st: IniState<'static>,
    }

    fn parse(text: &[u8]) -> Outcome {
        static ENV: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
        let env = ENV.get_or_init(|| {
            let mut m = BTreeMap::new();
            m.insert("HOME_EXT".to_string(), "/opt/ext".to_string());
            m
        });
        let mut st = IniState::new(
            env,
            vec![(b"PHP_EXTENSION_DIR", b"/usr/lib/php/20220829".to_vec())],
        );
        st.parse_file(Path::new("/t.ini"), text, true);
        let list = |v: &[RawEntry]| v.iter().map(|e| e.name.as_bstr().to_string()).collect();
        Outcome {
            zend: list(&st.zend),
            ext: list(&st.ext),
            errors: st.errors.clone(),
            st,
        }
    }

    #[test]
    fn path_and_host_sections_do_not_load() {
        let Outcome {
            zend: z,
            ext: x,
            errors: errs,
            ..
        } = parse(
            b"[PHP]\nextension=a.so\n[PATH=/var/www]\nextension=path.so\nzend_extension=pz.so\n\
              [HOST=example.org]\nextension=host.so\n[mysqli]\nextension=b.so\n\
              [pathological]\nextension=c.so\n[ PATH ]\nextension=d.so\n",
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert!(z.is_empty());
        // "[ PATH ]" starts with a blank, so it is not special.
        assert_eq!(x, ["a.so", "b.so", "d.so"]);
    }

    #[test]
    fn scanner_details() {
        let Outcome {
            zend: z,
            ext: x,
            errors: errs,
            st,
        } = parse(
            b"\xef\xbb\xbf; comment\r\n# extension=hash.so\r\nExtension = Upper.so ; trailing\r\n\
              extension = \"quoted name.so\" ; c\r\nextension='single quoted'\r\n\
              extension=\"esc\\\"aped\\\\\"\nextension[]=array.so\nextension=on\n\
              extension=none\nzend_extension=\"C:\\path\\\"\nextension = spaced value \n\
              extension=${HOME_EXT}/x.so\nextension=PHP_EXTENSION_DIR\nextension_dir=1|2\n\
              extension\nextension=last",
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(z, ["C:\\path\\"]);
        assert_eq!(
            x,
            [
                "Upper.so",
                "quoted name.so",
                "single quoted",
                "esc\"aped\\",
                "1",
                "",
                "spaced value",
                "/opt/ext/x.so",
                "/usr/lib/php/20220829",
                "last",
            ]
        );
        assert_eq!(
            st.config.get(&b"# extension"[..]).map(Vec::as_slice),
            Some(&b"hash.so"[..])
        );
        assert_eq!(
            st.extension_dir.as_ref().map(|(v, _)| v.as_slice()),
            Some(&b"3"[..])
        );
        assert_eq!(st.zend[0].line, 10);
        assert_eq!(st.ext[0].line, 3);
    }

    #[test]
    fn scanner_errors() {
        for (text, line) in [
            (&b"a=1\n(x)\n"[..], 2),
            (b"a=1\nb=c=d\n", 2),
            (b"  [sec]\n", 1),
            (b"a = ${}\n", 1),
            (b"a = foo on\n", 1),
            (b"[unterminated\nb=1\n", 1),
            (b"yes\n", 1),
        ] {
            let errs = parse(text).errors;
            assert!(!errs.is_empty(), "{}", text.as_bstr());
            assert_eq!(errs[0].0, format!("/t.ini:{line}"), "{}", text.as_bstr());
        }
        // Not errors: PHP accepts these.
        for text in [
            &b"x='abc\n"[..],
            b"\t[sec]\n",
            b"a=1 ;no newline at end",
            b"\n\n",
        ] {
            let errs = parse(text).errors;
            assert!(errs.is_empty(), "{}: {errs:?}", text.as_bstr());
        }
    }

    proptest::proptest! {
        /// Any bytes: no panic, the scanner always ends.
        #[test]
        fn arbitrary_bytes_never_panic(text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse(&text);
        }

        /// Ini-looking noise built from the characters that matter.
        #[test]
        fn ini_noise_never_panics(text in "[a-z=;\"'$\\{}\\[\\]():\\- \t\r\n\\\\|&~!^0-9.]{0,200}") {
            let _ = parse(text.as_bytes());
        }
    }
}
