//! `scan --output FILE`: a regular file is replaced at once (a temporary
//! file beside it, renamed), a symlink keeps pointing at the file it
//! names, and anything else — a FIFO here, `/dev/null` in the systemd
//! unit — is written in place, never renamed over (issue 19; renaming over
//! `/dev/null` replaced the device with a file).

use std::os::unix::fs::FileTypeExt;

use crate::common::{bind_root, path, soclash, tempdir};

fn scan_to(out: &std::path::Path) -> (i32, String) {
    let root = bind_root("sig-libedit-vs-libreadline-pos");
    let (code, _, err) = soclash(&[
        "scan",
        "--root",
        path(&root),
        "--format",
        "json",
        "--output",
        path(out),
    ]);
    (code, err)
}

#[test]
fn output_replaces_files_and_writes_into_everything_else() {
    let tmp = tempdir();
    let leftovers = || {
        std::fs::read_dir(tmp.path())
            .expect("read tmp")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".soclash-"))
            .count()
    };

    // A new file, then the same file replaced.
    let file = tmp.path().join("report.json");
    for _ in 0..2 {
        let (code, err) = scan_to(&file);
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(&file).expect("report written");
        assert!(text.starts_with("{\n  \"schema\": 1"), "{text}");
    }

    // A symlink: the file it names is replaced, the link stays.
    let link = tmp.path().join("latest.json");
    std::os::unix::fs::symlink(&file, &link).expect("symlink");
    std::fs::write(&file, "old").expect("write");
    let (code, err) = scan_to(&link);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&file)
            .expect("target")
            .starts_with('{')
    );

    // A FIFO stays a FIFO and its reader gets the report.
    let fifo = tmp.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).expect("read the FIFO"))
    };
    let (code, err) = scan_to(&fifo);
    assert_eq!(code, 0, "{err}");
    let got = reader.join().expect("reader");
    assert!(got.starts_with('{'), "{got}");
    assert!(
        std::fs::metadata(&fifo)
            .expect("fifo")
            .file_type()
            .is_fifo()
    );
    assert_eq!(leftovers(), 0);
}
