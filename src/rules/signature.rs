//! The signature catalogue: one YAML file per known clash (schema in
//! signatures/README.md), embedded in the binary at build time and
//! extended or overridden (same `id`) by `--signatures DIR`.
//!
//! Every value is checked while it is read, so a mistake is reported with
//! the file, line and column serde_norway gives for it: unknown keys
//! (`deny_unknown_fields`), unknown matcher kinds, regular expressions that
//! do not compile, ids that are not kebab-case, built-in finding ids
//! (`explains`, the `finding` matcher) that are not built-in ids,
//! duplicate ids in one directory.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::model::{FindingId, Severity};
use crate::{budget, yaml_guard};

/// The signatures shipped with soclash (`signatures/*.yaml` at build time).
const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/signatures.rs"));

pub use crate::model::Status;

/// Whether the clash is of old software or still met today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Era {
    Legacy,
    Current,
}

/// One known clash.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub id: Id,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub era: Era,
    /// Distributions and versions it applies to, as the sources say.
    #[serde(default)]
    pub applies_to: Vec<String>,
    /// Built-in finding ids (`symbol-interposition`, ...) this signature
    /// explains: a built-in finding about the same objects is dropped when
    /// the signature matches, so one problem appears once.
    #[serde(default)]
    pub explains: Vec<BuiltinId>,
    #[serde(rename = "match")]
    pub matcher: Matcher,
    /// The severity at most, when the signature matches copies that no
    /// reference crosses between (no interposed binding in its evidence,
    /// no built-in finding explained): their symbol versions keep them
    /// apart, so the finding stays visible without the consequence of an
    /// interposition.
    #[serde(default)]
    pub when_apart: Option<Severity>,
    /// What users see (error messages they search for).
    #[serde(default)]
    pub symptoms: Vec<String>,
    pub remedy: String,
    pub references: Vec<String>,
}

/// A signature id: lowercase letters, digits and single dashes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        // Checked inside the visitor, so that serde_norway gives the error
        // the value's position rather than the enclosing mapping's.
        d.deserialize_str(StrWith("a kebab-case id", |s: &str| {
            let ok = !s.is_empty()
                && s.split('-').all(|part| {
                    !part.is_empty()
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                });
            if ok {
                Ok(Id(s.to_string()))
            } else {
                Err(Error::Id(s.to_string()))
            }
        }))
    }
}

/// The id of a built-in finding (`symbol-interposition`, ...), as
/// `explains` and the `finding` matcher name one; any other id is a schema
/// error at the value's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinId(pub FindingId);

impl<'de> Deserialize<'de> for BuiltinId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<BuiltinId, D::Error> {
        d.deserialize_str(StrWith("a built-in finding id", |s: &str| {
            FindingId::builtin(s)
                .map(BuiltinId)
                .ok_or_else(|| Error::Builtin(s.to_string()))
        }))
    }
}

/// A visitor of one string checked by a function: an error it returns is
/// raised inside `visit_str`, where serde_norway knows the scalar's
/// position.
struct StrWith<F>(&'static str, F);

impl<'de, T, F: FnOnce(&str) -> Result<T, Error>> serde::de::Visitor<'de> for StrWith<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
        (self.1)(s).map_err(E::custom)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a signature matches in one modelled process; composable. Written
/// as a map with exactly one key, the matcher's kind.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Every one matches (their evidence is joined).
    All(Vec<Matcher>),
    /// At least one matches.
    Any(Vec<Matcher>),
    /// The inner matcher does not match (no evidence of its own).
    Not(Box<Matcher>),
    SymbolClash(SymbolClash),
    FamilyMix(FamilyMix),
    EmbeddedCopy(EmbeddedCopy),
    Imports(Imports),
    ElfProperty(ElfProperty),
    Directive(DirectiveMatch),
    /// A member matching the pattern is in the process.
    Present(ObjectPattern),
    /// A built-in finding of the process (`missing-symbol-version`, ...),
    /// for signatures that name a known cause of it.
    Finding(FindingMatch),
}

/// A built-in finding in the same process, by id, optionally about a
/// member matching `object`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingMatch {
    pub id: BuiltinId,
    #[serde(default)]
    pub object: Option<ObjectPattern>,
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Matcher, D::Error> {
        // The kinds are checked inside `visit_map`, so that an error has
        // the matcher's position rather than the enclosing mapping's.
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Matcher;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a matcher: a map with one key, its kind")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Matcher, A::Error> {
                let spec =
                    MatcherSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Matcher::try_from(spec).map_err(serde::de::Error::custom)
            }
        }
        d.deserialize_map(V)
    }
}

