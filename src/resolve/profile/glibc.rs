//! glibc's answers on x86-64 (rules L5, L9, L10, C2, §10): what differs
//! between the distributions' builds (the directory layout: Debian's
//! multiarch or upstream's `lib64`), between the ABIs of a multilib host
//! (i386 and x32 beside x86-64, each a build of its own), and between
//! releases (glibc-hwcaps since 2.33, the legacy subdirectories until
//! 2.36, legacy cache entries until 2.39), with the CPU as glibc's
//! `cpu_features` names it.
//!
//! The cache itself and `ldconfig` are [`crate::resolve::cache`] and
//! [`crate::resolve::ldconfig`], glibc's alone; this decides that they
//! apply and with what.

use std::path::{Path, PathBuf};

use super::{Abi, CachePolicy, Libc, Profile};
use crate::elf::{self, Detail};
use crate::resolve::Cpu;
use crate::resolve::cache::{self, LookupContext};
use crate::resolve::ldconfig::{self, Emulated};
use crate::root::Root;

/// `Libc::name` of glibc, which reports know as `host.glibc`.
pub const NAME: &str = "glibc";

/// `LD_SO_CACHE`.
const LD_SO_CACHE: &str = "/etc/ld.so.cache";

/// Where a distribution's x86-64 glibc build keeps the libraries (rules
/// L9, L10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Debian and Ubuntu: the multiarch directories, then `/lib` and
    /// `/usr/lib`.
    Multiarch,
    /// Upstream's `slibdir`/`libdir`, as RHEL, Fedora and SUSE build it.
    Lib64,
}

/// What one build of glibc was configured with.
#[derive(Debug)]
struct Build {
    abi: Abi,
    /// `SYSTEM_DIRS`, in order (rule L10).
    dirs: &'static [&'static str],
    /// `DL_DST_LIB` (rule L9).
    dst_lib: &'static str,
    /// Its `libc.so.6`, whose version definitions give the release.
    libc: &'static str,
    /// The compiled-in `RTLD`.
    rtld: &'static str,
}

/// Debian's x86-64 build.
const MULTIARCH: Build = Build {
    abi: Abi::X86_64,
    dirs: &[
        "/lib/x86_64-linux-gnu",
        "/usr/lib/x86_64-linux-gnu",
        "/lib",
        "/usr/lib",
    ],
    dst_lib: "lib/x86_64-linux-gnu",
    libc: "/lib/x86_64-linux-gnu/libc.so.6",
    rtld: "/lib64/ld-linux-x86-64.so.2",
};

/// Upstream's x86-64 build.
const LIB64: Build = Build {
    abi: Abi::X86_64,
    dirs: &["/lib64", "/usr/lib64"],
    dst_lib: "lib64",
    libc: "/lib64/libc.so.6",
    rtld: "/lib64/ld-linux-x86-64.so.2",
};

/// Debian's biarch i386 build (`libc6-i386`, gcc-multilib's): what
/// `/lib/ld-linux.so.2 --help` lists as its system search path.
const LIB32: Build = Build {
    abi: Abi::I386,
    dirs: &["/lib32", "/usr/lib32", "/lib", "/usr/lib"],
    dst_lib: "lib32",
    libc: "/lib32/libc.so.6",
    rtld: "/lib/ld-linux.so.2",
};

/// Debian's i386 architecture (`libc6:i386`) installed as a foreign
/// multiarch one.
const I386_MULTIARCH: Build = Build {
    abi: Abi::I386,
    dirs: &[
        "/lib/i386-linux-gnu",
        "/usr/lib/i386-linux-gnu",
        "/lib",
        "/usr/lib",
    ],
    dst_lib: "lib/i386-linux-gnu",
    libc: "/lib/i386-linux-gnu/libc.so.6",
    rtld: "/lib/ld-linux.so.2",
};

/// Upstream's i386 build beside a `lib64` one (RHEL's `glibc.i686`).
const I386_LIB: Build = Build {
    abi: Abi::I386,
    dirs: &["/lib", "/usr/lib"],
    dst_lib: "lib",
    libc: "/lib/libc.so.6",
    rtld: "/lib/ld-linux.so.2",
};

