//! `/etc/ld.so.cache`: decoding the three on-disk layouts and answering a
//! lookup exactly as glibc 2.36's ld.so does (research/loader-model.md §2,
//! rules C1–C4).
//!
//! This module owns the cache *file* and the cache *lookup*: [`LdCache::parse`]
//! mirrors the format detection and corruption guards of
//! `_dl_load_cache_lookup` (elf/dl-cache.c), the extension directory of
//! `cache_extension_load` (sysdeps/generic/dl-cache.h), and
//! [`LdCache::lookup`] mirrors `search_cache` with `_dl_cache_libcmp`
//! ordering. The same type also holds a cache that was never written to disk
//! ([`LdCache::from_entries`], built by [`super::ldconfig`]) so both go
//! through one lookup.
//!
//! The input is untrusted: every offset is checked before use, nothing
//! panics, and memory stays linear in the input size. Strings are not copied
//! per entry: ldconfig shares suffixes between strings
//! (`stringtable_finalize`), and a hostile file can point thousands of
//! entries into one long string, so entries keep byte ranges into one copy
//! of the file and hand out borrowed slices.
//!
//! ```
//! use soclash::resolve::cache::{libcmp, LdCache};
//! assert_eq!(libcmp(b"libfoo.so.1", b"libfoo.so.01"), std::cmp::Ordering::Equal);
//! assert!(LdCache::parse(b"not a cache").is_err());
//! ```

use std::cmp::Ordering;

use bstr::{BStr, BString};

/// Magic of the libc5 / glibc ≤ 2.1 layout (`CACHEMAGIC`).
pub const CACHEMAGIC: &[u8] = b"ld.so-1.7.0";
/// Magic and version of the glibc ≥ 2.2 layout (`CACHEMAGIC_VERSION_NEW`).
pub const CACHEMAGIC_VERSION_NEW: &[u8] = b"glibc-ld.so.cache1.1";
/// `DL_CACHE_HWCAP_EXTENSION`: marks a glibc-hwcaps entry (Table 2).
pub const DL_CACHE_HWCAP_EXTENSION: u64 = 1 << 62;
/// `DL_CACHE_HWCAP_ISA_LEVEL_MASK`: ISA level bits above bit 32.
pub const DL_CACHE_HWCAP_ISA_LEVEL_MASK: u64 = (1 << 10) - 1;
/// `cache_extension_magic`, `(uint32_t) -358342284`.
pub const CACHE_EXTENSION_MAGIC: u32 = 0xEAA4_2174;
/// `FLAG_ELF`: an ELF library of no known C library (`ldconfig` gives
/// it to an i386 object that needs neither libc nor its loader).
pub const FLAG_ELF: i32 = 0x0001;
/// `FLAG_ELF_LIBC6`.
pub const FLAG_ELF_LIBC6: i32 = 0x0003;
/// `FLAG_X8664_LIB64`.
pub const FLAG_X8664_LIB64: i32 = 0x0300;
/// `FLAG_X8664_LIBX32`.
pub const FLAG_X8664_LIBX32: i32 = 0x0800;
/// `_DL_CACHE_DEFAULT_ID` on x86-64: the only flags ld.so accepts
/// (`_dl_cache_check_flags`, sysdeps/unix/sysv/linux/x86_64/dl-cache.h).
pub const DL_CACHE_DEFAULT_ID: i32 = FLAG_X8664_LIB64 | FLAG_ELF_LIBC6;
/// `_DL_CACHE_DEFAULT_ID` of the x32 loader (x86_64/x32/dl-cache.h).
pub const DL_CACHE_X32_ID: i32 = FLAG_X8664_LIBX32 | FLAG_ELF_LIBC6;
/// `_DL_CACHE_DEFAULT_ID` of the i386 loader: the generic one
/// (sysdeps/generic/dl-cache.h), which also accepts [`FLAG_ELF`].
pub const DL_CACHE_I386_ID: i32 = FLAG_ELF_LIBC6;
/// `HWCAP_X86_SSE2`: the legacy hwcap bit of an i386 process on an SSE2 CPU.
pub const HWCAP_X86_SSE2: u64 = 1 << 0;
/// `HWCAP_X86_64`: the legacy hwcap bit every x86-64 CPU has.
pub const HWCAP_X86_64: u64 = 1 << 1;
/// `HWCAP_X86_AVX512_1`.
pub const HWCAP_X86_AVX512_1: u64 = 1 << 2;
/// `_DL_FIRST_PLATFORM`: platform bits start here in a legacy hwcap.
pub const DL_FIRST_PLATFORM: u32 = 48;
/// `_DL_HWCAP_PLATFORM`: the four x86 platform bits.
pub const DL_HWCAP_PLATFORM: u64 = 0xf << DL_FIRST_PLATFORM;
/// `_DL_HWCAP_TLS_MASK`: the `tls` subdirectory bit, always accepted.
pub const DL_HWCAP_TLS_MASK: u64 = 1 << 63;
/// `_dl_x86_platforms`, in bit order from [`DL_FIRST_PLATFORM`].
pub const X86_PLATFORMS: [&str; 4] = ["i586", "i686", "haswell", "xeon_phi"];

/// `sizeof (struct cache_file)`: magic, padding, `nlibs`.
const CACHE_FILE_SIZE: usize = 16;
/// `sizeof (struct file_entry)`.
const FILE_ENTRY_SIZE: usize = 12;
/// `sizeof (struct cache_file_new)` (static-asserted in dl-cache.h).
const CACHE_FILE_NEW_SIZE: usize = 48;
/// `sizeof (struct file_entry_new)`.
const FILE_ENTRY_NEW_SIZE: usize = 24;
/// `__alignof__ (struct cache_file_new)` used by `ALIGN_CACHE`.
const CACHE_NEW_ALIGN: usize = 8;
/// `cache_extension_tag_generator`.
const TAG_GENERATOR: u32 = 0;
/// `cache_extension_tag_glibc_hwcaps`.
const TAG_GLIBC_HWCAPS: u32 = 1;

/// Which layout a cache file has (loader-model.md §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `glibc-ld.so.cache1.1` at offset 0 (ldconfig's default since 2.32).
    New,
    /// `ld.so-1.7.0` only: no hwcap information at all.
    Old,
    /// `ld.so-1.7.0` with a complete new block in its string table; the new
    /// block is what ld.so uses.
    Compat,
}

/// Why a file is not a cache ld.so would use. ld.so treats every one of
/// these as "no cache" (rule C4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    #[error("not a cache file (no ld.so.cache magic)")]
    BadMagic,
    #[error("file too short for a cache header ({0} bytes)")]
    TooShort(usize),
    #[error("cache header claims {nlibs} entries but the file has room for {room}")]
    Truncated { nlibs: u64, room: u64 },
    #[error("cache file has wrong endianness (flags {0:#04x})")]
    WrongEndian(u8),
}

