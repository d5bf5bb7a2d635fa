//! Control flow, run for real: dependencies and joins, conditions, routing keys, loops,
//! retries, timeouts, concurrency, the circuit breaker and cancellation.

mod common;

use std::time::Duration;

use common::{
    Lab, assert_error, assert_run, error, eventually, options, peak_overlap, status, trace,
};
use orchestra_api::{RunStatus, StartOptions, StepStatus};
use serde_json::json;

#[tokio::test]
async fn join_any_runs_after_the_first_success_and_join_all_needs_every_one() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "joins",
        &format!(
            "steps:\n  - id: broken\n    action: shell\n    run: [sh, -c, 'exit 3']\n    on_failure: skip\n{}{}{}",
            trace("fine", "fine", ""),
            trace("any", "any", "    depends_on: [broken, fine]\n    join: any\n"),
            trace("all", "all", "    depends_on: [broken, fine]\n"),
        ),
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        status(&result, "broken"),
        StepStatus::Skipped,
        "on_failure: skip counts the failure as a skip"
    );
    assert_eq!(
        status(&result, "any"),
        StepStatus::Succeeded,
        "join: any needs one dependency to succeed"
    );
    assert_eq!(
        status(&result, "all"),
        StepStatus::Skipped,
        "join: all needs every dependency to succeed"
    );
    assert_eq!(
        lab.lines("trace.txt")
            .iter()
            .filter(|l| *l == "any")
            .count(),
        1
    );
    assert!(
        !lab.lines("trace.txt").contains(&"all".to_owned()),
        "a skipped step must not run"
    );
}

#[tokio::test]
async fn a_false_condition_skips_the_step_and_what_needs_it_and_on_false_goes_elsewhere() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "conditions",
        &format!(
            "inputs:\n  notify: {{ type: boolean, default: false }}\nsteps:\n{}{}{}{}",
            trace(
                "alert",
                "alert",
                "    condition: inputs.notify\n    on_false: quiet\n"
            ),
            trace("after_alert", "after_alert", "    depends_on: [alert]\n"),
            trace("quiet", "quiet", ""),
            trace("after_quiet", "after_quiet", "    depends_on: [quiet]\n"),
        ),
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(status(&result, "alert"), StepStatus::Skipped);
    assert_eq!(
        status(&result, "after_alert"),
        StepStatus::Skipped,
        "a step needing a skipped step is skipped"
    );
    assert_eq!(
        lab.lines("trace.txt"),
        ["quiet", "after_quiet"],
        "only the on_false branch runs"
    );

    let lab = Lab::new();
    let file = lab.pipeline(
        "conditions",
        &format!(
            "inputs:\n  notify: {{ type: boolean, default: false }}\nsteps:\n{}{}",
            trace(
                "alert",
                "alert",
                "    condition: inputs.notify\n    on_false: quiet\n"
            ),
            trace("quiet", "quiet", ""),
        ),
    );
    let (_, result) = lab.run(&file, &[("notify", json!(true))]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        status(&result, "quiet"),
        StepStatus::Skipped,
        "a step only on_false names runs only when sent"
    );
    assert_eq!(lab.lines("trace.txt"), ["alert"]);
}

#[tokio::test]
async fn on_success_and_on_failure_send_the_run_to_the_step_they_name() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "routing",
        &format!(
            "inputs:\n  code: {{ type: integer }}\nsteps:\n  - id: test\n    action: shell\n    run: [sh, -c, 'exit \"$1\"', sh, '{{{{ inputs.code }}}}']\n    on_success: celebrate\n    on_failure: page\n{}{}",
            trace("celebrate", "celebrate", ""),
            trace("page", "page", ""),
        ),
    );
    let (_, passed) = lab.run(&file, &[("code", json!(0))]).await;
    assert_run(&passed, RunStatus::Succeeded);
    assert_eq!(lab.lines("trace.txt"), ["celebrate"]);
    assert_eq!(status(&passed, "page"), StepStatus::Skipped);

    std::fs::remove_file(lab.path("trace.txt")).expect("clear the trace");
    let (_, failed) = lab.run(&file, &[("code", json!(4))]).await;
    assert_run(&failed, RunStatus::Succeeded);
    assert_eq!(
        lab.lines("trace.txt"),
        ["page"],
        "on_failure: <step> handles the failure"
    );
    assert_eq!(
        status(&failed, "test"),
        StepStatus::Failed,
        "the failure is still recorded"
    );
    assert_eq!(status(&failed, "celebrate"), StepStatus::Skipped);
}

