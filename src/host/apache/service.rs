//! How httpd is started: the distributions' httpd unit (or, without one,
//! RHEL's `/etc/sysconfig/httpd` or Debian's SysV start), Debian's
//! `apache2ctl` with its `envvars`, httpd's own arguments, and
//! `/etc/ld.so.preload`, read with the daemon-neutral readers of
//! `host::service`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::budget;
use crate::host::service::envfile::read_env_file;
use crate::host::service::preload::read_ld_so_preload;
use crate::host::service::sh::Shell;
use crate::host::service::{Log, split_ws, systemd};
use crate::root::{Kind, Root};

use super::ConfigOptions;

/// Unit names of the distributions' httpd services (Debian and SUSE
/// `apache2`, RHEL `httpd`), tried in this order.
const UNIT_NAMES: &[&str] = &["apache2.service", "httpd.service"];

/// What httpd is started with: its environment, program and arguments.
#[derive(Debug, Clone, Default)]
pub struct ServiceEnv {
    /// The systemd unit file used, if any.
    pub unit: Option<PathBuf>,
    /// The environment httpd starts with, as far as files tell it:
    /// the manager's `DefaultEnvironment=`, the unit's `Environment=` and
    /// `EnvironmentFile=`, less `UnsetEnvironment=`, then what Debian's
    /// `apache2ctl` and `envvars` export. Variables systemd adds by itself
    /// (`PATH`, `INVOCATION_ID`, ...) are not listed.
    pub vars: BTreeMap<String, String>,
    /// The httpd program started, when known.
    pub httpd: Option<PathBuf>,
    /// Its arguments (without the program name).
    pub args: Vec<String>,
    /// `-D NAME` defines in the arguments (and `DEBUG` for `-X`), in order.
    pub defines: Vec<String>,
    /// `-d DIR`.
    pub server_root: Option<PathBuf>,
    /// `-f FILE`.
    pub config_file: Option<PathBuf>,
    /// `-C DIRECTIVE`s and `-c DIRECTIVE`s.
    pub pre_directives: Vec<String>,
    pub post_directives: Vec<String>,
    /// Names in `/etc/ld.so.preload`, in order (ld.so preloads them into
    /// every process, after `LD_PRELOAD`).
    pub ld_so_preload: Vec<String>,
    /// Every file read, in order.
    pub sources: Vec<PathBuf>,
    /// What could not be read or interpreted: (`file:line` or path, reason).
    pub errors: Vec<(PathBuf, String)>,
}

impl ServiceEnv {
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn ld_library_path(&self) -> Option<&str> {
        self.var("LD_LIBRARY_PATH")
    }

