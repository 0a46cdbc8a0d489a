//! Reading an `.rpm` and unpacking its payload into a directory for
//! `scan --overlay-rpm`, without running rpm: the lead, the signature
//! header (skipped), the main header (name, version, dependencies, file
//! list, scriptlets, file triggers) and the cpio payload (gzip, xz, lzma,
//! zstd or none), as rpm's `rpmReadPackageFile` and `rpm2cpio` lay them
//! out.
//!
//! A package is input like any other. The `rpm` crate was measured unfit
//! for that: a 120-byte file made it panic (an index entry's offset past
//! the header's data; counts whose product overflows u32), and it reads a
//! whole payload into memory. So the header is read by our own parser
//! ([`header`], which also reads rpm's database), every count and offset
//! checked against the bytes there, each header within
//! [`RPM_HEADER_BYTES`]; the payload by the `cpio` crate, each entry's
//! name metered to `PATH_MAX` before that crate reads it (it would hold a
//! name of any length a header claims). Entries are placed with the
//! `.deb` path's writer (one component at a time with `O_NOFOLLOW`, never
//! below a symlink, `..` refused) and counted against the same what-if
//! budgets, and per package against [`RPM_ENTRIES`] and [`RPM_UNPACKED`].

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::rc::Rc;

use rustix::fs::{Mode, OFlags};

use super::deb::{self, LEFT_OUT_KEPT, LeftOut, Limits, PATH_MAX, Parents, Refused, Tally};
use super::scratch;
use crate::budget::{self, RPM_HEADER_BYTES};

/// One dependency or provision: `name [op evr]` as rpm keeps it (the
/// `*NAME`, `*FLAGS` and `*VERSION` tags at one index).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dep {
    pub name: String,
    /// `rpmsenseFlags`: the comparison (`LESS`, `GREATER`, `EQUAL`) and
    /// what the dependency is for ([`sense`]).
    pub flags: u32,
    /// `[epoch:]version[-release]`, empty when none is asked.
    pub evr: String,
}

/// rpm's `rpmsenseFlags` bits soclash reads (rpm's `rpmds.h`).
pub mod sense {
    pub const LESS: u32 = 1 << 1;
    pub const GREATER: u32 = 1 << 2;
    pub const EQUAL: u32 = 1 << 3;
    pub const MASK: u32 = LESS | GREATER | EQUAL;
    /// A `%pretrans` dependency: the packages being added cannot satisfy it.
    pub const PRETRANS: u32 = 1 << 7;
    /// A weak dependency (`Requires(missingok)`): never unsatisfied.
    pub const MISSINGOK: u32 = 1 << 19;
    pub const PREUNTRANS: u32 = 1 << 20;
    /// `rpmlib(feature)`: satisfied by rpm itself.
    pub const RPMLIB: u32 = 1 << 24;
}

impl std::fmt::Display for Dep {
    /// As rpm prints a dependency (`rpmdsNewDNEVR`): `baz >= 2`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        let op = self.flags & sense::MASK;
        if op != 0 {
            f.write_str(" ")?;
            if op & sense::LESS != 0 {
                f.write_str("<")?;
            }
            if op & sense::GREATER != 0 {
                f.write_str(">")?;
            }
            if op & sense::EQUAL != 0 {
                f.write_str("=")?;
            }
            if !self.evr.is_empty() {
                write!(f, " {}", self.evr)?;
            }
        }
        Ok(())
    }
}

/// What the what-if needs of an `.rpm`: its identity, dependencies, the
/// files it installs, and what rpm would run besides unpacking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmPackage {
    pub name: String,
    /// `[epoch:]version-release`, as `rpm -q` shows it.
    pub evr: String,
    pub arch: String,
    pub provides: Vec<Dep>,
    pub requires: Vec<Dep>,
    /// The paths the header lists (directories and `%ghost` files too):
    /// on an upgrade, rpm removes what the installed version lists and
    /// this one does not.
    pub files: BTreeSet<String>,
    /// The scriptlets rpm would run (`%pre`, `%post`, ...), which soclash
    /// does not model; a `%post` that is only `-p /sbin/ldconfig` is not
    /// listed (it is modelled: [`RpmPackage::runs_ldconfig`]).
    pub scriptlets: Vec<&'static str>,
    /// Its `%post` runs ldconfig (`%post -p /sbin/ldconfig`, or a script
    /// that calls it).
    pub runs_ldconfig: bool,
    /// The prefixes of its own file triggers that run ldconfig (glibc's
    /// `%transfiletriggerin -- /lib /usr/lib /lib64 /usr/lib64`).
    pub ldconfig_triggers: Vec<String>,
    /// Payload entries that were not unpacked, with why (path, reason).
    pub left_out: LeftOut,
}

