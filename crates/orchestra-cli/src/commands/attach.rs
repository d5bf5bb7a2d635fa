//! `orchestra attach`: take part in a run's conversation from a terminal.
//!
//! Shows the conversation of an interactive agent step so far, then takes the person's turns: a
//! message goes to the model (its reply streams back), `/done` ends the conversation with the
//! last reply as the step's output, `/reject` rejects the step, and `/approve` or `/reject`
//! answer a tool call an agent waits to make. Each turn is recorded before the run goes on, so
//! leaving (end of input, Ctrl-C) or a crash loses nothing: attaching again goes on where it was.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orchestra_api::{
    ApiError, Finished, Message, ModelMode, Project, RunEvent, RunState, RunStatus, StepKey,
    Stream, WaitingFor,
};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::run::{outcome, report_error, stored_run_project};
use crate::Outcome;
use crate::progress::sanitize;

/// How often a run that another process drives is looked at again.
const POLL: Duration = Duration::from_millis(300);

/// What the person can type besides a message.
const HELP: &str = "type a message and press Enter; /done accepts the last reply as the step's output; /reject [why] rejects the step; when a tool call waits, /approve or /reject [why] answer it; Ctrl-D leaves (the run waits)";

/// A person's turn, as typed.
#[derive(Debug, PartialEq, Eq)]
enum Turn {
    /// A message for the model.
    Say(String),
    /// End the conversation: its last reply is the step's output.
    Done,
    /// Approve the tool call that waits.
    Approve(Option<String>),
    /// Reject the tool call that waits, or the step.
    Reject(Option<String>),
    /// Show what can be typed.
    Help,
    /// Nothing typed.
    Nothing,
    /// A command that does not exist.
    Unknown(String),
}

