//! The `soclash` binary: parses arguments and hands them to the library.

mod cli;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use rayon::prelude::*;

use soclash::model::Severity;
use soclash::resolve::{Cpu, Loader, Options};
use soclash::root::Root;
use soclash::scan::ScanOptions;

use cli::{
    Cli, Command, DepsArgs, DiffArgs, ExplainArgs, FailOn, FleetArgs, Format, ImageArgs,
    ImageFormat, ScanArgs, SignaturesCommand,
};

/// Exit codes of DESIGN.md: 0 clean, 1 findings at or above --fail-on,
/// 2 usage or I/O errors that prevented (part of) the audit.
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    on_signals_clean_up();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Deps(args) => deps(&args),
        Command::Scan(args) => scan(&args),
        Command::Image(args) => image(&args),
        Command::Explain(args) => explain(&args),
        Command::Signatures(cmd) => signatures(&cmd),
        Command::Diff(args) => diff(&args),
        Command::Fleet(args) => fleet(&args),
        Command::Generate { dir } => generate(&dir),
    };
    if soclash::root::scratch::stopping() {
        // The signal thread is ending the process; an error this thread
        // met because of it is not the outcome.
        loop {
            std::thread::park();
        }
    }
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soclash: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// SIGINT and SIGTERM remove soclash's temporary directory (what
/// `--overlay-deb` unpacked), then end the process by the signal's default
/// action, so a shell or service manager sees it was interrupted.
fn on_signals_clean_up() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            soclash::root::scratch::stop();
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            std::process::exit(128 + signal);
        }
    });
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    // serde_json's error hides the io::Error it wraps from `source()`.
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .map(io::Error::kind)
            .or_else(|| {
                c.downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            })
            == Some(io::ErrorKind::BrokenPipe)
    })
}

fn deps(args: &DepsArgs) -> anyhow::Result<u8> {
    use anyhow::Context;
    let root = Root::new(&args.root)
        .with_context(|| format!("cannot use {} as root", args.root.display()))?;
    let cwd = if root.is_host() {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
    } else {
        PathBuf::from("/")
    };
    let opts = Options {
        ld_library_path: args.ld_library_path.clone(),
        cpu: args.cpu_level.map_or_else(Cpu::detect, Cpu::with_level),
        cwd,
        profile: None,
    };
    let loader = Loader::new(&root, opts);
    for p in loader.problems() {
        eprintln!("soclash: {}: {}", p.path.display(), p.reason);
    }
    let several = args.files.len() > 1;
    let blocks: Vec<(String, Option<String>)> = args
        .files
        .par_iter()
        .map(|f| deps_block(&loader, f, args))
        .collect();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut failed = false;
    for (file, (text, err)) in args.files.iter().zip(blocks) {
        if several {
            writeln!(out, "{}:", file.display())?;
        }
        out.write_all(text.as_bytes())?;
        if let Some(err) = err {
            failed = true;
            out.flush()?;
            eprintln!("soclash: {}: {err}", file.display());
        }
    }
    out.flush()?;
    Ok(if failed { EXIT_ERROR } else { 0 })
}

/// The output block of one FILE, and the problem that stopped it, if any.
fn deps_block(loader: &Loader<'_>, file: &Path, args: &DepsArgs) -> (String, Option<String>) {
    match loader.load(file) {
        Ok(load) => {
            let lines = if args.tree {
                load.tree_lines(args.why)
            } else {
                load.lines(args.why)
            };
            let mut text = String::new();
            for l in lines {
                text.push_str(&l);
                text.push('\n');
            }
            let fatal = load.fatal().map(|(path, reason)| {
                format!("{}: {reason} (ld.so would refuse to start)", path.display())
            });
            (text, fatal)
        }
        Err(e) => (String::new(), Some(e.to_string())),
    }
}

