//! Process images: which objects share one Apache process, in which order,
//! with which `dlopen` flags (research/loader-model.md §6).
//!
//! The Apache process is simulated in one [`Namespace`]: the start-up of
//! the httpd binary with the service's preloads and `LD_LIBRARY_PATH`
//! (G1, L14); the objects that survive the first configuration pass (H4:
//! `DF_1_NODELETE`, or defining `STB_GNU_UNIQUE` symbols, G9) at their
//! pass-1 place; every `LoadModule`/`LoadFile` of pass 2 as
//! `dlopen(RTLD_NOW|RTLD_GLOBAL)` in configuration order (H1–H3); mod_php's
//! extensions as `dlopen(RTLD_LAZY|RTLD_GLOBAL|RTLD_DEEPBIND)`, zend
//! extensions first (H8, H9); then every Python extension module of the
//! interpreter mod_wsgi links as `dlopen(RTLD_NOW)` local, "may be
//! imported" (H6, H11). Members are listed in link-map order.
//!
//! This module knows no clash names; it only models the process.

pub mod bind;
mod plugins;
mod python;
mod solo;

use rayon::prelude::*;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bstr::{BStr, ByteSlice};

use crate::elf::{Detail, ElfFacts};
use crate::host::{self, apache, php};
use crate::model::Role;
use crate::resolve::{Cpu, Loaded, Loader, Namespace, Options, rtld};
use crate::root::Root;

/// How a member came into the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Exec,
    Needed,
    Preload,
    Dlopen,
}

/// One object of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Canonical path inside the root.
    pub object: String,
    pub how: How,
    /// The mode of the `dlopen` that loaded it (`RTLD_NOW|RTLD_GLOBAL`).
    pub flags: String,
    /// The directive, extension line, import or `DT_NEEDED` that brought it.
    pub via: String,
    /// In the global scope.
    pub global: bool,
    /// Loaded only if the application imports it (Python extension modules
    /// and what they bring).
    pub may_be_imported: bool,
    /// Its place depends on something the model cannot know for sure.
    pub uncertain: bool,
    /// Installed but not loaded by the configuration; modelled only as a
    /// what-if, loaded last and locally (`scan --installed`).
    pub installed_only: bool,
    /// For a library, the module, extension or import whose `dlopen`
    /// brought it in (what a sysadmin disables to be rid of it).
    pub brought_by: Option<String>,
    /// What it is to the process: what its `dlopen` loaded it as (a module,
    /// an extension, an import), the executable, else a library.
    pub role: Role,
}

/// One modelled process. Not serialisable: what a report or `soclash
/// image` writes of it is schema 1's `report::process::ProcessEntry`, so
/// the model may change without changing a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessImage {
    pub name: String,
    /// In link-map (load) order.
    pub members: Vec<Member>,
    pub scopes: Scopes,
    /// (`file:line` or path, reason): what would fail to load, what could
    /// not be read.
    pub errors: Vec<(String, String)>,
    /// What the model had to assume.
    pub notes: Vec<String>,
    /// What the binding model reads ([`bind::bind`]).
    pub link: bind::LinkMap,
    /// The Apache directives of this process (none for php-fpm): the
    /// parent's, and those mod_wsgi runs in it (`host::apache::wsgi`), for
    /// the signatures' configuration conditions.
    pub config: apache::wsgi::ProcessConfig,
    /// The loads the process attempts that miss a `DT_NEEDED`.
    pub unresolved: Vec<Unresolved>,
    /// Every `dlopen` the process attempts that fails, by the path it
    /// names: `scan` tells by it that an object it could not read is one
    /// the configuration loads, not one merely installed.
    pub refused: Vec<Refused>,
}

/// A `dlopen` of the model that failed (the file unreadable, no ELF ld.so
/// maps, of another architecture, or missing a dependency).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The path as the directive, extension line or import names it.
    pub path: String,
    /// Only if the application imports it (a Python extension module).
    pub may_be_imported: bool,
    /// A what-if of `scan --installed`, not loaded by the configuration.
    pub installed_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes {
    /// The global scope in order (G5).
    pub global: Vec<String>,
}

/// Settings of the model.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// `--apache-config FILE` (inner path); else the service's or the
    /// distribution's main configuration.
    pub apache_config: Option<PathBuf>,
    pub cpu: Cpu,
    /// For a caller that binds every process with these options (the
    /// scan): the Apache parent's members, which every mod_wsgi daemon
    /// binds first, are bound on another thread as soon as the parent is
    /// modelled, while the daemons are. Bound after modelling instead,
    /// they held every daemon back while one thread bound them.
    pub bind_early: Option<bind::BindOptions>,
}

/// Why a member is where it is, for `via`.
#[derive(Clone)]
struct Origin {
    via: String,
    /// What the `dlopen` loads it as.
    role: Role,
    may_be_imported: bool,
    /// Installed, not loaded by the configuration: modelled as a what-if
    /// (`scan --installed`).
    installed_only: bool,
    uncertain: bool,
    /// The member whose own `dlopen` brought it in (a library's plugin).
    brought_by: Option<String>,
}

/// Why each member is there, by the object its `dlopen` opened, and why
/// each `dlopen` that failed was tried, by its group: `via` for the
/// members, and what the process misses ([`Unresolved`]).
#[derive(Default, Clone)]
struct Origins {
    loaded: Vec<(usize, Origin)>,
    failed: Vec<(usize, Origin)>,
    refused: Vec<Refused>,
}

impl Origins {
    /// `ns.dlopen(path, flags)` from `caller`, remembering why.
    fn dlopen(
        &mut self,
        ns: &mut Namespace<'_, '_>,
        path: &Path,
        flags: u32,
        caller: Option<usize>,
        origin: Origin,
    ) -> Result<usize, crate::resolve::DlopenError> {
        let r = ns.dlopen(path_bytes(path), flags, caller);
        match r {
            Ok(j) => self.loaded.push((j, origin)),
            // A failed dlopen records its group last.
            Err(_) => {
                self.refused.push(Refused {
                    path: path.display().to_string(),
                    may_be_imported: origin.may_be_imported,
                    installed_only: origin.installed_only,
                });
                self.failed
                    .push((ns.groups().len().saturating_sub(1), origin));
            }
        }
        r
    }
}

/// A load the process attempts that misses a `DT_NEEDED` (L3): the
/// start-up (which ld.so then refuses), or a `dlopen` that fails for it
/// and leaves nothing behind, so that its objects are no members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// What was being loaded: the directive, extension line or import
    /// (`via`), or the start-up.
    pub via: String,
    /// The objects the load brought in (canonical paths): the members of
    /// the start-up, or what the failed `dlopen` had opened.
    pub objects: Vec<String>,
    /// Each name found nowhere, with the object whose `DT_NEEDED` it is
    /// (canonical path).
    pub missing: Vec<(String, String)>,
    /// Only if the application imports it (a Python extension module).
    pub may_be_imported: bool,
    /// A what-if of `scan --installed`, not loaded by the configuration.
    pub installed_only: bool,
}