/// The YAML shape of a [`Matcher`]: serde_norway reads externally tagged
/// enums only as YAML tags, so the kinds are optional keys of which
/// exactly one must be given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatcherSpec {
    all: Option<Vec<Matcher>>,
    any: Option<Vec<Matcher>>,
    not: Option<Box<Matcher>>,
    symbol_clash: Option<SymbolClash>,
    family_mix: Option<FamilyMix>,
    embedded_copy: Option<EmbeddedCopy>,
    imports: Option<Imports>,
    elf_property: Option<ElfProperty>,
    directive: Option<DirectiveMatch>,
    present: Option<ObjectPattern>,
    finding: Option<FindingMatch>,
}

impl TryFrom<MatcherSpec> for Matcher {
    type Error = Error;

    fn try_from(m: MatcherSpec) -> Result<Matcher, Error> {
        let mut kinds: Vec<Matcher> = Vec::new();
        kinds.extend(m.all.map(Matcher::All));
        kinds.extend(m.any.map(Matcher::Any));
        kinds.extend(m.not.map(Matcher::Not));
        kinds.extend(m.symbol_clash.map(Matcher::SymbolClash));
        kinds.extend(m.family_mix.map(Matcher::FamilyMix));
        kinds.extend(m.embedded_copy.map(Matcher::EmbeddedCopy));
        kinds.extend(m.imports.map(Matcher::Imports));
        kinds.extend(m.elf_property.map(Matcher::ElfProperty));
        kinds.extend(m.directive.map(Matcher::Directive));
        kinds.extend(m.present.map(Matcher::Present));
        kinds.extend(m.finding.map(Matcher::Finding));
        let n = kinds.len();
        let Ok([kind]) = <[Matcher; 1]>::try_from(kinds) else {
            return Err(Error::Kinds(n));
        };
        match kind {
            Matcher::All(v) | Matcher::Any(v) if v.is_empty() => Err(Error::EmptyGroup),
            k => Ok(k),
        }
    }
}

/// References to `symbols` that bind to another object than the one they
/// expect (the binding model's interposition), or, with `exported_twice`,
/// symbols that two members export.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolClash {
    pub symbols: Vec<Glob>,
    /// Only references asking for this version (or definitions of it).
    #[serde(default)]
    pub version: Option<String>,
    /// The rightful owner: where the reference expects the symbol.
    #[serde(default)]
    pub owner: Option<ObjectPattern>,
    /// The object that takes it.
    #[serde(default)]
    pub taker: Option<ObjectPattern>,
    /// Match two members exporting a symbol instead of a binding.
    #[serde(default)]
    pub exported_twice: bool,
    /// At least this many distinct symbols (default 1).
    #[serde(default = "one")]
    pub min_symbols: usize,
}

/// Sonames of one library family loaded from two or more files in one
/// process (two majors, reentrant and not, two builds).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyMix {
    pub soname: Regex,
    #[serde(default = "two")]
    pub min_files: usize,
}

/// A member that defines a library's API without being that library and
/// without depending on it, while the process also has the shared library.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedCopy {
    pub api: Vec<Glob>,
    /// How many API symbols it must export (default 1).
    #[serde(default = "one")]
    pub min_symbols: usize,
    /// The library's soname.
    pub library: Regex,
    /// A string the embedded copy carries in its data (e.g. "OpenSSL 1.").
    #[serde(default)]
    pub version_string: Option<String>,
    /// Also require a member that is the shared library (default true).
    #[serde(default = "yes")]
    pub with_library: bool,
    /// Which members may be the embedder.
    #[serde(default)]
    pub embedder: Option<ObjectPattern>,
}

/// A member that imports (references without defining) one of `symbols`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Imports {
    pub symbols: Vec<Glob>,
    #[serde(default)]
    pub object: Option<ObjectPattern>,
}

/// A member with an ELF property.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElfProperty {
    pub property: Property,
    #[serde(default)]
    pub object: Option<ObjectPattern>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Property {
    /// `DT_TEXTREL` / `DF_TEXTREL`.
    Textrel,
    /// `PT_GNU_STACK` executable, or none.
    ExecStack,
    /// Defines `Py_Initialize` with no libpython among its needs.
    StaticLibpython,
    /// A soname grafted by auditwheel or delocate: `lib*-<8 hex>.so*`.
    GraftedSoname,
}

