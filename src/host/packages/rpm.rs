//! RPM (RHEL, Fedora, SUSE): the SQLite database (`rpmdb.sqlite`), read
//! through the descriptor the root opened, read-only, immutable and
//! untrusted; its headers parsed by hand. Berkeley DB and ndb are
//! recognised, not read.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use super::{Answer, Database, Error, Lookups, Package, claim, wanted_names};
use crate::budget;
use crate::root::Root;

/// The RPM database, where newer releases keep it and where older ones
/// did (`/var/lib/rpm` is often a link to the first).
const RPM_DIRS: [&str; 2] = ["/usr/lib/sysimage/rpm", "/var/lib/rpm"];

/// The root's RPM database: the SQLite file as the root opened it, or why
/// what is there is not read.
pub(super) enum Rpm {
    Sqlite(File),
    Unread(&'static str),
}

impl Database for Rpm {
    fn name(&self) -> &'static str {
        "rpm"
    }

    /// The first of [`RPM_DIRS`] with a database: `rpmdb.sqlite`, opened
    /// now, or a Berkeley DB or ndb one, which is not read.
    fn detect(root: &Root) -> Option<Rpm> {
        for dir in RPM_DIRS {
            let dir = Path::new(dir);
            let file = match root.open(&dir.join("rpmdb.sqlite")) {
                Ok(file) => file,
                Err(e) if e.is_absent() => {
                    if root.kind(&dir.join("Packages")).is_some() {
                        return Some(Rpm::Unread(
                            "Berkeley DB (Packages), not read: packages unknown",
                        ));
                    }
                    if root.kind(&dir.join("Packages.db")).is_some() {
                        return Some(Rpm::Unread("ndb (Packages.db), not read: packages unknown"));
                    }
                    continue;
                }
                // Unreadable is not absent: the caller must not take the
                // root for one without RPM packages.
                Err(_) => {
                    return Some(Rpm::Unread(
                        "rpmdb.sqlite could not be opened: packages unknown",
                    ));
                }
            };
            return Some(Rpm::Sqlite(file.file));
        }
        None
    }

    /// Only a database read is listed; one that is not, only with why.
    fn owners(&self, at: &Lookups<'_>, files: &BTreeSet<PathBuf>) -> Answer {
        match self {
            Rpm::Unread(why) => Answer::Unread((*why).to_string()),
            Rpm::Sqlite(db) => match rpm_sqlite(at, files, db) {
                Ok(by_file) => Answer::Owners {
                    by_file,
                    notes: Vec::new(),
                },
                Err(why) => {
                    Answer::Unread(format!("rpmdb.sqlite not read: {why}: packages unknown"))
                }
            },
        }
    }
}

/// Reads the `Packages` table of an rpmdb.sqlite the root opened. SQLite
/// is given the root's descriptor through [`rootfd`], not a path: its own
/// VFS would reopen the file by the path text it resolves on this machine
/// (even `/proc/self/fd/N` becomes that text), which a link swapped in
/// meanwhile could point out of the root. Immutable: no lock taken, no
/// journal, `-wal` or `-shm` looked at or written.
///
/// The database is untrusted, and SQL in a schema runs when it is read:
/// a `Packages` that is a view (a recursive one never ends) or a table
/// that computes its columns is refused, schema code is not trusted with
/// functions that have side effects, and the read is bounded in size,
/// steps and memory ([`rootfd::open`]). The error is why, for the note.
fn rpm_sqlite(
    at: &Lookups<'_>,
    files: &BTreeSet<PathBuf>,
    db: &std::fs::File,
) -> Result<BTreeMap<PathBuf, Package>, Error> {
    let size = db.metadata().map_err(Error::Io)?.len();
    if size > budget::RPMDB_BYTES {
        return Err(Error::Bytes(budget::named!(RPMDB_BYTES)));
    }
    let (conn, steps) = rootfd::open(db).map_err(|e| rootfd::why(e, &steps_unknown()))?;
    let why = |e: rusqlite::Error| rootfd::why(e, &steps);
    packages_is_a_table(&conn).map_err(|e| match e {
        Error::Sqlite(e) => why(e),
        refused => refused,
    })?;
    let wanted = wanted_names(files);
    let mut out = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT blob FROM main.Packages ORDER BY hnum")
        .map_err(why)?;
    let mut rows = stmt.query([]).map_err(why)?;
    while let Some(row) = rows.next().map_err(why)? {
        // A corrupt header, or a row that holds no blob, is one package
        // less, not a failed audit.
        let Some(blob) = row.get_ref(0).ok().and_then(|v| v.as_blob().ok()) else {
            continue;
        };
        let Some(h) = header::Header::parse(blob) else {
            continue;
        };
        let Some(package) = h.package() else { continue };
        let listed = h.files(&wanted);
        claim(at, files, listed, &package, &mut out);
    }
    Ok(out)
}