/// Why a process was not modelled. A host without Apache or php-fpm is
/// normal and reported as nothing; a process that is there but whose model
/// failed (its binary unreadable, over a budget, not ELF) is an error the
/// report must carry, never dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("{0}")]
    Absent(&'static str),
    /// The process's binary and why its model failed.
    #[error("{path}: {1}", path = .0.display())]
    Failed(PathBuf, String),
}

/// How a process kind is modelled: the root, the options, its discovery,
/// whether to add the installed what-ifs.
type ModelFn = fn(
    &Root,
    &ImageOptions,
    &host::Discovery,
    bool,
    Option<&Loader<'_>>,
) -> Result<Vec<ProcessImage>, ModelError>;

/// One kind of process the model knows: the name `--process` takes and the
/// report's `processes[].name`, and how to model it. To add a process
/// kind, write its model function and list it in [`PROCESSES`]; `scan`,
/// `image` and `explain` take it from there. A kind may model several
/// processes: Apache's are its children and one per mod_wsgi daemon
/// process group, named `wsgi:GROUP` ([`daemon_process`]).
#[derive(Debug)]
pub struct ProcessKind {
    pub name: &'static str,
    /// The prefix of the names of the further processes it models.
    pub family: Option<&'static str>,
    /// Models the processes of the root from its discovery (`installed`:
    /// also the installed, unloaded modules as what-ifs, where the kind
    /// has them), the kind's own first, or says why it cannot.
    model: ModelFn,
}

impl ProcessKind {
    /// Models the processes of this kind on `root`, its own first, or says
    /// why it cannot.
    pub fn model(
        &self,
        root: &Root,
        opts: &ImageOptions,
        found: &host::Discovery,
        installed: bool,
    ) -> Result<Vec<ProcessImage>, ModelError> {
        (self.model)(root, opts, found, installed, None)
    }

    /// [`ProcessKind::model`] with the caller's loader (the scan's), used
    /// where the process searches as it does (no `LD_LIBRARY_PATH` of its
    /// own): each file is then read once, and each stand-alone load made
    /// once, for the models and the inventory alike.
    pub fn model_sharing(
        &self,
        root: &Root,
        opts: &ImageOptions,
        found: &host::Discovery,
        installed: bool,
        loader: &Loader<'_>,
    ) -> Result<Vec<ProcessImage>, ModelError> {
        (self.model)(root, opts, found, installed, Some(loader))
    }

    /// Whether `name` is a process this kind models (its own name, or one
    /// of its family's).
    pub fn names(&self, name: &str) -> bool {
        name == self.name
            || self
                .family
                .is_some_and(|f| name.strip_prefix(f).is_some_and(|rest| !rest.is_empty()))
    }
}

/// Apache httpd with its modules (mod_php, mod_wsgi) and what they load:
/// its child processes, and each mod_wsgi daemon process group.
pub const APACHE: ProcessKind = ProcessKind {
    name: "apache",
    family: Some(WSGI_PREFIX),
    model: apache_model,
};

/// php-fpm, a process of its own (research/loader-model.md H9).
pub const PHP_FPM: ProcessKind = ProcessKind {
    name: "php-fpm",
    family: None,
    model: |root, opts, _, _, shared| php_fpm_with(root, opts, shared).map(|p| vec![p]),
};

/// Every process kind the model knows, in the order reports list them.
pub const PROCESSES: &[ProcessKind] = &[APACHE, PHP_FPM];

/// The registered process kind that models the process `name`.
pub fn process_kind(name: &str) -> Option<&'static ProcessKind> {
    PROCESSES.iter().find(|k| k.names(name))
}

/// The loader a model searches with: the caller's where it searches as
/// one made with `options` would ([`Loader::serves`]), else the model's
/// own, made in `own`.
fn model_loader<'l, 'r>(
    root: &'r Root,
    options: Options,
    shared: Option<&'l Loader<'r>>,
    own: &'l mut Option<Loader<'r>>,
) -> &'l Loader<'r> {
    match shared.filter(|l| l.serves(root, &options, Detail::Symbols)) {
        Some(l) => l,
        None => own.insert(Loader::with_detail(root, options, Detail::Symbols)),
    }
}

/// Models the Apache child process of `root`, or says why it cannot.
pub fn apache(root: &Root, opts: &ImageOptions) -> Result<ProcessImage, ModelError> {
    apache_with(root, opts, &host::discover(root))
}

/// [`apache`] with the root's discovery already made (the scan has it).
pub fn apache_with(
    root: &Root,
    opts: &ImageOptions,
    found: &host::Discovery,
) -> Result<ProcessImage, ModelError> {
    apache_model(root, opts, found, false, None)?
        .into_iter()
        .next()
        .ok_or(ModelError::Absent("no Apache process modelled"))
}