fn scan(args: &ScanArgs) -> anyhow::Result<u8> {
    use anyhow::Context;
    use std::io::IsTerminal;
    if let Some(n) = args.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("cannot start worker threads")?;
    }
    let root = Root::new(&args.root)
        .with_context(|| format!("cannot use {} as root", args.root.display()))?;
    let opts = ScanOptions {
        cpu: args.cpu_level.map_or_else(Cpu::detect, Cpu::with_level),
        scanned_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        installed: args.installed,
        signatures: args.signatures.clone(),
        overlay_packages: Vec::new(),
    };
    let progress = Progress::start();
    let report = if args.overlay.is_empty() && args.overlay_deb.is_empty() {
        soclash::scan::scan(&root, &opts)
    } else {
        let o = soclash::scan::overlaid(&args.root, &args.overlay, &args.overlay_deb)?;
        let opts = ScanOptions {
            overlay_packages: o.layers.iter().map(|(_, p)| p.clone()).collect(),
            ..opts
        };
        let labels = o.layers.iter().map(|(l, _)| l.clone()).collect();
        soclash::scan::scan_overlay(&root, &o.root, labels, &opts)
    };
    progress.finish();

    let stdout_tty = args.output.is_none() && io::stdout().is_terminal();
    let format = args.format.unwrap_or(if stdout_tty {
        Format::Table
    } else {
        Format::Yaml
    });
    let mut sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    match format {
        Format::Yaml => report.write_yaml(&mut sink)?,
        Format::Json => report.write_json(&mut sink)?,
        Format::Table => report.write_table(&mut sink, &table_style(stdout_tty, args.verbose))?,
    }
    sink.flush()?;
    if let Some(dir) = &args.archive {
        let path = soclash::report::diff::archive(dir, &report)?;
        eprintln!("soclash: wrote {}", path.display());
    }
    Ok(u8::from(
        report.worst().is_some_and(|w| w >= threshold(args.fail_on)),
    ))
}

/// The table's width and colour: the terminal's width (or `COLUMNS`,
/// else 120 columns off a terminal), colour only on a terminal that is not
/// `dumb` and without `NO_COLOR` (https://no-color.org).
fn table_style(stdout_tty: bool, verbose: bool) -> soclash::report::TableStyle {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let columns = env("COLUMNS").and_then(|c| c.parse::<u16>().ok());
    let width = stdout_tty
        .then(terminal_width)
        .flatten()
        .or(columns)
        .unwrap_or(120)
        .max(40);
    soclash::report::TableStyle {
        width,
        colour: stdout_tty && env("NO_COLOR").is_none() && env("TERM").as_deref() != Some("dumb"),
        verbose,
    }
}

/// Standard output's terminal width (`TIOCGWINSZ`), when it is a terminal.
fn terminal_width() -> Option<u16> {
    let size = rustix::termios::tcgetwinsize(io::stdout()).ok()?;
    (size.ws_col > 0).then_some(size.ws_col)
}

fn threshold(f: FailOn) -> Severity {
    match f {
        FailOn::Critical => Severity::Critical,
        FailOn::High => Severity::High,
        FailOn::Medium => Severity::Medium,
        FailOn::Low => Severity::Low,
    }
}

fn diff(args: &DiffArgs) -> anyhow::Result<u8> {
    use soclash::report::diff;
    let (old, new) = match (&args.archive, args.args.as_slice()) {
        (Some(dir), [host]) => diff::newest_two(dir, &host.to_string_lossy())?,
        (None, [old, new]) => (old.clone(), new.clone()),
        (Some(_), _) => anyhow::bail!("with --archive, give one HOST"),
        (None, _) => anyhow::bail!("give OLD.yaml and NEW.yaml, or --archive DIR HOST"),
    };
    let a = diff::read_report(&old)?;
    let b = diff::read_report(&new)?;
    let names = (old.display().to_string(), new.display().to_string());
    let d = diff::diff(&a, &b, (&names.0, &names.1));
    write_doc(args.format, &serde_json::to_value(&d)?, |out| {
        diff::write_table(&d, out)
    })?;
    Ok(u8::from(
        d.worst_added()
            .is_some_and(|w| w >= threshold(args.fail_on)),
    ))
}

