//! `shell`: runs a program.
//!
//! ## What it does
//! Starts a program with its arguments, waits for it, and records its exit code, standard
//! output (the step's `output`) and standard error.
//!
//! ## Why a list
//! Each element of `run` reaches the program as one argument, whatever a template puts in it, so
//! a value such as `; rm -rf ~` is text, never a command. A single command line runs only with
//! `shell: true`, and then templates are refused in it: values go in through `env`.

use std::process::Stdio;
use std::time::Duration;

use futures::future::{BoxFuture, Either};
use indexmap::IndexMap;
use orchestra_pipeline::{
    ActionSpec, ParamKind, ParamProblem, ParamSpec, is_template, templated_script,
};
use process_wrap::tokio::{ChildWrapper, CommandWrap, KillOnDrop, ProcessGroup};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};

use super::{Action, ActionOutput, Call, Done, Failure};
use crate::event::{RunEvent, Stream};

/// The `shell` action.
pub(super) const ACTION: Action = Action {
    spec: SPEC,
    run: start,
    effects: super::Effects::Changes,
    writes: super::Writes::Always,
};

/// What `shell` takes.
const SPEC: ActionSpec = ActionSpec {
    name: "shell",
    summary: "Runs a program with its arguments and records its exit code and output.",
    example: "id: diff\naction: shell\nrun: [git, diff, \"{{ inputs.base }}...HEAD\"]\nenv: { GIT_PAGER: cat }\ntimeout: 1m\n",
    params: &[
        ParamSpec {
            name: "run",
            kind: ParamKind::Command,
            required: true,
            summary: "The program and its arguments, each a template; or one command line with `shell: true`.",
        },
        ParamSpec {
            name: "shell",
            kind: ParamKind::Bool,
            required: false,
            summary: "Run `run` as one command line through `sh -c`; values reach it only through `env`.",
        },
        ParamSpec {
            name: "cwd",
            kind: ParamKind::Path,
            required: false,
            summary: "The folder to run in, inside the workspace.",
        },
        ParamSpec {
            name: "env",
            kind: ParamKind::TextMap,
            required: false,
            summary: "Environment variables to set, each value a template.",
        },
        ParamSpec {
            name: "stdin",
            kind: ParamKind::Text,
            required: false,
            summary: "Text to write to the program's standard input.",
        },
    ],
    check,
};