impl Turn {
    fn parse(line: &str) -> Self {
        let line = line.trim();
        let Some(command) = line.strip_prefix('/') else {
            return if line.is_empty() {
                Self::Nothing
            } else {
                Self::Say(line.to_owned())
            };
        };
        let (name, rest) = command.split_once(' ').unwrap_or((command, ""));
        let rest = Some(rest.trim().to_owned()).filter(|rest| !rest.is_empty());
        match name {
            "done" => Self::Done,
            "approve" => Self::Approve(rest),
            "reject" => Self::Reject(rest),
            "help" => Self::Help,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

/// Takes part in run `run_id`'s conversation until the run ends or the person leaves.
pub fn run(
    run_id: &str,
    step: Option<&str>,
    models: &ModelMode,
    global_dir: Option<&Path>,
) -> Outcome {
    let project = match stored_run_project(models, global_dir) {
        Ok(project) => project,
        Err(outcome) => return outcome,
    };
    let run_id = match project.store().run(run_id) {
        Ok(row) => row.id,
        Err(error) => return report_error(&ApiError::from(error)),
    };
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(outcome) => return outcome,
    };
    let lines = read_lines();
    let printer = Arc::new(Printer::default());
    let shown = Arc::clone(&printer);
    project.subscribe(Arc::new(move |_, _, event| shown.event(event)));
    Attached {
        project: &project,
        runtime: &runtime,
        run_id: &run_id,
        step,
        printer: &printer,
    }
    .converse(lines)
}

/// One attached terminal.
struct Attached<'a> {
    project: &'a Project,
    runtime: &'a Runtime,
    run_id: &'a str,
    step: Option<&'a str>,
    printer: &'a Printer,
}

impl Attached<'_> {
    fn converse(&self, mut lines: mpsc::UnboundedReceiver<String>) -> Outcome {
        let mut shown_history = false;
        loop {
            let row = match self.project.store().run(self.run_id) {
                Ok(row) => row,
                Err(error) => return report_error(&ApiError::from(error)),
            };
            if row.status == RunStatus::Running && self.project.store().owned_elsewhere(&row) {
                // Another process drives the run (its model is answering): wait for it to pause.
                std::thread::sleep(POLL);
                continue;
            }
            let state = match self.project.state(self.run_id) {
                Ok(state) => state,
                Err(error) => return report_error(&error),
            };
            let waiting = match self.waiting_step(&state) {
                Ok(waiting) => waiting,
                Err(outcome) => return outcome,
            };
            if !shown_history {
                shown_history = true;
                if let Some(key) = self.show_history(&state, waiting.as_ref()) {
                    self.printer.follow(&key);
                }
            }
            let Some((key, kind)) = waiting else {
                if row.status == RunStatus::Interrupted {
                    anstream::println!("run {} was interrupted; resuming it", self.run_id);
                    let resumed = self.drive(|cancel| self.project.resume(self.run_id, cancel));
                    match resumed {
                        Ok(_) => continue,
                        Err(error) => return report_error(&error),
                    }
                }
                return self.over(row.status);
            };
            let prompt = match kind {
                WaitingFor::Reply => "you> ".to_owned(),
                WaitingFor::Approval => {
                    // Lines typed while the model was answering are not taken as an answer to a
                    // question the person has not seen yet.
                    while lines.try_recv().is_ok() {}
                    let message = state
                        .waiting
                        .get(&key)
                        .map(|waiting| waiting.message.clone())
                        .unwrap_or_default();
                    anstream::println!("{key}: {}", sanitize(&message));
                    "/approve or /reject [why]> ".to_owned()
                }
            };
            anstream::print!("{prompt}");
            let _ = std::io::stdout().flush();
            let Some(line) = self.runtime.block_on(next_line(&mut lines)) else {
                anstream::println!();
                anstream::println!(
                    "left the conversation; run {} waits: `orchestra attach {}` goes on with it",
                    self.run_id,
                    self.run_id
                );
                return Outcome::Paused;
            };
            self.printer.follow(&key);
            let step = key.as_str();
            let answered = match (Turn::parse(&line), kind) {
                (Turn::Nothing, _) => continue,
                (Turn::Help, _) => {
                    anstream::println!("{HELP}");
                    continue;
                }
                (Turn::Unknown(command), _) => {
                    anstream::println!("there is no /{command}; {HELP}");
                    continue;
                }
                (Turn::Say(_) | Turn::Done, WaitingFor::Approval) => {
                    anstream::println!(
                        "a tool call waits for your answer: /approve, or /reject followed by why"
                    );
                    continue;
                }
                (Turn::Approve(_), WaitingFor::Reply) => {
                    anstream::println!(
                        "no tool call waits for approval; /done ends the conversation"
                    );
                    continue;
                }
                (Turn::Say(text), WaitingFor::Reply) => {
                    self.drive(|cancel| self.project.reply(self.run_id, step, text, cancel))
                }
                (Turn::Done, WaitingFor::Reply) => {
                    self.drive(|cancel| self.project.approve(self.run_id, step, true, None, cancel))
                }
                (Turn::Approve(comment), WaitingFor::Approval) => self.drive(|cancel| {
                    self.project
                        .approve(self.run_id, step, true, comment, cancel)
                }),
                (Turn::Reject(comment), _) => self.drive(|cancel| {
                    self.project
                        .approve(self.run_id, step, false, comment, cancel)
                }),
            };
            if let Err(error) = answered {
                return report_error(&error);
            }
        }
    }