/// No progress handler ran yet.
fn steps_unknown() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    std::sync::Arc::default()
}

/// rpm's `Packages` is a plain table (`hnum INTEGER PRIMARY KEY
/// AUTOINCREMENT, blob BLOB NOT NULL`): a view runs the attacker's query
/// (a recursive one forever), a virtual table a module's code, and a
/// generated column an expression per row.
fn packages_is_a_table(conn: &rusqlite::Connection) -> Result<(), Error> {
    let found: Vec<(String, String)> = conn
        .prepare(
            "SELECT type, coalesce(sql, '') FROM main.sqlite_schema \
             WHERE name = 'Packages' COLLATE NOCASE",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let [(kind, sql)] = found.as_slice() else {
        return Err(Error::NoPackages);
    };
    if kind != "table" {
        return Err(Error::NotATable(kind.clone()));
    }
    let words: Vec<String> = sql
        .split_whitespace()
        .take(2)
        .map(str::to_ascii_uppercase)
        .collect();
    if words.get(1).is_some_and(|w| w == "VIRTUAL") {
        return Err(Error::VirtualTable);
    }
    // `hidden` is 2 or 3 for a generated column (1 for a virtual table's).
    let computed: i64 = conn.query_row(
        "SELECT count(*) FROM pragma_table_xinfo('Packages', 'main') WHERE hidden != 0",
        [],
        |r| r.get(0),
    )?;
    if computed > 0 {
        return Err(Error::GeneratedColumns);
    }
    Ok(())
}

/// A read-only SQLite VFS over a descriptor already open, so that what
/// SQLite reads is the file `Root` opened confined to the root, and
/// nothing can be created, written, locked or deleted beside it: only the
/// main database is opened (journals and temporary files are refused),
/// every other file is reported absent, writes fail, and the device is
/// declared immutable.
mod rootfd {
    use std::ffi::{CStr, c_char, c_int, c_void};
    use std::fs::File;
    use std::os::fd::{AsRawFd, BorrowedFd};
    use std::os::unix::fs::FileExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, OnceLock};

    use rusqlite::config::DbConfig;
    use rusqlite::ffi;
    use rusqlite::{Connection, ErrorCode, OpenFlags};

    use super::Error;
    use crate::budget;

    const VFS: &CStr = c"soclash-rootfd";
    /// Database names are this prefix and the descriptor's number.
    const PREFIX: &[u8] = b"soclash-rootfd-";

    /// The file SQLite allocates `szOsFile` bytes for: its base first.
    #[repr(C)]
    struct FdFile {
        base: ffi::sqlite3_file,
        file: File,
    }

    /// Opens `db` read-only through the VFS; the descriptor is duplicated,
    /// so the connection does not borrow `db`. Schema code may not call
    /// functions with side effects (`TRUSTED_SCHEMA` off), the defensive
    /// mode refuses what could corrupt or write, and a progress handler
    /// interrupts any statement past [`budget::RPMDB_VM_STEPS`], setting
    /// the flag returned. SQLite's memory is capped at
    /// [`budget::RPMDB_HEAP`] for the whole process, which uses SQLite
    /// for this database only.
    pub fn open(db: &File) -> rusqlite::Result<(Connection, Arc<AtomicBool>)> {
        if !heap_limited() {
            return Err(rusqlite::Error::SqliteFailure(
                ffi::Error::new(ffi::SQLITE_MISUSE),
                Some("SQLite's memory could not be limited".into()),
            ));
        }
        if !registered() {
            return Err(rusqlite::Error::SqliteFailure(
                ffi::Error::new(ffi::SQLITE_CANTOPEN),
                Some("the descriptor VFS could not be registered".into()),
            ));
        }
        let name = format!(
            "file:{}{}?immutable=1",
            String::from_utf8_lossy(PREFIX),
            db.as_raw_fd()
        );
        let conn = Connection::open_with_flags_and_vfs(
            name,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            VFS,
        )?;
        // A sort or temporary index must not need a file the VFS refuses.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
        let over = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&over);
        let mut calls = 0u64;
        conn.progress_handler(
            PROGRESS_STEPS as c_int,
            Some(move || {
                calls += 1;
                let stop = calls.saturating_mul(PROGRESS_STEPS) > budget::RPMDB_VM_STEPS;
                if stop {
                    flag.store(true, Ordering::Relaxed);
                }
                stop
            }),
        )?;
        Ok((conn, over))
    }

    /// Steps between two calls of the progress handler.
    const PROGRESS_STEPS: u64 = 10_000;

    /// Why reading failed, for the note: the budget that stopped it, or
    /// SQLite's words.
    pub fn why(e: rusqlite::Error, steps_over: &AtomicBool) -> Error {
        let code = e.sqlite_error_code();
        if steps_over.load(Ordering::Relaxed) || code == Some(ErrorCode::OperationInterrupted) {
            Error::Steps
        } else if code == Some(ErrorCode::OutOfMemory) {
            Error::Bytes(budget::named!(RPMDB_HEAP))
        } else {
            Error::Sqlite(e)
        }
    }

    /// Sets SQLite's hard heap limit once: past it, an allocation fails
    /// (`SQLITE_NOMEM`) and the statement with it.
    fn heap_limited() -> bool {
        static DONE: OnceLock<bool> = OnceLock::new();
        *DONE.get_or_init(|| {
            let Ok(limit) = ffi::sqlite3_int64::try_from(budget::RPMDB_HEAP) else {
                return false;
            };
            // SAFETY: initialises SQLite if needed and sets a global
            // limit; no pointers involved.
            unsafe { ffi::sqlite3_hard_heap_limit64(limit) };
            // SAFETY: a negative argument only queries the limit.
            unsafe { ffi::sqlite3_hard_heap_limit64(-1) == limit }
        })
    }

    fn registered() -> bool {
        static DONE: OnceLock<bool> = OnceLock::new();
        *DONE.get_or_init(|| {
            // SAFETY: sqlite3_vfs_find initialises SQLite and returns its
            // default VFS (or null), which lives as long as the process.
            let default = unsafe { ffi::sqlite3_vfs_find(std::ptr::null()) };
            if default.is_null() {
                return false;
            }
            // Randomness, time, sleep and errors are the default VFS's;
            // everything that names or opens a file is ours.
            // SAFETY: non-null pointer to an initialised sqlite3_vfs.
            let mut vfs = unsafe { *default };
            vfs.iVersion = 2;
            vfs.szOsFile = std::mem::size_of::<FdFile>() as c_int;
            vfs.mxPathname = 512;
            vfs.pNext = std::ptr::null_mut();
            vfs.zName = VFS.as_ptr();
            vfs.pAppData = std::ptr::null_mut();
            vfs.xOpen = Some(x_open);
            vfs.xDelete = Some(x_delete);
            vfs.xAccess = Some(x_access);
            vfs.xFullPathname = Some(x_full_pathname);
            vfs.xSetSystemCall = None;
            vfs.xGetSystemCall = None;
            vfs.xNextSystemCall = None;
            // SQLite keeps the pointer for the life of the process.
            let vfs = Box::leak(Box::new(vfs));
            // SAFETY: a complete sqlite3_vfs that is never freed.
            unsafe { ffi::sqlite3_vfs_register(vfs, 0) == ffi::SQLITE_OK }
        })
    }

    static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
        iVersion: 1,
        xClose: Some(x_close),
        xRead: Some(x_read),
        xWrite: Some(x_write),
        xTruncate: Some(x_truncate),
        xSync: Some(x_sync),
        xFileSize: Some(x_file_size),
        xLock: Some(x_lock),
        xUnlock: Some(x_lock),
        xCheckReservedLock: Some(x_check_reserved_lock),
        xFileControl: Some(x_file_control),
        xSectorSize: Some(x_sector_size),
        xDeviceCharacteristics: Some(x_device_characteristics),
        xShmMap: None,
        xShmLock: None,
        xShmBarrier: None,
        xShmUnmap: None,
        xFetch: None,
        xUnfetch: None,
    };

    /// The descriptor number a database name carries.
    fn descriptor(name: &[u8]) -> Option<c_int> {
        let digits = name.strip_prefix(PREFIX)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    }

    unsafe extern "C" fn x_open(
        _vfs: *mut ffi::sqlite3_vfs,
        name: ffi::sqlite3_filename,
        file: *mut ffi::sqlite3_file,
        flags: c_int,
        out_flags: *mut c_int,
    ) -> c_int {
        // SAFETY: SQLite passes szOsFile writable bytes; a null pMethods
        // tells it there is nothing to close when the open fails.
        unsafe { (*file).pMethods = std::ptr::null() };
        let writable = ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_CREATE;
        if name.is_null() || flags & ffi::SQLITE_OPEN_MAIN_DB == 0 || flags & writable != 0 {
            return ffi::SQLITE_CANTOPEN;
        }
        // SAFETY: a non-null name from SQLite is NUL-terminated.
        let name = unsafe { CStr::from_ptr(name) }.to_bytes();
        let Some(fd) = descriptor(name) else {
            return ffi::SQLITE_CANTOPEN;
        };
        // SAFETY: the number is the descriptor `open` was given, which the
        // caller holds open across the open call; it is only duplicated.
        let Ok(dup) = unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned() else {
            return ffi::SQLITE_CANTOPEN;
        };
        let f = file.cast::<FdFile>();
        // SAFETY: szOsFile is FdFile's size; `file` is uninitialised, so
        // written without dropping what is there.
        unsafe {
            std::ptr::addr_of_mut!((*f).file).write(File::from(dup));
            (*f).base.pMethods = &METHODS;
        }
        if !out_flags.is_null() {
            // SAFETY: non-null out pointer from SQLite.
            unsafe { *out_flags = ffi::SQLITE_OPEN_READONLY | ffi::SQLITE_OPEN_MAIN_DB };
        }
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn x_delete(
        _vfs: *mut ffi::sqlite3_vfs,
        _name: *const c_char,
        _sync_dir: c_int,
    ) -> c_int {
        ffi::SQLITE_IOERR_DELETE
    }

    /// No journal, `-wal` or `-shm` exists as far as SQLite can tell.
    unsafe extern "C" fn x_access(
        _vfs: *mut ffi::sqlite3_vfs,
        _name: *const c_char,
        _flags: c_int,
        out: *mut c_int,
    ) -> c_int {
        if !out.is_null() {
            // SAFETY: non-null out pointer from SQLite.
            unsafe { *out = 0 };
        }
        ffi::SQLITE_OK
    }

    /// Names are not paths: kept as they are, never resolved.
    unsafe extern "C" fn x_full_pathname(
        _vfs: *mut ffi::sqlite3_vfs,
        name: *const c_char,
        n_out: c_int,
        out: *mut c_char,
    ) -> c_int {
        if name.is_null() || out.is_null() {
            return ffi::SQLITE_CANTOPEN;
        }
        // SAFETY: a non-null name from SQLite is NUL-terminated.
        let name = unsafe { CStr::from_ptr(name) }.to_bytes_with_nul();
        if usize::try_from(n_out).map_or(true, |n| name.len() > n) {
            return ffi::SQLITE_CANTOPEN;
        }
        // SAFETY: `out` has n_out bytes, at least name.len().
        unsafe { std::ptr::copy_nonoverlapping(name.as_ptr().cast(), out, name.len()) };
        ffi::SQLITE_OK
    }

    /// The file behind an open `sqlite3_file` of this VFS.
    ///
    /// # Safety
    /// `file` was opened by `x_open` and not yet closed.
    unsafe fn inner<'a>(file: *mut ffi::sqlite3_file) -> &'a File {
        // SAFETY: per the contract, an initialised FdFile.
        unsafe { &(*file.cast::<FdFile>()).file }
    }

    unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
        let f = file.cast::<FdFile>();
        // SAFETY: opened by x_open (SQLite closes only what opened); the
        // File is dropped once, and pMethods cleared so it is not again.
        unsafe {
            drop(std::ptr::addr_of_mut!((*f).file).read());
            (*f).base.pMethods = std::ptr::null();
        }
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn x_read(
        file: *mut ffi::sqlite3_file,
        buf: *mut c_void,
        amount: c_int,
        offset: ffi::sqlite3_int64,
    ) -> c_int {
        let (Ok(len), Ok(mut at)) = (usize::try_from(amount), u64::try_from(offset)) else {
            return ffi::SQLITE_IOERR_READ;
        };
        // SAFETY: SQLite passes `amount` writable bytes.
        let buf = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
        // SAFETY: called on a file x_open opened.
        let f = unsafe { inner(file) };
        let mut done = 0;
        while done < len {
            match f.read_at(&mut buf[done..], at) {
                Ok(0) => break,
                Ok(n) => {
                    done += n;
                    at += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return ffi::SQLITE_IOERR_READ,
            }
        }
        if done < len {
            // SQLite requires the unread rest zeroed on a short read.
            buf[done..].fill(0);
            return ffi::SQLITE_IOERR_SHORT_READ;
        }
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn x_write(
        _file: *mut ffi::sqlite3_file,
        _buf: *const c_void,
        _amount: c_int,
        _offset: ffi::sqlite3_int64,
    ) -> c_int {
        ffi::SQLITE_READONLY
    }

    unsafe extern "C" fn x_truncate(
        _file: *mut ffi::sqlite3_file,
        _size: ffi::sqlite3_int64,
    ) -> c_int {
        ffi::SQLITE_READONLY
    }

    unsafe extern "C" fn x_sync(_file: *mut ffi::sqlite3_file, _flags: c_int) -> c_int {
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn x_file_size(
        file: *mut ffi::sqlite3_file,
        size: *mut ffi::sqlite3_int64,
    ) -> c_int {
        // SAFETY: called on a file x_open opened.
        let f = unsafe { inner(file) };
        let Ok(len) = f.metadata().map(|m| m.len()) else {
            return ffi::SQLITE_IOERR_FSTAT;
        };
        let Ok(len) = ffi::sqlite3_int64::try_from(len) else {
            return ffi::SQLITE_IOERR_FSTAT;
        };
        // SAFETY: SQLite passes a valid out pointer.
        unsafe { *size = len };
        ffi::SQLITE_OK
    }

    /// Immutable: there is nothing to lock against.
    unsafe extern "C" fn x_lock(_file: *mut ffi::sqlite3_file, _level: c_int) -> c_int {
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn x_check_reserved_lock(
        _file: *mut ffi::sqlite3_file,
        out: *mut c_int,
    ) -> c_int {
        if !out.is_null() {
            // SAFETY: non-null out pointer from SQLite.
            unsafe { *out = 0 };
        }
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn x_file_control(
        _file: *mut ffi::sqlite3_file,
        _op: c_int,
        _arg: *mut c_void,
    ) -> c_int {
        ffi::SQLITE_NOTFOUND
    }

    unsafe extern "C" fn x_sector_size(_file: *mut ffi::sqlite3_file) -> c_int {
        4096
    }

    unsafe extern "C" fn x_device_characteristics(_file: *mut ffi::sqlite3_file) -> c_int {
        ffi::SQLITE_IOCAP_IMMUTABLE
    }
}

/// The RPM header format (rpm's `headerImport`): entry count and data
/// length (big-endian u32), then 16-byte entries (tag, type, offset,
/// count), then the data they point into. The database keeps it without
/// the lead and magic of a package file. Every offset and count is checked
/// against the blob.
mod header {
    use std::os::unix::ffi::OsStringExt;
    use std::path::PathBuf;

    use super::Package;

    const NAME: u32 = 1000;
    const VERSION: u32 = 1001;
    const RELEASE: u32 = 1002;
    const EPOCH: u32 = 1003;
    const DIRINDEXES: u32 = 1116;
    const BASENAMES: u32 = 1117;
    const DIRNAMES: u32 = 1118;

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

        /// `count` NUL-terminated strings from `offset`.
        fn strings(&self, tag: u32) -> Option<Vec<&'a [u8]>> {
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

        fn string(&self, tag: u32) -> Option<String> {
            let s = *self.strings(tag)?.first()?;
            Some(String::from_utf8_lossy(s).into_owned())
        }

        fn int32s(&self, tag: u32) -> Option<Vec<u32>> {
            let (kind, offset, count) = self.entry(tag)?;
            if kind != INT32 || count > self.data.len() / 4 {
                return None;
            }
            (0..count)
                .map(|i| be32(self.data, offset.checked_add(i * 4)?))
                .collect()
        }

        /// Name and `[EPOCH:]VERSION-RELEASE`, as `rpm -q` shows them.
        pub fn package(&self) -> Option<Package> {
            let name = self.string(NAME)?;
            let mut version = format!("{}-{}", self.string(VERSION)?, self.string(RELEASE)?);
            if let Some(epoch) = self.int32s(EPOCH).and_then(|e| e.first().copied()) {
                version = format!("{epoch}:{version}");
            }
            Some(Package { name, version })
        }

        /// The package's files (DIRNAMES[DIRINDEXES[i]] + BASENAMES[i])
        /// whose base name is one of `wanted`.
        pub fn files(&self, wanted: &std::collections::BTreeSet<&[u8]>) -> Vec<PathBuf> {
            let (Some(base), Some(dirs), Some(index)) = (
                self.strings(BASENAMES),
                self.strings(DIRNAMES),
                self.int32s(DIRINDEXES),
            ) else {
                return Vec::new();
            };
            base.iter()
                .zip(&index)
                .filter(|(b, _)| wanted.contains(*b))
                .filter_map(|(b, &i)| {
                    let dir = dirs.get(usize::try_from(i).ok()?)?;
                    let mut p = dir.to_vec();
                    p.extend_from_slice(b);
                    Some(PathBuf::from(std::ffi::OsString::from_vec(p)))
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::packages::owners;
    use crate::host::packages::tests::{found, paths, write};
    use crate::root::Root;

    /// An installed header: entries (tag, type, offset, count) and data.
    fn rpm_header(name: &str, dir: &str, base: &str) -> Vec<u8> {
        let mut entries: Vec<[u32; 4]> = Vec::new();
        let mut data = Vec::new();
        let mut add = |tag: u32, kind: u32, count: u32, bytes: &[u8]| {
            entries.push([tag, kind, data.len() as u32, count]);
            data.extend_from_slice(bytes);
        };
        add(1000, 6, 1, format!("{name}\0").as_bytes());
        add(1001, 6, 1, b"1.0\0");
        add(1002, 6, 1, b"1.el9\0");
        add(1116, 4, 1, &0u32.to_be_bytes());
        add(1117, 8, 1, format!("{base}\0").as_bytes());
        add(1118, 8, 1, format!("{dir}\0").as_bytes());
        let mut blob = (entries.len() as u32).to_be_bytes().to_vec();
        blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
        for e in entries {
            for v in e {
                blob.extend_from_slice(&v.to_be_bytes());
            }
        }
        blob.extend_from_slice(&data);
        blob
    }

    /// rpm's schema, in WAL mode as rpm keeps it, with one package.
    fn rpm_db(path: &Path, name: &str) {
        let c = rusqlite::Connection::open(path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
        )
        .unwrap();
        c.execute(
            "INSERT INTO Packages (blob) VALUES (?1)",
            [rpm_header(name, "/usr/lib64/", "libx.so")],
        )
        .unwrap();
    }

    /// SQLite reads the file the root opened, not what its path names by
    /// then (here another database renamed over it), and leaves nothing
    /// beside it: no journal, `-wal` or `-shm`.
    #[test]
    fn rpm_database_is_read_through_the_roots_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        write(r, "/usr/lib64/libx.so", b"x");
        std::fs::create_dir_all(r.join("var/lib/rpm")).unwrap();
        let db = r.join("var/lib/rpm/rpmdb.sqlite");
        rpm_db(&db, "opened");
        rpm_db(&r.join("other.sqlite"), "renamed-over");
        let root = Root::new(r).unwrap();
        let file = root.open(Path::new("/var/lib/rpm/rpmdb.sqlite")).unwrap();
        std::fs::rename(r.join("other.sqlite"), &db).unwrap();
        let files = paths(&["/usr/lib64/libx.so"]);
        let got = rpm_sqlite(&Lookups::new(&root), &files, &file.file).unwrap();
        assert_eq!(
            got.get(Path::new("/usr/lib64/libx.so"))
                .map(|p| p.name.as_str()),
            Some("opened")
        );
        let names: Vec<_> = std::fs::read_dir(r.join("var/lib/rpm"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["rpmdb.sqlite"]);
        // And through `owners`, the database now at the path.
        let found_ = owners(&root, &files);
        assert_eq!(found_.databases, ["rpm"]);
        assert_eq!(
            found(&found_, "/usr/lib64/libx.so"),
            Some(("renamed-over", "1.0-1.el9"))
        );
    }

    /// An open rpm database of one package, as `rpm_sqlite` opens it.
    fn opened_rpm_db() -> (
        tempfile::TempDir,
        rusqlite::Connection,
        std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rpmdb.sqlite");
        rpm_db(&path, "p");
        let file = std::fs::File::open(&path).unwrap();
        let (conn, over) = rootfd::open(&file).unwrap();
        (dir, conn, over)
    }

    /// A statement that runs past the step budget is interrupted, and the
    /// note names the budget.
    #[test]
    fn rpm_reads_stop_at_the_step_budget() {
        let (_dir, conn, over) = opened_rpm_db();
        let e = conn
            .query_row(
                "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) \
                 SELECT count(*) FROM r",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_err();
        let why = rootfd::why(e, &over);
        assert!(matches!(why, Error::Steps), "{why}");
        assert!(
            why.to_string().contains("budget exceeded: RPMDB_VM_STEPS"),
            "{why}"
        );
    }

    /// SQLite's allocations stop at the heap budget, and the note names
    /// it; the connection stays usable.
    #[test]
    fn rpm_reads_stop_at_the_heap_budget() {
        let (_dir, conn, over) = opened_rpm_db();
        let e = conn
            .query_row(
                "SELECT length(randomblob(?1))",
                [budget::RPMDB_HEAP as i64 + 1],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_err();
        let why = rootfd::why(e, &over).to_string();
        assert!(why.contains("budget exceeded: RPMDB_HEAP"), "{why}");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM Packages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    /// A `Packages` that is not rpm's plain table is refused before any
    /// of it is read: a view, a virtual table, generated columns; a
    /// database with none says so.
    #[test]
    fn packages_must_be_a_plain_table() {
        for (schema, want) in [
            (
                "CREATE VIEW Packages AS SELECT 1 AS hnum, x'' AS blob",
                "Packages is a view, not a table",
            ),
            (
                "CREATE VIRTUAL TABLE Packages USING fts5(hnum, blob)",
                "Packages is a virtual table",
            ),
            (
                "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob AS (x''))",
                "Packages has generated columns",
            ),
            ("CREATE TABLE Other (x)", "no Packages table"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("rpmdb.sqlite");
            rusqlite::Connection::open(&path)
                .unwrap()
                .execute_batch(schema)
                .unwrap();
            let file = std::fs::File::open(&path).unwrap();
            let (conn, _) = rootfd::open(&file).unwrap();
            let got = match packages_is_a_table(&conn) {
                Err(Error::Sqlite(e)) => panic!("{schema}: {e}"),
                Err(refused) => refused.to_string(),
                Ok(()) => panic!("{schema}: accepted"),
            };
            assert_eq!(got, want, "{schema}");
        }
        let (_dir, conn, _) = opened_rpm_db();
        assert!(packages_is_a_table(&conn).is_ok());
    }

    /// Corrupt RPM headers: counts and offsets past the blob are refused,
    /// never trusted for an allocation or a read.
    #[test]
    fn corrupt_rpm_headers_are_refused() {
        assert!(header::Header::parse(b"").is_none());
        assert!(header::Header::parse(&[0xff; 8]).is_none());
        // One entry claiming a string array of 2^32-1 strings at offset 0.
        let mut blob = vec![0, 0, 0, 1, 0, 0, 0, 4];
        blob.extend_from_slice(&[
            0, 0, 0x04, 0x5d, 0, 0, 0, 8, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
        ]);
        blob.extend_from_slice(b"a\0b\0");
        let h = header::Header::parse(&blob).unwrap();
        assert!(h.files(&BTreeSet::from([&b"a"[..]])).is_empty());
        assert!(h.package().is_none());
    }
}
