//! The vocabulary every stage of the pipeline shares: what an object is to
//! the web server (`Role`), how bad a finding is (`Severity`) and how sure
//! (`Certainty`). It comes first in the pipeline and imports nothing from
//! the crate, so any stage may use it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Info` < `Low` < … < `Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// How sure the finding is (DESIGN.md: certain, likely, latent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Certainty {
    /// Proven for what the configuration loads.
    Certain,
    /// Depends on what the application does at run time.
    Likely,
    /// An installed object no modelled process is known to load.
    Latent,
}

/// What an object is to the web server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
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
