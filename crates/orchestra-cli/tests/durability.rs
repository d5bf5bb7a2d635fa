//! The proof that nothing is lost: `orchestra run` as a real process is killed with SIGKILL at
//! different points, then `orchestra resume` finishes the run. Every step appends one line to a
//! side-effect file when it starts, so the file tells how many times each step ran.
//!
//! A step that had finished before the kill must have run exactly once; a step in flight at the
//! kill at most twice; the resumed run's outputs must equal an uninterrupted run's; and the
//! store must pass `PRAGMA integrity_check`. The same holds for a cancelled run, and for an
//! approval answered by a new process after the first one ended.

use std::collections::HashMap;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use orchestra_api::{Project, RunStatus, StepStatus};
use serde_json::Value;

/// A pipeline with a start, a sequential loop, a long shell step and a parallel fan-out. Each
/// step appends its key to `side.txt` first, then works.
const PIPELINE: &str = r#"orchestra: 1
id: durable
workspace:
  root: .
steps:
  - id: start
    action: shell
    run: [sh, -c, 'echo start >> side.txt']
  - id: items
    depends_on: [start]
    for_each: [1, 2, 3, 4, 5, 6]
    max_parallel: 1
    steps:
      - id: work
        action: shell
        run: [sh, -c, 'echo "item-$1" >> side.txt; sleep 0.3; echo "done $1"', sh, '{{ item }}']
  - id: long
    action: shell
    depends_on: [items]
    run: [sh, -c, 'echo long >> side.txt; sleep 1.5; echo long done']
  - id: fan1
    action: shell
    depends_on: [long]
    run: [sh, -c, 'echo fan1 >> side.txt; sleep 0.6; echo one']
  - id: fan2
    action: shell
    depends_on: [long]
    run: [sh, -c, 'echo fan2 >> side.txt; sleep 0.6; echo two']
  - id: fan3
    action: shell
    depends_on: [long]
    run: [sh, -c, 'echo fan3 >> side.txt; sleep 0.6; echo three']
  - id: fan4
    action: shell
    depends_on: [long]
    run: [sh, -c, 'echo fan4 >> side.txt; sleep 0.6; echo four']
  - id: end
    action: shell
    depends_on: [fan1, fan2, fan3, fan4]
    run: [sh, -c, 'echo end >> side.txt; echo finished']
outputs:
  items: "{{ items.output }}"
  long: "{{ long.output | trim }}"
  fans: "{{ [fan1.output | trim, fan2.output | trim, fan3.output | trim, fan4.output | trim] }}"
  end: "{{ end.output | trim }}"
"#;

/// The line each step writes, by the step's key in the run.
fn side_line(key: &str) -> Option<String> {
    if let Some(rest) = key.strip_prefix("items[") {
        let index: usize = rest.split(']').next()?.parse().ok()?;
        return key
            .ends_with("/work")
            .then(|| format!("item-{}", index + 1));
    }
    (key != "items").then(|| key.to_owned())
}

struct Lab {
    dir: tempfile::TempDir,
    global: tempfile::TempDir,
}

impl Lab {
    fn new(pipeline: &str) -> Self {
        let dir = tempfile::tempdir().expect("a project folder");
        std::fs::create_dir(dir.path().join(".orchestra")).expect("the project marker");
        std::fs::write(dir.path().join("pipeline.yaml"), pipeline).expect("the pipeline");
        let global = tempfile::tempdir().expect("a global folder");
        Self { dir, global }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orchestra"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("ORCHESTRA_HOME", self.global.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        command
    }

    fn orchestra(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("orchestra runs")
    }