/// Why a package could not be read or unpacked.
#[derive(Debug, thiserror::Error)]
pub enum RpmError {
    #[error("not an RPM package soclash reads: {0}")]
    Format(String),
    /// A budget of `crate::budget` was reached; the text names it.
    #[error("{0}")]
    Budget(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl From<deb::DebError> for RpmError {
    fn from(e: deb::DebError) -> RpmError {
        match e {
            deb::DebError::Format(m) => RpmError::Format(m),
            deb::DebError::Budget(m) => RpmError::Budget(m),
            deb::DebError::Io(e) => RpmError::Io(e),
        }
    }
}

const LIMITS: Limits = Limits {
    deb_entries: budget::RPM_ENTRIES,
    deb_bytes: budget::RPM_UNPACKED,
    whatif_entries: budget::WHATIF_ENTRIES,
    whatif_bytes: budget::WHATIF_UNPACKED,
    whatif_path_bytes: budget::WHATIF_PATH_BYTES,
    entries_name: "RPM_ENTRIES",
    bytes_name: "RPM_UNPACKED",
};

/// The lead's magic, and the header's (with its version 1 and 4 reserved
/// bytes).
const LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
const HEADER_MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
const LEAD_BYTES: usize = 96;

/// Reads the package at `rpm` and unpacks its payload into `dest` (an
/// empty directory), adding what it unpacked to the what-if's `whatif`.
pub fn unpack(rpm: &Path, dest: &Path, whatif: &mut deb::Unpacked) -> Result<RpmPackage, RpmError> {
    unpack_with(rpm, dest, whatif, LIMITS)
}

fn unpack_with(
    rpm: &Path,
    dest: &Path,
    whatif: &mut deb::Unpacked,
    limits: Limits,
) -> Result<RpmPackage, RpmError> {
    let mut file = File::open(rpm)?;
    let blob = headers(&mut file)?;
    let h = header::Header::parse(&blob)
        .ok_or_else(|| RpmError::Format("the main header is corrupt".into()))?;
    let mut package = describe(&h)?;
    let format = h.string(header::PAYLOADFORMAT);
    if !matches!(format.as_deref(), None | Some("cpio")) {
        return Err(RpmError::Format(format!(
            "payload format {} (only cpio is read)",
            format.unwrap_or_default()
        )));
    }
    if h.has(header::LONGFILESIZES) {
        return Err(RpmError::Format(
            "a payload of files over 4 GiB (stripped cpio) is not read".into(),
        ));
    }
    let compressor = h.string(header::PAYLOADCOMPRESSOR);
    let payload = decompress(compressor.as_deref(), io::BufReader::new(file))?;
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
    package.left_out = unpack_payload(scratch::Stoppable(payload), &dest, &mut tally)?;
    Ok(package)
}

/// Checks the lead, skips the signature header and returns the main
/// header as [`header::Header::parse`] reads it (its index and data
/// lengths first), leaving `file` at the payload.
fn headers(file: &mut File) -> Result<Vec<u8>, RpmError> {
    let format = |m: &str| RpmError::Format(m.to_string());
    let mut lead = [0u8; LEAD_BYTES];
    file.read_exact(&mut lead)
        .map_err(|_| format("shorter than an RPM lead"))?;
    if lead[..4] != LEAD_MAGIC {
        return Err(format("no RPM lead magic"));
    }
    if !matches!(lead[4], 3 | 4) {
        return Err(RpmError::Format(format!(
            "unsupported package format {}",
            lead[4]
        )));
    }
    if u16::from_be_bytes([lead[6], lead[7]]) != 0 {
        return Err(format("a source package"));
    }
    let signature = header_blob(file, "signature")?;
    // The signature header's data is padded to 8 bytes.
    let dl = u32::from_be_bytes([signature[4], signature[5], signature[6], signature[7]]);
    let pad = (8 - dl % 8) % 8;
    file.seek(SeekFrom::Current(i64::from(pad)))?;
    header_blob(file, "main")
}

/// One header at the file's position: its magic, then index length and
/// data length, then as many bytes, within [`RPM_HEADER_BYTES`]. The
/// bytes from the lengths on.
fn header_blob(file: &mut File, which: &str) -> Result<Vec<u8>, RpmError> {
    let mut intro = [0u8; 16];
    file.read_exact(&mut intro)
        .map_err(|_| RpmError::Format(format!("the {which} header is truncated")))?;
    if intro[..8] != HEADER_MAGIC {
        return Err(RpmError::Format(format!("no {which} header magic")));
    }
    let il = u64::from(u32::from_be_bytes([
        intro[8], intro[9], intro[10], intro[11],
    ]));
    let dl = u64::from(u32::from_be_bytes([
        intro[12], intro[13], intro[14], intro[15],
    ]));
    let size = il * 16 + dl;
    if size > RPM_HEADER_BYTES {
        return Err(RpmError::Budget(budget::exceeded(
            "RPM_HEADER_BYTES",
            budget::bytes(RPM_HEADER_BYTES),
        )));
    }
    let mut blob = intro[8..].to_vec();
    file.take(size).read_to_end(&mut blob)?;
    if blob.len() as u64 != size + 8 {
        return Err(RpmError::Format(format!("the {which} header is truncated")));
    }
    Ok(blob)
}

/// The package's identity, dependencies, files and scriptlets.
fn describe(h: &header::Header<'_>) -> Result<RpmPackage, RpmError> {
    let Some((name, evr)) = h.name_evr() else {
        return Err(RpmError::Format(
            "the header lacks a name, version or release".into(),
        ));
    };
    let prog = |tag| h.strings(tag).unwrap_or_default();
    let text = |tag| h.string(tag).unwrap_or_default();
    let calls_ldconfig = |s: &[u8]| s.windows(8).any(|w| w == b"ldconfig");
    let post_prog = prog(header::POSTINPROG);
    let post_text = text(header::POSTIN);
    let post_only_ldconfig = post_text.trim().is_empty()
        && post_prog.first().is_some_and(|p| calls_ldconfig(p))
        && post_prog.len() == 1;
    let mut scriptlets = Vec::new();
    for (name, script, program) in [
        ("%pretrans", header::PRETRANS, header::PRETRANSPROG),
        ("%pre", header::PREIN, header::PREINPROG),
        ("%post", header::POSTIN, header::POSTINPROG),
        ("%posttrans", header::POSTTRANS, header::POSTTRANSPROG),
    ] {
        if name == "%post" && post_only_ldconfig {
            continue;
        }
        if h.has(script) || h.has(program) {
            scriptlets.push(name);
        }
    }
    if h.has(header::TRIGGERSCRIPTS) {
        scriptlets.push("%trigger");
    }
    if h.has(header::FILETRIGGERSCRIPTS) {
        scriptlets.push("%filetrigger");
    }
    if h.has(header::TRANSFILETRIGGERSCRIPTS) {
        scriptlets.push("%transfiletrigger");
    }
    Ok(RpmPackage {
        name,
        evr,
        arch: text(header::ARCH),
        provides: h.deps(
            header::PROVIDENAME,
            header::PROVIDEFLAGS,
            header::PROVIDEVERSION,
        ),
        requires: h.deps(
            header::REQUIRENAME,
            header::REQUIREFLAGS,
            header::REQUIREVERSION,
        ),
        files: h
            .all_files()
            .into_iter()
            .filter_map(|p| String::from_utf8(p).ok())
            .collect(),
        scriptlets,
        runs_ldconfig: post_prog.iter().any(|p| calls_ldconfig(p))
            || calls_ldconfig(post_text.as_bytes()),
        ldconfig_triggers: h.ldconfig_triggers(),
        left_out: Vec::new(),
    })
}

/// A decompressing reader for the payload, by the header's
/// `PAYLOADCOMPRESSOR` (rpm's default, when it is absent, is gzip).
fn decompress<'a>(
    compressor: Option<&str>,
    r: impl Read + 'a,
) -> Result<Box<dyn Read + 'a>, RpmError> {
    Ok(match compressor.unwrap_or("gzip") {
        "gzip" => Box::new(flate2::read::MultiGzDecoder::new(r)),
        "xz" => Box::new(liblzma::read::XzDecoder::new(r)),
        "lzma" => Box::new(liblzma::read::XzDecoder::new_stream(
            r,
            liblzma::stream::Stream::new_lzma_decoder(u64::MAX).map_err(io::Error::from)?,
        )),
        "zstd" => Box::new(zstd::stream::read::Decoder::new(r)?),
        "identity" => Box::new(r),
        other => {
            return Err(RpmError::Format(format!(
                "payload compressed with {other} (gzip, xz, lzma and zstd are read)"
            )));
        }
    })
}