/// Debian's biarch x32 build (`libc6-x32`).
const LIBX32: Build = Build {
    abi: Abi::X32,
    dirs: &["/libx32", "/usr/libx32", "/lib", "/usr/lib"],
    dst_lib: "libx32",
    libc: "/libx32/libc.so.6",
    rtld: "/libx32/ld-linux-x32.so.2",
};

impl Layout {
    fn build(self) -> &'static Build {
        match self {
            Layout::Multiarch => &MULTIARCH,
            Layout::Lib64 => &LIB64,
        }
    }
}

/// One glibc build: its configuration and its release.
#[derive(Debug, Clone)]
pub struct Glibc {
    build: &'static Build,
    /// glibc 2.x minor version, when known.
    minor: Option<u32>,
    trusted_dirs: Vec<PathBuf>,
    /// The root's builds for its other ABIs.
    multilib: Vec<Profile>,
}

impl Glibc {
    /// The x86-64 build of `layout`.
    pub fn new(layout: Layout, minor: Option<u32>) -> Glibc {
        Glibc::of(layout.build(), minor)
    }

    fn of(build: &'static Build, minor: Option<u32>) -> Glibc {
        Glibc {
            build,
            minor,
            trusted_dirs: build.dirs.iter().map(PathBuf::from).collect(),
            multilib: Vec::new(),
        }
    }

    /// What a root without a C library at a known place gets: upstream's
    /// layout, release unknown (so taken as 2.36 where a rule needs one).
    pub fn fallback() -> Glibc {
        Glibc::new(Layout::Lib64, None)
    }

    /// The i386 build of Debian's biarch packages (tests).
    pub fn lib32(minor: Option<u32>) -> Glibc {
        Glibc::of(&LIB32, minor)
    }

    /// glibc ≤ 2.36 still searches the legacy `tls`/platform/hwcap
    /// subdirectories (removed in 2.37, rule L5).
    pub fn searches_legacy_subdirs(&self) -> bool {
        self.minor.is_none_or(|m| m <= 36)
    }

    /// The root's i386 and x32 builds: the i386 one is the build whose
    /// directory `/lib/ld-linux.so.2` (every i386 build's `RTLD`) leads
    /// to, else the first whose `libc.so.6` is there; the x32 one is
    /// there when its loader is.
    fn detect_multilib(root: &Root) -> Vec<Profile> {
        let has = |p: &str| root.kind(Path::new(p)).is_some();
        let mut out = Vec::new();
        let i386 = [&LIB32, &I386_MULTIARCH, &I386_LIB];
        let by_rtld = root
            .resolve(Path::new(LIB32.rtld))
            .ok()
            .and_then(|(canonical, _)| {
                let dir = canonical.parent()?.to_path_buf();
                i386.into_iter().find(|b| {
                    b.dirs
                        .iter()
                        .take(2)
                        .any(|d| root.resolve(Path::new(d)).is_ok_and(|(c, _)| c == dir))
                })
            });
        if let Some(b) = by_rtld.or_else(|| i386.into_iter().find(|b| has(b.libc))) {
            out.push(Profile::new(Glibc::of(
                b,
                newest_version(root, Path::new(b.libc)),
            )));
        }
        if has(LIBX32.rtld) {
            let minor = newest_version(root, Path::new(LIBX32.libc));
            out.push(Profile::new(Glibc::of(&LIBX32, minor)));
        }
        out
    }
}

impl Libc for Glibc {
    /// Debian multiarch when its `libc.so.6` is in either multiarch
    /// directory, else the `lib64` layout when `/lib64/libc.so.6` is
    /// there; the release from the `libc.so.6` of the layout; then the
    /// root's builds for i386 and x32.
    fn detect(root: &Root) -> Option<Glibc> {
        let has = |p: &str| root.kind(Path::new(p)).is_some();
        let layout = if has("/lib/x86_64-linux-gnu/libc.so.6")
            || has("/usr/lib/x86_64-linux-gnu/libc.so.6")
        {
            Layout::Multiarch
        } else if has("/lib64/libc.so.6") {
            Layout::Lib64
        } else {
            return None;
        };
        let build = layout.build();
        let mut glibc = Glibc::of(build, newest_version(root, Path::new(build.libc)));
        glibc.multilib = Glibc::detect_multilib(root);
        Some(glibc)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> Option<String> {
        self.minor.map(|m| format!("2.{m}"))
    }

    fn abi(&self) -> Abi {
        self.build.abi
    }

    fn multilib(&self) -> &[Profile] {
        &self.multilib
    }

    fn interpreter(&self) -> &Path {
        Path::new(self.build.rtld)
    }

    fn default_dirs(&self) -> &[PathBuf] {
        &self.trusted_dirs
    }

    fn dst_lib(&self) -> &str {
        self.build.dst_lib
    }

    fn dst_platform(&self, cpu: &Cpu) -> &'static str {
        match self.build.abi {
            Abi::I386 => I386_PLATFORM,
            Abi::X86_64 | Abi::X32 => platform(cpu),
        }
    }