fn fleet(args: &FleetArgs) -> anyhow::Result<u8> {
    use anyhow::Context;
    use soclash::report::fleet;
    let at = args.at.as_deref().map(fleet::parse_at).transpose()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let opts = fleet::FleetOptions {
        at,
        stale_days: args.stale,
        now,
    };
    let f = fleet::fleet(&args.archive, &opts)
        .with_context(|| format!("cannot read the archive {}", args.archive.display()))?;
    use std::io::IsTerminal;
    let width = table_style(io::stdout().is_terminal(), false).width;
    write_doc(args.format, &serde_json::to_value(&f)?, |out| {
        fleet::write_table(&f, out, width)
    })?;
    Ok(u8::from(
        f.worst().is_some_and(|w| w >= threshold(args.fail_on)),
    ))
}

/// A spinner on stderr, only when stderr is a terminal and the scan has
/// taken more than half a second; stdout carries nothing but the report.
struct Progress {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start() -> Progress {
        use std::io::IsTerminal;
        use std::sync::atomic::Ordering;
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        if !io::stderr().is_terminal() {
            return Progress { done, thread: None };
        }
        let flag = std::sync::Arc::clone(&done);
        let thread = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while start.elapsed() < std::time::Duration::from_millis(500) {
                if flag.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let bar = indicatif::ProgressBar::new_spinner().with_message("scanning");
            while !flag.load(Ordering::Relaxed) {
                bar.tick();
                std::thread::sleep(std::time::Duration::from_millis(80));
            }
            bar.finish_and_clear();
        });
        Progress {
            done,
            thread: Some(thread),
        }
    }

    fn finish(mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The root and the model's options of `image` and `explain`.
fn model_setup(
    root: &Path,
    apache_config: Option<&PathBuf>,
    cpu_level: Option<u8>,
    process: Option<&str>,
) -> anyhow::Result<(Root, soclash::image::ImageOptions)> {
    use anyhow::Context;
    if let Some(p) = process.filter(|p| soclash::image::process_kind(p).is_none()) {
        anyhow::bail!("unknown process {p:?}: the model knows {}", process_names());
    }
    let root = Root::new(root).with_context(|| format!("cannot use {} as root", root.display()))?;
    let opts = soclash::image::ImageOptions {
        apache_config: apache_config.cloned(),
        cpu: cpu_level.map_or_else(Cpu::detect, Cpu::with_level),
    };
    Ok((root, opts))
}

/// The registered process kinds' names: `apache and php-fpm`.
fn process_names() -> String {
    let names: Vec<&str> = soclash::image::PROCESSES.iter().map(|k| k.name).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Writes a document as JSON or YAML, or calls `table` for the terminal.
fn write_doc(
    format: Format,
    doc: &serde_json::Value,
    table: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, doc)?;
            writeln!(out)?;
        }
        Format::Yaml => out.write_all(serde_norway::to_string(doc)?.as_bytes())?,
        Format::Table => table(&mut out)?,
    }
    out.flush()?;
    Ok(())
}

fn image(args: &ImageArgs) -> anyhow::Result<u8> {
    let (root, opts) = model_setup(
        &args.root,
        args.apache_config.as_ref(),
        args.cpu_level,
        Some(&args.process),
    )?;
    let kind = soclash::image::process_kind(&args.process)
        .ok_or_else(|| anyhow::anyhow!("unknown process {:?}", args.process))?;
    let found = soclash::host::discover(&root);
    let process = kind.model(&root, &opts, &found, false)?;
    let doc = serde_json::json!({ "processes": [&process] });
    let format = match args.format {
        ImageFormat::Table => Format::Table,
        ImageFormat::Yaml => Format::Yaml,
        ImageFormat::Json => Format::Json,
        ImageFormat::Dot => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            soclash::report::dot::write_image(&process, &mut out)?;
            out.flush()?;
            return Ok(0);
        }
    };
    write_doc(format, &doc, |out| {
        soclash::image::write_table(&process, out)
    })?;
    Ok(0)
}