/// An Apache directive of the process's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectiveMatch {
    /// The directive name, case-insensitive (`WSGIDaemonProcess`).
    pub name: String,
    /// The `option=value` to test (`display-name`); else the argument.
    #[serde(default)]
    pub option: Option<String>,
    /// The value must match; without it the directive (or option) being
    /// there is enough.
    #[serde(default)]
    pub value: Option<Regex>,
}

/// Which members an object matcher means; every given field must match.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectPattern {
    #[serde(default)]
    pub soname: Option<Regex>,
    /// The canonical path inside the root.
    #[serde(default)]
    pub path: Option<Regex>,
    /// `httpd`, `apache-module`, `php-extension`, `python-extension` or
    /// `library`: how the member came into the process.
    #[serde(default)]
    pub kind: Option<Kind>,
    /// Exports at least one of these.
    #[serde(default)]
    pub exports: Vec<Glob>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Httpd,
    ApacheModule,
    PhpExtension,
    PythonExtension,
    Library,
}

/// A compiled regular expression, checked when the file is read.
#[derive(Debug, Clone)]
pub struct Regex(pub regex::Regex);

impl<'de> Deserialize<'de> for Regex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Regex, D::Error> {
        d.deserialize_str(StrWith("a regular expression", |s: &str| {
            regex::Regex::new(s)
                .map(Regex)
                .map_err(|error| Error::Regex {
                    pattern: s.to_string(),
                    error,
                })
        }))
    }
}

/// A symbol name or a shell-style pattern (`SSL_*`, `XML_Parse?`).
#[derive(Debug, Clone)]
pub struct Glob {
    pub text: String,
    /// Up to the first wildcard: every name it matches starts so, which
    /// turns a lookup in a sorted export list into one run of it.
    prefix: String,
    /// `None` for a plain name or a prefix followed by one `*` alone,
    /// which need no automaton (most signatures' globs are such).
    re: Option<regex::Regex>,
}

impl Glob {
    pub fn new(text: &str) -> Result<Glob, Error> {
        if text.is_empty() {
            return Err(Error::EmptyGlob);
        }
        let prefix: String = text
            .chars()
            .take_while(|c| !matches!(c, '*' | '?'))
            .collect();
        let rest = text.get(prefix.len()..).unwrap_or_default();
        if rest.is_empty() || rest == "*" {
            return Ok(Glob {
                text: text.to_string(),
                prefix,
                re: None,
            });
        }
        let mut re = String::from("^");
        for c in text.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        regex::Regex::new(&re)
            .map(|re| Glob {
                text: text.to_string(),
                prefix,
                re: Some(re),
            })
            .map_err(Error::Glob)
    }

    pub fn matches(&self, name: &str) -> bool {
        match &self.re {
            Some(re) => re.is_match(name),
            None if self.prefix.len() == self.text.len() => name == self.text,
            None => name.starts_with(&self.prefix),
        }
    }

    /// What every name it matches starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Glob, D::Error> {
        d.deserialize_str(StrWith("a symbol name or pattern", Glob::new))
    }
}

fn one() -> usize {
    1
}

fn two() -> usize {
    2
}

fn yes() -> bool {
    true
}

/// What is wrong with a value of a signature file, a file or the
/// directory; a value's error becomes serde_norway's message (which gives
/// its place), the others a [`SchemaError`]'s.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0:?} is not kebab-case (lowercase letters, digits, single dashes)")]
    Id(String),
    #[error(
        "unknown built-in finding id `{id}`, expected one of {known}",
        id = .0,
        known = builtin_ids()
    )]
    Builtin(String),
    /// A matcher with no kind or several (`all` and `present` as keys of
    /// one map).
    #[error(
        "a matcher has exactly one kind (all, any, not, symbol_clash, family_mix, embedded_copy, imports, elf_property, directive, present, finding); this one has {0}"
    )]
    Kinds(usize),
    #[error("all/any needs at least one matcher")]
    EmptyGroup,
    #[error("bad regular expression {pattern:?}: {}", last_line(error))]
    Regex {
        pattern: String,
        error: regex::Error,
    },
    #[error("empty symbol pattern")]
    EmptyGlob,
    /// The regular expression a glob became (past regex's size limit).
    #[error("{0}")]
    Glob(regex::Error),
    /// Not a regular file within [`budget::SIGNATURE_BYTES`] of UTF-8.
    #[error("{0}")]
    File(yaml_guard::Error),
    #[error("cannot read the directory: {0}")]
    Dir(std::io::Error),
    #[error(
        "{}: more signature files than that",
        budget::exceeded("SIGNATURE_FILES", budget::SIGNATURE_FILES)
    )]
    TooManyFiles,
}

