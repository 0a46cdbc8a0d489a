//! Recognising a copy without parsing it: what a parse read (its ranges
//! and a keyed digest of their bytes), and the check that another file of
//! the same size holds the same bytes there. Forty copied virtualenvs are
//! parsed once this way (`resolve::Loader`'s `by_content`).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::{Detail, Error, Meter, Over, PREFIX};

/// The most reads a [`Fingerprint`] keeps: a file whose parse took more
/// (tens of thousands of scattered strings) is parsed again rather than
/// its reads kept for the whole run.
const FINGERPRINT_RANGES: usize = 1024;

/// The bytes a parse read, as it read them: every range in order, fed to
/// a keyed hash whose key is drawn at random once per run ([`Digest`]), so
/// a crafted file cannot be made to collide with another on purpose.
#[derive(Debug)]
pub(super) struct Trace {
    ranges: Vec<(u64, u64)>,
    digest: Digest,
    /// The first read and the digest of its bytes alone.
    head: Option<((u64, u64), (u64, u64))>,
}

impl Trace {
    pub(super) fn new() -> Trace {
        Trace {
            ranges: Vec::new(),
            digest: Digest::new(),
            head: None,
        }
    }

    pub(super) fn add(&mut self, at: u64, bytes: &[u8]) {
        if self.ranges.is_empty() && at == 0 {
            let mut d = Digest::new();
            d.add(bytes);
            self.head = Some(((at, bytes.len() as u64), d.finish()));
        }
        if self.ranges.len() > FINGERPRINT_RANGES {
            return;
        }
        let n = bytes.len() as u64;
        // Reads one after the other are one range: the digest is of the
        // bytes alone, in order, so it does not see the seam.
        match self.ranges.last_mut() {
            Some(last) if last.0.checked_add(last.1) == Some(at) => last.1 += n,
            _ => self.ranges.push((at, n)),
        }
        self.digest.add(bytes);
    }

    pub(super) fn finish(self, len: u64, detail: Detail) -> Option<Fingerprint> {
        (self.ranges.len() <= FINGERPRINT_RANGES).then(|| Fingerprint {
            len,
            detail,
            // Only a first read of the first KiB is what `head` reads.
            head: self
                .head
                .filter(|(first, _)| *first == (0, len.min(PREFIX)))
                .map(|(_, h)| (len, h)),
            ranges: self.ranges,
            digest: self.digest.finish(),
        })
    }
}

/// Keyed BLAKE3, cut to 128 bits: the key is drawn per run, so no file
/// can be made to share another's digest. BLAKE3 rather than SipHash, which
/// cost 5% of a scan of 40 copied virtualenvs in checking the copies.
#[derive(Debug)]
struct Digest {
    hasher: blake3::Hasher,
    /// Bytes not yet hashed: a parse reads many small ranges, and BLAKE3
    /// hashes several 1 KiB chunks at once (SIMD) only when given them
    /// together, one block at a time otherwise.
    pending: Vec<u8>,
}

/// How many bytes [`Digest`] gathers before hashing them.
const DIGEST_BATCH: usize = 64 * 1024;

impl Digest {
    fn new() -> Digest {
        use std::hash::{BuildHasher, Hasher};
        static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
        let key = KEY.get_or_init(|| {
            // The standard library's per-process random keys, the one
            // source of randomness it offers.
            let mut key = [0; 32];
            for (i, part) in key.chunks_exact_mut(8).enumerate() {
                let mut h = std::hash::RandomState::new().build_hasher();
                h.write_usize(i);
                part.copy_from_slice(&h.finish().to_le_bytes());
            }
            key
        });
        Digest {
            hasher: blake3::Hasher::new_keyed(key),
            pending: Vec::with_capacity(DIGEST_BATCH),
        }
    }

    /// Streams `bytes` in: adding `a` then `b` is adding `a` and `b`
    /// joined. `pending` never outgrows its first allocation: it is hashed
    /// before it would.
    fn add(&mut self, bytes: &[u8]) {
        if self.pending.len() + bytes.len() > DIGEST_BATCH {
            self.hasher.update(&self.pending);
            self.pending.clear();
        }
        if bytes.len() >= DIGEST_BATCH {
            self.hasher.update(bytes);
        } else {
            self.pending.extend_from_slice(bytes);
        }
    }

    fn finish(mut self) -> (u64, u64) {
        self.hasher.update(&self.pending);
        let out = self.hasher.finalize();
        let b = out.as_bytes();
        let word = |at: usize| {
            let mut w = [0; 8];
            w.copy_from_slice(b.get(at..at + 8).unwrap_or(&[0; 8]));
            u64::from_le_bytes(w)
        };
        (word(0), word(8))
    }
}

