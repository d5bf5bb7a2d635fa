//! Progress of a run on the terminal: a line per step as it starts and ends, and a bar for the
//! whole run when the output is a terminal; plain lines otherwise (for CI logs).

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use orchestra_api::{RunEvent, StepStatus, human_duration, short_commit};

/// Prints a run's events as they are committed.
pub struct Progress {
    bar: Option<ProgressBar>,
    verbose: bool,
    finished: Mutex<usize>,
}

impl Progress {
    /// Progress for a run of `total` top-level steps; `verbose` streams the steps' output too.
    pub fn new(total: usize, verbose: bool) -> Arc<Self> {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} steps · {elapsed}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Arc::new(Self {
            bar,
            verbose,
            finished: Mutex::new(0),
        })
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => anstream::eprintln!("{text}"),
        }
    }

    /// Shows one event.
    pub fn event(&self, event: &RunEvent) {
        let depth = |key: &str| "  ".repeat(key.matches('/').count() + 1);
        match event {
            RunEvent::StepStarted { step, attempt, .. } if *attempt > 1 => {
                self.line(&format!(
                    "{}↻ {step}: attempt {attempt}",
                    depth(step.as_str())
                ));
            }
            RunEvent::StepStarted { step, .. } => {
                self.line(&format!("{}▶ {step}", depth(step.as_str())));
            }
            RunEvent::AttemptFailed {
                step,
                error,
                retry_in_ms: Some(wait),
                ..
            } => {
                self.line(&format!(
                    "{}! {step}: {}; retrying in {}",
                    depth(step.as_str()),
                    first_line(error),
                    human_duration(*wait)
                ));
            }
            RunEvent::OutputChunk { step, text, .. } if self.verbose => {
                for line in text.lines() {
                    self.line(&format!("{}│ {}", depth(step.as_str()), sanitize(line)));
                }
            }
            RunEvent::ModelPrepared { step, prepared } if self.verbose => {
                self.line(&format!(
                    "{}  {step} asks {}",
                    depth(step.as_str()),
                    sanitize(&prepared.model)
                ));
            }
            RunEvent::ToolCalled { step, call } => {
                self.line(&format!(
                    "{}⚙ {step} calls {} {}",
                    depth(step.as_str()),
                    sanitize(&call.name),
                    first_line(&call.arguments.to_string())
                ));
            }
            RunEvent::ToolReturned {
                step,
                name,
                content,
                is_error: true,
                ..
            } => {
                self.line(&format!(
                    "{}! {step}: {} failed: {}",
                    depth(step.as_str()),
                    sanitize(name),
                    first_line(content)
                ));
            }
            RunEvent::WaitingForApproval { step, message, .. } => {
                self.line(&format!(
                    "{}⏸ {step} waits for approval: {}",
                    depth(step.as_str()),
                    first_line(message)
                ));
            }
            RunEvent::AutoResolved { answers } => {
                for answer in answers {
                    self.line(&format!(
                        "  <AUTO> {}.{} = {} ({})",
                        answer.step,
                        answer.param,
                        sanitize(&answer.value.to_string()),
                        sanitize(&answer.source)
                    ));
                }
            }
            RunEvent::RepositoryOpened { repo } => {
                self.line(&format!(
                    "  ⎇ works on the branch {} from {} of {}",
                    sanitize(&repo.branch),
                    short_commit(&repo.base),
                    sanitize(&repo.path)
                ));
                if !repo.dirty.is_empty() {
                    self.line(&format!(
                        "  note: {} has {} uncommitted changes ({}); the run starts from the commit {} and does not see them",
                        sanitize(&repo.path),
                        repo.dirty.len(),
                        sanitize(&repo.dirty.iter().take(3).cloned().collect::<Vec<_>>().join(", ")),
                        short_commit(&repo.base)
                    ));
                }
            }
            RunEvent::WorktreeForked { step, branch, .. } => {
                self.line(&format!(
                    "{}⎇ {step} works in a worktree of its own ({})",
                    depth(step.as_str()),
                    sanitize(branch)
                ));
            }
            RunEvent::Merged { step, from, commit } => {
                let before = if step == from {
                    String::new()
                } else {
                    format!(" before {step}")
                };
                self.line(&format!(
                    "{}⎇ merged the work of {from}{before} ({})",
                    depth(step.as_str()),
                    short_commit(commit)
                ));
            }
            RunEvent::MergeConflicted {
                step, from, paths, ..
            } => {
                self.line(&format!(
                    "{}! the work of {from} conflicts in {}; {step} resolves it",
                    depth(step.as_str()),
                    sanitize(&paths.join(", "))
                ));
            }
            RunEvent::WaitingForMessage { step } => {
                self.line(&format!(
                    "{}⏸ {step} waits for your reply (orchestra attach)",
                    depth(step.as_str())
                ));
            }
            RunEvent::StepFinished { step, result } => {
                let (mark, note) = match result.status {
                    StepStatus::Succeeded if result.reused_from.is_some() => {
                        ("✓", " (reused)".to_owned())
                    }
                    StepStatus::Succeeded => ("✓", String::new()),
                    StepStatus::Skipped => (
                        "↷",
                        result
                            .skipped
                            .map(|reason| format!(" skipped ({})", reason.describe()))
                            .unwrap_or_default(),
                    ),
                    StepStatus::Cancelled => ("■", " cancelled".to_owned()),
                    _ => (
                        "✗",
                        format!(
                            " failed: {}",
                            first_line(result.error.as_deref().unwrap_or_default())
                        ),
                    ),
                };
                self.line(&format!(
                    "{}{mark} {step}{note} · {}",
                    depth(step.as_str()),
                    human_duration(result.duration_ms)
                ));
                if !step.as_str().contains('/')
                    && let Ok(mut finished) = self.finished.lock()
                {
                    *finished += 1;
                    if let Some(bar) = &self.bar {
                        bar.set_position(*finished as u64);
                    }
                }
            }
            RunEvent::RouteTaken {
                from,
                to,
                count,
                reset,
                ..
            } if !reset.is_empty() => {
                self.line(&format!(
                    "{}⟲ {from} sent the run back to {to} (time {count})",
                    depth(from.as_str())
                ));
            }
            _ => {}
        }
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn first_line(text: &str) -> String {
    sanitize(text.lines().next().unwrap_or_default())
}

/// Lines of text, each with its control characters escaped, line breaks kept.
pub fn sanitize_lines(text: &str) -> String {
    text.lines().map(sanitize).collect::<Vec<_>>().join("\n")
}

/// Text from a run, with control characters escaped so that it cannot drive the terminal.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}
