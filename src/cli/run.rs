//! Each command on its validated value: the library's entry points, then
//! the output. Exit codes are `main`'s; a command says how it ended.

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use anyhow::Context;
use rayon::prelude::*;
use soclash::resolve::Loader;

use super::Outcome;
use super::args::{Format, ImageFormat, ScanFormat, SignaturesCommand};
use super::options::{DepsRun, DiffRun, ExplainRun, FleetRun, ImageRun, ProcessChoice, ScanRun};
use super::output::write_doc;
use super::terminal::{Progress, table_style};

pub fn deps(run: DepsRun) -> anyhow::Result<Outcome> {
    // Symbols too: the version check ld.so runs while listing needs each
    // object's version definitions and needs.
    let loader = Loader::with_detail(&run.root, run.loader, soclash::elf::Detail::Symbols);
    for p in loader.problems() {
        eprintln!("soclash: {}: {}", p.path.display(), p.reason);
    }
    for (path, reason) in &run.preload_problems {
        eprintln!("soclash: {}: {reason}", path.display());
    }
    let several = run.files.len() > 1;
    let blocks: Vec<Block> = run
        .files
        .par_iter()
        .map(|f| deps_block(&loader, f, &run.preload, run.tree, run.why))
        .collect();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut failed = false;
    for (file, Block { text, err, notes }) in run.files.iter().zip(blocks) {
        if several {
            writeln!(out, "{}:", file.display())?;
        }
        if !notes.is_empty() {
            // Before the list, as ld.so writes them while it loads.
            out.flush()?;
            for n in &notes {
                eprintln!("{n}");
            }
        }
        out.write_all(text.as_bytes())?;
        if let Some(err) = err {
            failed = true;
            out.flush()?;
            eprintln!("soclash: {}: {err}", file.display());
        }
    }
    out.flush()?;
    Ok(if failed {
        Outcome::Incomplete
    } else {
        Outcome::Clean
    })
}

/// The output of one FILE: its block, the problem that stopped it, and
/// what ld.so writes on its standard error while listing (preloads it
/// ignores, version problems), in ld.so's words.
struct Block {
    text: String,
    err: Option<String>,
    notes: Vec<String>,
}

fn deps_block(
    loader: &Loader<'_>,
    file: &Path,
    preload: &[(bstr::BString, &str)],
    tree: bool,
    why: bool,
) -> Block {
    match loader.load_with(file, preload) {
        Ok(load) => {
            let mut notes = load.preload_errors.clone();
            let musl = load.listing == soclash::resolve::profile::Search::Musl;
            if !musl {
                // musl checks no symbol versions.
                notes.extend(load.version_problems(&file.display().to_string()));
            }
            let loader_errors = load.loader_errors();
            let lines = if tree {
                load.tree_lines(why)
            } else {
                load.lines(why)
            };
            let mut text = String::new();
            for l in lines {
                text.push_str(&l);
                text.push('\n');
            }
            let fatal = if musl {
                // musl lists on past a library it cannot load, then exits
                // 127; deps, like for ld.so's fatal cases, says the
                // process would not start and exits 2.
                (!loader_errors.is_empty()).then(|| {
                    format!(
                        "{} of its libraries could not be loaded (musl's loader would refuse to start)",
                        loader_errors.len()
                    )
                })
            } else {
                load.fatal().map(|(path, reason)| {
                    format!("{}: {reason} (ld.so would refuse to start)", path.display())
                })
            };
            notes.extend(loader_errors);
            Block {
                text,
                err: fatal,
                notes,
            }
        }
        Err(e) => Block {
            text: String::new(),
            err: Some(e.to_string()),
            notes: Vec::new(),
        },
    }
}

