//! The pre-upgrade what-if (`scan --overlay`, `--overlay-deb`): the root
//! as apt and dpkg would leave it once the packages are installed, scanned
//! beside the root alone, so the report can say what the upgrade
//! introduces and resolves ([`crate::report::verdict`] judges it).
//!
//! What is modelled besides unpacking, since an answer about a host that
//! cannot exist is a wrong answer:
//!
//! - dependencies: each package's `Pre-Depends` and `Depends` against the
//!   root's installed packages and the what-if's
//!   ([`crate::host::packages::depends`]); what is missing is named, and
//!   the what-if is incomplete unless the caller chose to go on;
//! - replacement: a package of the name of an installed one takes its
//!   place; the files the installed version lists (`info/NAME.list`) that
//!   the new one no longer ships are removed, unless another installed
//!   package lists them too or they are the old version's conffiles (dpkg
//!   keeps both), or directories;
//! - conffiles: one already on the host is kept as it is when the
//!   administrator changed it since its package installed it (its MD5 is
//!   not the one dpkg recorded), or when no installed package recorded it,
//!   as dpkg keeps it (or asks, and keeping is the default answer);
//! - the maintainer scripts' Debian helpers ([`crate::host::maintscripts`]);
//! - libc-bin's `ldconfig` trigger, when a package activates it (or its
//!   postinst runs ldconfig): the loader then reads the cache ldconfig
//!   writes after the install ([`Root::rebuild_ld_cache`]).
//!
//! Nothing is written but soclash's private temporary directory, where
//! the packages are unpacked. RPM-based hosts have their counterpart in
//! [`rpm`] (`--overlay-rpm`).

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use std::os::unix::ffi::OsStrExt;

use bstr::ByteSlice;

use crate::budget::{self, WHATIF_REMOVALS};
use crate::host;
use crate::host::packages::Package;
use crate::host::packages::depends::{self, Candidate};
use crate::report::Report;
use crate::root::deb::{self, Control};
use crate::root::{Kind, Root, Virtual};
use crate::scan::{ScanOptions, scan};

mod rpm;
pub use rpm::overlaid_rpm;

/// The root with overlay directories and `.deb` packages laid over it, as
/// `scan --overlay`/`--overlay-deb` audits it.
pub struct Overlaid {
    pub root: Root,
    /// How the report names each layer, and the package it is (for a
    /// `.deb`), bottom first.
    pub layers: Vec<(String, Option<Package>)>,
    /// The packages' unmet dependencies, one line per package: while there
    /// are any, the what-if is not the host apt would leave.
    pub unmet: Vec<String>,
    /// What apt and dpkg do besides unpacking that was modelled for the
    /// what-if as a whole (the ldconfig trigger), one line each.
    pub notes: Vec<String>,
    /// What the package manager would do that the what-if does not model
    /// (rpm's scriptlets), said with the verdict.
    pub unmodelled: Vec<String>,
    /// Where the packages are unpacked; removed when this is dropped.
    _unpacked: Option<crate::root::scratch::Scratch>,
}

/// Why the overlays of `scan --overlay`/`--overlay-deb` could not be
/// laid: nothing is scanned then.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error("cannot make a temporary directory for --overlay-deb: {0}")]
    Scratch(std::io::Error),
    /// Not a package soclash unpacks, over a budget, or unreadable.
    #[error("cannot unpack {}: {error}", deb.display())]
    Unpack { deb: PathBuf, error: deb::DebError },
    /// Not an `.rpm` soclash reads, over a budget, or unreadable.
    #[error("cannot unpack {}: {error}", rpm.display())]
    UnpackRpm {
        rpm: PathBuf,
        error: crate::root::rpm::RpmError,
    },
    /// An `--overlay` directory is missing or not a directory.
    #[error("cannot use {} as an overlay: {error}", dir.display())]
    Overlay { dir: PathBuf, error: std::io::Error },
    /// The root is missing or not a directory.
    #[error("cannot lay the overlays over {}: {error}", root.display())]
    Lay {
        root: PathBuf,
        error: std::io::Error,
    },
}

