//! Arguments -> one validated value per command, so a command runs on
//! settled input and every usage error is worded here, before any work.
//! `signatures` and `generate` take their arguments as clap checked them:
//! there is nothing more to decide.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::Context;
use soclash::image::{ImageOptions, ProcessKind};
use soclash::model::FailOn;
use soclash::report::fleet::FleetOptions;
use soclash::report::waiver::{self, Waivers};
use soclash::resolve::{self, Cpu};
use soclash::root::Root;
use soclash::scan::ScanOptions;

use super::args::{
    AptHookArgs, DepsArgs, DiffArgs, ExplainArgs, FleetArgs, Format, ImageArgs, ImageFormat,
    ScanArgs, ScanFormat,
};

/// `soclash deps`.
pub struct DepsRun {
    pub root: Root,
    pub loader: resolve::Options,
    /// `--preload`, then the root's `/etc/ld.so.preload`, each with where
    /// it came from as ld.so names it.
    pub preload: Vec<(bstr::BString, &'static str)>,
    /// What kept `/etc/ld.so.preload` from being read.
    pub preload_problems: Vec<(PathBuf, String)>,
    pub tree: bool,
    pub why: bool,
    pub files: Vec<PathBuf>,
}

pub fn deps(args: DepsArgs) -> anyhow::Result<DepsRun> {
    let root = root(&args.root)?;
    // The modelled process starts where soclash runs only when the
    // audited system is this one; soclash's directory means nothing
    // inside another root, so there it starts at the top.
    let cwd = if root.is_host() {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
    } else {
        PathBuf::from("/")
    };
    let loader = resolve::Options {
        ld_library_path: args.ld_library_path,
        cpu: cpu(args.cpu_level),
        cwd,
        profile: None,
    };
    // rtld.c splits LD_PRELOAD on spaces and colons.
    let mut preload: Vec<(bstr::BString, &'static str)> = args
        .preload
        .as_deref()
        .unwrap_or_default()
        .split([' ', ':'])
        .filter(|n| !n.is_empty())
        .map(|n| (bstr::BString::from(n), "LD_PRELOAD"))
        .collect();
    let (names, preload_problems) = soclash::host::ld_so_preload(&root);
    preload.extend(
        names
            .into_iter()
            .map(|n| (bstr::BString::from(n), "/etc/ld.so.preload")),
    );
    Ok(DepsRun {
        root,
        loader,
        preload,
        preload_problems,
        tree: args.tree,
        why: args.why,
        files: args.files,
    })
}

/// `soclash scan`.
pub struct ScanRun {
    pub root: Root,
    /// What `--overlay`, `--overlay-deb` and `--overlay-rpm` lay over the
    /// root, if anything.
    pub overlays: Option<Overlays>,
    pub opts: ScanOptions,
    pub format: ScanFormat,
    /// The report goes to standard output and that is a terminal: the
    /// table takes its width and colour from it.
    pub to_terminal: bool,
    pub verbose: bool,
    pub output: Option<PathBuf>,
    pub archive: Option<PathBuf>,
    /// `--quiet`: no report on standard output, a summary on stderr.
    pub quiet: bool,
    /// `--hostname`, checked to be usable as an archive directory.
    pub hostname: Option<String>,
    pub fail_on: FailOn,
    /// `--waivers`, or the default file when it exists: read and checked
    /// before the scan, so a broken file stops the run, not the audit.
    pub waivers: Waivers,
    /// `--jobs`: the size of the worker pool, set up by the run.
    pub jobs: Option<usize>,
    /// `--live`: the running processes held against the model.
    pub live: bool,
}

/// The layers of a what-if scan, laid over the root's directory as given.
pub struct Overlays {
    pub root: PathBuf,
    pub dirs: Vec<PathBuf>,
    pub debs: Vec<PathBuf>,
    /// `--overlay-rpm` (never with `debs`).
    pub rpms: Vec<PathBuf>,
    /// `--ignore-depends`.
    pub ignore_depends: bool,
}

pub fn scan(args: ScanArgs) -> anyhow::Result<ScanRun> {
    let root = root(&args.root)?;
    // A --signatures directory that is missing or has an invalid file
    // would make the audit quietly weaker than asked: refuse it now.
    for dir in &args.signatures {
        let (_, errors) = soclash::rules::signature::read_dir(dir);
        if !errors.is_empty() {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            anyhow::bail!("--signatures {}: {}", dir.display(), list.join("; "));
        }
    }
    let waivers = match &args.waivers {
        Some(file) => waiver::read(file)?,
        None if Path::new(waiver::DEFAULT_FILE).exists() => {
            waiver::read(Path::new(waiver::DEFAULT_FILE))?
        }
        None => Waivers::default(),
    };
    let opts = ScanOptions {
        cpu: cpu(args.cpu_level),
        scanned_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        installed: args.installed,
        signatures: args.signatures,
        overlay_packages: Vec::new(),
    };
    let what_if =
        !args.overlay.is_empty() || !args.overlay_deb.is_empty() || !args.overlay_rpm.is_empty();
    let overlays = what_if.then_some(Overlays {
        root: args.root,
        dirs: args.overlay,
        debs: args.overlay_deb,
        rpms: args.overlay_rpm,
        ignore_depends: args.ignore_depends,
    });
    if args.ignore_depends && overlays.is_none() {
        anyhow::bail!("--ignore-depends is for a what-if: give --overlay-deb or --overlay-rpm");
    }
    if args.live && overlays.is_some() {
        anyhow::bail!("--live reads what runs now: it takes no --overlay or --overlay-deb");
    }
    if args.live && !root.is_host() {
        anyhow::bail!(
            "--live reads this machine's running processes: it audits / only, not --root {}",
            root.host_dir().display()
        );
    }
    let to_terminal = args.output.is_none() && io::stdout().is_terminal();
    let format = args.format.unwrap_or(if to_terminal {
        ScanFormat::Table
    } else {
        ScanFormat::Yaml
    });
    Ok(ScanRun {
        root,
        overlays,
        opts,
        format,
        to_terminal,
        verbose: args.verbose,
        output: args.output,
        archive: args.archive,
        quiet: args.quiet,
        hostname: args.hostname.map(hostname).transpose()?,
        fail_on: args.fail_on,
        waivers,
        jobs: args.jobs,
        live: args.live,
    })
}

/// `soclash apt-hook`: what the check needs before it reads apt's input.
pub struct AptHookRun {
    pub root: Root,
    /// The root's directory as given, for the what-if's layers.
    pub root_dir: PathBuf,
    pub opts: ScanOptions,
    pub fail_on: FailOn,
    /// Read now: a file that cannot be read is the hook's failure, which
    /// lets apt go on, never a reason to stop it.
    pub waivers: Waivers,
}

pub fn apt_hook(args: AptHookArgs) -> anyhow::Result<AptHookRun> {
    let waivers = match &args.waivers {
        Some(file) => waiver::read(file)?,
        None if Path::new(waiver::DEFAULT_FILE).exists() => {
            waiver::read(Path::new(waiver::DEFAULT_FILE))?
        }
        None => Waivers::default(),
    };
    Ok(AptHookRun {
        root: root(&args.root)?,
        root_dir: args.root,
        opts: ScanOptions {
            cpu: Cpu::detect(),
            scanned_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            installed: false,
            signatures: Vec::new(),
            overlay_packages: Vec::new(),
        },
        fail_on: args.fail_on,
        waivers,
    })
}

/// The root and the model's options, shared by `image` and `explain`.
pub struct ModelRun {
    pub root: Root,
    pub opts: ImageOptions,
}

/// A process named by `--process`: its name, and the kind that models it.
pub struct ProcessChoice {
    pub name: String,
    pub kind: &'static ProcessKind,
}

/// `soclash image`.
pub struct ImageRun {
    pub model: ModelRun,
    /// Only this process; `None`: every modelled one (`dot`: apache's).
    pub process: Option<ProcessChoice>,
    pub format: ImageFormat,
    /// What a graph draws.
    pub focus: soclash::report::dot::Focus,
}

pub fn image(args: ImageArgs) -> anyhow::Result<ImageRun> {
    use soclash::report::dot::Focus;
    let focus = match (args.focus, args.format) {
        (Some(_), f) if f != ImageFormat::Dot => {
            anyhow::bail!(
                "--focus chooses what --format dot draws; it has no use with another format"
            )
        }
        (Some(super::args::Focus::All), _) => Focus::All,
        _ => Focus::Findings,
    };
    let process = match (args.process, args.format) {
        (Some(name), _) => Some(process(name)?),
        // A graph is of one process.
        (None, ImageFormat::Dot) => Some(process(soclash::image::APACHE.name.to_string())?),
        (None, _) => None,
    };
    Ok(ImageRun {
        model: model(&args.root, args.apache_config, args.cpu_level)?,
        process,
        format: args.format,
        focus,
    })
}

/// `soclash explain`.
pub struct ExplainRun {
    pub model: ModelRun,
    /// Only this process; `None`: every modelled one.
    pub process: Option<ProcessChoice>,
    pub symbol: String,
    pub format: Format,
}

pub fn explain(args: ExplainArgs) -> anyhow::Result<ExplainRun> {
    let process = args.process.map(process).transpose()?;
    Ok(ExplainRun {
        model: model(&args.root, args.apache_config, args.cpu_level)?,
        process,
        symbol: args.symbol,
        format: args.format,
    })
}

/// `soclash diff`: the two reports, named or the newest two of an archive.
pub struct DiffRun {
    pub old: PathBuf,
    pub new: PathBuf,
    pub format: Format,
    pub fail_on: FailOn,
}

pub fn diff(args: DiffArgs) -> anyhow::Result<DiffRun> {
    use soclash::report::diff;
    let (old, new) = match (&args.archive, args.args.as_slice()) {
        (Some(dir), [host]) => diff::newest_two(dir, &host.to_string_lossy())?,
        (None, [old, new]) => (old.clone(), new.clone()),
        (Some(_), _) => anyhow::bail!("with --archive, give one HOST"),
        (None, _) => anyhow::bail!("give OLD.yaml and NEW.yaml, or --archive DIR HOST"),
    };
    Ok(DiffRun {
        old,
        new,
        format: args.format,
        fail_on: args.fail_on,
    })
}

/// `soclash fleet`.
pub struct FleetRun {
    pub archive: PathBuf,
    pub opts: FleetOptions,
    pub format: Format,
}

pub fn fleet(args: FleetArgs) -> anyhow::Result<FleetRun> {
    use soclash::report::fleet;
    let at = args.at.as_deref().map(fleet::parse_at).transpose()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(FleetRun {
        archive: args.archive,
        opts: FleetOptions {
            at,
            stale_days: args.stale,
            now,
            fail_on: args.fail_on,
        },
        format: args.format,
    })
}

/// A host name the archive can use as a directory: what `--hostname`
/// gives must not climb out of it or hide in it.
fn hostname(name: String) -> anyhow::Result<String> {
    let usable = !name.is_empty()
        && name.len() <= 253
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.chars().any(char::is_control);
    if usable {
        Ok(name)
    } else {
        anyhow::bail!(
            "--hostname {name:?}: not a host name (empty, `.`, `..`, a `/` or a control character)"
        )
    }
}

fn root(dir: &Path) -> anyhow::Result<Root> {
    Root::new(dir).with_context(|| format!("cannot use {} as root", dir.display()))
}

fn cpu(level: Option<u8>) -> Cpu {
    level.map_or_else(Cpu::detect, Cpu::with_level)
}

fn model(
    root_dir: &Path,
    apache_config: Option<PathBuf>,
    cpu_level: Option<u8>,
) -> anyhow::Result<ModelRun> {
    Ok(ModelRun {
        root: root(root_dir)?,
        opts: ImageOptions {
            apache_config,
            cpu: cpu(cpu_level),
            bind_early: None,
        },
    })
}

/// The process `name` and the registered kind that models it, checked
/// before the root is opened (whether the root has it is known once it is
/// modelled).
fn process(name: String) -> anyhow::Result<ProcessChoice> {
    match soclash::image::process_kind(&name) {
        Some(kind) => Ok(ProcessChoice { name, kind }),
        None => Err(anyhow::anyhow!(
            "unknown process {name:?}: the model knows {}",
            process_names()
        )),
    }
}

/// The registered process kinds' names, with their families:
/// `apache (and wsgi:GROUP, each mod_wsgi daemon process group) and php-fpm`.
pub fn process_names() -> String {
    let names: Vec<String> = soclash::image::PROCESSES
        .iter()
        .map(|k| match k.family {
            Some(f) => format!(
                "{} (and {f}GROUP, each mod_wsgi daemon process group)",
                k.name
            ),
            None => k.name.to_string(),
        })
        .collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}