    /// The step the person takes part in: the one named, or the only one that waits. `None`
    /// when nothing waits (the run is over, interrupted, or waits on nothing of a person).
    fn waiting_step(&self, state: &RunState) -> Result<Option<(StepKey, WaitingFor)>, Outcome> {
        let mut waiting: Vec<(&StepKey, WaitingFor)> = state
            .waiting
            .iter()
            .filter(|(key, _)| {
                self.step
                    .is_none_or(|step| key.as_str() == step || key.id() == step)
            })
            .map(|(key, waiting)| (key, waiting.kind))
            .collect();
        waiting.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        match waiting.as_slice() {
            [] => Ok(None),
            [(key, kind)] => Ok(Some(((*key).clone(), *kind))),
            many => {
                let names: Vec<String> = many.iter().map(|(key, _)| format!("`{key}`")).collect();
                anstream::eprintln!(
                    "error: more than one step of run {} waits for a person: {}; choose one with `--step`",
                    self.run_id,
                    names.join(", ")
                );
                Err(Outcome::Unusable)
            }
        }
    }

    /// Prints the conversation so far of the step that waits, or of the one named, or of the
    /// only one still going (a run that was interrupted waits for nothing).
    /// Returns the step whose conversation it is.
    fn show_history(
        &self,
        state: &RunState,
        waiting: Option<&(StepKey, WaitingFor)>,
    ) -> Option<StepKey> {
        let going: Vec<&StepKey> = state
            .conversations
            .keys()
            .filter(|key| match self.step {
                Some(step) => key.as_str() == step || key.id() == step,
                None => !state.status(key).is_terminal(),
            })
            .collect();
        let key = match (waiting, going.as_slice()) {
            (Some((key, _)), _) => key.clone(),
            (None, [only]) => (*only).clone(),
            _ => return None,
        };
        let messages = &state.conversations.get(&key)?.messages;
        anstream::println!("── conversation of `{key}` in run {} ──", self.run_id);
        for (at, message) in messages.iter().enumerate() {
            match message {
                Message::User { text } if at == 0 => print_block("task", text),
                Message::User { text } => print_block("you", text),
                Message::Assistant { text, tool_calls } => {
                    if !text.is_empty() {
                        print_block(key.id(), text);
                    }
                    for call in tool_calls {
                        anstream::println!("  → {} {}", sanitize(&call.name), call.arguments);
                    }
                }
                Message::Tool {
                    name,
                    content,
                    is_error,
                    ..
                } => print_tool_result(name, content, *is_error),
            }
        }
        anstream::println!("({HELP})");
        Some(key)
    }

    /// Runs `turn` (an answer, then the run going on) with the reply streaming, and Ctrl-C
    /// stopping the run; what finished is kept.
    fn drive<'p, F>(&self, turn: impl FnOnce(CancellationToken) -> F) -> Result<Finished, ApiError>
    where
        F: Future<Output = Result<Finished, ApiError>> + 'p,
    {
        let cancel = CancellationToken::new();
        let finished = self.runtime.block_on(async {
            let on_interrupt = cancel.clone();
            let watcher = tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    anstream::eprintln!("stopping: what finished is kept");
                    on_interrupt.cancel();
                }
            });
            let finished = turn(cancel).await;
            watcher.abort();
            finished
        });
        self.printer.end_reply();
        finished
    }

    /// Says how the run stands when nothing waits for the person, and exits as `run` would.
    fn over(&self, status: RunStatus) -> Outcome {
        let status_line = match status {
            RunStatus::Waiting => format!(
                "run {} waits, but not for a conversation: see `orchestra show {}`",
                self.run_id, self.run_id
            ),
            RunStatus::Failed | RunStatus::Cancelled => format!(
                "run {} {}; `orchestra resume {}` continues it",
                self.run_id,
                status.as_str(),
                self.run_id
            ),
            _ => format!("run {} {}", self.run_id, status.as_str()),
        };
        if let Ok(overview) = self.project.overview(self.run_id) {
            super::run::print_overview(&overview);
        }
        anstream::println!("{status_line}");
        outcome(status)
    }
}

/// Streams the replies of the step a person talks to as the run goes on: the model's text as it
/// comes, and its tool calls (other steps' output is left to `orchestra show`).
#[derive(Default)]
struct Printer {
    /// Whether a reply is being printed (so the next line starts on a new one).
    replying: Mutex<bool>,
    /// The step the person talks to.
    step: Mutex<Option<StepKey>>,
}