#[tokio::test]
async fn on_failure_continue_shows_the_failure_to_later_steps() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "continue",
        "steps:\n  - id: probe\n    action: shell\n    run: [sh, -c, 'echo partial; echo broken >&2; exit 7']\n    on_failure: continue\n  - id: report\n    action: template\n    depends_on: [probe]\n    template: \"{{ probe.status }} {{ probe.exit_code }} {{ probe.stderr | trim }} {{ probe.output | trim }}\"\noutputs:\n  report: \"{{ report.output }}\"\n",
    );
    let (finished, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        finished.outcome.outputs.get("report"),
        Some(&json!("failed 7 broken partial")),
        "a later step reads the failed step's status, exit code, stderr and output"
    );
    assert_error(
        &result,
        "probe",
        &["exited with status 7: broken"],
        "the error says how the program ended",
    );
}

#[tokio::test]
async fn on_failure_fail_stops_the_run_and_keeps_what_finished() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "fails",
        &format!(
            "steps:\n{}  - id: broken\n    action: shell\n    depends_on: [first]\n    run: [sh, -c, 'echo oops >&2; exit 2']\n{}",
            trace("first", "first", ""),
            trace("never", "never", "    depends_on: [broken]\n"),
        ),
    );
    let (finished, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    assert_eq!(finished.outcome.status, RunStatus::Failed);
    let error = result.error.clone().unwrap_or_default();
    assert!(
        error.contains("step `broken` failed") && error.contains("oops"),
        "the run's error names the step and why: {error}"
    );
    assert_eq!(
        status(&result, "first"),
        StepStatus::Succeeded,
        "finished work is kept"
    );
    assert_eq!(lab.lines("trace.txt"), ["first"]);
    lab.assert_store_intact();
}

#[tokio::test]
async fn a_route_back_loops_until_its_condition_fails_and_fails_past_max_loops() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "loops",
        &format!(
            "inputs:\n  rounds: {{ type: integer }}\nsteps:\n{}  - id: count\n    action: shell\n    depends_on: [draft]\n    run: [sh, -c, 'wc -l < trace.txt']\n    routes:\n      - when: count.output | trim | int < inputs.rounds\n        goto: draft\n        max_loops: 3\n{}",
            trace("draft", "draft", ""),
            trace("publish", "publish", "    depends_on: [count]\n"),
        ),
    );
    let (_, result) = lab.run(&file, &[("rounds", json!(3))]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        lab.lines("trace.txt"),
        ["draft", "draft", "draft", "publish"],
        "the loop runs draft three times, then goes on"
    );
    let routes = result
        .log
        .iter()
        .filter(|record| matches!(record.event, orchestra_api::RunEvent::RouteTaken { .. }))
        .count();
    assert_eq!(routes, 2, "two routes back were taken");

    let lab = Lab::new();
    let file = lab.pipeline(
        "loops",
        &format!(
            "inputs:\n  rounds: {{ type: integer }}\nsteps:\n{}  - id: count\n    action: shell\n    depends_on: [draft]\n    run: [sh, -c, 'wc -l < trace.txt']\n    routes:\n      - when: count.output | trim | int < inputs.rounds\n        goto: draft\n        max_loops: 3\n",
            trace("draft", "draft", ""),
        ),
    );
    let (_, result) = lab.run(&file, &[("rounds", json!(100))]).await;
    assert_run(&result, RunStatus::Failed);
    assert_eq!(
        lab.lines("trace.txt").len(),
        4,
        "draft runs once, then three times more: the bound"
    );
    assert_error(
        &result,
        "count",
        &["already taken 3 times", "max_loops: 3"],
        "past the bound the step fails and says so",
    );
}

