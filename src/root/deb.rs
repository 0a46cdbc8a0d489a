//! Unpacking a `.deb` into a directory for `scan --overlay-deb`, without
//! running dpkg: the `ar` archive's `control.tar.*` gives the package's
//! name and version, its `data.tar.*` (gzip, xz, zstd or plain) the files.
//!
//! A package is input like any other: only directories, regular files and
//! symlinks are unpacked (never a device, FIFO or hard link outside the
//! tree), paths that climb out with `..` are refused by `tar`, and the
//! unpacked size and entry count are capped.

use std::io::{self, Read};
use std::path::Path;

/// Most bytes a package may unpack to.
const MAX_UNPACKED: u64 = 4 << 30;
/// Most entries a package's data may have.
const MAX_ENTRIES: usize = 1 << 20;
/// Largest control archive read (it holds a few text files).
const MAX_CONTROL: u64 = 16 << 20;

/// A package's name and version, from its control file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub package: String,
    pub version: String,
    /// The `postinst` maintainer script's text, read (never run) to see
    /// what installing the package would enable.
    pub postinst: Option<String>,
}

/// Why a package could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum DebError {
    #[error("not a Debian package: {0}")]
    Format(String),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Unpacks the package at `deb` into `dest` (an empty directory) and
/// returns the package it is, from its control file.
pub fn unpack(deb: &Path, dest: &Path) -> Result<Control, DebError> {
    let file = std::fs::File::open(deb)?;
    let mut archive = ar::Archive::new(io::BufReader::new(file));
    let mut package = None;
    let mut unpacked = false;
    while let Some(entry) = archive.next_entry() {
        let entry = entry.map_err(|e| DebError::Format(e.to_string()))?;
        let name = String::from_utf8_lossy(entry.header().identifier()).into_owned();
        if let Some(ext) = name.strip_prefix("control.tar") {
            let mut control = Vec::new();
            decompress(ext, entry)?
                .take(MAX_CONTROL)
                .read_to_end(&mut control)?;
            package = Some(control_package(&control)?);
        } else if let Some(ext) = name.strip_prefix("data.tar") {
            unpack_data(decompress(ext, entry)?, dest)?;
            unpacked = true;
        }
    }
    match (package, unpacked) {
        (Some(p), true) => Ok(p),
        (None, _) => Err(DebError::Format("no control.tar member".into())),
        (_, false) => Err(DebError::Format("no data.tar member".into())),
    }
}

/// A decompressing reader for a `*.tar<ext>` member.
fn decompress<'a>(ext: &str, r: impl Read + 'a) -> Result<Box<dyn Read + 'a>, DebError> {
    Ok(match ext {
        "" => Box::new(r),
        ".gz" => Box::new(flate2::read::GzDecoder::new(r)),
        ".xz" => Box::new(liblzma::read::XzDecoder::new(r)),
        ".zst" => Box::new(zstd::stream::read::Decoder::new(r)?),
        other => {
            return Err(DebError::Format(format!(
                "unsupported compression tar{other}"
            )));
        }
    })
}

/// `Package` and `Version` of the `./control` file in a control tarball,
/// and its `postinst`.
fn control_package(tarball: &[u8]) -> Result<Control, DebError> {
    let mut tar = tar::Archive::new(tarball);
    let mut control = None;
    let mut postinst = None;
    for entry in tar.entries()? {
        let entry = entry?;
        let path = entry.path()?.into_owned();
        let name = path.strip_prefix(".").unwrap_or(&path).to_path_buf();
        let mut text = String::new();
        if name == Path::new("control") {
            entry.take(MAX_CONTROL).read_to_string(&mut text)?;
            control = Some(text);
        } else if name == Path::new("postinst") {
            // A binary postinst is not a script soclash can read: none.
            if entry.take(MAX_CONTROL).read_to_string(&mut text).is_ok() {
                postinst = Some(text);
            }
        }
    }
    let Some(text) = control else {
        return Err(DebError::Format("control.tar has no control file".into()));
    };
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    };
    match (field("Package"), field("Version")) {
        (Some(package), Some(version)) => Ok(Control {
            package,
            version,
            postinst,
        }),
        _ => Err(DebError::Format(
            "control file lacks Package or Version".into(),
        )),
    }
}