/// What the parse of one file read (its size, every range, a keyed
/// digest of their bytes). The parse is a function of the bytes it reads
/// and of the size alone, and which range it reads next depends only on
/// the bytes read before, so a file of the same size with the same bytes
/// at those ranges yields the same facts: a copy is recognised by
/// reading what its parse would read, without parsing.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    len: u64,
    detail: Detail,
    head: Option<Head>,
    ranges: Vec<(u64, u64)>,
    digest: (u64, u64),
}

/// A file's size and the keyed digest of its first KiB.
pub type Head = (u64, (u64, u64));

/// The [`Head`] of a file of `len` bytes: one read of its first KiB,
/// which its parse would read first.
pub fn head(file: &File, len: u64) -> io::Result<Head> {
    let mut buf = vec![0; usize::try_from(len.min(PREFIX)).unwrap_or(0)];
    file.read_exact_at(&mut buf, 0)?;
    let mut d = Digest::new();
    d.add(&buf);
    Ok((len, d.finish()))
}

impl Fingerprint {
    /// The file's size.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The key to find candidates by: the size and the digest of the
    /// first range the parse read, the file's first KiB (ELF and program
    /// headers), as [`head`] gives it for another file.
    pub fn head(&self) -> Option<Head> {
        self.head
    }

    /// Whether `file` (of `len` bytes) holds the same bytes at every range
    /// this parse read, so its facts at `detail` are this file's. The
    /// bytes read are charged to the run's budget as a parse's are.
    pub fn matches(&self, file: &File, len: u64, detail: Detail) -> Result<bool, Error> {
        if len != self.len || detail != self.detail {
            return Ok(false);
        }
        let total = self
            .ranges
            .iter()
            .map(|r| r.1)
            .fold(0u64, u64::saturating_add);
        let meter = Meter::new();
        if !meter.charge(total) {
            return Err(Error::Budget(meter.over.get().unwrap_or(Over::Run).text()));
        }
        let mut digest = Digest::new();
        // Small ranges near each other come from one read spanning them: a
        // parse reads headers, tables and strings a few at a time, and a
        // read per range was most of the system calls a copied virtualenv
        // cost. A read spans at most `WINDOW` bytes and ends where its last
        // range does, not a whole window past it; a longer range is read
        // in pieces of at most `PIECE`.
        const WINDOW: u64 = 32 * 1024;
        const PIECE: u64 = 256 * 1024;
        // Every window fits without growing it; a long range's pieces grow
        // it once.
        let mut buf: Vec<u8> = Vec::with_capacity(WINDOW as usize);
        let read = |buf: &mut Vec<u8>, at: u64, n: u64| -> Result<bool, Error> {
            buf.resize(
                usize::try_from(n).map_err(|_| Error::Unsupported("range"))?,
                0,
            );
            match file.read_exact_at(buf, at) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
                Err(e) => Err(Error::Io(e)),
            }
        };
        let end_of = |(at, n): (u64, u64)| at.checked_add(n).filter(|&e| e <= len);
        let mut i = 0;
        while let Some(&(at, n)) = self.ranges.get(i) {
            let Some(end) = end_of((at, n)) else {
                return Ok(false);
            };
            if n > WINDOW {
                let mut from = at;
                while from < end {
                    let piece = PIECE.min(end - from);
                    if !read(&mut buf, from, piece)? {
                        return Ok(false);
                    }
                    digest.add(&buf);
                    from += piece;
                }
                i += 1;
                continue;
            }
            // The ranges after it, in the parse's order, that one read from
            // `at` covers.
            let mut upto = end;
            let mut next = i + 1;
            while let Some(&r) = self.ranges.get(next) {
                match end_of(r) {
                    Some(e) if r.0 >= at && e - at <= WINDOW => upto = upto.max(e),
                    _ => break,
                }
                next += 1;
            }
            if !read(&mut buf, at, upto - at)? {
                return Ok(false);
            }
            for &(a, m) in self.ranges.get(i..next).unwrap_or_default() {
                let from = usize::try_from(a - at).map_err(|_| Error::Unsupported("range"))?;
                let to = usize::try_from(a - at + m).map_err(|_| Error::Unsupported("range"))?;
                match buf.get(from..to) {
                    Some(bytes) => digest.add(bytes),
                    None => return Ok(false),
                }
            }
            i = next;
        }
        Ok(digest.finish() == self.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ElfFacts, read, read_fingerprinted};
    use super::*;