/// The Apache processes of `root`: the child processes first, then each
/// mod_wsgi daemon process group in configuration order (each the
/// parent's image plus its group's Python); with `installed`, the
/// children also get every Apache module, PHP extension and Python
/// extension module of the discovery that the configuration does not
/// load, as a what-if: each `dlopen`ed last, locally, so that it changes
/// no other member's bindings (`scan --installed`, certainty latent).
pub fn apache_model(
    root: &Root,
    opts: &ImageOptions,
    found: &host::Discovery,
    installed: bool,
    shared: Option<&Loader<'_>>,
) -> Result<Vec<ProcessImage>, ModelError> {
    let env = apache::service_env(root);
    let mut cfg_opts = env.config_options();
    if let Some(main) = &opts.apache_config {
        cfg_opts.main = Some(main.clone());
    }
    let config = apache::read_config(root, &cfg_opts);
    if config.main.is_none() {
        return Err(ModelError::Absent("no Apache configuration found"));
    }
    let mut errors: Vec<(String, String)> = env
        .errors
        .iter()
        .chain(&config.errors)
        .map(|(p, r)| (p.display().to_string(), r.clone()))
        .collect();
    let mut notes = Vec::new();

    let httpd = env
        .httpd
        .clone()
        .filter(|p| root.kind(p).is_some())
        .or_else(|| {
            found
                .candidates
                .iter()
                .find(|c| c.role == Role::Httpd)
                .map(|c| c.path.clone())
        })
        .ok_or(ModelError::Absent("no httpd binary found"))?;
    let options = Options {
        ld_library_path: env.ld_library_path().map(str::to_string),
        cpu: opts.cpu,
        ..Options::default()
    };
    let mut own = None;
    let loader = model_loader(root, options, shared, &mut own);
    let preload: Vec<bstr::BString> = env
        .ld_preload()
        .into_iter()
        .map(bstr::BString::from)
        .chain(
            env.ld_so_preload
                .iter()
                .map(|p| bstr::BString::from(p.as_str())),
        )
        .collect();
    let preload_count = preload.len();

    // Pass 1 (H4): what survives the unload keeps its pass-1 place.
    let modules: Vec<(String, PathBuf, String, Role)> = config
        .directives
        .iter()
        .filter_map(|d| {
            let at = format!("{}:{}", d.file.display(), d.line);
            match &d.kind {
                apache::DirectiveKind::LoadModule { name, path, .. } => Some((
                    format!("LoadModule {name} ({at})"),
                    path.clone(),
                    at,
                    Role::ApacheModule,
                )),
                apache::DirectiveKind::LoadFile { path, .. } => {
                    Some((format!("LoadFile ({at})"), path.clone(), at, Role::Library))
                }
                _ => None,
            }
        })
        .collect();
    let survivors = {
        let mut pass1 = loader
            .start(&httpd, &preload)
            .map_err(|e| ModelError::Failed(httpd.clone(), e.to_string()))?;
        let startup_len = pass1.objects().len();
        for (_, path, _, _) in &modules {
            let _ = pass1.dlopen(path_bytes(path), rtld::NOW | rtld::GLOBAL, Some(0));
        }
        // G7: a NODELETE object stays, and so does everything it needs.
        let objects = pass1.objects();
        let mut keep = vec![false; objects.len()];
        let mut stack: Vec<usize> = (startup_len..objects.len())
            .filter(|&j| objects.get(j).and_then(Loaded::facts).is_some_and(nodelete))
            .collect();
        while let Some(j) = stack.pop() {
            if j < startup_len || keep.get(j).copied().unwrap_or(true) {
                continue;
            }
            if let Some(k) = keep.get_mut(j) {
                *k = true;
            }
            if let Some(o) = objects.get(j) {
                stack.extend(o.needed.iter().copied());
            }
        }
        pass1
            .chain_order()
            .into_iter()
            .filter(|&j| keep.get(j).copied().unwrap_or(false))
            .filter_map(|j| objects.get(j).and_then(|o| o.path.clone()))
            .collect::<Vec<PathBuf>>()
    };

    let mut ns = loader
        .start(&httpd, &preload)
        .map_err(|e| ModelError::Failed(httpd.clone(), e.to_string()))?;
    let mut origins = Origins::default();
    for path in &survivors {
        let origin = Origin {
            via: "survives the first configuration pass (NODELETE)".into(),
            role: Role::Library,
            may_be_imported: false,
            installed_only: false,
            uncertain: true,
            brought_by: None,
        };
        let _ = origins.dlopen(&mut ns, path, rtld::NOW | rtld::GLOBAL, Some(0), origin);
    }
    if !survivors.is_empty() {
        let n = survivors.len();
        notes.push(format!(
            "{n} object{} survive{} the first configuration pass (DF_1_NODELETE or STB_GNU_UNIQUE, and what {} need{}) and keep {} pass-1 place (H4, G7, G9: docs/RULES.md)",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" },
            if n == 1 { "it" } else { "they" },
            if n == 1 { "s" } else { "" },
            if n == 1 { "its" } else { "their" },
        ));
    }

    // Pass 2: modules in configuration order (H1–H3).
    let mut libphp: Option<(usize, PathBuf)> = None;
    let mut libpython = false;
    let mut wsgi_loaded = false;
    for (via, path, at, role) in &modules {
        let origin = Origin {
            via: via.clone(),
            role: *role,
            may_be_imported: false,
            installed_only: false,
            uncertain: false,
            brought_by: None,
        };
        match origins.dlopen(&mut ns, path, rtld::NOW | rtld::GLOBAL, Some(0), origin) {
            Ok(j) => {
                let name = path.file_name().map(|n| n.as_bytes()).unwrap_or_default();
                if (name.starts_with(b"libphp") || name.starts_with(b"mod_php")) && libphp.is_none()
                {
                    libphp = Some((j, path.clone()));
                }
                if name.starts_with(b"mod_wsgi") || name.starts_with(b"mod_python") {
                    libpython = true;
                }
                wsgi_loaded |= name.starts_with(b"mod_wsgi");
            }
            Err(why) => errors.push((at.clone(), format!("httpd fails to load it: {why}"))),
        }
    }

    // mod_php's extensions after every module (H9, H10), DEEPBIND (H8).
    if let Some((php_index, libphp_path)) = &libphp {
        let ini_dir = config.directives.iter().find_map(|d| match &d.kind {
            apache::DirectiveKind::PhpIniDir(p) => Some(p.clone()),
            _ => None,
        });
        let hints = php::PhpHints {
            version: None,
            ini_dir,
            libphp: Some(libphp_path.clone()),
            env: env.vars.clone(),
        };
        let cfg = php::php_extensions(root, php::Sapi::Apache2, &hints);
        load_php_extensions(&mut ns, &cfg, Some(*php_index), &mut origins, &mut errors);
    }

    // Each child drops to `User`/`Group` with initgroups(): libc loads the
    // NSS modules of the group database that are not built in (glibc ≥ 2.34
    // builds in `files` and `dns`), with __libc_dlopen (RTLD_LAZY, local).
    let libc = ns.objects().iter().position(|o| {
        o.facts()
            .and_then(|f| f.soname.as_ref())
            .is_some_and(|s| s.as_slice() == b"libc.so.6")
    });
    let nss_loaded = nss_group_services(root);
    for service in &nss_loaded {
        let name = format!("libnss_{service}.so.2");
        let origin = Origin {
            via: format!(
                "NSS module {service} (nsswitch.conf), loaded by libc in each child for initgroups()"
            ),
            role: Role::Library,
            may_be_imported: false,
            installed_only: false,
            uncertain: true,
            brought_by: None,
        };
        if let Err(why) = origins.dlopen(&mut ns, Path::new(&name), rtld::LAZY, libc, origin) {
            notes.push(format!("NSS service {service}: {why}"));
        }
    }

    // mod_wsgi built against a static libpython carries the interpreter
    // itself (it defines Py_Initialize and needs no libpython): which
    // Python it is comes from the strings compiled into it (`python`).
    let static_python = if libpython && python_version(&ns).is_none() {
        static_python(root, &ns)
    } else {
        None
    };
    let installations = if static_python.is_some() {
        host::python_installations(root)
    } else {
        Vec::new()
    };

    // Everything so far is the parent's image, which every process Apache
    // forks holds: its children, and mod_wsgi's daemon process groups,
    // each of which then imports from its own Python (H11).
    let version = libpython.then(|| python_version(&ns)).flatten();
    let wsgi = if wsgi_loaded {
        apache::wsgi::processes(&config)
    } else {
        apache::wsgi::Processes {
            embedded_config: config.directives.clone().into(),
            ..Default::default()
        }
    };
    errors.extend(wsgi.errors.iter().cloned());
    notes.extend(wsgi.notes.iter().cloned());
    let env_flags = (env.ld_bind_now(), env.ld_dynamic_weak());
    // Shared only when more than one process is forked: for Apache's
    // children alone, binding the parent apart would cost, not save.
    let forked = (!wsgi.daemons.is_empty()).then(|| {
        let mut link = link_map(&ns, &origins.loaded);
        (link.env_bind_now, link.env_dynamic_weak) = env_flags;
        let forked = Arc::new(bind::Forked::new(link));
        if let Some(bind) = opts.bind_early {
            forked.bind_early(bind);
        }
        forked
    });
    let parent = Parent {
        forked,
        ns,
        origins,
        preload_count,
        errors,
        notes,
        env_flags,
    };
    // What each process adds to the parent's image: its Python's modules,
    // then the plugins its libraries load; the Python found, if any.
    let listings = plugins::Listings::default();
    let add_python = |ns: &mut Namespace,
                      origins: &mut Origins,
                      notes: &mut Vec<String>,
                      py: &apache::wsgi::PythonSetup| {
        let python = interpreter(
            root,
            version.as_deref(),
            static_python.as_ref(),
            py,
            &installations,
            notes,
        );
        if let Some((v, prefix)) = &python {
            import_python(root, found, ns, origins, notes, (v, prefix.as_ref()), py);
        }
        plugins::load(root, &listings, ns, origins, notes, &nss_loaded);
        python
    };
    // The children's image beside the daemon groups', each modelled
    // apart from the others from the same parent, in parallel; in
    // configuration order.
    let embedded = wsgi.embedded;
    let embedded_config = wsgi.embedded_config;
    let (children, daemons) = rayon::join(
        || {
            let (mut ns, mut origins, mut notes) = parent.fork();
            let python = add_python(&mut ns, &mut origins, &mut notes, &embedded);
            if installed {
                let python = python_version(&ns).or(python.map(|(v, _)| v));
                load_installed(&mut ns, found, python, &mut origins);
            }
            let mut image = parent.finish(APACHE.name, &ns, &origins, notes);
            image.config = embedded_config;
            image
        },
        || {
            wsgi.daemons
                .into_par_iter()
                .map(|daemon| {
                    let (mut ns, mut origins, mut notes) = parent.fork();
                    notes.push(format!(
                        "mod_wsgi daemon process group {}: forked from the Apache parent, so it holds the parent's image; {} application{} run{} in it",
                        daemon.name,
                        daemon.applications,
                        if daemon.applications == 1 { "" } else { "s" },
                        if daemon.applications == 1 { "s" } else { "" },
                    ));
                    add_python(&mut ns, &mut origins, &mut notes, &daemon.python);
                    let mut image =
                        parent.finish(&daemon_process(&daemon.name), &ns, &origins, notes);
                    image.config = daemon.config;
                    image
                })
                .collect::<Vec<ProcessImage>>()
        },
    );
    let mut out = Vec::with_capacity(1 + daemons.len());
    out.push(children);
    out.extend(daemons);
    Ok(out)
}