#[tokio::test]
async fn for_each_runs_its_body_per_item_with_item_and_index_and_at_most_max_parallel() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "each",
        "inputs:\n  names: { type: list, default: [ada, grace, linus, barbara, ken] }\nsteps:\n  - id: per\n    for_each: \"{{ inputs.names }}\"\n    max_parallel: 2\n    steps:\n      - id: greet\n        action: shell\n        run: [sh, -c, 'sleep 0.15; echo \"$1-$2\"', sh, '{{ index }}', '{{ item }}']\n      - id: shout\n        action: template\n        depends_on: [greet]\n        template: \"{{ greet.output | trim | upper }}\"\noutputs:\n  all: \"{{ per.output }}\"\n",
    );
    let (finished, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        finished.outcome.outputs.get("all"),
        Some(&json!([
            "0-ADA",
            "1-GRACE",
            "2-LINUS",
            "3-BARBARA",
            "4-KEN"
        ])),
        "the output is the last body step's output per item, in item order"
    );
    assert_eq!(status(&result, "per[4]/greet"), StepStatus::Succeeded);
    let peak = peak_overlap(&result, "per[");
    assert!(
        peak <= 2 * 2,
        "at most two items (of two steps each) run at once; saw {peak}"
    );
    let greets_at_once = {
        let greets: Vec<_> = result
            .steps
            .iter()
            .filter(|s| s.key.ends_with("/greet"))
            .cloned()
            .collect();
        let mut only = result.clone();
        only.steps = greets;
        peak_overlap(&only, "per[")
    };
    assert!(
        greets_at_once <= 2,
        "max_parallel: 2 bounds the items running; saw {greets_at_once}"
    );
    assert!(
        greets_at_once >= 2,
        "items do run in parallel; saw {greets_at_once}"
    );
}

#[tokio::test]
async fn while_and_until_repeat_their_body_and_fail_past_max_iterations() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "repeat",
        "steps:\n  - id: poll\n    until: probe.output | trim == '3'\n    max_iterations: 5\n    steps:\n      - id: probe\n        action: shell\n        run: [sh, -c, 'echo \"$1\" >> polls.txt; wc -l < polls.txt', sh, '{{ iteration }}']\n  - id: drain\n    while: iteration == 1 or take.output | trim != 'empty'\n    depends_on: [poll]\n    max_iterations: 5\n    steps:\n      - id: take\n        action: shell\n        run: [sh, -c, 'if [ \"$1\" -ge 2 ]; then echo empty; else echo item; fi', sh, '{{ iteration }}']\noutputs:\n  polled: \"{{ poll.output | trim }}\"\n  drained: \"{{ drain.output | trim }}\"\n",
    );
    let (finished, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        lab.lines("polls.txt"),
        ["1", "2", "3"],
        "until stops after the pass where it holds; iteration counts from 1"
    );
    assert_eq!(finished.outcome.outputs.get("polled"), Some(&json!("3")));
    assert_eq!(
        finished.outcome.outputs.get("drained"),
        Some(&json!("empty")),
        "the loop's output is its last pass's last step"
    );

    let lab = Lab::new();
    let file = lab.pipeline(
        "endless",
        "steps:\n  - id: spin\n    until: 'false'\n    max_iterations: 3\n    steps:\n      - id: tick\n        action: shell\n        run: [sh, -c, 'echo tick >> ticks.txt']\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    assert_eq!(
        lab.lines("ticks.txt").len(),
        3,
        "the loop stops at max_iterations"
    );
    assert_error(
        &result,
        "spin",
        &["max_iterations"],
        "past max_iterations the step fails and says so",
    );
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "slow",
        "steps:\n  - id: slow\n    action: shell\n    run: [sh, -c, 'sleep 30 & echo $! > child.pid; wait']\n    timeout: 700ms\n",
    );
    let started = std::time::Instant::now();
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the step must stop at its timeout, not when the program ends"
    );
    assert_error(
        &result,
        "slow",
        &["timed out after 700ms"],
        "the error says it timed out",
    );
    lab.assert_child_gone("the program's child must be killed with its group")
        .await;
}

#[tokio::test]
async fn a_failing_step_is_tried_again_with_backoff_until_it_succeeds() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "flaky",
        "steps:\n  - id: flaky\n    action: shell\n    run: [sh, -c, 'echo try >> tries.txt; [ \"$(wc -l < tries.txt)\" -ge 3 ]']\n    retry: { attempts: 4, delay: 50ms, backoff: exponential, jitter: false }\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        lab.lines("tries.txt").len(),
        3,
        "two failures, then a success"
    );
    assert_eq!(result.step("flaky").map(|s| s.attempts), Some(3));
    let waits: Vec<u64> = result
        .log
        .iter()
        .filter_map(|record| match &record.event {
            orchestra_api::RunEvent::AttemptFailed { retry_in_ms, .. } => *retry_in_ms,
            _ => None,
        })
        .collect();
    assert_eq!(waits, [50, 100], "exponential backoff doubles the wait");

    let lab = Lab::new();
    let file = lab.pipeline(
        "hopeless",
        "steps:\n  - id: hopeless\n    action: shell\n    run: [sh, -c, 'echo try >> tries.txt; exit 1']\n    retry: { attempts: 2, delay: 10ms }\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    assert_eq!(
        lab.lines("tries.txt").len(),
        2,
        "attempts counts the first one too"
    );
    let error = error(&result, "hopeless");
    assert!(error.contains("after 2 attempts"), "{error}");
}