/// Lays `dirs`, then the packages `debs` (unpacked into soclash's private
/// temporary directory, never by dpkg), over the root at `root_dir`, and
/// models what apt and dpkg do besides unpacking (see the module's
/// documentation), so each package is audited as `apt install` leaves it.
pub fn overlaid(
    root_dir: &Path,
    dirs: &[PathBuf],
    debs: &[PathBuf],
) -> Result<Overlaid, OverlayError> {
    overlaid_with_removals(root_dir, dirs, debs, &[])
}

/// [`overlaid`], and the installed packages `removed` (name, and the
/// architecture when known) taken away as `dpkg --remove` does, for a
/// transaction apt resolved (`soclash apt-hook`): the files each lists
/// are gone (not its conffiles, which dpkg keeps until a purge, nor files
/// another installed package lists, nor directories), and the links its
/// postrm's `php_invoke dismod` / `apache2_invoke dismod` would remove
/// (those in PHP's `conf.d` and Apache's `*-enabled` directories that
/// point at its conffiles) with them, so a removed extension is neither
/// loaded nor missing. Each removal is a layer of its own (an empty
/// directory), labelled `removes NAME VERSION`.
pub fn overlaid_with_removals(
    root_dir: &Path,
    dirs: &[PathBuf],
    debs: &[PathBuf],
    removed: &[(String, Option<String>)],
) -> Result<Overlaid, OverlayError> {
    check_dirs(dirs)?;
    let lay = |error| OverlayError::Lay {
        root: root_dir.to_path_buf(),
        error,
    };
    let base = Root::new(root_dir).map_err(lay)?;
    let unpacked = if debs.is_empty() && removed.is_empty() {
        None
    } else {
        Some(crate::root::scratch::Scratch::new().map_err(OverlayError::Scratch)?)
    };
    let mut all = dirs.to_vec();
    let mut controls = Vec::new();
    let mut totals = deb::Unpacked::default();
    if let Some(scratch) = &unpacked {
        for (i, deb) in debs.iter().enumerate() {
            let dest = scratch.path().join(i.to_string());
            let cannot = |error: deb::DebError| OverlayError::Unpack {
                deb: deb.clone(),
                error,
            };
            {
                let _w = crate::root::scratch::writing().map_err(|e| cannot(e.into()))?;
                std::fs::create_dir(&dest).map_err(|e| cannot(e.into()))?;
            }
            let control = deb::unpack(deb, &dest, &mut totals).map_err(cannot)?;
            controls.push(control);
            all.push(dest);
        }
        for i in 0..removed.len() {
            let dest = scratch.path().join(format!("removed-{i}"));
            let _w = crate::root::scratch::writing().map_err(OverlayError::Scratch)?;
            std::fs::create_dir(&dest).map_err(OverlayError::Scratch)?;
            all.push(dest);
        }
    }
    let mut unmet = Vec::new();
    let installed = if debs.is_empty() && removed.is_empty() {
        Vec::new()
    } else {
        host::packages::installed(&base).unwrap_or_else(|why| {
            unmet.push(format!(
                "the root's dpkg database could not be read ({why}): no dependency checked"
            ));
            Vec::new()
        })
    };
    // Package notes, by package.
    let mut package_notes: Vec<Vec<String>> = vec![Vec::new(); debs.len()];
    for (i, control) in controls.iter().enumerate() {
        let dest = &all[dirs.len() + i];
        package_notes[i].extend(keep_conffiles(&base, &installed, control, dest));
    }
    let mut root = Root::with_overlays(root_dir, &all).map_err(lay)?;
    let mut layers: Vec<(String, Option<Package>)> = dirs
        .iter()
        .map(|d| (d.display().to_string(), None))
        .collect();
    let shipped_by_any: HashSet<&str> = controls
        .iter()
        .flat_map(|c| c.shipped.iter().map(String::as_str))
        .collect();
    for (i, control) in controls.iter().enumerate() {
        package_notes[i].extend(replace(
            &base,
            &mut root,
            dirs.len() + i,
            &installed,
            control,
            &shipped_by_any,
        ));
    }
    let mut removal_labels = Vec::new();
    for (i, (name, arch)) in removed.iter().enumerate() {
        let layer = dirs.len() + debs.len() + i;
        removal_labels.push(remove(
            &base,
            &mut root,
            layer,
            &installed,
            name,
            arch.as_deref(),
        ));
    }
    let mut triggers = Vec::new();
    for (i, (deb, control)) in debs.iter().zip(&controls).enumerate() {
        for (path, why) in &control.left_out {
            root.add_overlay_error(
                PathBuf::from(format!("{}: {path}", deb.display())),
                format!("package entry left out: {why}"),
            );
        }
        let postinst = control.postinst.as_deref().unwrap_or_default();
        let notes = host::maintscripts::enable(&mut root, dirs.len() + i, postinst);
        if control.ldconfig_trigger || host::maintscripts::runs_ldconfig(postinst) {
            triggers.push(control.package.clone());
        }
        let mut label = format!(
            "{} ({} {})",
            deb.display(),
            control.package,
            control.version
        );
        for n in package_notes[i].iter().chain(&notes) {
            label.push_str("; ");
            label.push_str(n);
        }
        layers.push((
            label,
            Some(Package {
                name: control.package.clone(),
                version: control.version.clone(),
            }),
        ));
    }
    layers.extend(removal_labels.into_iter().map(|l| (l, None)));
    let mut notes = Vec::new();
    if !triggers.is_empty() {
        root.rebuild_ld_cache();
        const SHOWN: usize = 4;
        let mut who = triggers
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if triggers.len() > SHOWN {
            who.push_str(&format!(" and {} more", triggers.len() - SHOWN));
        }
        notes.push(format!(
            "/etc/ld.so.cache as ldconfig rebuilds it after the install (libc-bin's trigger, activated by {who})"
        ));
    }
    if !controls.is_empty() {
        let whatif: Vec<Candidate> = controls.iter().map(candidate).collect();
        let present: Vec<Candidate> = installed
            .iter()
            .filter(|p| p.installed && !removed.iter().any(|(n, _)| *n == p.package.name))
            .map(|p| p.package.clone())
            .collect();
        unmet.extend(depends::unmet(&present, &whatif));
    }
    Ok(Overlaid {
        root,
        layers,
        unmet,
        notes,
        unmodelled: Vec::new(),
        _unpacked: unpacked,
    })
}