/// A byte range of [`LdCache::data`]: one string without its NUL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span {
    start: usize,
    end: usize,
}

/// One entry as decoded, with the string ranges resolved once.
#[derive(Debug, Clone)]
struct RawEntry {
    flags: i32,
    key: Span,
    value: Span,
    /// `_dl_cache_verify_ptr` on the stored offsets.
    key_ok: bool,
    value_ok: bool,
    hwcap: u64,
}

/// One cache entry, borrowed from its [`LdCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheEntry<'a> {
    /// `FLAG_*` type and architecture bits (0x0303 for x86-64 libc6).
    pub flags: i32,
    /// The soname the entry is found under.
    pub key: &'a BStr,
    /// The path ld.so opens.
    pub value: &'a BStr,
    /// 0, a legacy hwcap/platform mask, or a glibc-hwcaps reference
    /// (extension bit, ISA level, subdirectory index; Table 2).
    pub hwcap: u64,
    /// The key offset is inside the string table (`_dl_cache_verify_ptr`);
    /// ld.so abandons the whole lookup when it meets one that is not.
    pub key_valid: bool,
    /// The value offset is inside the string table; entries failing this
    /// are skipped by ld.so.
    pub value_valid: bool,
    subdir: Option<&'a BStr>,
}

impl<'a> CacheEntry<'a> {
    /// `dl_cache_hwcap_extension`: only bit 62 set in the upper word once
    /// the ISA level bits are ignored.
    pub fn is_hwcaps_extension(&self) -> bool {
        is_extension(self.hwcap)
    }

    /// The glibc-hwcaps subdirectory name, resolved the way `ldconfig -p`
    /// (`glibc_hwcaps_string`) and ld.so (`glibc_hwcaps_compare`) resolve
    /// it: relative to the start of the file. In a compat file the writer
    /// stored it relative to the new header, so this is garbage there
    /// (rule C3) — faithfully so.
    pub fn hwcaps_subdir(&self) -> Option<&'a [u8]> {
        self.subdir.map(|s| &**s)
    }

    /// The ISA level ldconfig recorded for a glibc-hwcaps entry: the
    /// highest bit of `GNU_PROPERTY_X86_ISA_1_NEEDED` (0 = baseline).
    pub fn isa_level(&self) -> Option<u32> {
        self.is_hwcaps_extension()
            .then_some(((self.hwcap >> 32) & DL_CACHE_HWCAP_ISA_LEVEL_MASK) as u32)
    }

    /// Index into the extension's glibc-hwcaps array (low 32 bits).
    pub fn hwcaps_index(&self) -> Option<u32> {
        self.is_hwcaps_extension().then_some(self.hwcap as u32)
    }
}

/// An entry to build a cache from ([`LdCache::from_entries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEntry {
    pub flags: i32,
    pub key: BString,
    pub value: BString,
    /// As stored on disk: for a glibc-hwcaps entry
    /// `DL_CACHE_HWCAP_EXTENSION | isa_level << 32 | index`.
    pub hwcap: u64,
}

/// What the process looks like to `search_cache`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupContext<'a> {
    /// Active glibc-hwcaps subdirectories, best first
    /// (`_dl_hwcaps_priorities` before sorting; priority = position + 1).
    pub active_hwcaps: Vec<&'a str>,
    /// Highest x86 ISA level the CPU supports, 1 (baseline) to 4.
    pub isa_level: u32,
    /// glibc 2.x minor version of the loader; `None` is taken as 2.36.
    pub glibc_minor: Option<u32>,
    /// `GLRO(dl_hwcap) & hwcap_mask`, plus the bit of `AT_PLATFORM` when it
    /// is one of [`X86_PLATFORMS`] (see [`x86_64_legacy_hwcap_mask`]).
    /// Only consulted for legacy entries by glibc ≤ 2.39.
    pub legacy_hwcap_mask: u64,
    /// The loader's `_DL_CACHE_DEFAULT_ID`: which entries are for the
    /// process's ABI ([`DL_CACHE_DEFAULT_ID`] for x86-64,
    /// [`DL_CACHE_I386_ID`], [`DL_CACHE_X32_ID`]); one cache holds them all.
    pub cache_id: i32,
}

/// `_dl_cache_check_flags`: the entry's flags are the loader's own, or,
/// for the generic (i386) check, a plain ELF entry. A plain entry is
/// taken only until one with the loader's own flags follows.
pub fn check_flags(flags: i32, cache_id: i32) -> bool {
    flags == cache_id || (cache_id == DL_CACHE_I386_ID && flags == FLAG_ELF)
}

/// The legacy hwcap mask glibc 2.36 uses for an i386 process
/// (`init_cpu_features` outside `__x86_64__`: `dl_hwcap =
/// HWCAP_X86_SSE2` on an SSE2 CPU, `dl_hwcap_mask = HWCAP_IMPORTANT`),
/// with the bit of its platform (`i686`).
pub fn i386_legacy_hwcap_mask(sse2: bool, platform: Option<&str>) -> u64 {
    let mut mask = if sse2 { HWCAP_X86_SSE2 } else { 0 };
    if let Some(i) = platform.and_then(|p| X86_PLATFORMS.iter().position(|&q| q == p)) {
        mask |= 1u64 << (DL_FIRST_PLATFORM as usize + i);
    }
    mask
}

/// The legacy hwcap mask glibc 2.36 uses on x86-64
/// (`init_cpu_features`: `dl_hwcap = HWCAP_X86_64`, `| HWCAP_X86_AVX512_1`
/// on Intel with AVX512F/CD/BW/DQ/VL, `dl_hwcap_mask = HWCAP_IMPORTANT`),
/// with the platform bit of `platform` when it is a known x86 platform.
pub fn x86_64_legacy_hwcap_mask(avx512_1: bool, platform: Option<&str>) -> u64 {
    let mut mask = HWCAP_X86_64;
    if avx512_1 {
        mask |= HWCAP_X86_AVX512_1;
    }
    if let Some(i) = platform.and_then(|p| X86_PLATFORMS.iter().position(|&q| q == p)) {
        mask |= 1u64 << (DL_FIRST_PLATFORM as usize + i);
    }
    mask
}

/// A decoded `ld.so.cache`, or an emulated one.
#[derive(Debug, Clone)]
pub struct LdCache {
    format: Format,
    /// The file (or, when emulated, a string table built for it). Every
    /// [`Span`] points into it.
    data: Vec<u8>,
    entries: Vec<RawEntry>,
    /// Entries are `struct file_entry_new` (hwcap checks apply).
    new_entries: bool,
    /// The glibc-hwcaps extension array: string offsets from the file start.
    glibc_hwcaps: Vec<u32>,
    generator: Option<Span>,
    extension_error: Option<&'static str>,
}