/// `\`symbol-interposition\`, ...`: the ids `explains` may name.
fn builtin_ids() -> String {
    let known: Vec<String> = FindingId::BUILTIN
        .iter()
        .map(|b| format!("`{b}`"))
        .collect();
    known.join(", ")
}

/// regex's message draws the pattern over several lines; its last line
/// says what is wrong.
fn last_line(e: &regex::Error) -> String {
    e.to_string()
        .lines()
        .last()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_string()
}

/// A problem with one signature file: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// Parses one signature file's text, once [`yaml_guard::check`] found its
/// nesting and aliases within budget.
pub fn parse(file: &Path, text: &str) -> Result<Signature, SchemaError> {
    if let Err(r) = yaml_guard::check(text) {
        // A syntax error as serde_norway words and places it, as for the
        // files that pass the check, where it finds it no later.
        if let Some(Err(e)) = r
            .checked_prefix(text)
            .map(serde_norway::from_str::<serde_norway::Value>)
        {
            let e = schema_error(file, &e);
            if e.line.zip(e.column) <= Some((r.line, r.column)) {
                return Err(e);
            }
        }
        return Err(SchemaError {
            file: file.to_path_buf(),
            line: Some(r.line),
            column: Some(r.column),
            message: r.message,
        });
    }
    let sig: Signature = serde_norway::from_str(text).map_err(|e| schema_error(file, &e))?;
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if stem != sig.id.0 && !stem.is_empty() {
        let (line, column) = id_position(text);
        return Err(SchemaError {
            file: file.to_path_buf(),
            line: Some(line),
            column: Some(column),
            message: format!("id {} differs from the file name {stem}.yaml", sig.id),
        });
    }
    Ok(sig)
}

fn schema_error(file: &Path, e: &serde_norway::Error) -> SchemaError {
    let at = e.location();
    // serde_norway appends " at line L column C" to the message.
    let message = e.to_string();
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    SchemaError {
        file: file.to_path_buf(),
        line: at.as_ref().map(|l| l.line()),
        column: at.as_ref().map(|l| l.column()),
        message,
    }
}

/// Where the top-level `id` value starts (1-based line and column), for
/// the errors found after parsing; the file's start if it cannot be found.
fn id_position(text: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("id:") {
            let value = rest.trim_start();
            let column = line.len() - value.len();
            return (i + 1, line[..column].chars().count() + 1);
        }
    }
    (1, 1)
}

/// Reads every `*.yaml` of a directory (not below it), in name order:
/// the signatures, and the errors of the files that are not.
pub fn read_dir(dir: &Path) -> (Vec<Signature>, Vec<SchemaError>) {
    let mut sigs = Vec::new();
    let mut errors = Vec::new();
    let files = match yaml_files(dir) {
        Ok(f) => f,
        Err(e) => {
            errors.push(SchemaError {
                file: dir.to_path_buf(),
                line: None,
                column: None,
                message: e.to_string(),
            });
            return (sigs, errors);
        }
    };
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for file in files {
        let text = match read_text(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(SchemaError {
                    file,
                    line: None,
                    column: None,
                    message: e.to_string(),
                });
                continue;
            }
        };
        match parse(&file, &text) {
            Ok(sig) => {
                if let Some(first) = seen.insert(sig.id.0.clone(), file.clone()) {
                    let (line, column) = id_position(&text);
                    errors.push(SchemaError {
                        file,
                        line: Some(line),
                        column: Some(column),
                        message: format!("id {} is also defined by {}", sig.id, first.display()),
                    });
                    continue;
                }
                sigs.push(sig);
            }
            Err(e) => errors.push(e),
        }
    }
    (sigs, errors)
}

