//! The OS keychain with the real binary. A real Secret Service (GNOME Keyring, started unlocked
//! in a D-Bus session of the test's own, with a home of its own) keeps the key that `orchestra
//! auth set` reads from standard input; a run sends it to a protocol server that speaks the
//! OpenAI wire format, and no file holds it; `auth remove` deletes it. Without a session bus, or
//! with one that never answers, `auth set` keeps the key in the 0600 key file and says so, without
//! waiting longer than the keychain's time limit.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Project, assert_in_no_file};
use orchestra_llm_server::{LlmServer, Reply};
use serde_json::Value;

/// A key of no known shape, so that only its exact value can be searched for.
const KEY: &str = "keychain-key-3b8e5d21c7f4";

/// The password of the test's keyring, which `gnome-keyring-daemon --unlock` reads on its
/// standard input.
const KEYRING_PASSWORD: &str = "keyring-password-of-the-test";

/// Starts GNOME Keyring's Secret Service in the D-Bus session that `dbus-run-session` made, waits
/// until it owns its name on the bus, prints the bus's address, and keeps the session alive until
/// its standard input closes; then stops the daemon it started.
const SESSION_SCRIPT: &str = r#"
printf '%s' "$KEYRING_PASSWORD" | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null &
keyring=$!
tries=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; do
    tries=$((tries + 1))
    if [ "$tries" -ge 200 ]; then
        echo "gnome-keyring-daemon did not take the name org.freedesktop.secrets within 10 seconds" >&2
        kill "$keyring"
        exit 1
    fi
    sleep 0.05
done
echo "$DBUS_SESSION_BUS_ADDRESS"
cat >/dev/null
kill "$keyring"
wait "$keyring"
"#;

/// A D-Bus session with a running, unlocked Secret Service, which lives as long as this value.
struct SecretService {
    session: Child,
    /// Closing it ends the session.
    input: Option<ChildStdin>,
    /// The session bus's address, for `DBUS_SESSION_BUS_ADDRESS`.
    address: String,
    /// The home of the keyring's own files (its encrypted keyrings) and its control socket.
    home: tempfile::TempDir,
}

impl SecretService {
    fn start() -> Self {
        let home = tempfile::tempdir().expect("a home folder for the keyring");
        let runtime = home.path().join("run");
        std::fs::create_dir(&runtime).expect("a runtime folder for the keyring");
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))
            .expect("the runtime folder is private");
        let log = std::fs::File::create(home.path().join("session.log"))
            .expect("a log of the session's own messages");
        // Everything the daemon finds its keyrings and sockets by points into the test's home,
        // so that the keyring of the person running the tests is neither read nor unlocked.
        let mut session = Command::new("dbus-run-session")
            .args(["--", "sh", "-c", SESSION_SCRIPT])
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("KEYRING_PASSWORD", KEYRING_PASSWORD)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("GNOME_KEYRING_CONTROL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect(
                "dbus-run-session starts: scripts/setup installs it (Debian package dbus-daemon)",
            );
        let mut line = String::new();
        BufReader::new(session.stdout.take().expect("the session's output"))
            .read_line(&mut line)
            .expect("the session's output reads");
        let address = line.trim().to_owned();
        let input = session.stdin.take();
        let service = Self {
            session,
            input,
            address,
            home,
        };
        assert!(
            service.address.starts_with("unix:"),
            "the session prints its bus's address once gnome-keyring-daemon (scripts/setup installs gnome-keyring) serves the Secret Service; it printed {:?}, and said: {}",
            service.address,
            std::fs::read_to_string(service.home.path().join("session.log")).unwrap_or_default()
        );
        service
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // Closing its input ends the script, which stops the daemon; the session then ends.
        drop(self.input.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.session.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.session.kill();
        let _ = self.session.wait();
    }
}