/// Each `--overlay` directory is there and a directory, or which is not.
fn check_dirs(dirs: &[PathBuf]) -> Result<(), OverlayError> {
    for dir in dirs {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(OverlayError::Overlay {
                    dir: dir.clone(),
                    error: std::io::Error::new(
                        std::io::ErrorKind::NotADirectory,
                        "not a directory",
                    ),
                });
            }
            Err(error) => {
                return Err(OverlayError::Overlay {
                    dir: dir.clone(),
                    error,
                });
            }
        }
    }
    Ok(())
}

/// A package of the what-if as the dependency check sees it.
fn candidate(c: &Control) -> Candidate {
    let field = |f: &str| c.field(f).unwrap_or_default().to_string();
    Candidate {
        name: c.package.clone(),
        version: c.version.clone(),
        architecture: field("Architecture"),
        multi_arch: field("Multi-Arch"),
        pre_depends: field("Pre-Depends"),
        depends: field("Depends"),
        provides: field("Provides"),
    }
}

/// The installed package a package of the what-if replaces: same name,
/// and the same architecture (or either is `all`).
fn replaced<'a>(
    installed: &'a [host::packages::Installed],
    c: &Control,
) -> Option<&'a host::packages::Installed> {
    let arch = c.field("Architecture").unwrap_or_default();
    installed.iter().find(|i| {
        i.installed
            && i.package.name == c.package
            && (i.package.architecture == arch || i.package.architecture == "all" || arch == "all")
    })
}

/// MD5 (hex) of a regular file of `root`, or `None` when it is not one or
/// larger than [`CONFFILE_BYTES`].
fn md5_of(root: &Root, inner: &str) -> Option<String> {
    use md5::Digest;
    let bytes = root
        .read(Path::new(inner), budget::named!(CONFFILE_BYTES))
        .ok()?;
    let sum = md5::Md5::digest(&bytes);
    Some(sum.iter().map(|b| format!("{b:02x}")).collect())
}

