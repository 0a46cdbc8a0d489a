//! `soclash apt-hook`: the pre-upgrade what-if inside apt, run from
//! `DPkg::Pre-Install-Pkgs` (protocol version 3, [`soclash::apt_hook`])
//! before dpkg touches anything.
//!
//! A hook that exits non-zero stops apt. That is the point when the
//! upgrade would break the web server, and a disaster when the hook itself
//! is what broke: an administrator who cannot install a security update
//! because an audit tool crashed will remove the tool. So only one answer
//! stops apt, the verdict "introduces" (exit 1); every failure of soclash
//! (unreadable waivers, input it cannot read, a package it cannot unpack,
//! a budget, a panic, a crash or hang of the check) prints a warning and
//! exits 0. The check runs in a child process the hook waits for, so even
//! a crash that no Rust code survives (an abort, a stack overflow, the
//! OOM killer) or a hang past `--timeout` becomes that warning.

use std::io::Write;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use soclash::apt_hook::{self, Transaction};
use soclash::report::verdict::Outcome as Judged;

use super::Outcome;
use super::args::AptHookArgs;
use super::options;

/// The environment variable that skips the hook for one apt run.
pub const BYPASS: &str = "SOCLASH_APT_HOOK";

/// `SOCLASH_APT_HOOK=off` (or `0`, `no`, `false`).
fn bypassed() -> bool {
    std::env::var(BYPASS).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "off" | "0" | "no" | "false"
        )
    })
}

/// What the hook says apart from the verdict: prefixed so it stands out
/// among apt's lines.
fn say(line: &str) {
    eprintln!("soclash: {line}");
}

/// The hook's own failure: apt goes on.
fn let_apt_go_on(why: &str) -> Outcome {
    say(&format!(
        "warning: the pre-upgrade check could not be done ({why}); apt goes on unchecked"
    ));
    Outcome::Clean
}

pub fn apt_hook(args: AptHookArgs) -> Outcome {
    if bypassed() {
        say(&format!(
            "{BYPASS}=off: the pre-upgrade check is skipped for this apt run"
        ));
        return Outcome::Clean;
    }
    if args.inner {
        return inner(args);
    }
    guard(&args)
}

/// Runs the check in a child (`apt-hook --inner`, the same arguments) and
/// turns anything but its exit 0 or 1 into a warning and 0.
fn guard(args: &AptHookArgs) -> Outcome {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        // Without a way to start the child, check in this process: a
        // panic is still caught.
        Err(_) => return inner_guarded(args),
    };
    let mut child = match Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .arg("--inner")
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return let_apt_go_on(&format!("cannot start {}: {e}", exe.display())),
    };
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                stop(&mut child);
                return let_apt_go_on(&format!("no answer after {} s", args.timeout));
            }
            Err(e) => return let_apt_go_on(&format!("cannot wait for the check: {e}")),
        }
    };
    match status.code() {
        Some(0) => Outcome::Clean,
        Some(1) => Outcome::Findings,
        _ => let_apt_go_on(&format!("the check {}", ended(status))),
    }
}

/// How a child that did not answer 0 or 1 ended.
fn ended(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        (None, None) => "ended abnormally".to_string(),
    }
}

