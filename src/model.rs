//! The vocabulary every stage of the pipeline shares: what an object is to
//! the web server (`Role`), how bad a finding is (`Severity`) and how sure
//! (`Certainty`), which findings fail a run (`FailOn`), how well a
//! signature is confirmed (`Status`), and a finding's id (`FindingId`, the
//! built-in ones fixed here). It comes first in the pipeline and imports nothing from the
//! crate, so any stage may use it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// FNV-1a (64 bit): a hash that stays the same across builds, hosts and
/// Rust releases, for identities written into reports (a signature set's
/// version, a SARIF finding's fingerprint) that later runs compare.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv1a(pub u64);

impl Fnv1a {
    pub fn new() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// How bad a finding is. Ordered: `Info` < `Low` < … < `Critical`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// How sure the finding is: certain (what the configuration loads),
/// likely (what the application may import), latent (installed, loaded by
/// nothing modelled).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Certainty {
    /// Proven for what the configuration loads.
    Certain,
    /// Depends on what the application does at run time.
    Likely,
    /// An installed object no modelled process is known to load.
    Latent,
}

/// `--fail-on`: the findings that make a run exit 1. A timer wants to be
/// woken for what the configuration does or an application is likely to
/// do, not for what-ifs of installed but unloaded files, so a severity
/// alone counts certain and likely findings; `SEVERITY:CERTAINTY` says how
/// sure a finding must be at least, and `none` never fails on findings
/// (an audit that could not be done still exits 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailOn {
    /// `None`: no finding counts.
    pub severity: Option<Severity>,
    /// The least sure a counted finding may be.
    pub certainty: Certainty,
}

impl FailOn {
    pub const NONE: FailOn = FailOn {
        severity: None,
        certainty: Certainty::Certain,
    };

    /// Whether a finding of this severity and certainty fails the run.
    pub fn counts(&self, severity: Severity, certainty: Certainty) -> bool {
        // Certainty is ordered surest first.
        self.severity.is_some_and(|s| severity >= s) && certainty <= self.certainty
    }
}

impl Default for FailOn {
    fn default() -> FailOn {
        FailOn {
            severity: Some(Severity::High),
            certainty: Certainty::Likely,
        }
    }
}

/// As written on the command line: `none`, `high` (likely, the default
/// certainty, left out), `high:certain`.
impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            None => f.write_str("none"),
            Some(s) if self.certainty == Certainty::Likely => write!(f, "{s}"),
            Some(s) => write!(
                f,
                "{s}:{}",
                match self.certainty {
                    Certainty::Certain => "certain",
                    Certainty::Likely => "likely",
                    Certainty::Latent => "latent",
                }
            ),
        }
    }
}

impl std::str::FromStr for FailOn {
    type Err = String;

    fn from_str(s: &str) -> Result<FailOn, String> {
        if s == "none" {
            return Ok(FailOn::NONE);
        }
        let (severity, certainty) = s.split_once(':').unwrap_or((s, "likely"));
        let severity = match severity {
            "critical" => Severity::Critical,
            "high" => Severity::High,
            "medium" => Severity::Medium,
            "low" => Severity::Low,
            "info" => Severity::Info,
            other => {
                return Err(format!(
                    "`{other}` is no severity: critical, high, medium, low, info, or none"
                ));
            }
        };
        let certainty = match certainty {
            "certain" => Certainty::Certain,
            "likely" => Certainty::Likely,
            "latent" => Certainty::Latent,
            other => {
                return Err(format!(
                    "`{other}` is no certainty: certain, likely or latent"
                ));
            }
        };
        Ok(FailOn {
            severity: Some(severity),
            certainty,
        })
    }
}

/// How well the public sources confirm a known clash: a sysadmin weighs a
/// finding differently when its failure was seen in Apache than when it
/// was seen elsewhere and is expected in Apache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Seen in Apache, as described.
    Confirmed,
    /// Part of the description is seen in Apache, part inferred.
    PartiallyConfirmed,
    /// Seen outside Apache; expected, not yet confirmed, in Apache.
    ApacheUnconfirmed,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Confirmed => "confirmed in Apache",
            Status::PartiallyConfirmed => "partly confirmed in Apache",
            Status::ApacheUnconfirmed => "not yet confirmed in Apache",
        })
    }
}