    fn search_subdirs(&self, cpu: &Cpu) -> Vec<String> {
        let legacy = self.searches_legacy_subdirs();
        match self.build.abi {
            Abi::I386 => i386_search_subdirs(legacy),
            Abi::X86_64 | Abi::X32 => search_subdirs(cpu, legacy),
        }
    }

    fn ld_cache(&self, cpu: &Cpu) -> Option<CachePolicy> {
        let lookup = match self.build.abi {
            // No glibc-hwcaps subdirectories are defined for i386.
            Abi::I386 => LookupContext {
                active_hwcaps: Vec::new(),
                isa_level: u32::from(cpu.level),
                glibc_minor: self.minor,
                legacy_hwcap_mask: cache::i386_legacy_hwcap_mask(true, Some(I386_PLATFORM)),
                cache_id: cache::DL_CACHE_I386_ID,
            },
            Abi::X86_64 | Abi::X32 => LookupContext {
                active_hwcaps: hwcaps_subdirs(cpu),
                isa_level: u32::from(cpu.level),
                glibc_minor: self.minor,
                legacy_hwcap_mask: cache::x86_64_legacy_hwcap_mask(
                    cpu.intel && cpu.avx512,
                    Some(platform(cpu)),
                ),
                cache_id: if self.build.abi == Abi::X32 {
                    cache::DL_CACHE_X32_ID
                } else {
                    cache::DL_CACHE_DEFAULT_ID
                },
            },
        };
        Some(CachePolicy {
            file: Path::new(LD_SO_CACHE),
            lookup,
        })
    }

    /// ldconfig's built-in directories are the trusted ones; it enters
    /// every x86 flavour, and the lookup (C2) then takes only the
    /// process's entries. The host's one `ldconfig` is its native build's,
    /// which also writes the entries the other ABIs' loaders read.
    fn ldconfig(&self, root: &Root) -> Option<Emulated> {
        let dirs: Vec<&str> = self
            .trusted_dirs
            .iter()
            .filter_map(|d| d.to_str())
            .collect();
        Some(ldconfig::emulate(root, |_| true, &dirs))
    }
}

/// `AT_PLATFORM` of an i386 process on any x86-64 CPU: the kernel's
/// `i686`, which glibc's i386 build keeps (it rewrites the platform only
/// for x86-64, `sysdeps/x86/cpu-features.c`).
const I386_PLATFORM: &str = "i686";

/// The legacy subdirectories an i386 loader tries in each search
/// directory before 2.37, best first: the power set of `tls`, the
/// platform and `sse2` (every x86-64 CPU has SSE2), largest first, as
/// `LD_DEBUG=libs` of Debian's `/lib/ld-linux.so.2` lists them; it has no
/// glibc-hwcaps subdirectories.
fn i386_search_subdirs(legacy: bool) -> Vec<String> {
    let mut out = Vec::new();
    if legacy {
        power_set(&["tls", I386_PLATFORM, "sse2"], &mut out);
    }
    out.push(String::new());
    out
}

/// Every non-empty subset of `parts` as a path prefix, in `parts`' order,
/// largest (by the bit mask with the first part highest) first.
fn power_set(parts: &[&str], out: &mut Vec<String>) {
    let n = parts.len();
    for mask in (1u32..(1 << n)).rev() {
        let mut s = String::new();
        for (bit, part) in parts.iter().enumerate() {
            if mask & (1 << (n - 1 - bit)) != 0 {
                s.push_str(part);
                s.push('/');
            }
        }
        out.push(s);
    }
}