fn is_extension(hwcap: u64) -> bool {
    ((hwcap >> 32) & !DL_CACHE_HWCAP_ISA_LEVEL_MASK) == (DL_CACHE_HWCAP_EXTENSION >> 32)
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let end = off.checked_add(4)?;
    let s: [u8; 4] = b.get(off..end)?.try_into().ok()?;
    Some(u32::from_le_bytes(s))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let end = off.checked_add(8)?;
    let s: [u8; 8] = b.get(off..end)?.try_into().ok()?;
    Some(u64::from_le_bytes(s))
}

/// The NUL-terminated string at `pos`, clipped to the buffer. A position at
/// or past the end gives an empty string (ld.so would read past its
/// mapping there; an empty string is what a zero-filled page tail reads as).
fn c_string(b: &[u8], pos: usize) -> Span {
    let Some(rest) = b.get(pos..) else {
        return Span {
            start: b.len(),
            end: b.len(),
        };
    };
    let len = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
    Span {
        start: pos,
        end: pos.saturating_add(len),
    }
}

/// `cache_file_new_matches_endian`: 0 (unknown, old ldconfig) or little.
fn matches_endian(flags: u8) -> bool {
    flags == 0 || (flags & 3) == 2
}

/// `ALIGN_CACHE (sizeof (struct cache_file) + nlibs * sizeof (struct file_entry))`.
fn compat_offset(nlibs: u32) -> Option<usize> {
    let raw = (nlibs as usize)
        .checked_mul(FILE_ENTRY_SIZE)?
        .checked_add(CACHE_FILE_SIZE)?;
    raw.checked_add(CACHE_NEW_ALIGN - 1)
        .map(|v| v & !(CACHE_NEW_ALIGN - 1))
}

/// The loaded extension sections (`struct cache_extension_all_loaded`).
#[derive(Default)]
struct Extension {
    generator: Option<Span>,
    hwcaps: Option<Span>,
}

/// `cache_extension_load` followed by `cache_extension_verify`: offsets are
/// from the file start; any section reaching past the end invalidates the
/// whole directory; an unaligned or ragged glibc-hwcaps section is dropped.
fn load_extension(data: &[u8], extension_offset: u32) -> Result<Extension, &'static str> {
    let mut ext = Extension::default();
    if extension_offset == 0 {
        return Ok(ext);
    }
    if extension_offset % 4 != 0 {
        return Err("extension offset is misaligned");
    }
    let file_size = data.len() as u64;
    let base = u64::from(extension_offset);
    if base + 8 > file_size {
        return Err("extension directory extends beyond the end of the file");
    }
    let at = |off: u64| usize::try_from(off).ok().and_then(|o| u32_at(data, o));
    if at(base) != Some(CACHE_EXTENSION_MAGIC) {
        return Err("bad extension magic");
    }
    let count = u64::from(at(base + 4).unwrap_or(0));
    if base + 8 + count * 16 > file_size {
        return Err("extension array extends beyond the end of the file");
    }
    for i in 0..count {
        let s = base + 8 + i * 16;
        let (Some(tag), Some(offset), Some(size)) = (at(s), at(s + 8), at(s + 12)) else {
            return Err("extension array extends beyond the end of the file");
        };
        if u64::from(offset) + u64::from(size) > file_size {
            return Err("extension data extends beyond the end of the file");
        }
        let span = Span {
            start: offset as usize,
            end: offset as usize + size as usize,
        };
        match tag {
            TAG_GENERATOR => ext.generator = Some(span),
            TAG_GLIBC_HWCAPS => ext.hwcaps = Some(span),
            _ => {}
        }
    }
    if let Some(h) = ext.hwcaps {
        let size = h.end - h.start;
        if size == 0 || h.start % 4 != 0 || size % 4 != 0 {
            ext.hwcaps = None;
        }
    }
    Ok(ext)
}

impl LdCache {
    /// Decodes a cache file the way `_dl_load_cache_lookup` accepts it:
    /// new magic at 0 with `(size - 48) / 24 >= nlibs`; else old magic with
    /// `(size - 16) / 12 >= nlibs`, and then a new block at
    /// `ALIGN_CACHE(16 + 12·nlibs)` wins if present (rule C3). A new header
    /// of the wrong endianness makes the whole file unusable.
    ///
    /// A malformed extension directory does not reject the file (ld.so then
    /// just finds no glibc-hwcaps priorities); see
    /// [`extension_error`](Self::extension_error).
    pub fn parse(bytes: &[u8]) -> Result<LdCache, CacheError> {
        let size = bytes.len();
        let new_nlibs = u32_at(bytes, 20).unwrap_or(0);
        let new_ok = size > CACHE_FILE_NEW_SIZE
            && bytes.starts_with(CACHEMAGIC_VERSION_NEW)
            && ((size - CACHE_FILE_NEW_SIZE) / FILE_ENTRY_NEW_SIZE) as u64 >= u64::from(new_nlibs);
        if new_ok {
            return Self::parse_new(bytes, 0, Format::New);
        }
        let old_nlibs = u32_at(bytes, 12).unwrap_or(0);
        let old_ok = size > CACHE_FILE_SIZE
            && bytes.starts_with(CACHEMAGIC)
            && ((size - CACHE_FILE_SIZE) / FILE_ENTRY_SIZE) as u64 >= u64::from(old_nlibs);
        if old_ok {
            if let Some(off) = compat_offset(old_nlibs) {
                let has_new = off
                    .checked_add(CACHE_FILE_NEW_SIZE)
                    .is_some_and(|end| end <= size)
                    && bytes
                        .get(off..)
                        .is_some_and(|b| b.starts_with(CACHEMAGIC_VERSION_NEW));
                if has_new {
                    return Self::parse_new(bytes, off, Format::Compat);
                }
            }
            return Self::parse_old(bytes, old_nlibs);
        }
        if bytes.starts_with(CACHEMAGIC_VERSION_NEW) {
            if size <= CACHE_FILE_NEW_SIZE {
                return Err(CacheError::TooShort(size));
            }
            return Err(CacheError::Truncated {
                nlibs: u64::from(new_nlibs),
                room: ((size - CACHE_FILE_NEW_SIZE) / FILE_ENTRY_NEW_SIZE) as u64,
            });
        }
        if bytes.starts_with(CACHEMAGIC) {
            if size <= CACHE_FILE_SIZE {
                return Err(CacheError::TooShort(size));
            }
            return Err(CacheError::Truncated {
                nlibs: u64::from(old_nlibs),
                room: ((size - CACHE_FILE_SIZE) / FILE_ENTRY_SIZE) as u64,
            });
        }
        Err(CacheError::BadMagic)
    }