/// dpkg's conffile rule on the host: a conffile the package ships that
/// the root already has is kept as it is (dropped from the package's
/// unpacked tree at `dest`) unless the root's file is the one dpkg
/// recorded when it installed it (not changed since, so the new version
/// takes its place), or is the new version already. Notes what was kept.
fn keep_conffiles(
    base: &Root,
    installed: &[host::packages::Installed],
    control: &Control,
    dest: &Path,
) -> Vec<String> {
    let mut kept = Vec::new();
    let Ok(new_tree) = Root::new(dest) else {
        return kept;
    };
    // Recorded by the same package (installed, or removed with its
    // configuration kept).
    let recorded = |path: &str| {
        installed
            .iter()
            .filter(|i| i.package.name == control.package)
            .flat_map(|i| &i.conffiles)
            .find(|c| c.path == path && !c.obsolete)
            .map(|c| c.md5.clone())
    };
    for path in &control.conffiles {
        if base.kind(Path::new(path)) != Some(Kind::Regular)
            || new_tree.kind(Path::new(path)) != Some(Kind::Regular)
        {
            continue;
        }
        let current = md5_of(base, path);
        if current.is_some() && current == recorded(path) {
            continue;
        }
        if current.is_some() && current == md5_of(&new_tree, path) {
            continue;
        }
        if deb::drop_entry(dest, path).unwrap_or(false) {
            kept.push(path.clone());
        }
    }
    if kept.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "conffile{} kept as changed on the host (dpkg keeps the administrator's): {}",
        if kept.len() == 1 { "" } else { "s" },
        kept.join(", ")
    )]
}

/// Removes from the what-if the files of the installed version `control`
/// replaces that no package of the what-if ships (`shipped_by_any`), as
/// dpkg does at the upgrade; a file another installed package lists, the
/// old version's conffiles and directories stay. Says what was replaced.
fn replace(
    base: &Root,
    root: &mut Root,
    layer: usize,
    installed: &[host::packages::Installed],
    control: &Control,
    shipped_by_any: &HashSet<&str>,
) -> Vec<String> {
    let Some(old) = replaced(installed, control) else {
        return Vec::new();
    };
    let what = if old.package.version == control.version {
        format!("reinstalls {} {}", old.package.name, old.package.version)
    } else {
        format!("replaces {} {}", old.package.name, old.package.version)
    };
    let Some((removed, over)) = remove_listed(base, root, layer, installed, old, shipped_by_any)
    else {
        return vec![format!("{what} (its file list not read: nothing removed)")];
    };
    let mut note = match removed {
        0 => what,
        1 => format!("{what}: 1 file it no longer ships removed"),
        n => format!("{what}: {n} files it no longer ships removed"),
    };
    if over {
        note.push_str(&format!(
            " ({}: the rest kept)",
            budget::exceeded("WHATIF_REMOVALS", WHATIF_REMOVALS)
        ));
    }
    vec![note]
}

/// Whether a file an installed package lists is one the upgrade takes
/// away: where the listed path is (its directory resolved, as a package
/// manager's `/lib/...` under merged /usr), a file or link of the root's
/// own, not one a package of the what-if brings there by another name.
pub(crate) fn removable(root: &Root, path: &str) -> bool {
    let p = Path::new(path);
    let (Some(parent), Some(name)) = (p.parent(), p.file_name()) else {
        return false;
    };
    let Ok((dir, Kind::Directory)) = root.resolve(parent) else {
        return false;
    };
    root.overlay_of(&dir.join(name)).is_none()
        && matches!(root.symlink_kind(p), Some(Kind::Regular | Kind::Other(_)))
}

