//! The export index on hand-made symbols, and the run's budgets on real
//! libraries.

use super::*;

/// The export index answers as a scan of the symbol table would: only
/// defined global, weak or unique symbols of default or protected
/// visibility, found by exact name and by prefix.
#[test]
fn export_index_answers_as_a_scan() {
    let sym = |name: &str, bind: u8, visibility: u8, shndx: u16| Symbol {
        name: name.into(),
        bind,
        kind: 2,
        visibility,
        shndx,
        value: 16,
        size: 0,
        version: None,
    };
    let f = ElfFacts {
        symbols: vec![
            sym("", 0, 0, 0),
            sym("SSL_new", 1, 0, 12),
            sym("SSL_free", 2, 0, 12),
            sym("SSL_local", 0, 0, 12),
            sym("SSL_hidden", 1, 2, 12),
            sym("SSL_undef", 1, 0, 0),
            sym("SSL_new", 1, 0, 0),
            sym("EVP_x", 10, 3, 12),
        ],
        ..ElfFacts::default()
    };
    assert_eq!(
        f.exports_from("SSL_").collect::<Vec<_>>(),
        ["SSL_free", "SSL_new"]
    );
    assert_eq!(f.exports_from("").count(), 3);
    assert!(f.exports_name("EVP_x") && f.exports_name("SSL_new"));
    for no in ["SSL_", "SSL_local", "SSL_hidden", "SSL_undef", "EVP"] {
        assert!(!f.exports_name(no), "{no}");
    }
    assert_eq!(
        f.named(b"SSL_new").map(|s| s.shndx).collect::<Vec<_>>(),
        [12, 0]
    );
    assert_eq!(f.named(b"nothing").count(), 0);
}

/// The run's budget is shared by every file: once a file has used it
/// up, the next file's first read fails and names the run's budget,
/// and a charge that would pass a budget leaves the counts as they
/// were (nothing is allocated for it).
#[test]
fn meter_charges_file_and_run() {
    static RUN: AtomicU64 = AtomicU64::new(0);
    let first = Meter::with_limits(1000, &RUN, 1500);
    assert!(first.charge(900));
    assert!(!first.charge(101));
    assert_eq!(first.over.get(), Some(Over::File));
    assert_eq!(first.used.get(), 900);
    assert!(!first.charge(1), "over stays over");
    let second = Meter::with_limits(1000, &RUN, 1500);
    assert!(second.charge(600));
    assert!(!second.charge(1));
    assert_eq!(second.over.get(), Some(Over::Run));
    assert_eq!(RUN.load(Ordering::Relaxed), 1500);
    assert!(
        Over::Run
            .text()
            .contains("budget exceeded: ELF_BYTES_PER_RUN (16 GiB)")
    );
}

/// A repeated read is served by the cache and costs nothing more; a
/// new range costs its bytes and an entry.
#[test]
fn repeated_reads_are_charged_once() {
    static RUN: AtomicU64 = AtomicU64::new(0);
    let m = Meter::with_limits(10_000, &RUN, u64::MAX);
    assert!(m.charge_entry((0, 100), 100));
    assert!(m.charge_entry((0, 100), 100));
    assert_eq!(m.used.get(), 100 + ENTRY_COST);
    assert!(m.charge_entry((1, 100), 100));
    assert_eq!(m.used.get(), 2 * (100 + ENTRY_COST));
}

/// A real file (this test's own executable, a large PIE with a few
/// thousand dynamic symbols) reads within a small part of the budget.
#[test]
fn a_real_library_is_far_within_budget() {
    let path = std::env::current_exe().unwrap();
    let file = File::open(&path).unwrap();
    let len = file.metadata().unwrap().len();
    let m = Meter::new();
    let facts = read_metered(file, len, Detail::Symbols, &m).unwrap();
    assert!(!facts.needed.is_empty(), "{facts:?}");
    assert!(
        m.used.get() < budget::ELF_BYTES_PER_FILE / 8,
        "{}",
        m.used.get()
    );
    assert_eq!(m.over.get(), None);
}
