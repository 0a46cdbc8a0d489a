//! What the running processes are and what they map, from `/proc` alone
//! (`scan --live`): the link of each `exe`, `stat`, `status`, `cmdline`,
//! `cgroup`, the `ns/mnt` and `root` links, and `maps`. Nothing is
//! executed, traced or attached to: every fact is a read of a file the
//! kernel writes, each within its budget ([`budget::LIVE_PROC_FILE`],
//! [`budget::LIVE_MAPS_BYTES`]). A process can exit between two reads:
//! then it is skipped, never an error. The directory read is a parameter
//! (`/proc` on a host) so that hostile text can be tried in tests.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use bstr::ByteSlice;

use crate::budget;
use crate::root::FileId;

/// What the kernel appends to a mapped or executed file's path once the
/// file was unlinked (`d_path` of an unhashed dentry).
const DELETED: &[u8] = b" (deleted)";

/// The executable of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exe {
    /// `readlink /proc/PID/exe`: the path (less ` (deleted)`), whether the
    /// file was unlinked since, and the identity of the file the process
    /// runs (`stat` through the link, which reaches it even when deleted).
    Link {
        path: String,
        deleted: bool,
        id: Option<FileId>,
    },
    /// The link could not be read (another user's process, not root): only
    /// the kernel's `comm`, the executable's file name cut to 15 bytes.
    Comm(String),
}

impl Exe {
    /// The executable's file name, as far as it is known (`comm` is cut).
    pub fn file_name(&self) -> &str {
        match self {
            Exe::Link { path, .. } => path.rsplit('/').next().unwrap_or(path),
            Exe::Comm(c) => c,
        }
    }
}

/// One entry of the listing of `/proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub pid: u32,
    pub exe: Exe,
}

/// Every process of `/proc` with its executable, in pid order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub processes: Vec<Listed>,
    /// More processes than [`budget::LIVE_PROCESSES`]: the rest were not
    /// looked at.
    pub truncated: bool,
    /// Processes whose `exe` link could not be read (listed by `comm`).
    pub unreadable_exe: usize,
}

/// Lists the processes of `proc_dir` (kernel threads, which have no
/// executable, left out).
pub fn list(proc_dir: &Path) -> io::Result<Listing> {
    let mut pids: Vec<u32> = fs::read_dir(proc_dir)?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .collect();
    pids.sort_unstable();
    let mut out = Listing::default();
    if pids.len() > budget::LIVE_PROCESSES {
        pids.truncate(budget::LIVE_PROCESSES);
        out.truncated = true;
    }
    for pid in pids {
        let dir = proc_dir.join(pid.to_string());
        match fs::read_link(dir.join("exe")) {
            Ok(link) => {
                let bytes = link.as_os_str().as_encoded_bytes();
                let (path, deleted) = match bytes.strip_suffix(DELETED) {
                    Some(p) => (p, true),
                    None => (bytes, false),
                };
                let id = fs::metadata(dir.join("exe")).ok().map(|m| FileId {
                    dev: m.dev(),
                    ino: m.ino(),
                });
                out.processes.push(Listed {
                    pid,
                    exe: Exe::Link {
                        path: path.to_str_lossy().into_owned(),
                        deleted,
                        id,
                    },
                });
            }
            // A kernel thread has no executable; a process that exited
            // is gone: neither is listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(_) => {
                let Some(stat) = read_small(&dir.join("stat")).ok() else {
                    continue;
                };
                let Some(comm) = parse_stat(&stat).map(|s| s.comm) else {
                    continue;
                };
                out.unreadable_exe += 1;
                out.processes.push(Listed {
                    pid,
                    exe: Exe::Comm(comm),
                });
            }
        }
    }
    Ok(out)
}

/// What `/proc/PID/` says of one process besides its maps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    pub ppid: u32,
    /// The effective user id (`status`' second `Uid:` field), as `ps` shows.
    pub uid: Option<u32>,
    /// `cmdline`'s words (a process title such as `php-fpm: pool www` or
    /// mod_wsgi's `(wsgi:GROUP)` is one word, sometimes with padding).
    pub cmdline: Vec<String>,
    /// Clock ticks after boot at which it started (`stat` field 22).
    pub start_ticks: Option<u64>,
    /// `readlink /proc/PID/ns/mnt`: `mnt:[4026531841]`.
    pub mnt_ns: Option<String>,
    /// `readlink /proc/PID/root`, as this process sees that directory.
    pub root_link: Option<String>,
    /// The identity of the process's root directory.
    pub root_id: Option<FileId>,
    /// The systemd unit whose cgroup holds it (`apache2.service`).
    pub unit: Option<String>,
}

