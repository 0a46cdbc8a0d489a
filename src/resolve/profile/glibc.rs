//! glibc's answers on x86-64 (rules L5, L9, L10, C2, §10): what differs
//! between the distributions' builds (the directory layout: Debian's
//! multiarch or upstream's `lib64`) and between releases (glibc-hwcaps
//! since 2.33, the legacy subdirectories until 2.36, legacy cache entries
//! until 2.39), with the CPU as glibc's `cpu_features` names it.
//!
//! The cache itself and `ldconfig` are [`crate::resolve::cache`] and
//! [`crate::resolve::ldconfig`], glibc's alone; this decides that they
//! apply and with what.

use std::path::{Path, PathBuf};

use super::{CachePolicy, Libc};
use crate::elf::{self, Detail};
use crate::resolve::Cpu;
use crate::resolve::cache::{self, LookupContext};
use crate::resolve::ldconfig::{self, Emulated};
use crate::root::Root;

/// `Libc::name` of glibc, which reports know as `host.glibc`.
pub const NAME: &str = "glibc";

/// The compiled-in `RTLD` of x86-64 glibc, in every layout.
const RTLD: &str = "/lib64/ld-linux-x86-64.so.2";

/// `LD_SO_CACHE`.
const LD_SO_CACHE: &str = "/etc/ld.so.cache";

/// Where a distribution's glibc build keeps the libraries (rules L9, L10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Debian and Ubuntu: the multiarch directories, then `/lib` and
    /// `/usr/lib`.
    Multiarch,
    /// Upstream's `slibdir`/`libdir`, as RHEL, Fedora and SUSE build it.
    Lib64,
}

impl Layout {
    /// `SYSTEM_DIRS` in order, `DL_DST_LIB`, and where `libc.so.6` is.
    fn facts(self) -> (&'static [&'static str], &'static str, &'static str) {
        match self {
            Layout::Multiarch => (
                &[
                    "/lib/x86_64-linux-gnu",
                    "/usr/lib/x86_64-linux-gnu",
                    "/lib",
                    "/usr/lib",
                ],
                "lib/x86_64-linux-gnu",
                "/lib/x86_64-linux-gnu/libc.so.6",
            ),
            Layout::Lib64 => (&["/lib64", "/usr/lib64"], "lib64", "/lib64/libc.so.6"),
        }
    }
}

/// One glibc build: its layout and its release.
#[derive(Debug, Clone)]
pub struct Glibc {
    layout: Layout,
    /// glibc 2.x minor version, when known.
    minor: Option<u32>,
    trusted_dirs: Vec<PathBuf>,
}

impl Glibc {
    pub fn new(layout: Layout, minor: Option<u32>) -> Glibc {
        let (dirs, _, _) = layout.facts();
        Glibc {
            layout,
            minor,
            trusted_dirs: dirs.iter().map(PathBuf::from).collect(),
        }
    }

    /// What a root without a C library at a known place gets: upstream's
    /// layout, release unknown (so taken as 2.36 where a rule needs one).
    pub fn fallback() -> Glibc {
        Glibc::new(Layout::Lib64, None)
    }

    /// glibc ≤ 2.36 still searches the legacy `tls`/platform/hwcap
    /// subdirectories (removed in 2.37, rule L5).
    pub fn searches_legacy_subdirs(&self) -> bool {
        self.minor.is_none_or(|m| m <= 36)
    }
}

impl Libc for Glibc {
    /// Debian multiarch when its `libc.so.6` is in either multiarch
    /// directory, else the `lib64` layout when `/lib64/libc.so.6` is
    /// there; the release from the `libc.so.6` of the layout.
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
        let (_, _, libc) = layout.facts();
        Some(Glibc::new(layout, newest_version(root, Path::new(libc))))
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> Option<String> {
        self.minor.map(|m| format!("2.{m}"))
    }

    fn interpreter(&self) -> &Path {
        Path::new(RTLD)
    }

    fn default_dirs(&self) -> &[PathBuf] {
        &self.trusted_dirs
    }

    fn dst_lib(&self) -> &str {
        self.layout.facts().1
    }

    fn dst_platform(&self, cpu: &Cpu) -> &'static str {
        platform(cpu)
    }

    fn search_subdirs(&self, cpu: &Cpu) -> Vec<String> {
        search_subdirs(cpu, self.searches_legacy_subdirs())
    }

    fn ld_cache(&self, cpu: &Cpu) -> Option<CachePolicy> {
        Some(CachePolicy {
            file: Path::new(LD_SO_CACHE),
            lookup: LookupContext {
                active_hwcaps: hwcaps_subdirs(cpu),
                isa_level: u32::from(cpu.level),
                glibc_minor: self.minor,
                legacy_hwcap_mask: cache::x86_64_legacy_hwcap_mask(
                    cpu.intel && cpu.avx512,
                    Some(platform(cpu)),
                ),
            },
        })
    }

    /// ldconfig's built-in directories are the trusted ones; it enters
    /// every x86 flavour, and the lookup (C2) then takes only x86-64
    /// entries.
    fn ldconfig(&self, root: &Root) -> Option<Emulated> {
        let dirs: Vec<&str> = self
            .trusted_dirs
            .iter()
            .filter_map(|d| d.to_str())
            .collect();
        Some(ldconfig::emulate(root, |_| true, &dirs))
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
}
