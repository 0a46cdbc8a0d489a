//! RPM (RHEL, Fedora, SUSE): the SQLite database (`rpmdb.sqlite`), copied
//! into SQLite's memory from the descriptor the root opened, read-only
//! and untrusted; its headers parsed by hand. Berkeley DB and ndb are
//! recognised, not read.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use super::{Answer, Database, Error, Lookups, Package, claim, wanted_names};
use crate::budget;
use crate::root::Root;
use crate::root::rpm::header;

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
/// reads a copy made from the root's descriptor ([`memdb`]), never a
/// path: nothing is opened, locked or written beside the database.
///
/// The database is untrusted, and SQL in a schema runs when it is read:
/// a `Packages` that is a view (a recursive one never ends) or a table
/// that computes its columns is refused, schema code is not trusted with
/// functions that have side effects, and the read is bounded in size,
/// steps and memory ([`memdb::open`]). The error is why, for the note.
fn rpm_sqlite(
    at: &Lookups<'_>,
    files: &BTreeSet<PathBuf>,
    db: &std::fs::File,
) -> Result<BTreeMap<PathBuf, Package>, Error> {
    let size = db.metadata().map_err(Error::Io)?.len();
    if size > budget::RPMDB_BYTES {
        return Err(Error::Bytes(budget::named!(RPMDB_BYTES)));
    }
    let (conn, steps) = memdb::open(db, size)?;
    let why = |e: rusqlite::Error| memdb::why(e, &steps);
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
        let Some((name, version)) = h.name_evr() else {
            continue;
        };
        let package = Package { name, version };
        let listed = h.files(&wanted);
        claim(at, files, listed, &package, &mut out);
    }
    Ok(out)
}

/// A package of the root's rpm database, as the what-if needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstalledRpm {
    pub name: String,
    /// `[epoch:]version-release`, as `rpm -q` shows it.
    pub evr: String,
    pub arch: String,
    pub provides: Vec<crate::root::rpm::Dep>,
    /// Every file it lists (directories too), as rpm recorded them.
    pub files: Vec<String>,
    /// Prefixes of its file triggers that run ldconfig (glibc's).
    pub ldconfig_triggers: Vec<String>,
}

