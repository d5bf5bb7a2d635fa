//! A conversation with an interactive agent through `orchestra attach`, with the real binary and
//! a protocol server for the model: the person's turn is kept when the process is killed while
//! the model answers it, and attaching again goes on from there.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Project;
use orchestra_llm_server::{LlmServer, Reply};
use serde_json::Value;

const KEY: &str = "chat-key-93e1b7c04f";

const CHAT: &str = "orchestra: 1\nid: chat\nsteps:\n  - id: plan\n    action: agent\n    prompt: Plan the launch with me.\n    model: smart\n    mode: interactive\n";

#[test]
fn a_conversation_goes_on_where_it_was_after_its_process_is_killed() {
    let server = LlmServer::start();
    server.reply(Reply::Text("Plan: announce, demo, follow up.".to_owned()));
    // The answer to the person's first turn never comes: the process is killed while it waits.
    server.reply(Reply::Hang);
    server.reply(Reply::Text("Plan: announce.".to_owned()));
    let project = Project::empty();
    project.write("chat.yaml", CHAT);
    let base_url = server.openai_base_url();
    let env = [
        ("OPENAI_API_KEY", KEY),
        ("OPENAI_BASE_URL", base_url.as_str()),
    ];

    let (code, stdout, stderr) = project.orchestra_with(&["run", "chat.yaml"], &env);
    assert_eq!(
        code,
        Some(3),
        "the run pauses for the person\n{stdout}\n{stderr}"
    );
    let run = project.newest_run();
    assert!(
        stdout.contains(&format!(
            "`plan` waits for your reply: `orchestra attach {run} --step plan`"
        )),
        "the run says how to take part: {stdout}"
    );

    let mut attached = project
        .command(&["attach", &run], &env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("orchestra attach starts");
    attached
        .stdin
        .as_mut()
        .expect("its input")
        .write_all(b"Shorter, please.\n")
        .expect("the person types");
    let asked = Instant::now();
    while server.requests().len() < 2 {
        assert!(
            asked.elapsed() < Duration::from_secs(20),
            "the person's message reaches the model"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    attached.kill().expect("the process is killed mid-answer");
    let killed = attached.wait_with_output().expect("it ends");
    let shown = String::from_utf8_lossy(&killed.stdout);
    assert!(
        shown.contains("plan> Plan: announce, demo, follow up.")
            && shown.contains("task> Plan the launch with me."),
        "attach shows the conversation so far: {shown}"
    );

    let mut again = project
        .command(&["attach", &run], &env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("orchestra attach starts again");
    again
        .stdin
        .take()
        .expect("its input")
        .write_all(b"/done\n")
        .expect("the person ends the conversation");
    let output = again.wait_with_output().expect("it ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the run succeeds once the person is done\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("you> Shorter, please."),
        "the person's turn was kept before the process died: {stdout}"
    );
    assert!(
        stdout.contains("was interrupted; resuming it") && stdout.contains("plan> Plan: announce."),
        "the model's answer to it streams after the resume: {stdout}"
    );
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        3,
        "the interrupted turn is asked once more, and only it"
    );
    assert_eq!(
        requests[2].conversation(),
        [
            ("user".to_owned(), "Plan the launch with me.".to_owned()),
            (
                "assistant".to_owned(),
                "Plan: announce, demo, follow up.".to_owned()
            ),
            ("user".to_owned(), "Shorter, please.".to_owned()),
        ],
        "the conversation is rebuilt from the run's log"
    );
    let (_, shown, _) = project.orchestra(&["show", &run, "--json"]);
    let result: Value = serde_json::from_str(&shown).expect("show --json is JSON");
    let step = result["result"]["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|step| step["key"] == "plan"))
        .expect("the step's result");
    assert_eq!(
        step["output"], "Plan: announce.",
        "the last reply is the step's output"
    );
}