/// `AT_PLATFORM` as glibc rewrites it (`sysdeps/x86/cpu-features.c`).
pub fn platform(cpu: &Cpu) -> &'static str {
    if cpu.intel && cpu.level >= 3 {
        "haswell"
    } else {
        "x86_64"
    }
}

/// Active glibc-hwcaps subdirectories, best first (`_dl_hwcaps_subdirs_active`).
pub fn hwcaps_subdirs(cpu: &Cpu) -> Vec<&'static str> {
    ["x86-64-v4", "x86-64-v3", "x86-64-v2"]
        .into_iter()
        .zip([4u8, 3, 2])
        .filter(|&(_, l)| cpu.level >= l)
        .map(|(n, _)| n)
        .collect()
}

/// The subdirectories tried in each search directory, best first, ending
/// with the directory itself (rule L5, `_dl_important_hwcaps`).
fn search_subdirs(cpu: &Cpu, legacy: bool) -> Vec<String> {
    let mut out: Vec<String> = hwcaps_subdirs(cpu)
        .into_iter()
        .map(|s| format!("glibc-hwcaps/{s}/"))
        .collect();
    if legacy {
        // Before 2.37: the power set of [tls, hwcap names…, platform],
        // largest subset first.
        let mut parts = vec!["tls", "x86_64"];
        if cpu.intel && cpu.avx512 {
            parts.push("avx512_1");
        }
        parts.push(platform(cpu));
        power_set(&parts, &mut out);
    }
    out.push(String::new());
    out
}

