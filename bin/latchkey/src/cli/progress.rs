//! Progress of a wait on standard error: a spinner (indicatif) with the states seen so far
//! on a terminal, one plain line per state change otherwise (logs, pipes, CI). Standard
//! output stays for the result.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

const TICK: Duration = Duration::from_millis(100);

/// What a wait shows: a task (`registering session 0x12…`), then the states it passes
/// through, each with an optional detail (a transaction hash).
#[derive(Debug)]
pub(crate) struct Progress {
    task: String,
    states: Vec<String>,
    detail: Option<String>,
    started: Instant,
    spinner: Option<ProgressBar>,
}

impl Progress {
    /// Starts showing `task`: a spinner when standard error is a terminal.
    pub(crate) fn start(task: impl Into<String>) -> Self {
        let task = task.into();
        let interactive = std::io::stderr().is_terminal()
            && std::env::var("TERM").map_or(true, |term| term != "dumb");
        let spinner = interactive.then(|| spinner(&task));
        Self { task, states: Vec::new(), detail: None, started: Instant::now(), spinner }
    }

    /// Records the current state; a change is shown (a new plain line, or the spinner's
    /// message), a repeat is not.
    pub(crate) fn state(&mut self, state: &str, detail: Option<&str>) {
        let detail_changed = detail.is_some() && detail != self.detail.as_deref();
        if self.states.last().map(String::as_str) == Some(state) && !detail_changed {
            return;
        }
        if let Some(detail) = detail {
            self.detail = Some(detail.to_string());
        }
        if self.states.last().map(String::as_str) != Some(state) {
            self.states.push(state.to_string());
        }
        match &self.spinner {
            Some(spinner) => spinner.set_message(self.line()),
            None => eprintln!("{}", plain_line(&self.task, state, detail)),
        }
    }

    /// Stops the spinner and leaves one summary line on a terminal (the plain lines
    /// already said everything otherwise).
    pub(crate) fn finish(mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
            eprintln!("{} ({:.1}s)", self.line(), self.started.elapsed().as_secs_f64());
        }
    }

    /// Stops the spinner without a summary (an error follows).
    pub(crate) fn abandon(mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }

    /// `task: recorded → submitted → succeeded (0xhash)`.
    fn line(&self) -> String {
        let mut line = self.task.clone();
        if !self.states.is_empty() {
            line.push_str(": ");
            line.push_str(&self.states.join(" → "));
        }
        if let Some(detail) = &self.detail {
            line.push_str(&format!(" ({detail})"));
        }
        line
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }
}

fn plain_line(task: &str, state: &str, detail: Option<&str>) -> String {
    match detail {
        Some(detail) => format!("{task}: {state} ({detail})"),
        None => format!("{task}: {state}"),
    }
}

/// A spinner on standard error, redrawn every tick with the seconds elapsed.
fn spinner(task: &str) -> ProgressBar {
    let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    // The template is a constant; a bad one would fall back to indicatif's default.
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        spinner.set_style(style);
    }
    spinner.set_message(task.to_string());
    spinner.enable_steady_tick(TICK);
    spinner
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn states_accumulate_and_repeats_are_ignored() {
        let mut progress = Progress {
            task: "registering session 0x12".into(),
            states: Vec::new(),
            detail: None,
            started: Instant::now(),
            spinner: None,
        };
        progress.state("submitted", Some("0xabc"));
        progress.state("submitted", None);
        progress.state("succeeded", None);
        assert_eq!(progress.states, ["submitted", "succeeded"]);
        assert_eq!(progress.line(), "registering session 0x12: submitted → succeeded (0xabc)");
        assert_eq!(plain_line("t", "submitted", Some("0xabc")), "t: submitted (0xabc)");
        assert_eq!(plain_line("t", "succeeded", None), "t: succeeded");
        progress.finish();
    }
}
