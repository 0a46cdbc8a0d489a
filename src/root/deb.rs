//! Unpacking a `.deb` into a directory for `scan --overlay-deb`, without
//! running dpkg: the `ar` archive's `control.tar.*` gives the package's
//! name and version, its `data.tar.*` (gzip, xz, zstd or plain) the files.
//!
//! A package is input like any other. Its `ar` layout is checked before
//! anything is unpacked, as deb(5) gives it: `debian-binary` (version 2.x)
//! first, then `control.tar`, then `data.tar`, `_`-named members allowed
//! between them, later members ignored. A second `control.tar` is refused
//! as dpkg-deb refuses it; so is a second `data.tar`, which dpkg-deb
//! 1.21 silently skips: a package that could mean two things is not
//! audited as one of them. The members are read by a reader of our own:
//! the `ar` crate would allocate a GNU name table of any size a header
//! claims. Only
//! directories, regular files and symlinks are unpacked; every change is
//! made relative to a descriptor of the destination, one path component
//! at a time with `O_NOFOLLOW`, so no entry (nor a symlink an earlier entry
//! placed) can reach outside it; `..` in a path refuses the entry. Entries
//! and bytes are counted per package and per what-if against the budgets,
//! tar's long names and pax headers too.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::budget::{self, DEB_CONTROL, DEB_MEMBERS, DEB_NAME_BYTES};
use crate::root::scratch;

/// A package's name and version, from its control file, and what dpkg
/// and apt would do with it besides unpacking it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Control {
    pub package: String,
    pub version: String,
    /// Every field of the control file (name as written, value), in order.
    pub fields: Vec<(String, String)>,
    /// The `postinst` maintainer script's text, read (never run) to see
    /// what installing the package would enable.
    pub postinst: Option<String>,
    /// The `conffiles` member's paths: dpkg keeps the administrator's
    /// version of each on the host.
    pub conffiles: Vec<String>,
    /// The `triggers` member activates `ldconfig` (dh_makeshlibs writes
    /// `activate-noawait ldconfig` for a package of shared libraries):
    /// libc-bin rebuilds `/etc/ld.so.cache` once dpkg has unpacked it.
    pub ldconfig_trigger: bool,
    /// The paths the package ships (`/usr/lib/x.so`, no trailing `/`),
    /// directories included: on an upgrade, what the installed version
    /// lists and this one does not, dpkg removes.
    pub shipped: std::collections::BTreeSet<String>,
    /// Data entries that were not unpacked, with why (path, reason).
    pub left_out: Vec<(String, String)>,
}

impl Control {
    /// The value of a field (names compare without case, as deb822's).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The fields of one deb822 paragraph (a control file, a paragraph of
/// dpkg's `status`): `Name: value` lines, a line that starts with a space
/// or tab continuing the value before it (joined with a newline, the
/// leading blank kept off); other lines are ignored.
pub fn fields(paragraph: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in paragraph.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                if !v.is_empty() {
                    v.push('\n');
                }
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim();
            if !k.is_empty() && !k.contains(char::is_whitespace) {
                out.push((k.to_string(), v.trim().to_string()));
            }
        }
    }
    out
}

/// Why a package could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum DebError {
    #[error("not a Debian package: {0}")]
    Format(String),
    /// A budget of `crate::budget` was reached; the text names it.
    #[error("{0}")]
    Budget(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// What the packages of one what-if have unpacked so far (`.deb` and
/// `.rpm` alike: the what-if budgets are over both).
#[derive(Debug, Default)]
pub struct Unpacked {
    entries: usize,
    bytes: u64,
    path_bytes: u64,
}

/// The budgets unpacking counts against (smaller in tests), with the
/// names of the per-package ones (a `.deb`'s or an `.rpm`'s).
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) deb_entries: usize,
    pub(super) deb_bytes: u64,
    pub(super) whatif_entries: usize,
    pub(super) whatif_bytes: u64,
    pub(super) whatif_path_bytes: u64,
    pub(super) entries_name: &'static str,
    pub(super) bytes_name: &'static str,
}

const LIMITS: Limits = Limits {
    deb_entries: budget::DEB_ENTRIES,
    deb_bytes: budget::DEB_UNPACKED,
    entries_name: "DEB_ENTRIES",
    bytes_name: "DEB_UNPACKED",
    whatif_entries: budget::WHATIF_ENTRIES,
    whatif_bytes: budget::WHATIF_UNPACKED,
    whatif_path_bytes: budget::WHATIF_PATH_BYTES,
};