/// Every package of the root's rpm database (read as [`rpm_sqlite`]
/// reads it, within the same budgets), for the `--overlay-rpm` what-if:
/// what replaces what, and what satisfies a `Requires`. The error says
/// why there are none to check against (no database, or one not read).
pub fn installed_rpms(root: &Root) -> Result<Vec<InstalledRpm>, String> {
    let db = match Rpm::detect(root) {
        None => return Err("the root has no rpm database".into()),
        Some(Rpm::Unread(why)) => return Err(format!("the rpm database: {why}")),
        Some(Rpm::Sqlite(db)) => db,
    };
    let not_read = |e: Error| format!("rpmdb.sqlite not read: {e}");
    let size = db.metadata().map_err(|e| not_read(Error::Io(e)))?.len();
    if size > budget::RPMDB_BYTES {
        return Err(not_read(Error::Bytes(budget::named!(RPMDB_BYTES))));
    }
    let (conn, steps) = memdb::open(&db, size).map_err(not_read)?;
    let why = |e: rusqlite::Error| not_read(memdb::why(e, &steps));
    packages_is_a_table(&conn).map_err(|e| match e {
        Error::Sqlite(e) => why(e),
        refused => not_read(refused),
    })?;
    let mut stmt = conn
        .prepare("SELECT blob FROM main.Packages ORDER BY hnum")
        .map_err(why)?;
    let mut rows = stmt.query([]).map_err(why)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(why)? {
        let Some(blob) = row.get_ref(0).ok().and_then(|v| v.as_blob().ok()) else {
            continue;
        };
        let Some(h) = header::Header::parse(blob) else {
            continue;
        };
        let Some((name, evr)) = h.name_evr() else {
            continue;
        };
        // rpm's own key, not a package.
        if name == "gpg-pubkey" {
            continue;
        }
        out.push(InstalledRpm {
            name,
            evr,
            arch: h.string(header::ARCH).unwrap_or_default(),
            provides: h.deps(
                header::PROVIDENAME,
                header::PROVIDEFLAGS,
                header::PROVIDEVERSION,
            ),
            files: h
                .all_files()
                .into_iter()
                .filter_map(|p| String::from_utf8(p).ok())
                .collect(),
            ldconfig_triggers: h.ldconfig_triggers(),
        });
    }
    Ok(out)
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

/// The database as SQLite reads it: a copy in SQLite's own memory
/// (`sqlite3_deserialize`), read from the descriptor the root opened.
/// SQLite is given no file name at all, so it opens nothing: not the
/// database by a path (its unix VFS turns even `/proc/self/fd/N` back
/// into the path text the link shows and opens that, a path of the root
/// resolved again on this machine, where a link or FIFO swapped in
/// meanwhile would be followed), nothing beside it (no journal, `-wal` or
/// `-shm`), and it cannot write: the copy is read-only. The copy costs
/// its size in memory, counted in [`budget::RPMDB_HEAP`] with the rest of
/// SQLite's.
mod memdb {
    use std::fs::File;
    use std::io::{self, Read};
    use std::os::unix::fs::FileExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use rusqlite::config::DbConfig;
    use rusqlite::ffi;
    use rusqlite::{Connection, ErrorCode, MAIN_DB, OpenFlags};

    use super::Error;
    use crate::budget;

    /// Reads the first `size` bytes of `db` into a read-only in-memory
    /// database. Schema code may not call functions with side effects
    /// (`TRUSTED_SCHEMA` off), the defensive mode refuses what could
    /// corrupt or write, and a progress handler interrupts any statement
    /// past [`budget::RPMDB_VM_STEPS`], setting the flag returned.
    /// SQLite's memory, the copy included, is capped at
    /// [`budget::RPMDB_HEAP`] for the whole process, which uses SQLite for
    /// this database only. The error is why, for the note.
    pub fn open(db: &File, size: u64) -> Result<(Connection, Arc<AtomicBool>), Error> {
        let unknown = AtomicBool::new(false);
        let sqlite = |e| why(e, &unknown);
        let mut conn = Connection::open_in_memory_with_flags(
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite)?;
        heap_limited(&conn).map_err(sqlite)?;
        // A sort or temporary index must not need a file either.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(sqlite)?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)
            .map_err(sqlite)?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)
            .map_err(sqlite)?;
        // An empty file is an empty database, as SQLite reads one; SQLite
        // allocates no buffer of 0 bytes to deserialize it into.
        if size > 0 {
            let len =
                usize::try_from(size).map_err(|_| Error::Bytes(budget::named!(RPMDB_BYTES)))?;
            let mut image = Image::new(db);
            conn.deserialize_read_exact(MAIN_DB, &mut image, len, true)
                .map_err(sqlite)?;
            if let Some(e) = image.failed {
                return Err(Error::Io(e));
            }
        }
        let over = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&over);
        let mut calls = 0u64;
        conn.progress_handler(
            PROGRESS_STEPS as std::ffi::c_int,
            Some(move || {
                calls += 1;
                let stop = calls.saturating_mul(PROGRESS_STEPS) > budget::RPMDB_VM_STEPS;
                if stop {
                    flag.store(true, Ordering::Relaxed);
                }
                stop
            }),
        )
        .map_err(sqlite)?;
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

    /// Sets SQLite's hard heap limit (`PRAGMA hard_heap_limit`, which
    /// only ever lowers it) and checks the limit it reports: past it, an
    /// allocation fails (`SQLITE_NOMEM`) and the statement with it, the
    /// copy of the database first of all. Set before the copy is made.
    fn heap_limited(conn: &Connection) -> rusqlite::Result<()> {
        let limit = i64::try_from(budget::RPMDB_HEAP).unwrap_or(i64::MAX);
        let now: i64 =
            conn.pragma_update_and_check(None, "hard_heap_limit", limit, |r| r.get(0))?;
        if now == limit {
            Ok(())
        } else {
            Err(rusqlite::Error::SqliteFailure(
                ffi::Error::new(ffi::SQLITE_MISUSE),
                Some("SQLite's memory could not be limited".into()),
            ))
        }
    }

    /// The database file from its start, read by position through the
    /// root's descriptor (whose own offset is left alone). It never
    /// fails: rusqlite would leak the buffer it reads into, so an error or
    /// a file that shrank meanwhile is kept in `failed` and the rest of
    /// the buffer zeroed.
    pub struct Image<'a> {
        file: &'a File,
        at: u64,
        pub failed: Option<io::Error>,
    }

    impl<'a> Image<'a> {
        pub fn new(file: &'a File) -> Image<'a> {
            Image {
                file,
                at: 0,
                failed: None,
            }
        }
    }

    impl Read for Image<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if buf.is_empty() {
                return Ok(0);
            }
            let n = if self.failed.is_some() {
                0
            } else {
                loop {
                    match self.file.read_at(buf, self.at) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            self.failed = Some(e);
                            break 0;
                        }
                        Ok(0) => {
                            self.failed = Some(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "the file shrank while it was read",
                            ));
                            break 0;
                        }
                        Ok(n) => break n,
                    }
                }
            };
            let n = if n == 0 {
                buf.fill(0);
                buf.len()
            } else {
                n
            };
            if let Some(filled) = buf.get_mut(..n) {
                rollback_journal_mode(filled, self.at);
            }
            self.at += n as u64;
            Ok(n)
        }
    }

    /// Offsets of the header's file format versions (write, read): 1 for
    /// a rollback journal, 2 for WAL.
    const FORMAT_VERSIONS: [u64; 2] = [18, 19];

    /// Says "rollback journal" where the header of `chunk` (at `at` in the
    /// file) says WAL, as rpm keeps its database: an in-memory database
    /// cannot have a WAL, and SQLite refuses to read one whose header
    /// says it has ("unable to open database file"). The WAL beside the
    /// file is not read, as with SQLite's `immutable=1`; rpm folds it
    /// into the database when it closes it. Other values are SQLite's to
    /// refuse.
    fn rollback_journal_mode(chunk: &mut [u8], at: u64) {
        for offset in FORMAT_VERSIONS {
            let Some(i) = offset.checked_sub(at).and_then(|i| usize::try_from(i).ok()) else {
                continue;
            };
            if let Some(b) = chunk.get_mut(i).filter(|b| **b == 2) {
                *b = 1;
            }
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
        let (conn, over) = memdb::open(&file, file.metadata().unwrap().len()).unwrap();
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
        let why = memdb::why(e, &over);
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
        let why = memdb::why(e, &over).to_string();
        assert!(why.contains("budget exceeded: RPMDB_HEAP"), "{why}");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM Packages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        // The limit SQLite reports is the budget (a negative N only asks).
        let limit: i64 = conn
            .query_row("PRAGMA hard_heap_limit = -1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(limit as u64, budget::RPMDB_HEAP);
    }

    /// The copy SQLite reads is the file, byte for byte, but for the
    /// header's WAL mark (offsets 18 and 19), which says "rollback
    /// journal", however the reads fall; a header without it is not
    /// changed.
    #[test]
    fn the_copy_is_the_file_in_rollback_journal_mode() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("wal.sqlite");
        rpm_db(&wal, "p");
        let bytes = std::fs::read(&wal).unwrap();
        assert_eq!(bytes[18..20], [2, 2], "rpm_db makes a WAL database");
        let rollback = dir.path().join("rollback.sqlite");
        rusqlite::Connection::open(&rollback)
            .unwrap()
            .execute_batch("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB)")
            .unwrap();
        for (path, marks) in [(&wal, [2, 2]), (&rollback, [1, 1])] {
            let file = std::fs::File::open(path).unwrap();
            let bytes = std::fs::read(path).unwrap();
            for chunk in [1, 7, 19, 4096, bytes.len()] {
                let mut image = memdb::Image::new(&file);
                let mut copy = vec![0xaa; bytes.len()];
                for part in copy.chunks_mut(chunk) {
                    image.read_exact(part).unwrap();
                }
                assert!(image.failed.is_none());
                assert_eq!(bytes[18..20], marks);
                assert_eq!(copy[18..20], [1, 1], "{chunk}-byte reads");
                assert_eq!(copy[..18], bytes[..18]);
                assert_eq!(copy[20..], bytes[20..], "{chunk}-byte reads");
            }
        }
    }

    /// A file shorter than its size said (it shrank while it was copied)
    /// is not read, and says so; the copy never fails half way, so that
    /// rusqlite has no buffer to leak.
    #[test]
    fn a_file_that_shrank_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rpmdb.sqlite");
        rpm_db(&path, "p");
        let file = std::fs::File::open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        let got = match memdb::open(&file, len + 4096) {
            Ok(_) => panic!("read past the end of the file"),
            Err(e) => e,
        };
        assert!(matches!(got, Error::Io(_)), "{got}");
        assert_eq!(got.to_string(), "the file shrank while it was read");
    }

    /// The largest database copied fits in SQLite's heap budget with room
    /// to read it (here zeros, which SQLite then finds no database), and
    /// one byte more is not copied at all; an empty file is an empty
    /// database. The files are sparse.
    #[test]
    fn rpm_databases_are_copied_up_to_their_byte_budget() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let root = Root::new(r).unwrap();
        let files = paths(&["/usr/lib64/libx.so"]);
        let db = r.join("rpmdb.sqlite");
        for (len, want) in [
            // An empty database, as SQLite reads an empty file.
            (0, "no Packages table".to_string()),
            (budget::RPMDB_BYTES, "file is not a database".to_string()),
            (
                budget::RPMDB_BYTES + 1,
                budget::exceeded("RPMDB_BYTES", budget::bytes(budget::RPMDB_BYTES)),
            ),
        ] {
            let f = std::fs::File::create(&db).unwrap();
            f.set_len(len).unwrap();
            drop(f);
            let file = root.open(Path::new("/rpmdb.sqlite")).unwrap();
            let got = rpm_sqlite(&Lookups::new(&root), &files, &file.file)
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert_eq!(got, want, "{len} bytes");
        }
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
            let (conn, _) = memdb::open(&file, file.metadata().unwrap().len()).unwrap();
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
        assert!(h.name_evr().is_none());
    }
}