/// A reader that lets through only what is allowed (`left`), so that a
/// cpio header cannot make the `cpio` crate read a name of any length
/// into memory; `over` says the allowance, not the input, ended a read.
struct Metered<R> {
    inner: R,
    left: Rc<Cell<u64>>,
    over: Rc<Cell<bool>>,
    /// A read of the payload (its decompression) failed: the error that
    /// comes out is the payload's, not the disk's.
    failed: Rc<Cell<bool>>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.left.get();
        if left == 0 && !buf.is_empty() {
            self.over.set(true);
            return Err(io::Error::other("over the entry's allowance"));
        }
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let got = self
            .inner
            .read(&mut buf[..n])
            .inspect_err(|_| self.failed.set(true))?;
        self.left.set(left - got as u64);
        Ok(got)
    }
}

/// A cpio entry header (110 bytes), the longest name Linux installs and
/// its NUL, and padding.
const ENTRY_HEADER_ALLOWANCE: u64 = 110 + PATH_MAX as u64 + 1 + 3;

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;

/// Unpacks the cpio payload below `dest`; returns the entries left out.
fn unpack_payload(
    r: impl Read,
    dest: &OwnedFd,
    tally: &mut Tally<'_>,
) -> Result<LeftOut, RpmError> {
    let left = Rc::new(Cell::new(0u64));
    let over = Rc::new(Cell::new(false));
    let failed = Rc::new(Cell::new(false));
    let mut inner = Metered {
        inner: r,
        left: Rc::clone(&left),
        over: Rc::clone(&over),
        failed: Rc::clone(&failed),
    };
    let result = entries(&mut inner, dest, tally, &left, &over);
    match result {
        Err(RpmError::Io(e)) if failed.get() && !scratch::stopping() => Err(RpmError::Format(
            format!("payload truncated or corrupt: {e}"),
        )),
        other => other,
    }
}