fn unpack_data(r: impl Read, dest: &Path) -> Result<(), DebError> {
    let mut tar = tar::Archive::new(r);
    tar.set_preserve_permissions(false);
    tar.set_preserve_mtime(false);
    tar.set_overwrite(true);
    let mut total = 0u64;
    for (n, entry) in tar.entries()?.enumerate() {
        let mut entry = entry?;
        if n >= MAX_ENTRIES {
            return Err(DebError::Format(format!("more than {MAX_ENTRIES} entries")));
        }
        use tar::EntryType;
        match entry.header().entry_type() {
            EntryType::Regular | EntryType::Directory | EntryType::Symlink => {}
            // Devices, FIFOs and hard links are not what an audit needs.
            _ => continue,
        }
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED {
            return Err(DebError::Format(format!(
                "unpacks to more than {MAX_UNPACKED} bytes"
            )));
        }
        // `unpack_in` refuses paths that leave `dest`.
        entry.unpack_in(dest)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tarball(entries: &[(&[u8], tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            // Raw names, so a hostile `../` path can be written.
            h.as_old_mut().name[..name.len()].copy_from_slice(name);
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn deb(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut a = ar::Builder::new(Vec::new());
        for (name, data) in members {
            let h = ar::Header::new(name.as_bytes().to_vec(), data.len() as u64);
            a.append(&h, data.as_slice()).unwrap();
        }
        a.into_inner().unwrap()
    }

    /// Only regular files, directories and symlinks land, inside `dest`;
    /// a `..` path, a device and a hard link do not.
    #[test]
    fn hostile_entries_are_left_out() {
        let control = tarball(&[(
            b"./control",
            tar::EntryType::Regular,
            b"Package: php8.2-x\nVersion: 1.0-1\n",
        )]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &control).unwrap();
        let data = tarball(&[
            (b"./usr/", tar::EntryType::Directory, b""),
            (b"./usr/x.so", tar::EntryType::Regular, b"ELF"),
            (b"../escape", tar::EntryType::Regular, b"out"),
            (b"./usr/dev", tar::EntryType::Char, b""),
            (b"./usr/hard", tar::EntryType::Link, b""),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.deb");
        std::fs::write(
            &file,
            deb(&[
                ("debian-binary", b"2.0\n".to_vec()),
                ("control.tar.gz", gz.finish().unwrap()),
                ("data.tar", data),
            ]),
        )
        .unwrap();
        let dest = dir.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        let c = unpack(&file, &dest).unwrap();
        assert_eq!(
            (c.package.as_str(), c.version.as_str()),
            ("php8.2-x", "1.0-1")
        );
        assert_eq!(std::fs::read(dest.join("usr/x.so")).unwrap(), b"ELF");
        assert!(!dir.path().join("escape").exists());
        assert!(!dest.join("usr/dev").exists());
        assert!(!dest.join("usr/hard").exists());
    }

    #[test]
    fn truncated_and_foreign_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        let file = dir.path().join("x.deb");
        for bytes in [
            &b""[..],
            b"!<arch>\ndebian-binary   0           0     0     100644  4",
            b"\x7fELF not a package",
        ] {
            std::fs::write(&file, bytes).unwrap();
            assert!(unpack(&file, &dest).is_err(), "{bytes:?}");
        }
        let control = tarball(&[(
            b"./control",
            tar::EntryType::Regular,
            b"Package: x\nVersion: 1\n",
        )]);
        std::fs::write(
            &file,
            deb(&[("control.tar", control), ("data.tar.bz2", vec![0; 10])]),
        )
        .unwrap();
        let e = unpack(&file, &dest).unwrap_err().to_string();
        assert!(e.contains("unsupported compression tar.bz2"), "{e}");
    }
}
