//! A project in a temporary folder, with helpers to write pipelines, run them for real and read
//! what they did. Every run goes through the real engine, the real `SQLite` store and real
//! programs.

#![allow(dead_code)] // Each test file uses part of the harness.

pub mod llm;

use std::path::{Path, PathBuf};
use std::time::Duration;

use orchestra_api::{Finished, PipelineResult, Project, RunStatus, StartOptions, StepStatus};
use serde_json::{Map, Value};

/// A project in a temporary folder. Its pipelines work in the folder itself
/// (`workspace: { root: . }`), so tests can read the files steps leave behind.
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub project: Project,
}

impl Lab {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary project folder");
        std::fs::create_dir(dir.path().join(".orchestra")).expect("the project marker");
        let project = Project::open(dir.path(), Some(dir.path().join("global")))
            .expect("a project opens in an empty folder");
        Self { dir, project }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes a pipeline with id `id`: `body` holds its top-level keys after the header.
    pub fn pipeline(&self, id: &str, body: &str) -> PathBuf {
        let file = self.path(&format!("{id}.yaml"));
        let text = format!("orchestra: 1\nid: {id}\nworkspace:\n  root: .\n{body}");
        std::fs::write(&file, text).expect("write the pipeline");
        file
    }

    /// Runs a pipeline file and returns how it ended and what it did.
    pub async fn run(&self, file: &Path, inputs: &[(&str, Value)]) -> (Finished, PipelineResult) {
        self.start(file, options(inputs)).await
    }

    pub async fn start(&self, file: &Path, options: StartOptions) -> (Finished, PipelineResult) {
        let finished = match self.project.start(file, options).await {
            Ok(finished) => finished,
            Err(orchestra_api::ApiError::Invalid(report)) => panic!(
                "the test pipeline is invalid: {:?}",
                report
                    .diagnostics
                    .iter()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>()
            ),
            Err(error) => panic!("the run could not start: {error}"),
        };
        let result = self.result(&finished.run_id);
        (finished, result)
    }

    pub fn result(&self, run: &str) -> PipelineResult {
        self.project
            .result(run)
            .unwrap_or_else(|error| panic!("the run's result cannot be read: {error}"))
    }

    /// How many runs the project's store holds.
    pub fn result_count(&self) -> usize {
        self.project.runs(usize::MAX).map_or_else(
            |error| panic!("the runs cannot be listed: {error}"),
            |runs| runs.len(),
        )
    }

    /// The lines of a file the steps wrote, or none when it does not exist.
    pub fn lines(&self, relative: &str) -> Vec<String> {
        std::fs::read_to_string(self.path(relative))
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Asserts that the process whose id a step wrote to `child.pid` is gone within a few
    /// seconds: it was stopped with its step's process group.
    pub async fn assert_child_gone(&self, why: &str) {
        let pid: i32 = std::fs::read_to_string(self.path("child.pid"))
            .expect("the step's program wrote its child's pid to child.pid")
            .trim()
            .parse()
            .expect("child.pid holds a pid");
        assert!(
            eventually(Duration::from_secs(5), || process_gone(pid)).await,
            "{why}: process {pid} is still there"
        );
    }

    /// Checks the store's own consistency.
    pub fn assert_store_intact(&self) {
        let report = self
            .project
            .store()
            .integrity_check()
            .expect("the integrity check runs");
        assert_eq!(report, "ok", "the run store must stay consistent");
    }
}

pub fn options(inputs: &[(&str, Value)]) -> StartOptions {
    StartOptions {
        inputs: inputs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect::<Map<String, Value>>(),
        ..StartOptions::default()
    }
}

/// A shell step (as YAML list items, indented for `steps:`) that appends `line` to `trace.txt`.
pub fn trace(id: &str, line: &str, extra: &str) -> String {
    format!(
        "  - id: {id}\n    action: shell\n    run: [sh, -c, 'echo {line} >> trace.txt']\n{extra}"
    )
}

/// The status of a step of a run, by key.
pub fn status(result: &PipelineResult, key: &str) -> StepStatus {
    result
        .step(key)
        .unwrap_or_else(|| {
            panic!(
                "the run has no step `{key}`; it has {:?}",
                result.steps.iter().map(|s| &s.key).collect::<Vec<_>>()
            )
        })
        .status
}

/// Asserts how a run ended, showing its error when it is not what was expected.
pub fn assert_run(result: &PipelineResult, expected: RunStatus) {
    assert_eq!(
        result.status,
        expected,
        "the run should have {}; its error: {:?}; its steps: {:?}",
        expected.as_str(),
        result.error,
        result
            .steps
            .iter()
            .map(|step| format!("{} {} {:?}", step.key, step.status.as_str(), step.error))
            .collect::<Vec<_>>()
    );
}

/// How many steps of a run were running at the same time, at most, from their start and end.
pub fn peak_overlap(result: &PipelineResult, prefix: &str) -> usize {
    let mut edges: Vec<(jiff::Timestamp, i32)> = Vec::new();
    for step in result
        .steps
        .iter()
        .filter(|step| step.key.starts_with(prefix))
    {
        if let (Some(start), Some(end)) = (step.started_at, step.finished_at) {
            edges.push((start, 1));
            edges.push((end, -1));
        }
    }
    // An end and a start at the same instant do not overlap.
    edges.sort_by_key(|&(at, delta)| (at, delta));
    let (mut now, mut peak) = (0_i32, 0_i32);
    for (_, delta) in edges {
        now += delta;
        peak = peak.max(now);
    }
    usize::try_from(peak).unwrap_or(0)
}

/// Whether a process is gone (or a zombie nobody will run again).
pub fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// Waits up to `limit` for `ready`, checking every 20 ms.
pub async fn eventually(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if ready() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ready()
}

/// How a test HTTP server answers each connection.
#[derive(Clone)]
pub enum Answer {
    /// A status line's code and reason, a content type and a body.
    Respond(u16, &'static str, &'static str, String),
    /// Accepts the connection and never answers.
    Hang,
}

/// A real HTTP/1.1 server on a local port, answering every request the same way, counting them.
pub struct Server {
    pub url: String,
    pub requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Server {
    pub fn start(answer: Answer) -> Self {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("the port's address")
        );
        let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&requests);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut reader = BufReader::new(stream);
                let mut length = 0_usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let mut stream = reader.into_inner();
                match &answer {
                    Answer::Respond(code, reason, kind, text) => {
                        let _ = write!(
                            stream,
                            "HTTP/1.1 {code} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                            text.len()
                        );
                    }
                    Answer::Hang => held.push(stream),
                }
            }
        });
        Self { url, requests }
    }

    pub fn count(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A step's output, or null when the run has no such step.
pub fn output(result: &PipelineResult, key: &str) -> Value {
    result
        .step(key)
        .map(|step| step.output.clone())
        .unwrap_or_default()
}

/// A step's error, or nothing when it has none.
pub fn error(result: &PipelineResult, key: &str) -> String {
    result
        .step(key)
        .and_then(|step| step.error.clone())
        .unwrap_or_default()
}

/// Asserts that a step failed with an error that says each of `needles`.
pub fn assert_error(result: &PipelineResult, key: &str, needles: &[&str], why: &str) {
    let error = error(result, key);
    assert!(
        needles.iter().all(|needle| error.contains(needle)),
        "{why}: the error of `{key}` should say {needles:?}, but it is {error:?}"
    );
}
