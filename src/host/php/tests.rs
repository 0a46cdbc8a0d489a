//! Tests of `host::php` through its public API: ini files found per layout
//! and SAPI, extension_dir, the extension lists PHP loads, installed SAPIs.

use super::*;
use std::fs;
use std::os::unix::fs::symlink;

/// A root made of `(inner path, content)` files and `(link, target)`
/// symlinks.
fn tree(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
    let t = tempfile::tempdir().unwrap();
    for (p, content) in files {
        let host = t.path().join(p.trim_start_matches('/'));
        fs::create_dir_all(host.parent().unwrap()).unwrap();
        fs::write(host, content).unwrap();
    }
    for (link, target) in links {
        let host = t.path().join(link.trim_start_matches('/'));
        fs::create_dir_all(host.parent().unwrap()).unwrap();
        symlink(target, host).unwrap();
    }
    let root = Root::new(t.path()).unwrap();
    (t, root)
}

fn hints(version: &str) -> PhpHints {
    PhpHints {
        version: Some(version.to_string()),
        ..PhpHints::default()
    }
}

fn paths(c: &PhpConfig) -> Vec<String> {
    c.extensions
        .iter()
        .map(|e| e.path.display().to_string())
        .collect()
}

fn names(c: &PhpConfig) -> Vec<String> {
    c.extensions
        .iter()
        .map(|e| e.name_as_written.to_string())
        .collect()
}

const DEB_SO: &[&str] = &["opcache", "mysqlnd", "mysqli", "readline", "xdebug", "pdo"];

/// A Debian 8.2 root: apache2 and fpm share mods-available through
/// absolute conf.d symlinks; xdebug is enabled for fpm only.
fn debian() -> (tempfile::TempDir, Root) {
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "/etc/php/8.2/apache2/php.ini".into(),
            b"[PHP]\nengine = On\n;extension_dir = \"./\"\n; extension=bz2\nmemory_limit = 128M\n"
                .to_vec(),
        ),
        (
            "/etc/php/8.2/fpm/php.ini".into(),
            b"[PHP]\n;extension_dir = \"ext\"\n".to_vec(),
        ),
        (
            "/etc/php/8.2/mods-available/opcache.ini".into(),
            b"; configuration for php opcache module\n; priority=10\nzend_extension=opcache.so\nopcache.jit=off\n"
                .to_vec(),
        ),
        (
            "/etc/php/8.2/mods-available/mysqlnd.ini".into(),
            b"; priority=10\nextension=mysqlnd.so\n".to_vec(),
        ),
        (
            "/etc/php/8.2/mods-available/mysqli.ini".into(),
            b"; priority=20\nextension=mysqli.so\n".to_vec(),
        ),
        (
            "/etc/php/8.2/mods-available/readline.ini".into(),
            b"; priority=20\nextension=readline.so\n".to_vec(),
        ),
        (
            "/etc/php/8.2/mods-available/xdebug.ini".into(),
            b"zend_extension=xdebug.so\nxdebug.mode=debug\n".to_vec(),
        ),
        (
            "/etc/php/8.2/fpm/pool.d/www.conf".into(),
            b"[www]\nuser = www-data\n;php_admin_value[extension] = commented.so\nphp_admin_value[extension] = pool_only.so\n"
                .to_vec(),
        ),
    ];
    for so in DEB_SO {
        files.push((
            format!("/usr/lib/php/20220829/{so}.so"),
            b"\x7fELF".to_vec(),
        ));
    }
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_slice()))
        .collect();
    let mut links = Vec::new();
    for sapi in ["apache2", "fpm"] {
        for (n, m) in [
            ("10-opcache.ini", "opcache"),
            ("10-mysqlnd.ini", "mysqlnd"),
            ("20-mysqli.ini", "mysqli"),
            ("20-readline.ini", "readline"),
        ] {
            links.push((
                format!("/etc/php/8.2/{sapi}/conf.d/{n}"),
                format!("/etc/php/8.2/mods-available/{m}.ini"),
            ));
        }
    }
    links.push((
        "/etc/php/8.2/fpm/conf.d/20-xdebug.ini".into(),
        "/etc/php/8.2/mods-available/xdebug.ini".into(),
    ));
    let links: Vec<(&str, &str)> = links
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    tree(&files, &links)
}