/// Runs `orchestra` with `input` on its standard input; its exit code, output and errors.
fn orchestra_with_input(
    project: &Project,
    args: &[&str],
    env: &[(&str, &str)],
    input: &str,
) -> (Option<i32>, String, String) {
    let mut child = project
        .command(args, env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("orchestra starts");
    child
        .stdin
        .take()
        .expect("its input")
        .write_all(input.as_bytes())
        .expect("the key is written to its input");
    let output = child.wait_with_output().expect("orchestra ends");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The entry of `provider` in `orchestra auth status --json`.
fn key_status(project: &Project, env: &[(&str, &str)], provider: &str) -> Value {
    let (code, stdout, stderr) = project.orchestra_with(&["auth", "status", "--json"], env);
    assert_eq!(code, Some(0), "`auth status --json` works: {stderr}");
    assert!(!stdout.contains(KEY), "the status never shows the key");
    let providers: Value = serde_json::from_str(&stdout).expect("the status is JSON");
    providers
        .as_array()
        .and_then(|providers| providers.iter().find(|entry| entry["provider"] == provider))
        .cloned()
        .unwrap_or_else(|| panic!("`{provider}` is in the status: {stdout}"))
}

/// The line of `provider` in `orchestra auth status`, and the whole text.
fn status_line(project: &Project, env: &[(&str, &str)], provider: &str) -> (String, String) {
    let (code, stdout, stderr) = project.orchestra_with(&["auth", "status"], env);
    assert_eq!(code, Some(0), "`auth status` works: {stderr}");
    assert!(!stdout.contains(KEY), "the status never shows the key");
    let line = stdout
        .lines()
        .find(|line| line.starts_with(&format!("{provider} ")))
        .unwrap_or_else(|| panic!("`{provider}` has a line in the status: {stdout}"))
        .to_owned();
    (line, stdout)
}

#[test]
fn a_key_set_in_the_keychain_reaches_the_provider_and_no_file() {
    let keychain = SecretService::start();
    let server = LlmServer::start();
    server.reply(Reply::Text("Hello from the test server.".to_owned()));
    let project = Project::empty();
    let base_url = server.openai_base_url();
    // A service of this test's own, so that nothing it does meets another set of keys.
    let service = "orchestra-keychain-test";
    let env = [
        ("DBUS_SESSION_BUS_ADDRESS", keychain.address.as_str()),
        ("ORCHESTRA_KEYCHAIN_SERVICE", service),
        ("OPENAI_BASE_URL", base_url.as_str()),
    ];

    let (code, stdout, stderr) = orchestra_with_input(
        &project,
        &["auth", "set", "openai"],
        &env,
        &format!("{KEY}\n"),
    );
    assert_eq!(code, Some(0), "`auth set` works: {stdout}{stderr}");
    assert_eq!(
        stdout.trim(),
        format!("the key of `openai` is stored in the OS keychain (service `{service}`)"),
        "`auth set` says the key went to the keychain, under the service the environment names"
    );
    assert!(
        !(stdout.contains(KEY) || stderr.contains(KEY)),
        "`auth set` never shows the key"
    );
    assert!(
        !project.global.path().join("keys.yaml").exists(),
        "with a keychain, no key file is written"
    );
    let status = key_status(&project, &env, "openai");
    assert_eq!(
        (&status["key"], &status["source"], &status["service"]),
        (
            &Value::from("set"),
            &Value::from("keychain"),
            &Value::from(service)
        ),
        "the status says the key comes from the keychain: {status}"
    );
    let (line, text) = status_line(&project, &env, "openai");
    assert!(
        line.contains(&format!("key in the OS keychain, service `{service}`")),
        "the status line says where the key is: {line}"
    );
    assert!(
        text.contains(&format!(
            "keys you set are kept in the OS keychain (service `{service}`)"
        )),
        "the status says where keys set now go: {text}"
    );

    project.write(
        "hello.yaml",
        "orchestra: 1\nid: hello\nsteps:\n  - id: greet\n    action: generate\n    prompt: Say hello.\n    model: openai:gpt-4.1-mini\n",
    );
    let (code, stdout, stderr) = project.orchestra_with(&["run", "hello.yaml"], &env);
    assert_eq!(
        code,
        Some(0),
        "the run succeeds with the key from the keychain: {stdout}{stderr}"
    );
    assert!(
        !(stdout.contains(KEY) || stderr.contains(KEY)),
        "the run never shows the key"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "the one step asks the model once");
    assert_eq!(
        requests[0].headers.get("authorization"),
        Some(&format!("Bearer {KEY}")),
        "the key from the keychain is sent to OPENAI_BASE_URL, and OPENAI_API_KEY is not set"
    );
    assert_in_no_file(
        project.dir.path(),
        KEY,
        "the project (its run store, its run folder)",
    );
    assert_in_no_file(project.global.path(), KEY, "the global folder");
    let keyrings = assert_in_no_file(
        &keychain.home.path().join("data"),
        KEY,
        "the keyring's own data (its keyrings are encrypted)",
    );
    assert!(
        keyrings > 0,
        "the keyring keeps its items in files of its own, and they were searched"
    );

    let (code, stdout, stderr) = project.orchestra_with(&["auth", "remove", "openai"], &env);
    assert_eq!(code, Some(0), "`auth remove` works: {stderr}");
    assert_eq!(
        stdout.trim(),
        "the key of `openai` is removed from the OS keychain",
        "`auth remove` says where it removed the key from"
    );
    let status = key_status(&project, &env, "openai");
    assert_eq!(
        status["key"], "not set",
        "once removed, the key is not set: {status}"
    );
    let (line, _) = status_line(&project, &env, "openai");
    assert!(
        line.contains("key not set"),
        "the status line says the key is not set: {line}"
    );
    let (_, stdout, _) = project.orchestra_with(&["auth", "remove", "openai"], &env);
    assert_eq!(
        stdout.trim(),
        "no key of `openai` was stored",
        "the keychain no longer holds the key"
    );
}

/// Runs `auth set openai` with the session bus at `address`, and checks that the key went to the
/// key file, readable only by the user, with a sentence that says so and why, within `limit`.
/// Returns the reason given.
fn assert_stored_in_the_file(address: &str, limit: Duration) -> String {
    let project = Project::empty();
    let env = [("DBUS_SESSION_BUS_ADDRESS", address)];
    let started = Instant::now();
    let (code, stdout, stderr) = orchestra_with_input(
        &project,
        &["auth", "set", "openai"],
        &env,
        &format!("{KEY}\n"),
    );
    let took = started.elapsed();
    assert_eq!(
        code,
        Some(0),
        "`auth set` works without a keychain: {stdout}{stderr}"
    );
    assert!(
        took < limit,
        "without a keychain `auth set` takes less than {limit:?}; it took {took:?}"
    );
    assert!(
        stderr.is_empty(),
        "nothing is printed on errors (no panic, no debug output): {stderr}"
    );
    let file = project.global.path().join("keys.yaml");
    let said = format!(
        ", so the key of `openai` is stored in {}, readable only by you (mode 0600)\n",
        file.display()
    );
    let reason = stdout
        .strip_prefix("no OS keychain was found (")
        .and_then(|rest| rest.strip_suffix(&said))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| {
            panic!("one sentence says that no keychain was found and where the key went: {stdout}")
        })
        .to_owned();
    assert!(!stdout.contains(KEY), "`auth set` never shows the key");
    let mode = std::fs::metadata(&file)
        .expect("the key file is written")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only the user may read the key file");
    let status = key_status(&project, &env, "openai");
    assert_eq!(
        (&status["source"], &status["path"]),
        (
            &Value::from("file"),
            &Value::from(file.display().to_string())
        ),
        "the status says the key comes from the key file: {status}"
    );
    let (_, text) = status_line(&project, &env, "openai");
    assert!(
        text.contains(&format!(
            "no OS keychain was found ({reason}): keys you set are kept in {}, readable only by you (mode 0600)",
            file.display()
        )),
        "the status says where keys set now go, and why: {text}"
    );
    let (code, stdout, _) = project.orchestra_with(&["auth", "remove", "openai"], &env);
    assert_eq!(code, Some(0), "`auth remove` works without a keychain");
    assert!(
        stdout.starts_with(&format!(
            "the key of `openai` is removed from {}; the OS keychain was not searched: ",
            file.display()
        )),
        "`auth remove` says what it removed, and that there was no keychain to search: {stdout}"
    );
    assert_in_no_file(
        project.global.path(),
        KEY,
        "the key file, once the key is removed,",
    );
    reason
}

#[test]
fn without_a_session_bus_auth_set_keeps_the_key_in_the_file_at_once_and_says_so() {
    let nowhere = tempfile::tempdir().expect("a folder with no bus in it");
    let address = format!("unix:path={}", nowhere.path().join("bus").display());
    let reason = assert_stored_in_the_file(&address, Duration::from_secs(2));
    assert!(
        reason.contains("No such file or directory"),
        "the reason is the missing bus, found at once rather than by waiting: {reason}"
    );
}

#[test]
fn a_session_bus_that_never_answers_costs_at_most_the_time_limit() {
    let folder = tempfile::tempdir().expect("a folder for the silent bus");
    let socket = folder.path().join("bus");
    // A socket that takes connections and never says a word: a bus, or a keychain, that hangs.
    let _silent = std::os::unix::net::UnixListener::bind(&socket).expect("a Unix socket");
    let address = format!("unix:path={}", socket.display());
    let reason = assert_stored_in_the_file(&address, Duration::from_secs(6));
    assert!(
        reason.starts_with("the Secret Service did not answer within 2 seconds"),
        "the reason is the keychain's time limit: {reason}"
    );
}

#[test]
fn a_key_set_in_the_keychain_replaces_the_copy_in_the_key_file() {
    let keychain = SecretService::start();
    let project = Project::empty();
    let file = project.global.path().join("keys.yaml");
    std::fs::write(&file, format!("openai: \"{KEY}-older\"\n")).expect("an older key file");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
        .expect("the key file is private");
    let service = "orchestra-keychain-test-moved";
    let bus = [
        ("DBUS_SESSION_BUS_ADDRESS", keychain.address.as_str()),
        ("ORCHESTRA_KEYCHAIN_SERVICE", service),
    ];
    let with_variable = [
        bus[0],
        bus[1],
        ("OPENAI_API_KEY", "a-key-of-the-environment"),
    ];

    let (code, stdout, stderr) = orchestra_with_input(
        &project,
        &["auth", "set", "openai"],
        &with_variable,
        &format!("{KEY}\n"),
    );
    assert_eq!(code, Some(0), "`auth set` works: {stdout}{stderr}");
    assert_eq!(
        stdout.trim(),
        format!(
            "the key of `openai` is stored in the OS keychain (service `{service}`), and the older copy in {} is removed; OPENAI_API_KEY is set in this environment and is used instead while it is",
            file.display()
        ),
        "`auth set` says where the key went, that the file's copy is gone, and what takes precedence"
    );
    assert_in_no_file(
        project.global.path(),
        KEY,
        "the global folder, once the key moved,",
    );
    let status = key_status(&project, &with_variable, "openai");
    assert_eq!(
        (&status["source"], &status["variable"]),
        (&Value::from("environment"), &Value::from("OPENAI_API_KEY")),
        "the environment variable comes before the keychain: {status}"
    );
    let status = key_status(&project, &bus, "openai");
    assert_eq!(
        status["source"], "keychain",
        "without the variable, the key comes from the keychain: {status}"
    );
}