/// Linux's `PATH_MAX`: dpkg cannot install a longer path, and the overlay
/// keeps every path in memory.
pub(super) const PATH_MAX: usize = libc::PATH_MAX as usize;

/// Left-out entries remembered per package; the rest are counted.
pub(super) const LEFT_OUT_KEPT: usize = budget::ERRORS_PER_FILE;

/// Unpacks the package at `deb` into `dest` (an empty directory), adding
/// what it unpacked to the what-if's `whatif`, and returns the package it
/// is, from its control file.
pub fn unpack(deb: &Path, dest: &Path, whatif: &mut Unpacked) -> Result<Control, DebError> {
    unpack_with(deb, dest, whatif, LIMITS)
}

fn unpack_with(
    deb: &Path,
    dest: &Path,
    whatif: &mut Unpacked,
    limits: Limits,
) -> Result<Control, DebError> {
    let mut file = File::open(deb)?;
    let (control, data) = layout(&mut file)?;
    let mut tarball = Vec::new();
    decompress(
        &control.name["control.tar".len()..],
        member(&mut file, &control)?,
    )?
    .take(DEB_CONTROL + 1)
    .read_to_end(&mut tarball)?;
    if tarball.len() as u64 > DEB_CONTROL {
        return Err(DebError::Format(format!(
            "{}: control.tar unpacks to more",
            budget::exceeded("DEB_CONTROL", budget::bytes(DEB_CONTROL))
        )));
    }
    let mut package = control_package(&tarball)?;
    let dest = rustix::fs::open(
        dest,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io::Error::from)?;
    let mut tally = Tally {
        limits,
        entries: 0,
        bytes: 0,
        whatif,
    };
    let reader = decompress(&data.name["data.tar".len()..], member(&mut file, &data)?)?;
    let (left_out, shipped) = unpack_data(scratch::Stoppable(reader), &dest, &mut tally)?;
    package.left_out = left_out;
    package.shipped = shipped;
    Ok(package)
}

/// An `ar` member: where its bytes are in the file.
#[derive(Debug)]
struct Member {
    name: String,
    offset: u64,
    size: u64,
}

fn member<'a>(file: &'a mut File, m: &Member) -> io::Result<impl Read + 'a> {
    file.seek(SeekFrom::Start(m.offset))?;
    Ok(io::BufReader::new(file.take(m.size)))
}