/// Reads the details of `pid`; `None` when it exited meanwhile (its
/// `stat` is gone).
pub fn details(proc_dir: &Path, pid: u32) -> Option<Details> {
    let dir = proc_dir.join(pid.to_string());
    let stat = parse_stat(&read_small(&dir.join("stat")).ok()?)?;
    let uid = read_small(&dir.join("status"))
        .ok()
        .and_then(|s| parse_uid(&s));
    let cmdline = read_small(&dir.join("cmdline"))
        .map(|c| parse_cmdline(&c))
        .unwrap_or_default();
    let link = |name: &str| {
        fs::read_link(dir.join(name))
            .ok()
            .map(|l| l.as_os_str().as_encoded_bytes().to_str_lossy().into_owned())
    };
    Some(Details {
        ppid: stat.ppid,
        uid,
        cmdline,
        start_ticks: stat.start_ticks,
        mnt_ns: link("ns/mnt"),
        root_link: link("root"),
        root_id: fs::metadata(dir.join("root")).ok().map(|m| FileId {
            dev: m.dev(),
            ino: m.ino(),
        }),
        unit: read_small(&dir.join("cgroup"))
            .ok()
            .and_then(|c| parse_cgroup_unit(&c)),
    })
}

/// This process's own mount namespace and root, to tell a container's
/// processes from the host's.
pub fn own(proc_dir: &Path) -> (Option<String>, Option<FileId>) {
    let dir = proc_dir.join("self");
    (
        fs::read_link(dir.join("ns/mnt"))
            .ok()
            .map(|l| l.as_os_str().as_encoded_bytes().to_str_lossy().into_owned()),
        fs::metadata(dir.join("root")).ok().map(|m| FileId {
            dev: m.dev(),
            ino: m.ino(),
        }),
    )
}

/// Seconds since the epoch at which the machine booted (`btime` of
/// `/proc/stat`), to date a process's start.
pub fn boot_time(proc_dir: &Path) -> Option<u64> {
    let text = read_small(&proc_dir.join("stat")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(b"btime "))
        .and_then(|v| v.trim().to_str().ok()?.parse().ok())
}

/// The kernel's clock ticks per second, the unit of `stat`'s times.
pub fn clock_ticks() -> u64 {
    rustix::param::clock_ticks_per_second().max(1)
}

/// Why a process's maps could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapsError {
    /// The process exited meanwhile: skipped quietly.
    Gone,
    /// Not readable (another user's process when not root).
    Unreadable(String),
    /// Larger than [`budget::LIVE_MAPS_BYTES`].
    Budget,
}

/// One line of `/proc/PID/maps` that maps a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub exec: bool,
    /// The device as the kernel writes it (`fe:00`), as `st_dev` encodes it.
    pub dev: u64,
    pub inode: u64,
    /// The path, less ` (deleted)`.
    pub path: String,
    pub deleted: bool,
}

/// A process's maps: the file mappings, and how many lines were not
/// understood.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maps {
    pub mappings: Vec<Mapping>,
    pub bad_lines: usize,
}

/// Reads and parses `/proc/PID/maps` within [`budget::LIVE_MAPS_BYTES`].
pub fn read_maps(proc_dir: &Path, pid: u32) -> Result<Maps, MapsError> {
    let path = proc_dir.join(pid.to_string()).join("maps");
    match read_limited(&path, budget::LIVE_MAPS_BYTES) {
        Ok((_, true)) => Err(MapsError::Budget),
        Ok((text, false)) => Ok(parse_maps(&text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(MapsError::Gone),
        // ESRCH: the process exited between open and read.
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Err(MapsError::Gone),
        Err(e) => Err(MapsError::Unreadable(e.to_string())),
    }
}

/// Parses the text of a maps file: `start-end perms offset major:minor
/// inode path`, the path after padding, possibly with spaces, ending in
/// ` (deleted)` once unlinked. Anonymous and pseudo mappings (`[heap]`,
/// `[vdso]`, no path) are left out; a line that does not parse is counted,
/// never trusted.
pub fn parse_maps(text: &[u8]) -> Maps {
    let mut out = Maps::default();
    for line in text.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Some(Some(m)) => out.mappings.push(m),
            Some(None) => {}
            None => out.bad_lines += 1,
        }
    }
    out
}