/// The process name of mod_wsgi's daemon process group `group`: what
/// mod_wsgi's `display-name=%{GROUP}` shows in `ps` (`(wsgi:group)`), and
/// apart from every registered process kind's name, which has no `:`.
pub fn daemon_process(group: &str) -> String {
    format!("{WSGI_PREFIX}{group}")
}

/// The prefix of the process names of mod_wsgi's daemon process groups.
pub const WSGI_PREFIX: &str = "wsgi:";

/// The Apache parent's image, from which each child and daemon process is
/// forked.
struct Parent<'a, 'r> {
    /// Its link map, whose members' bindings every process forked from it
    /// shares.
    forked: Option<Arc<bind::Forked>>,
    ns: Namespace<'a, 'r>,
    origins: Origins,
    preload_count: usize,
    errors: Vec<(String, String)>,
    notes: Vec<String>,
    env_flags: (bool, bool),
}

impl<'a, 'r> Parent<'a, 'r> {
    /// A process forked from the parent: its namespace, why each member is
    /// there, and the notes so far.
    fn fork(&self) -> (Namespace<'a, 'r>, Origins, Vec<String>) {
        (self.ns.clone(), self.origins.clone(), self.notes.clone())
    }

    fn finish(
        &self,
        name: &str,
        ns: &Namespace<'_, '_>,
        origins: &Origins,
        notes: Vec<String>,
    ) -> ProcessImage {
        let mut image = finish(
            name,
            "httpd",
            ns,
            origins,
            self.preload_count,
            self.errors.clone(),
            notes,
            self.env_flags,
        );
        image.link.forked = self.forked.clone();
        image
    }
}

