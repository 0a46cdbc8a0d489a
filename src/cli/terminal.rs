//! What the binary asks of the terminal: the table's width and colour, and
//! the spinner a person sees while a scan runs. The library only gets the
//! answers (`TableStyle`), so its writers stay pure.

use std::io::{self, IsTerminal};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::ProgressBar;
use soclash::report::TableStyle;

/// The table's width and colour: the terminal's width (or `COLUMNS`,
/// else 120 columns off a terminal), colour only on a terminal that is not
/// `dumb` and without `NO_COLOR` (https://no-color.org). `to_terminal`:
/// the table goes to standard output and that is a terminal.
pub fn table_style(to_terminal: bool, verbose: bool) -> TableStyle {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let columns = env("COLUMNS").and_then(|c| c.parse::<u16>().ok());
    let width = to_terminal
        .then(terminal_width)
        .flatten()
        .or(columns)
        .unwrap_or(120)
        .max(40);
    TableStyle {
        width,
        colour: to_terminal && env("NO_COLOR").is_none() && env("TERM").as_deref() != Some("dumb"),
        verbose,
    }
}

/// Standard output's terminal width (`TIOCGWINSZ`), when it is a terminal.
fn terminal_width() -> Option<u16> {
    let size = rustix::termios::tcgetwinsize(io::stdout()).ok()?;
    (size.ws_col > 0).then_some(size.ws_col)
}

/// A spinner on stderr, only when stderr is a terminal and the work has
/// taken more than half a second (a quick scan leaves the terminal
/// untouched); stdout carries nothing but the report. Cleared when
/// dropped, also when the work ends in an error.
///
/// indicatif draws and ticks the spinner (`enable_steady_tick`) but has
/// no delay before showing it, so one timer thread waits for the delay on
/// a channel: the `Progress` dropping its end wakes it at once, so nothing
/// polls, and only if the delay passes first does it create the spinner.
/// The thread hands the spinner back through its join handle, so the drop
/// that ends the wait is also what clears it, with no state shared.
pub struct Progress {
    stop: Option<mpsc::Sender<()>>,
    timer: Option<JoinHandle<Option<ProgressBar>>>,
}

/// How long the work runs before the spinner appears.
const SHOW_AFTER: Duration = Duration::from_millis(500);
/// The spinner's frame interval.
const TICK: Duration = Duration::from_millis(80);

impl Progress {
    pub fn start(message: &'static str) -> Progress {
        if !io::stderr().is_terminal() {
            return Progress {
                stop: None,
                timer: None,
            };
        }
        let (stop, stopped) = mpsc::channel::<()>();
        // Without the thread (it could not start) there is no spinner; the
        // scan goes on.
        let timer = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(SHOW_AFTER) else {
                    return None;
                };
                let bar = ProgressBar::new_spinner().with_message(message);
                bar.enable_steady_tick(TICK);
                Some(bar)
            })
            .ok();
        Progress {
            stop: Some(stop),
            timer,
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(Ok(Some(bar))) = self.timer.take().map(JoinHandle::join) {
            bar.finish_and_clear();
        }
    }
}
