//! The reader: httpd's configuration replayed a line at a time, as
//! `ap_build_config` reads it (see the module documentation of
//! [`host::apache`](super)).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::budget::{
    self, APACHE_DIR_DEPTH, APACHE_DIRECTIVES, APACHE_FILE_BYTES, APACHE_FILES,
    APACHE_INCLUDE_DEPTH, APACHE_INCLUDE_WORK, APACHE_LINE, APACHE_PATH, APACHE_SECTION_DEPTH,
    APACHE_TOTAL_BYTES,
};
use crate::host::text::{at, fnmatch_test, lossy, path_of};
use crate::root::{Kind, Root, RootError, fnmatch};

use super::lex::{Lines, getword_conf, is_space, normalize, skip_space, trim, words};
use super::{ApacheConfig, BuiltinModule, ConfigOptions, Directive, DirectiveKind, MainConfig};

/// The reading [`read_config`](super::read_config) does once the main file
/// and the ServerRoot httpd starts with are known: `-C` directives, the
/// main file, `-c` directives.
pub(super) fn read(
    root: &Root,
    opts: &ConfigOptions,
    builtin: Vec<BuiltinModule>,
    main: MainConfig,
    server_root: PathBuf,
) -> ApacheConfig {
    let mut r = Reader {
        root,
        env: &opts.env,
        builtin,
        server_root,
        defines: opts.defines.iter().cloned().collect(),
        vars: BTreeMap::new(),
        loaded: Vec::new(),
        directives: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        files: Vec::new(),
        stack: Vec::new(),
        dir_stack: Vec::new(),
        bytes: 0,
        work: 0,
        exhausted: false,
        php_ini_dir: false,
        daemon_names: BTreeSet::new(),
        errors_per_file: budget::PerFile::default(),
        warnings_per_file: budget::PerFile::default(),
    };
    r.command_line(Path::new("<-C>"), &opts.pre_directives);
    // `ap_read_config` makes the file name absolute after the -C
    // directives, which may have changed ServerRoot.
    let main = match main {
        MainConfig::Named(p) => Some(r.server_root_relative(p.as_os_str().as_bytes())),
        MainConfig::Absolute(p) => Some(p),
        MainConfig::None(why) => {
            r.error(PathBuf::from("/"), why);
            None
        }
    };
    if let Some(main) = &main {
        r.process_file(main, &[], None);
    }
    r.command_line(Path::new("<-c>"), &opts.post_directives);
    if !r.files.is_empty() && !r.mpm_loaded() {
        // `ap_check_mpm`: httpd refuses to start without one. Only a
        // warning here: an MPM compiled in is not in the builtin list.
        r.warn(
            main.clone().unwrap_or_default(),
            "no MPM module is loaded (httpd: \"No MPM loaded\") unless one is compiled in",
        );
    }
    let end = main.clone().unwrap_or_else(|| PathBuf::from("/"));
    r.errors_per_file.finish(&mut r.errors, end.clone());
    r.warnings_per_file.finish(&mut r.warnings, end);
    ApacheConfig {
        main,
        server_root: r.server_root,
        directives: r.directives,
        defines: r.defines,
        vars: r.vars,
        files: r.files,
        errors: r.errors,
        warnings: r.warnings,
    }
}

/// The module name (`module->name`, the source file) that `<IfModule>`
/// also accepts for a module loaded as `xxx_module`. httpd reads it from
/// the module structure (`STANDARD20_MODULE_STUFF` sets `__FILE__`); without
/// reading the object it is taken to be `mod_xxx.c`, which holds for the
/// modules httpd and the distributions ship (`php_module` → `mod_php.c`,
/// `wsgi_module` → `mod_wsgi.c`), except the MPMs, whose sources are
/// `prefork.c`, `worker.c` and `event.c`.
pub(super) fn module_source_name(ident: &str) -> Option<String> {
    let stem = ident.strip_suffix("_module").filter(|s| !s.is_empty())?;
    Some(match stem {
        "mpm_prefork" => "prefork.c".to_string(),
        "mpm_worker" => "worker.c".to_string(),
        "mpm_event" => "event.c".to_string(),
        _ => format!("mod_{stem}.c"),
    })
}

/// An open section while a file is read.
enum Frame {
    /// A conditional section that was taken: its end is looked for as
    /// `ap_build_cont_config` does, it adds no context.
    Cond(Vec<u8>),
    /// Any other container: its label is part of the context.
    Container { name: Vec<u8> },
}

struct Reader<'a> {
    root: &'a Root,
    env: &'a BTreeMap<String, String>,
    builtin: Vec<BuiltinModule>,
    server_root: PathBuf,
    defines: BTreeSet<String>,
    vars: BTreeMap<String, String>,
    /// `LoadModule` identifiers so far with their assumed module names.
    loaded: Vec<(String, Option<String>)>,
    directives: Vec<Directive>,
    errors: Vec<(PathBuf, String)>,
    warnings: Vec<(PathBuf, String)>,
    files: Vec<PathBuf>,
    /// Files being read: (canonical path, name as reached).
    stack: Vec<(PathBuf, PathBuf)>,
    /// Directories being included (canonical).
    dir_stack: Vec<PathBuf>,
    /// Bytes read and produced by `${VAR}` expansion ([`APACHE_TOTAL_BYTES`]).
    bytes: u64,
    /// Directory entries, glob matches and `Include` lines looked at
    /// ([`APACHE_INCLUDE_WORK`]).
    work: usize,
    /// A budget was reached: nothing more is read.
    exhausted: bool,
    php_ini_dir: bool,
    /// `WSGIDaemonProcess` names so far.
    daemon_names: BTreeSet<Vec<u8>>,
    errors_per_file: budget::PerFile,
    warnings_per_file: budget::PerFile,
}