    /// `LD_PRELOAD` split as ld.so splits it (`handle_preload_list`: at
    /// spaces and colons, empty names skipped).
    pub fn ld_preload(&self) -> Vec<&str> {
        self.var("LD_PRELOAD")
            .map(|v| v.split([' ', ':']).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    /// ld.so binds everything at start-up when `LD_BIND_NOW` is set to a
    /// non-empty value (`process_envvars`).
    pub fn ld_bind_now(&self) -> bool {
        self.var("LD_BIND_NOW").is_some_and(|v| !v.is_empty())
    }

    /// `LD_DYNAMIC_WEAK` counts when it is set at all.
    pub fn ld_dynamic_weak(&self) -> bool {
        self.var("LD_DYNAMIC_WEAK").is_some()
    }

    /// The options [`read_config`](super::read_config) needs from the service.
    pub fn config_options(&self) -> ConfigOptions {
        ConfigOptions {
            main: self.config_file.clone(),
            server_root: self.server_root.clone(),
            env: self.vars.clone(),
            defines: self.defines.clone(),
            pre_directives: self.pre_directives.clone(),
            post_directives: self.post_directives.clone(),
            builtin: None,
        }
    }
}

/// Finds the service environment of httpd on a root: the systemd unit
/// (or, without one, Debian's SysV start through `apache2ctl`, or RHEL's
/// `/etc/sysconfig/httpd`), Debian's `envvars` when the service starts
/// httpd through `apache2ctl`, and `/etc/ld.so.preload`. Nothing is
/// executed: `envvars` is interpreted for the simple shell it holds.
pub fn service_env(root: &Root) -> ServiceEnv {
    let mut out = ServiceEnv::default();
    let mut log = Log::default();
    out.ld_so_preload = read_ld_so_preload(root, &mut log);

    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in systemd::manager_environment(root, &mut log) {
        env.insert(k, v);
    }

    let mut exec: Option<Vec<String>> = None;
    match systemd::find_unit(root, UNIT_NAMES) {
        Some((path, name)) => {
            exec = systemd::service_start(root, &path, name, &mut env, &mut log);
            out.unit = Some(path);
        }
        None => {
            let sysconfig = Path::new("/etc/sysconfig/httpd");
            if root.kind(sysconfig) == Some(Kind::Regular) {
                read_env_file(root, sysconfig, true, sysconfig, &mut env, &mut log);
                let mut words = vec!["/usr/sbin/httpd".to_string()];
                words.extend(env.get("OPTIONS").map(|o| split_ws(o)).unwrap_or_default());
                exec = Some(words);
            }
        }
    }

    let program = exec.as_ref().and_then(|w| w.first().cloned());
    let is_ctl = |p: &str| {
        matches!(
            Path::new(p).file_name().and_then(OsStr::to_str),
            Some("apachectl" | "apache2ctl")
        )
    };
    let debian_ctl = match &program {
        Some(p) => is_ctl(p),
        None => out.unit.is_none() && root.kind(Path::new("/etc/apache2/envvars")).is_some(),
    };
    if debian_ctl {
        let argv: Vec<String> = match &exec {
            Some(w) => w.iter().skip(1).cloned().collect(),
            None => vec!["start".to_string()],
        };
        apache2ctl(root, &argv, &mut env, &mut out, &mut log);
    } else if let Some(words) = exec {
        let mut it = words.into_iter();
        out.httpd = it.next().map(PathBuf::from);
        out.args = it.collect();
    }
    out.vars = env;
    parse_httpd_args(&mut out);
    out.sources = log.sources;
    out.errors = budget::cap_per_file(
        log.errors,
        |at: &PathBuf| at.as_os_str().as_bytes(),
        PathBuf::from("/etc/apache2/envvars"),
    );
    out
}

/// Debian's `apache2ctl` (also `apachectl`): `APACHE_CONFDIR` defaults to
/// /etc/apache2, `$APACHE_CONFDIR/envvars` (or `APACHE_ENVVARS`) is sourced
/// if it is a file, then httpd (`APACHE_HTTPD`, else /usr/sbin/apache2)
/// runs with `APACHE_ARGUMENTS` (after `-d DIR` when the confdir is not
/// /etc/apache2) and `-k ACTION`; `start` first unsets
/// `APACHE_STARTED_BY_SYSTEMD`.
fn apache2ctl(
    root: &Root,
    argv: &[String],
    env: &mut BTreeMap<String, String>,
    out: &mut ServiceEnv,
    log: &mut Log,
) {
    let mut sh = Shell::new(root, env);
    let confdir = match sh.get("APACHE_CONFDIR") {
        Some(d) if !d.is_empty() => d.to_string(),
        _ => {
            sh.set("APACHE_CONFDIR", "/etc/apache2");
            "/etc/apache2".to_string()
        }
    };
    let envvars = match sh.get("APACHE_ENVVARS") {
        Some(e) if !e.is_empty() => e.to_string(),
        _ => {
            let e = format!("{confdir}/envvars");
            sh.set("APACHE_ENVVARS", &e);
            e
        }
    };
    let envvars = PathBuf::from(envvars);
    if root.kind(&envvars) == Some(Kind::Regular) {
        if let Some(bytes) = log.read(root, &envvars) {
            sh.run(&envvars, &bytes);
        }
    }
    let mut arguments = sh.get("APACHE_ARGUMENTS").unwrap_or_default().to_string();
    if confdir != "/etc/apache2" {
        arguments = format!("-d {confdir} {arguments}");
    }
    let httpd = match sh.get("APACHE_HTTPD") {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => "/usr/sbin/apache2".to_string(),
    };
    let mut httpd_words = split_ws(&httpd).into_iter();
    out.httpd = httpd_words.next().map(PathBuf::from);
    let mut args: Vec<String> = httpd_words.collect();
    args.extend(split_ws(&arguments));
    let action = argv.join(" ");
    match action.as_str() {
        "start" => {
            sh.unset("APACHE_STARTED_BY_SYSTEMD");
            args.extend(["-k".to_string(), action]);
        }
        "stop" | "graceful-stop" | "restart" | "graceful" => {
            args.extend(["-k".to_string(), action])
        }
        "" => log.errors.push((
            PathBuf::from("/usr/sbin/apache2ctl"),
            "apache2ctl without an action does not start httpd".into(),
        )),
        _ => args.extend(argv.iter().cloned()),
    }
    out.args = args;
    log.errors.append(&mut sh.errors);
    *env = sh.exported();
}

/// httpd's own options (`AP_SERVER_BASEARGS` in server/main.c): `-D`, `-X`
/// (`DEBUG`), `-d`, `-f`, `-C`, `-c`; an option's argument is the rest of
/// its word or the next word.
fn parse_httpd_args(out: &mut ServiceEnv) {
    let mut i = 0;
    while let Some(a) = out.args.get(i) {
        i += 1;
        let Some(opt) = a.strip_prefix('-') else {
            continue;
        };
        let mut chars = opt.chars();
        let Some(c) = chars.next() else { continue };
        let takes_arg = matches!(c, 'C' | 'c' | 'D' | 'd' | 'E' | 'e' | 'f' | 'k');
        if c == 'X' {
            out.defines.push("DEBUG".into());
            continue;
        }
        if !takes_arg {
            continue;
        }
        let inline: String = chars.collect();
        let value = if inline.is_empty() {
            let v = out.args.get(i).cloned();
            i += 1;
            match v {
                Some(v) => v,
                None => continue,
            }
        } else {
            inline
        };
        match c {
            'D' => out.defines.push(value),
            'd' => out.server_root = Some(PathBuf::from(value)),
            'f' => out.config_file = Some(PathBuf::from(value)),
            'C' => out.pre_directives.push(value),
            'c' => out.post_directives.push(value),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use super::super::tests::{Tree, has, messages};
    use crate::root::Root;

    const DEBIAN_ENVVARS: &str = r#"# envvars - default environment variables for apache2ctl

# this won't be correct after changing uid
unset HOME

# for supporting multiple apache2 instances
if [ "${APACHE_CONFDIR##/etc/apache2-}" != "${APACHE_CONFDIR}" ] ; then
	SUFFIX="-${APACHE_CONFDIR##/etc/apache2-}"
else
	SUFFIX=
fi

export APACHE_RUN_USER=www-data
export APACHE_RUN_GROUP=www-data
# temporary state file location. This might be changed to /run in Wheezy+1
export APACHE_PID_FILE=/var/run/apache2$SUFFIX/apache2.pid
export APACHE_RUN_DIR=/var/run/apache2$SUFFIX
export APACHE_LOCK_DIR=/var/lock/apache2$SUFFIX
# Only /var/log/apache2 is handled by /etc/logrotate.d/apache2.
export APACHE_LOG_DIR=/var/log/apache2$SUFFIX

## The locale used by some modules like mod_dav
export LANG=C
## Uncomment the following line to use the system default locale instead:
#. /etc/default/locale

export LANG

#export APACHE_ARGUMENTS=''
"#;

    const DEBIAN_UNIT: &str = "[Unit]\nDescription=The Apache HTTP Server\n\n[Service]\nType=forking\nEnvironment=APACHE_STARTED_BY_SYSTEMD=true\nExecStart=/usr/sbin/apachectl start\nExecStop=/usr/sbin/apachectl graceful-stop\n";

    fn var<'a>(s: &'a ServiceEnv, k: &str) -> Option<&'a str> {
        s.var(k)
    }

    /// Debian: systemd starts apachectl, which sources envvars (the `if`
    /// for multiple instances evaluated) and unsets
    /// APACHE_STARTED_BY_SYSTEMD before starting apache2 -k start.
    #[test]
    fn debian_service_env() {
        let t = Tree::new();
        t.file("/etc/apache2/envvars", DEBIAN_ENVVARS)
            .file("/usr/lib/systemd/system/apache2.service", DEBIAN_UNIT)
            .link("usr/lib", "/lib");
        let s = service_env(&t.root());
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(
            s.unit.as_deref(),
            Some(Path::new("/usr/lib/systemd/system/apache2.service"))
        );
        let expected: BTreeMap<String, String> = [
            ("APACHE_LOCK_DIR", "/var/lock/apache2"),
            ("APACHE_LOG_DIR", "/var/log/apache2"),
            ("APACHE_PID_FILE", "/var/run/apache2/apache2.pid"),
            ("APACHE_RUN_DIR", "/var/run/apache2"),
            ("APACHE_RUN_GROUP", "www-data"),
            ("APACHE_RUN_USER", "www-data"),
            ("LANG", "C"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(s.vars, expected);
        assert_eq!(s.httpd.as_deref(), Some(Path::new("/usr/sbin/apache2")));
        assert_eq!(s.args, ["-k", "start"]);
        assert!(s.defines.is_empty());
        assert_eq!(
            s.sources,
            [
                Path::new("/usr/lib/systemd/system/apache2.service"),
                Path::new("/etc/apache2/envvars")
            ]
        );
        // A second instance's confdir sets SUFFIX through the `if`.
        t.file(
            "/etc/systemd/system/apache2.service.d/instance.conf",
            "[Service]\nEnvironment=APACHE_CONFDIR=/etc/apache2-two APACHE_ENVVARS=/etc/apache2/envvars\n",
        );
        let s = service_env(&t.root());
        assert_eq!(var(&s, "APACHE_RUN_DIR"), Some("/var/run/apache2-two"));
        assert_eq!(
            s.server_root.as_deref(),
            Some(Path::new("/etc/apache2-two"))
        );
        assert_eq!(s.args, ["-d", "/etc/apache2-two", "-k", "start"]);
        assert_eq!(var(&s, "APACHE_STARTED_BY_SYSTEMD"), None);
    }

    /// What the envvars interpreter does and what it refuses.
    #[test]
    fn envvars_shell_subset() {
        let t = Tree::new();
        t.file(
            "/etc/apache2/envvars",
            r#"BASE=/opt/web
export A=${BASE:-/x}/a B="$BASE/b c" C='${BASE}'
D=${NOPE:-def} E=${NOPE-} F=${BASE:+set}
export D E
G=not-exported
H=${BASE#/opt} I=${BASE%/*} J=${#BASE}
. /etc/default/locale
export K=$(hostname)
if [ -n "$BASE" ]; then L=then; else L=else; fi
if test "$BASE" = /other; then M=then
elif [ ! -z "$BASE" ]; then M=elif
fi
if [ "$(id -u)" = 0 ]; then N=unknown; else N=unknown2; fi
case "$BASE" in
  /opt/*) O=case ;;
esac
export L M N O
LD_LIBRARY_PATH=/opt/lib; export LD_LIBRARY_PATH
export APACHE_ARGUMENTS="-DFOO -D BAR -f /etc/apache2/alt.conf -C 'x'"
unset A
export H I J
"#,
        );
        let s = service_env(&t.root());
        let v = |k: &str| var(&s, k).map(str::to_string);
        assert_eq!(v("A"), None, "unset");
        assert_eq!(v("B").as_deref(), Some("/opt/web/b c"));
        assert_eq!(v("C").as_deref(), Some("${BASE}"));
        assert_eq!(v("D").as_deref(), Some("def"));
        assert_eq!(v("E").as_deref(), Some(""));
        assert_eq!(v("F"), None, "not exported");
        assert_eq!(v("G"), None, "not exported");
        assert_eq!(v("BASE"), None, "not exported");
        assert_eq!(v("H").as_deref(), Some("/web"));
        assert_eq!(v("I").as_deref(), Some("/opt"));
        assert_eq!(v("J").as_deref(), Some("8"));
        assert_eq!(v("K"), None, "command substitution is not run");
        assert_eq!(v("L").as_deref(), Some("then"));
        assert_eq!(v("M").as_deref(), Some("elif"));
        assert_eq!(v("N"), None, "neither branch of an unknown condition");
        assert_eq!(v("O"), None, "case is skipped");
        assert_eq!(s.ld_library_path(), Some("/opt/lib"));
        assert_eq!(s.defines, ["FOO", "BAR"]);
        assert_eq!(
            s.config_file.as_deref(),
            Some(Path::new("/etc/apache2/alt.conf"))
        );
        assert_eq!(s.pre_directives, ["'x'"]);
        let m = messages(&s.errors);
        assert_eq!(m.len(), 4, "{m:?}");
        assert!(
            m[0].starts_with("/etc/apache2/envvars:7: `. /etc/default/locale` is not followed")
        );
        assert!(
            m[1].starts_with("/etc/apache2/envvars:8: command substitution are not interpreted")
        );
        assert!(m[2].starts_with("/etc/apache2/envvars:13: condition not interpreted"));
        assert!(m[3].starts_with("/etc/apache2/envvars:14: `case` is not interpreted"));
        let opts = s.config_options();
        assert_eq!(opts.defines, ["FOO", "BAR"]);
        assert_eq!(opts.env.get("B").map(String::as_str), Some("/opt/web/b c"));
    }

    /// RHEL: the unit's Environment=, EnvironmentFile= (optional, '-'),
    /// `$OPTIONS` split into words, `-DFOREGROUND`, drop-ins in name order
    /// with resets, UnsetEnvironment=, and ld.so.preload.
    #[test]
    fn rhel_service_env() {
        let t = Tree::new();
        t.file(
            "/usr/lib/systemd/system/httpd.service",
            "[Unit]\nDescription=The Apache HTTP Server\n[Service]\nType=notify\nEnvironment=LANG=C\nEnvironmentFile=-/etc/sysconfig/httpd\nEnvironmentFile=-/etc/sysconfig/missing\nExecStart=/usr/sbin/httpd $OPTIONS -DFOREGROUND\nExecReload=/usr/sbin/httpd $OPTIONS -k graceful\n",
        )
        .file(
            "/etc/sysconfig/httpd",
            "# comment\nOPTIONS=\"-DSSL -f conf/alt.conf\"\n  LD_LIBRARY_PATH = /opt/lib  \nQUOTED='a b'\\\n  \nbad-name=1\n",
        )
        .file(
            "/etc/systemd/system/httpd.service.d/50-preload.conf",
            "[Service]\nEnvironment=\"LD_PRELOAD=/opt/a.so /opt/b.so:/opt/c.so\" LD_BIND_NOW=1 \\\n  LD_DYNAMIC_WEAK= GONE=x\nUnsetEnvironment=GONE\n",
        )
        .file(
            "/usr/lib/systemd/system/httpd.service.d/10-reset.conf",
            "[Service]\nExecStart=\nExecStart=@/usr/sbin/httpd httpd-argv0 $OPTIONS -DFOREGROUND -D${LANG}X\n",
        )
        .file("/etc/ld.so.preload", "/lib/a.so:/lib/b.so # comment: /lib/no.so\n  /lib/c.so\t/lib/d.so\n\0/lib/after-nul.so");
        let s = service_env(&t.root());
        assert!(
            has(
                &s.errors,
                "httpd:6: invalid variable name, ignored: bad-name"
            ),
            "{:?}",
            s.errors
        );
        assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
        assert_eq!(s.httpd.as_deref(), Some(Path::new("/usr/sbin/httpd")));
        assert_eq!(
            s.args,
            ["-DSSL", "-f", "conf/alt.conf", "-DFOREGROUND", "-DCX"]
        );
        assert_eq!(s.defines, ["SSL", "FOREGROUND", "CX"]);
        assert_eq!(s.config_file.as_deref(), Some(Path::new("conf/alt.conf")));
        assert_eq!(s.ld_library_path(), Some("/opt/lib"));
        assert_eq!(var(&s, "QUOTED"), Some("a b"));
        assert_eq!(var(&s, "LANG"), Some("C"));
        assert_eq!(var(&s, "GONE"), None);
        assert_eq!(s.ld_preload(), ["/opt/a.so", "/opt/b.so", "/opt/c.so"]);
        assert!(s.ld_bind_now());
        assert!(s.ld_dynamic_weak());
        assert_eq!(
            s.ld_so_preload,
            ["/lib/a.so", "/lib/b.so", "/lib/c.so", "/lib/d.so"]
        );
        // A masked unit is reported.
        t.link("/dev/null", "/etc/systemd/system/httpd.service");
        let s = service_env(&t.root());
        assert!(has(&s.errors, "unit is masked"));
        assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
        assert!(s.httpd.is_none() && s.args.is_empty());
    }

    #[test]
    fn this_machines_envvars() {
        if !Path::new("/etc/apache2/envvars").exists() {
            eprintln!("no /etc/apache2/envvars on this machine: skipped");
            return;
        }
        let root = Root::new(Path::new("/")).unwrap();
        let s = service_env(&root);
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(var(&s, "APACHE_RUN_USER"), Some("www-data"));
        assert_eq!(var(&s, "APACHE_RUN_GROUP"), Some("www-data"));
        assert_eq!(var(&s, "APACHE_RUN_DIR"), Some("/var/run/apache2"));
        assert_eq!(var(&s, "APACHE_LOG_DIR"), Some("/var/log/apache2"));
        assert_eq!(var(&s, "HOME"), None);
        assert!(s.sources.contains(&PathBuf::from("/etc/apache2/envvars")));
        assert_eq!(s.httpd.as_deref(), Some(Path::new("/usr/sbin/apache2")));
    }
}