/// What an object is to the web server.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The executable of a modelled server process: httpd (php-fpm's too).
    Httpd,
    ApacheModule,
    PhpExtension,
    PythonExtension,
    Library,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Httpd,
        Role::ApacheModule,
        Role::PhpExtension,
        Role::PythonExtension,
        Role::Library,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Httpd => "httpd",
            Role::ApacheModule => "apache-module",
            Role::PhpExtension => "php-extension",
            Role::PythonExtension => "python-extension",
            Role::Library => "library",
        }
    }
}

/// A finding's id. The built-in findings have fixed ids, one variant each;
/// a signature's finding carries the signature's own id. Written, read,
/// compared and ordered as its string, as the report has always had it:
/// `Signature("symbol-interposition")` is the same id as
/// `SymbolInterposition`.
#[derive(Debug, Clone)]
pub enum FindingId {
    /// `symbol-interposition`: references bind to another object's
    /// definition than the one their object expects.
    SymbolInterposition,
    /// `duplicate-soname-different-file`: one soname, two files, one process.
    DuplicateSonameDifferentFile,
    /// `missing-symbol-version`: an object needs a symbol version that the
    /// library answering its name in the process does not define.
    MissingSymbolVersion,
    /// `unresolved-symbol`: a reference nothing in its scope defines.
    UnresolvedSymbol,
    /// `unresolved-dependency`: a needed library ld.so would not find.
    UnresolvedDependency,
    /// `wrong-architecture`: a module or extension of another ELF class or
    /// machine than the process.
    WrongArchitecture,
    /// `stale-ld-cache`: `/etc/ld.so.cache` disagrees with what
    /// `ld.so.conf` would give.
    StaleLdCache,
    /// `unreadable-object`: an object of the web stack (the httpd binary,
    /// a module, an extension) that could not be read or is no ELF ld.so
    /// would map, so the audit of what it brings is partial.
    UnreadableObject,
    /// `restart-needed`: a running server process (`scan --live`) still
    /// maps a file that was deleted or replaced on disk since it started.
    RestartNeeded,
    /// A signature's finding, by the signature's id.
    Signature(String),
}

impl FindingId {
    /// Every built-in id.
    pub const BUILTIN: [FindingId; 9] = [
        FindingId::SymbolInterposition,
        FindingId::DuplicateSonameDifferentFile,
        FindingId::MissingSymbolVersion,
        FindingId::UnresolvedSymbol,
        FindingId::UnresolvedDependency,
        FindingId::WrongArchitecture,
        FindingId::StaleLdCache,
        FindingId::UnreadableObject,
        FindingId::RestartNeeded,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            FindingId::SymbolInterposition => "symbol-interposition",
            FindingId::DuplicateSonameDifferentFile => "duplicate-soname-different-file",
            FindingId::MissingSymbolVersion => "missing-symbol-version",
            FindingId::UnresolvedSymbol => "unresolved-symbol",
            FindingId::UnresolvedDependency => "unresolved-dependency",
            FindingId::WrongArchitecture => "wrong-architecture",
            FindingId::StaleLdCache => "stale-ld-cache",
            FindingId::UnreadableObject => "unreadable-object",
            FindingId::RestartNeeded => "restart-needed",
            FindingId::Signature(id) => id,
        }
    }

    /// The built-in finding of this id, if there is one.
    pub fn builtin(id: &str) -> Option<FindingId> {
        FindingId::BUILTIN.into_iter().find(|b| b.as_str() == id)
    }
}

impl From<&str> for FindingId {
    fn from(id: &str) -> FindingId {
        FindingId::builtin(id).unwrap_or_else(|| FindingId::Signature(id.to_string()))
    }
}

impl From<String> for FindingId {
    fn from(id: String) -> FindingId {
        FindingId::builtin(&id).unwrap_or(FindingId::Signature(id))
    }
}

impl PartialEq for FindingId {
    fn eq(&self, other: &FindingId) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for FindingId {}

impl PartialEq<str> for FindingId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for FindingId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for FindingId {
    fn partial_cmp(&self, other: &FindingId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FindingId {
    fn cmp(&self, other: &FindingId) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for FindingId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// In the report schema a finding id is a string: a built-in id or a
/// signature's, both lowercase words joined by single dashes.
impl schemars::JsonSchema for FindingId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FindingId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A built-in finding id (symbol-interposition, duplicate-soname-different-file, missing-symbol-version, unresolved-symbol, unresolved-dependency, wrong-architecture, stale-ld-cache, unreadable-object, restart-needed) or a signature's id (signatures/*.yaml).",
            "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"
        })
    }
}

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FindingId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FindingId {
    /// Any string, as a report's `id` has always been read: a built-in id
    /// becomes its variant, anything else a signature's id.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FindingId, D::Error> {
        String::deserialize(d).map(FindingId::from)
    }
}