/// The entries of the payload, read through `inner`.
fn entries<R: Read>(
    inner: &mut Metered<R>,
    dest: &OwnedFd,
    tally: &mut Tally<'_>,
    left: &Rc<Cell<u64>>,
    over: &Rc<Cell<bool>>,
) -> Result<LeftOut, RpmError> {
    let mut inner = inner;
    let mut parents = Parents::default();
    let mut left_out = Vec::new();
    let mut left_out_count = 0usize;
    // Hard links: rpm writes a set's data with its last entry, the others
    // empty; they get the data once it comes.
    let mut links: HashMap<u32, Vec<Vec<u8>>> = HashMap::new();
    let format = |what: &str, e: io::Error| RpmError::Format(format!("payload {what}: {e}"));
    loop {
        left.set(ENTRY_HEADER_ALLOWANCE);
        let mut entry = match cpio::NewcReader::new(inner) {
            Ok(e) => e,
            Err(_) if over.get() => {
                return Err(RpmError::Format(
                    "payload entry name longer than PATH_MAX".into(),
                ));
            }
            Err(e) if scratch::stopping() => return Err(e.into()),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(format("truncated", e));
            }
            Err(e) => return Err(format("corrupt", e)),
        };
        if entry.entry().is_trailer() {
            break;
        }
        let e = entry.entry();
        let (mode, size, nlink, ino) = (e.mode(), u64::from(e.file_size()), e.nlink(), e.ino());
        let path = e.name().as_bytes().to_vec();
        left.set(size + 3);
        let kind = mode & S_IFMT;
        tally.count(if kind == S_IFREG { size } else { 0 })?;
        if matches!(kind, S_IFREG | S_IFDIR | S_IFLNK) {
            tally.names(path.len())?;
        }
        let result = match kind {
            _ if path.len() > PATH_MAX => Err(Refused::Entry("path longer than PATH_MAX".into())),
            S_IFDIR => parents.place(dest, &path, deb::make_dir),
            S_IFLNK => {
                if size > PATH_MAX as u64 {
                    return Err(RpmError::Format(
                        "payload symlink target longer than PATH_MAX".into(),
                    ));
                }
                let mut target = Vec::new();
                (&mut entry).take(size).read_to_end(&mut target)?;
                if target.len() as u64 != size {
                    return Err(RpmError::Format("payload truncated".into()));
                }
                tally.names(target.len())?;
                parents.place(dest, &path, |dir, name| {
                    deb::replace(dir, name)?;
                    let _w = scratch::writing()?;
                    rustix::fs::symlinkat(OsStr::from_bytes(&target), dir, name)?;
                    Ok(())
                })
            }
            S_IFREG => {
                let mut written: Option<File> = None;
                let placed = parents.place(dest, &path, |dir, name| {
                    written = Some(create(dir, name)?);
                    Ok(())
                });
                if let Some(mut f) = written {
                    let copied = io::copy(&mut (&mut entry).take(size), &mut f)?;
                    if copied != size {
                        return Err(RpmError::Format("payload truncated".into()));
                    }
                    if nlink > 1 && size > 0 {
                        for other in links.remove(&ino).unwrap_or_default() {
                            tally.count(size)?;
                            f.seek(SeekFrom::Start(0))?;
                            let copy = parents.place(dest, &other, |dir, name| {
                                let mut to = create(dir, name)?;
                                io::copy(&mut (&mut f).take(size), &mut to)?;
                                Ok(())
                            });
                            if let Err(Refused::Io(e)) = copy {
                                return Err(e.into());
                            }
                        }
                    } else if nlink > 1 {
                        links.entry(ino).or_default().push(path.clone());
                    }
                }
                placed
            }
            // Devices, FIFOs and sockets are not what an audit needs.
            _ => Ok(()),
        };
        match result {
            Ok(()) => {}
            Err(Refused::Io(e)) => return Err(e.into()),
            Err(Refused::Entry(why)) => {
                left_out_count += 1;
                if left_out.len() < LEFT_OUT_KEPT {
                    left_out.push((String::from_utf8_lossy(&path).into_owned(), why));
                }
            }
        }
        inner = match entry.finish() {
            Ok(r) => r,
            Err(e) => return Err(format("truncated", e)),
        };
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
    Ok(left_out)
}