impl Reader<'_> {
    /// An error entry, at most [`budget::ERRORS_PER_FILE`] per file.
    fn error(&mut self, at: PathBuf, msg: impl Into<String>) {
        let file = budget::file_of(at.as_os_str().as_bytes()).to_vec();
        self.errors_per_file
            .push(&mut self.errors, &file, (at, msg.into()));
    }

    /// A warning, at most [`budget::ERRORS_PER_FILE`] per file.
    fn warn(&mut self, at: PathBuf, msg: impl Into<String>) {
        let file = budget::file_of(at.as_os_str().as_bytes()).to_vec();
        self.warnings_per_file
            .push(&mut self.warnings, &file, (at, msg.into()));
    }

    /// A budget that stops the reading was reached: reported once, never
    /// folded into a file's "and N more".
    fn stop(&mut self, at: &Path, budget: &str, value: impl std::fmt::Display) {
        if !self.exhausted {
            self.exhausted = true;
            self.errors.push((
                at.to_path_buf(),
                format!(
                    "{}: the rest of the configuration is not read",
                    budget::exceeded(budget, value)
                ),
            ));
        }
    }

    /// Counts `n` units of include work; false (and reading stops) past
    /// [`APACHE_INCLUDE_WORK`].
    fn charge(&mut self, n: usize, at: &Path) -> bool {
        if self.exhausted {
            return false;
        }
        self.work = self.work.saturating_add(n);
        if self.work > APACHE_INCLUDE_WORK {
            self.stop(at, "APACHE_INCLUDE_WORK", APACHE_INCLUDE_WORK);
            return false;
        }
        true
    }

    fn server_root_relative(&self, name: &[u8]) -> PathBuf {
        normalize(&self.server_root, name)
    }

    /// Whether a work bound has been reached (reported once).
    fn over_budget(&mut self, at: &Path) -> bool {
        if self.files.len() >= APACHE_FILES {
            self.stop(at, "APACHE_FILES", APACHE_FILES);
        } else if self.bytes >= APACHE_TOTAL_BYTES {
            self.stop(at, "APACHE_TOTAL_BYTES", budget::bytes(APACHE_TOTAL_BYTES));
        }
        self.exhausted
    }

    /// `-C`/`-c` directives: one line each (`process_command_config`).
    fn command_line(&mut self, name: &Path, lines: &[String]) {
        if lines.is_empty() {
            return;
        }
        let mut lines = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i + 1, Some(Cow::Borrowed(trim(l.as_bytes())))));
        self.process_lines(name, &mut lines, &[]);
    }

    /// Reads one configuration file (`ap_process_resource_config`).
    fn process_file(&mut self, named: &Path, ctx: &[String], from: Option<&Path>) {
        let here = from.map_or_else(|| named.to_path_buf(), Path::to_path_buf);
        if self.over_budget(&here) {
            return;
        }
        // `ap_pcfg_openfile` accepts /dev/null as the one non-regular file.
        if named == Path::new("/dev/null") {
            self.files.push(named.to_path_buf());
            return;
        }
        let (canonical, kind) = match self.root.resolve(named) {
            Ok(r) => r,
            Err(e) => {
                self.error(
                    here,
                    format!("Could not open configuration file {}: {e}", named.display()),
                );
                return;
            }
        };
        match kind {
            Kind::Regular => {}
            Kind::Directory => {
                self.error(
                    here,
                    format!(
                        "Access to file {} denied by server: not a regular file (directory)",
                        named.display()
                    ),
                );
                return;
            }
            Kind::Other(what) => {
                self.error(
                    here,
                    format!(
                        "Access to file {} denied by server: not a regular file ({what})",
                        named.display()
                    ),
                );
                return;
            }
        }
        if let Some(pos) = self.stack.iter().position(|(c, _)| *c == canonical) {
            let mut chain: Vec<String> = self
                .stack
                .get(pos..)
                .unwrap_or_default()
                .iter()
                .map(|(_, n)| n.display().to_string())
                .collect();
            chain.push(named.display().to_string());
            self.error(
                here,
                format!(
                    "Include cycle: {} (httpd gives up at include depth {APACHE_INCLUDE_DEPTH}); not read again",
                    chain.join(" -> ")
                ),
            );
            return;
        }
        let bytes = match self.root.read(&canonical, APACHE_FILE_BYTES) {
            Ok(b) => b,
            Err(RootError::Io(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                self.error(
                    here,
                    format!(
                        "{}: configuration file {} not read",
                        budget::exceeded("APACHE_FILE_BYTES", budget::bytes(APACHE_FILE_BYTES)),
                        named.display()
                    ),
                );
                return;
            }
            Err(e) => {
                self.error(
                    here,
                    format!("Could not open configuration file {}: {e}", named.display()),
                );
                return;
            }
        };
        // The file's bytes, and the context its lines start in.
        let ctx_bytes: usize = ctx.iter().map(String::len).sum();
        self.bytes = self.bytes.saturating_add((bytes.len() + ctx_bytes) as u64);
        if bytes.contains(&0) {
            self.error(
                here,
                format!(
                    "{} is not a text file (NUL bytes; httpd would stop at its first unknown word): not read",
                    named.display()
                ),
            );
            return;
        }
        self.files.push(named.to_path_buf());
        self.stack.push((canonical, named.to_path_buf()));
        self.process_lines(named, &mut Lines::new(&bytes), ctx);
        self.stack.pop();
    }

    /// `ap_resolve_env` over a whole line: `${NAME}` from `Define`d
    /// variables, then the environment; an unknown one stays as written
    /// (httpd warns unless the name has a `:`). httpd 2.4 has no
    /// `${NAME?=default}` (trunk only).
    fn expand<'l>(&mut self, file: &Path, line: usize, raw: &'l [u8]) -> Option<Cow<'l, [u8]>> {
        if !raw.contains(&b'$') {
            return Some(Cow::Borrowed(raw));
        }
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while let Some(&c) = raw.get(i) {
            if c == b'$' && raw.get(i + 1) == Some(&b'{') {
                let close = raw
                    .get(i + 2..)
                    .and_then(|r| r.iter().position(|&b| b == b'}'))
                    .map(|p| p + i + 2);
                if let Some(close) = close {
                    let name = raw.get(i + 2..close).unwrap_or_default();
                    let value = std::str::from_utf8(name)
                        .ok()
                        .and_then(|n| self.vars.get(n).or_else(|| self.env.get(n)));
                    match value {
                        Some(v) => out.extend_from_slice(v.as_bytes()),
                        None => {
                            if !name.contains(&b':') {
                                self.warn(
                                    at(file, line),
                                    format!("Config variable ${{{}}} is not defined", lossy(name)),
                                );
                            }
                            out.extend_from_slice(raw.get(i..=close).unwrap_or_default());
                        }
                    }
                    if out.len() > APACHE_LINE {
                        self.error(
                            at(file, line),
                            format!(
                                "{}: line after ${{}} expansion ignored",
                                budget::exceeded("APACHE_LINE", budget::bytes(APACHE_LINE as u64))
                            ),
                        );
                        return None;
                    }
                    i = close + 1;
                    continue;
                }
            }
            out.push(c);
            i += 1;
        }
        self.bytes = self.bytes.saturating_add(out.len() as u64);
        Some(Cow::Owned(out))
    }

    /// `ap_build_config` over the lines of one file (or of `-C`/`-c`).
    fn process_lines<'l>(
        &mut self,
        file: &Path,
        lines: &mut dyn Iterator<Item = (usize, Option<Cow<'l, [u8]>>)>,
        ctx: &[String],
    ) {
        let mut frames: Vec<Frame> = Vec::new();
        // `ctx` and the labels of the open containers, kept in step with
        // `frames` so that a line costs no copy of its context.
        let mut full: Vec<String> = ctx.to_vec();
        while let Some((line_no, raw)) = lines.next() {
            let Some(raw) = raw else {
                self.too_long(file, line_no);
                continue;
            };
            if raw.is_empty() || raw.first() == Some(&b'#') {
                continue;
            }
            if self.exhausted {
                return;
            }
            if self.bytes >= APACHE_TOTAL_BYTES {
                let total = budget::bytes(APACHE_TOTAL_BYTES);
                return self.stop(&at(file, line_no), "APACHE_TOTAL_BYTES", total);
            }
            if let Some(Frame::Cond(name)) = frames.last() {
                if is_end_of(&raw, name) {
                    frames.pop();
                    continue;
                }
            }
            if unmodelled(&raw) {
                continue;
            }
            let Some(line) = self.expand(file, line_no, &raw) else {
                continue;
            };
            let (cmd, rest) = getword_conf(&line);
            if cmd.starts_with(b"</") {
                self.close_section(file, line_no, &cmd, &mut frames);
                let open = frames
                    .iter()
                    .filter(|f| matches!(f, Frame::Container { .. }))
                    .count();
                full.truncate(ctx.len() + open);
                continue;
            }
            if cmd.starts_with(b"<") && ctx.len() + frames.len() >= APACHE_SECTION_DEPTH {
                return self.error(
                    at(file, line_no),
                    format!(
                        "{}: the rest of this file is not read",
                        budget::exceeded("APACHE_SECTION_DEPTH", APACHE_SECTION_DEPTH)
                    ),
                );
            }
            if let Some(name) = cmd.strip_prefix(b"<") {
                let ends = name.last() == Some(&b'>');
                let name = if ends {
                    name.get(..name.len() - 1).unwrap_or_default()
                } else {
                    name
                };
                let args: &[u8] = if rest.is_empty() && ends { b">" } else { rest };
                let lname = name.to_ascii_lowercase();
                match lname.as_slice() {
                    b"ifmodule" | b"ifdefine" | b"iffile" | b"ifdirective" | b"ifsection" => {
                        match self.condition(file, line_no, name, &lname, args) {
                            Some(true) => frames.push(Frame::Cond(name.to_vec())),
                            _ => {
                                if !self.soak(file, lines, line_no, name, ctx.len() + frames.len())
                                {
                                    return;
                                }
                            }
                        }
                    }
                    b"macro" => {
                        // mod_macro keeps the body for `Use`; nothing in it
                        // runs where it is written.
                        if !self.soak(file, lines, line_no, name, ctx.len() + frames.len()) {
                            return;
                        }
                    }
                    _ => {
                        let inner = match args.iter().rposition(|&c| c == b'>') {
                            Some(p) => trim(args.get(..p).unwrap_or_default()),
                            None => {
                                self.error(
                                    at(file, line_no),
                                    format!("<{}> directive missing closing '>'", lossy(name)),
                                );
                                trim(args)
                            }
                        };
                        let label = if inner.is_empty() {
                            format!("<{}>", lossy(name))
                        } else {
                            format!("<{} {}>", lossy(name), lossy(inner))
                        };
                        self.bytes = self.bytes.saturating_add(label.len() as u64);
                        full.push(label);
                        frames.push(Frame::Container {
                            name: name.to_vec(),
                        });
                    }
                }
                continue;
            }
            self.directive(file, line_no, &cmd, rest, &full);
        }
        // httpd accepts a taken conditional section left open at the end of
        // a file, but not a container.
        for f in frames {
            if let Frame::Container { name, .. } = f {
                self.error(
                    file.to_path_buf(),
                    format!("<{}> was not closed.", lossy(&name)),
                );
            }
        }
    }

    fn close_section(&mut self, file: &Path, line: usize, cmd: &[u8], frames: &mut Vec<Frame>) {
        let mut name = cmd.get(2..).unwrap_or_default();
        match name.strip_suffix(b">") {
            Some(n) => name = n,
            None => self.error(
                at(file, line),
                format!("</{}> directive missing closing '>'", lossy(name)),
            ),
        }
        let top = frames.last().map(|f| match f {
            Frame::Cond(n) | Frame::Container { name: n, .. } => n.clone(),
        });
        match top {
            None => self.error(
                at(file, line),
                format!("</{0}> without matching <{0}> section", lossy(name)),
            ),
            Some(t) if t.eq_ignore_ascii_case(name) => {
                frames.pop();
            }
            Some(t) => {
                self.error(
                    at(file, line),
                    format!("Expected </{}> but saw </{}>", lossy(&t), lossy(name)),
                );
                // Close up to the section it names, if one is open.
                if let Some(pos) = frames.iter().rposition(|f| match f {
                    Frame::Cond(n) | Frame::Container { name: n, .. } => {
                        n.eq_ignore_ascii_case(name)
                    }
                }) {
                    frames.truncate(pos);
                }
            }
        }
    }

    /// `start_cond_section`: `None` when the section is malformed (httpd
    /// refuses it; its body is skipped here).
    fn condition(
        &mut self,
        file: &Path,
        line: usize,
        name: &[u8],
        lname: &[u8],
        args: &[u8],
    ) -> Option<bool> {
        let Some(end) = args.iter().rposition(|&c| c == b'>') else {
            self.error(
                at(file, line),
                format!("<{}> directive missing closing '>'", lossy(name)),
            );
            return None;
        };
        let inner = args.get(..end).unwrap_or_default();
        let (not, inner) = match inner.strip_prefix(b"!") {
            Some(r) => (true, r),
            None => (false, inner),
        };
        let (arg, _) = getword_conf(inner);
        if arg.is_empty() {
            self.error(
                at(file, line),
                format!("<{}> directive requires additional arguments", lossy(name)),
            );
            return None;
        }
        let result = match lname {
            b"ifmodule" => self.module_known(&lossy(&arg)),
            b"ifdefine" => self.defines.contains(&lossy(&arg)),
            b"iffile" => self.root.kind(&self.server_root_relative(&arg)).is_some(),
            _ => {
                self.warn(
                    at(file, line),
                    format!(
                        "<{} {}> cannot be evaluated from files: taken as true",
                        lossy(name),
                        lossy(&arg)
                    ),
                );
                true
            }
        };
        Some(result != not)
    }

    /// `find_module`: a compiled-in module by module name (`core.c`) or
    /// symbol (`core_module`, `ap_prelinked_module_symbols`), a loaded one
    /// by its `LoadModule` identifier (`ap_find_loaded_module_symbol`) or
    /// its module name ([`module_source_name`]).
    fn module_known(&self, name: &str) -> bool {
        self.builtin
            .iter()
            .any(|b| b.symbol == name || b.source == name)
            || self
                .loaded
                .iter()
                .any(|(ident, source)| ident == name || source.as_deref() == Some(name))
    }

    fn mpm_loaded(&self) -> bool {
        let mpm =
            |s: &str| matches!(s, "prefork.c" | "worker.c" | "event.c") || s.starts_with("mpm_");
        self.builtin.iter().any(|b| mpm(&b.source))
            || self
                .loaded
                .iter()
                .any(|(ident, _)| ident.starts_with("mpm_"))
    }

    /// `ap_soak_end_container`: skips to the end of a section that is not
    /// taken, counting nested sections, without expanding anything. False
    /// when the rest of the file is not to be read: sections nest deeper
    /// than [`APACHE_SECTION_DEPTH`] (with the `depth` already open).
    fn soak<'l>(
        &mut self,
        file: &Path,
        lines: &mut dyn Iterator<Item = (usize, Option<Cow<'l, [u8]>>)>,
        start: usize,
        name: &[u8],
        depth: usize,
    ) -> bool {
        let mut open: Vec<Vec<u8>> = vec![name.to_vec()];
        for (line_no, raw) in &mut *lines {
            let Some(raw) = raw else {
                self.too_long(file, line_no);
                continue;
            };
            let (w, rest) = getword_conf(&raw);
            if w.first() != Some(&b'<') {
                continue;
            }
            if w.get(1) == Some(&b'/') {
                // httpd drops the last character, normally the '>'.
                let n = w
                    .get(2..w.len().saturating_sub(1).max(2))
                    .unwrap_or_default();
                let Some(top) = open.pop() else { return true };
                if !n.eq_ignore_ascii_case(&top) {
                    self.error(
                        at(file, line_no),
                        format!("Expected </{}> but saw </{}>", lossy(&top), lossy(n)),
                    );
                    return true;
                }
                if open.is_empty() {
                    return true;
                }
            } else {
                if depth + open.len() >= APACHE_SECTION_DEPTH {
                    self.error(
                        at(file, line_no),
                        format!(
                            "{}: the rest of this file is not read",
                            budget::exceeded("APACHE_SECTION_DEPTH", APACHE_SECTION_DEPTH)
                        ),
                    );
                    return false;
                }
                let mut n = w.get(1..).unwrap_or_default();
                if rest.is_empty() {
                    n = n.strip_suffix(b">").unwrap_or(n);
                }
                open.push(n.to_vec());
            }
        }
        self.error(
            at(file, start),
            format!("Expected </{}> before end of configuration", lossy(name)),
        );
        true
    }

    /// A line longer than [`APACHE_LINE`], which is not read.
    fn too_long(&mut self, file: &Path, line: usize) {
        self.error(
            at(file, line),
            format!(
                "{}: line ignored",
                budget::exceeded("APACHE_LINE", budget::bytes(APACHE_LINE as u64))
            ),
        );
    }

    /// Keeps a directive: at most [`APACHE_DIRECTIVES`], their contexts
    /// counted toward [`APACHE_TOTAL_BYTES`].
    fn push(&mut self, file: &Path, line: usize, ctx: &[String], kind: DirectiveKind) {
        if self.exhausted {
            return;
        }
        if self.directives.len() >= APACHE_DIRECTIVES {
            return self.stop(&at(file, line), "APACHE_DIRECTIVES", APACHE_DIRECTIVES);
        }
        let kept =
            ctx.iter().map(String::len).sum::<usize>() + file.as_os_str().len() + kind_bytes(&kind);
        self.bytes = self.bytes.saturating_add(kept as u64);
        self.directives.push(Directive {
            file: file.to_path_buf(),
            line,
            context: ctx.to_vec(),
            kind,
        });
    }

    /// One directive after expansion; `cmd` is its name as written.
    fn directive(&mut self, file: &Path, line: usize, cmd: &[u8], rest: &[u8], ctx: &[String]) {
        let lname = cmd.to_ascii_lowercase();
        if !MODELLED.contains(&lname.as_slice()) && !lname.starts_with(b"python") {
            // Nothing else changes what is loaded: a line of another
            // directive costs no more than reading it.
            return;
        }
        let here = at(file, line);
        let args = words(rest);
        // TAKE1: exactly one non-empty word (`invoke_cmd`).
        let take1 = |args: &[Vec<u8>]| match args {
            [w] if !w.is_empty() => Some(w.clone()),
            _ => None,
        };
        match lname.as_slice() {
            b"serverroot" => {
                let Some(w) = take1(&args) else {
                    return self.error(here, "ServerRoot takes one argument");
                };
                let dir = self.server_root_relative(&w);
                if self.root.is_dir(&dir) {
                    self.server_root = dir;
                } else {
                    self.error(
                        here,
                        format!("ServerRoot must be a valid directory ({})", dir.display()),
                    );
                }
            }
            b"define" => match args.as_slice() {
                [name] | [name, _] if !name.is_empty() => {
                    if name.contains(&b':') {
                        return self.error(here, "Variable name must not contain ':'");
                    }
                    let name = lossy(name);
                    self.defines.insert(name.clone());
                    if let [_, value] = args.as_slice() {
                        self.vars.insert(name, lossy(value));
                    }
                }
                _ => self.error(here, "Define takes one or two arguments"),
            },
            b"undefine" => {
                let Some(w) = take1(&args) else {
                    return self.error(here, "UnDefine takes one argument");
                };
                if w.contains(&b':') {
                    return self.error(here, "Variable name must not contain ':'");
                }
                let name = lossy(&w);
                self.defines.remove(&name);
                self.vars.remove(&name);
            }
            b"include" | b"includeoptional" => {
                let optional = lname == b"includeoptional";
                let Some(w) = take1(&args) else {
                    return self.error(here, format!("{} takes one argument", lossy(cmd)));
                };
                if self.charge(1, &here) {
                    self.include(&here, &w, optional, ctx);
                }
            }
            b"loadmodule" => self.load_module(file, line, &args, ctx),
            b"loadfile" => {
                // ITERATE: up to the first empty word.
                if args.first().is_none_or(|w| w.is_empty()) {
                    return self.error(here, "LoadFile takes one or more arguments");
                }
                for w in args.iter().take_while(|w| !w.is_empty()) {
                    if self.exhausted {
                        break;
                    }
                    let (path, fallback) = self.dso_path(w);
                    self.check_dso(&here, "LoadFile", w, &path, fallback.is_some());
                    self.push(file, line, ctx, DirectiveKind::LoadFile { path, fallback });
                }
            }
            b"phpinidir" => {
                let Some(w) = take1(&args) else {
                    return self.error(here, "PHPINIDir takes one argument");
                };
                if self.php_ini_dir {
                    return self.error(
                        here,
                        "Only first PHPINIDir directive honored per configuration tree - subsequent ones ignored",
                    );
                }
                self.php_ini_dir = true;
                let dir = self.server_root_relative(&w);
                self.push(file, line, ctx, DirectiveKind::PhpIniDir(dir));
            }
            b"wsgipythonhome" => match take1(&args) {
                Some(w) => self.push(file, line, ctx, DirectiveKind::WsgiPythonHome(path_of(&w))),
                None => self.error(here, "WSGIPythonHome takes one argument"),
            },
            b"wsgipythonpath" => match take1(&args) {
                Some(w) => {
                    let dirs = w
                        .split(|&c| c == b':')
                        .filter(|d| !d.is_empty())
                        .map(path_of)
                        .collect();
                    self.push(file, line, ctx, DirectiveKind::WsgiPythonPath(dirs));
                }
                None => self.error(here, "WSGIPythonPath takes one argument"),
            },
            b"wsgidaemonprocess" => {
                let (name, opts) = getword_conf(rest);
                if name.is_empty() {
                    return self.error(here, "Name of WSGI daemon process not supplied.");
                }
                let Some(options) = wsgi_options(opts) else {
                    return self.error(here, "Invalid option to WSGI daemon process definition.");
                };
                // wsgi_add_daemon_process: one group per name, in all the
                // configuration.
                if !self.daemon_names.insert(name.clone()) {
                    return self.error(here, "Name duplicates previous WSGI daemon definition.");
                }
                self.push(
                    file,
                    line,
                    ctx,
                    DirectiveKind::WsgiDaemonProcess {
                        name: lossy(&name),
                        options,
                    },
                );
            }
            b"wsgiprocessgroup" => match take1(&args) {
                Some(w) => self.push(file, line, ctx, DirectiveKind::WsgiProcessGroup(lossy(&w))),
                None => self.error(here, "WSGIProcessGroup takes one argument"),
            },
            b"wsgiapplicationgroup" => match take1(&args) {
                Some(w) => self.push(
                    file,
                    line,
                    ctx,
                    DirectiveKind::WsgiApplicationGroup(lossy(&w)),
                ),
                None => self.error(here, "WSGIApplicationGroup takes one argument"),
            },
            b"wsgilazyinitialization" => {
                let on = take1(&args).and_then(|w| match w.to_ascii_lowercase().as_slice() {
                    b"on" => Some(true),
                    b"off" => Some(false),
                    _ => None,
                });
                match on {
                    Some(on) => {
                        self.push(file, line, ctx, DirectiveKind::WsgiLazyInitialization(on))
                    }
                    None => self.error(here, "WSGILazyInitialization must be On or Off"),
                }
            }
            b"wsgiscriptalias" | b"wsgiscriptaliasmatch" => {
                let (url, r) = getword_conf(rest);
                let (script, mut opts) = getword_conf(r);
                if url.is_empty() || script.is_empty() {
                    return self.error(
                        here,
                        format!("{} requires at least two arguments", lossy(cmd)),
                    );
                }
                let mut options = BTreeMap::new();
                while !opts.is_empty() {
                    let Some((k, v, r)) = wsgi_option(opts) else {
                        return self.error(here, "Invalid option to WSGI script alias definition.");
                    };
                    options.insert(k, v);
                    opts = r;
                }
                self.push(
                    file,
                    line,
                    ctx,
                    DirectiveKind::WsgiScriptAlias {
                        url: lossy(&url),
                        path: path_of(&script),
                        regex: lname == b"wsgiscriptaliasmatch",
                        options,
                    },
                );
            }
            b"wsgiimportscript" => {
                let (script, opts) = getword_conf(rest);
                if script.is_empty() {
                    return self.error(here, "Location of import script not supplied.");
                }
                let Some(options) = wsgi_options(opts) else {
                    return self.error(here, "Invalid option to WSGI import script definition.");
                };
                self.push(
                    file,
                    line,
                    ctx,
                    DirectiveKind::WsgiImportScript {
                        path: path_of(&script),
                        options,
                    },
                );
            }
            b"addhandler" | b"sethandler" => {
                // Only mod_wsgi's handler: its files are WSGI applications.
                let handler = args.first().map(|h| h.to_ascii_lowercase());
                if handler.as_deref() == Some(b"wsgi-script".as_slice()) {
                    let directive = if lname == b"addhandler" {
                        "AddHandler"
                    } else {
                        "SetHandler"
                    };
                    self.push(
                        file,
                        line,
                        ctx,
                        DirectiveKind::WsgiScriptHandler {
                            directive: directive.into(),
                            extensions: args.iter().skip(1).map(|w| lossy(w)).collect(),
                        },
                    );
                }
            }
            b"error" => {
                // `Error` stops httpd wherever the walk reaches it.
                self.error(here, format!("Error directive: {}", lossy(rest)));
            }
            b"use" => self.warn(
                here,
                "mod_macro `Use` is not expanded: what the macro loads is not modelled",
            ),
            _ if lname.starts_with(b"python") => {
                self.push(
                    file,
                    line,
                    ctx,
                    DirectiveKind::ModPython {
                        directive: lossy(cmd),
                        args: args.iter().map(|a| lossy(a)).collect(),
                    },
                );
            }
            _ => {}
        }
    }

    /// mod_so `load_module`: a module already loaded is skipped with a
    /// warning, a compiled-in one refused; the identifier counts as loaded
    /// before the file is opened.
    fn load_module(&mut self, file: &Path, line: usize, args: &[Vec<u8>], ctx: &[String]) {
        let here = at(file, line);
        let [name, so] = args else {
            return self.error(
                here,
                "LoadModule takes two arguments, a module name and the name of a shared object file to load it from",
            );
        };
        if name.is_empty() || so.is_empty() {
            return self.error(
                here,
                "LoadModule takes two arguments, a module name and the name of a shared object file to load it from",
            );
        }
        let name = lossy(name);
        if self.loaded.iter().any(|(n, _)| *n == name) {
            return self.warn(here, format!("module {name} is already loaded, skipping"));
        }
        // `ap_preloaded_modules`: mod_FOO.c compiled in refuses FOO_module.
        let builtin = self.builtin.iter().any(|b| {
            let stem = b
                .source
                .strip_prefix("mod_")
                .and_then(|s| s.strip_suffix(".c"));
            stem.is_some() && stem == name.strip_suffix("_module")
        });
        if builtin {
            return self.error(
                here,
                format!("module {name} is built-in and can't be loaded"),
            );
        }
        let source = module_source_name(&name);
        self.loaded.push((name.clone(), source));
        let (path, fallback) = self.dso_path(so);
        self.check_dso(&here, "LoadModule", so, &path, fallback.is_some());
        self.push(
            file,
            line,
            ctx,
            DirectiveKind::LoadModule {
                name,
                path,
                fallback,
            },
        );
    }

    /// `dso_load`: the name made absolute against ServerRoot, and the bare
    /// name it falls back to when written without a `/`.
    fn dso_path(&self, written: &[u8]) -> (PathBuf, Option<String>) {
        let path = self.server_root_relative(written);
        let fallback = (!written.contains(&b'/')).then(|| lossy(written));
        (path, fallback)
    }

    fn check_dso(
        &mut self,
        here: &Path,
        what: &str,
        written: &[u8],
        path: &Path,
        has_fallback: bool,
    ) {
        let problem = match self.root.resolve(path) {
            Ok((_, Kind::Regular)) => return,
            Ok((_, Kind::Directory)) => "is a directory".to_string(),
            Ok((_, Kind::Other(k))) => format!("is not a regular file ({k})"),
            Err(e) => e.to_string(),
        };
        if has_fallback {
            // dlopen's own search may still find the bare name.
            self.warn(
                here.to_path_buf(),
                format!(
                    "{what}: {} {problem}; httpd retries `{}` with the dynamic linker's search",
                    path.display(),
                    lossy(written)
                ),
            );
        } else {
            self.error(
                here.to_path_buf(),
                format!(
                    "{what}: Cannot load {} into server: {problem}",
                    path.display()
                ),
            );
        }
    }

    /// `include_config` → `ap_process_fnmatch_configs` (H3).
    fn include(&mut self, here: &Path, arg: &[u8], optional: bool, ctx: &[String]) {
        if self.stack.len() > APACHE_INCLUDE_DEPTH {
            return self.error(
                here.to_path_buf(),
                format!(
                    "{}: Exceeded maximum include depth of {APACHE_INCLUDE_DEPTH}, There appears to be a recursion.",
                    budget::exceeded("APACHE_INCLUDE_DEPTH", APACHE_INCLUDE_DEPTH)
                ),
            );
        }
        let path = self.server_root_relative(arg);
        let bytes = path.as_os_str().as_bytes().to_vec();
        if !fnmatch_test(&bytes) {
            self.include_path(&path, None, optional, ctx, here, 0);
        } else {
            let comps: Vec<&[u8]> = bytes
                .split(|&c| c == b'/')
                .filter(|c| !c.is_empty())
                .collect();
            self.include_glob(Path::new("/"), &comps, optional, ctx, here, 0);
        }
    }

    /// `ap_dir_nofnmatch` with `AP_DIR_FLAG_RECURSIVE`: a directory brings
    /// every entry in it (hidden ones too) in byte-wise order, recursively;
    /// `IncludeOptional` tolerates a path that cannot be `stat`ed. Every
    /// entry looked at counts toward [`APACHE_INCLUDE_WORK`]: httpd follows
    /// symlinks to directories with no check but the nesting level, so
    /// two links per level double the work per level. `dir` is where
    /// `path`'s directory resolved to, when known: an entry is resolved
    /// from there, as the same lookup from `/` would end, without walking
    /// every link of `path` again.
    fn include_path(
        &mut self,
        path: &Path,
        dir: Option<&Path>,
        optional: bool,
        ctx: &[String],
        here: &Path,
        depth: usize,
    ) {
        if path.as_os_str().len() > APACHE_PATH {
            if !optional {
                self.error(here.to_path_buf(), too_long_path(path));
            }
            return;
        }
        let resolved = match (dir, path.file_name()) {
            (Some(d), Some(name)) => self.root.resolve(&d.join(name)),
            _ => self.root.resolve(path),
        };
        match resolved {
            Ok((canonical, Kind::Directory)) => {
                if depth >= APACHE_DIR_DEPTH {
                    return self.error(
                        here.to_path_buf(),
                        format!(
                            "{}: Directory '{}' exceeds the maximum include directory nesting level of {APACHE_DIR_DEPTH}",
                            budget::exceeded("APACHE_DIR_DEPTH", APACHE_DIR_DEPTH),
                            path.display()
                        ),
                    );
                }
                if self.dir_stack.contains(&canonical) {
                    return self.error(
                        here.to_path_buf(),
                        format!(
                            "Include of directory {} loops back into itself: not read again",
                            path.display()
                        ),
                    );
                }
                let names = match self.root.read_dir(&canonical) {
                    Ok(n) => n,
                    Err(e) => {
                        return self.error(
                            here.to_path_buf(),
                            format!("Could not open directory {}: {e}", path.display()),
                        );
                    }
                };
                self.dir_stack.push(canonical.clone());
                for n in names {
                    if !self.charge(1, here) {
                        break;
                    }
                    self.include_path(
                        &path.join(n),
                        Some(&canonical),
                        optional,
                        ctx,
                        here,
                        depth + 1,
                    );
                }
                self.dir_stack.pop();
            }
            Err(_) if optional => {}
            _ => self.process_file(path, ctx, Some(here)),
        }
    }

    /// `ap_dir_fnmatch`: one component at a time from `/`; a wildcard
    /// component matches names in byte-wise order (`fname_alphasort`), a
    /// leading `.` only literally (`APR_FNM_PERIOD`); inside the path only
    /// entries that are directories themselves (not symlinks to one: the
    /// type comes from `readdir`) are followed. Every name looked at counts
    /// toward [`APACHE_INCLUDE_WORK`]; wildcard components nest at most
    /// [`APACHE_DIR_DEPTH`] deep (`depth` of them so far).
    fn include_glob(
        &mut self,
        base: &Path,
        comps: &[&[u8]],
        optional: bool,
        ctx: &[String],
        here: &Path,
        depth: usize,
    ) {
        // Literal components are joined without recursing.
        let mut base = base.to_path_buf();
        let mut comps = comps;
        while let Some((first, rest)) = comps.split_first() {
            if fnmatch_test(first) {
                break;
            }
            base.push(OsStr::from_bytes(first));
            comps = rest;
        }
        let Some((first, rest)) = comps.split_first() else {
            return self.include_path(&base, None, optional, ctx, here, 0);
        };
        if base.as_os_str().len() > APACHE_PATH {
            return self.error(here.to_path_buf(), too_long_path(&base));
        }
        if depth >= APACHE_DIR_DEPTH {
            return self.error(
                here.to_path_buf(),
                format!(
                    "{}: wildcards nested deeper than {APACHE_DIR_DEPTH} directories in {}: not followed",
                    budget::exceeded("APACHE_DIR_DEPTH", APACHE_DIR_DEPTH),
                    base.display()
                ),
            );
        }
        let names = match self.root.entries(&base) {
            Ok(n) => n,
            Err(e) => {
                let enoent = match &e {
                    RootError::NotFound => true,
                    RootError::Io(io) => io.kind() == std::io::ErrorKind::NotFound,
                    _ => false,
                };
                if !(optional && enoent) {
                    self.error(
                        here.to_path_buf(),
                        format!(
                            "Include/IncludeOptional: Could not open directory {}: {e}",
                            base.display()
                        ),
                    );
                }
                return;
            }
        };
        let mut matched = Vec::new();
        for (n, kind) in names {
            if !self.charge(1, here) {
                return;
            }
            if !fnmatch(first, n.as_bytes()) {
                continue;
            }
            if !rest.is_empty() && kind != Kind::Directory {
                continue;
            }
            matched.push(base.join(&n));
        }
        if matched.is_empty() {
            if !optional {
                self.error(
                    here.to_path_buf(),
                    format!(
                        "Include/IncludeOptional: No matches for the wildcard '{}' in '{}', failing",
                        lossy(first),
                        base.display()
                    ),
                );
            }
            return;
        }
        for p in matched {
            if self.exhausted {
                break;
            }
            if rest.is_empty() {
                self.include_path(&p, None, optional, ctx, here, 0);
            } else {
                self.include_glob(&p, rest, optional, ctx, here, depth + 1);
            }
        }
    }
}