pub fn scan(run: ScanRun) -> anyhow::Result<Outcome> {
    if let Some(n) = run.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("cannot start worker threads")?;
    }
    let started = std::time::Instant::now();
    let progress = Progress::start("scanning");
    let mut report = match &run.overlays {
        None if run.live => {
            soclash::live::scan_live(&run.root, &run.opts, &soclash::host::live::proc_dir())?
        }
        None => soclash::scan::scan(&run.root, &run.opts),
        Some(layers) => {
            let o = if layers.rpms.is_empty() {
                soclash::whatif::overlaid(&layers.root, &layers.dirs, &layers.debs)?
            } else {
                soclash::whatif::overlaid_rpm(&layers.root, &layers.dirs, &layers.rpms)?
            };
            soclash::whatif::scan_overlay(&run.root, &o, &run.opts, layers.ignore_depends)
        }
    };
    drop(progress);
    if let Some(name) = &run.hostname {
        report.host.hostname = Some(name.clone());
    }
    // A report that cannot be archived (no /etc/hostname in the root, no
    // --hostname) fails before anything is printed, not after the report.
    if let Some(dir) = &run.archive {
        soclash::report::diff::archive_path(dir, &report)?;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let applied = run.waivers.apply(&mut report, now);
    for line in applied.expired.iter().chain(&applied.unmatched) {
        eprintln!("soclash: waiver {line}");
    }
    // After the waivers: a waived finding the upgrade introduces does not
    // fail it.
    let verdict = soclash::report::verdict::judge(&report, run.fail_on);
    if let (Some(o), Some(v)) = (report.overlay.as_mut(), &verdict) {
        o.verdict = Some(v.clone());
    }

    let mut text: Vec<u8> = Vec::new();
    match run.format {
        ScanFormat::Yaml => report.write_yaml(&mut text)?,
        ScanFormat::Json => report.write_json(&mut text)?,
        ScanFormat::Table => {
            report.write_table(&mut text, &table_style(run.to_terminal, run.verbose))?;
        }
        ScanFormat::Sarif => {
            let (signatures, _) = soclash::rules::signature::catalogue(&run.opts.signatures);
            let log = soclash::report::sarif::sarif(&report, &signatures);
            serde_json::to_writer_pretty(&mut text, &log)?;
            writeln!(text)?;
        }
        ScanFormat::Prometheus => {
            soclash::report::prometheus::write(
                &report,
                Some(started.elapsed().as_secs_f64()),
                &mut text,
            )?;
        }
    }
    match &run.output {
        Some(path) => write_output(path, &text)?,
        None if run.quiet => {}
        None => {
            let mut out = io::stdout().lock();
            out.write_all(&text)?;
            out.flush()?;
        }
    }
    let archived = match &run.archive {
        Some(dir) => Some(soclash::report::diff::archive(dir, &report)?),
        None => None,
    };
    // With overlays the exit code is the verdict on what they introduce.
    use soclash::report::verdict::Outcome as Judged;
    let outcome = match verdict.as_ref().map(|v| v.outcome) {
        None => Outcome::findings_if(report.fails(run.fail_on)),
        Some(Judged::Introduces) => Outcome::Findings,
        Some(Judged::Nothing) => Outcome::Clean,
        Some(Judged::Incomplete) => Outcome::Incomplete,
    };
    if run.quiet || archived.is_some() {
        let fails = outcome == Outcome::Findings;
        eprintln!("soclash: {}", summary(&report, fails, archived.as_deref()));
    }
    // An incomplete what-if says why where the table is not there to.
    if outcome == Outcome::Incomplete
        && (run.format != ScanFormat::Table || run.output.is_some() || run.quiet)
    {
        if let Some(v) = report.overlay.as_ref().and_then(|o| o.verdict.as_ref()) {
            eprintln!("soclash: {}", v.summary);
        }
    }
    // Processes found, none of whose maps could be read: the live part
    // of the audit was not done.
    if let Some(live) = report
        .live
        .as_ref()
        .filter(|l| l.any_found() && !l.any_readable())
    {
        eprintln!(
            "soclash: --live: the maps of none of the {} running web server processes could be read (run as root)",
            live.processes.len()
                + live
                    .containers
                    .iter()
                    .map(|c| c.processes.len())
                    .sum::<usize>()
        );
        return Ok(Outcome::Incomplete);
    }
    if report.audited_nothing() {
        eprintln!(
            "soclash: nothing to audit under {}: no httpd, Apache module, PHP extension or Python extension module",
            report.host.root
        );
        return Ok(Outcome::Incomplete);
    }
    Ok(outcome)
}