/// Every Python extension module an interpreter of `version` may import,
/// each `dlopen(RTLD_NOW)` local, "may be imported", after everything
/// global (H11): its standard library's (the installation's
/// `lib-dynload`), its site's (a virtualenv's `site-packages`, with the
/// system's only when its `pyvenv.cfg` includes them; else the
/// installation's), then its path entries. Without a home of its own, the
/// interpreter mod_wsgi links finds the installation discovery found.
fn import_python(
    root: &Root,
    found: &host::Discovery,
    ns: &mut Namespace<'_, '_>,
    origins: &mut Origins,
    notes: &mut Vec<String>,
    (version, prefix): (&str, Option<&python::Prefix>),
    setup: &apache::wsgi::PythonSetup,
) {
    let tag = format!("cpython-{}", version.replace('.', ""));
    let dir = format!("python{version}");
    // Discovery's modules of this version: the standard library's, and
    // the system's site directories'.
    type Modules = Vec<(String, PathBuf)>;
    let (system_site, system_std): (Modules, Modules) = found
        .candidates
        .iter()
        .filter(|c| c.role == Role::PythonExtension)
        .filter(|c| {
            let p = c.path.to_string_lossy();
            p.contains(&tag)
                || p.ends_with(".abi3.so")
                || (p.contains(&dir) && !p.contains("cpython-"))
        })
        .map(|c| {
            (
                "import (Python extension module)".to_string(),
                c.path.clone(),
            )
        })
        .partition(|(_, p)| host::wheels::site_of(p).is_some());
    let of_dir = |via: &str, d: &Path| -> Vec<(String, PathBuf)> {
        host::python_packages(root, d)
            .candidates
            .into_iter()
            .filter(|c| c.role == Role::PythonExtension)
            .filter(|c| {
                let p = c.path.to_string_lossy();
                p.contains(&tag) || p.ends_with(".abi3.so") || !p.contains("cpython-")
            })
            .map(|c| (format!("import ({via})"), c.path))
            .collect()
    };
    let libs = |h: &Path| -> Vec<PathBuf> {
        ["lib", "lib64"]
            .iter()
            .map(|l| h.join(l).join(&dir))
            .collect()
    };
    let mut modules: Vec<(String, PathBuf)> = Vec::new();
    match (&setup.home, prefix) {
        (None, None) => {
            modules.extend(system_std);
            modules.extend(system_site);
        }
        // A static libpython's own installation, and no other's.
        (None, Some(p)) => {
            let via = "Python extension module";
            for d in python::lib_dirs(&p.exec_prefix, version) {
                modules.extend(of_dir(via, &d.join("lib-dynload")));
            }
            for d in python::lib_dirs(&p.prefix, version) {
                modules.extend(of_dir(via, &d.join("site-packages")));
            }
        }
        (Some((via, home)), _) => {
            let venv = root
                .read(&home.join("pyvenv.cfg"), crate::budget::named!(SMALL_FILE))
                .ok();
            // The system's own prefix (`WSGIPythonHome /usr`) is no home of
            // its own.
            let std_dirs: Vec<PathBuf> = libs(home)
                .into_iter()
                .map(|l| l.join("lib-dynload"))
                .filter(|d| root.is_dir(d))
                .collect();
            let canonical = |p: &Path| root.resolve(p).ok().map(|(c, _)| c);
            let system = venv.is_none()
                && std_dirs.iter().filter_map(|d| canonical(d)).any(|d| {
                    system_std
                        .iter()
                        .filter_map(|(_, p)| canonical(p.parent()?))
                        .any(|s| s == d)
                });
            if system {
                modules.extend(system_std);
                modules.extend(system_site);
            } else if let Some(cfg) = venv {
                modules.extend(system_std);
                for site in libs(home).iter().map(|l| l.join("site-packages")) {
                    modules.extend(of_dir(via, &site));
                }
                if include_system_site(&cfg) {
                    modules.extend(system_site);
                }
            } else {
                if std_dirs.is_empty() {
                    notes.push(format!(
                        "{via}: no lib/{dir}/lib-dynload there; its standard library's modules are taken to be the installation's that discovery found"
                    ));
                    modules.extend(system_std);
                }
                for d in &std_dirs {
                    modules.extend(of_dir(via, d));
                }
                for site in libs(home).iter().map(|l| l.join("site-packages")) {
                    modules.extend(of_dir(via, &site));
                }
            }
        }
    }
    for (via, p) in &setup.path {
        modules.extend(of_dir(via, p));
    }
    let mut count = 0;
    for (via, path) in modules {
        let origin = Origin {
            via,
            role: Role::PythonExtension,
            may_be_imported: true,
            installed_only: false,
            uncertain: false,
            brought_by: None,
        };
        if origins.dlopen(ns, &path, rtld::NOW, None, origin).is_ok() {
            count += 1;
        }
    }
    notes.push(format!(
        "{count} Python {version} extension module{} may be imported; each is modelled as dlopen(RTLD_NOW) in path order after everything global (the real import order is the application's)",
        if count == 1 { "" } else { "s" }
    ));
}

/// The module of the parent's image that carries a static libpython
/// (mod_wsgi or mod_python defining `Py_Initialize`), with the strings
/// compiled into it; `None` when there is none or it cannot be read.
fn static_python(root: &Root, ns: &Namespace<'_, '_>) -> Option<(String, python::Compiled)> {
    let module = ns.objects().iter().find_map(|o| {
        let opened = o.opened.as_ref()?;
        let name = opened.canonical.file_name()?.as_bytes();
        let embeds = (name.starts_with(b"mod_wsgi") || name.starts_with(b"mod_python"))
            && o.facts().is_some_and(|f| {
                f.symbols
                    .iter()
                    .any(|s| s.is_defined() && s.name.as_slice() == b"Py_Initialize")
            });
        embeds.then(|| opened.canonical.clone())
    })?;
    let compiled = root
        .open(&module)
        .map_err(std::io::Error::other)
        .and_then(|f| {
            python::compiled_strings(
                f.file,
                crate::budget::STATIC_PYTHON_BYTES,
                crate::budget::STATIC_PYTHON_PATHS,
            )
        })
        .unwrap_or_else(|e| python::Compiled {
            truncated: Some(format!("its strings could not be read: {e}")),
            ..Default::default()
        });
    Some((module.display().to_string(), compiled))
}

/// The Python one process imports with: the version of the shared
/// libpython it links (its installation as discovery and its home say),
/// else that of the static libpython its module carries, with the prefix
/// [`python::embedded`] finds for it unless the home decides.
fn interpreter(
    root: &Root,
    shared: Option<&str>,
    static_python: Option<&(String, python::Compiled)>,
    setup: &apache::wsgi::PythonSetup,
    installations: &[host::Installation],
    notes: &mut Vec<String>,
) -> Option<(String, Option<python::Prefix>)> {
    if let Some(v) = shared {
        return Some((v.to_string(), None));
    }
    let (module, compiled) = static_python?;
    python::embedded(root, module, compiled, setup, installations, notes)
        .map(|e| (e.version, e.prefix))
}

/// `include-system-site-packages = true` in a `pyvenv.cfg` (`site.py`:
/// `key = value` lines, the key lower-cased, the value compared
/// case-insensitively).
fn include_system_site(cfg: &[u8]) -> bool {
    cfg.lines().any(|line| {
        line.split_once_str("=").is_some_and(|(k, v)| {
            k.trim()
                .eq_ignore_ascii_case(b"include-system-site-packages")
                && v.trim().eq_ignore_ascii_case(b"true")
        })
    })
}

/// The what-if of `scan --installed`: every installed module or extension
/// no member is, with its host's mode minus `RTLD_GLOBAL` (so it changes
/// no other member's bindings), in path order.
fn load_installed(
    ns: &mut Namespace<'_, '_>,
    found: &host::Discovery,
    python: Option<String>,
    origins: &mut Origins,
) {
    let tag = python.map(|v| format!("cpython-{}", v.replace('.', "")));
    let mut candidates: Vec<&host::Candidate> = found.candidates.iter().collect();
    candidates.sort_by(|a, b| a.path.cmp(&b.path));
    for c in candidates {
        let mode = match c.role {
            Role::ApacheModule => rtld::NOW,
            Role::PhpExtension => rtld::LAZY | rtld::DEEPBIND,
            Role::PythonExtension => {
                let p = c.path.to_string_lossy();
                let other =
                    p.contains("cpython-") && !tag.as_deref().is_some_and(|t| p.contains(t));
                if other {
                    continue;
                }
                rtld::NOW
            }
            _ => continue,
        };
        let Ok(opened) = ns.loader().open(&c.path) else {
            continue;
        };
        let member = ns.objects().iter().any(|o| {
            o.opened
                .as_ref()
                .is_some_and(|x| x.canonical == opened.canonical)
        });
        if member {
            continue;
        }
        let origin = Origin {
            via: format!(
                "installed, not loaded by the configuration ({})",
                c.role.as_str()
            ),
            role: c.role,
            may_be_imported: false,
            uncertain: false,
            installed_only: true,
            brought_by: None,
        };
        let _ = origins.dlopen(ns, &c.path, mode, None, origin);
    }
}

