//! Hostile elf input (issue 13): ELF files whose fields ask for far more
//! memory than the file holds. Each is written by hand here (an ELF64
//! shared object with a `PT_LOAD` over the whole file, so that every
//! address is its own offset) and given to `soclash deps`, or to `soclash
//! scan` as a root's httpd for the cases that need the symbol tables.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::harness;

use crate::common::tempdir;

pub(super) const PT_LOAD: u32 = 1;
pub(super) const PT_DYNAMIC: u32 = 2;
pub(super) const PT_NOTE: u32 = 4;
pub(super) const DT_NEEDED: u64 = 1;
pub(super) const DT_HASH: u64 = 4;
pub(super) const DT_STRTAB: u64 = 5;
pub(super) const DT_SYMTAB: u64 = 6;
pub(super) const DT_STRSZ: u64 = 10;
pub(super) const DT_SYMENT: u64 = 11;

/// A program header: type, file offset, size in the file.
pub(super) struct Ph(pub u32, pub u64, pub u64);

/// Writes an x86-64 `ET_DYN` of `len` bytes (sparse past what is
/// written) with `phdrs` after a `PT_LOAD` of the whole file, and `data`
/// at the given offsets.
pub(super) fn write_elf(path: &Path, len: u64, phdrs: &[Ph], data: &[(u64, Vec<u8>)]) {
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    h.extend_from_slice(&3u16.to_le_bytes()); // ET_DYN
    h.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes()); // e_entry
    h.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    h.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    h.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    h.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    h.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    let phnum = u16::try_from(phdrs.len() + 1).expect("fewer than 65535 headers");
    h.extend_from_slice(&phnum.to_le_bytes());
    h.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
    let load = Ph(PT_LOAD, 0, len);
    let all = std::iter::once(&load).chain(phdrs);
    for Ph(kind, offset, size) in all {
        h.extend_from_slice(&kind.to_le_bytes());
        h.extend_from_slice(&4u32.to_le_bytes()); // PF_R
        for v in [*offset, *offset, *offset, *size, *size, 4] {
            h.extend_from_slice(&v.to_le_bytes());
        }
    }
    let f = File::create(path).unwrap();
    f.set_len(len).unwrap();
    f.write_all_at(&h, 0).unwrap();
    for (offset, bytes) in data {
        f.write_all_at(bytes, *offset).unwrap();
    }
}

/// A dynamic section of `(tag, value)` pairs, with its `DT_NULL`.
pub(super) fn dynamic(entries: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, val) in entries.iter().chain([&(0, 0)]) {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&val.to_le_bytes());
    }
    out
}

fn deps(dir: &Path, file: &Path) -> harness::Run {
    let file = file.to_str().unwrap();
    let run = harness::run(dir, &["deps", file], &[], harness::DEADLINE);
    eprintln!(
        "deps: {:.1} s, {} MB, exit {:?}",
        run.secs, run.peak_rss_mb, run.code
    );
    run
}

/// 4,000 `PT_NOTE` headers of 1 MiB each, overlapping in a 1.4 MB file:
/// each was a separate 1 MiB entry of the read cache (4.1 GB), and
/// parsing them took minutes.
#[test]
fn many_large_note_segments() {
    let dir = tempdir();
    let file = dir.path().join("libnotes.so");
    let notes: Vec<Ph> = (0..4000u64)
        .map(|i| Ph(PT_NOTE, (256 << 10) + i * 16, 1 << 20))
        .collect();
    write_elf(&file, 1_400_000, &notes, &[]);
    let run = deps(dir.path(), &file);
    run.assert_bounded(harness::DEADLINE);
    run.assert_names_budget("ELF_NOTE_BYTES");
}

/// 8,000 `DT_NEEDED` into a string table without a NUL: each name was
/// read on in growing blocks, each block a new cache entry (2.7 GB).
#[test]
fn many_needed_into_unterminated_strings() {
    let dir = tempdir();
    let file = dir.path().join("libneeded.so");
    let (dyn_at, str_at, str_len) = (4096u64, 200_000u64, 600_000u64);
    let mut entries = vec![(DT_STRTAB, str_at), (DT_STRSZ, str_len)];
    entries.extend((0..8000u64).map(|i| (DT_NEEDED, i * 64)));
    write_elf(
        &file,
        str_at + str_len,
        &[Ph(PT_DYNAMIC, dyn_at, 8002 * 16 + 16)],
        &[
            (dyn_at, dynamic(&entries)),
            (str_at, vec![b'a'; str_len as usize]),
        ],
    );
    let run = deps(dir.path(), &file);
    run.assert_bounded(harness::DEADLINE);
    run.assert_names_budget("ELF_BYTES_PER_FILE");
}

/// A 1 GiB sparse file (a few KiB on disk) whose `DT_HASH` claims 2^32-1
/// symbols: the symbol table the file could hold was read whole and a
/// `Symbol` made of each (5.6 GB, or SIGABRT). Read as a root's httpd by
/// `soclash image` and by `scan`, since only modelling a process needs
/// the symbol tables: the scan's report carries the model that failed.
#[test]
fn huge_hash_nchain_in_a_sparse_file() {
    let dir = tempdir();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("usr/sbin")).unwrap();
    // A configuration, so that the scan models the httpd process.
    std::fs::create_dir_all(root.join("etc/apache2")).unwrap();
    std::fs::write(
        root.join("etc/apache2/apache2.conf"),
        "ServerRoot /etc/apache2\n",
    )
    .unwrap();
    let file = root.join("usr/sbin/apache2");
    let (dyn_at, hash_at, str_at, sym_at) = (4096u64, 8192u64, 8256u64, 16384u64);
    let mut hash = 1u32.to_le_bytes().to_vec();
    hash.extend_from_slice(&u32::MAX.to_le_bytes());
    write_elf(
        &file,
        1 << 30,
        &[Ph(PT_DYNAMIC, dyn_at, 6 * 16 + 16)],
        &[
            (
                dyn_at,
                dynamic(&[
                    (DT_HASH, hash_at),
                    (DT_STRTAB, str_at),
                    (DT_STRSZ, 16),
                    (DT_SYMTAB, sym_at),
                    (DT_SYMENT, 24),
                ]),
            ),
            (hash_at, hash),
            (str_at, b"\0libc.so.6\0".to_vec()),
        ],
    );
    let run = harness::run(
        dir.path(),
        &["image", "--root", root.to_str().unwrap()],
        &[],
        harness::DEADLINE,
    );
    eprintln!(
        "image: {:.1} s, {} MB, exit {:?}",
        run.secs, run.peak_rss_mb, run.code
    );
    run.assert_bounded(harness::DEADLINE);
    run.assert_names_budget("ELF_BYTES_PER_FILE");

    let run = harness::run(
        dir.path(),
        &["scan", "--root", root.to_str().unwrap(), "--format", "json"],
        &[],
        harness::DEADLINE,
    );
    run.assert_bounded(harness::DEADLINE);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let errors = report["errors"].as_array().unwrap();
    let modelled = "the apache process could not be modelled: budget exceeded: ELF_BYTES_PER_FILE";
    assert!(
        errors.iter().any(|e| e["path"] == "/usr/sbin/apache2"
            && e["reason"].as_str().unwrap().contains(modelled)),
        "{errors:#?}"
    );
}