#[test]
fn debian_apache2_and_fpm_lists_differ() {
    let (_t, root) = debian();
    let a = php_extensions(&root, Sapi::Apache2, &hints("8.2"));
    assert_eq!(a.layout, Layout::Debian);
    assert!(a.errors.is_empty(), "{:?}", a.errors);
    assert_eq!(a.extension_dir, Path::new("/usr/lib/php/20220829"));
    assert_eq!(a.extension_dir_source, "default");
    assert_eq!(
        a.ini_files,
        [
            "/etc/php/8.2/apache2/php.ini",
            "/etc/php/8.2/apache2/conf.d/10-mysqlnd.ini",
            "/etc/php/8.2/apache2/conf.d/10-opcache.ini",
            "/etc/php/8.2/apache2/conf.d/20-mysqli.ini",
            "/etc/php/8.2/apache2/conf.d/20-readline.ini",
        ]
        .map(PathBuf::from)
    );
    // Zend first although 10-mysqlnd.ini sorts before 10-opcache.ini.
    assert_eq!(
        paths(&a),
        [
            "/usr/lib/php/20220829/opcache.so",
            "/usr/lib/php/20220829/mysqlnd.so",
            "/usr/lib/php/20220829/mysqli.so",
            "/usr/lib/php/20220829/readline.so",
        ]
    );
    assert_eq!(a.extensions[0].kind, ExtensionKind::Zend);
    assert_eq!(
        a.extensions[0].ini_file,
        Path::new("/etc/php/8.2/apache2/conf.d/10-opcache.ini")
    );
    assert_eq!(a.extensions[0].line, 3);
    assert!(
        a.extensions[1..]
            .iter()
            .all(|e| e.kind == ExtensionKind::Extension)
    );
    assert!(!paths(&a).iter().any(|p| p.contains("xdebug")));
    assert!(a.notes.is_empty(), "{:?}", a.notes);

    let f = php_extensions(&root, Sapi::Fpm, &hints("8.2"));
    assert!(f.errors.is_empty(), "{:?}", f.errors);
    assert_eq!(f.ini_files[0], Path::new("/etc/php/8.2/fpm/php.ini"));
    assert_eq!(
        names(&f),
        [
            "opcache.so",
            "xdebug.so",
            "mysqlnd.so",
            "mysqli.so",
            "readline.so"
        ]
    );
    assert_eq!(f.extensions[1].kind, ExtensionKind::Zend);
    // The pool's extension is noted, the commented one is not.
    assert_eq!(f.notes.len(), 1, "{:?}", f.notes);
    assert!(f.notes[0].0.ends_with("www.conf:4"));
    assert!(f.notes[0].1.contains("pool_only.so"));

    // Version from the caller, from libphp's name, or from /etc/php/*.
    let by_lib = php_extensions(
        &root,
        Sapi::Apache2,
        &PhpHints {
            libphp: Some("/usr/lib/apache2/modules/libphp8.2.so".into()),
            ..PhpHints::default()
        },
    );
    assert_eq!(by_lib.version.as_deref(), Some("8.2"));
    assert_eq!(by_lib.extensions, a.extensions);
    let guessed = php_extensions(&root, Sapi::Apache2, &PhpHints::default());
    assert_eq!(guessed.version.as_deref(), Some("8.2"));
    assert_eq!(guessed.extensions, a.extensions);
}

#[test]
fn debian_several_versions_newest_modelled() {
    let (_t, root) = tree(
        &[
            ("/etc/php/7.4/apache2/php.ini", b"extension=old.so\n"),
            ("/etc/php/8.1/apache2/php.ini", b"extension=new.so\n"),
            ("/usr/lib/php/20210902/new.so", b""),
        ],
        &[],
    );
    let c = php_extensions(&root, Sapi::Apache2, &PhpHints::default());
    assert_eq!(c.version.as_deref(), Some("8.1"));
    assert_eq!(paths(&c), ["/usr/lib/php/20210902/new.so"]);
    assert!(
        c.notes.iter().any(|n| n.1.contains("7.4, 8.1")),
        "{:?}",
        c.notes
    );
    let old = php_extensions(&root, Sapi::Apache2, &hints("7.4"));
    assert_eq!(
        old.ini_files,
        [PathBuf::from("/etc/php/7.4/apache2/php.ini")]
    );
    assert_eq!(old.extension_dir, Path::new("/usr/lib/php/20190902"));
    assert_eq!(old.errors.len(), 1, "{:?}", old.errors);
    assert!(old.errors[0].1.contains("no such file"));
}

