//! `processes[]` of schema 1: each modelled process as the report writes
//! it, frozen here so that `image::ProcessImage` may change without moving
//! a byte of a report.
//!
//! Before these types existed the entries were `serde_json::Value`s of
//! `ProcessImage`, whose maps (serde_json without `preserve_order`) write
//! their keys in alphabetical order; schema 1 is that document, so the
//! fields below are declared alphabetically, and the ones `ProcessImage`
//! left out when empty are still left out, and read as empty when absent.
//! Unknown keys are ignored on reading, as they were.

use serde::{Deserialize, Deserializer, Serialize};

use crate::image;

/// Reads `processes` exactly as far as it was read when its entries were
/// `serde_json::Value`s, so that no report read then is refused now, nor
/// refused with other words: any list of JSON-like values is accepted.
/// A list that is not of these entries' shape (edited by hand) reads as
/// none rather than refusing the report: no reader compares processes.
pub(crate) fn read_entries<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ProcessEntry>, D::Error> {
    let raw = Vec::<serde_json::Value>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()
        .unwrap_or_default())
}

/// One modelled process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProcessEntry {
    /// (`file:line` or path, reason): what would fail to load, what could
    /// not be read; each written as a two-element list.
    pub errors: Vec<(String, String)>,
    /// In link-map (load) order.
    pub members: Vec<MemberEntry>,
    /// The process kind (`apache`, `php-fpm`), as `--process` takes it.
    pub name: String,
    /// What the model had to assume.
    pub notes: Vec<String>,
    pub scopes: Scopes,
}

/// One object of a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MemberEntry {
    /// For a library, the module, extension or import whose `dlopen`
    /// brought it in (what a sysadmin disables to be rid of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brought_by: Option<String>,
    /// The mode of the `dlopen` that loaded it (`RTLD_NOW|RTLD_GLOBAL`).
    pub flags: String,
    /// In the global scope.
    pub global: bool,
    pub how: How,
    /// A what-if of `scan --installed`: installed, not loaded by the
    /// configuration.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub installed_only: bool,
    /// Loaded only if the application imports it.
    pub may_be_imported: bool,
    /// Canonical path inside the root.
    pub object: String,
    /// Its place depends on something the model cannot know for sure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
    /// The directive, extension line, import or `DT_NEEDED` that brought it.
    pub via: String,
}

/// How a member came into the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum How {
    Exec,
    Needed,
    Preload,
    Dlopen,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Scopes {
    /// The global scope, in the order ld.so searches it.
    pub global: Vec<String>,
}

impl From<&image::ProcessImage> for ProcessEntry {
    fn from(p: &image::ProcessImage) -> Self {
        ProcessEntry {
            errors: p.errors.clone(),
            members: p.members.iter().map(MemberEntry::from).collect(),
            name: p.name.clone(),
            notes: p.notes.clone(),
            scopes: Scopes {
                global: p.scopes.global.clone(),
            },
        }
    }
}

impl From<&image::Member> for MemberEntry {
    fn from(m: &image::Member) -> Self {
        MemberEntry {
            brought_by: m.brought_by.clone(),
            flags: m.flags.clone(),
            global: m.global,
            how: m.how.into(),
            installed_only: m.installed_only,
            may_be_imported: m.may_be_imported,
            object: m.object.clone(),
            uncertain: m.uncertain,
            via: m.via.clone(),
        }
    }
}