/// About the bytes a directive keeps from the configuration, toward
/// [`APACHE_TOTAL_BYTES`].
fn kind_bytes(kind: &DirectiveKind) -> usize {
    let path = |p: &Path| p.as_os_str().len();
    let map =
        |m: &BTreeMap<String, String>| m.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    match kind {
        DirectiveKind::LoadModule {
            name,
            path: p,
            fallback,
        } => name.len() + path(p) + fallback.as_ref().map_or(0, String::len),
        DirectiveKind::LoadFile { path: p, fallback } => {
            path(p) + fallback.as_ref().map_or(0, String::len)
        }
        DirectiveKind::PhpIniDir(p) | DirectiveKind::WsgiPythonHome(p) => path(p),
        DirectiveKind::WsgiPythonPath(ps) => ps.iter().map(|p| path(p)).sum(),
        DirectiveKind::WsgiDaemonProcess { name, options } => name.len() + map(options),
        DirectiveKind::WsgiProcessGroup(s) | DirectiveKind::WsgiApplicationGroup(s) => s.len(),
        DirectiveKind::WsgiLazyInitialization(_) => 0,
        DirectiveKind::WsgiScriptAlias {
            url,
            path: p,
            options,
            ..
        } => url.len() + path(p) + map(options),
        DirectiveKind::WsgiImportScript { path: p, options } => path(p) + map(options),
        DirectiveKind::WsgiScriptHandler {
            directive,
            extensions,
        } => directive.len() + extensions.iter().map(String::len).sum::<usize>(),
        DirectiveKind::ModPython { directive, args } => {
            directive.len() + args.iter().map(String::len).sum::<usize>()
        }
    }
}