/// The `control.tar` and `data.tar` members, after checking the layout.
fn layout(file: &mut File) -> Result<(Member, Member), DebError> {
    let format = |m: String| DebError::Format(m);
    let len = file.metadata()?.len();
    let mut magic = [0u8; 8];
    if file.read_exact(&mut magic).is_err() || &magic != b"!<arch>\n" {
        return Err(format("not an ar archive".into()));
    }
    let (mut control, mut data) = (None, None);
    let mut pos = 8u64;
    let mut n = 0usize;
    while pos < len {
        if n >= DEB_MEMBERS {
            return Err(DebError::Budget(budget::exceeded(
                "DEB_MEMBERS",
                DEB_MEMBERS,
            )));
        }
        let mut h = [0u8; 60];
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut h)
            .map_err(|_| format("truncated member header".into()))?;
        if &h[58..60] != b"`\n" {
            return Err(format("malformed member header".into()));
        }
        let raw = String::from_utf8_lossy(&h[..16]);
        let name = raw.trim_end_matches(' ');
        let name = name.strip_suffix('/').unwrap_or(name).to_string();
        let size: u64 = std::str::from_utf8(&h[48..58])
            .ok()
            .and_then(|s| s.trim_end_matches(' ').parse().ok())
            .ok_or_else(|| format(format!("member {name}: bad size")))?;
        let offset = pos + 60;
        let end = offset
            .checked_add(size)
            .filter(|&e| e <= len)
            .ok_or_else(|| format(format!("member {name} is truncated")))?;
        let m = Member { name, offset, size };
        match (n, m.name.as_str()) {
            (0, "debian-binary") => {
                let mut version = [0u8; 2];
                file.seek(SeekFrom::Start(offset))?;
                if size < 2 || file.read_exact(&mut version).is_err() || &version != b"2." {
                    return Err(format("unsupported format version".into()));
                }
            }
            (0, other) => {
                return Err(format(format!(
                    "first member is {other}, not debian-binary"
                )));
            }
            (_, "debian-binary") => return Err(format("second debian-binary member".into())),
            (_, name) if name.starts_with("control.tar") => {
                if control.is_some() {
                    return Err(format("second control.tar member".into()));
                }
                if data.is_some() {
                    return Err(format("control.tar member after data.tar".into()));
                }
                control = Some(m);
            }
            (_, name) if name.starts_with("data.tar") => {
                if data.is_some() {
                    return Err(format("second data.tar member".into()));
                }
                if control.is_none() {
                    return Err(format("data.tar member before control.tar".into()));
                }
                data = Some(m);
            }
            (_, name) if name.starts_with('_') => {}
            (_, name) if data.is_none() => {
                return Err(format(format!("unknown member {name} before data.tar")));
            }
            _ => {}
        }
        // Members are padded to an even offset; the last may lack it.
        pos = end.saturating_add(size & 1).min(len);
        n += 1;
    }
    match (control, data) {
        (Some(c), Some(d)) => Ok((c, d)),
        (None, _) => Err(format("no control.tar member".into())),
        (_, None) => Err(format("no data.tar member".into())),
    }
}
/// A decompressing reader for a `*.tar<ext>` member.
fn decompress<'a>(ext: &str, r: impl Read + 'a) -> Result<Box<dyn Read + 'a>, DebError> {
    Ok(match ext {
        "" => Box::new(r),
        ".gz" => Box::new(flate2::read::GzDecoder::new(r)),
        ".xz" => Box::new(liblzma::read::XzDecoder::new(r)),
        ".zst" => Box::new(zstd::stream::read::Decoder::new(r)?),
        other => {
            return Err(DebError::Format(format!(
                "unsupported compression tar{other}"
            )));
        }
    })
}

/// The `./control` file of a control tarball (`Package` and `Version`
/// required), its `postinst`, `conffiles` and `triggers`.
fn control_package(tarball: &[u8]) -> Result<Control, DebError> {
    let mut tar = tar::Archive::new(tarball);
    let mut control = None;
    let mut out = Control::default();
    for entry in tar.entries()? {
        let entry = entry?;
        let path = entry.path()?.into_owned();
        let name = path.strip_prefix(".").unwrap_or(&path).to_path_buf();
        let mut text = String::new();
        // A member that is not text (a binary postinst) is not one
        // soclash can read: as if absent.
        let Some(name) = name.to_str() else { continue };
        if !matches!(name, "control" | "postinst" | "conffiles" | "triggers") {
            continue;
        }
        let read = entry.take(DEB_CONTROL).read_to_string(&mut text);
        match name {
            "control" => {
                read?;
                control = Some(text);
            }
            _ if read.is_err() => {}
            "postinst" => out.postinst = Some(text),
            "conffiles" => {
                // `remove-on-upgrade` entries (dpkg 1.20.1) are not installed.
                out.conffiles = text
                    .lines()
                    .filter_map(|l| {
                        let mut w = l.split_whitespace();
                        let path = w.next()?;
                        (path.starts_with('/') && w.next().is_none()).then(|| path.to_string())
                    })
                    .collect();
            }
            _ => {
                out.ldconfig_trigger = text.lines().any(|l| {
                    let mut w = l.split_whitespace();
                    matches!(w.next(), Some("activate" | "activate-noawait"))
                        && w.next() == Some("ldconfig")
                });
            }
        }
    }
    let Some(text) = control else {
        return Err(DebError::Format("control.tar has no control file".into()));
    };
    // The control file is one paragraph; dpkg refuses more.
    out.fields = fields(text.split("\n\n").next().unwrap_or_default());
    let name = |f: &str| out.field(f).filter(|v| !v.is_empty()).map(str::to_string);
    match (name("Package"), name("Version")) {
        (Some(package), Some(version)) => {
            out.package = package;
            out.version = version;
            Ok(out)
        }
        _ => Err(DebError::Format(
            "control file lacks Package or Version".into(),
        )),
    }
}