#[tokio::test]
async fn the_concurrency_limit_bounds_the_steps_running_at_once() {
    let lab = Lab::new();
    let steps = (0..6)
        .map(|n| format!("  - id: nap{n}\n    action: shell\n    run: [sleep, '0.2']\n"))
        .collect::<Vec<_>>()
        .concat();
    let file = lab.pipeline(
        "naps",
        &format!("limits:\n  concurrency: 2\nsteps:\n{steps}"),
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    let peak = peak_overlap(&result, "nap");
    assert_eq!(
        peak, 2,
        "six independent steps under `concurrency: 2` run two at a time"
    );
}

#[tokio::test]
async fn the_circuit_breaker_stops_the_run_after_max_failures() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "breaker",
        &format!(
            "limits:\n  max_failures: 2\nsteps:\n  - id: one\n    action: shell\n    run: [sh, -c, 'exit 1']\n    on_failure: continue\n  - id: two\n    action: shell\n    depends_on: [one]\n    run: [sh, -c, 'exit 1']\n    on_failure: continue\n{}",
            trace("three", "three", "    depends_on: [two]\n"),
        ),
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    let error = result.error.clone().unwrap_or_default();
    assert!(
        error.contains("circuit breaker") && error.contains("max_failures: 2"),
        "{error}"
    );
    assert!(
        lab.lines("trace.txt").is_empty(),
        "nothing runs after the breaker trips"
    );
}

#[tokio::test]
async fn cancelling_stops_running_steps_kills_their_processes_and_keeps_finished_work() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "cancel",
        &format!(
            "steps:\n{}  - id: long\n    action: shell\n    depends_on: [quick]\n    run: [sh, -c, 'sleep 60 & echo $! > child.pid; wait']\n{}",
            trace("quick", "quick", ""),
            trace("after", "after", "    depends_on: [long]\n"),
        ),
    );
    let cancel = tokio_util::sync::CancellationToken::new();
    let trigger = cancel.clone();
    let pid_file = lab.path("child.pid");
    tokio::spawn(async move {
        eventually(Duration::from_secs(20), || pid_file.exists()).await;
        trigger.cancel();
    });
    let started = std::time::Instant::now();
    let (finished, result) = lab
        .start(
            &file,
            StartOptions {
                cancel,
                ..options(&[])
            },
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "cancelling must not wait for the program"
    );
    assert_eq!(finished.outcome.status, RunStatus::Cancelled);
    assert_run(&result, RunStatus::Cancelled);
    assert_eq!(
        status(&result, "quick"),
        StepStatus::Succeeded,
        "finished work is kept"
    );
    assert_eq!(status(&result, "long"), StepStatus::Cancelled);
    assert_eq!(lab.lines("trace.txt"), ["quick"]);
    lab.assert_child_gone("the cancelled step's child must be killed")
        .await;
    lab.assert_store_intact();
}

#[tokio::test]
async fn the_results_of_a_step_are_visible_to_later_templates() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "visible",
        "inputs:\n  who: { type: string }\nsteps:\n  - id: facts\n    action: shell\n    run: [sh, -c, 'printf \"{\\\"n\\\": 3}\"; echo warn >&2']\n  - id: write\n    action: file.write\n    path: out/note.txt\n    content: hi\n  - id: use\n    action: template\n    depends_on: [facts, write]\n    template: \"{{ (facts.output | fromjson).n + 1 }}|{{ facts.exit_code }}|{{ facts.stderr | trim }}|{{ write.files[0] }}|{{ facts.duration >= 0 }}|{{ inputs.who }}|{{ run.id | length }}\"\noutputs:\n  use: \"{{ use.output }}\"\n",
    );
    let (finished, result) = lab.run(&file, &[("who", json!("ada"))]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        finished.outcome.outputs.get("use"),
        Some(&json!("4|0|warn|out/note.txt|true|ada|36")),
        "output (parsed from JSON), exit_code, stderr, files, duration, inputs and run.id are all visible"
    );
    assert_eq!(
        result.artifacts.len(),
        1,
        "a written file is an artifact of the run"
    );
    assert_eq!(result.artifacts[0].path, "out/note.txt");
    assert_eq!(result.artifacts[0].size, 2);
}