#[test]
fn rhel_layout_shares_php_d() {
    let (_t, root) = tree(
        &[
            ("/etc/php.ini", b"[PHP]\nengine = On\n"),
            ("/etc/php.d/10-opcache.ini", b"zend_extension=opcache\n"),
            ("/etc/php.d/20-mysqlnd.ini", b"extension=mysqlnd\n"),
            ("/etc/php.d/30-mysqli.ini", b"extension=mysqli\n"),
            ("/etc/php.d/30-mysqli.ini.rpmsave", b"extension=stale\n"),
            ("/etc/php.d/README", b"extension=readme\n"),
            ("/usr/lib64/php/modules/opcache.so", b""),
            ("/usr/lib64/php/modules/mysqlnd.so", b""),
            ("/usr/lib64/php/modules/mysqli.so", b""),
            ("/usr/lib64/httpd/modules/libphp.so", b""),
            (
                "/etc/php-fpm.d/www.conf",
                b"[www]\nphp_value[extension]=imagick.so\n",
            ),
        ],
        &[("/etc/php.d/40-dangling.ini", "/nowhere.ini")],
    );
    let h = PhpHints {
        libphp: Some("/usr/lib64/httpd/modules/libphp.so".into()),
        ..PhpHints::default()
    };
    let a = php_extensions(&root, Sapi::Apache2, &h);
    assert_eq!(a.layout, Layout::Rhel);
    assert_eq!(a.version, None);
    assert!(a.errors.is_empty(), "{:?}", a.errors);
    assert_eq!(a.ini_files.len(), 4);
    assert_eq!(a.ini_files[0], Path::new("/etc/php.ini"));
    assert_eq!(
        paths(&a),
        [
            "/usr/lib64/php/modules/opcache.so",
            "/usr/lib64/php/modules/mysqlnd.so",
            "/usr/lib64/php/modules/mysqli.so",
        ]
    );
    let f = php_extensions(&root, Sapi::Fpm, &PhpHints::default());
    assert_eq!(f.layout, Layout::Rhel);
    assert_eq!(f.extensions, a.extensions);
    assert!(
        f.notes.iter().any(|n| n.1.contains("imagick.so")),
        "{:?}",
        f.notes
    );
}

#[test]
fn phpinidir_overrides_php_ini_only() {
    let (_t, root) = debian();
    fs::create_dir_all(root.host_dir().join("srv/phpini")).unwrap();
    fs::write(
        root.host_dir().join("srv/phpini/php.ini"),
        b"extension_dir = /opt/ext\nextension=custom\nzend_extension = /opt/abs/z.so\n",
    )
    .unwrap();
    fs::create_dir_all(root.host_dir().join("opt/ext")).unwrap();
    fs::create_dir_all(root.host_dir().join("opt/abs")).unwrap();
    fs::write(root.host_dir().join("opt/ext/custom.so"), b"").unwrap();
    fs::write(root.host_dir().join("opt/ext/opcache.so"), b"").unwrap();
    fs::write(root.host_dir().join("opt/abs/z.so"), b"").unwrap();
    let mut h = hints("8.2");
    h.ini_dir = Some("/srv/phpini".into());
    let c = php_extensions(&root, Sapi::Apache2, &h);
    assert_eq!(c.ini_files[0], Path::new("/srv/phpini/php.ini"));
    // The scan directory is the build's, whatever PHPIniDir says.
    assert_eq!(c.ini_files.len(), 5);
    assert_eq!(c.extension_dir, Path::new("/opt/ext"));
    assert_eq!(c.extension_dir_source, "/srv/phpini/php.ini:1");
    assert_eq!(
        paths(&c)[..3],
        ["/opt/abs/z.so", "/opt/ext/opcache.so", "/opt/ext/custom.so"]
    );
    // mysqlnd etc. are not in /opt/ext: errors, not entries.
    assert_eq!(c.errors.len(), 3, "{:?}", c.errors);

    // PHPIniDir naming a file uses that file.
    h.ini_dir = Some("/srv/phpini/php.ini".into());
    let f = php_extensions(&root, Sapi::Apache2, &h);
    assert_eq!(f.ini_files[0], Path::new("/srv/phpini/php.ini"));
    // php-apache2handler.ini beats php.ini in the searched directory.
    fs::write(
        root.host_dir().join("srv/phpini/php-apache2handler.ini"),
        b"extension_dir=/opt/ext\n",
    )
    .unwrap();
    h.ini_dir = Some("/srv/phpini".into());
    let s = php_extensions(&root, Sapi::Apache2, &h);
    assert_eq!(
        s.ini_files[0],
        Path::new("/srv/phpini/php-apache2handler.ini")
    );
}

