//! Each command on its validated value: the library's entry points, then
//! the output. Exit codes are `main`'s; a command says how it ended.

use std::io::{self, Write};
use std::path::Path;

use anyhow::Context;
use rayon::prelude::*;
use soclash::resolve::Loader;

use super::Outcome;
use super::args::{Format, ImageFormat, SignaturesCommand};
use super::options::{DepsRun, DiffRun, ExplainRun, FleetRun, ImageRun, ScanRun};
use super::output::write_doc;
use super::terminal::{Progress, table_style};

pub fn deps(run: DepsRun) -> anyhow::Result<Outcome> {
    let loader = Loader::new(&run.root, run.loader);
    for p in loader.problems() {
        eprintln!("soclash: {}: {}", p.path.display(), p.reason);
    }
    let several = run.files.len() > 1;
    let blocks: Vec<(String, Option<String>)> = run
        .files
        .par_iter()
        .map(|f| deps_block(&loader, f, run.tree, run.why))
        .collect();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut failed = false;
    for (file, (text, err)) in run.files.iter().zip(blocks) {
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
    Ok(if failed {
        Outcome::Incomplete
    } else {
        Outcome::Clean
    })
}

/// The output block of one FILE, and the problem that stopped it, if any.
fn deps_block(loader: &Loader<'_>, file: &Path, tree: bool, why: bool) -> (String, Option<String>) {
    match loader.load(file) {
        Ok(load) => {
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
            let fatal = load.fatal().map(|(path, reason)| {
                format!("{}: {reason} (ld.so would refuse to start)", path.display())
            });
            (text, fatal)
        }
        Err(e) => (String::new(), Some(e.to_string())),
    }
}

pub fn scan(run: ScanRun) -> anyhow::Result<Outcome> {
    if let Some(n) = run.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("cannot start worker threads")?;
    }
    let progress = Progress::start("scanning");
    let mut report = match &run.overlays {
        None => soclash::scan::scan(&run.root, &run.opts),
        Some(layers) => {
            let o = soclash::whatif::overlaid(&layers.root, &layers.dirs, &layers.debs)?;
            soclash::whatif::scan_overlay(&run.root, &o, &run.opts, layers.ignore_depends)
        }
    };
    drop(progress);
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

    let mut sink: Box<dyn Write> = match &run.output {
        Some(path) => Box::new(io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    match run.format {
        Format::Yaml => report.write_yaml(&mut sink)?,
        Format::Json => report.write_json(&mut sink)?,
        Format::Table => {
            report.write_table(&mut sink, &table_style(run.to_terminal, run.verbose))?;
        }
    }
    sink.flush()?;
    if let Some(dir) = &run.archive {
        let path = soclash::report::diff::archive(dir, &report)?;
        eprintln!("soclash: wrote {}", path.display());
    }
    if report.audited_nothing() {
        eprintln!(
            "soclash: nothing to audit under {}: no httpd, Apache module, PHP extension or Python extension module",
            report.host.root
        );
        return Ok(Outcome::Incomplete);
    }
    use soclash::report::verdict::Outcome as Judged;
    Ok(match verdict.map(|v| v.outcome) {
        None => Outcome::findings_if(report.fails(run.fail_on)),
        Some(Judged::Introduces) => Outcome::Findings,
        Some(Judged::Nothing) => Outcome::Clean,
        Some(Judged::Incomplete) => {
            if run.format != Format::Table || run.output.is_some() {
                if let Some(v) = report.overlay.as_ref().and_then(|o| o.verdict.as_ref()) {
                    eprintln!("soclash: {}", v.summary);
                }
            }
            Outcome::Incomplete
        }
    })
}

pub fn image(run: ImageRun) -> anyhow::Result<Outcome> {
    let ImageRun {
        model: m,
        process: kind,
        format,
    } = run;
    let found = soclash::host::discover(&m.root);
    let process = kind.model(&m.root, &m.opts, &found, false)?;
    let doc = serde_json::json!({ "processes": [soclash::report::ProcessEntry::from(&process)] });
    let format = match format {
        ImageFormat::Table => Format::Table,
        ImageFormat::Yaml => Format::Yaml,
        ImageFormat::Json => Format::Json,
        ImageFormat::Dot => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            soclash::report::dot::write_image(&process, &mut out)?;
            out.flush()?;
            return Ok(Outcome::Clean);
        }
    };
    write_doc(format, &doc, |out| {
        soclash::image::write_table(&process, out)
    })?;
    Ok(Outcome::Clean)
}

pub fn explain(run: ExplainRun) -> anyhow::Result<Outcome> {
    use soclash::image::bind;
    let m = &run.model;
    let mut images = Vec::new();
    let mut why_not = Vec::new();
    let found = soclash::host::discover(&m.root);
    for kind in soclash::image::PROCESSES {
        if run.process.is_some_and(|p| p.name != kind.name) {
            continue;
        }
        match kind.model(&m.root, &m.opts, &found, false) {
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
            bind::explain(i, &b, run.symbol.as_bytes())
        })
        .collect();
    let doc = match (run.process, explanations.first()) {
        (Some(_), Some(one)) => serde_json::to_value(one)?,
        _ => serde_json::to_value(&explanations)?,
    };
    write_doc(run.format, &doc, |out| {
        explanations
            .iter()
            .try_for_each(|e| bind::write_table(e, out))
    })?;
    Ok(Outcome::Clean)
}

pub fn diff(run: DiffRun) -> anyhow::Result<Outcome> {
    use soclash::report::diff;
    let a = diff::read_report(&run.old)?;
    let b = diff::read_report(&run.new)?;
    let names = (run.old.display().to_string(), run.new.display().to_string());
    let d = diff::diff(&a, &b, (&names.0, &names.1));
    write_doc(run.format, &serde_json::to_value(&d)?, |out| {
        diff::write_table(&d, out)
    })?;
    Ok(Outcome::findings_if(d.fails(run.fail_on)))
}

pub fn fleet(run: FleetRun) -> anyhow::Result<Outcome> {
    use soclash::report::fleet;
    use std::io::IsTerminal;
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
                "{} signatures valid, {} errors",
                sigs.len(),
                errors.len()
            )?;
            Ok(Outcome::findings_if(!errors.is_empty()))
        }
        SignaturesCommand::List { signatures, format } => {
            let (sigs, errors) = signature::catalogue(&signatures);
            for e in &errors {
                eprintln!("soclash: {e}");
            }
            super::output::signatures(&sigs, format)?;
            Ok(if errors.is_empty() {
                Outcome::Clean
            } else {
                Outcome::Incomplete
            })
        }
    }
}

/// Completions and man pages from the clap definitions, for packaging.
pub fn generate(dir: &Path) -> anyhow::Result<Outcome> {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let completions = dir.join("completions");
    let man = dir.join("man");
    for d in [&completions, &man] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let mut cmd = super::Cli::command();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd, "soclash", &completions)
            .with_context(|| format!("cannot write {shell} completions"))?;
    }
    clap_mangen::generate_to(cmd, &man).context("cannot write the man pages")?;
    Ok(Outcome::Clean)
}