/// A new regular file `name` in `dir` (replacing a file or link an
/// earlier entry put there), never through a symlink.
fn create(dir: std::os::fd::BorrowedFd<'_>, name: &OsStr) -> Result<File, Refused> {
    deb::replace(dir, name)?;
    let _w = scratch::writing()?;
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )?;
    let mut f = File::from(fd);
    f.flush()?;
    Ok(f)
}

/// The RPM header format (rpm's `headerImport`): entry count and data
/// length (big-endian u32), then 16-byte entries (tag, type, offset,
/// count), then the data they point into. A package file has a magic
/// before the lengths, the database keeps the header without it. Every
/// offset and count is checked against the blob.
pub mod header {
    use std::os::unix::ffi::OsStringExt;
    use std::path::PathBuf;

    use super::Dep;

    pub const NAME: u32 = 1000;
    pub const VERSION: u32 = 1001;
    pub const RELEASE: u32 = 1002;
    pub const EPOCH: u32 = 1003;
    pub const ARCH: u32 = 1022;
    pub const PREIN: u32 = 1023;
    pub const POSTIN: u32 = 1024;
    pub const PROVIDENAME: u32 = 1047;
    pub const REQUIREFLAGS: u32 = 1048;
    pub const REQUIRENAME: u32 = 1049;
    pub const REQUIREVERSION: u32 = 1050;
    pub const TRIGGERSCRIPTS: u32 = 1065;
    pub const PREINPROG: u32 = 1085;
    pub const POSTINPROG: u32 = 1086;
    pub const PROVIDEFLAGS: u32 = 1112;
    pub const PROVIDEVERSION: u32 = 1113;
    pub const DIRINDEXES: u32 = 1116;
    pub const BASENAMES: u32 = 1117;
    pub const DIRNAMES: u32 = 1118;
    pub const PAYLOADFORMAT: u32 = 1124;
    pub const PAYLOADCOMPRESSOR: u32 = 1125;
    pub const PRETRANS: u32 = 1151;
    pub const POSTTRANS: u32 = 1152;
    pub const PRETRANSPROG: u32 = 1153;
    pub const POSTTRANSPROG: u32 = 1154;
    pub const LONGFILESIZES: u32 = 5008;
    pub const FILETRIGGERSCRIPTS: u32 = 5066;
    pub const FILETRIGGERSCRIPTPROG: u32 = 5067;
    pub const FILETRIGGERNAME: u32 = 5069;
    pub const FILETRIGGERINDEX: u32 = 5070;
    pub const FILETRIGGERFLAGS: u32 = 5072;
    pub const TRANSFILETRIGGERSCRIPTS: u32 = 5076;
    pub const TRANSFILETRIGGERSCRIPTPROG: u32 = 5077;
    pub const TRANSFILETRIGGERNAME: u32 = 5079;
    pub const TRANSFILETRIGGERINDEX: u32 = 5080;
    pub const TRANSFILETRIGGERFLAGS: u32 = 5082;

    /// `RPMSENSE_TRIGGERIN`: a trigger on files being installed.
    const TRIGGERIN: u32 = 1 << 16;

    const INT32: u32 = 4;
    const STRING: u32 = 6;
    const STRING_ARRAY: u32 = 8;
    const I18NSTRING: u32 = 9;