#[test]
fn errors_kept_per_file() {
    let mut ini = String::new();
    for i in 0..100 {
        ini.push_str(&format!("extension=missing{i}\n"));
    }
    let (_t, root) = tree(
        &[
            ("/etc/php/8.2/cli/php.ini", ini.as_bytes()),
            ("/etc/php/8.2/cli/conf.d/x.ini", b"extension=gone\n"),
        ],
        &[],
    );
    let c = php_extensions(&root, Sapi::Cli, &hints("8.2"));
    let in_ini: Vec<_> = c
        .errors
        .iter()
        .filter(|e| e.0.contains("cli/php.ini:"))
        .collect();
    assert_eq!(in_ini.len(), budget::ERRORS_PER_FILE + 1, "{:?}", c.errors);
    assert!(in_ini[0].1.contains("missing0"));
    assert_eq!(
        in_ini[budget::ERRORS_PER_FILE].1,
        budget::more_errors(100 - budget::ERRORS_PER_FILE)
    );
    // Another file's errors are its own.
    assert!(
        c.errors
            .iter()
            .any(|e| e.0.ends_with("x.ini:1") && e.1.contains("gone"))
    );
}

#[test]
fn names_bare_with_so_absolute_and_relative() {
    let (_t, root) = tree(
        &[
            (
                "/etc/php/8.2/cli/php.ini",
                b"extension=bare\nextension=withso.so\nextension=/opt/x/abs.so\n\
                  extension=noext\nzend_extension=zbare\nzend_extension=sub/z.so\n\
                  extension=sub/rel.so\nextension=missing\nextension=\n",
            ),
            ("/usr/lib/php/20220829/bare.so", b""),
            ("/usr/lib/php/20220829/withso.so", b""),
            ("/usr/lib/php/20220829/noext", b""),
            ("/usr/lib/php/20220829/noext.so", b""),
            ("/usr/lib/php/20220829/zbare.so", b""),
            ("/usr/lib/php/20220829/sub/z.so", b""),
            ("/opt/x/abs.so", b""),
            ("/sub/rel.so", b""),
        ],
        &[],
    );
    let c = php_extensions(&root, Sapi::Cli, &hints("8.2"));
    assert_eq!(
        paths(&c),
        [
            "/usr/lib/php/20220829/zbare.so",
            // zend_extension: relative names are under extension_dir.
            "/usr/lib/php/20220829/sub/z.so",
            "/usr/lib/php/20220829/bare.so",
            "/usr/lib/php/20220829/withso.so",
            "/opt/x/abs.so",
            // The name as written is tried before name.so.
            "/usr/lib/php/20220829/noext",
            // extension=: a name with '/' is used as is (cwd-relative).
            "/sub/rel.so",
        ]
    );
    assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
    assert!(c.errors[0].0.ends_with("php.ini:8"));
    assert!(c.errors[0].1.contains("missing.so"));
    assert!(c.errors[1].1.contains("empty extension="));
    assert!(
        c.notes
            .iter()
            .any(|n| n.1.contains("relative path sub/rel.so"))
    );

    // Before PHP 7.2 there is no ".so" retry.
    let old = php_extensions(&root, Sapi::Cli, &hints("7.1"));
    assert!(old.extensions.is_empty());
}