/// Entries and bytes counted against the package's and the what-if's
/// budgets.
pub(super) struct Tally<'a> {
    pub(super) limits: Limits,
    pub(super) entries: usize,
    pub(super) bytes: u64,
    pub(super) whatif: &'a mut Unpacked,
}

impl Tally<'_> {
    /// An entry's path and link target, which the overlay keeps in memory.
    pub(super) fn names(&mut self, bytes: usize) -> Result<(), DebError> {
        let l = self.limits.whatif_path_bytes;
        self.whatif.path_bytes = self.whatif.path_bytes.saturating_add(bytes as u64);
        if self.whatif.path_bytes > l {
            return Err(DebError::Budget(budget::exceeded(
                "WHATIF_PATH_BYTES",
                budget::bytes(l),
            )));
        }
        Ok(())
    }

    pub(super) fn count(&mut self, bytes: u64) -> Result<(), DebError> {
        let l = self.limits;
        self.entries += 1;
        self.whatif.entries += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        self.whatif.bytes = self.whatif.bytes.saturating_add(bytes);
        let over = if self.entries > l.deb_entries {
            budget::exceeded(l.entries_name, l.deb_entries)
        } else if self.whatif.entries > l.whatif_entries {
            budget::exceeded("WHATIF_ENTRIES", l.whatif_entries)
        } else if self.bytes > l.deb_bytes {
            budget::exceeded(l.bytes_name, budget::bytes(l.deb_bytes))
        } else if self.whatif.bytes > l.whatif_bytes {
            budget::exceeded("WHATIF_UNPACKED", budget::bytes(l.whatif_bytes))
        } else {
            return Ok(());
        };
        Err(DebError::Budget(over))
    }
}

/// Path and link of the next entry, from GNU long-name and pax headers.
#[derive(Default)]
struct Pending {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
}

/// Data entries left out, with why (path, reason).
pub(super) type LeftOut = Vec<(String, String)>;

/// Unpacks the data tarball below `dest`; returns the entries left out,
/// and the paths the package ships.
fn unpack_data(
    r: impl Read,
    dest: &OwnedFd,
    tally: &mut Tally<'_>,
) -> Result<(LeftOut, std::collections::BTreeSet<String>), DebError> {
    use tar::EntryType;
    let mut shipped = std::collections::BTreeSet::new();
    let mut tar = tar::Archive::new(r);
    let mut left_out = Vec::new();
    let mut left_out_count = 0usize;
    let mut pending = Pending::default();
    let mut parents = Parents::default();
    // Raw entries: long names and pax headers are read here, within
    // DEB_NAME_BYTES, not by the tar crate into memory of any size.
    for entry in tar.entries()?.raw(true) {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        let size = entry.header().entry_size()?;
        let regular = matches!(kind, EntryType::Regular | EntryType::Continuous);
        tally.count(if regular { size } else { 0 })?;
        if kind.is_gnu_longname() || kind.is_gnu_longlink() || kind.is_pax_local_extensions() {
            if size > DEB_NAME_BYTES {
                return Err(DebError::Budget(budget::exceeded(
                    "DEB_NAME_BYTES",
                    budget::bytes(DEB_NAME_BYTES),
                )));
            }
            let mut bytes = Vec::new();
            (&mut entry).take(DEB_NAME_BYTES).read_to_end(&mut bytes)?;
            if kind.is_pax_local_extensions() {
                for ext in tar::PaxExtensions::new(&bytes).flatten() {
                    match ext.key_bytes() {
                        b"path" => pending.path = Some(ext.value_bytes().to_vec()),
                        b"linkpath" => pending.link = Some(ext.value_bytes().to_vec()),
                        b"size" => {
                            pending.size = ext.value().ok().and_then(|v| v.parse().ok());
                        }
                        _ => {}
                    }
                }
            } else {
                while bytes.last() == Some(&0) {
                    bytes.pop();
                }
                if kind.is_gnu_longname() {
                    pending.path = Some(bytes);
                } else {
                    pending.link = Some(bytes);
                }
            }
            continue;
        }
        let this = std::mem::take(&mut pending);
        if kind.is_pax_global_extensions() {
            continue;
        }
        if this.size.is_some_and(|s| s != size) {
            // Every file within the budget fits the header's size field.
            return Err(DebError::Format(
                "pax size differs from the header's".into(),
            ));
        }
        let path = this
            .path
            .unwrap_or_else(|| entry.header().path_bytes().into_owned());
        let shown = String::from_utf8_lossy(&path).into_owned();
        // Hard links are not unpacked, but installed by dpkg all the same:
        // shipped, so an upgrade does not remove what they replace.
        if matches!(
            kind,
            EntryType::Directory | EntryType::Symlink | EntryType::Link
        ) || regular
        {
            tally.names(path.len())?;
            if let Some(p) = shipped_path(&path) {
                shipped.insert(p);
            }
        }
        let result = match kind {
            _ if path.len() > PATH_MAX => Err(Refused::Entry("path longer than PATH_MAX".into())),
            EntryType::Directory => parents.place(dest, &path, make_dir),
            EntryType::Symlink => {
                let target = this
                    .link
                    .or_else(|| entry.header().link_name_bytes().map(|l| l.into_owned()))
                    .unwrap_or_default();
                tally.names(target.len())?;
                parents.place(dest, &path, |dir, name| {
                    replace(dir, name)?;
                    let _w = scratch::writing()?;
                    rustix::fs::symlinkat(OsStr::from_bytes(&target), dir, name)?;
                    Ok(())
                })
            }
            _ if regular => parents.place(dest, &path, |dir, name| {
                replace(dir, name)?;
                let _w = scratch::writing()?;
                let fd = rustix::fs::openat(
                    dir,
                    name,
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o644),
                )?;
                io::copy(&mut (&mut entry).take(size), &mut File::from(fd))?;
                Ok(())
            }),
            // Devices, FIFOs, hard links and sparse files are not what an
            // audit needs.
            _ => Ok(()),
        };
        match result {
            Ok(()) => {}
            Err(Refused::Io(e)) => return Err(e.into()),
            Err(Refused::Entry(why)) => {
                left_out_count += 1;
                if left_out.len() < LEFT_OUT_KEPT {
                    left_out.push((shown, why));
                }
            }
        }
    }
    if left_out_count > left_out.len() {
        left_out.push((
            String::new(),
            format!(
                "and {} more entries left out",
                left_out_count - left_out.len()
            ),
        ));
    }
    Ok((left_out, shipped))
}