    /// The new block at `base` (0, or the compat offset). String offsets
    /// are relative to `base` but checked against the file size, as
    /// `search_cache (cache_new, cachesize, …)` does.
    fn parse_new(bytes: &[u8], base: usize, format: Format) -> Result<LdCache, CacheError> {
        let size = bytes.len();
        let header = |off: usize| base.checked_add(off).and_then(|o| u32_at(bytes, o));
        let nlibs = header(20).unwrap_or(0);
        let flags = base
            .checked_add(28)
            .and_then(|o| bytes.get(o))
            .copied()
            .unwrap_or(0);
        if !matches_endian(flags) {
            return Err(CacheError::WrongEndian(flags));
        }
        // ld.so does not check the embedded header's count in a compat
        // file and would read past the mapping; refuse instead.
        let room = (size.saturating_sub(base.saturating_add(CACHE_FILE_NEW_SIZE))
            / FILE_ENTRY_NEW_SIZE) as u64;
        if u64::from(nlibs) > room {
            return Err(CacheError::Truncated {
                nlibs: u64::from(nlibs),
                room,
            });
        }
        let truncated = CacheError::Truncated {
            nlibs: u64::from(nlibs),
            room,
        };
        let table = base
            .checked_add(CACHE_FILE_NEW_SIZE)
            .and_then(|first| bytes.get(first..))
            .ok_or_else(|| truncated.clone())?;
        let mut entries = Vec::with_capacity(nlibs as usize);
        for e in table.chunks_exact(FILE_ENTRY_NEW_SIZE).take(nlibs as usize) {
            let (Some(flags), Some(key), Some(value), Some(hwcap)) =
                (u32_at(e, 0), u32_at(e, 4), u32_at(e, 8), u64_at(e, 16))
            else {
                return Err(truncated);
            };
            entries.push(RawEntry {
                flags: flags as i32,
                key: c_string(bytes, base.saturating_add(key as usize)),
                value: c_string(bytes, base.saturating_add(value as usize)),
                key_ok: (key as usize) < size,
                value_ok: (value as usize) < size,
                hwcap,
            });
        }
        if entries.len() != nlibs as usize {
            return Err(truncated);
        }
        let (ext, extension_error) = match load_extension(bytes, header(32).unwrap_or(0)) {
            Ok(ext) => (ext, None),
            Err(e) => (Extension::default(), Some(e)),
        };
        let glibc_hwcaps = ext
            .hwcaps
            .map(|h| {
                (h.start..h.end)
                    .step_by(4)
                    .filter_map(|o| u32_at(bytes, o))
                    .collect()
            })
            .unwrap_or_default();
        Ok(LdCache {
            format,
            data: bytes.to_vec(),
            entries,
            new_entries: true,
            glibc_hwcaps,
            generator: ext.generator,
            extension_error,
        })
    }

    /// The old layout: strings relative to the end of the entry array and
    /// checked against the rest of the file.
    fn parse_old(bytes: &[u8], nlibs: u32) -> Result<LdCache, CacheError> {
        let size = bytes.len();
        let table = (nlibs as usize)
            .checked_mul(FILE_ENTRY_SIZE)
            .and_then(|n| n.checked_add(CACHE_FILE_SIZE))
            .filter(|&t| t <= size)
            .ok_or(CacheError::Truncated {
                nlibs: u64::from(nlibs),
                room: ((size.saturating_sub(CACHE_FILE_SIZE)) / FILE_ENTRY_SIZE) as u64,
            })?;
        let table_size = size.saturating_sub(table);
        let truncated = CacheError::Truncated {
            nlibs: u64::from(nlibs),
            room: ((size.saturating_sub(CACHE_FILE_SIZE)) / FILE_ENTRY_SIZE) as u64,
        };
        let array = bytes
            .get(CACHE_FILE_SIZE..table)
            .ok_or_else(|| truncated.clone())?;
        let mut entries = Vec::with_capacity(nlibs as usize);
        for e in array.chunks_exact(FILE_ENTRY_SIZE) {
            let (Some(flags), Some(key), Some(value)) = (u32_at(e, 0), u32_at(e, 4), u32_at(e, 8))
            else {
                return Err(truncated);
            };
            entries.push(RawEntry {
                flags: flags as i32,
                key: c_string(bytes, table.saturating_add(key as usize)),
                value: c_string(bytes, table.saturating_add(value as usize)),
                key_ok: (key as usize) < table_size,
                value_ok: (value as usize) < table_size,
                hwcap: 0,
            });
        }
        Ok(LdCache {
            format: Format::Old,
            data: bytes.to_vec(),
            entries,
            new_entries: false,
            glibc_hwcaps: Vec::new(),
            generator: None,
            extension_error: None,
        })
    }

    /// A cache that exists only in memory, in new format, with its entries
    /// already in cache order (descending [`libcmp`] on the key, then the
    /// tie-breaks of ldconfig's `compare`; rule C2). `glibc_hwcaps` are the
    /// subdirectory names that extension entries index, sorted by `strcmp`
    /// as ldconfig's `assign_glibc_hwcaps_indices` sorts them (ld.so's
    /// priority merge relies on that order).
    pub fn from_entries(
        entries: Vec<OwnedEntry>,
        glibc_hwcaps: Vec<BString>,
        generator: Option<BString>,
    ) -> LdCache {
        fn push(data: &mut Vec<u8>, s: &[u8]) -> Span {
            let start = data.len();
            // A NUL inside would end the C string there.
            let s = s.split(|&b| b == 0).next().unwrap_or_default();
            data.extend_from_slice(s);
            let span = Span {
                start,
                end: data.len(),
            };
            data.push(0);
            span
        }
        let mut data = Vec::new();
        let raw: Vec<RawEntry> = entries
            .iter()
            .map(|e| RawEntry {
                flags: e.flags,
                key: push(&mut data, &e.key),
                value: push(&mut data, &e.value),
                key_ok: true,
                value_ok: true,
                hwcap: e.hwcap,
            })
            .collect();
        let hwcaps: Vec<u32> = glibc_hwcaps
            .iter()
            .map(|n| u32::try_from(push(&mut data, n).start).unwrap_or(u32::MAX))
            .collect();
        let generator = generator.map(|g| {
            let start = data.len();
            data.extend_from_slice(&g);
            Span {
                start,
                end: data.len(),
            }
        });
        LdCache {
            format: Format::New,
            data,
            entries: raw,
            new_entries: true,
            glibc_hwcaps: hwcaps,
            generator,
            extension_error: None,
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The generator string of the extension directory (e.g.
    /// `ldconfig (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36`).
    pub fn generator(&self) -> Option<&BStr> {
        self.generator.map(|s| self.bstr(s))
    }

    /// Why the extension directory was ignored, if it was.
    pub fn extension_error(&self) -> Option<&'static str> {
        self.extension_error
    }

    /// The glibc-hwcaps subdirectory names of the extension, by index.
    /// `None` where the stored offset is outside the file.
    pub fn glibc_hwcaps(&self) -> impl ExactSizeIterator<Item = Option<&BStr>> + '_ {
        self.glibc_hwcaps.iter().map(|&i| self.hwcaps_name(i))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in file order.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = CacheEntry<'_>> + '_ {
        self.entries.iter().map(|e| self.view(e))
    }

    pub fn entry(&self, index: usize) -> Option<CacheEntry<'_>> {
        self.entries.get(index).map(|e| self.view(e))
    }

    fn bstr(&self, s: Span) -> &BStr {
        BStr::new(self.data.get(s.start..s.end).unwrap_or_default())
    }

    fn view(&self, e: &RawEntry) -> CacheEntry<'_> {
        let subdir = if self.new_entries && is_extension(e.hwcap) {
            self.glibc_hwcaps
                .get(e.hwcap as u32 as usize)
                .and_then(|&i| self.hwcaps_name(i))
        } else {
            None
        };
        CacheEntry {
            flags: e.flags,
            key: self.bstr(e.key),
            value: self.bstr(e.value),
            hwcap: e.hwcap,
            key_valid: e.key_ok,
            value_valid: e.value_ok,
            subdir,
        }
    }