/// One symbol reference a finding is about: where it binds, and where its
/// own object's stand-alone load would bind it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Binding {
    pub symbol: String,
    pub from: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

/// One problem, with what shows it and what to do: the unit rules produce
/// and reports carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// A built-in id, or the signature's.
    pub id: FindingId,
    pub severity: Severity,
    pub certainty: Certainty,
    pub title: String,
    /// The process it holds in (the first, when several).
    pub process: Option<String>,
    /// Every process it holds in, `process` first, when there are several
    /// (one finding per root cause across Apache's children and mod_wsgi's
    /// daemon process groups); absent when there is one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<String>,
    pub objects: Vec<String>,
    pub symbols: Vec<String>,
    pub bindings: Vec<Binding>,
    pub evidence: Vec<String>,
    pub remedy: String,
    pub references: Vec<String>,
    /// What users see when it bites (a signature's symptoms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symptoms: Vec<String>,
    /// A signature's finding: how well the sources confirm the clash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--fail-on`: a severity alone counts certain and likely findings,
    /// `:certain` and `:latent` narrow or widen that, `none` counts nothing;
    /// anything else is refused with the words it takes.
    #[test]
    fn fail_on_reads_severity_and_certainty() {
        use Certainty::*;
        let f = |s: &str| s.parse::<FailOn>().expect(s);
        assert_eq!(f("high"), FailOn::default());
        let high = f("high");
        assert!(high.counts(Severity::High, Certain));
        assert!(high.counts(Severity::Critical, Likely));
        assert!(!high.counts(Severity::High, Latent));
        assert!(!high.counts(Severity::Medium, Certain));
        let certain = f("medium:certain");
        assert!(certain.counts(Severity::High, Certain));
        assert!(!certain.counts(Severity::High, Likely));
        assert!(f("low:latent").counts(Severity::Low, Latent));
        assert!(f("info").counts(Severity::Info, Likely));
        let none = f("none");
        for s in [Severity::Info, Severity::Critical] {
            assert!(!none.counts(s, Certain));
        }
        for bad in ["hihg", "high:", "high:sure", "none:certain", ""] {
            assert!(bad.parse::<FailOn>().is_err(), "{bad}");
        }
        // Written back as given, the default certainty left out.
        for s in ["none", "high", "medium:certain", "low:latent"] {
            assert_eq!(f(s).to_string(), s);
        }
        assert_eq!(f("critical:likely").to_string(), "critical");
    }

    /// Each built-in id is written as the string reports have always had,
    /// read back as its variant, and equal to a signature's id of the same
    /// text.
    #[test]
    fn finding_ids_round_trip_as_strings() {
        let strings = [
            "symbol-interposition",
            "duplicate-soname-different-file",
            "missing-symbol-version",
            "unresolved-symbol",
            "unresolved-dependency",
            "wrong-architecture",
            "stale-ld-cache",
            "unreadable-object",
            "restart-needed",
        ];
        for (id, s) in FindingId::BUILTIN.iter().zip(strings) {
            assert_eq!(id.as_str(), s);
            assert_eq!(serde_json::to_string(id).unwrap(), format!("\"{s}\""));
            let back: FindingId = serde_json::from_str(&format!("\"{s}\"")).unwrap();
            assert!(!matches!(back, FindingId::Signature(_)) && back == *id);
            assert_eq!(FindingId::Signature(s.into()), *id);
        }
        let sig: FindingId = serde_json::from_str("\"md5\"").unwrap();
        assert!(matches!(&sig, FindingId::Signature(s) if s == "md5"));
        assert_eq!(FindingId::builtin("md5"), None);
        // Ordered as strings, as reports sort findings by id.
        let mut ids = [
            FindingId::WrongArchitecture,
            FindingId::Signature("md5".into()),
            FindingId::SymbolInterposition,
            FindingId::DuplicateSonameDifferentFile,
        ];
        ids.sort();
        let ids: Vec<&str> = ids.iter().map(FindingId::as_str).collect();
        assert_eq!(
            ids,
            [
                "duplicate-soname-different-file",
                "md5",
                "symbol-interposition",
                "wrong-architecture"
            ]
        );
    }
}