impl Printer {
    fn follow(&self, step: &StepKey) {
        if let Ok(mut followed) = self.step.lock() {
            *followed = Some(step.clone());
        }
    }

    fn event(&self, event: &RunEvent) {
        let followed = self.step.lock().ok().and_then(|step| step.clone());
        if event
            .step()
            .is_some_and(|step| Some(step) != followed.as_ref())
        {
            return;
        }
        let Ok(mut replying) = self.replying.lock() else {
            return;
        };
        match event {
            RunEvent::OutputChunk {
                step,
                text,
                stream: Stream::Text,
            } => {
                if !*replying {
                    anstream::print!("{}> ", step.id());
                    *replying = true;
                }
                let lines: Vec<String> = text.split('\n').map(sanitize).collect();
                anstream::print!("{}", lines.join("\n"));
                let _ = std::io::stdout().flush();
            }
            RunEvent::ToolCalled { call, .. } => {
                end_line(&mut replying);
                anstream::println!("  → {} {}", sanitize(&call.name), call.arguments);
            }
            RunEvent::ToolReturned {
                name,
                content,
                is_error,
                ..
            } => print_tool_result(name, content, *is_error),
            RunEvent::ConversationMessage {
                message: Message::Assistant { .. },
                ..
            }
            | RunEvent::StepFinished { .. }
            | RunEvent::AttemptFailed { .. } => end_line(&mut replying),
            _ => {}
        }
    }

    /// Ends a reply that is still on its line.
    fn end_reply(&self) {
        if let Ok(mut replying) = self.replying.lock() {
            end_line(&mut replying);
        }
    }
}

fn end_line(replying: &mut bool) {
    if *replying {
        anstream::println!();
        *replying = false;
    }
}

/// A message of the conversation, under who wrote it.
fn print_block(who: &str, text: &str) {
    let mut lines = text.lines();
    anstream::println!("{who}> {}", sanitize(lines.next().unwrap_or_default()));
    for line in lines {
        anstream::println!("  {}", sanitize(line));
    }
}

/// What a tool returned, in brief.
fn print_tool_result(name: &str, content: &str, is_error: bool) {
    if is_error {
        anstream::println!(
            "  ← {} failed: {}",
            sanitize(name),
            sanitize(content.lines().next().unwrap_or_default())
        );
    } else {
        anstream::println!("  ← {} returned {} bytes", sanitize(name), content.len());
    }
}

/// The lines typed on standard input, read on their own thread so that waiting for one never
/// blocks the run (and the end of input is seen as the channel closing).
fn read_lines() -> mpsc::UnboundedReceiver<String> {
    let (sender, receiver) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut line = String::new();
        loop {
            line.clear();
            match stdin.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if sender.send(line.clone()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    receiver
}

/// The next line typed, or `None` when input ends or the person presses Ctrl-C.
async fn next_line(lines: &mut mpsc::UnboundedReceiver<String>) -> Option<String> {
    tokio::select! {
        line = lines.recv() => line,
        _ = tokio::signal::ctrl_c() => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Turn;

    #[test]
    fn a_line_is_a_message_or_a_command() {
        assert_eq!(
            Turn::parse("shorter, please\n"),
            Turn::Say("shorter, please".to_owned())
        );
        assert_eq!(Turn::parse("/done"), Turn::Done);
        assert_eq!(
            Turn::parse("/approve looks safe"),
            Turn::Approve(Some("looks safe".to_owned()))
        );
        assert_eq!(
            Turn::parse("/reject  not that file "),
            Turn::Reject(Some("not that file".to_owned())),
            "the reason is what follows the command, trimmed"
        );
        assert_eq!(Turn::parse("   "), Turn::Nothing);
        assert_eq!(Turn::parse("/quit"), Turn::Unknown("quit".to_owned()));
    }
}