/// A tar entry's path as dpkg lists it (`./usr/lib/` is `/usr/lib`), or
/// `None` for one that climbs or is not UTF-8 (it is not unpacked).
pub(super) fn shipped_path(raw: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?;
    let mut out = String::new();
    for c in text.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => {
                out.push('/');
                out.push_str(c);
            }
        }
    }
    Some(if out.is_empty() {
        "/.".to_string()
    } else {
        out
    })
}

/// Removes the regular file or symlink at the package path `path` (as
/// [`Control::shipped`] names it) from the tree unpacked at `dest`,
/// walking one component at a time with `O_NOFOLLOW`, never through a
/// symlink: a conffile dpkg would leave as the host has it is not laid.
/// `Ok(false)` when there is no such file.
pub fn drop_entry(dest: &Path, path: &str) -> io::Result<bool> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let Some((name, dirs)) = parts.split_last() else {
        return Ok(false);
    };
    if parts.contains(&"..") {
        return Ok(false);
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut fd = rustix::fs::open(dest, flags, Mode::empty())?;
    for d in dirs {
        fd = match rustix::fs::openat(&fd, *d, flags, Mode::empty()) {
            Ok(f) => f,
            Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR | rustix::io::Errno::LOOP) => {
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        };
    }
    match rustix::fs::statat(&fd, *name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::Directory => {
            let _w = scratch::writing()?;
            rustix::fs::unlinkat(&fd, *name, AtFlags::empty())?;
            Ok(true)
        }
        Ok(_) | Err(rustix::io::Errno::NOENT) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Why an entry was not placed: a problem of the entry (left out, the
/// unpacking goes on) or of the machine (the unpacking stops).
pub(super) enum Refused {
    Entry(String),
    Io(io::Error),
}

impl From<io::Error> for Refused {
    fn from(e: io::Error) -> Refused {
        Refused::Io(e)
    }
}

impl From<rustix::io::Errno> for Refused {
    fn from(e: rustix::io::Errno) -> Refused {
        use rustix::io::Errno;
        match e {
            // The entry's own path is at fault, not the machine.
            Errno::NAMETOOLONG | Errno::LOOP | Errno::NOTDIR | Errno::EXIST | Errno::ISDIR => {
                Refused::Entry(io::Error::from(e).to_string())
            }
            e => Refused::Io(e.into()),
        }
    }
}

/// The directory descriptor of the last parent an entry was placed in:
/// a package lists a directory's files together.
#[derive(Default)]
pub(super) struct Parents {
    last: Option<(Vec<u8>, OwnedFd)>,
}

impl Parents {
    /// Runs `op` with the entry's parent directory (made as needed, never
    /// through a symlink) and its last name.
    pub(super) fn place(
        &mut self,
        dest: &OwnedFd,
        path: &[u8],
        op: impl FnOnce(BorrowedFd<'_>, &OsStr) -> Result<(), Refused>,
    ) -> Result<(), Refused> {
        let mut parts = Vec::new();
        for c in path.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => return Err(Refused::Entry("path climbs with ..".into())),
                c => parts.push(c),
            }
        }
        let Some((name, dirs)) = parts.split_last() else {
            // The package's `./` itself.
            return Ok(());
        };
        let key = dirs.join(&b'/');
        if self.last.as_ref().is_none_or(|(k, _)| *k != key) {
            self.last = None;
            let mut fd: Option<OwnedFd> = None;
            for d in dirs {
                let at = fd.as_ref().map_or(dest.as_fd(), |f| f.as_fd());
                make_dir(at, OsStr::from_bytes(d))?;
                let next = rustix::fs::openat(
                    at,
                    OsStr::from_bytes(d),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| match e {
                    rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => {
                        Refused::Entry("a parent is not a directory (a symlink?)".into())
                    }
                    e => Refused::Io(e.into()),
                })?;
                fd = Some(next);
            }
            let fd = match fd {
                Some(fd) => fd,
                None => rustix::io::dup(dest)?,
            };
            self.last = Some((key, fd));
        }
        let Some((_, dir)) = &self.last else {
            return Ok(());
        };
        op(dir.as_fd(), OsStr::from_bytes(name))
    }
}

/// `mkdir` that accepts a directory already there.
pub(super) fn make_dir(dir: BorrowedFd<'_>, name: &OsStr) -> Result<(), Refused> {
    let _w = scratch::writing()?;
    match rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o755)) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::EXIST) => {
            let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
            if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                Ok(())
            } else {
                Err(Refused::Entry("a file is where a directory goes".into()))
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes a file or symlink an earlier entry put at `name`, as tar
/// replaces it; a directory there refuses the entry.
pub(super) fn replace(dir: BorrowedFd<'_>, name: &OsStr) -> Result<(), Refused> {
    let _w = scratch::writing()?;
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
            Err(Refused::Entry("a directory is where a file goes".into()))
        }
        Ok(_) => Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tarball(entries: &[(&[u8], tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            // Raw names, so a hostile `../` path can be written.
            h.as_old_mut().name[..name.len()].copy_from_slice(name);
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn deb(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut a = ar::Builder::new(Vec::new());
        for (name, data) in members {
            let h = ar::Header::new(name.as_bytes().to_vec(), data.len() as u64);
            a.append(&h, data.as_slice()).unwrap();
        }
        a.into_inner().unwrap()
    }

    /// Only regular files, directories and symlinks land, inside `dest`;
    /// a `..` path, a device and a hard link do not.
    #[test]
    fn hostile_entries_are_left_out() {
        let control = tarball(&[(
            b"./control",
            tar::EntryType::Regular,
            b"Package: php8.2-x\nVersion: 1.0-1\n",
        )]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &control).unwrap();
        let data = tarball(&[
            (b"./usr/", tar::EntryType::Directory, b""),
            (b"./usr/x.so", tar::EntryType::Regular, b"ELF"),
            (b"../escape", tar::EntryType::Regular, b"out"),
            (b"./usr/dev", tar::EntryType::Char, b""),
            (b"./usr/hard", tar::EntryType::Link, b""),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.deb");
        std::fs::write(
            &file,
            deb(&[
                ("debian-binary", b"2.0\n".to_vec()),
                ("control.tar.gz", gz.finish().unwrap()),
                ("data.tar", data),
            ]),
        )
        .unwrap();
        let dest = dir.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        let c = unpack(&file, &dest, &mut Unpacked::default()).unwrap();
        assert_eq!(
            (c.package.as_str(), c.version.as_str()),
            ("php8.2-x", "1.0-1")
        );
        assert_eq!(std::fs::read(dest.join("usr/x.so")).unwrap(), b"ELF");
        assert!(!dir.path().join("escape").exists());
        assert!(!dest.join("usr/dev").exists());
        assert!(!dest.join("usr/hard").exists());
    }

    #[test]
    fn truncated_and_foreign_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        let file = dir.path().join("x.deb");
        for bytes in [
            &b""[..],
            b"!<arch>\ndebian-binary   0           0     0     100644  4",
            b"\x7fELF not a package",
        ] {
            std::fs::write(&file, bytes).unwrap();
            assert!(
                unpack(&file, &dest, &mut Unpacked::default()).is_err(),
                "{bytes:?}"
            );
        }
        let control = tarball(&[(
            b"./control",
            tar::EntryType::Regular,
            b"Package: x\nVersion: 1\n",
        )]);
        std::fs::write(
            &file,
            deb(&[
                ("debian-binary", b"2.0\n".to_vec()),
                ("control.tar", control.clone()),
                ("data.tar.bz2", vec![0; 10]),
            ]),
        )
        .unwrap();
        let e = unpack(&file, &dest, &mut Unpacked::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("unsupported compression tar.bz2"), "{e}");
        // dpkg-deb's layout: debian-binary first, one control.tar, then
        // one data.tar.
        let data = tarball(&[(b"./x", tar::EntryType::Regular, b"x")]);
        for (members, why) in [
            (
                vec![("control.tar", control.clone()), ("data.tar", data.clone())],
                "first member is control.tar",
            ),
            (
                vec![
                    ("debian-binary", b"2.0\n".to_vec()),
                    ("control.tar", control.clone()),
                    ("data.tar", data.clone()),
                    ("data.tar", data.clone()),
                ],
                "second data.tar member",
            ),
            (
                vec![
                    ("debian-binary", b"2.0\n".to_vec()),
                    ("data.tar", data.clone()),
                    ("control.tar", control.clone()),
                ],
                "data.tar member before control.tar",
            ),
            (
                vec![
                    ("debian-binary", b"3.0\n".to_vec()),
                    ("control.tar", control.clone()),
                    ("data.tar", data.clone()),
                ],
                "unsupported format version",
            ),
        ] {
            std::fs::write(&file, deb(&members)).unwrap();
            let e = unpack(&file, &dest, &mut Unpacked::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{why}: {e}");
        }
    }

    fn package(data: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let control = tarball(&[(
            b"./control",
            tar::EntryType::Regular,
            b"Package: x\nVersion: 1\n",
        )]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.deb");
        std::fs::write(
            &file,
            deb(&[
                ("debian-binary", b"2.0\n".to_vec()),
                ("control.tar", control),
                ("data.tar", data.to_vec()),
            ]),
        )
        .unwrap();
        (dir, file)
    }

    /// The budgets count per package and over the what-if's packages.
    #[test]
    fn budgets_count_per_package_and_per_whatif() {
        let data = tarball(&[
            (b"./a", tar::EntryType::Regular, &[0; 100]),
            (b"./b", tar::EntryType::Regular, &[0; 100]),
            (b"./c", tar::EntryType::Fifo, b""),
        ]);
        let (dir, file) = package(&data);
        let limits = Limits {
            deb_entries: 3,
            deb_bytes: 200,
            whatif_entries: 5,
            whatif_bytes: 1000,
            whatif_path_bytes: 1000,
            ..LIMITS
        };
        let run = |whatif: &mut Unpacked, limits: Limits| {
            let dest = tempfile::tempdir_in(dir.path()).unwrap();
            unpack_with(&file, dest.path(), whatif, limits).map(|_| ())
        };
        let mut whatif = Unpacked::default();
        run(&mut whatif, limits).unwrap();
        let e = run(&mut whatif, limits).unwrap_err().to_string();
        assert_eq!(e, "budget exceeded: WHATIF_ENTRIES (5)");
        let tight = |l: Limits| run(&mut Unpacked::default(), l).unwrap_err().to_string();
        assert_eq!(
            tight(Limits {
                deb_entries: 2,
                ..limits
            }),
            "budget exceeded: DEB_ENTRIES (2)"
        );
        assert_eq!(
            tight(Limits {
                deb_bytes: 199,
                ..limits
            }),
            "budget exceeded: DEB_UNPACKED (199 bytes)"
        );
        let e = run(
            &mut Unpacked {
                entries: 0,
                bytes: 900,
                path_bytes: 0,
            },
            limits,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "budget exceeded: WHATIF_UNPACKED (1000 bytes)");
        assert_eq!(
            tight(Limits {
                whatif_path_bytes: 1,
                ..limits
            }),
            "budget exceeded: WHATIF_PATH_BYTES (1 bytes)"
        );
    }

    /// An entry below a symlink an earlier entry placed is left out, never
    /// written through the link.
    #[test]
    fn entries_below_a_symlink_are_left_out() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().as_os_str().as_encoded_bytes().to_vec();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "./etc", std::ffi::OsStr::from_bytes(&target))
            .unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(1);
        b.append_data(&mut h, "./etc/x", &b"x"[..]).unwrap();
        // A long name, read within DEB_NAME_BYTES.
        let long = format!("./usr/{}/{}/y", "d".repeat(200), "e".repeat(200));
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(1);
        b.append_data(&mut h, &long, &b"y"[..]).unwrap();
        let (dir, file) = package(&b.into_inner().unwrap());
        let dest = dir.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        let c = unpack(&file, &dest, &mut Unpacked::default()).unwrap();
        assert_eq!(c.left_out.len(), 1, "{:?}", c.left_out);
        assert_eq!(c.left_out[0].0, "etc/x");
        assert!(!outside.path().join("x").exists());
        assert_eq!(std::fs::read(dest.join(&long[2..])).unwrap(), b"y");
    }

    /// What dpkg does besides unpacking, read from the control member:
    /// fields (continuation lines joined), conffiles, the ldconfig
    /// trigger; the paths shipped as dpkg lists them; a kept conffile
    /// dropped from the unpacked tree, never through a symlink.
    #[test]
    fn control_members_and_shipped_paths() {
        let control = tarball(&[
            (
                b"./control",
                tar::EntryType::Regular,
                b"Package: libx1\nVersion: 1:2.0-1\nDepends: libc6 (>= 2.34),\n libz1\nDescription: x\n more\n",
            ),
            (
                b"./conffiles",
                tar::EntryType::Regular,
                b"/etc/x.conf\n/etc/gone.conf remove-on-upgrade\nrelative\n",
            ),
            (
                b"./triggers",
                tar::EntryType::Regular,
                b"# Triggers added by dh_makeshlibs\nactivate-noawait ldconfig\n",
            ),
        ]);
        let data = tarball(&[
            (b"./", tar::EntryType::Directory, b""),
            (b"./etc/", tar::EntryType::Directory, b""),
            (b"./etc/x.conf", tar::EntryType::Regular, b"conf"),
            (b"./usr/lib/libx.so.1", tar::EntryType::Regular, b"ELF"),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.deb");
        std::fs::write(
            &file,
            deb(&[
                ("debian-binary", b"2.0\n".to_vec()),
                ("control.tar", control),
                ("data.tar", data),
            ]),
        )
        .unwrap();
        let dest = dir.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        let c = unpack(&file, &dest, &mut Unpacked::default()).unwrap();
        assert_eq!(c.version, "1:2.0-1");
        assert_eq!(c.field("depends"), Some("libc6 (>= 2.34),\nlibz1"));
        assert_eq!(c.conffiles, vec!["/etc/x.conf"]);
        assert!(c.ldconfig_trigger);
        assert_eq!(
            c.shipped.iter().map(String::as_str).collect::<Vec<_>>(),
            ["/.", "/etc", "/etc/x.conf", "/usr/lib/libx.so.1"]
        );
        assert!(drop_entry(&dest, "/etc/x.conf").unwrap());
        assert!(!dest.join("etc/x.conf").exists());
        assert!(!drop_entry(&dest, "/etc/x.conf").unwrap());
        assert!(!drop_entry(&dest, "/etc").unwrap(), "a directory stays");
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("victim"), "v").unwrap();
        std::os::unix::fs::symlink(outside.path(), dest.join("link")).unwrap();
        assert!(!drop_entry(&dest, "/link/victim").unwrap());
        assert!(!drop_entry(&dest, "/../victim").unwrap());
        assert!(outside.path().join("victim").exists());
    }
}