/// `None`: not a maps line; `Some(None)`: a mapping of no file.
fn parse_line(line: &[u8]) -> Option<Option<Mapping>> {
    let mut rest = line;
    let mut field = || -> &[u8] {
        let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
        let tail = rest.get(start..).unwrap_or_default();
        let end = tail.find_byte(b' ').unwrap_or(tail.len());
        let (f, r) = tail.split_at(end);
        rest = r;
        f
    };
    let range = field();
    let perms = field();
    let offset = field();
    let dev = field();
    let inode = field();
    let (start, end) = range.split_once_str("-")?;
    let start = hex(start)?;
    let end = hex(end)?;
    hex(offset)?;
    if perms.len() != 4 || start > end {
        return None;
    }
    let exec = perms.get(2) == Some(&b'x');
    let (major, minor) = dev.split_once_str(":")?;
    let (major, minor) = (
        u32::try_from(hex(major)?).ok()?,
        u32::try_from(hex(minor)?).ok()?,
    );
    let inode: u64 = inode.to_str().ok()?.parse().ok()?;
    let path = rest.trim_start_with(|c| c == ' ');
    if !path.starts_with(b"/") || is_pseudo(path) {
        return Some(None);
    }
    let (path, deleted) = match path.strip_suffix(DELETED) {
        Some(p) => (p, true),
        None => (path, false),
    };
    Some(Some(Mapping {
        start,
        end,
        exec,
        dev: rustix::fs::makedev(major, minor),
        inode,
        path: path.to_str_lossy().into_owned(),
        deleted,
    }))
}

/// Paths the kernel shows for memory that is no file of a root: memfd,
/// System V shared memory, `/dev/zero` mappings, anonymous huge pages.
fn is_pseudo(path: &[u8]) -> bool {
    [
        "/memfd:",
        "/SYSV",
        "/dev/",
        "/anon_hugepage",
        "/[aio]",
        "/dmabuf:",
    ]
    .iter()
    .any(|p| path.starts_with(p.as_bytes()))
}

fn hex(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    u64::from_str_radix(b.to_str().ok()?, 16).ok()
}

/// The fields of `stat` the listing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub comm: String,
    pub ppid: u32,
    pub start_ticks: Option<u64>,
}

/// `pid (comm) state ppid … starttime …`: `comm` may hold spaces and
/// parentheses, so the fields are counted after its last `)`.
pub fn parse_stat(text: &[u8]) -> Option<Stat> {
    let open = text.find_byte(b'(')?;
    let close = text.rfind_byte(b')')?;
    let comm = text.get(open + 1..close)?.to_str_lossy().into_owned();
    let fields: Vec<&[u8]> = text
        .get(close + 1..)?
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty())
        .collect();
    let number = |i: usize| -> Option<u64> { fields.get(i)?.trim().to_str().ok()?.parse().ok() };
    Some(Stat {
        comm,
        ppid: u32::try_from(number(1)?).ok()?,
        // Field 22; the fields here start at field 3 (state).
        start_ticks: number(19),
    })
}

/// The effective uid of `status` (`Uid:` real, effective, saved, fs).
pub fn parse_uid(text: &[u8]) -> Option<u32> {
    text.lines()
        .find_map(|l| l.strip_prefix(b"Uid:"))
        .and_then(|v| v.fields().nth(1)?.to_str().ok()?.parse().ok())
}