/// `dlopen`s every PHP extension in PHP's order (H9) with PHP's mode (H8).
fn load_php_extensions(
    ns: &mut Namespace<'_, '_>,
    cfg: &php::PhpConfig,
    caller: Option<usize>,
    origins: &mut Origins,
    errors: &mut Vec<(String, String)>,
) {
    errors.extend(cfg.errors.iter().cloned());
    let mode = php_dl_mode(cfg.version.as_deref(), cfg.sapi);
    for ext in &cfg.extensions {
        let via = format!(
            "{}={} ({}:{})",
            ext.kind.key(),
            ext.name_as_written,
            ext.ini_file.display(),
            ext.line
        );
        let origin = Origin {
            via,
            role: Role::PhpExtension,
            may_be_imported: false,
            installed_only: false,
            uncertain: false,
            brought_by: None,
        };
        if let Err(why) = origins.dlopen(ns, &ext.path, mode, caller, origin) {
            errors.push((
                format!("{}:{}", ext.ini_file.display(), ext.line),
                format!("PHP fails to load the extension: {why}"),
            ));
        }
    }
}

/// H8: `PHP_RTLD_MODE|RTLD_GLOBAL|RTLD_DEEPBIND`; from PHP 8.5 DEEPBIND
/// is a runtime switch, off by default but kept for the Apache SAPI.
fn php_dl_mode(version: Option<&str>, sapi: php::Sapi) -> u32 {
    let base = rtld::LAZY | rtld::GLOBAL;
    let modern = version
        .and_then(|v| {
            let mut it = v.split('.').map(|x| x.parse::<u32>().ok());
            Some((it.next()??, it.next().flatten().unwrap_or(0)))
        })
        .is_some_and(|(major, minor)| (major, minor) >= (8, 5));
    if modern && sapi != php::Sapi::Apache2 {
        base
    } else {
        base | rtld::DEEPBIND
    }
}

/// The php-fpm process (research/loader-model.md H9): its own start-up and
/// its own ini files, never merged into Apache's.
pub fn php_fpm(root: &Root, opts: &ImageOptions) -> Result<ProcessImage, ModelError> {
    php_fpm_with(root, opts, None)
}

/// [`php_fpm`] with a loader that may serve it ([`ProcessKind::model_sharing`]).
fn php_fpm_with(
    root: &Root,
    opts: &ImageOptions,
    shared: Option<&Loader<'_>>,
) -> Result<ProcessImage, ModelError> {
    let (version, binary) = php::installed_sapis(root)
        .into_iter()
        .filter(|(s, _)| *s == php::Sapi::Fpm)
        .find_map(|(_, v)| {
            let candidates = [
                v.as_ref().map(|v| format!("/usr/sbin/php-fpm{v}")),
                Some("/usr/sbin/php-fpm".to_string()),
                Some("/usr/local/sbin/php-fpm".to_string()),
            ];
            candidates
                .into_iter()
                .flatten()
                .map(PathBuf::from)
                .find(|p| root.kind(p).is_some())
                .map(|p| (v.clone(), p))
        })
        .ok_or(ModelError::Absent("php-fpm is not installed"))?;
    let options = Options {
        cpu: opts.cpu,
        ..Options::default()
    };
    let mut own = None;
    let loader = model_loader(root, options, shared, &mut own);
    let mut ns = loader
        .start(&binary, &[])
        .map_err(|e| ModelError::Failed(binary.clone(), e.to_string()))?;
    let hints = php::PhpHints {
        version,
        ..php::PhpHints::default()
    };
    let cfg = php::php_extensions(root, php::Sapi::Fpm, &hints);
    let mut origins = Origins::default();
    let mut errors = Vec::new();
    load_php_extensions(&mut ns, &cfg, Some(0), &mut origins, &mut errors);
    let mut notes = cfg
        .notes
        .iter()
        .map(|(at, n)| format!("{at}: {n}"))
        .collect();
    plugins::load(
        root,
        &plugins::Listings::default(),
        &mut ns,
        &mut origins,
        &mut notes,
        &[],
    );
    Ok(finish(
        PHP_FPM.name,
        PHP_FPM.name,
        &ns,
        &origins,
        0,
        errors,
        notes,
        (false, false),
    ))
}

/// Services of the `initgroups` database (else `group`) in the root's
/// nsswitch.conf that libc does not build in.
fn nss_group_services(root: &Root) -> Vec<String> {
    let Ok(text) = root.read(Path::new("/etc/nsswitch.conf"), 1 << 20) else {
        return Vec::new();
    };
    let mut by_db: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for line in text.lines() {
        let line = line.split(|&b| b == b'#').next().unwrap_or_default();
        let Some((db, rest)) = line.split_once_str(":") else {
            continue;
        };
        let mut services = Vec::new();
        let mut in_action = false;
        for word in rest.fields() {
            // `[NOTFOUND=return]` actions, possibly split over words.
            if word.starts_with(b"[") {
                in_action = true;
            }
            if !in_action {
                services.push(word.to_str_lossy().into_owned());
            }
            if word.ends_with(b"]") {
                in_action = false;
            }
        }
        by_db.insert(db.trim().to_str_lossy().into_owned(), services);
    }
    by_db
        .get("initgroups")
        .or_else(|| by_db.get("group"))
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s != "files" && s != "dns")
        .collect()
}

/// The Python version mod_wsgi's libpython is for (`libpython3.11.so.1.0`).
fn python_version(ns: &Namespace<'_, '_>) -> Option<String> {
    ns.objects().iter().find_map(|o| {
        let name = o.path.as_ref()?.file_name()?.to_str()?;
        let rest = name.strip_prefix("libpython")?;
        let v: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let v = v.trim_end_matches('.');
        v.contains('.').then(|| v.to_string())
    })
}

/// G9: never unloaded, so it keeps its pass-1 place.
fn nodelete(f: &ElfFacts) -> bool {
    const DF_1_NODELETE: u64 = 0x8;
    const STB_GNU_UNIQUE: u8 = 10;
    f.flags_1 & DF_1_NODELETE != 0
        || f.symbols
            .iter()
            .any(|s| s.bind == STB_GNU_UNIQUE && s.is_defined())
}