/// What httpd says of a path longer than `PATH_MAX`, the path shown in
/// part.
fn too_long_path(path: &Path) -> String {
    let bytes = path.as_os_str().as_bytes();
    format!(
        "{}: {}… ({} bytes): File name too long",
        budget::exceeded("APACHE_PATH", APACHE_PATH),
        lossy(bytes.get(..256).unwrap_or(bytes)),
        bytes.len()
    )
}

/// A line of a plain directive that nothing here acts on (no `${VAR}`, not
/// a section): the common case, which then costs no more than finding it.
fn unmodelled(raw: &[u8]) -> bool {
    let end = raw.iter().position(|&c| is_space(c)).unwrap_or(raw.len());
    let word = raw.get(..end).unwrap_or_default();
    word.first().is_some_and(u8::is_ascii_alphabetic)
        && word.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && !raw.contains(&b'$')
        && !MODELLED.iter().any(|m| m.eq_ignore_ascii_case(word))
        && !word
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"python"))
}

/// The directives [`Reader::directive`] acts on (lower case), besides
/// mod_python's `Python*`.
const MODELLED: &[&[u8]] = &[
    b"serverroot",
    b"define",
    b"undefine",
    b"include",
    b"includeoptional",
    b"loadmodule",
    b"loadfile",
    b"phpinidir",
    b"wsgipythonhome",
    b"wsgipythonpath",
    b"wsgidaemonprocess",
    b"wsgiprocessgroup",
    b"wsgiapplicationgroup",
    b"wsgilazyinitialization",
    b"wsgiscriptalias",
    b"wsgiscriptaliasmatch",
    b"wsgiimportscript",
    b"addhandler",
    b"sethandler",
    b"error",
    b"use",
];