impl From<image::How> for How {
    // No wildcard: a new way into a process is a decision about the schema.
    fn from(h: image::How) -> Self {
        match h {
            image::How::Exec => How::Exec,
            image::How::Needed => How::Needed,
            image::How::Preload => How::Preload,
            image::How::Dlopen => How::Dlopen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(brought_by: Option<&str>, uncertain: bool) -> MemberEntry {
        MemberEntry {
            brought_by: brought_by.map(str::to_string),
            flags: "RTLD_NOW|RTLD_GLOBAL".into(),
            global: true,
            how: How::Needed,
            installed_only: false,
            may_be_imported: false,
            object: "/usr/lib/libz.so.1".into(),
            uncertain,
            via: "DT_NEEDED libz.so.1 of /usr/sbin/apache2".into(),
        }
    }

    /// The schema contract: keys in the order every schema-1 report has
    /// written them (alphabetical), the optional ones only when set.
    #[test]
    fn a_process_entry_writes_schema_1_key_order() {
        let entry = ProcessEntry {
            errors: vec![("/etc/apache2/x.conf:3".into(), "missing".into())],
            members: vec![
                member(None, false),
                MemberEntry {
                    how: How::Dlopen,
                    installed_only: true,
                    ..member(Some("/usr/lib/apache2/modules/mod_x.so"), true)
                },
            ],
            name: "apache".into(),
            notes: vec!["a note".into()],
            scopes: Scopes {
                global: vec!["/usr/sbin/apache2".into()],
            },
        };
        let yaml = serde_norway::to_string(&vec![&entry]).unwrap();
        assert_eq!(
            yaml,
            "\
- errors:
  - - /etc/apache2/x.conf:3
    - missing
  members:
  - flags: RTLD_NOW|RTLD_GLOBAL
    global: true
    how: needed
    may_be_imported: false
    object: /usr/lib/libz.so.1
    via: DT_NEEDED libz.so.1 of /usr/sbin/apache2
  - brought_by: /usr/lib/apache2/modules/mod_x.so
    flags: RTLD_NOW|RTLD_GLOBAL
    global: true
    how: dlopen
    installed_only: true
    may_be_imported: false
    object: /usr/lib/libz.so.1
    uncertain: true
    via: DT_NEEDED libz.so.1 of /usr/sbin/apache2
  name: apache
  notes:
  - a note
  scopes:
    global:
    - /usr/sbin/apache2
"
        );
        // What the entries were before they were typed: the same bytes.
        let value = serde_json::to_value(&entry).unwrap();
        assert_eq!(serde_norway::to_string(&vec![value]).unwrap(), yaml);
    }

    /// A report as the first schema-1 soclash wrote it (no `installed_only`
    /// or `brought_by` yet), with keys this soclash does not know.
    const OLD_REPORT: &str = "\
schema: 1
tool:
  name: soclash
  version: 0.1.0
host:
  hostname: old
  root: /
  os_release:
    id: debian
    version_id: '12'
    pretty_name: null
  glibc: '2.36'
  ld_cache: new
  cpu_level: 3
  scanned_at: 2026-11-23T10:00:00Z
processes:
- errors:
  - - /etc/apache2/apache2.conf:4
    - httpd fails to load it
  members:
  - flags: RTLD_NOW|RTLD_GLOBAL
    global: true
    how: exec
    may_be_imported: false
    object: /usr/sbin/apache2
    via: httpd
    colour: green
  name: apache
  notes: []
  scopes:
    global:
    - /usr/sbin/apache2
    local: []
  pid: 4242
objects: []
findings: []
errors: []
summary:
  objects: 0
  by_role: {}
  findings: {}
  errors: 0
";

    /// `read_report` of `text` (tests run in parallel: `name` keeps files
    /// apart).
    fn read(
        name: &str,
        text: &str,
    ) -> Result<crate::report::Report, crate::report::diff::ReadError> {
        let path =
            std::env::temp_dir().join(format!("soclash-test-{name}-{}.yaml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let read = crate::report::diff::read_report(&path);
        let _ = std::fs::remove_file(&path);
        read
    }

    /// Reading is no stricter than when processes were untyped values.
    #[test]
    fn an_old_report_with_unknown_process_keys_reads() {
        let report = read("old-report", OLD_REPORT).unwrap();
        assert_eq!(report.processes.len(), 1);
        let p = &report.processes[0];
        assert_eq!(p.name, "apache");
        assert_eq!(
            p.errors,
            vec![(
                "/etc/apache2/apache2.conf:4".to_string(),
                "httpd fails to load it".to_string()
            )]
        );
        assert_eq!(p.members.len(), 1);
        let m = &p.members[0];
        assert_eq!(
            (m.how, m.uncertain, m.installed_only),
            (How::Exec, false, false)
        );
        assert_eq!(m.brought_by, None);
        assert_eq!(p.scopes.global, vec!["/usr/sbin/apache2".to_string()]);
    }

    /// A process edited out of schema 1's shape does not make a report
    /// unreadable (it was read before processes were typed); a `processes`
    /// that is no list is refused as it always was.
    #[test]
    fn a_hand_edited_process_reads_as_none_and_no_list_is_refused() {
        for (name, edited) in [
            ("how", OLD_REPORT.replace("how: exec", "how: spawned")),
            (
                "entry",
                OLD_REPORT.replace("processes:\n", "processes:\n- 1\n"),
            ),
            ("name", OLD_REPORT.replace("  name: apache\n", "")),
        ] {
            let report = read(name, &edited).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(report.processes.is_empty(), "{name}");
        }
        let start = OLD_REPORT.find("processes:").unwrap();
        let end = OLD_REPORT.find("objects:").unwrap();
        let no_list = format!(
            "{}processes: 5\n{}",
            &OLD_REPORT[..start],
            &OLD_REPORT[end..]
        );
        let e = read("no-list", &no_list).unwrap_err().to_string();
        assert!(
            e.ends_with("not a schema-1 report: invalid type: integer `5`, expected a sequence"),
            "{e}"
        );
    }
}