#[allow(clippy::too_many_arguments)]
fn finish(
    name: &str,
    exec_via: &str,
    ns: &Namespace<'_, '_>,
    all: &Origins,
    preload_count: usize,
    errors: Vec<(String, String)>,
    notes: Vec<String>,
    (env_bind_now, env_dynamic_weak): (bool, bool),
) -> ProcessImage {
    let origins = all.loaded.as_slice();
    let objects = ns.objects();
    let canonical = |j: usize| -> String {
        objects
            .get(j)
            .and_then(|o| o.opened.as_ref())
            .map(|o| o.canonical.display().to_string())
            .unwrap_or_default()
    };
    let mut members = Vec::new();
    for j in ns.chain_order() {
        let Some(o) = objects.get(j) else { continue };
        if o.opened.is_none() {
            continue;
        }
        // The group that created it: its mode and what brought it in.
        let group = ns.groups().iter().find(|g| g.created.contains(&j));
        let flags = group.map_or(rtld::NOW | rtld::GLOBAL, |g| g.flags);
        let origin = group.and_then(|g| origins.iter().find(|(r, _)| *r == g.root).map(|(_, o)| o));
        let how = if j == 0 {
            How::Exec
        } else if j >= 2 && j < 2 + preload_count && group.is_some_and(|g| g.root == 0) {
            How::Preload
        } else if group.is_some_and(|g| g.root == j && j != 0) {
            How::Dlopen
        } else {
            How::Needed
        };
        let via = match (how, origin) {
            (How::Exec, _) => exec_via.to_string(),
            (How::Preload, _) => "LD_PRELOAD or /etc/ld.so.preload".to_string(),
            (How::Dlopen, Some(o)) => o.via.clone(),
            _ => needed_by(objects, o),
        };
        members.push(Member {
            object: canonical(j),
            how,
            flags: rtld::describe(flags),
            via,
            global: ns.global().contains(&j),
            may_be_imported: origin.is_some_and(|o| o.may_be_imported),
            uncertain: origin.is_some_and(|o| o.uncertain),
            installed_only: origin.is_some_and(|o| o.installed_only),
            brought_by: match (how, origin) {
                (How::Dlopen, Some(o)) => o.brought_by.clone(),
                _ => group
                    .filter(|g| how == How::Needed && g.root != 0 && g.root != j)
                    .map(|g| canonical(g.root)),
            },
            role: match (how, origin) {
                (How::Exec, _) => Role::Httpd,
                (How::Dlopen, Some(o)) => o.role,
                _ => Role::Library,
            },
        });
    }
    let mut errors = errors;
    errors.sort();
    errors.dedup();
    let mut link = link_map(ns, origins);
    link.env_bind_now = env_bind_now;
    link.env_dynamic_weak = env_dynamic_weak;
    ProcessImage {
        name: name.to_string(),
        members,
        scopes: Scopes {
            global: ns.global().iter().map(|&j| canonical(j)).collect(),
        },
        errors,
        notes,
        link,
        config: Default::default(),
        unresolved: unresolved(ns, all),
        refused: all.refused.clone(),
    }
}

/// What the process misses: the start-up's names found nowhere, and each
/// `dlopen` that failed for one, with why it was tried.
fn unresolved(ns: &Namespace<'_, '_>, origins: &Origins) -> Vec<Unresolved> {
    let text = |p: &PathBuf| p.display().to_string();
    let missing = |g: &crate::resolve::Group| -> Vec<(String, String)> {
        g.missing
            .iter()
            .map(|(by, name)| (text(by), name.to_str_lossy().into_owned()))
            .collect()
    };
    let mut out = Vec::new();
    if let Some(g) = ns.groups().first().filter(|g| !g.missing.is_empty()) {
        out.push(Unresolved {
            via: "the start-up".into(),
            objects: g
                .list
                .iter()
                .filter_map(|&j| ns.objects().get(j)?.opened.as_ref())
                .map(|o| text(&o.canonical))
                .collect(),
            missing: missing(g),
            may_be_imported: false,
            installed_only: false,
        });
    }
    for (gi, origin) in &origins.failed {
        let Some(g) = ns.groups().get(*gi).filter(|g| !g.missing.is_empty()) else {
            continue;
        };
        out.push(Unresolved {
            via: origin.via.clone(),
            objects: g.attempted.iter().map(text).collect(),
            missing: missing(g),
            may_be_imported: origin.may_be_imported,
            installed_only: origin.installed_only,
        });
    }
    out
}