/// The raw line is the end of the taken conditional section `name`
/// (`ap_build_cont_config` compares the whole line, before expansion).
fn is_end_of(raw: &[u8], name: &[u8]) -> bool {
    match raw.strip_prefix(b"</").and_then(|r| r.strip_suffix(b">")) {
        Some(n) => n.eq_ignore_ascii_case(name),
        None => false,
    }
}

/// mod_wsgi's `wsgi_parse_option`: `name=value`, the name up to `=` (no
/// white space), the value one `ap_getword_conf` word. Returns the rest.
/// Every `key=value` option of a mod_wsgi directive, or `None` at the
/// first malformed one (mod_wsgi refuses the directive).
fn wsgi_options(mut opts: &[u8]) -> Option<BTreeMap<String, String>> {
    let mut options = BTreeMap::new();
    while !opts.is_empty() {
        let (k, v, rest) = wsgi_option(opts)?;
        options.insert(k, v);
        opts = rest;
    }
    Some(options)
}

fn wsgi_option(line: &[u8]) -> Option<(String, String, &[u8])> {
    let s = skip_space(line);
    if s.is_empty() || s.first() == Some(&b'=') {
        return None;
    }
    let end = s.iter().position(|&c| c == b'=' || is_space(c))?;
    if s.get(end) != Some(&b'=') {
        return None;
    }
    let name = lossy(s.get(..end).unwrap_or_default());
    let (value, rest) = getword_conf(s.get(end + 1..).unwrap_or_default());
    Some((name, lossy(&value), rest))
}