    /// A glibc-hwcaps name by string offset from the file start, if the
    /// offset is inside the file (`glibc_hwcaps_string`).
    fn hwcaps_name(&self, offset: u32) -> Option<&BStr> {
        let offset = offset as usize;
        (offset < self.data.len()).then(|| self.bstr(c_string(&self.data, offset)))
    }

    /// `glibc_hwcaps_priorities_init`: merges the (sorted) extension array
    /// with the active subdirectories sorted by name; an extension name
    /// gets the priority of the equal active name, 0 (unusable) otherwise.
    /// ld.so loops forever on an offset outside the file; here it is 0.
    fn hwcaps_priorities(&self, active: &[&str]) -> Vec<u32> {
        let mut right: Vec<(&[u8], u32)> = active
            .iter()
            .zip(1u32..)
            .map(|(n, p)| (n.as_bytes(), p))
            .collect();
        // Insertion sort by (memcmp, length) in `sort_priorities_by_name`
        // is stable; so is `sort_by`.
        right.sort_by(|a, b| a.0.cmp(b.0));
        let mut result = Vec::with_capacity(self.glibc_hwcaps.len());
        let mut r = 0usize;
        for &idx in &self.glibc_hwcaps {
            let Some(name) = self.hwcaps_name(idx) else {
                result.push(0);
                continue;
            };
            let name: &[u8] = name;
            let mut priority = 0;
            while let Some(&(rname, rprio)) = right.get(r) {
                match name.cmp(rname) {
                    Ordering::Equal => {
                        priority = rprio;
                        r += 1;
                        break;
                    }
                    Ordering::Less => break,
                    Ordering::Greater => r += 1,
                }
            }
            result.push(priority);
        }
        result
    }

    /// `search_cache` for `name` (rules C1, C2): binary search under
    /// [`libcmp`] over the descending table, back to the first equal key,
    /// then forward over the run of equal keys choosing the entry ld.so
    /// would open. Returns the value path.
    pub fn lookup(&self, name: &[u8], ctx: &LookupContext) -> Option<&[u8]> {
        let minor = ctx.glibc_minor.unwrap_or(36);
        // The extension bit means nothing to loaders before 2.33.
        let knows_hwcaps = minor >= 33;
        let legacy_removed = minor >= 40;
        let platform = match ctx.legacy_hwcap_mask & DL_HWCAP_PLATFORM {
            0 => u64::MAX,
            p => p,
        };
        let hwcap_exclude = !(ctx.legacy_hwcap_mask | DL_HWCAP_PLATFORM | DL_HWCAP_TLS_MASK);
        let cpu_isa_1: u32 = match ctx.isa_level {
            0 => 0,
            n if n >= 32 => u32::MAX,
            n => (1u32 << n) - 1,
        };
        let mut priorities: Option<Vec<u32>> = None;

        let key_of = |i: i64| -> Option<(&RawEntry, bool)> {
            let e = self.entries.get(usize::try_from(i).ok()?)?;
            Some((e, e.key_ok))
        };
        let mut left: i64 = 0;
        let mut right: i64 = self.entries.len() as i64 - 1;
        let mut best: Option<&[u8]> = None;
        let mut best_priority = 0u32;
        while left <= right {
            let mut middle = (left + right) / 2;
            let (entry, ok) = key_of(middle)?;
            if !ok {
                return None;
            }
            let cmpres = libcmp(name, self.bstr(entry.key));
            if cmpres == Ordering::Equal {
                left = middle;
                while middle > 0 {
                    match key_of(middle - 1) {
                        Some((e, true)) if libcmp(name, self.bstr(e.key)) == Ordering::Equal => {
                            middle -= 1;
                        }
                        _ => break,
                    }
                }
                while let Some((lib, key_ok)) = key_of(middle) {
                    if middle > left
                        && (!key_ok || libcmp(name, self.bstr(lib.key)) != Ordering::Equal)
                    {
                        break;
                    }
                    'entry: {
                        if !check_flags(lib.flags, ctx.cache_id) || !lib.value_ok {
                            break 'entry;
                        }
                        let mut named_hwcap = false;
                        if self.new_entries {
                            named_hwcap = knows_hwcaps && is_extension(lib.hwcap);
                            if named_hwcap {
                                let level =
                                    ((lib.hwcap >> 32) & DL_CACHE_HWCAP_ISA_LEVEL_MASK) as u32;
                                let bit = 1u32 << (level & 31);
                                if bit & cpu_isa_1 != bit {
                                    break 'entry;
                                }
                            }
                            if !named_hwcap && best.is_some() {
                                return best;
                            }
                            if !named_hwcap {
                                if legacy_removed {
                                    if lib.hwcap != 0 {
                                        break 'entry;
                                    }
                                } else {
                                    if lib.hwcap & hwcap_exclude != 0 {
                                        break 'entry;
                                    }
                                    let p = lib.hwcap & DL_HWCAP_PLATFORM;
                                    if p != 0 && p != platform {
                                        break 'entry;
                                    }
                                }
                            }
                            if named_hwcap {
                                let prios = priorities.get_or_insert_with(|| {
                                    self.hwcaps_priorities(&ctx.active_hwcaps)
                                });
                                let p = prios.get(lib.hwcap as u32 as usize).copied().unwrap_or(0);
                                if p == 0 {
                                    break 'entry;
                                }
                                if best.is_none() || p < best_priority {
                                    best_priority = p;
                                } else {
                                    break 'entry;
                                }
                            }
                        }
                        best = Some(self.bstr(lib.value));
                        if !named_hwcap && lib.flags == ctx.cache_id {
                            // Nothing better follows an entry of the loader's own flags.
                            return best;
                        }
                    }
                    middle += 1;
                    if middle > right {
                        break;
                    }
                }
                return best;
            }
            if cmpres == Ordering::Less {
                left = middle + 1;
            } else {
                right = middle - 1;
            }
        }
        best
    }
}