/// The `*.yaml` and `*.yml` of a directory (not below it), in name order;
/// none when there are more than [`budget::SIGNATURE_FILES`], rather than
/// an arbitrary part of them.
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = std::fs::read_dir(dir).map_err(Error::Dir)?;
    let mut files = Vec::new();
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            if files.len() == budget::SIGNATURE_FILES {
                return Err(Error::TooManyFiles);
            }
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read_text(file: &Path) -> Result<String, Error> {
    yaml_guard::read_regular(file, budget::named!(SIGNATURE_BYTES)).map_err(Error::File)
}

/// The embedded catalogue; an embedded file that does not parse is a bug
/// `signatures check` and the test suite catch, listed here as an error.
pub fn embedded() -> (Vec<Signature>, Vec<SchemaError>) {
    let mut sigs = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in EMBEDDED {
        match parse(&Path::new("signatures").join(name), text) {
            Ok(s) => sigs.push(s),
            Err(e) => errors.push(e),
        }
    }
    (sigs, errors)
}

/// The embedded catalogue with each directory's signatures added, a later
/// one replacing an earlier one of the same id; sorted by id.
pub fn catalogue(dirs: &[PathBuf]) -> (Vec<Signature>, Vec<SchemaError>) {
    let (sigs, mut errors) = embedded();
    let mut by_id: BTreeMap<String, Signature> =
        sigs.into_iter().map(|s| (s.id.0.clone(), s)).collect();
    for dir in dirs {
        let (more, errs) = read_dir(dir);
        errors.extend(errs);
        for s in more {
            by_id.insert(s.id.0.clone(), s);
        }
    }
    (by_id.into_values().collect(), errors)
}

/// The version of a signature set, for reports compared later: how many
/// files and an FNV-1a hash of their names and texts (the embedded ones,
/// then each directory's in name order), stable across builds and hosts.
pub fn set_version(dirs: &[PathBuf]) -> String {
    let mut hash = crate::model::Fnv1a::new();
    let mut count = 0;
    let mut feed = |bytes: &[u8]| hash.feed(bytes);
    for (name, text) in EMBEDDED {
        feed(name.as_bytes());
        feed(text.as_bytes());
        count += 1;
    }
    for dir in dirs {
        let Ok(files) = yaml_files(dir) else {
            continue;
        };
        for f in files {
            if let Ok(text) = read_text(&f) {
                feed(
                    f.file_name()
                        .map(|n| n.as_encoded_bytes())
                        .unwrap_or_default(),
                );
                feed(text.as_bytes());
                count += 1;
            }
        }
    }
    format!("{count} signatures, fnv1a {:016x}", hash.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A budget refused before parsing is reported like a schema error:
    /// file, line and column of where it was hit.
    /// A plain name and a `PREFIX*` skip the automaton; every form
    /// matches as the shell pattern says, whole names only.
    #[test]
    fn globs_match_whole_names() {
        let cases: [(&str, &[&str], &[&str]); 6] = [
            ("SSL_new", &["SSL_new"], &["SSL_new2", "xSSL_new", "SSL_ne"]),
            ("SSL_*", &["SSL_", "SSL_new"], &["SSL", "xSSL_new"]),
            ("XML_Parse?", &["XML_ParseX"], &["XML_Parse", "XML_ParseXY"]),
            ("*", &["", "a"], &[]),
            ("a*b", &["ab", "axxb"], &["abx", "ba"]),
            ("md5.*", &["md5.x"], &["md5x"]),
        ];
        for (glob, yes, no) in cases {
            let g = Glob::new(glob).expect(glob);
            for n in yes {
                assert!(g.matches(n), "{glob} should match {n}");
                assert!(n.starts_with(g.prefix()), "{glob}: prefix of {n}");
            }
            for n in no {
                assert!(!g.matches(n), "{glob} should not match {n}");
            }
        }
    }

    #[test]
    fn budget_errors_keep_file_line_and_column() {
        let text = format!("id: deep\napplies_to: {}\n", "[".repeat(300));
        let e = parse(Path::new("sigs/deep.yaml"), &text).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.column.is_some(), "{e}");
        assert!(
            e.to_string().starts_with("sigs/deep.yaml:2:")
                && e.message.contains("budget exceeded: YAML_DEPTH (64)"),
            "{e}"
        );
        // The catalogue's one alias is within budget.
        let (sigs, errors) = embedded();
        assert!(errors.is_empty(), "{errors:?}");
        assert!(sigs.iter().any(|s| s.id.0 == "libedit-vs-libreadline"));
    }
}