    pub struct Header<'a> {
        entries: Vec<(u32, u32, usize, usize)>,
        data: &'a [u8],
    }

    fn be32(b: &[u8], at: usize) -> Option<u32> {
        let w = b.get(at..at.checked_add(4)?)?;
        Some(u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    }

    impl<'a> Header<'a> {
        pub fn parse(blob: &'a [u8]) -> Option<Header<'a>> {
            let il = usize::try_from(be32(blob, 0)?).ok()?;
            let dl = usize::try_from(be32(blob, 4)?).ok()?;
            let start = il.checked_mul(16)?.checked_add(8)?;
            let data = blob.get(start..start.checked_add(dl)?)?;
            let mut entries = Vec::with_capacity(il.min(blob.len() / 16));
            for i in 0..il {
                let at = 8 + i * 16;
                let tag = be32(blob, at)?;
                let kind = be32(blob, at + 4)?;
                let offset = usize::try_from(be32(blob, at + 8)?).ok()?;
                let count = usize::try_from(be32(blob, at + 12)?).ok()?;
                entries.push((tag, kind, offset, count));
            }
            Some(Header { entries, data })
        }

        /// The last entry of `tag`: an installed header keeps the
        /// package's own entries first and appends those rpm changed at
        /// install time (relocated `DIRNAMES`, say), which replace them
        /// (rpm's `hdrblobImport`: "dribble entries replace duplicate
        /// region entries").
        fn entry(&self, tag: u32) -> Option<(u32, usize, usize)> {
            self.entries
                .iter()
                .rev()
                .find(|e| e.0 == tag)
                .map(|&(_, kind, offset, count)| (kind, offset, count))
        }

        /// Whether the header has an entry of `tag`.
        pub fn has(&self, tag: u32) -> bool {
            self.entry(tag).is_some()
        }

        /// `count` NUL-terminated strings from `offset`.
        pub fn strings(&self, tag: u32) -> Option<Vec<&'a [u8]>> {
            let (kind, offset, count) = self.entry(tag)?;
            if !matches!(kind, STRING | STRING_ARRAY | I18NSTRING) {
                return None;
            }
            let count = if kind == STRING { 1 } else { count };
            let mut rest = self.data.get(offset..)?;
            // Each string takes at least its NUL: a bigger count is corrupt.
            if count > rest.len() {
                return None;
            }
            let mut out = Vec::with_capacity(count);
            for _ in 0..count {
                let end = rest.iter().position(|&b| b == 0)?;
                out.push(rest.get(..end)?);
                rest = rest.get(end + 1..)?;
            }
            Some(out)
        }

        pub fn string(&self, tag: u32) -> Option<String> {
            let s = *self.strings(tag)?.first()?;
            Some(String::from_utf8_lossy(s).into_owned())
        }

        pub fn int32s(&self, tag: u32) -> Option<Vec<u32>> {
            let (kind, offset, count) = self.entry(tag)?;
            if kind != INT32 || count > self.data.len() / 4 {
                return None;
            }
            (0..count)
                .map(|i| be32(self.data, offset.checked_add(i * 4)?))
                .collect()
        }

        /// Name and `[EPOCH:]VERSION-RELEASE`, as `rpm -q` shows them.
        pub fn name_evr(&self) -> Option<(String, String)> {
            let name = self.string(NAME)?;
            let mut version = format!("{}-{}", self.string(VERSION)?, self.string(RELEASE)?);
            if let Some(epoch) = self.int32s(EPOCH).and_then(|e| e.first().copied()) {
                version = format!("{epoch}:{version}");
            }
            Some((name, version))
        }

        /// The dependencies of one kind (`PROVIDENAME`, `PROVIDEFLAGS`,
        /// `PROVIDEVERSION`), index by index; missing flags or versions
        /// are none.
        pub fn deps(&self, names: u32, flags: u32, versions: u32) -> Vec<Dep> {
            let Some(n) = self.strings(names) else {
                return Vec::new();
            };
            let f = self.int32s(flags).unwrap_or_default();
            let v = self.strings(versions).unwrap_or_default();
            n.iter()
                .enumerate()
                .map(|(i, name)| Dep {
                    name: String::from_utf8_lossy(name).into_owned(),
                    flags: f.get(i).copied().unwrap_or(0),
                    evr: v
                        .get(i)
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .unwrap_or_default(),
                })
                .collect()
        }

        /// The package's files (DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]),
        /// as bytes.
        pub fn all_files(&self) -> Vec<Vec<u8>> {
            self.files_where(|_| true)
        }

        /// The package's files whose base name is one of `wanted`.
        pub fn files(&self, wanted: &std::collections::BTreeSet<&[u8]>) -> Vec<PathBuf> {
            self.files_where(|b| wanted.contains(b))
                .into_iter()
                .map(|p| PathBuf::from(std::ffi::OsString::from_vec(p)))
                .collect()
        }

        /// The package's files whose base name `keep` takes, as bytes.
        fn files_where(&self, keep: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
            let (Some(base), Some(dirs), Some(index)) = (
                self.strings(BASENAMES),
                self.strings(DIRNAMES),
                self.int32s(DIRINDEXES),
            ) else {
                return Vec::new();
            };
            base.iter()
                .zip(&index)
                .filter(|(b, _)| keep(b))
                .filter_map(|(b, &i)| {
                    let dir = dirs.get(usize::try_from(i).ok()?)?;
                    let mut p = dir.to_vec();
                    p.extend_from_slice(b);
                    Some(p)
                })
                .collect()
        }

        /// The path prefixes of the package's `%filetriggerin` and
        /// `%transfiletriggerin` whose script or interpreter runs
        /// ldconfig: glibc's rebuilds the cache once any package installs
        /// a file below one.
        pub fn ldconfig_triggers(&self) -> Vec<String> {
            let mut out = Vec::new();
            for (scripts, progs, names, index, flags) in [
                (
                    FILETRIGGERSCRIPTS,
                    FILETRIGGERSCRIPTPROG,
                    FILETRIGGERNAME,
                    FILETRIGGERINDEX,
                    FILETRIGGERFLAGS,
                ),
                (
                    TRANSFILETRIGGERSCRIPTS,
                    TRANSFILETRIGGERSCRIPTPROG,
                    TRANSFILETRIGGERNAME,
                    TRANSFILETRIGGERINDEX,
                    TRANSFILETRIGGERFLAGS,
                ),
            ] {
                let (Some(names), Some(index)) = (self.strings(names), self.int32s(index)) else {
                    continue;
                };
                let scripts = self.strings(scripts).unwrap_or_default();
                let progs = self.strings(progs).unwrap_or_default();
                let flags = self.int32s(flags).unwrap_or_default();
                let ldconfig =
                    |s: Option<&&[u8]>| s.is_some_and(|s| s.windows(8).any(|w| w == b"ldconfig"));
                for (j, name) in names.iter().enumerate() {
                    let Some(i) = index.get(j).and_then(|&i| usize::try_from(i).ok()) else {
                        continue;
                    };
                    let into = flags.get(j).is_none_or(|f| f & TRIGGERIN != 0);
                    if into && (ldconfig(scripts.get(i)) || ldconfig(progs.get(i))) {
                        out.push(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cpio (newc) archive of (name, mode, data) entries and the trailer.
    fn cpio(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, (name, mode, data)) in entries.iter().enumerate() {
            let w = cpio::newc::Builder::new(name)
                .ino(i as u32 + 1)
                .mode(*mode)
                .nlink(1)
                .write(Vec::new(), data.len() as u32);
            let mut w = w;
            w.write_all(data).unwrap();
            out.extend(w.finish().unwrap());
        }
        out.extend(cpio::newc::trailer(Vec::new()).unwrap());
        out
    }

    fn tally(whatif: &mut deb::Unpacked) -> Tally<'_> {
        Tally {
            limits: LIMITS,
            entries: 0,
            bytes: 0,
            whatif,
        }
    }

    fn open_dir(p: &Path) -> OwnedFd {
        rustix::fs::open(p, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap()
    }

    /// Regular files, directories and symlinks land inside `dest`; a `..`
    /// path is left out, and the file below an earlier symlink too.
    #[test]
    fn hostile_payload_entries_are_left_out() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().to_str().unwrap().to_string();
        let payload = cpio(&[
            ("./usr/lib64", S_IFDIR | 0o755, b""),
            ("./usr/lib64/x.so", S_IFREG | 0o644, b"ELF"),
            ("./../escape", S_IFREG | 0o644, b"out"),
            ("./usr/link", S_IFLNK | 0o777, target.as_bytes()),
            ("./usr/link/through", S_IFREG | 0o644, b"out"),
            ("./dev/null", 0o020000 | 0o666, b""),
        ]);
        let dest = tempfile::tempdir().unwrap();
        let mut whatif = deb::Unpacked::default();
        let left = unpack_payload(
            &payload[..],
            &open_dir(dest.path()),
            &mut tally(&mut whatif),
        )
        .unwrap();
        assert_eq!(
            std::fs::read(dest.path().join("usr/lib64/x.so")).unwrap(),
            b"ELF"
        );
        assert_eq!(
            std::fs::read_link(dest.path().join("usr/link")).unwrap(),
            outside.path()
        );
        let paths: Vec<&str> = left.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["./../escape", "./usr/link/through"]);
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(!dest.path().join("dev/null").exists());
    }

    /// A truncated payload, a corrupt header and a name longer than
    /// `PATH_MAX` are errors, not panics or reads of any size.
    #[test]
    fn truncated_and_corrupt_payloads_are_errors() {
        let payload = cpio(&[("./a", S_IFREG | 0o644, &[7; 1000])]);
        let run = |bytes: &[u8]| {
            let dest = tempfile::tempdir().unwrap();
            let mut whatif = deb::Unpacked::default();
            unpack_payload(bytes, &open_dir(dest.path()), &mut tally(&mut whatif))
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        for cut in [0, 50, 120, 600, payload.len() - 10] {
            let e = run(&payload[..cut]);
            assert!(e.contains("truncated"), "{cut}: {e}");
        }
        let e = run(b"070707 not newc at all, but long enough for a header of 110 bytes .................................");
        assert!(e.contains("corrupt"), "{e}");
        // A name of 4 GiB - 1 claimed, and as many bytes supplied lazily.
        let mut header = cpio(&[("./b", S_IFREG, b"")]);
        header[94..102].copy_from_slice(b"ffffffff");
        let endless = header[..110].iter().copied().chain(std::iter::repeat(b'a'));
        let reader = ReadIter(endless);
        let dest = tempfile::tempdir().unwrap();
        let mut whatif = deb::Unpacked::default();
        let e = unpack_payload(reader, &open_dir(dest.path()), &mut tally(&mut whatif))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "not an RPM package soclash reads: payload entry name longer than PATH_MAX"
        );
    }

    struct ReadIter<I>(I);
    impl<I: Iterator<Item = u8>> Read for ReadIter<I> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let mut n = 0;
            for b in buf.iter_mut() {
                match self.0.next() {
                    Some(x) => *b = x,
                    None => break,
                }
                n += 1;
            }
            Ok(n)
        }
    }

    /// The entries and bytes of a payload count against the package's and
    /// the what-if's budgets, named as the rpm's.
    #[test]
    fn payload_budgets_are_the_rpms() {
        let payload = cpio(&[
            ("./a", S_IFREG | 0o644, &[0; 100]),
            ("./b", S_IFREG | 0o644, &[0; 100]),
        ]);
        let run = |limits: Limits| {
            let dest = tempfile::tempdir().unwrap();
            let mut whatif = deb::Unpacked::default();
            let mut t = Tally {
                limits,
                entries: 0,
                bytes: 0,
                whatif: &mut whatif,
            };
            unpack_payload(&payload[..], &open_dir(dest.path()), &mut t)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            run(Limits {
                deb_entries: 1,
                ..LIMITS
            }),
            "budget exceeded: RPM_ENTRIES (1)"
        );
        assert_eq!(
            run(Limits {
                deb_bytes: 150,
                ..LIMITS
            }),
            "budget exceeded: RPM_UNPACKED (150 bytes)"
        );
    }

    /// Hard links: the set's data, written with its last entry, reaches
    /// every name of the set.
    #[test]
    fn hard_links_get_their_data() {
        let mut out = Vec::new();
        for (name, data) in [("./a", &b""[..]), ("./b", &b"shared"[..])] {
            let mut w = cpio::newc::Builder::new(name)
                .ino(7)
                .mode(S_IFREG | 0o644)
                .nlink(2)
                .write(Vec::new(), data.len() as u32);
            w.write_all(data).unwrap();
            out.extend(w.finish().unwrap());
        }
        out.extend(cpio::newc::trailer(Vec::new()).unwrap());
        let dest = tempfile::tempdir().unwrap();
        let mut whatif = deb::Unpacked::default();
        unpack_payload(&out[..], &open_dir(dest.path()), &mut tally(&mut whatif)).unwrap();
        assert_eq!(std::fs::read(dest.path().join("a")).unwrap(), b"shared");
        assert_eq!(std::fs::read(dest.path().join("b")).unwrap(), b"shared");
    }

    /// Dependencies print as rpm prints them.
    #[test]
    fn deps_print_as_rpm_does() {
        let d = |name: &str, flags: u32, evr: &str| Dep {
            name: name.into(),
            flags,
            evr: evr.into(),
        };
        assert_eq!(
            d("libbar.so.1()(64bit)", 0, "").to_string(),
            "libbar.so.1()(64bit)"
        );
        assert_eq!(
            d("baz", sense::GREATER | sense::EQUAL, "2").to_string(),
            "baz >= 2"
        );
        assert_eq!(d("baz", sense::LESS, "1:2-3").to_string(), "baz < 1:2-3");
        assert_eq!(d("baz", sense::EQUAL, "2").to_string(), "baz = 2");
    }
}