/// `_dl_cache_libcmp` (rule C1): runs of decimal digits compare by value
/// (so `libfoo.so.1`, `.01` and `.001` are equal), a digit sorts after any
/// other byte, other bytes compare as the *signed* `char`s of x86-64, and
/// the end of a string acts as a NUL. Digit runs accumulate in a wrapping
/// 32-bit `int` as compiled glibc does, so ten-digit runs compare as ld.so
/// and ldconfig compare them. A NUL inside a slice ends the string there.
pub fn libcmp(a: &[u8], b: &[u8]) -> Ordering {
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let is_digit = |c: u8| c.is_ascii_digit();
    let (mut i, mut j) = (0usize, 0usize);
    loop {
        let c1 = at(a, i);
        if c1 == 0 {
            break;
        }
        let c2 = at(b, j);
        if is_digit(c1) {
            if !is_digit(c2) {
                return Ordering::Greater;
            }
            let mut v1: i32 = 0;
            while is_digit(at(a, i)) {
                v1 = v1.wrapping_mul(10).wrapping_add(i32::from(at(a, i) - b'0'));
                i += 1;
            }
            let mut v2: i32 = 0;
            while is_digit(at(b, j)) {
                v2 = v2.wrapping_mul(10).wrapping_add(i32::from(at(b, j) - b'0'));
                j += 1;
            }
            if v1 != v2 {
                return v1.wrapping_sub(v2).cmp(&0);
            }
        } else if is_digit(c2) {
            return Ordering::Less;
        } else if c1 != c2 {
            return (c1 as i8).cmp(&(c2 as i8));
        } else {
            i += 1;
            j += 1;
        }
    }
    0i8.cmp(&(at(b, j) as i8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The 367-byte cache of loader-model.md §2.4, written by glibc 2.36
    /// `ldconfig -r ROOT` (new format).
    #[rustfmt::skip]
    const VECTOR: [u8; 367] = [
        0x67, 0x6c, 0x69, 0x62, 0x63, 0x2d, 0x6c, 0x64, 0x2e, 0x73, 0x6f, 0x2e, 0x63, 0x61, 0x63, 0x68,
        0x65, 0x31, 0x2e, 0x31, 0x04, 0x00, 0x00, 0x00, 0x6e, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x03, 0x03, 0x00, 0x00, 0xf2, 0x00, 0x00, 0x00, 0xd4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x03, 0x03, 0x00, 0x00, 0xf2, 0x00, 0x00, 0x00,
        0xc1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x03, 0x03, 0x00, 0x00, 0xf2, 0x00, 0x00, 0x00, 0xae, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x03, 0x00, 0x00, 0xa1, 0x00, 0x00, 0x00,
        0x9a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x78, 0x38, 0x36, 0x2d, 0x36, 0x34, 0x2d, 0x76, 0x33, 0x00, 0x2f, 0x6f, 0x70, 0x74, 0x2f, 0x62,
        0x2f, 0x6c, 0x69, 0x62, 0x62, 0x61, 0x72, 0x2e, 0x73, 0x6f, 0x2e, 0x30, 0x31, 0x00, 0x2f, 0x6f,
        0x70, 0x74, 0x2f, 0x62, 0x2f, 0x6c, 0x69, 0x62, 0x66, 0x6f, 0x6f, 0x2e, 0x73, 0x6f, 0x2e, 0x31,
        0x00, 0x2f, 0x6f, 0x70, 0x74, 0x2f, 0x61, 0x2f, 0x6c, 0x69, 0x62, 0x66, 0x6f, 0x6f, 0x2e, 0x73,
        0x6f, 0x2e, 0x31, 0x00, 0x2f, 0x6f, 0x70, 0x74, 0x2f, 0x61, 0x2f, 0x67, 0x6c, 0x69, 0x62, 0x63,
        0x2d, 0x68, 0x77, 0x63, 0x61, 0x70, 0x73, 0x2f, 0x78, 0x38, 0x36, 0x2d, 0x36, 0x34, 0x2d, 0x76,
        0x33, 0x2f, 0x6c, 0x69, 0x62, 0x66, 0x6f, 0x6f, 0x2e, 0x73, 0x6f, 0x2e, 0x31, 0x00, 0x00, 0x00,
        0x74, 0x21, 0xa4, 0xea, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x2c, 0x01, 0x00, 0x00, 0x43, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x28, 0x01, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x6c, 0x64, 0x63, 0x6f,
        0x6e, 0x66, 0x69, 0x67, 0x20, 0x28, 0x44, 0x65, 0x62, 0x69, 0x61, 0x6e, 0x20, 0x47, 0x4c, 0x49,
        0x42, 0x43, 0x20, 0x32, 0x2e, 0x33, 0x36, 0x2d, 0x39, 0x2b, 0x64, 0x65, 0x62, 0x31, 0x32, 0x75,
        0x31, 0x34, 0x29, 0x20, 0x73, 0x74, 0x61, 0x62, 0x6c, 0x65, 0x20, 0x72, 0x65, 0x6c, 0x65, 0x61,
        0x73, 0x65, 0x20, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x20, 0x32, 0x2e, 0x33, 0x36,
    ];

    fn ctx(active: Vec<&str>, level: u32) -> LookupContext<'_> {
        LookupContext {
            active_hwcaps: active,
            isa_level: level,
            glibc_minor: Some(36),
            legacy_hwcap_mask: x86_64_legacy_hwcap_mask(false, None),
            cache_id: DL_CACHE_DEFAULT_ID,
        }
    }

    fn v3_cpu() -> LookupContext<'static> {
        ctx(vec!["x86-64-v3", "x86-64-v2"], 3)
    }

    #[test]
    fn vector_header_and_entries_decode() {
        let c = LdCache::parse(&VECTOR).unwrap();
        assert_eq!(c.format(), Format::New);
        assert_eq!(c.len(), 4);
        assert_eq!(
            c.generator().unwrap(),
            "ldconfig (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36"
        );
        assert_eq!(c.extension_error(), None);
        let names: Vec<_> = c.glibc_hwcaps().collect();
        assert_eq!(names, vec![Some(BStr::new("x86-64-v3"))]);
        let e: Vec<_> = c.entries().collect();
        let want = [
            (
                "libfoo.so.1",
                "/opt/a/glibc-hwcaps/x86-64-v3/libfoo.so.1",
                0x4000_0000_0000_0000u64,
            ),
            ("libfoo.so.1", "/opt/a/libfoo.so.1", 0),
            ("libfoo.so.1", "/opt/b/libfoo.so.1", 0),
            ("libbar.so.01", "/opt/b/libbar.so.01", 0),
        ];
        for (got, (key, value, hwcap)) in e.iter().zip(want) {
            assert_eq!(got.flags, 0x303);
            assert_eq!(got.key, key);
            assert_eq!(got.value, value);
            assert_eq!(got.hwcap, hwcap);
            assert!(got.key_valid && got.value_valid);
        }
        assert!(e[0].is_hwcaps_extension());
        assert_eq!(e[0].hwcaps_subdir(), Some(&b"x86-64-v3"[..]));
        assert_eq!(e[0].isa_level(), Some(0));
        assert_eq!(e[0].hwcaps_index(), Some(0));
        assert!(!e[1].is_hwcaps_extension());
        assert_eq!(e[1].hwcaps_subdir(), None);
        assert_eq!(e[1].isa_level(), None);
    }

    #[test]
    fn vector_lookups_match_the_loader() {
        let c = LdCache::parse(&VECTOR).unwrap();
        let v3 = v3_cpu();
        assert_eq!(
            c.lookup(b"libfoo.so.1", &v3),
            Some(&b"/opt/a/glibc-hwcaps/x86-64-v3/libfoo.so.1"[..])
        );
        // --glibc-hwcaps-mask x86-64-v2: v3 is not active.
        let masked = ctx(vec!["x86-64-v2"], 3);
        assert_eq!(
            c.lookup(b"libfoo.so.1", &masked),
            Some(&b"/opt/a/libfoo.so.1"[..])
        );
        let none = ctx(vec![], 3);
        assert_eq!(
            c.lookup(b"libfoo.so.1", &none),
            Some(&b"/opt/a/libfoo.so.1"[..])
        );
        for n in ["libbar.so.1", "libbar.so.01", "libbar.so.001"] {
            assert_eq!(
                c.lookup(n.as_bytes(), &v3),
                Some(&b"/opt/b/libbar.so.01"[..]),
                "{n}"
            );
        }
        assert_eq!(c.lookup(b"libbaz.so.1", &v3), None);
        assert_eq!(c.lookup(b"libfoo.so.2", &v3), None);
        assert_eq!(c.lookup(b"", &v3), None);
    }

    #[test]
    fn isa_level_of_an_entry_must_be_supported() {
        // Rewrite entry 0's ISA level to 2 (x86-64-v3 needed): a v2 CPU
        // with v3 nevertheless "active" must not take it.
        let mut v = VECTOR;
        v[48 + 20] = 2;
        let c = LdCache::parse(&v).unwrap();
        assert_eq!(c.entry(0).unwrap().isa_level(), Some(2));
        let v2cpu = ctx(vec!["x86-64-v3", "x86-64-v2"], 2);
        assert_eq!(
            c.lookup(b"libfoo.so.1", &v2cpu),
            Some(&b"/opt/a/libfoo.so.1"[..])
        );
        assert_eq!(
            c.lookup(b"libfoo.so.1", &v3_cpu()),
            Some(&b"/opt/a/glibc-hwcaps/x86-64-v3/libfoo.so.1"[..])
        );
    }

    #[test]
    fn wrong_flags_and_legacy_hwcaps() {
        let mut v = VECTOR;
        // Entry 1 (/opt/a) becomes an i386 entry: skipped on x86-64.
        v[48 + 24] = 0x03;
        v[48 + 25] = 0x00;
        let c = LdCache::parse(&v).unwrap();
        assert_eq!(
            c.lookup(b"libfoo.so.1", &ctx(vec![], 3)),
            Some(&b"/opt/b/libfoo.so.1"[..])
        );

        // Entry 1 gets the legacy x86_64 hwcap bit.
        let mut v = VECTOR;
        v[48 + 24 + 16] = 2;
        let c = LdCache::parse(&v).unwrap();
        let mut cx = ctx(vec![], 3);
        assert_eq!(
            c.lookup(b"libfoo.so.1", &cx),
            Some(&b"/opt/a/libfoo.so.1"[..])
        );
        cx.legacy_hwcap_mask = 0;
        assert_eq!(
            c.lookup(b"libfoo.so.1", &cx),
            Some(&b"/opt/b/libfoo.so.1"[..])
        );
        cx.legacy_hwcap_mask = HWCAP_X86_64;
        cx.glibc_minor = Some(40);
        assert_eq!(
            c.lookup(b"libfoo.so.1", &cx),
            Some(&b"/opt/b/libfoo.so.1"[..])
        );

        // A haswell platform entry: only for the haswell platform.
        let mut v = VECTOR;
        v[48 + 24 + 16 + 6] = 0x04; // bit 50
        let c = LdCache::parse(&v).unwrap();
        let mut cx = ctx(vec![], 3);
        assert_eq!(
            c.lookup(b"libfoo.so.1", &cx),
            Some(&b"/opt/b/libfoo.so.1"[..])
        );
        cx.legacy_hwcap_mask = x86_64_legacy_hwcap_mask(false, Some("haswell"));
        assert_eq!(
            c.lookup(b"libfoo.so.1", &cx),
            Some(&b"/opt/a/libfoo.so.1"[..])
        );

        // The tls bit is always acceptable to 2.36.
        let mut v = VECTOR;
        v[48 + 24 + 16 + 7] = 0x80;
        let c = LdCache::parse(&v).unwrap();
        assert_eq!(
            c.lookup(b"libfoo.so.1", &ctx(vec![], 3)),
            Some(&b"/opt/a/libfoo.so.1"[..])
        );
    }

    #[test]
    fn bogus_key_offset_aborts_the_lookup() {
        let mut v = VECTOR;
        // Entry 3's key points past the end of the file.
        v[48 + 72 + 4] = 0xff;
        v[48 + 72 + 5] = 0xff;
        let c = LdCache::parse(&v).unwrap();
        assert!(!c.entry(3).unwrap().key_valid);
        assert_eq!(c.lookup(b"libbar.so.01", &v3_cpu()), None);
    }

    #[test]
    fn endianness_and_magic_guards() {
        let mut v = VECTOR;
        v[28] = 3;
        assert_eq!(LdCache::parse(&v).unwrap_err(), CacheError::WrongEndian(3));
        v[28] = 0;
        assert!(LdCache::parse(&v).is_ok());
        let mut v = VECTOR;
        v[20] = 200;
        assert!(matches!(
            LdCache::parse(&v),
            Err(CacheError::Truncated { nlibs: 200, .. })
        ));
        assert_eq!(
            LdCache::parse(&VECTOR[..48]).unwrap_err(),
            CacheError::TooShort(48)
        );
        assert_eq!(LdCache::parse(b"").unwrap_err(), CacheError::BadMagic);
        assert_eq!(
            LdCache::parse(b"ld.so-1.7.0").unwrap_err(),
            CacheError::TooShort(11)
        );
    }

    #[test]
    fn bad_extension_keeps_entries_but_loses_hwcaps() {
        let mut v = VECTOR;
        v[0x100] = 0; // extension magic
        let c = LdCache::parse(&v).unwrap();
        assert_eq!(c.len(), 4);
        assert!(c.extension_error().is_some());
        assert_eq!(c.generator(), None);
        assert_eq!(c.entry(0).unwrap().hwcaps_subdir(), None);
        // Without priorities the hwcaps entry is never chosen.
        assert_eq!(
            c.lookup(b"libfoo.so.1", &v3_cpu()),
            Some(&b"/opt/a/libfoo.so.1"[..])
        );
    }

    /// Old and compat files built by hand from the vector's strings.
    fn old_file(with_new: bool) -> Vec<u8> {
        let strings = b"libbar.so.01\0/opt/b/libbar.so.01\0libfoo.so.1\0/opt/a/libfoo.so.1\0";
        let mut f = Vec::new();
        f.extend_from_slice(b"ld.so-1.7.0\0");
        f.extend_from_slice(&2u32.to_le_bytes());
        for (flags, key, value) in [(0x303u32, 33u32, 45u32), (0x303, 0, 13)] {
            f.extend_from_slice(&flags.to_le_bytes());
            f.extend_from_slice(&key.to_le_bytes());
            f.extend_from_slice(&value.to_le_bytes());
        }
        if with_new {
            // 16 + 24 = 40: already 8-aligned.
            let new = &VECTOR;
            f.extend_from_slice(new);
        } else {
            f.extend_from_slice(strings);
        }
        f
    }

    #[test]
    fn old_and_compat_layouts() {
        let old = LdCache::parse(&old_file(false)).unwrap();
        assert_eq!(old.format(), Format::Old);
        let keys: Vec<_> = old
            .entries()
            .map(|e| (e.key.to_string(), e.value.to_string()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("libfoo.so.1".to_string(), "/opt/a/libfoo.so.1".to_string()),
                (
                    "libbar.so.01".to_string(),
                    "/opt/b/libbar.so.01".to_string()
                )
            ]
        );
        assert_eq!(
            old.lookup(b"libbar.so.1", &v3_cpu()),
            Some(&b"/opt/b/libbar.so.01"[..])
        );
        assert_eq!(old.entry(0).unwrap().hwcaps_subdir(), None);

        let compat = LdCache::parse(&old_file(true)).unwrap();
        assert_eq!(compat.format(), Format::Compat);
        assert_eq!(compat.len(), 4);
        // The extension offsets are absolute in the file; the vector's are
        // relative to its own start, so here the directory is not found.
        assert!(compat.extension_error().is_some());
        assert_eq!(compat.entry(1).unwrap().value, "/opt/a/libfoo.so.1");
    }

    #[test]
    fn libcmp_is_glibcs() {
        use Ordering::*;
        assert_eq!(libcmp(b"libfoo.so.1", b"libfoo.so.01"), Equal);
        assert_eq!(libcmp(b"libfoo.so.001", b"libfoo.so.1"), Equal);
        assert_eq!(libcmp(b"libfoo.so.10", b"libfoo.so.9"), Greater);
        assert_eq!(libcmp(b"libfoo.so.1", b"libfoo.so.1.2"), Less);
        assert_eq!(libcmp(b"libfoo.so", b"libfoo.so.1"), Less);
        assert_eq!(libcmp(b"lib1", b"liba"), Greater);
        assert_eq!(libcmp(b"liba", b"lib1"), Less);
        assert_eq!(libcmp(b"libz", b"liba"), Greater);
        // Signed chars: a UTF-8 byte sorts below ASCII and below the end.
        assert_eq!(libcmp("libé".as_bytes(), b"libz"), Less);
        assert_eq!(libcmp("libé".as_bytes(), b"lib"), Less);
        assert_eq!(libcmp(b"", b""), Equal);
        assert_eq!(libcmp(b"a\0b", b"a"), Equal);
        // Wrapping 32-bit accumulation: 2^32 + 1 wraps to 1.
        assert_eq!(libcmp(b"x4294967297", b"x1"), Equal);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(c) = LdCache::parse(&bytes) {
                for e in c.entries() {
                    let _ = (e.hwcaps_subdir(), e.isa_level());
                }
                let _ = c.lookup(b"libfoo.so.1", &v3_cpu());
            }
        }

        #[test]
        fn random_bytes_behind_a_magic_never_panic(
            magic in 0usize..2,
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let mut f = if magic == 0 { CACHEMAGIC_VERSION_NEW.to_vec() } else { b"ld.so-1.7.0\0".to_vec() };
            f.extend_from_slice(&bytes);
            if let Ok(c) = LdCache::parse(&f) {
                prop_assert!(c.len() <= f.len() / 12);
                for e in c.entries() {
                    let _ = (e.hwcaps_subdir(), e.isa_level(), e.key, e.value);
                }
                let _ = c.lookup(b"libfoo.so.1", &v3_cpu());
                let _ = c.lookup(b"", &v3_cpu());
            }
        }

        #[test]
        fn truncations_and_corruptions_never_panic(
            cut in 0usize..=367,
            flips in proptest::collection::vec((0usize..367, any::<u8>()), 0..8),
        ) {
            let mut v = VECTOR.to_vec();
            for (i, b) in flips {
                v[i] = b;
            }
            v.truncate(cut);
            if let Ok(c) = LdCache::parse(&v) {
                for e in c.entries() {
                    let _ = (e.hwcaps_subdir(), e.isa_level());
                }
                for n in ["libfoo.so.1", "libbar.so.1", "libbaz.so.1"] {
                    let _ = c.lookup(n.as_bytes(), &v3_cpu());
                }
            }
        }

        #[test]
        fn libcmp_is_antisymmetric(a in "[a-c0-9.\u{e9}]{0,9}", b in "[a-c0-9.\u{e9}]{0,9}") {
            prop_assert_eq!(libcmp(a.as_bytes(), b.as_bytes()), libcmp(b.as_bytes(), a.as_bytes()).reverse());
        }
    }
}