/// The link map the binding model reads: for each member its scopes at
/// relocation time (G2.3), whether it binds lazily (G8), its stand-alone
/// search list (its own, or its loader's when only the loader chain's
/// `DT_RPATH` finds what it needs: [`solo`]), and the order ld.so
/// relocates members in.
fn link_map(ns: &Namespace<'_, '_>, origins: &[(usize, Origin)]) -> bind::LinkMap {
    use bind::{MemberLink, Obj, Scope};
    let objects = ns.objects();
    let mut link = bind::LinkMap::default();
    // One object per canonical path; the loader's one `Opened` per file
    // answers first, without hashing the path of every entry of every
    // member's stand-alone list.
    let mut by_opened: rustc_hash::FxHashMap<usize, usize> = Default::default();
    let mut by_path: rustc_hash::FxHashMap<PathBuf, usize> = Default::default();
    let mut intern = |link: &mut bind::LinkMap, o: &Loaded| -> Option<usize> {
        let opened = o.opened.as_ref()?;
        let key = Arc::as_ptr(opened) as usize;
        if let Some(&x) = by_opened.get(&key) {
            return Some(x);
        }
        let x = *by_path.entry(opened.canonical.clone()).or_insert_with(|| {
            link.objects.push(Obj {
                path: opened.canonical.display().to_string(),
                facts: opened.facts.as_ref().ok().cloned(),
            });
            link.objects.len() - 1
        });
        by_opened.insert(key, x);
        Some(x)
    };
    // Namespace index -> link-map object index.
    let mut obj_of = vec![None; objects.len()];
    for (j, o) in objects.iter().enumerate() {
        if let Some(x) = obj_of.get_mut(j) {
            *x = intern(&mut link, o);
        }
    }
    link.ns_objects = link.objects.len();
    link.musl = ns.search() == crate::resolve::profile::Search::Musl;
    let as_objs = |list: &[usize]| -> Vec<usize> {
        list.iter()
            .filter_map(|&j| obj_of.get(j).copied().flatten())
            .collect()
    };
    link.global = as_objs(ns.global());
    let mut member_of = vec![None; objects.len()];
    // Indexed once, not searched per member (a daemon process has hundreds
    // of dlopen groups): the successful group that created each object,
    // the first origin of each group's root, and for each object the later
    // groups whose search lists hold it without creating it.
    let groups = ns.groups();
    let mut group_of = vec![None; objects.len()];
    for g in groups.iter().filter(|g| g.failed.is_none()) {
        let created = g.created.start.min(objects.len())..g.created.end.min(objects.len());
        for slot in group_of.get_mut(created).unwrap_or_default() {
            slot.get_or_insert(g);
        }
    }
    let mut origin_of: rustc_hash::FxHashMap<usize, &Origin> = Default::default();
    let mut what_if: rustc_hash::FxHashSet<usize> = Default::default();
    for (r, o) in origins {
        origin_of.entry(*r).or_insert(o);
        if o.installed_only {
            what_if.insert(*r);
        }
    }
    let mut later_of: Vec<Vec<usize>> = vec![Vec::new(); objects.len()];
    let mut lists: Vec<Option<Vec<usize>>> = vec![None; groups.len()];
    for (hi, h) in groups.iter().enumerate() {
        // A what-if changes no other member's bindings.
        if h.failed.is_some() || what_if.contains(&h.root) {
            continue;
        }
        for &k in &h.list {
            if k == h.root || h.created.contains(&k) {
                continue;
            }
            if let Some(l) = later_of.get_mut(k).filter(|l| l.last() != Some(&hi)) {
                l.push(hi);
            }
        }
    }
    let mut alone = solo::StandAlone::new(objects, |o: &Loaded| {
        ns.loader().load_alone(o.path.as_ref()?)
    });
    for j in ns.chain_order() {
        let Some(o) = objects.get(j) else { continue };
        let Some(object) = obj_of.get(j).copied().flatten() else {
            continue;
        };
        let group = group_of.get(j).copied().flatten();
        let facts = o.facts();
        let deep = group.is_some_and(|g| g.flags & rtld::DEEPBIND != 0);
        let mut scopes = Vec::new();
        // musl ignores DT_SYMBOLIC: every lookup starts at the global list.
        if facts.is_some_and(|f| f.symbolic) && !deep && !link.musl {
            scopes.push(Scope::List(vec![object]));
        }
        match group {
            Some(g) if g.root != 0 => {
                let own = Scope::List(as_objs(&g.list));
                let global = Scope::Global(g.global_before);
                if deep {
                    scopes.extend([own, global]);
                } else {
                    scopes.extend([global, own]);
                }
            }
            Some(g) => scopes.push(Scope::Global(g.list.len())),
            None => scopes.push(Scope::Global(link.global.len())),
        }
        let startup = group.is_none_or(|g| g.root == 0);
        let lazy = !facts.is_some_and(|f| f.bind_now)
            && (startup || group.is_some_and(|g| g.flags & rtld::NOW == 0));
        // Loaded on its own: the search list `ld.so --list` builds for it,
        // or for the loader whose DT_RPATH it needs (`solo`).
        let (solo, closure) = match alone.stand_in(j) {
            Some(s) => {
                let mut list = |ks: &mut dyn Iterator<Item = usize>| -> Vec<usize> {
                    ks.filter_map(|k| s.load.objects.get(k))
                        .filter_map(|l| intern(&mut link, l))
                        .collect()
                };
                let solo = list(&mut s.load.order.iter().copied());
                let closure = (!s.own()).then(|| list(&mut s.closure().into_iter()));
                (solo, closure)
            }
            None => (vec![object], None),
        };
        let origin = group.and_then(|g| origin_of.get(&g.root).copied());
        // G2.5: later dlopens whose search list includes this dlopened
        // object append that list to its scopes.
        let later: Vec<Scope> = match group {
            Some(g) if g.root != 0 => later_of
                .get(j)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|&hi| {
                    let h = groups
                        .get(hi)
                        .filter(|h| h.created.start >= g.created.end)?;
                    let list = lists.get_mut(hi)?.get_or_insert_with(|| as_objs(&h.list));
                    Some(Scope::List(list.clone()))
                })
                .collect(),
            _ => Vec::new(),
        };
        let may_be_imported = origin.is_some_and(|o| o.may_be_imported);
        let installed_only = origin.is_some_and(|o| o.installed_only);
        if let Some(x) = member_of.get_mut(j) {
            *x = Some(link.members.len());
        }
        link.members.push(MemberLink {
            object,
            scopes,
            later,
            lazy,
            exec: j == 0,
            solo,
            closure,
            may_be_imported,
            installed_only,
        });
    }
    // rtld.c and dl-open.c relocate each new search list backwards.
    for g in ns.groups().iter().filter(|g| g.failed.is_none()) {
        for &j in g.list.iter().rev() {
            if !g.created.contains(&j) {
                continue;
            }
            if let Some(m) = member_of.get(j).copied().flatten() {
                link.relocation_order.push(m);
            }
        }
    }
    link
}

/// The terminal view of a process: members in load order, then problems,
/// `width` columns wide (the caller's terminal, or `COLUMNS` when piped).
pub fn write_table(
    p: &ProcessImage,
    out: &mut dyn std::io::Write,
    width: u16,
) -> std::io::Result<()> {
    use crate::layout::{Column, Grid, wrap};
    let mut t = Grid::new(vec![
        Column {
            labelled: false,
            ..Column::new("#")
        },
        Column::shortened("object", 20),
        Column::new("how"),
        Column::new("flags"),
        Column::shortened("via", 16),
    ]);
    for (i, m) in p.members.iter().enumerate() {
        let mut how = format!("{:?}", m.how).to_lowercase();
        if m.global {
            how.push_str(" (global)");
        }
        if m.may_be_imported {
            how.push_str(" (if imported)");
        }
        t.add_row([
            (i + 1).to_string(),
            m.object.clone(),
            how,
            m.flags.clone(),
            m.via.clone(),
        ]);
    }
    let width = usize::from(width);
    let head = format!(
        "process {}: {} members, {} in the global scope",
        p.name,
        p.members.len(),
        p.scopes.global.len()
    );
    let mut lines = wrap(&head, width, "", "  ");
    lines.push(t.render(width.try_into().unwrap_or(u16::MAX), false));
    for n in &p.notes {
        lines.extend(wrap(&format!("note: {n}"), width, "", "  "));
    }
    for (at, why) in &p.errors {
        lines.extend(wrap(&format!("error: {at}: {why}"), width, "", "  "));
    }
    for l in lines {
        writeln!(out, "{l}")?;
    }
    Ok(())
}

fn needed_by(objects: &[Loaded], o: &Loaded) -> String {
    match o
        .loader
        .and_then(|l| objects.get(l))
        .and_then(|l| l.path.as_ref())
    {
        Some(p) => format!("DT_NEEDED {} of {}", o.name.to_str_lossy(), p.display()),
        None => format!("DT_NEEDED {}", o.name.to_str_lossy()),
    }
}

fn path_bytes(p: &Path) -> &BStr {
    BStr::new(p.as_os_str().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// H8: DEEPBIND always up to PHP 8.4; from 8.5 only for the Apache SAPI.
    #[test]
    fn h8_php_dlopen_mode_by_version_and_sapi() {
        let deep = rtld::LAZY | rtld::GLOBAL | rtld::DEEPBIND;
        assert_eq!(php_dl_mode(Some("8.2"), php::Sapi::Fpm), deep);
        assert_eq!(php_dl_mode(None, php::Sapi::Fpm), deep);
        assert_eq!(php_dl_mode(Some("8.5"), php::Sapi::Apache2), deep);
        assert_eq!(
            php_dl_mode(Some("8.5"), php::Sapi::Fpm),
            rtld::LAZY | rtld::GLOBAL
        );
        assert_eq!(
            php_dl_mode(Some("9"), php::Sapi::Cli),
            rtld::LAZY | rtld::GLOBAL
        );
    }

    #[test]
    fn g9_nodelete_by_flag_or_unique_symbol() {
        let mut f = ElfFacts {
            flags_1: 0x8,
            ..ElfFacts::default()
        };
        assert!(nodelete(&f));
        f.flags_1 = 0;
        assert!(!nodelete(&f));
    }
}