/// The run in one line, for the journal: findings by severity, waived,
/// errors, whether `--fail-on` fails, where the report went.
fn summary(report: &soclash::report::Report, fails: bool, archived: Option<&Path>) -> String {
    let counts = report.summary.by_severity();
    let mut line = if counts.is_empty() {
        "no findings".to_string()
    } else {
        counts.join(", ")
    };
    if !report.waived.is_empty() {
        line.push_str(&format!(" ({} waived)", report.waived.len()));
    }
    let errors = report.errors.len();
    line.push_str(&format!(
        ", {errors} file{} not audited",
        if errors == 1 { "" } else { "s" }
    ));
    if fails {
        line.push_str(": fails --fail-on");
    }
    if let Some(p) = archived {
        line.push_str(&format!("; archived {}", p.display()));
    }
    line
}

/// Writes the report to `--output`. A regular file (or a new one) is
/// replaced at once: a temporary file beside it, renamed over it, so a
/// collector reading it meanwhile sees the old file or the new one, never
/// part of one. A symlink is followed, so the file it names is replaced
/// and the link stays. Anything else (`/dev/null`, a FIFO, a terminal) is
/// written as it is: renaming over a device would replace the device.
fn write_output(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let context = || format!("cannot write {}", path.display());
    let target = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => std::fs::canonicalize(path).with_context(context)?,
        Ok(_) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(context)?;
            f.write_all(bytes).with_context(context)?;
            return Ok(());
        }
        // A dangling symlink: create what it names, as File::create does.
        Err(_) if std::fs::symlink_metadata(path).is_ok() => {
            std::fs::write(path, bytes).with_context(context)?;
            return Ok(());
        }
        Err(_) => path.to_path_buf(),
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".soclash-")
        .tempfile_in(dir)
        .with_context(context)?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(context)?;
    // Readable as a file created by the scan always was (0644).
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .with_context(context)?;
    tmp.persist(&target).with_context(context)?;
    Ok(())
}

/// The modelled processes of the root, or only `choice`: an error when
/// none is (each kind's reason), or when the chosen one is not on the root
/// (with the names of those that are).
fn processes(
    m: &super::options::ModelRun,
    choice: Option<&ProcessChoice>,
) -> anyhow::Result<Vec<soclash::image::ProcessImage>> {
    let found = soclash::host::discover(&m.root);
    let mut images = Vec::new();
    let mut why_not = Vec::new();
    for kind in soclash::image::PROCESSES {
        if choice.is_some_and(|c| c.kind.name != kind.name) {
            continue;
        }
        match kind.model(&m.root, &m.opts, &found, false) {
            Ok(i) => images.extend(i),
            Err(e) => why_not.push(format!("{}: {e}", kind.name)),
        }
    }
    if let Some(c) = choice {
        if images.is_empty() {
            anyhow::bail!("no process {}: {}", c.name, why_not.join("; "));
        }
        let names: Vec<String> = images.iter().map(|i| i.name.clone()).collect();
        images.retain(|i| i.name == c.name);
        if images.is_empty() {
            anyhow::bail!(
                "no process {} on this root; modelled: {}",
                c.name,
                names.join(", ")
            );
        }
    }
    if images.is_empty() {
        anyhow::bail!("no process to model: {}", why_not.join("; "));
    }
    Ok(images)
}

pub fn image(run: ImageRun) -> anyhow::Result<Outcome> {
    let images = processes(&run.model, run.process.as_ref())?;
    let doc = serde_json::json!({
        "processes": images.iter().map(soclash::report::ProcessEntry::from).collect::<Vec<_>>()
    });
    let format = match run.format {
        ImageFormat::Table => Format::Table,
        ImageFormat::Yaml => Format::Yaml,
        ImageFormat::Json => Format::Json,
        ImageFormat::Dot => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            for process in &images {
                soclash::report::dot::write_image(&run.model.root, process, run.focus, &mut out)?;
            }
            out.flush()?;
            return Ok(Outcome::Clean);
        }
    };
    let width = table_style(io::stdout().is_terminal(), false).width;
    write_doc(format, &doc, |out| {
        images.iter().enumerate().try_for_each(|(i, p)| {
            if i > 0 {
                writeln!(out)?;
            }
            soclash::image::write_table(p, out, width)
        })
    })?;
    Ok(Outcome::Clean)
}