/// Removes from the what-if, in layer `layer`, the files the installed
/// package `old` lists that are the root's own (no package of the what-if
/// ships them, `shipped_by_any`, nor lays them), except its conffiles,
/// directories and files another installed package lists: what dpkg
/// removes of it on an upgrade or a removal. `None` when its list could
/// not be read; else how many were removed, and whether
/// [`WHATIF_REMOVALS`] cut it short.
fn remove_listed(
    base: &Root,
    root: &mut Root,
    layer: usize,
    installed: &[host::packages::Installed],
    old: &host::packages::Installed,
    shipped_by_any: &HashSet<&str>,
) -> Option<(usize, bool)> {
    let list = host::packages::installed_list(base, &old.package.name, &old.package.architecture)?;
    let conffiles: BTreeSet<&str> = old.conffiles.iter().map(|c| c.path.as_str()).collect();
    let mut gone: BTreeSet<String> = BTreeSet::new();
    let mut over = false;
    for line in list.lines() {
        let Ok(path) = line.to_str() else { continue };
        if !path.starts_with('/') || shipped_by_any.contains(path) || conffiles.contains(path) {
            continue;
        }
        if !removable(root, path) {
            continue;
        }
        if gone.len() >= WHATIF_REMOVALS {
            over = true;
            break;
        }
        gone.insert(path.to_string());
    }
    if !gone.is_empty() {
        keep_shared(base, installed, old, &mut gone);
    }
    let mut removed = 0usize;
    for path in &gone {
        if root
            .lay_virtual(layer, Path::new(path), Virtual::Removed)
            .is_ok()
        {
            removed += 1;
        }
    }
    Some((removed, over))
}

/// The directories whose links Debian's helpers make and their `dismod`
/// removes: a link there to a removed package's conffile goes with it.
const ENABLED_LINKS: [&[u8]; 4] = [
    b"/etc/php/*/*/conf.d/*",
    b"/etc/apache2/mods-enabled/*",
    b"/etc/apache2/conf-enabled/*",
    b"/etc/apache2/sites-enabled/*",
];

/// `dpkg --remove NAME` in the what-if, in layer `layer` (see
/// [`overlaid_with_removals`]); returns the layer's label.
fn remove(
    base: &Root,
    root: &mut Root,
    layer: usize,
    installed: &[host::packages::Installed],
    name: &str,
    arch: Option<&str>,
) -> String {
    let Some(old) = installed.iter().find(|i| {
        i.installed
            && i.package.name == name
            && arch.is_none_or(|a| i.package.architecture == a || a == "all")
    }) else {
        return format!("removes {name}: not installed here, nothing removed");
    };
    let what = format!("removes {} {}", old.package.name, old.package.version);
    let Some((removed, over)) = remove_listed(base, root, layer, installed, old, &HashSet::new())
    else {
        return format!("{what} (its file list not read: nothing removed)");
    };
    // The helpers' links to its conffiles (`/etc/php/8.2/mods-available/x.ini`
    // from conf.d, `../mods-available/x.load` from mods-enabled).
    let conffiles: HashSet<PathBuf> = old
        .conffiles
        .iter()
        .map(|c| PathBuf::from(&c.path))
        .collect();
    let mut unlinked = 0usize;
    for pattern in ENABLED_LINKS {
        for link in base.glob(pattern) {
            let link = PathBuf::from(std::ffi::OsStr::from_bytes(&link));
            let Some(target) = base.read_link(&link) else {
                continue;
            };
            let Some(dir) = link.parent() else { continue };
            if conffiles.contains(&lexical(&dir.join(target)))
                && root.lay_virtual(layer, &link, Virtual::Removed).is_ok()
            {
                unlinked += 1;
            }
        }
    }
    let mut label = match removed {
        1 => format!("{what}: 1 file removed"),
        n => format!("{what}: {n} files removed"),
    };
    if unlinked > 0 {
        label.push_str(&format!(
            ", {unlinked} enabling link{} (its postrm's dismod)",
            if unlinked == 1 { "" } else { "s" }
        ));
    }
    if over {
        label.push_str(&format!(
            " ({}: the rest kept)",
            budget::exceeded("WHATIF_REMOVALS", WHATIF_REMOVALS)
        ));
    }
    label
}