#[tokio::test]
async fn an_undefined_name_fails_the_step_before_it_does_anything() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "undefined",
        "steps:\n  - id: text\n    action: template\n    template: plain\n  - id: write\n    action: file.write\n    depends_on: [text]\n    path: side-effect.txt\n    content: \"{{ text.output.missing }}\"\n",
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    assert!(
        !lab.path("side-effect.txt").exists(),
        "the file must not be written"
    );
    let write = result.step("write").expect("the step was tried");
    assert_eq!(
        write.attempts, 0,
        "no attempt starts when the templates do not render"
    );
    assert!(
        write
            .error
            .as_deref()
            .is_some_and(|e| e.contains("`content`") && e.contains("not defined")),
        "the error names the parameter and the problem: {:?}",
        write.error
    );
}

#[tokio::test]
async fn a_pipeline_step_runs_another_file_as_one_step() {
    let lab = Lab::new();
    lab.pipeline(
        "child",
        "inputs:\n  name: { type: string }\nsteps:\n  - id: hello\n    action: template\n    template: \"hello {{ inputs.name }}\"\noutputs:\n  greeting: \"{{ hello.output }}\"\n",
    );
    let file = lab.pipeline(
        "parent",
        "steps:\n  - id: sub\n    action: pipeline\n    path: child.yaml\n    inputs: { name: ada }\n  - id: use\n    action: template\n    depends_on: [sub]\n    template: \"{{ sub.output.greeting }}!\"\noutputs:\n  use: \"{{ use.output }}\"\n",
    );
    let (finished, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        finished.outcome.outputs.get("use"),
        Some(&json!("hello ada!"))
    );
    let runs = lab.project.runs(10).expect("the runs are listed");
    assert_eq!(
        runs.len(),
        1,
        "the child pipeline's run is listed under its parent, not beside it"
    );
    assert_eq!(runs[0].pipeline, "parent");
}

#[tokio::test]
async fn cache_reuses_a_result_whose_rendered_inputs_are_the_same() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "cached",
        "inputs:\n  word: { type: string }\nsteps:\n  - id: slow\n    action: shell\n    run: [sh, -c, 'echo \"$1\" >> work.txt; echo \"$1\"', sh, '{{ inputs.word }}']\n    cache: true\noutputs:\n  said: \"{{ slow.output | trim }}\"\n",
    );
    let (first, _) = lab.run(&file, &[("word", json!("apple"))]).await;
    let (again, result) = lab.run(&file, &[("word", json!("apple"))]).await;
    assert_eq!(again.outcome.outputs.get("said"), Some(&json!("apple")));
    let reused = result
        .step("slow")
        .and_then(|s| s.reused_from.clone())
        .unwrap_or_default();
    assert_eq!(
        reused,
        format!("{}/slow", first.run_id),
        "the second run says where its result came from"
    );
    assert_eq!(
        lab.lines("work.txt"),
        ["apple"],
        "the program ran once for the same inputs"
    );
    let (_, _) = lab.run(&file, &[("word", json!("pear"))]).await;
    assert_eq!(
        lab.lines("work.txt"),
        ["apple", "pear"],
        "different inputs run again"
    );
}

#[tokio::test]
async fn a_rerun_from_a_step_reuses_the_results_before_it() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "rerun",
        &format!(
            "steps:\n{}{}{}",
            trace("fetch", "fetch", ""),
            trace("build", "build", "    depends_on: [fetch]\n"),
            trace("ship", "ship", "    depends_on: [build]\n"),
        ),
    );
    let (first, _) = lab.run(&file, &[]).await;
    let (_, result) = lab
        .start(
            &file,
            StartOptions {
                from: Some("build".to_owned()),
                reuse: Some(first.run_id.clone()),
                ..options(&[])
            },
        )
        .await;
    assert_run(&result, RunStatus::Succeeded);
    assert_eq!(
        lab.lines("trace.txt"),
        ["fetch", "build", "ship", "build", "ship"],
        "fetch is not run again"
    );
    assert_eq!(
        result.step("fetch").and_then(|s| s.reused_from.clone()),
        Some(format!("{}/fetch", first.run_id))
    );
}