/// Ends the child past its time: SIGTERM first, so it removes its
/// temporary directory, then SIGKILL.
fn stop(child: &mut std::process::Child) {
    let pid = rustix::process::Pid::from_child(child);
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The check in this process (the child), its failures turned into
/// a warning and 0.
fn inner(args: AptHookArgs) -> Outcome {
    inner_guarded(&args)
}

fn inner_guarded(args: &AptHookArgs) -> Outcome {
    let args = AptHookArgs {
        root: args.root.clone(),
        fail_on: args.fail_on,
        waivers: args.waivers.clone(),
        timeout: args.timeout,
        inner: true,
    };
    match std::panic::catch_unwind(move || check(args)) {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => let_apt_go_on(&format!("{e:#}")),
        Err(_) => let_apt_go_on("soclash crashed; the panic is above"),
    }
}

/// apt's input: stdin, or the descriptor `APT_HOOK_INFO_FD` names when
/// `DPkg::Tools::Options::CMD::InfoFD` moved it.
fn apt_input() -> anyhow::Result<Transaction> {
    let fd = std::env::var("APT_HOOK_INFO_FD").ok();
    match fd.as_deref().map(str::trim) {
        None | Some("0") | Some("") => Ok(apt_hook::read(std::io::stdin().lock())?),
        Some(n) => {
            let n: u32 = n
                .parse()
                .map_err(|_| anyhow::anyhow!("APT_HOOK_INFO_FD={n:?} is no descriptor"))?;
            let f = std::fs::File::open(format!("/proc/self/fd/{n}"))
                .map_err(|e| anyhow::anyhow!("cannot open APT_HOOK_INFO_FD {n}: {e}"))?;
            Ok(apt_hook::read(std::io::BufReader::new(f))?)
        }
    }
}

fn check(args: AptHookArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let run = options::apt_hook(args)?;
    let t = apt_input()?;
    for line in t.not_modelled() {
        say(&format!("note: {line}"));
    }
    let debs = t.debs();
    let removals = t.removals();
    if debs.is_empty() && removals.is_empty() {
        say("apt unpacks and removes nothing (it only configures): nothing to check");
        return Ok(Outcome::Clean);
    }
    let o = soclash::whatif::overlaid_with_removals(&run.root_dir, &[], &debs, &removals)?;
    let mut report = soclash::whatif::scan_overlay(&run.root, &o, &run.opts, false);
    drop(o);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let applied = run.waivers.apply(&mut report, now);
    for line in applied.expired.iter().chain(&applied.unmatched) {
        say(&format!("waiver {line}"));
    }
    let Some(verdict) = soclash::report::verdict::judge(&report, run.fail_on) else {
        anyhow::bail!("the what-if gave no verdict");
    };
    let what = match (debs.len(), removals.len()) {
        (d, 0) => format!("{d} package{} to unpack", plural(d)),
        (0, r) => format!("{r} package{} to remove", plural(r)),
        (d, r) => format!("{d} package{} to unpack, {r} to remove", plural(d)),
    };
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "soclash: {what} checked in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        verdict.summary
    )?;
    let resolved = report.overlay.as_ref().map_or(0, |o| o.resolved.len());
    if resolved > 0 {
        writeln!(
            err,
            "soclash: it resolves {resolved} finding{}",
            plural(resolved)
        )?;
    }
    if report.audited_nothing() {
        say(&format!(
            "nothing to audit under {}: no httpd, Apache module, PHP extension or Python extension module",
            report.host.root
        ));
    }
    Ok(match verdict.outcome {
        Judged::Nothing => Outcome::Clean,
        Judged::Incomplete => {
            writeln!(
                err,
                "soclash: apt goes on: apt resolved these dependencies itself, so this is soclash's reading of them, not the upgrade's; check with `soclash scan --overlay-deb --ignore-depends` and the .debs under /var/cache/apt/archives, and please report it"
            )?;
            Outcome::Clean
        }
        Judged::Introduces => {
            for key in &verdict.counted {
                let Some(f) = report.findings.iter().find(|f| key.names(f)) else {
                    continue;
                };
                let process = f.process.as_deref().unwrap_or("host");
                writeln!(err, "  {} {} ({process}): {}", f.severity, f.id, f.title)?;
                for object in f.objects.iter().take(4) {
                    writeln!(err, "    {object}")?;
                }
                if !f.remedy.is_empty() {
                    writeln!(err, "    fix: {}", f.remedy)?;
                }
            }
            writeln!(
                err,
                "soclash: apt stops here, before dpkg runs: nothing was installed or removed. \
                 `soclash scan --overlay-deb FILE.deb` shows the whole report; to install anyway, \
                 waive the finding (/etc/soclash/waivers.yaml) or run apt again with {BYPASS}=off"
            )?;
            Outcome::Findings
        }
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