#[test]
fn garbage_lines_stop_their_file_only() {
    let (_t, root) = tree(
        &[
            (
                "/etc/php/8.2/apache2/php.ini",
                b"extension=first.so\nno equals sign here\n\x01\x02\xfe\xff binary\n\
                  extension=second.so\n=\nextension=third.so\n  = x\n",
            ),
            (
                "/etc/php/8.2/apache2/conf.d/10-quote.ini",
                b"extension=quoted.so\nextension=\"broken.so\nextension=after.so\n",
            ),
            (
                "/etc/php/8.2/apache2/conf.d/20-nul.ini",
                b"extension=a.so\n\x00junk\nextension=b.so\n",
            ),
            (
                "/etc/php/8.2/apache2/conf.d/30-last.ini",
                b"extension=last.so\n",
            ),
        ],
        &[],
    );
    for so in [
        "first", "second", "third", "quoted", "after", "a", "b", "last",
    ] {
        let p = root
            .host_dir()
            .join(format!("usr/lib/php/20220829/{so}.so"));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, b"").unwrap();
    }
    let c = php_extensions(&root, Sapi::Apache2, &hints("8.2"));
    assert_eq!(
        names(&c),
        ["first.so", "second.so", "quoted.so", "a.so", "last.so"]
    );
    let e = |at: &str| {
        c.errors
            .iter()
            .filter(|(w, _)| w.ends_with(at))
            .map(|(_, r)| r.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(e("php.ini:5").len(), 1, "{:?}", c.errors);
    assert!(e("php.ini:5")[0].contains("unexpected '='"));
    assert!(e("php.ini:6")[0].contains("third.so is not seen"));
    assert!(e("php.ini:7")[0].contains("part PHP does not read"));
    assert!(e("10-quote.ini:2")[0].contains("unterminated double quote"));
    assert!(e("10-quote.ini:3")[0].contains("after.so is not seen"));
    assert!(e("20-nul.ini:2")[0].contains("NUL byte"));
    assert!(e("20-nul.ini:3")[0].contains("b.so is not seen"));
    assert_eq!(c.errors.len(), 7, "{:?}", c.errors);
    assert_eq!(c.ini_files.len(), 4);
}

#[test]
fn duplicates_are_kept_once() {
    let (_t, root) = tree(
        &[
            ("/etc/php/8.2/apache2/php.ini", b"extension=mysqli\n"),
            (
                "/etc/php/8.2/apache2/conf.d/20-mysqli.ini",
                b"extension=mysqli.so\n",
            ),
            (
                "/etc/php/8.2/apache2/conf.d/30-again.ini",
                b"extension=/usr/lib/php/20220829/mysqli.so\nextension=/usr/lib/php/link.so\n",
            ),
            ("/usr/lib/php/20220829/mysqli.so", b""),
        ],
        &[("/usr/lib/php/link.so", "20220829/mysqli.so")],
    );
    let c = php_extensions(&root, Sapi::Apache2, &hints("8.2"));
    assert_eq!(paths(&c), ["/usr/lib/php/20220829/mysqli.so"]);
    assert_eq!(
        c.extensions[0].ini_file,
        Path::new("/etc/php/8.2/apache2/php.ini")
    );
    assert_eq!(c.notes.len(), 3, "{:?}", c.notes);
    assert!(c.notes.iter().all(|n| {
        n.1.contains("already loaded by /etc/php/8.2/apache2/php.ini:1")
    }));
}

#[test]
fn env_and_config_references() {
    let (_t, root) = tree(
        &[
            (
                "/etc/php/8.2/apache2/php.ini",
                b"extension_dir = \"${EXT_BASE}/ext\"\nextension=${MYEXT}\n\
                  extension=${UNSET}plain\nextension=\"${extension_dir}/abs.so\"\n\
                  extension=${NOPE:-fallback}.so\nextension = PHP_EXTENSION_DIR\n",
            ),
            ("/base/ext/mine.so", b""),
            ("/base/ext/plain.so", b""),
            ("/base/ext/abs.so", b""),
            ("/base/ext/fallback.so", b""),
        ],
        &[],
    );
    let mut h = hints("8.3");
    h.env.insert("EXT_BASE".into(), "/base".into());
    h.env.insert("MYEXT".into(), "mine".into());
    fs::rename(
        root.host_dir().join("etc/php/8.2"),
        root.host_dir().join("etc/php/8.3"),
    )
    .unwrap();
    let c = php_extensions(&root, Sapi::Apache2, &h);
    assert_eq!(c.extension_dir, Path::new("/base/ext"));
    assert_eq!(c.extension_dir_source, "/etc/php/8.3/apache2/php.ini:1");
    assert_eq!(
        names(&c),
        ["mine", "plain", "/base/ext/abs.so", "fallback.so"]
    );
    // The constant is the build's default, which does not exist here.
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    assert!(c.errors[0].1.contains("/usr/lib/php/20230831"));

    // Before PHP 8.3 "NOPE:-fallback" is just a variable name.
    fs::rename(
        root.host_dir().join("etc/php/8.3"),
        root.host_dir().join("etc/php/8.2"),
    )
    .unwrap();
    h.version = Some("8.2".into());
    let old = php_extensions(&root, Sapi::Apache2, &h);
    assert_eq!(names(&old), ["mine", "plain", "/base/ext/abs.so"]);
    assert_eq!(old.errors.len(), 2, "{:?}", old.errors);
    assert!(old.errors[0].1.contains("extension=.so"));
}

#[test]
fn section_resets_per_file() {
    let (_t, root) = tree(
        &[
            (
                "/etc/php/8.2/apache2/php.ini",
                b"[PATH=/x]\nextension=no.so\n",
            ),
            ("/etc/php/8.2/apache2/conf.d/a.ini", b"extension=yes.so\n"),
            ("/usr/lib/php/20220829/yes.so", b""),
            ("/usr/lib/php/20220829/no.so", b""),
        ],
        &[],
    );
    let c = php_extensions(&root, Sapi::Apache2, &hints("8.2"));
    assert_eq!(names(&c), ["yes.so"]);
}

#[test]
fn extension_dir_last_assignment_wins() {
    let (_t, root) = tree(
        &[
            (
                "/etc/php.ini",
                b"extension_dir=/first\n[PATH=/srv]\nextension_dir=/path_only\n",
            ),
            (
                "/etc/php.d/50-dir.ini",
                b"\n\nextension_dir = \"/second/\"\nextension=e\n",
            ),
            ("/second/e.so", b""),
        ],
        &[],
    );
    let c = php_extensions(&root, Sapi::Cli, &PhpHints::default());
    assert_eq!(c.layout, Layout::Rhel);
    assert_eq!(c.extension_dir, Path::new("/second/"));
    assert_eq!(c.extension_dir_source, "/etc/php.d/50-dir.ini:3");
    // No doubled slash after an extension_dir ending in '/'.
    assert_eq!(paths(&c), ["/second/e.so"]);
}

#[test]
fn scan_dir_and_phprc_from_environment() {
    let (_t, root) = tree(
        &[
            ("/etc/php.ini", b"extension=default_ini\n"),
            ("/etc/php.d/a.ini", b"extension=default_scan\n"),
            ("/custom/php.ini", b"extension=rc_ini\n"),
            ("/extra/b.ini", b"extension=extra_scan\n"),
        ],
        &[],
    );
    let mut h = PhpHints::default();
    h.env.insert("PHPRC".into(), "/custom".into());
    h.env.insert("PHP_INI_SCAN_DIR".into(), ":/extra".into());
    let c = php_extensions(&root, Sapi::Cli, &h);
    assert_eq!(
        c.ini_files,
        ["/custom/php.ini", "/etc/php.d/a.ini", "/extra/b.ini"].map(PathBuf::from)
    );
    h.env.insert("PHP_INI_SCAN_DIR".into(), String::new());
    let none = php_extensions(&root, Sapi::Cli, &h);
    assert_eq!(none.ini_files, [PathBuf::from("/custom/php.ini")]);
}

#[test]
fn suse_alpine_docker_layouts() {
    let (_t, suse) = tree(
        &[
            ("/etc/php8/apache2/php.ini", b""),
            ("/etc/php8/conf.d/mysqli.ini", b"extension=mysqli.so\n"),
            ("/usr/lib64/php8/extensions/mysqli.so", b""),
        ],
        &[],
    );
    let h = PhpHints {
        libphp: Some("/usr/lib64/apache2/mod_php8.so".into()),
        ..PhpHints::default()
    };
    let c = php_extensions(&suse, Sapi::Apache2, &h);
    assert_eq!((c.layout, c.version.as_deref()), (Layout::Suse, Some("8")));
    assert_eq!(paths(&c), ["/usr/lib64/php8/extensions/mysqli.so"]);
    // Without the module's path the directories tell the same.
    assert_eq!(
        php_extensions(&suse, Sapi::Apache2, &PhpHints::default()),
        c
    );

    let (_t2, alpine) = tree(
        &[
            ("/etc/php82/php.ini", b""),
            (
                "/etc/php82/conf.d/00_opcache.ini",
                b"zend_extension=opcache\n",
            ),
            ("/usr/lib/php82/modules/opcache.so", b""),
        ],
        &[],
    );
    let c = php_extensions(&alpine, Sapi::Fpm, &hints("82"));
    assert_eq!(
        (c.layout, c.version.as_deref()),
        (Layout::Alpine, Some("8.2"))
    );
    assert_eq!(paths(&c), ["/usr/lib/php82/modules/opcache.so"]);

    let (_t3, docker) = tree(
        &[
            (
                "/usr/local/etc/php/conf.d/docker-php-ext-sodium.ini",
                b"extension=sodium\n",
            ),
            (
                "/usr/local/lib/php/extensions/no-debug-non-zts-20230831/sodium.so",
                b"",
            ),
        ],
        &[],
    );
    let c = php_extensions(&docker, Sapi::Cli, &PhpHints::default());
    assert_eq!(c.layout, Layout::Docker);
    assert_eq!(
        paths(&c),
        ["/usr/local/lib/php/extensions/no-debug-non-zts-20230831/sodium.so"]
    );
}

#[test]
fn installed_sapis_by_binaries() {
    let (_t, deb) = tree(
        &[
            ("/usr/lib/apache2/modules/libphp8.2.so", b""),
            ("/usr/sbin/php-fpm8.2", b""),
            ("/usr/bin/php8.2", b""),
            ("/usr/bin/phpize8.2", b""),
            ("/usr/bin/php-config8.2", b""),
            ("/etc/php/7.4/apache2/php.ini", b""),
        ],
        &[("/usr/bin/php", "/usr/bin/php8.2")],
    );
    assert_eq!(
        installed_sapis(&deb),
        [
            (Sapi::Apache2, Some("8.2".to_string())),
            (Sapi::Fpm, Some("8.2".to_string())),
            (Sapi::Cli, Some("8.2".to_string())),
        ]
    );
    let (_t, rhel) = tree(
        &[
            ("/usr/lib64/httpd/modules/libphp.so", b""),
            ("/usr/sbin/php-fpm", b""),
            ("/usr/bin/php", b""),
            ("/usr/bin/php-cgi", b""),
        ],
        &[],
    );
    assert_eq!(
        installed_sapis(&rhel),
        [(Sapi::Apache2, None), (Sapi::Fpm, None), (Sapi::Cli, None)]
    );
    let (_t, alpine) = tree(
        &[
            ("/usr/lib/apache2/mod_php82.so", b""),
            ("/usr/sbin/php-fpm82", b""),
        ],
        &[],
    );
    assert_eq!(
        installed_sapis(&alpine),
        [
            (Sapi::Apache2, Some("8.2".to_string())),
            (Sapi::Fpm, Some("8.2".to_string())),
        ]
    );
}

#[test]
fn versions_and_api_numbers() {
    assert_eq!(Version::parse("8.2"), Some(Version::new(8, 2)));
    assert_eq!(Version::parse("8.2.36"), Some(Version::new(8, 2)));
    assert_eq!(Version::parse("82"), Some(Version::new(8, 2)));
    assert_eq!(
        Version::parse("8").map(|v| v.to_string()),
        Some("8".to_string())
    );
    assert_eq!(Version::parse("x"), None);
    assert_eq!(Version::parse(""), None);
    assert_eq!(module_api(Version::new(8, 2)), Some("20220829"));
    assert_eq!(module_api(Version::new(8, 4)), Some("20240924"));
    assert_eq!(module_api(Version::new(9, 0)), None);
    let v = |s: &str| version_from_module_name(s.as_bytes()).map(|v| v.to_string());
    assert_eq!(v("libphp8.2.so").as_deref(), Some("8.2"));
    assert_eq!(v("libphp7-zts.so").as_deref(), Some("7"));
    assert_eq!(v("mod_php82.so").as_deref(), Some("8.2"));
    assert_eq!(v("libphp.so"), None);
    assert!(MODULE_API.windows(2).all(|w| w[0].2 < w[1].2));
    let v = |s: &str| Version::parse(s);
    assert!(at_least(v("7"), 7, 2));
    assert!(!at_least(v("7.1"), 7, 2));
    assert!(at_least(v("8.0"), 7, 2));
    assert!(!at_least(v("8.2"), 8, 3));
    assert!(at_least(None, 8, 3));
}

#[test]
fn oversized_file_is_an_error() {
    let big = vec![b'a'; (budget::PHP_INI_BYTES + 1) as usize];
    let (_t, root) = tree(&[("/etc/php.ini", &big)], &[]);
    let c = php_extensions(&root, Sapi::Cli, &PhpHints::default());
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    assert!(
        c.errors[0]
            .1
            .contains("budget exceeded: PHP_INI_BYTES (4 MiB)"),
        "{:?}",
        c.errors
    );
}

/// This machine's Debian PHP 8.2 for Apache, against a plain reading of
/// its ini files: `key = value` lines of php.ini and conf.d/*.ini in name
/// order, zend_extension first.
#[test]
fn this_machine_apache2_matches_a_plain_reading() {
    let dir = Path::new("/etc/php/8.2/apache2");
    if !dir.is_dir() {
        eprintln!("skipped: no {}", dir.display());
        return;
    }
    let mut files = vec![dir.join("php.ini")];
    let mut scan: Vec<PathBuf> = fs::read_dir(dir.join("conf.d"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ini") && p.is_file())
        .collect();
    scan.sort();
    files.extend(scan);
    let mut ext_dir = "/usr/lib/php/20220829".to_string();
    let (mut zend, mut ext) = (Vec::new(), Vec::new());
    for f in &files {
        for line in fs::read_to_string(f).unwrap().lines() {
            let line = line.trim();
            if line.starts_with(';') || line.starts_with('[') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.split(';').next().unwrap().trim().trim_matches('"');
            match k.trim() {
                "zend_extension" => zend.push(v.to_string()),
                "extension" => ext.push(v.to_string()),
                "extension_dir" => ext_dir = v.to_string(),
                _ => {}
            }
        }
    }
    let expected: Vec<String> = zend
        .iter()
        .chain(&ext)
        .map(|n| {
            if n.starts_with('/') {
                n.clone()
            } else if n.ends_with(".so") {
                format!("{ext_dir}/{n}")
            } else {
                format!("{ext_dir}/{n}.so")
            }
        })
        .collect();
    let root = Root::new(Path::new("/")).unwrap();
    let c = php_extensions(&root, Sapi::Apache2, &hints("8.2"));
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.ini_files, files);
    assert_eq!(paths(&c), expected);
    assert!(
        expected.len() >= 5,
        "expected several extensions, got {expected:?}"
    );
    for e in &c.extensions {
        assert!(e.path.is_file(), "{} does not exist", e.path.display());
    }
    // And the SAPI is seen as installed with its version.
    assert!(installed_sapis(&root).contains(&(Sapi::Apache2, Some("8.2".to_string()))));
}