/// `path` with `.` and `..` taken out by name, as a link's target is
/// compared with a conffile's listed path (`..` at the top stays at `/`).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// Takes out of `gone` the files another installed package lists (dpkg
/// does not remove a file another package still owns). Lists are read
/// within [`budget::PACKAGE_LISTS_PER_SCAN`]; past it nothing more is
/// removed, which errs on the side of the host as it is.
fn keep_shared(
    base: &Root,
    installed: &[host::packages::Installed],
    old: &host::packages::Installed,
    gone: &mut BTreeSet<String>,
) {
    let mut left = budget::PACKAGE_LISTS_PER_SCAN;
    for other in installed {
        if gone.is_empty() {
            return;
        }
        if std::ptr::eq(other, old) || !other.installed && other.conffiles.is_empty() {
            continue;
        }
        let Some(list) =
            host::packages::installed_list(base, &other.package.name, &other.package.architecture)
        else {
            continue;
        };
        let Some(l) = left.checked_sub(list.len() as u64) else {
            gone.clear();
            return;
        };
        left = l;
        for line in list.lines() {
            if let Ok(p) = line.to_str() {
                gone.remove(p);
            }
        }
    }
}

/// The pre-upgrade what-if: scans the root alone (`base`) and as
/// `overlaid` leaves it, side by side, and records in the report what the
/// overlays introduce and resolve, their unmet dependencies (the what-if
/// is incomplete while there are any, unless `ignore_depends`), and what
/// was modelled besides unpacking. The verdict is
/// [`crate::report::verdict::judge`]'s, once waivers are applied.
pub fn scan_overlay(
    base: &Root,
    overlaid: &Overlaid,
    opts: &ScanOptions,
    ignore_depends: bool,
) -> Report {
    let opts_overlaid = ScanOptions {
        overlay_packages: overlaid.layers.iter().map(|(_, p)| p.clone()).collect(),
        ..opts.clone()
    };
    let (before, mut report) =
        rayon::join(|| scan(base, opts), || scan(&overlaid.root, &opts_overlaid));
    let d = crate::report::diff::diff(&before, &report, ("root", "overlay"));
    let key = crate::report::FindingKey::of;
    let mut introduced: Vec<_> = d
        .findings
        .added
        .iter()
        .map(key)
        .chain(
            d.findings
                .changed
                .iter()
                .filter(|(o, n)| n.severity > o.severity)
                .map(|(_, n)| key(n)),
        )
        .collect();
    introduced.sort();
    let mut resolved: Vec<_> = d.findings.resolved.iter().map(key).collect();
    resolved.sort();
    report.overlay = Some(crate::report::OverlayOutcome {
        layers: overlaid.layers.iter().map(|(l, _)| l.clone()).collect(),
        introduced,
        resolved,
        objects: d.objects,
        unmet: overlaid.unmet.clone(),
        ignore_depends,
        notes: overlaid.notes.clone(),
        unmodelled: overlaid.unmodelled.clone(),
        verdict: None,
    });
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What stops `--overlay`/`--overlay-deb` says which step and file,
    /// in the words `soclash scan` prints.
    #[test]
    fn overlay_errors_name_the_step() {
        let dir = tempfile::tempdir().unwrap();
        let not_deb = dir.path().join("x.deb");
        std::fs::write(&not_deb, "hello\n").unwrap();
        let e = overlaid(dir.path(), &[], std::slice::from_ref(&not_deb))
            .err()
            .unwrap();
        assert!(
            matches!(
                &e,
                OverlayError::Unpack {
                    error: deb::DebError::Format(_),
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "cannot unpack {}: not a Debian package: not an ar archive",
                not_deb.display()
            )
        );
        let missing = dir.path().join("none");
        let e = overlaid(dir.path(), std::slice::from_ref(&missing), &[])
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            format!(
                "cannot use {} as an overlay: No such file or directory (os error 2)",
                missing.display()
            )
        );
        let e = overlaid(dir.path(), std::slice::from_ref(&not_deb), &[])
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .ends_with("x.deb as an overlay: not a directory"),
            "{e}"
        );
        let e = overlaid(&missing, &[], &[]).err().unwrap();
        assert!(matches!(&e, OverlayError::Lay { root, .. } if root == &missing));
    }

    fn tarball(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(if name.ends_with('/') {
                tar::EntryType::Directory
            } else {
                tar::EntryType::Regular
            });
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn write_deb(path: &Path, control: &[(&str, &[u8])], data: &[(&str, &[u8])]) {
        let mut a = ar::Builder::new(Vec::new());
        for (name, bytes) in [
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar", tarball(control)),
            ("data.tar", tarball(data)),
        ] {
            let h = ar::Header::new(name.as_bytes().to_vec(), bytes.len() as u64);
            a.append(&h, bytes.as_slice()).unwrap();
        }
        std::fs::write(path, a.into_inner().unwrap()).unwrap();
    }

    fn put(root: &Path, inner: &str, bytes: &[u8]) {
        let p = root.join(inner.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    fn md5_hex(b: &[u8]) -> String {
        use md5::Digest;
        md5::Md5::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    }

    /// Version 1 of `x` is installed (an unchanged and a changed conffile,
    /// a library dropped in version 2, one shared with package `y`);
    /// version 2 replaces it: the dropped library is removed, the shared
    /// one and the old conffile stay, the unchanged conffile is the new
    /// version's, the changed one and one an administrator made are the
    /// host's; `x` 2 needs `z`, which is missing, and activates ldconfig.
    #[test]
    fn dpkg_upgrade_semantics() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path().join("root");
        put(&r, "/etc/x/same.conf", b"as shipped by 1\n");
        put(&r, "/etc/x/changed.conf", b"edited by the admin\n");
        put(&r, "/etc/x/made.conf", b"made by the admin\n");
        put(&r, "/etc/x/obsolete.conf", b"old\n");
        put(&r, "/usr/lib/x/dropped.so", b"1");
        put(&r, "/usr/lib/x/shared.so", b"1");
        put(&r, "/usr/lib/x/kept.so", b"1");
        let status = format!(
            "Package: x\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\nConffiles:\n /etc/x/same.conf {}\n /etc/x/changed.conf {}\n /etc/x/obsolete.conf {}\n\nPackage: y\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n",
            md5_hex(b"as shipped by 1\n"),
            md5_hex(b"as shipped by 1\n"),
            md5_hex(b"old\n"),
        );
        put(&r, "/var/lib/dpkg/status", status.as_bytes());
        put(
            &r,
            "/var/lib/dpkg/info/x.list",
            b"/.\n/etc\n/etc/x\n/etc/x/same.conf\n/etc/x/changed.conf\n/etc/x/obsolete.conf\n/usr\n/usr/lib\n/usr/lib/x\n/usr/lib/x/dropped.so\n/usr/lib/x/shared.so\n/usr/lib/x/kept.so\n",
        );
        put(&r, "/var/lib/dpkg/info/y.list", b"/usr/lib/x/shared.so\n");
        let deb = dir.path().join("x_2.deb");
        write_deb(
            &deb,
            &[
                (
                    "./control",
                    b"Package: x\nVersion: 2\nArchitecture: amd64\nDepends: z (>= 1)\n",
                ),
                (
                    "./conffiles",
                    b"/etc/x/same.conf\n/etc/x/changed.conf\n/etc/x/made.conf\n",
                ),
                ("./triggers", b"activate-noawait ldconfig\n"),
            ],
            &[
                ("./etc/x/", b""),
                ("./etc/x/same.conf", b"as shipped by 2\n"),
                ("./etc/x/changed.conf", b"as shipped by 2\n"),
                ("./etc/x/made.conf", b"as shipped by 2\n"),
                ("./usr/lib/x/kept.so", b"2"),
            ],
        );
        let o = overlaid(&r, &[], std::slice::from_ref(&deb)).unwrap();
        let read = |p: &str| o.root.read(Path::new(p), 100).map_err(|e| e.to_string());
        assert_eq!(read("/etc/x/same.conf"), Ok(b"as shipped by 2\n".to_vec()));
        assert_eq!(
            read("/etc/x/changed.conf"),
            Ok(b"edited by the admin\n".to_vec())
        );
        assert_eq!(
            read("/etc/x/made.conf"),
            Ok(b"made by the admin\n".to_vec())
        );
        assert_eq!(read("/etc/x/obsolete.conf"), Ok(b"old\n".to_vec()));
        assert!(o.root.kind(Path::new("/usr/lib/x/dropped.so")).is_none());
        assert_eq!(read("/usr/lib/x/shared.so"), Ok(b"1".to_vec()));
        assert_eq!(read("/usr/lib/x/kept.so"), Ok(b"2".to_vec()));
        assert!(o.root.ld_cache_rebuilt());
        assert_eq!(
            o.layers[0].0,
            format!(
                "{} (x 2); conffiles kept as changed on the host (dpkg keeps the administrator's): /etc/x/changed.conf, /etc/x/made.conf; replaces x 1: 1 file it no longer ships removed",
                deb.display()
            )
        );
        assert_eq!(
            o.unmet,
            vec!["x needs z: not installed and not part of this what-if"]
        );
        assert_eq!(o.notes.len(), 1);
        // The root's files are as they were.
        assert!(r.join("usr/lib/x/dropped.so").exists());
        assert_eq!(
            std::fs::read(r.join("etc/x/same.conf")).unwrap(),
            b"as shipped by 1\n"
        );
    }

    /// `dpkg --remove e` as apt's hook asks for it: e's files are gone but
    /// its conffile stays, the file y also lists stays, and the conf.d
    /// link its postrm's dismod removes is gone too; another package's
    /// link stays.
    #[test]
    fn removal_as_dpkg_remove() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path().join("root");
        put(&r, "/usr/lib/php/20220829/e.so", b"e");
        put(&r, "/usr/lib/php/20220829/shared.so", b"s");
        put(&r, "/etc/php/8.2/mods-available/e.ini", b"extension=e.so\n");
        put(&r, "/etc/php/8.2/mods-available/f.ini", b"extension=f.so\n");
        let confd = r.join("etc/php/8.2/apache2/conf.d");
        std::fs::create_dir_all(&confd).unwrap();
        std::os::unix::fs::symlink("/etc/php/8.2/mods-available/e.ini", confd.join("20-e.ini"))
            .unwrap();
        std::os::unix::fs::symlink("/etc/php/8.2/mods-available/f.ini", confd.join("20-f.ini"))
            .unwrap();
        let mods = r.join("etc/apache2/mods-enabled");
        std::fs::create_dir_all(&mods).unwrap();
        put(&r, "/etc/apache2/mods-available/e.load", b"LoadModule e\n");
        std::os::unix::fs::symlink("../mods-available/e.load", mods.join("e.load")).unwrap();
        let status = format!(
            "Package: e\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\nConffiles:\n /etc/php/8.2/mods-available/e.ini {}\n /etc/apache2/mods-available/e.load {}\n\nPackage: y\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n",
            md5_hex(b"extension=e.so\n"),
            md5_hex(b"LoadModule e\n"),
        );
        put(&r, "/var/lib/dpkg/status", status.as_bytes());
        put(
            &r,
            "/var/lib/dpkg/info/e.list",
            b"/.\n/usr\n/usr/lib\n/usr/lib/php\n/usr/lib/php/20220829\n/usr/lib/php/20220829/e.so\n/usr/lib/php/20220829/shared.so\n/etc/php/8.2/mods-available/e.ini\n/etc/apache2/mods-available/e.load\n",
        );
        put(
            &r,
            "/var/lib/dpkg/info/y.list",
            b"/usr/lib/php/20220829/shared.so\n",
        );
        let o = overlaid_with_removals(
            &r,
            &[],
            &[],
            &[
                ("e".to_string(), Some("amd64".to_string())),
                ("absent".to_string(), None),
            ],
        )
        .unwrap();
        let kind = |p: &str| o.root.symlink_kind(Path::new(p));
        assert!(kind("/usr/lib/php/20220829/e.so").is_none());
        assert!(kind("/usr/lib/php/20220829/shared.so").is_some());
        assert!(kind("/etc/php/8.2/mods-available/e.ini").is_some());
        assert!(kind("/etc/php/8.2/apache2/conf.d/20-e.ini").is_none());
        assert!(kind("/etc/php/8.2/apache2/conf.d/20-f.ini").is_some());
        assert!(kind("/etc/apache2/mods-enabled/e.load").is_none());
        let labels: Vec<&str> = o.layers.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "removes e 1: 1 file removed, 2 enabling links (its postrm's dismod)",
                "removes absent: not installed here, nothing removed",
            ]
        );
        assert!(r.join("usr/lib/php/20220829/e.so").exists());
        assert!(confd.join("20-e.ini").symlink_metadata().is_ok());
    }
}