    fn spawn_run(&self) -> Child {
        self.command(&["run", "pipeline.yaml"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("orchestra run starts")
    }

    fn side(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("side.txt"))
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Waits until `line` is in the side-effect file.
    fn wait_for(&self, line: &str, child: &mut Child) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.side().iter().any(|seen| seen == line) {
                return;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the run ended ({status}) before `{line}` was written; side file: {:?}",
                    self.side()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("`{line}` never appeared; side file: {:?}", self.side());
    }

    fn project(&self) -> Project {
        Project::open(self.dir.path(), Some(self.global.path().to_path_buf()))
            .expect("the project's store opens")
    }

    fn only_run(&self) -> String {
        let runs = self.project().runs(10).expect("the runs list");
        assert_eq!(runs.len(), 1, "one run was started");
        runs[0].id.clone()
    }

    fn outputs(&self, run: &str) -> Value {
        let output = self.orchestra(&["show", run, "--outputs", "--json"]);
        assert!(
            output.status.success(),
            "show --outputs works: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("the outputs are JSON")
    }
}

/// The outputs of an uninterrupted run, computed once.
fn reference_outputs() -> &'static Value {
    static REFERENCE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    REFERENCE.get_or_init(|| {
        let lab = Lab::new(PIPELINE);
        let output = lab.orchestra(&["run", "pipeline.yaml"]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "the uninterrupted run succeeds: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let run = lab.only_run();
        let outputs = lab.outputs(&run);
        assert_eq!(
            outputs["end"],
            Value::from("finished"),
            "the reference run produced its outputs: {outputs}"
        );
        outputs
    })
}

/// The steps of a run that had finished (succeeded) when its process died, by their side line.
fn finished_steps(lab: &Lab, run: &str) -> Vec<String> {
    let result = lab
        .project()
        .result(run)
        .expect("the killed run's result reads");
    result
        .steps
        .iter()
        .filter(|step| step.status == StepStatus::Succeeded)
        .filter_map(|step| side_line(&step.key))
        .collect()
}

/// Checks the side-effect file after the resumed run against what had finished before.
fn assert_nothing_lost(lab: &Lab, run: &str, finished_before: &[String]) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for line in lab.side() {
        *counts.entry(line).or_default() += 1;
    }
    let every = [
        "start", "item-1", "item-2", "item-3", "item-4", "item-5", "item-6", "long", "fan1",
        "fan2", "fan3", "fan4", "end",
    ];
    for line in every {
        let count = counts.get(line).copied().unwrap_or(0);
        if finished_before.iter().any(|done| done == line) {
            assert_eq!(
                count,
                1,
                "`{line}` had finished before the kill, so it must run exactly once; side file: {:?}",
                lab.side()
            );
        } else {
            assert!(
                (1..=2).contains(&count),
                "`{line}` must run at least once and at most twice, ran {count} times; side file: {:?}",
                lab.side()
            );
        }
    }
    assert_eq!(
        &lab.outputs(run),
        reference_outputs(),
        "the resumed run's outputs equal an uninterrupted run's"
    );
    let project = lab.project();
    assert_eq!(
        project.store().integrity_check().expect("the check runs"),
        "ok",
        "PRAGMA integrity_check"
    );
    assert_eq!(
        project.store().run(run).expect("the run").status,
        RunStatus::Succeeded
    );
}

/// Kills `orchestra run` once `line` appears, resumes the run and checks that nothing was lost.
fn kill_and_resume(line: &str, finished_by_then: &[&str]) {
    let lab = Lab::new(PIPELINE);
    let mut child = lab.spawn_run();
    lab.wait_for(line, &mut child);
    child.kill().expect("SIGKILL the run");
    child.wait().expect("reap it");
    let run = lab.only_run();

    let listed = lab.orchestra(&["runs", "--json"]);
    let rows: Value = serde_json::from_slice(&listed.stdout).expect("runs --json is JSON");
    assert_eq!(
        rows[0]["status"],
        Value::from("interrupted"),
        "a run whose process died shows as interrupted, not running"
    );
    let finished_before = finished_steps(&lab, &run);
    for step in finished_by_then {
        assert!(
            finished_before.iter().any(|done| done == step),
            "`{step}` had finished before the kill at `{line}`; finished: {finished_before:?}"
        );
    }

    let resumed = lab.orchestra(&["resume", &run]);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "the resumed run succeeds: {}{}",
        String::from_utf8_lossy(&resumed.stdout),
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_nothing_lost(&lab, &run, &finished_before);
}

#[test]
fn a_run_killed_early_resumes_without_losing_or_repeating_work() {
    kill_and_resume("start", &[]);
}

#[test]
fn a_run_killed_in_the_middle_of_a_loop_resumes() {
    kill_and_resume("item-3", &["start", "item-1"]);
}

#[test]
fn a_run_killed_inside_a_long_shell_step_resumes() {
    kill_and_resume("long", &["start", "item-6"]);
}

#[test]
fn a_run_killed_during_a_parallel_fan_out_resumes() {
    kill_and_resume("fan2", &["start", "item-6", "long"]);
}

#[test]
fn a_cancelled_run_keeps_its_finished_steps_and_resumes() {
    let lab = Lab::new(PIPELINE);
    let mut child = lab.spawn_run();
    lab.wait_for("long", &mut child);
    let run = lab.only_run();
    let cancel = lab.orchestra(&["cancel", &run]);
    assert_eq!(
        cancel.status.code(),
        Some(0),
        "cancel is accepted: {}",
        String::from_utf8_lossy(&cancel.stderr)
    );
    let status = child.wait().expect("the run process ends");
    assert_eq!(status.code(), Some(1), "a cancelled run exits with 1");
    let project = lab.project();
    let result = project.result(&run).expect("the result");
    assert_eq!(result.status, RunStatus::Cancelled);
    assert_eq!(
        result.step("long").map(|s| s.status),
        Some(StepStatus::Cancelled),
        "the running step was stopped"
    );
    assert_eq!(
        result.step("start").map(|s| s.status),
        Some(StepStatus::Succeeded),
        "finished work is kept"
    );
    let finished_before = finished_steps(&lab, &run);

    let resumed = lab.orchestra(&["resume", &run]);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "a cancelled run can be resumed: {}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_nothing_lost(&lab, &run, &finished_before);
}

const APPROVAL: &str = r"orchestra: 1
id: release
workspace:
  root: .
steps:
  - id: build
    action: shell
    run: [sh, -c, 'echo build >> side.txt; echo built']
  - id: gate
    action: approval
    depends_on: [build]
    message: Ship the build?
    on_false: discard
  - id: ship
    action: shell
    depends_on: [gate]
    run: [sh, -c, 'echo ship >> side.txt']
  - id: discard
    action: shell
    run: [sh, -c, 'echo discard >> side.txt']
";

fn answered_after_restart(approve: bool) -> Vec<String> {
    let lab = Lab::new(APPROVAL);
    let paused = lab.orchestra(&["run", "pipeline.yaml"]);
    assert_eq!(
        paused.status.code(),
        Some(3),
        "a run waiting for approval exits with 3: {}",
        String::from_utf8_lossy(&paused.stderr)
    );
    let run = lab.only_run();
    assert_eq!(
        lab.project().store().run(&run).expect("the run").status,
        RunStatus::Waiting,
        "the paused run is stored as waiting"
    );
    let mut args = vec!["approve", run.as_str(), "gate"];
    if !approve {
        args.push("--reject");
    }
    args.extend(["--comment", "decided later"]);
    let answered = lab.orchestra(&args);
    assert_eq!(
        answered.status.code(),
        Some(0),
        "the answered run finishes: {}",
        String::from_utf8_lossy(&answered.stderr)
    );
    assert_eq!(
        lab.project()
            .store()
            .integrity_check()
            .expect("the check runs"),
        "ok"
    );
    lab.side()
}

#[test]
fn an_approval_answered_by_a_new_process_continues_only_the_chosen_branch() {
    assert_eq!(
        answered_after_restart(true),
        ["build", "ship"],
        "approving runs `ship`, and `build` does not run again"
    );
    assert_eq!(
        answered_after_restart(false),
        ["build", "discard"],
        "rejecting runs `discard` only"
    );
}