#[tokio::test]
async fn resuming_a_failed_run_keeps_its_finished_steps() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "resumable",
        &format!(
            "steps:\n{}  - id: needs\n    action: file.read\n    depends_on: [first]\n    path: later.txt\n{}",
            trace("first", "first", ""),
            trace("last", "last", "    depends_on: [needs]\n"),
        ),
    );
    let (failed, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Failed);
    let error = error(&result, "needs");
    assert!(
        error.contains("later.txt"),
        "the error names the missing file: {error}"
    );
    std::fs::write(lab.path("later.txt"), "now here").expect("write the file");
    let resumed = lab
        .project
        .resume(&failed.run_id, tokio_util::sync::CancellationToken::new())
        .await
        .expect("the run resumes");
    assert_eq!(resumed.run_id, failed.run_id, "a resumed run keeps its id");
    assert_eq!(resumed.outcome.status, RunStatus::Succeeded);
    assert_eq!(
        lab.lines("trace.txt"),
        ["first", "last"],
        "the finished step does not run again"
    );
    let again = lab
        .project
        .resume(&failed.run_id, tokio_util::sync::CancellationToken::new())
        .await;
    let refusal = again.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        refusal.contains("already succeeded"),
        "a succeeded run has nothing to resume: {refusal}"
    );
}

#[tokio::test]
async fn an_approval_pauses_the_run_and_the_answer_chooses_the_branch() {
    let lab = Lab::new();
    let body = format!(
        "steps:\n  - id: gate\n    action: approval\n    message: Ship it?\n    on_false: rework\n{}{}",
        trace("ship", "ship", "    depends_on: [gate]\n"),
        trace("rework", "rework", ""),
    );
    let file = lab.pipeline("gated", &body);
    let (paused, result) = lab.run(&file, &[]).await;
    assert_eq!(
        paused.outcome.status,
        RunStatus::Waiting,
        "the run pauses at the approval"
    );
    assert_eq!(status(&result, "gate"), StepStatus::Waiting);
    assert!(
        lab.lines("trace.txt").is_empty(),
        "nothing after the approval runs before the answer"
    );
    let answered = lab
        .project
        .approve(
            &paused.run_id,
            "gate",
            true,
            Some("looks good".to_owned()),
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .expect("the approval is answered");
    assert_eq!(answered.outcome.status, RunStatus::Succeeded);
    assert_eq!(lab.lines("trace.txt"), ["ship"]);
    let result = lab.result(&paused.run_id);
    let gate = result
        .step("gate")
        .map(|s| s.output.clone())
        .unwrap_or_default();
    assert_eq!(
        gate["approved"],
        json!(true),
        "the answer is the output: {gate}"
    );
    assert_eq!(
        gate["comment"],
        json!("looks good"),
        "the comment is kept: {gate}"
    );

    std::fs::remove_file(lab.path("trace.txt")).expect("clear the trace");
    let (paused, _) = lab.run(&file, &[]).await;
    let answered = lab
        .project
        .approve(
            &paused.run_id,
            "gate",
            false,
            None,
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .expect("the rejection is answered");
    assert_eq!(
        answered.outcome.status,
        RunStatus::Succeeded,
        "on_false handles the rejection"
    );
    assert_eq!(
        lab.lines("trace.txt"),
        ["rework"],
        "only the rejected branch runs"
    );
}

#[tokio::test]
async fn a_rejection_without_on_false_ends_the_run_as_rejected() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "strict",
        &format!(
            "steps:\n  - id: gate\n    action: approval\n    message: Ship it?\n{}",
            trace("ship", "ship", "    depends_on: [gate]\n"),
        ),
    );
    let (paused, _) = lab.run(&file, &[]).await;
    let wrong = lab
        .project
        .approve(
            &paused.run_id,
            "ship",
            true,
            None,
            tokio_util::sync::CancellationToken::new(),
        )
        .await;
    let refusal = wrong.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        refusal.contains("does not wait for `ship`") && refusal.contains("`gate`"),
        "{refusal}"
    );
    let answered = lab
        .project
        .approve(
            &paused.run_id,
            "gate",
            false,
            Some("not yet".to_owned()),
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .expect("the rejection is answered");
    assert_eq!(answered.outcome.status, RunStatus::Rejected);
    assert!(
        answered
            .outcome
            .error
            .as_deref()
            .is_some_and(|e| e.contains("not yet")),
        "{:?}",
        answered.outcome.error
    );
    assert!(lab.lines("trace.txt").is_empty());
}