    /// A copy of libc with the byte at `at` changed, and its size.
    fn libc_with(dir: &std::path::Path, name: &str, at: Option<u64>) -> (File, u64) {
        let mut bytes = std::fs::read("/lib/x86_64-linux-gnu/libc.so.6").expect("read libc");
        if let Some(b) = at.and_then(|at| bytes.get_mut(at as usize)) {
            *b ^= 0xff;
        }
        let path = dir.join(name);
        std::fs::write(&path, &bytes).expect("write the copy");
        (
            File::open(&path).expect("open the copy"),
            bytes.len() as u64,
        )
    }

    fn json(f: &ElfFacts) -> String {
        serde_json::to_string(f).expect("facts serialise")
    }

    /// A copy matches its original's fingerprint, and a file changed
    /// inside a range the parse read does not; one changed only where the
    /// parse never reads matches, and parsing it gives the same facts:
    /// what makes taking a match's facts sound.
    #[test]
    fn fingerprint_matches_what_the_parse_would_see() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (orig, len) = libc_with(dir.path(), "orig", None);
        let (facts, print) = read_fingerprinted(orig, len, Detail::Symbols);
        let facts = facts.expect("libc parses");
        let print = print.expect("libc has a fingerprint");
        assert!(print.ranges.len() > 2, "{:?}", print.ranges);
        let (copy, _) = libc_with(dir.path(), "copy", None);
        assert!(
            print
                .matches(&copy, len, Detail::Symbols)
                .expect("read the copy")
        );
        assert_eq!(print.head(), Some(head(&copy, len).expect("head")));
        assert!(!print.matches(&copy, len, Detail::Linking).expect("read"));
        assert!(
            !print
                .matches(&copy, len + 1, Detail::Symbols)
                .expect("read")
        );
        // The last byte of the last range read.
        let &(at, n) = print.ranges.last().expect("a range");
        let (inside, _) = libc_with(dir.path(), "inside", Some(at + n - 1));
        assert!(!print.matches(&inside, len, Detail::Symbols).expect("read"));
        // Inside the longest range (read alone) and inside a short one
        // read with its neighbours.
        let longest = *print.ranges.iter().max_by_key(|r| r.1).expect("a range");
        assert!(longest.1 > 32 * 1024, "no range read alone: {longest:?}");
        let short = *print
            .ranges
            .iter()
            .find(|r| r.0 >= PREFIX && r.1 < 64)
            .expect("a short range");
        for (k, (at, n)) in [longest, short].into_iter().enumerate() {
            let (changed, _) = libc_with(dir.path(), &format!("in{k}"), Some(at + n / 2));
            assert!(
                !print.matches(&changed, len, Detail::Symbols).expect("read"),
                "a byte changed at {} of ({at}, {n})",
                at + n / 2
            );
        }
        // A byte no range covers (code, say).
        let unread = (PREFIX..len)
            .find(|&b| print.ranges.iter().all(|&(at, n)| b < at || b >= at + n))
            .expect("a byte the parse does not read");
        let (outside, _) = libc_with(dir.path(), "outside", Some(unread));
        assert!(print.matches(&outside, len, Detail::Symbols).expect("read"));
        let again = read(outside, Detail::Symbols).expect("parses");
        assert_eq!(json(&again), json(&facts));
    }

    /// A range longer than one read is checked in pieces, every piece of
    /// it: a byte changed in the middle of the second piece is seen.
    #[test]
    fn fingerprint_checks_a_long_range_piece_by_piece() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bytes: Vec<u8> = (0u32..700_000)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let ranges = vec![(100u64, 600_000u64), (5, 10)];
        let mut d = Digest::new();
        for &(at, n) in &ranges {
            d.add(&bytes[at as usize..(at + n) as usize]);
        }
        let print = Fingerprint {
            len: bytes.len() as u64,
            detail: Detail::Symbols,
            head: None,
            ranges,
            digest: d.finish(),
        };
        let file = |name: &str, flip: Option<usize>| {
            let mut b = bytes.clone();
            if let Some(at) = flip {
                b[at] ^= 1;
            }
            let path = dir.path().join(name);
            std::fs::write(&path, &b).expect("write");
            File::open(&path).expect("open")
        };
        let len = bytes.len() as u64;
        assert!(
            print
                .matches(&file("same", None), len, Detail::Symbols)
                .expect("read")
        );
        for at in [100 + 300_000, 100 + 599_999, 9] {
            assert!(
                !print
                    .matches(&file("changed", Some(at)), len, Detail::Symbols)
                    .expect("read"),
                "a byte changed at {at}"
            );
        }
        assert!(
            print
                .matches(&file("outside", Some(650_000)), len, Detail::Symbols)
                .expect("read")
        );
    }
}