pub fn explain(run: ExplainRun) -> anyhow::Result<Outcome> {
    use soclash::image::bind;
    let images = processes(&run.model, run.process.as_ref())?;
    let explanations: Vec<bind::Explanation> = images
        .par_iter()
        .map(|i| {
            let b = bind::bind(i, &bind::BindOptions::default());
            bind::explain(i, &b, run.symbol.as_bytes())
        })
        .collect();
    let doc = match (&run.process, explanations.first()) {
        (Some(_), Some(one)) => serde_json::to_value(one)?,
        _ => serde_json::to_value(&explanations)?,
    };
    let width = table_style(io::stdout().is_terminal(), false).width;
    write_doc(run.format, &doc, |out| {
        explanations
            .iter()
            .try_for_each(|e| bind::write_table(e, out, width))
    })?;
    Ok(Outcome::Clean)
}

pub fn diff(run: DiffRun) -> anyhow::Result<Outcome> {
    use soclash::report::diff;
    let a = diff::read_report(&run.old)?;
    let b = diff::read_report(&run.new)?;
    let names = (run.old.display().to_string(), run.new.display().to_string());
    let d = diff::diff(&a, &b, (&names.0, &names.1));
    let width = table_style(io::stdout().is_terminal(), false).width;
    write_doc(run.format, &serde_json::to_value(&d)?, |out| {
        diff::write_table(&d, out, width)
    })?;
    Ok(Outcome::findings_if(d.fails(run.fail_on)))
}

pub fn fleet(run: FleetRun) -> anyhow::Result<Outcome> {
    use soclash::report::fleet;
    let f = fleet::fleet(&run.archive, &run.opts)
        .with_context(|| format!("cannot read the archive {}", run.archive.display()))?;
    let width = table_style(io::stdout().is_terminal(), false).width;
    write_doc(run.format, &serde_json::to_value(&f)?, |out| {
        fleet::write_table(&f, out, width)
    })?;
    if f.hosts == 0 {
        eprintln!(
            "soclash: no readable report in {}: the fleet cannot be judged",
            run.archive.display()
        );
        return Ok(Outcome::Incomplete);
    }
    Ok(Outcome::findings_if(f.fails()))
}

pub fn signatures(cmd: SignaturesCommand) -> anyhow::Result<Outcome> {
    use soclash::rules::signature;
    match cmd {
        SignaturesCommand::Check { dir } => {
            let (sigs, errors) = match dir {
                Some(d) => signature::read_dir(&d),
                None => signature::embedded(),
            };
            for e in &errors {
                eprintln!("{e}");
            }
            let stdout = io::stdout();
            let mut out = stdout.lock();
            writeln!(
                out,
                "{} signature{} valid, {} error{}",
                sigs.len(),
                if sigs.len() == 1 { "" } else { "s" },
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            )?;
            Ok(Outcome::findings_if(!errors.is_empty()))
        }
        SignaturesCommand::List { signatures, format } => {
            let (sigs, errors) = signature::catalogue(&signatures);
            for e in &errors {
                eprintln!("soclash: {e}");
            }
            let width = table_style(io::stdout().is_terminal(), false).width;
            super::output::signatures(&sigs, format, width)?;
            Ok(if errors.is_empty() {
                Outcome::Clean
            } else {
                Outcome::Incomplete
            })
        }
    }
}

pub fn schema() -> anyhow::Result<Outcome> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    serde_json::to_writer_pretty(&mut out, &soclash::report::json_schema())?;
    writeln!(out)?;
    out.flush()?;
    Ok(Outcome::Clean)
}

/// Completions and man pages from the clap definitions, for packaging.
pub fn generate(dir: &Path) -> anyhow::Result<Outcome> {
    super::manual::generate(dir)?;
    Ok(Outcome::Clean)
}