#[tokio::test]
async fn a_route_back_leaves_a_branch_that_is_still_running_to_finish() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "racing",
        &format!(
            "steps:\n{}{}  - id: slow\n    action: shell\n    depends_on: [start]\n    run: [sh, -c, 'sleep 0.5; echo slow >> trace.txt']\n  - id: merge\n    action: shell\n    depends_on: [fast, slow]\n    join: any\n    run: [sh, -c, 'grep -c start trace.txt']\n    routes:\n      - when: merge.output | trim | int < 2\n        goto: start\n        max_loops: 3\n",
            trace("start", "start", ""),
            trace("fast", "fast", "    depends_on: [start]\n"),
        ),
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_run(&result, RunStatus::Succeeded);
    let lines = lab.lines("trace.txt");
    assert_eq!(
        lines.iter().filter(|line| *line == "start").count(),
        2,
        "the route back ran `start` again: {lines:?}"
    );
    assert!(
        lines.iter().any(|line| line == "slow"),
        "the branch still running when the route was taken finished: {lines:?}"
    );
    lab.assert_store_intact();
}

#[tokio::test]
async fn a_route_that_cannot_be_weighed_fails_its_step_and_skips_on_success() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "weigh",
        &format!(
            "steps:\n  - id: check\n    action: template\n    template: plain text\n    on_success: celebrate\n    on_failure: continue\n    routes:\n      - when: check.output.missing == 1\n        goto: later\n{}{}",
            trace("celebrate", "celebrate", ""),
            trace("later", "later", ""),
        ),
    );
    let (_, result) = lab.run(&file, &[]).await;
    assert_eq!(status(&result, "check"), StepStatus::Failed);
    assert_error(
        &result,
        "check",
        &["the `when` of the route to `later` does not evaluate"],
        "the step says which route it could not weigh",
    );
    assert!(
        lab.lines("trace.txt").is_empty(),
        "neither `on_success` nor the route is taken by a failed step: {:?}",
        lab.lines("trace.txt")
    );
}

#[tokio::test]
async fn a_cancelled_paused_run_cancels_its_approval_and_takes_no_answer() {
    let lab = Lab::new();
    let file = lab.pipeline(
        "paused",
        &format!(
            "steps:\n  - id: gate\n    action: approval\n    message: Go?\n{}",
            trace("go", "go", "    depends_on: [gate]\n"),
        ),
    );
    let (paused, _) = lab.run(&file, &[]).await;
    let said = lab
        .project
        .cancel(&paused.run_id)
        .expect("the run is cancelled");
    assert!(said.contains("is cancelled"), "{said}");
    let result = lab.result(&paused.run_id);
    assert_run(&result, RunStatus::Cancelled);
    assert_eq!(
        status(&result, "gate"),
        StepStatus::Cancelled,
        "nobody can answer it any more"
    );
    let refused = lab
        .project
        .approve(
            &paused.run_id,
            "gate",
            true,
            None,
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(refused.contains("waits for nobody"), "{refused}");
    assert!(
        lab.lines("trace.txt").is_empty(),
        "nothing after the approval ran"
    );
    lab.assert_store_intact();
}

#[tokio::test]
async fn a_pipeline_step_s_timeout_stops_its_child_run() {
    let lab = Lab::new();
    lab.pipeline(
        "sleeper",
        "steps:\n  - id: nap\n    action: shell\n    run: [sh, -c, 'sleep 30 & echo $! > child.pid; wait']\n",
    );
    let file = lab.pipeline(
        "impatient",
        "steps:\n  - id: sub\n    action: pipeline\n    path: sleeper.yaml\n    timeout: 700ms\n",
    );
    let began = std::time::Instant::now();
    let (_, result) = lab.run(&file, &[]).await;
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "the step stops at its timeout, not when the child run ends"
    );
    assert_run(&result, RunStatus::Failed);
    assert_error(
        &result,
        "sub",
        &["timed out after 700ms"],
        "the step says it timed out",
    );
    lab.assert_child_gone("the child run's program is stopped with it")
        .await;
}