/// The newest `GLIBC_2.N` version libc defines: its release, near enough for
/// the version-dependent rules (§10).
fn newest_version(root: &Root, libc: &Path) -> Option<u32> {
    let file = root.open(libc).ok()?;
    let facts = elf::read(file.file, Detail::Symbols).ok()?;
    facts
        .version_definitions
        .iter()
        .filter_map(|d| d.name.strip_prefix(b"GLIBC_2."))
        .filter_map(|v| {
            let digits: Vec<u8> = v
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .copied()
                .collect();
            std::str::from_utf8(&digits).ok()?.parse().ok()
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule L5: the order `LD_DEBUG=libs` showed on the AMD test machine
    /// (glibc 2.36, x86-64-v4): hwcaps levels, then the legacy power set.
    #[test]
    fn l5_subdirectory_order_amd_glibc_2_36() {
        let cpu = Cpu {
            level: 4,
            intel: false,
            avx512: true,
        };
        let got = Glibc::new(Layout::Multiarch, Some(36)).search_subdirs(&cpu);
        let want = [
            "glibc-hwcaps/x86-64-v4/",
            "glibc-hwcaps/x86-64-v3/",
            "glibc-hwcaps/x86-64-v2/",
            "tls/x86_64/x86_64/",
            "tls/x86_64/",
            "tls/x86_64/",
            "tls/",
            "x86_64/x86_64/",
            "x86_64/",
            "x86_64/",
            "",
        ];
        assert_eq!(got, want);
    }

    /// Rule L5: glibc 2.37 dropped the legacy subdirectories; a v2 CPU
    /// searches only the v2 hwcaps directory.
    #[test]
    fn l5_subdirectory_order_glibc_2_37_v2() {
        let cpu = Cpu {
            level: 2,
            intel: true,
            avx512: false,
        };
        let glibc = Glibc::new(Layout::Lib64, Some(37));
        assert!(!glibc.searches_legacy_subdirs());
        assert_eq!(glibc.search_subdirs(&cpu), ["glibc-hwcaps/x86-64-v2/", ""]);
    }

    /// §10: an unknown release is taken as 2.36, legacy subdirectories and all.
    #[test]
    fn unknown_release_searches_legacy_subdirs() {
        assert!(Glibc::fallback().searches_legacy_subdirs());
        assert!(Glibc::new(Layout::Multiarch, Some(36)).searches_legacy_subdirs());
    }

    /// Rule L9: Intel CPUs with the Haswell feature set are `haswell`.
    #[test]
    fn l9_platform_follows_glibc() {
        let intel = Cpu {
            level: 3,
            intel: true,
            avx512: false,
        };
        let amd = Cpu {
            intel: false,
            ..intel
        };
        assert_eq!(platform(&intel), "haswell");
        assert_eq!(platform(&amd), "x86_64");
    }

    /// Rules L9, L10: each layout's trusted directories and `$LIB`.
    #[test]
    fn layouts_give_trusted_dirs_and_lib() {
        let debian = Glibc::new(Layout::Multiarch, Some(36));
        assert_eq!(
            debian.default_dirs(),
            [
                "/lib/x86_64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu",
                "/lib",
                "/usr/lib"
            ]
            .map(PathBuf::from)
        );
        assert_eq!(debian.dst_lib(), "lib/x86_64-linux-gnu");
        assert_eq!(debian.version().as_deref(), Some("2.36"));
        let rhel = Glibc::fallback();
        assert_eq!(
            rhel.default_dirs(),
            ["/lib64", "/usr/lib64"].map(PathBuf::from)
        );
        assert_eq!(rhel.dst_lib(), "lib64");
        assert_eq!(rhel.version(), None);
        assert_eq!(rhel.interpreter(), Path::new("/lib64/ld-linux-x86-64.so.2"));
    }
    /// Rule L5 for i386: the order `LD_DEBUG=libs` of Debian's
    /// `/lib/ld-linux.so.2` (glibc 2.36) shows on this host, platform
    /// before `sse2`, no glibc-hwcaps; none from 2.37 on.
    #[test]
    fn l5_i386_subdirectory_order() {
        let cpu = Cpu {
            level: 4,
            intel: false,
            avx512: true,
        };
        let want = [
            "tls/i686/sse2/",
            "tls/i686/",
            "tls/sse2/",
            "tls/",
            "i686/sse2/",
            "i686/",
            "sse2/",
            "",
        ];
        assert_eq!(Glibc::lib32(Some(36)).search_subdirs(&cpu), want);
        assert_eq!(Glibc::lib32(Some(37)).search_subdirs(&cpu), [""]);
        let i386 = Glibc::lib32(Some(36));
        assert_eq!((i386.dst_lib(), i386.dst_platform(&cpu)), ("lib32", "i686"));
        assert_eq!(i386.interpreter(), Path::new("/lib/ld-linux.so.2"));
    }

    /// The i386 build is the one `/lib/ld-linux.so.2` leads to (Debian's
    /// biarch `/lib32` or the i386 multiarch directory), the x32 one is
    /// there with its loader; a root with neither has no multilib.
    #[test]
    fn multilib_builds_detected_from_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mk = |p: &str| {
            let path = dir.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, b"").expect("write");
        };
        mk("/lib/x86_64-linux-gnu/libc.so.6");
        let root = Root::new(dir.path()).expect("root");
        let abis = |root: &Root| -> Vec<(Abi, Vec<PathBuf>)> {
            Glibc::detect(root)
                .expect("glibc")
                .multilib()
                .iter()
                .map(|p| (p.abi(), p.default_dirs().to_vec()))
                .collect()
        };
        assert_eq!(abis(&root), []);
        mk("/lib/i386-linux-gnu/ld-linux.so.2");
        mk("/lib32/libc.so.6");
        std::os::unix::fs::symlink(
            "i386-linux-gnu/ld-linux.so.2",
            dir.path().join("lib/ld-linux.so.2"),
        )
        .expect("symlink");
        mk("/libx32/ld-linux-x32.so.2");
        let root = Root::new(dir.path()).expect("root");
        let got = abis(&root);
        assert_eq!(
            got,
            [
                (
                    Abi::I386,
                    I386_MULTIARCH.dirs.iter().map(PathBuf::from).collect()
                ),
                (Abi::X32, LIBX32.dirs.iter().map(PathBuf::from).collect()),
            ]
        );
        // Without the loader's link, the libc that is there decides.
        std::fs::remove_file(dir.path().join("lib/ld-linux.so.2")).expect("rm");
        let root = Root::new(dir.path()).expect("root");
        assert_eq!(
            abis(&root).first().map(|(a, d)| (*a, d[0].clone())),
            Some((Abi::I386, PathBuf::from("/lib32")))
        );
    }
}
