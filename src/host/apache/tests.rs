//! The reader's tests: configurations of each layout in temporary roots,
//! and this machine's own.

use super::*;
use std::fs;
use std::os::unix::fs::symlink;

use crate::budget::{self, APACHE_FILES};
use crate::host::text::{fnmatch_test, lossy};
use reader::module_source_name;

/// A root in a temporary directory.
pub(super) struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    pub(super) fn new() -> Tree {
        Tree {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(super) fn host(&self, inner: &str) -> PathBuf {
        self.dir.path().join(inner.trim_start_matches('/'))
    }

    pub(super) fn bytes(&self, inner: &str, content: &[u8]) -> &Tree {
        let p = self.host(inner);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
        self
    }

    pub(super) fn file(&self, inner: &str, content: &str) -> &Tree {
        self.bytes(inner, content.as_bytes())
    }

    pub(super) fn mkdir(&self, inner: &str) -> &Tree {
        fs::create_dir_all(self.host(inner)).unwrap();
        self
    }

    pub(super) fn link(&self, target: &str, inner: &str) -> &Tree {
        let p = self.host(inner);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(target, p).unwrap();
        self
    }

    pub(super) fn fifo(&self, inner: &str) -> &Tree {
        let p = self.host(inner);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &p,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        self
    }

    pub(super) fn root(&self) -> Root {
        Root::new(self.dir.path()).unwrap()
    }
}

fn generic() -> Option<Vec<BuiltinModule>> {
    Some(
        GENERIC_BUILTIN
            .iter()
            .map(|(s, f)| BuiltinModule {
                symbol: s.to_string(),
                source: f.to_string(),
            })
            .collect(),
    )
}

fn opts_main(main: &str) -> ConfigOptions {
    ConfigOptions {
        main: Some(PathBuf::from(main)),
        builtin: generic(),
        ..ConfigOptions::default()
    }
}

fn modules(c: &ApacheConfig) -> Vec<(String, String)> {
    c.loaded_modules()
        .map(|(n, p)| (n.to_string(), p.display().to_string()))
        .collect()
}

fn names(c: &ApacheConfig) -> Vec<String> {
    c.loaded_modules().map(|(n, _)| n.to_string()).collect()
}

pub(super) fn messages(v: &[(PathBuf, String)]) -> Vec<String> {
    v.iter()
        .map(|(p, m)| format!("{}: {m}", p.display()))
        .collect()
}

pub(super) fn has(v: &[(PathBuf, String)], needle: &str) -> bool {
    messages(v).iter().any(|m| m.contains(needle))
}

const DEBIAN_CONF: &str = "\
# This is the main Apache server configuration file.
#ServerRoot \"/etc/apache2\"
DefaultRuntimeDir ${APACHE_RUN_DIR}
User ${APACHE_RUN_USER}
IncludeOptional mods-enabled/*.load
IncludeOptional mods-enabled/*.conf
Include ports.conf
<Directory />
\tOptions FollowSymLinks
</Directory>
IncludeOptional conf-enabled/*.conf
IncludeOptional sites-enabled/*.conf
";

fn debian_tree() -> Tree {
    let t = Tree::new();
    t.file("/etc/apache2/apache2.conf", DEBIAN_CONF)
        .file(
            "/etc/apache2/mods-available/alias.load",
            "LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so\n",
        )
        .file(
            "/etc/apache2/mods-available/mpm_prefork.load",
            "# Conflicts: mpm_event mpm_worker\nLoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so\n",
        )
        .file(
            "/etc/apache2/mods-available/mpm_prefork.conf",
            "<IfModule mpm_prefork_module>\n\tStartServers 5\n</IfModule>\n",
        )
        .file(
            "/etc/apache2/mods-available/php8.2.load",
            "# Depends: mpm_prefork\nLoadModule php_module /usr/lib/apache2/modules/libphp8.2.so\n",
        )
        .file(
            "/etc/apache2/mods-available/php8.2.conf",
            "<IfModule mod_php.c>\n  PHPIniDir /etc/php/8.2/apache2\n</IfModule>\n",
        )
        .file(
            "/etc/apache2/mods-available/wsgi.load",
            "LoadModule wsgi_module /usr/lib/apache2/modules/mod_wsgi.so\n",
        )
        .file(
            "/etc/apache2/mods-available/wsgi.conf",
            "<IfModule mod_wsgi.c>\n  WSGIApplicationGroup %{GLOBAL}\n</IfModule>\n",
        )
        .file(
            "/etc/apache2/mods-available/ssl.load",
            "LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n",
        )
        .link("../mods-available/alias.load", "/etc/apache2/mods-enabled/alias.load")
        .link(
            "../mods-available/mpm_prefork.load",
            "/etc/apache2/mods-enabled/mpm_prefork.load",
        )
        .link(
            "../mods-available/mpm_prefork.conf",
            "/etc/apache2/mods-enabled/mpm_prefork.conf",
        )
        .link("../mods-available/php8.2.load", "/etc/apache2/mods-enabled/php8.2.load")
        .link("../mods-available/php8.2.conf", "/etc/apache2/mods-enabled/php8.2.conf")
        // Absolute links resolve inside the root.
        .link(
            "/etc/apache2/mods-available/wsgi.load",
            "/etc/apache2/mods-enabled/wsgi.load",
        )
        .link(
            "/etc/apache2/mods-available/wsgi.conf",
            "/etc/apache2/mods-enabled/wsgi.conf",
        )
        .file(
            "/etc/apache2/ports.conf",
            "Listen 80\n<IfModule ssl_module>\n\tListen 443\n\tLoadFile /usr/lib/libssl-extra.so\n</IfModule>\n",
        )
        .file("/etc/apache2/conf-available/security.conf", "ServerTokens OS\n")
        .link(
            "../conf-available/security.conf",
            "/etc/apache2/conf-enabled/security.conf",
        )
        .file(
            "/etc/apache2/sites-available/000-default.conf",
            "<VirtualHost *:80>\n\
             \tWSGIDaemonProcess app python-home=/srv/venv python-path=/srv/app:/srv/lib processes=2 threads=15 display-name=%{GROUP}\n\
             \tWSGIProcessGroup app\n\
             \tWSGIScriptAlias / /srv/app/app.wsgi process-group=app application-group=%{GLOBAL}\n\
             </VirtualHost>\n",
        )
        .link(
            "../sites-available/000-default.conf",
            "/etc/apache2/sites-enabled/000-default.conf",
        );
    for so in [
        "mod_alias",
        "mod_mpm_prefork",
        "libphp8.2",
        "mod_wsgi",
        "mod_ssl",
    ] {
        t.file(&format!("/usr/lib/apache2/modules/{so}.so"), "\x7fELF");
    }
    t
}

fn debian_env() -> BTreeMap<String, String> {
    [
        ("APACHE_RUN_DIR", "/var/run/apache2"),
        ("APACHE_RUN_USER", "www-data"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// H3: Debian's apache2.conf includes mods-enabled/*.load then *.conf;
/// relative and absolute symlinks resolve inside the root; a module only
/// in mods-available is not loaded; `<IfModule ssl_module>` is false.
#[test]
fn debian_layout() {
    let t = debian_tree();
    let opts = ConfigOptions {
        env: debian_env(),
        ..ConfigOptions::default()
    };
    let c = read_config(&t.root(), &opts);
    assert_eq!(
        c.main.as_deref(),
        Some(Path::new("/etc/apache2/apache2.conf"))
    );
    assert_eq!(c.server_root, Path::new("/etc/apache2"));
    assert_eq!(
        modules(&c),
        [
            ("alias_module", "/usr/lib/apache2/modules/mod_alias.so"),
            (
                "mpm_prefork_module",
                "/usr/lib/apache2/modules/mod_mpm_prefork.so"
            ),
            ("php_module", "/usr/lib/apache2/modules/libphp8.2.so"),
            ("wsgi_module", "/usr/lib/apache2/modules/mod_wsgi.so"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(
        !c.directives
            .iter()
            .any(|d| matches!(d.kind, DirectiveKind::LoadFile { .. }))
    );
    let files: Vec<String> = c.files.iter().map(|f| f.display().to_string()).collect();
    assert_eq!(
        files,
        [
            "/etc/apache2/apache2.conf",
            "/etc/apache2/mods-enabled/alias.load",
            "/etc/apache2/mods-enabled/mpm_prefork.load",
            "/etc/apache2/mods-enabled/php8.2.load",
            "/etc/apache2/mods-enabled/wsgi.load",
            "/etc/apache2/mods-enabled/mpm_prefork.conf",
            "/etc/apache2/mods-enabled/php8.2.conf",
            "/etc/apache2/mods-enabled/wsgi.conf",
            "/etc/apache2/ports.conf",
            "/etc/apache2/conf-enabled/security.conf",
            "/etc/apache2/sites-enabled/000-default.conf",
        ]
    );
    // The module name mod_php.c and mod_wsgi.c count for <IfModule>.
    let php_ini: Vec<&Directive> = c
        .directives
        .iter()
        .filter(|d| matches!(d.kind, DirectiveKind::PhpIniDir(_)))
        .collect();
    assert_eq!(php_ini.len(), 1);
    assert_eq!(
        php_ini[0].kind,
        DirectiveKind::PhpIniDir(PathBuf::from("/etc/php/8.2/apache2"))
    );
    assert!(
        c.directives
            .iter()
            .any(|d| d.kind == DirectiveKind::WsgiApplicationGroup("%{GLOBAL}".into()))
    );
    // mod_wsgi directives keep their <VirtualHost>.
    let daemon = c
        .directives
        .iter()
        .find(|d| matches!(d.kind, DirectiveKind::WsgiDaemonProcess { .. }))
        .unwrap();
    assert_eq!(daemon.context, ["<VirtualHost *:80>"]);
    assert_eq!(
        daemon.file,
        Path::new("/etc/apache2/sites-enabled/000-default.conf")
    );
    assert_eq!(daemon.line, 2);
    let DirectiveKind::WsgiDaemonProcess { name, options } = &daemon.kind else {
        unreachable!()
    };
    assert_eq!(name, "app");
    assert_eq!(options["python-home"], "/srv/venv");
    assert_eq!(options["python-path"], "/srv/app:/srv/lib");
    assert_eq!(options["processes"], "2");
    assert_eq!(options["threads"], "15");
    assert_eq!(options["display-name"], "%{GROUP}");
    let alias = c
        .directives
        .iter()
        .find(|d| matches!(d.kind, DirectiveKind::WsgiScriptAlias { .. }))
        .unwrap();
    let DirectiveKind::WsgiScriptAlias {
        url,
        path,
        regex,
        options,
    } = &alias.kind
    else {
        unreachable!()
    };
    assert_eq!(
        (url.as_str(), path.as_path(), *regex),
        ("/", Path::new("/srv/app/app.wsgi"), false)
    );
    assert_eq!(options["application-group"], "%{GLOBAL}");
}

/// `-f FILE` without `-d`: ServerRoot stays the installed layout's
/// HTTPD_ROOT, wherever the file is.
#[test]
fn explicit_main_keeps_installed_server_root() {
    let t = debian_tree();
    t.file(
        "/tmp/x/test.conf",
        "Include ports.conf\nIncludeOptional mods-enabled/*.load\n",
    );
    let opts = ConfigOptions {
        main: Some("/tmp/x/test.conf".into()),
        ..ConfigOptions::default()
    };
    let c = read_config(&t.root(), &opts);
    assert_eq!(c.server_root, Path::new("/etc/apache2"));
    assert_eq!(names(&c).len(), 4);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert!(c.files.contains(&PathBuf::from("/etc/apache2/ports.conf")));
}

/// `${VAR}` that neither Define nor the environment knows stays as
/// written, with httpd's warning.
#[test]
fn undefined_variable_warns() {
    let t = debian_tree();
    let c = read_config(&t.root(), &ConfigOptions::default());
    assert!(has(
        &c.warnings,
        "apache2.conf:3: Config variable ${APACHE_RUN_DIR} is not defined"
    ));
    assert!(has(
        &c.warnings,
        "apache2.conf:4: Config variable ${APACHE_RUN_USER} is not defined"
    ));
    assert_eq!(names(&c).len(), 4);
}

/// RHEL: ServerRoot "/etc/httpd", conf.modules.d/*.conf, relative module
/// paths through the /etc/httpd/modules symlink, `<IfModule prefork.c>`
/// false under the event MPM, `<IfModule !mod_wsgi.c>` true.
#[test]
fn rhel_layout() {
    let t = Tree::new();
    t.file(
        "/etc/httpd/conf/httpd.conf",
        "ServerRoot \"/etc/httpd\"\nListen 80\nInclude conf.modules.d/*.conf\nUser apache\nIncludeOptional conf.d/*.conf\n",
    )
    .file(
        "/etc/httpd/conf.modules.d/00-base.conf",
        "LoadModule access_compat_module modules/mod_access_compat.so\nLoadModule alias_module modules/mod_alias.so\n",
    )
    .file(
        "/etc/httpd/conf.modules.d/00-mpm.conf",
        "#LoadModule mpm_prefork_module modules/mod_mpm_prefork.so\nLoadModule mpm_event_module modules/mod_mpm_event.so\n",
    )
    .file(
        "/etc/httpd/conf.modules.d/10-wsgi-python3.conf",
        "<IfModule !wsgi_module>\n    LoadModule wsgi_module modules/mod_wsgi_python3.so\n</IfModule>\n",
    )
    .file(
        "/etc/httpd/conf.modules.d/15-php.conf",
        "<IfModule prefork.c>\n  LoadModule php_module modules/libphp.so\n</IfModule>\n",
    )
    .file(
        "/etc/httpd/conf.d/wsgi-app.conf",
        "<IfModule mod_wsgi.c>\nWSGIPythonHome /opt/py\n</IfModule>\n",
    )
    .link("../../usr/lib64/httpd/modules", "/etc/httpd/modules");
    for so in [
        "mod_access_compat",
        "mod_alias",
        "mod_mpm_event",
        "mod_mpm_prefork",
        "mod_wsgi_python3",
        "libphp",
    ] {
        t.file(&format!("/usr/lib64/httpd/modules/{so}.so"), "\x7fELF");
    }
    let opts = ConfigOptions {
        builtin: generic(),
        ..ConfigOptions::default()
    };
    let c = read_config(&t.root(), &opts);
    assert_eq!(
        c.main.as_deref(),
        Some(Path::new("/etc/httpd/conf/httpd.conf"))
    );
    assert_eq!(c.server_root, Path::new("/etc/httpd"));
    assert_eq!(
        modules(&c),
        [
            (
                "access_compat_module",
                "/etc/httpd/modules/mod_access_compat.so"
            ),
            ("alias_module", "/etc/httpd/modules/mod_alias.so"),
            ("mpm_event_module", "/etc/httpd/modules/mod_mpm_event.so"),
            ("wsgi_module", "/etc/httpd/modules/mod_wsgi_python3.so"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert!(
        c.directives
            .iter()
            .any(|d| d.kind == DirectiveKind::WsgiPythonHome("/opt/py".into()))
    );
    // The prefork MPM makes prefork.c known (its module name).
    let t2 = Tree::new();
    t2.file(
        "/etc/httpd/conf/httpd.conf",
        "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so\n<IfModule prefork.c>\nLoadModule php_module modules/libphp.so\n</IfModule>\n",
    );
    let c = read_config(&t2.root(), &opts);
    assert_eq!(
        c.server_root,
        Path::new("/etc/httpd"),
        "default ServerRoot above conf/"
    );
    assert_eq!(names(&c), ["mpm_prefork_module", "php_module"]);
    assert_eq!(modules(&c)[1].1, "/etc/httpd/modules/libphp.so");
}

/// A source build: ServerRoot defaults to the prefix (above conf/), and
/// a ServerRoot directive moves later relative names.
#[test]
fn source_build_layout() {
    let t = Tree::new();
    t.file(
        "/usr/local/apache2/conf/httpd.conf",
        "LoadModule x_module modules/mod_x.so\nServerRoot /opt/other\nLoadModule y_module modules/mod_y.so\nLoadModule z_module /abs/../abs/./mod_z.so\n",
    )
    .file("/usr/local/apache2/modules/mod_x.so", "x")
    .file("/opt/other/modules/mod_y.so", "y")
    .file("/abs/mod_z.so", "z")
    .file("/usr/local/apache2/modules/mod_mpm_event.so", "e");
    let opts = ConfigOptions {
        builtin: generic(),
        ..ConfigOptions::default()
    };
    let c = read_config(&t.root(), &opts);
    assert_eq!(
        c.main.as_deref(),
        Some(Path::new("/usr/local/apache2/conf/httpd.conf"))
    );
    assert_eq!(
        modules(&c),
        [
            ("x_module", "/usr/local/apache2/modules/mod_x.so"),
            ("y_module", "/opt/other/modules/mod_y.so"),
            ("z_module", "/abs/mod_z.so"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(c.server_root, Path::new("/opt/other"));
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    // No MPM: httpd would refuse, unless one is compiled in.
    assert!(has(&c.warnings, "no MPM module is loaded"));
    // An invalid ServerRoot is an error and changes nothing.
    t.file(
        "/usr/local/apache2/conf/httpd.conf",
        "ServerRoot /nowhere\nLoadModule x_module modules/mod_x.so\n",
    );
    let c = read_config(&t.root(), &opts);
    assert!(has(
        &c.errors,
        "httpd.conf:1: ServerRoot must be a valid directory"
    ));
    assert_eq!(modules(&c)[0].1, "/usr/local/apache2/modules/mod_x.so");
}

/// `<IfModule>` against what is loaded so far: identifiers, module
/// names, compiled-in modules; negated and nested; a skipped section
/// skips what is nested in it.
#[test]
fn ifmodule_positive_negated_nested() {
    let t = Tree::new();
    t.file(
        "/c/httpd.conf",
        "LoadModule a_module /m/a.so
<IfModule a_module>
  <IfModule !mod_b.c>
LoadModule b_module /m/b.so
  </IfModule>
  <IfModule mod_c.c>
LoadModule d_module /m/d.so
<IfModule !mod_zzz.c>
  LoadModule e_module /m/e.so
</IfModule>
  </IfModule>
</IfModule>
<IfModule mod_b.c>
  LoadModule f_module /m/f.so
</IfModule>
<IfModule mod_so.c>
  LoadModule g_module /m/g.so
</IfModule>
<IFMODULE so_module>
  LoadModule h_module /m/h.so
</ifmodule>
<IfModule mod_later.c>
  LoadModule i_module /m/i.so
</IfModule>
LoadModule later_module /m/later.so
<IfModule ! mod_later.c>
  LoadModule j_module /m/j.so
</IfModule>
<IfModule !mod_later.c>
  LoadModule k_module /m/k.so
</IfModule>
",
    );
    for m in ["a", "b", "d", "e", "f", "g", "h", "i", "j", "k", "later"] {
        t.file(&format!("/m/{m}.so"), "x");
    }
    let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
    assert_eq!(
        names(&c),
        [
            "a_module",
            "b_module",
            "f_module",
            "g_module",
            "h_module",
            "later_module"
        ]
    );
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    // `<IfModule ! x>`: the `!` counts, the name after the blank is read.
    assert!(!names(&c).contains(&"j_module".to_string()));
}

/// `<IfDefine>` against `-D` defines and `Define`/`UnDefine` so far;
/// `${NAME}` prefers a `Define`d value to the environment.
#[test]
fn ifdefine_define_and_cli() {
    let t = Tree::new();
    t.file(
        "/c/httpd.conf",
        "Define FOO
<IfDefine FOO>
  LoadModule a_module /m/a.so
</IfDefine>
<IfDefine !FOO>
  LoadModule b_module /m/b.so
</IfDefine>
<IfDefine SSL>
  LoadModule c_module /m/c.so
</IfDefine>
UnDefine FOO
<IfDefine FOO>
  LoadModule d_module /m/d.so
</IfDefine>
Define MODDIR /m
LoadModule e_module ${MODDIR}/e.so
LoadModule f_module ${ENVDIR}/f.so
<IfDefine !NOPE>
  <IfDefine SSL>
LoadModule g_module /m/g.so
  </IfDefine>
</IfDefine>
Define bad:name x
",
    );
    for m in ["a", "b", "c", "d", "e", "f", "g"] {
        t.file(&format!("/m/{m}.so"), "x");
    }
    let mut o = opts_main("/c/httpd.conf");
    o.defines = vec!["SSL".into()];
    o.env = [("MODDIR", "/env"), ("ENVDIR", "/m")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let c = read_config(&t.root(), &o);
    assert_eq!(
        modules(&c),
        [
            ("a_module", "/m/a.so"),
            ("c_module", "/m/c.so"),
            ("e_module", "/m/e.so"),
            ("f_module", "/m/f.so"),
            ("g_module", "/m/g.so"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(
        c.defines.contains("SSL") && c.defines.contains("MODDIR") && !c.defines.contains("FOO")
    );
    assert_eq!(c.vars.get("MODDIR").map(String::as_str), Some("/m"));
    assert!(has(
        &c.errors,
        "httpd.conf:23: Variable name must not contain ':'"
    ));
}

/// Continuation lines, quotes with blanks and escapes, case-insensitive
/// names, comments only at the start of a line (a comment ending in a
/// backslash swallows the next line, as in httpd).
#[test]
fn lexical_rules() {
    let t = Tree::new();
    t.file(
        "/c/httpd.conf",
        "loadMODULE \\\n    alias_module \"/m/mod alias.so\"\r\n\
         \t  # a comment \\\n\
         LoadModule hidden_module /m/hidden.so\n\
         LoadFile '/opt/lib dir/libx.so'\n\
         lOaDfIlE \"/m/a\\\"b.so\" /m/c\\\\d.so /m/e\\f.so\n\
         LoadModule x_module /m/x.so # not a comment\n\
         LoadModule last_module \\\n/m/last.so\n\
         LoadModule eof_module /m/last.so \\",
    );
    for f in [
        "/m/mod alias.so",
        "/opt/lib dir/libx.so",
        "/m/a\"b.so",
        "/m/c\\d.so",
        "/m/e\\f.so",
        "/m/last.so",
    ] {
        t.file(f, "x");
    }
    let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
    assert_eq!(
        modules(&c),
        [
            ("alias_module", "/m/mod alias.so"),
            ("last_module", "/m/last.so")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let first = c.directives.first().unwrap();
    assert_eq!(
        first.line, 2,
        "httpd numbers a continued line by its last line"
    );
    let files: Vec<String> = c
        .directives
        .iter()
        .filter_map(|d| match &d.kind {
            DirectiveKind::LoadFile { path, .. } => Some(path.display().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        files,
        [
            "/opt/lib dir/libx.so",
            "/m/a\"b.so",
            "/m/c\\d.so",
            "/m/e\\f.so"
        ]
    );
    // A `#` after a directive is a word: LoadModule gets four.
    assert!(has(
        &c.errors,
        "httpd.conf:7: LoadModule takes two arguments"
    ));
    // A backslash on the last line, with no newline after it, is kept
    // (no continuation without a newline) and is a third word.
    assert!(has(
        &c.errors,
        "httpd.conf:10: LoadModule takes two arguments"
    ));
    assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
}

/// An include cycle is reported once, naming the chain; everything
/// else is still read, in order.
#[test]
fn include_cycle() {
    let t = Tree::new();
    t.file(
        "/c/httpd.conf",
        "LoadModule m0_module /m.so\nInclude /c/a.conf\nLoadModule m4_module /m.so\n",
    )
    .file(
        "/c/a.conf",
        "LoadModule m1_module /m.so\nInclude b.conf\nLoadModule m3_module /m.so\n",
    )
    .file(
        "/c/b.conf",
        "LoadModule m2_module /m.so\nInclude /c/./a.conf\n",
    )
    .file("/m.so", "x");
    let mut o = opts_main("/c/httpd.conf");
    o.server_root = Some("/c".into());
    let c = read_config(&t.root(), &o);
    assert_eq!(
        names(&c),
        [
            "m0_module",
            "m1_module",
            "m2_module",
            "m3_module",
            "m4_module"
        ]
    );
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    assert!(has(
        &c.errors,
        "/c/b.conf:2: Include cycle: /c/a.conf -> /c/b.conf -> /c/a.conf"
    ));
    // A file including itself through a symlink is the same file.
    t.file(
        "/c/self.conf",
        "Include /c/link.conf\nLoadModule s_module /m.so\n",
    )
    .link("self.conf", "/c/link.conf");
    let c = read_config(&t.root(), &opts_main("/c/self.conf"));
    assert_eq!(names(&c), ["s_module"]);
    assert!(has(
        &c.errors,
        "Include cycle: /c/self.conf -> /c/link.conf"
    ));
}

/// `Include` of something missing is an error, `IncludeOptional` of it
/// is silent; a wildcard with no match is an error for `Include` only.
#[test]
fn missing_includes() {
    let t = Tree::new();
    t.file(
        "/c/httpd.conf",
        "Include /c/nope.conf
IncludeOptional /c/nope.conf
IncludeOptional /c/nodir/*.conf
Include /c/nodir/*.conf
Include /c/empty/*.conf
IncludeOptional /c/empty/*.conf
IncludeOptional /c/file.conf/*.conf
Include /c/dangling.conf
IncludeOptional /c/dangling.conf
LoadModule after_module /m.so
",
    )
    .mkdir("/c/empty")
    .file("/c/file.conf", "")
    .link("/c/nothing", "/c/dangling.conf")
    .file("/m.so", "x");
    let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
    assert_eq!(names(&c), ["after_module"]);
    let m = messages(&c.errors);
    assert_eq!(m.len(), 5, "{m:?}");
    assert!(m[0].starts_with("/c/httpd.conf:1: Could not open configuration file /c/nope.conf"));
    assert!(m[1].starts_with(
        "/c/httpd.conf:4: Include/IncludeOptional: Could not open directory /c/nodir"
    ));
    assert!(m[2].starts_with("/c/httpd.conf:5: Include/IncludeOptional: No matches for the wildcard '*.conf' in '/c/empty'"));
    // Only a missing directory is tolerated: a file in its place is not.
    assert!(m[3].starts_with(
        "/c/httpd.conf:7: Include/IncludeOptional: Could not open directory /c/file.conf"
    ));
    assert!(
        m[4].starts_with("/c/httpd.conf:8: Could not open configuration file /c/dangling.conf")
    );
}

/// A LoadModule of a file that is not there stays in the model (httpd
/// would refuse to start) with an error entry; a bare name falls back to
/// the linker's search and is only a warning.
#[test]
fn loadmodule_of_missing_file() {
    let t = Tree::new();
    t.file(
        "/c/httpd.conf",
        "LoadModule gone_module modules/mod_gone.so\nLoadModule bare_module mod_bare.so\nLoadFile /usr/lib/libgone.so\nLoadModule dir_module /c\n",
    );
    let mut o = opts_main("/c/httpd.conf");
    o.server_root = Some("/srv/httpd".into());
    let c = read_config(&t.root(), &o);
    assert_eq!(
        modules(&c),
        [
            ("gone_module", "/srv/httpd/modules/mod_gone.so"),
            ("bare_module", "/srv/httpd/mod_bare.so"),
            ("dir_module", "/c"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let bare = &c.directives[1].kind;
    assert!(
        matches!(bare, DirectiveKind::LoadModule { fallback: Some(f), .. } if f == "mod_bare.so")
    );
    let m = messages(&c.errors);
    assert_eq!(m.len(), 3, "{m:?}");
    assert!(m[0].contains(
        "httpd.conf:1: LoadModule: Cannot load /srv/httpd/modules/mod_gone.so into server"
    ));
    assert!(m[1].contains("httpd.conf:3: LoadFile: Cannot load /usr/lib/libgone.so"));
    assert!(m[2].contains("httpd.conf:4: LoadModule: Cannot load /c into server: is a directory"));
    assert!(has(
        &c.warnings,
        "retries `mod_bare.so` with the dynamic linker's search"
    ));
}

/// A main configuration that is a directory or a FIFO is refused; an
/// included FIFO or binary file is an error and the rest still counts;
/// an included directory brings all its files, recursively, in byte
/// order (H3, `ap_dir_nofnmatch`).
#[test]
fn directories_fifos_and_garbage() {
    let t = Tree::new();
    t.mkdir("/c/dir.conf")
        .fifo("/c/fifo.conf")
        .file("/m.so", "x");
    let c = read_config(&t.root(), &opts_main("/c/dir.conf"));
    assert!(c.directives.is_empty());
    assert!(has(
        &c.errors,
        "/c/dir.conf: Access to file /c/dir.conf denied by server: not a regular file (directory)"
    ));
    let c = read_config(&t.root(), &opts_main("/c/fifo.conf"));
    assert!(has(&c.errors, "not a regular file (FIFO)"));

    let mut garbage = b"LoadModule hidden_module /m.so\n\x00\x01\x02\xff\xfe".to_vec();
    garbage.extend((0..=255u8).cycle().take(4096));
    t.bytes("/c/garbage.conf", &garbage)
        .file(
            "/c/httpd.conf",
            "Include /c/fifo.conf\nInclude /c/garbage.conf\nInclude /c/conf.d\nInclude /dev/null\nLoadModule z_module /m.so\n",
        )
        .file("/c/conf.d/b.conf", "LoadModule b_module /m.so\n")
        .file("/c/conf.d/a/x.conf", "LoadModule ax_module /m.so\n")
        .file("/c/conf.d/.hidden", "LoadModule hidden2_module /m.so\n")
        .file("/c/conf.d/B", "LoadModule upper_module /m.so\n");
    let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
    assert_eq!(
        names(&c),
        [
            "hidden2_module",
            "upper_module",
            "ax_module",
            "b_module",
            "z_module"
        ]
    );
    let m = messages(&c.errors);
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(m[0].starts_with(
        "/c/httpd.conf:1: Access to file /c/fifo.conf denied by server: not a regular file (FIFO)"
    ));
    assert!(m[1].starts_with("/c/httpd.conf:2: /c/garbage.conf is not a text file"));
}

/// Wildcards expand in byte-wise order (`B.conf` before `a.conf`), a
/// leading dot only matches literally, and in the middle of a path only
/// real directories are followed.
#[test]
fn include_order_is_bytewise() {
    let t = Tree::new();
    t.file(
        "/c/httpd.conf",
        "Include /c/conf.d/*.conf\nInclude /c/sites/*/conf/*.conf\n",
    )
    .file("/c/conf.d/a.conf", "LoadModule a_module /m.so\n")
    .file("/c/conf.d/B.conf", "LoadModule B_module /m.so\n")
    .file("/c/conf.d/_x.conf", "LoadModule x_module /m.so\n")
    .file("/c/conf.d/.dot.conf", "LoadModule dot_module /m.so\n")
    .file("/c/conf.d/10-z.conf", "LoadModule z10_module /m.so\n")
    .file("/c/conf.d/9-z.conf", "LoadModule z9_module /m.so\n")
    .file("/c/sites/s-b/conf/1.conf", "LoadModule sb_module /m.so\n")
    .file("/c/sites/s/conf/1.conf", "LoadModule s_module /m.so\n")
    .file("/c/sites/s/conf/2.conf", "LoadModule s2_module /m.so\n")
    .file("/c/sites/file", "")
    .link("s", "/c/sites/t-link")
    .file("/m.so", "x");
    let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
    assert_eq!(
        names(&c),
        [
            "z10_module",
            "z9_module",
            "B_module",
            "x_module",
            "a_module",
            // Per directory: s before s-b although "s-b/" < "s/".
            "s_module",
            "s2_module",
            "sb_module",
        ]
    );
    assert!(c.errors.is_empty(), "{:?}", c.errors);
}

/// Containers that are not conditions do not stop a LoadModule (it acts
/// while the file is read), and their context follows directives into
/// included files.
#[test]
fn containers_and_context() {
    let t = Tree::new();
    t.file(
        "/c/httpd.conf",
        "<VirtualHost *:443>\n  ServerName a\n  LoadModule v_module /m.so\n  <IfModule v_module>\n    Include /c/app.conf\n  </IfModule>\n</VirtualHost>\n<Directory /srv>\n<Location /x>\n</Directory>\n<Unclosed>\n",
    )
    .file(
        "/c/app.conf",
        "<Location /app>\nWSGIProcessGroup app\n</Location>\nWSGIImportScript /srv/app.wsgi process-group=app application-group=%{GLOBAL}\nWSGIDaemonProcess bad opt\n",
    )
    .file("/m.so", "x");
    let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
    assert_eq!(names(&c), ["v_module"]);
    assert_eq!(c.directives[0].context, ["<VirtualHost *:443>"]);
    let pg = c
        .directives
        .iter()
        .find(|d| matches!(d.kind, DirectiveKind::WsgiProcessGroup(_)))
        .unwrap();
    assert_eq!(pg.context, ["<VirtualHost *:443>", "<Location /app>"]);
    assert_eq!(pg.file, Path::new("/c/app.conf"));
    let imp = c
        .directives
        .iter()
        .find(|d| matches!(d.kind, DirectiveKind::WsgiImportScript { .. }))
        .unwrap();
    assert_eq!(imp.context, ["<VirtualHost *:443>"]);
    let m = messages(&c.errors);
    assert!(
        m.iter()
            .any(|e| e.starts_with("/c/app.conf:5: Invalid option to WSGI daemon process")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|e| e.starts_with("/c/httpd.conf:10: Expected </Location> but saw </Directory>")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|e| e == "/c/httpd.conf: <Unclosed> was not closed."),
        "{m:?}"
    );
}

/// A module loaded twice is skipped with httpd's warning; a compiled-in
/// one is refused (mod_so `load_module`).
#[test]
fn duplicate_and_builtin_modules() {
    let t = Tree::new();
    t.file(
        "/c/httpd.conf",
        "LoadModule a_module /m.so\nLoadModule a_module /other.so\nLoadModule log_config_module /m.so\n<IfModule mod_log_config.c>\nLoadModule b_module /m.so\n</IfModule>\n",
    )
    .file("/m.so", "x")
    .file("/other.so", "x");
    let mut o = opts_main("/c/httpd.conf");
    o.builtin = Some(
        DEBIAN_BUILTIN
            .iter()
            .map(|(s, f)| BuiltinModule {
                symbol: s.to_string(),
                source: f.to_string(),
            })
            .collect(),
    );
    let c = read_config(&t.root(), &o);
    assert_eq!(
        modules(&c),
        [
            ("a_module".to_string(), "/m.so".to_string()),
            ("b_module".into(), "/m.so".into())
        ]
    );
    assert!(has(
        &c.warnings,
        "httpd.conf:2: module a_module is already loaded, skipping"
    ));
    assert!(has(
        &c.errors,
        "httpd.conf:3: module log_config_module is built-in and can't be loaded"
    ));
}

/// `-C` directives come before the main file (and may move ServerRoot
/// for its name), `-c` after; `-d` with no `-f` finds the layout's file.
#[test]
fn command_line_directives() {
    let t = Tree::new();
    t.file(
        "/srv/web/conf/httpd.conf",
        "<IfDefine PRE>\nLoadModule main_module modules/m.so\n</IfDefine>\n",
    )
    .file("/srv/web/modules/m.so", "x")
    .file("/srv/web/modules/post.so", "x");
    let o = ConfigOptions {
        main: Some("conf/httpd.conf".into()),
        server_root: Some("/nowhere".into()),
        pre_directives: vec!["Define PRE".into(), "ServerRoot /srv/web".into()],
        post_directives: vec!["LoadModule post_module modules/post.so".into()],
        builtin: generic(),
        ..ConfigOptions::default()
    };
    let c = read_config(&t.root(), &o);
    assert_eq!(
        c.main.as_deref(),
        Some(Path::new("/srv/web/conf/httpd.conf"))
    );
    assert_eq!(
        modules(&c),
        [
            ("main_module", "/srv/web/modules/m.so"),
            ("post_module", "/srv/web/modules/post.so")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(c.directives[1].file, Path::new("<-c>"));
    let o = ConfigOptions {
        server_root: Some("/srv/web".into()),
        builtin: generic(),
        ..ConfigOptions::default()
    };
    let c = read_config(&t.root(), &o);
    assert_eq!(
        c.main.as_deref(),
        Some(Path::new("/srv/web/conf/httpd.conf"))
    );
    let c = read_config(&Tree::new().root(), &ConfigOptions::default());
    assert!(c.main.is_none() && has(&c.errors, "no Apache configuration found"));
}

/// Hostile input: include chains deeper than httpd's limit, a directory
/// that contains a link to itself, a huge `${}` expansion and sections
/// never closed end with errors, not hangs.
#[test]
fn hostile_configurations() {
    let t = Tree::new();
    for i in 0..200 {
        t.file(
            &format!("/deep/{i}.conf"),
            &format!("Include /deep/{}.conf\n", i + 1),
        );
    }
    t.file("/deep/200.conf", "LoadModule deep_module /m.so\n")
        .file("/m.so", "x");
    let c = read_config(&t.root(), &opts_main("/deep/0.conf"));
    assert!(has(&c.errors, "Exceeded maximum include depth of 128"));
    assert!(names(&c).is_empty());

    t.file("/loop/conf.d/a.conf", "LoadModule a_module /m.so\n")
        .link(".", "/loop/conf.d/self")
        .link("/loop/conf.d", "/loop/conf.d/abs")
        .file("/loop/httpd.conf", "Include /loop/conf.d\n");
    let c = read_config(&t.root(), &opts_main("/loop/httpd.conf"));
    assert_eq!(names(&c), ["a_module"]);
    assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
    assert!(has(&c.errors, "loops back into itself"));

    let big = "x".repeat(64 * 1024);
    let mut conf = format!("Define BIG {big}\n");
    conf.push_str(&"${BIG}".repeat(20));
    conf.push_str("\n<IfModule nope_module>\nLoadModule never_module /m.so\n");
    t.file("/big/httpd.conf", &conf);
    let c = read_config(&t.root(), &opts_main("/big/httpd.conf"));
    assert!(has(
        &c.errors,
        "httpd.conf:2: budget exceeded: APACHE_LINE (1 MiB): line after ${} expansion ignored"
    ));
    assert!(has(
        &c.errors,
        "httpd.conf:3: Expected </IfModule> before end of configuration"
    ));
    assert!(names(&c).is_empty());
}

#[test]
fn errors_kept_per_file() {
    let t = Tree::new();
    let mut conf = String::new();
    for i in 0..100 {
        conf.push_str(&format!("Include /missing/{i}.conf\n"));
    }
    t.file("/e/httpd.conf", &conf)
        .file("/e/other.conf", "LoadModule\n")
        .file(
            "/e/main.conf",
            "Include /e/httpd.conf\nInclude /e/other.conf\n",
        );
    let c = read_config(&t.root(), &opts_main("/e/main.conf"));
    let mine: Vec<_> = c
        .errors
        .iter()
        .filter(|e| e.0.to_string_lossy().starts_with("/e/httpd.conf:"))
        .collect();
    assert_eq!(mine.len(), budget::ERRORS_PER_FILE + 1, "{:?}", c.errors);
    assert!(mine[0].1.contains("/missing/0.conf"));
    assert_eq!(mine[20].0, Path::new("/e/httpd.conf:21"));
    assert_eq!(mine[20].1, budget::more_errors(80));
    // The next file's errors are its own, and come after.
    assert!(has(
        &c.errors,
        "other.conf:1: LoadModule takes two arguments"
    ));
}

#[test]
fn include_work_is_bounded() {
    // Two links per level: 2^30 paths, as httpd would follow them.
    let t = Tree::new();
    t.file(
        "/f/httpd.conf",
        "Include /f/d0\nLoadModule late_module /m.so\n",
    )
    .file("/m.so", "x")
    .file("/f/d0/a.conf", "LoadModule first_module /m.so\n")
    .mkdir("/f/d30");
    for i in 0..30 {
        t.link(&format!("/f/d{}", i + 1), &format!("/f/d{i}/l1"))
            .link(&format!("/f/d{}", i + 1), &format!("/f/d{i}/l2"));
    }
    let c = read_config(&t.root(), &opts_main("/f/httpd.conf"));
    assert!(
        has(&c.errors, "budget exceeded: APACHE_INCLUDE_WORK (100000)"),
        "{:?}",
        c.errors
    );
    // What was read is kept; nothing after the budget is read.
    assert_eq!(names(&c), ["first_module"]);
}

#[test]
fn fnmatch_test_and_normalize() {
    assert!(fnmatch_test(b"/a/*.conf"));
    assert!(fnmatch_test(b"/a/[ab].conf"));
    assert!(!fnmatch_test(b"/a/[ab.conf"));
    assert!(!fnmatch_test(b"/a/\\*.conf"));
    assert_eq!(
        normalize(Path::new("/etc/httpd"), b"conf/../modules/./x.so"),
        Path::new("/etc/httpd/modules/x.so")
    );
    assert_eq!(
        normalize(Path::new("/etc/httpd"), b"/../../x"),
        Path::new("/x")
    );
    assert_eq!(
        normalize(Path::new("/etc/httpd"), b""),
        Path::new("/etc/httpd")
    );
    assert_eq!(
        default_server_root(Path::new("/opt/x/apache2/conf/httpd.conf")),
        Path::new("/opt/x/apache2")
    );
    assert_eq!(
        module_source_name("php_module").as_deref(),
        Some("mod_php.c")
    );
    assert_eq!(
        module_source_name("mpm_event_module").as_deref(),
        Some("event.c")
    );
    assert_eq!(module_source_name("_module"), None);
}

/// Token soup made of the syntax both parsers care about: neither
/// panics nor loops, whatever the order.
mod soup {
    use super::*;
    use proptest::prelude::*;

    const TOKENS: &[&str] = &[
        "<IfModule ",
        "<IfDefine !",
        ">",
        "</IfModule>",
        "</IfDefine>",
        "<VirtualHost *>",
        "</VirtualHost>",
        "<Macro x>",
        "\\\n",
        "\n",
        "\r\n",
        "\"",
        "'",
        "${",
        "}",
        "$",
        "\\",
        "Include ",
        "IncludeOptional ",
        "/c/*.conf",
        "/c",
        "*",
        "?",
        "[",
        "]",
        "LoadModule ",
        "a_module ",
        "/m.so",
        "Define ",
        "UnDefine ",
        "ServerRoot ",
        "WSGIDaemonProcess ",
        "=",
        "#",
        "!",
        " ",
        "\t",
        "(",
        ")",
        ";",
        "if ",
        "then ",
        "elif ",
        "else ",
        "fi",
        "&&",
        "`",
        "export ",
        "unset ",
        "case ",
        "esac",
        "[ ",
        " ]",
        "-n ",
        "${X:-",
        "${X#",
        "%%",
        "A=",
        "\u{0}",
        "\u{ff}",
        "é",
    ];

    fn soup() -> impl Strategy<Value = String> {
        proptest::collection::vec(0..TOKENS.len(), 0..200)
            .prop_map(|v| v.into_iter().map(|i| TOKENS[i]).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn parsers_survive_token_soup(conf in soup(), other in soup()) {
            let t = Tree::new();
            t.file("/c/httpd.conf", &format!("Include /c/*.conf\n{conf}"))
                .file("/c/b.conf", &other)
                .file("/etc/apache2/envvars", &format!("{conf}\n{other}"))
                .file("/m.so", "x");
            let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
            prop_assert!(c.files.len() <= APACHE_FILES);
            let _ = service_env(&t.root());
        }
    }
}

/// This machine's Debian configuration, read-only: the LoadModule list
/// equals, in order, the LoadModule lines of mods-enabled/*.load in
/// byte order of their names.
#[test]
fn this_machines_debian_config() {
    if !Path::new("/etc/apache2/apache2.conf").exists()
        || !Path::new("/etc/apache2/envvars").exists()
    {
        eprintln!("no Debian Apache configuration on this machine: skipped");
        return;
    }
    let root = Root::new(Path::new("/")).unwrap();
    let mut loads: Vec<PathBuf> = fs::read_dir("/etc/apache2/mods-enabled")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some(OsStr::new("load")))
        .collect();
    loads.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    let mut expected = Vec::new();
    for f in &loads {
        for line in fs::read_to_string(f).unwrap().lines() {
            let mut w = line.split_whitespace();
            if w.next() == Some("LoadModule") {
                let name = w.next().unwrap().to_string();
                let path = w.next().unwrap().to_string();
                expected.push((name, path));
            }
        }
    }
    assert!(!expected.is_empty());
    let service = service_env(&root);
    let config = read_config(&root, &service.config_options());
    assert_eq!(modules(&config), expected);
    assert!(
        expected.iter().any(|(n, _)| n.starts_with("mpm_")),
        "Debian enables an MPM"
    );
    assert!(config.errors.is_empty(), "{:?}", config.errors);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    assert_eq!(config.server_root, Path::new("/etc/apache2"));
}

/// Debian's compiled-in module list is the `*_module` symbol names in
/// the strings of /usr/sbin/apache2 (read, never run).
#[test]
fn debian_builtin_list_matches_binary() {
    let Ok(bytes) = fs::read("/usr/sbin/apache2") else {
        eprintln!("no /usr/sbin/apache2 on this machine: skipped");
        return;
    };
    let found: BTreeSet<String> = bytes
        .split(|&c| c == 0)
        .filter(|s| {
            s.len() > 7
                && s.ends_with(b"_module")
                && !s.starts_with(b"ap_")
                && s.iter()
                    .all(|&c| c == b'_' || c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        .map(lossy)
        .collect();
    let listed: BTreeSet<String> = DEBIAN_BUILTIN.iter().map(|(s, _)| s.to_string()).collect();
    assert_eq!(found, listed);
}

/// mod_wsgi refuses a second daemon group of a name (httpd does not
/// start); `AddHandler`/`SetHandler wsgi-script` are kept with their
/// section, other handlers are not.
#[test]
fn wsgi_daemon_names_and_handlers() {
    let t = Tree::new();
    t.file(
        "/c/httpd.conf",
        "WSGIDaemonProcess a python-home=/srv/a\nWSGIDaemonProcess a python-home=/srv/b\n<Directory /var/www/w>\n  AddHandler wsgi-script .wsgi .py\n  AddHandler cgi-script .cgi\n  SetHandler WSGI-Script\n</Directory>\n",
    );
    let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
    let daemons: Vec<&Directive> = c
        .directives
        .iter()
        .filter(|d| matches!(d.kind, DirectiveKind::WsgiDaemonProcess { .. }))
        .collect();
    assert_eq!(daemons.len(), 1);
    assert_eq!(daemons[0].line, 1);
    let m = messages(&c.errors);
    assert!(
        m.iter()
            .any(|e| e == "/c/httpd.conf:2: Name duplicates previous WSGI daemon definition."),
        "{m:?}"
    );
    let handlers: Vec<(&DirectiveKind, &[String])> = c
        .directives
        .iter()
        .filter(|d| matches!(d.kind, DirectiveKind::WsgiScriptHandler { .. }))
        .map(|d| (&d.kind, d.context.as_slice()))
        .collect();
    assert_eq!(
        handlers,
        [
            (
                &DirectiveKind::WsgiScriptHandler {
                    directive: "AddHandler".into(),
                    extensions: vec![".wsgi".into(), ".py".into()]
                },
                &["<Directory /var/www/w>".to_string()][..]
            ),
            (
                &DirectiveKind::WsgiScriptHandler {
                    directive: "SetHandler".into(),
                    extensions: vec![]
                },
                &["<Directory /var/www/w>".to_string()][..]
            ),
        ]
    );
}