fn check(params: &IndexMap<String, Value>) -> Vec<ParamProblem> {
    let shell = params
        .get("shell")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let problem = |param, message: &str, help: &str| {
        vec![ParamProblem {
            param,
            message: message.to_owned(),
            help: Some(help.to_owned()),
        }]
    };
    match params.get("run") {
        Some(Value::String(line)) if shell && is_auto(line) => problem(
            "run",
            "a shell command line cannot be chosen by a model, which could make it run anything",
            "write the command, or drop `shell: true` and let the model choose arguments of a fixed program",
        ),
        Some(Value::String(line)) if !shell && !is_auto(line) => problem(
            "run",
            "a command written as one string runs only with `shell: true`",
            "write it as a list, such as `run: [git, status]`, so that each argument is passed as it is",
        ),
        Some(Value::String(line)) if shell && is_template(line) => problem(
            "run",
            "templates cannot be pasted into a shell command line, where a value could run as a command",
            "pass the value through `env:` (such as `env: { BASE: \"{{ inputs.base }}\" }`) and read it as \"$BASE\"",
        ),
        Some(Value::Array(_)) if shell => problem(
            "shell",
            "`shell: true` runs one command line, but `run` is a list",
            "drop `shell: true` to run the list as a program and its arguments",
        ),
        Some(Value::Array(items)) => {
            let argv: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            match templated_script(&argv) {
                Some(at) => problem(
                    "run",
                    &format!(
                        "`{}` runs argument {} as code, and a template in it could run as a command",
                        argv[0],
                        at + 1
                    ),
                    "pass the value through `env:` and read it in the script as \"$NAME\"",
                ),
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

fn is_auto(text: &str) -> bool {
    orchestra_pipeline::model::auto_instruction(text).is_some()
}

/// How long a program has to stop after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(2);
/// Output is sent to the run's log at most this often, so a chatty program costs few writes.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// How long a program's output may stay open after the program ended (held by something it
/// started in the background) before the rest of its process group is stopped.
const PIPE_GRACE: Duration = Duration::from_secs(2);
/// How much of each stream of a program a step keeps.
const MAX_OUTPUT: usize = 16 << 20;
/// The most output read at once.
const CHUNK: u64 = 64 << 10;

fn start(call: Call<'_>) -> BoxFuture<'_, Result<Done, Failure>> {
    Box::pin(run(call))
}

async fn run(call: Call<'_>) -> Result<Done, Failure> {
    let env = call.env;
    let argv: Vec<String> = match call.params.get("run") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(line)) if call.flag("shell") => {
            vec!["sh".to_owned(), "-c".to_owned(), line.clone()]
        }
        _ => return Err(Failure::fatal("the step has no command to run")),
    };
    let Some((program, arguments)) = argv.split_first() else {
        return Err(Failure::fatal("the command names no program"));
    };
    let cwd = match call.text("cwd") {
        Some(folder) => env
            .workspace()
            .resolve(folder)
            .map_err(|error| Failure::fatal(error.to_string()))?,
        None => env.workspace().root().to_path_buf(),
    };
    let mut command = CommandWrap::with_new(program, |command| {
        command
            .args(arguments)
            .current_dir(&cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command.stdin(if call.params.contains_key("stdin") {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        if let Some(Value::Object(vars)) = call.params.get("env") {
            for (name, value) in vars {
                command.env(name, value.as_str().unwrap_or_default());
            }
        }
    });
    // A group of its own, so that stopping the step stops every process it started.
    command.wrap(ProcessGroup::leader()).wrap(KillOnDrop);
    let spawned = command
        .spawn()
        .map_err(|error| spawn_failure(program, &cwd, &error))?;
    let mut running = Running(Some(spawned));
    let outcome = {
        let Some(child) = running.0.as_mut() else {
            return Err(Failure::fatal("the program did not start"));
        };
        if let Some(mut stdin) = child.stdin().take() {
            let text = call.text("stdin").unwrap_or_default().to_owned();
            tokio::spawn(async move {
                // A program that exits without reading its input closes the pipe; that is not an
                // error of the step.
                let _ = stdin.write_all(text.as_bytes()).await;
            });
        }
        let stdout = child.stdout().take();
        let stderr = child.stderr().take();
        call.bounded(async {
            let mut streams = Box::pin(async {
                tokio::join!(
                    collect(&call, stdout, Stream::Stdout),
                    collect(&call, stderr, Stream::Stderr)
                )
            });
            let mut wait = child.wait();
            match futures::future::select(&mut streams, &mut wait).await {
                Either::Left((streams, _)) => (streams, wait.await),
                Either::Right((status, _)) => {
                    drop(wait);
                    // The program ended, but something it started in the background may still
                    // hold its output open: a moment to finish writing, then the group goes.
                    let read =
                        if let Ok(read) = tokio::time::timeout(PIPE_GRACE, &mut streams).await {
                            read
                        } else {
                            let _ = child.start_kill();
                            streams.await
                        };
                    (read, status)
                }
            }
        })
        .await
    };
    let ((stdout, stderr), status) = match outcome {
        Ok(done) => {
            running.0 = None;
            done
        }
        Err(failure) => {
            if let Some(mut child) = running.0.take() {
                stop(child.as_mut()).await;
            }
            return Err(failure);
        }
    };
    let stdout = stdout?;
    let stderr = stderr?;
    let status = status
        .map_err(|error| Failure::retryable(format!("waiting for `{program}` failed: {error}")))?;
    let exit_code = status.code();
    let output = ActionOutput {
        output: Value::String(stdout),
        exit_code: Some(exit_code.unwrap_or(-1)),
        stderr: Some(stderr.clone()),
        ..ActionOutput::default()
    };
    match exit_code {
        Some(0) => Ok(Done::Output(output)),
        Some(code) => {
            let tail = last_line(&stderr)
                .map(|line| format!(": {line}"))
                .unwrap_or_default();
            Err(
                Failure::retryable(format!("`{program}` exited with status {code}{tail}"))
                    .with_output(output),
            )
        }
        None => Err(
            Failure::retryable(format!("`{program}` was stopped by a signal")).with_output(output),
        ),
    }
}

/// Reads a stream to its end, exactly as the program wrote it, sending it to the run's log in
/// chunks as it comes. Past [`MAX_OUTPUT`] bytes the rest is read but not kept, and the output
/// says so.
async fn collect(
    call: &Call<'_>,
    stream: Option<impl AsyncRead + Unpin>,
    kind: Stream,
) -> Result<String, Failure> {
    let Some(stream) = stream else {
        return Ok(String::new());
    };
    let mut reader = BufReader::new(stream);
    let mut all = String::new();
    let mut pending = String::new();
    let mut dropped = 0_usize;
    let mut last_flush = tokio::time::Instant::now();
    let mut line = Vec::new();
    loop {
        // A line, or a piece of a very long one: memory stays bounded whatever the program
        // writes.
        let read = (&mut reader)
            .take(CHUNK)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|error| {
                Failure::retryable(format!("reading the program's output failed: {error}"))
            })?;
        if read == 0 && line.is_empty() {
            break;
        }
        // A piece cut inside a character keeps the character's first bytes for the next piece.
        let whole = if read == 0 {
            line.len()
        } else {
            complete_prefix(&line)
        };
        let text = String::from_utf8_lossy(&line[..whole]).into_owned();
        line.drain(..whole);
        if all.len() + text.len() > MAX_OUTPUT {
            dropped += text.len();
        } else {
            all.push_str(&text);
            pending.push_str(&text);
        }
        if !pending.is_empty() && last_flush.elapsed() >= FLUSH_EVERY {
            call.env.emit(RunEvent::OutputChunk {
                step: call.step.clone(),
                stream: kind,
                text: std::mem::take(&mut pending),
            })?;
            last_flush = tokio::time::Instant::now();
        }
    }
    if dropped > 0 {
        let note = format!(
            "\n[orchestra: {dropped} more bytes of output were not kept; a step keeps at most {} MiB]\n",
            MAX_OUTPUT >> 20
        );
        all.push_str(&note);
        pending.push_str(&note);
    }
    if !pending.is_empty() {
        call.env.emit(RunEvent::OutputChunk {
            step: call.step.clone(),
            stream: kind,
            text: pending,
        })?;
    }
    Ok(all)
}

/// How many leading bytes of `bytes` hold whole characters: all of them, unless it ends inside a
/// UTF-8 character (at most three bytes short). Bytes that are not UTF-8 at all count as whole;
/// they are shown as replacement characters.
fn complete_prefix(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Err(error) if error.error_len().is_none() => error.valid_up_to(),
        Ok(_) | Err(_) => bytes.len(),
    }
}

/// Stops a program and everything it started: SIGTERM to the group, a moment for the program
/// to exit, then SIGKILL to whatever is left of the group (a child that ignores SIGTERM).
async fn stop(child: &mut dyn ChildWrapper) {
    const SIGTERM: i32 = 15;
    let _ = child.signal(SIGTERM);
    let exited = tokio::time::timeout(GRACE, child.wait()).await.is_ok();
    let _ = child.start_kill();
    if !exited {
        let _ = child.wait().await;
    }
}

/// A started program. If the step's future is dropped before the program ended (the run's runtime
/// shutting down), the whole process group is killed; the normal paths stop it gracefully first.
struct Running(Option<Box<dyn ChildWrapper>>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.start_kill();
        }
    }
}

fn spawn_failure(program: &str, cwd: &std::path::Path, error: &std::io::Error) -> Failure {
    match error.kind() {
        std::io::ErrorKind::NotFound if !cwd.exists() => {
            Failure::fatal(format!("the folder `{}` does not exist", cwd.display()))
        }
        std::io::ErrorKind::NotFound => Failure::fatal(format!("program `{program}` not found")),
        std::io::ErrorKind::PermissionDenied => Failure::fatal(format!(
            "program `{program}` cannot be run: permission denied"
        )),
        _ => Failure::retryable(format!("program `{program}` could not start: {error}")),
    }
}

fn last_line(text: &str) -> Option<&str> {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
}