/// `cmdline`: NUL-separated words; a rewritten title may be one word
/// with spaces and trailing padding.
pub fn parse_cmdline(text: &[u8]) -> Vec<String> {
    text.split(|&b| b == 0)
        .map(|w| w.trim_end().to_str_lossy().into_owned())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The systemd service of a cgroup path (`0::/system.slice/apache2.service`
/// on cgroup v2, a `name=systemd` line on v1).
pub fn parse_cgroup_unit(text: &[u8]) -> Option<String> {
    text.lines().find_map(|l| {
        let path = l.splitn_str(3, ":").nth(2)?;
        path.split(|&b| b == b'/')
            .rev()
            .find(|c| c.ends_with(b".service"))
            .map(|c| c.to_str_lossy().into_owned())
    })
}

/// User names by uid, from the root's `/etc/passwd`.
pub fn users(passwd: &[u8]) -> BTreeMap<u32, String> {
    passwd
        .lines()
        .filter_map(|l| {
            let mut f = l.split(|&b| b == b':');
            let name = f.next()?;
            let uid = f.nth(1)?.to_str().ok()?.parse().ok()?;
            Some((uid, name.to_str_lossy().into_owned()))
        })
        .collect()
}

/// A small `/proc` file within [`budget::LIVE_PROC_FILE`] (cut there).
fn read_small(path: &Path) -> io::Result<Vec<u8>> {
    read_limited(path, budget::LIVE_PROC_FILE).map(|(b, _)| b)
}

/// At most `limit` bytes of `path`, and whether there was more. Opened
/// without following a final symlink and without blocking, so a test's
/// stand-in for `/proc` holding a FIFO cannot hang the read.
fn read_limited(path: &Path, limit: u64) -> io::Result<(Vec<u8>, bool)> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.file_type().is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let mut buf = Vec::new();
    file.take(limit + 1).read_to_end(&mut buf)?;
    let over = buf.len() as u64 > limit;
    buf.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok((buf, over))
}

/// `/proc` on this machine.
pub fn proc_dir() -> PathBuf {
    PathBuf::from("/proc")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &[u8] = b"\
55d0c0a00000-55d0c0a2a000 r--p 00000000 fe:00 1310900                    /usr/sbin/apache2
55d0c0a2a000-55d0c0a90000 r-xp 0002a000 fe:00 1310900                    /usr/sbin/apache2
7f0000000000-7f0000021000 rw-p 00000000 00:00 0 
7f1b2c000000-7f1b2c026000 r-xp 00026000 fe:00 326279                     /usr/lib/x86_64-linux-gnu/libc.so.6
7f1b2d000000-7f1b2d001000 r-xp 00000000 00:05 1234                       /tmp/t/lib/libapr-1.so.0 (deleted)
7f1b2e000000-7f1b2e001000 r--p 00000000 fe:00 99                         /usr/lib/locale/with space/locale-archive
7f1b2f000000-7f1b2f001000 r-xs 00000000 00:01 7                          /memfd:jit (deleted)
7ffd1000000-7ffd1002000 r-xp 00000000 00:00 0                            [vdso]
";

    /// A real maps text: files with their device, inode, exec flag and
    /// deletion; anonymous, pseudo and memfd mappings left out.
    #[test]
    fn maps_of_a_process() {
        let m = parse_maps(MAPS);
        assert_eq!(m.bad_lines, 0);
        let paths: Vec<(&str, bool, bool)> = m
            .mappings
            .iter()
            .map(|m| (m.path.as_str(), m.exec, m.deleted))
            .collect();
        assert_eq!(
            paths,
            [
                ("/usr/sbin/apache2", false, false),
                ("/usr/sbin/apache2", true, false),
                ("/usr/lib/x86_64-linux-gnu/libc.so.6", true, false),
                ("/tmp/t/lib/libapr-1.so.0", true, true),
                ("/usr/lib/locale/with space/locale-archive", false, false),
            ]
        );
        let libc = &m.mappings[2];
        assert_eq!(libc.inode, 326279);
        assert_eq!(libc.dev, rustix::fs::makedev(0xfe, 0));
        assert_eq!(m.mappings[3].dev, rustix::fs::makedev(0, 5));
    }

    /// Hostile text: truncated lines, huge numbers, missing fields, bytes
    /// that are not UTF-8, NULs, a path that is only ` (deleted)`; each
    /// bad line counted, nothing panics, good lines still read.
    #[test]
    fn hostile_maps_text() {
        let text: &[u8] = b"\
garbage
0-1
zz-10 r-xp 0 fe:00 1 /x
10-0 r-xp 0 fe:00 1 /backwards
0-10 r-xp 0 fe:00 18446744073709551616 /inode-too-big
0-10 r-xp 0 fffffffffff:00 1 /dev-too-big
0-10 r-xp 00000000000000000000 fe:00 1 /offset-too-long
0-10 r-x 0 fe:00 1 /short-perms
0-10 r-xp 0 fe00 1 /no-colon
0-10 r-xp 0 fe:00 1 /ok\xff\xfe name
0-10 r-xp 0 fe:00 1 \0/not-absolute
0-10 r-xp 0 fe:00 1  (deleted)
0-10 r-xp 0 fe:00 2 / (deleted)
\n\n\n";
        let m = parse_maps(text);
        assert_eq!(m.bad_lines, 9, "{m:?}");
        let paths: Vec<&str> = m.mappings.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, ["/ok\u{fffd}\u{fffd} name", "/"]);
        assert!(m.mappings[1].deleted);
        // Random bytes never panic.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..2000 {
            let mut line = Vec::new();
            for _ in 0..(seed % 97) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                const ALPHABET: &[u8] = b"0123456789abcdef-: /()\n\0rwxp";
                line.push(ALPHABET[(seed % ALPHABET.len() as u64) as usize]);
            }
            let _ = parse_maps(&line);
        }
    }

    /// `comm` with spaces and parentheses; fields counted after the last
    /// `)`; a cut or garbled stat gives nothing.
    #[test]
    fn stat_status_cmdline_cgroup() {
        let s = parse_stat(
            b"1234 (a) b (c)) S 77 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5555 1000 10",
        )
        .unwrap();
        assert_eq!(s.comm, "a) b (c)");
        assert_eq!((s.ppid, s.start_ticks), (77, Some(5555)));
        assert_eq!(parse_stat(b"1234 (x"), None);
        assert_eq!(parse_stat(b"1 (x) S"), None);
        assert_eq!(parse_stat(b"1 (x) S 2").map(|s| s.start_ticks), Some(None));
        assert_eq!(
            parse_uid(b"Name:\tapache2\nUid:\t0\t33\t33\t33\nGid:\t0\n"),
            Some(33)
        );
        assert_eq!(parse_uid(b"Uid:\t0\n"), None);
        assert_eq!(
            parse_cmdline(b"php-fpm: pool www                \0\0"),
            ["php-fpm: pool www"]
        );
        assert_eq!(
            parse_cmdline(b"/usr/sbin/apache2\0-k\0start\0"),
            ["/usr/sbin/apache2", "-k", "start"]
        );
        assert_eq!(
            parse_cgroup_unit(b"0::/system.slice/apache2.service\n").as_deref(),
            Some("apache2.service")
        );
        assert_eq!(
            parse_cgroup_unit(b"12:pids:/\n1:name=systemd:/system.slice/php8.2-fpm.service\n")
                .as_deref(),
            Some("php8.2-fpm.service")
        );
        assert_eq!(parse_cgroup_unit(b"0::/user.slice/session-1.scope\n"), None);
        let u = users(
            b"root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\nbad\n",
        );
        assert_eq!(u.get(&33).map(String::as_str), Some("www-data"));
        assert_eq!(u.len(), 2);
    }

    /// A stand-in for `/proc`: a process whose files are garbage, one whose
    /// maps is a FIFO (never blocks), one over the maps budget, one gone.
    #[test]
    fn a_hostile_proc_directory() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path();
        for pid in ["10", "11", "12"] {
            fs::create_dir(p.join(pid)).unwrap();
        }
        fs::write(p.join("10/stat"), b"\xff\xff").unwrap();
        fs::write(p.join("10/maps"), b"\0\0\0\n").unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            p.join("11/maps"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let big = vec![b'x'; usize::try_from(budget::LIVE_MAPS_BYTES).unwrap() + 10];
        fs::write(p.join("12/maps"), big).unwrap();
        assert_eq!(details(p, 10), None);
        assert_eq!(read_maps(p, 10).unwrap().bad_lines, 1);
        assert!(matches!(read_maps(p, 11), Err(MapsError::Unreadable(_))));
        assert_eq!(read_maps(p, 12), Err(MapsError::Budget));
        assert_eq!(read_maps(p, 13), Err(MapsError::Gone));
        // No exe links: nothing listed, nothing fails.
        assert_eq!(list(p).unwrap().processes, []);
    }
}