fn explain(args: &ExplainArgs) -> anyhow::Result<u8> {
    use soclash::image::bind;
    let (root, opts) = model_setup(
        &args.root,
        args.apache_config.as_ref(),
        args.cpu_level,
        args.process.as_deref(),
    )?;
    let mut images = Vec::new();
    let mut why_not = Vec::new();
    let found = soclash::host::discover(&root);
    for kind in soclash::image::PROCESSES {
        if args.process.as_deref().is_some_and(|p| p != kind.name) {
            continue;
        }
        match kind.model(&root, &opts, &found, false) {
            Ok(i) => images.push(i),
            Err(e) => why_not.push(format!("{}: {e}", kind.name)),
        }
    }
    if images.is_empty() {
        anyhow::bail!("no process to explain: {}", why_not.join("; "));
    }
    let explanations: Vec<bind::Explanation> = images
        .iter()
        .map(|i| {
            let b = bind::bind(i, &bind::BindOptions::default());
            bind::explain(i, &b, args.symbol.as_bytes())
        })
        .collect();
    let doc = match (&args.process, explanations.first()) {
        (Some(_), Some(one)) => serde_json::to_value(one)?,
        _ => serde_json::to_value(&explanations)?,
    };
    write_doc(args.format, &doc, |out| {
        explanations
            .iter()
            .try_for_each(|e| bind::write_table(e, out))
    })?;
    Ok(0)
}

fn signatures(cmd: &SignaturesCommand) -> anyhow::Result<u8> {
    use soclash::rules::signature;
    match cmd {
        SignaturesCommand::Check { dir } => {
            let (sigs, errors) = match dir {
                Some(d) => signature::read_dir(d),
                None => signature::embedded(),
            };
            for e in &errors {
                eprintln!("{e}");
            }
            let stdout = io::stdout();
            let mut out = stdout.lock();
            writeln!(
                out,
                "{} signatures valid, {} errors",
                sigs.len(),
                errors.len()
            )?;
            Ok(u8::from(!errors.is_empty()))
        }
        SignaturesCommand::List { signatures, format } => {
            let (sigs, errors) = signature::catalogue(signatures);
            for e in &errors {
                eprintln!("soclash: {e}");
            }
            let rows: Vec<serde_json::Value> = sigs
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "id": s.id.0,
                        "severity": s.severity,
                        "status": s.status,
                        "era": s.era,
                        "title": s.title,
                    })
                })
                .collect();
            write_doc(*format, &serde_json::Value::Array(rows), |out| {
                use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
                let mut t = Table::new();
                t.load_style(UTF8_FULL_CONDENSED)
                    .set_content_arrangement(ContentArrangement::Dynamic)
                    .set_header(["id", "severity", "title"]);
                for s in &sigs {
                    t.add_row([s.id.0.clone(), s.severity.to_string(), s.title.clone()]);
                }
                writeln!(out, "{t}")
            })?;
            Ok(if errors.is_empty() { 0 } else { EXIT_ERROR })
        }
    }
}

/// Completions and man pages from the clap definitions, for packaging.
fn generate(dir: &Path) -> anyhow::Result<u8> {
    use anyhow::Context;
    use clap::CommandFactory;
    use clap_complete::Shell;
    let completions = dir.join("completions");
    let man = dir.join("man");
    for d in [&completions, &man] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let mut cmd = Cli::command();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd, "soclash", &completions)
            .with_context(|| format!("cannot write {shell} completions"))?;
    }
    clap_mangen::generate_to(cmd, &man).context("cannot write the man pages")?;
    Ok(0)
}
