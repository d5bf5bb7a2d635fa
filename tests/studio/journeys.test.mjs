// The studio, end to end: the real binary in a real window (under Xvfb in CI), driven through
// tauri-driver and WebKitWebDriver as a person would use it. Every journey starts the studio with
// a home folder of its own, so the first launch copies the bundled examples there; the journeys
// then read the files the studio wrote on disk. Screenshots go to `screenshots/`.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { remote } from "webdriverio";

const here = dirname(fileURLToPath(import.meta.url));
const target = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME ?? "", ".cache/orchestra/target");
const STUDIO = process.env.ORCHESTRA_STUDIO ?? join(target, "debug/orchestra-studio");
const CLI = process.env.ORCHESTRA_CLI ?? join(target, "debug/orchestra");
// The protocol server that speaks OpenAI's wire format on this machine (tests/llm-server).
const LLM_SERVER = process.env.ORCHESTRA_LLM_SERVER ?? join(target, "debug/llm-server");
const DRIVER = process.env.TAURI_DRIVER ?? "tauri-driver";
const SHOTS = join(here, "screenshots");
mkdirSync(SHOTS, { recursive: true });

let port = 4700;

function listening(at) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port: at }, () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

/** Starts the studio with a home folder (a fresh one unless given) and opens a WebDriver
 * session on its window; `extra` adds to its environment. */
async function launch(given, extra = {}) {
  const home = given ?? mkdtempSync(join(tmpdir(), "orchestra-studio-"));
  port += 2;
  const env = { ...process.env, HOME: home, ORCHESTRA_HOME: join(home, ".config/orchestra"), NO_AT_BRIDGE: "1", WEBKIT_DISABLE_COMPOSITING_MODE: "1" };
  delete env.XDG_CONFIG_HOME;
  // No key reaches a journey from the machine running it.
  for (const name of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DBUS_SESSION_BUS_ADDRESS"]) delete env[name];
  Object.assign(env, extra);
  // tauri-driver starts WebKitWebDriver, which starts the studio: a process group of their own
  // lets a journey end all three, as a person closing the studio would end it.
  const driver = spawn(DRIVER, ["--port", String(port), "--native-port", String(port + 1)], { env, stdio: ["ignore", "ignore", "inherit"], detached: true });
  for (let tries = 0; !(await listening(port)); tries += 1) {
    assert.ok(tries < 100, `tauri-driver did not listen on port ${port} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const browser = await remote({
    hostname: "127.0.0.1",
    port,
    logLevel: "warn",
    capabilities: {
      browserName: "wry",
      "tauri:options": { application: STUDIO },
      "wdio:enforceWebDriverClassic": true,
    },
  });
  const examples = join(home, "Orchestra", "examples");
  /** Ends the session, which closes the window and ends the studio's process. */
  let quitted = false;
  const quit = async () => {
    if (quitted) return;
    quitted = true;
    await browser.deleteSession().catch(() => {});
    try {
      process.kill(-driver.pid, "SIGTERM");
    } catch {
      // The group is gone already.
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  };
  const close = async () => {
    await quit();
    rmSync(home, { recursive: true, force: true });
  };
  return { browser, home, examples, quit, close };
}

/** Saves what the screen shows now as `screenshots/<name>.png` (ImageMagick's `import`; the
 * WebDriver screenshot of WebKitGTK hangs under Xvfb). */
async function shot(browser, name) {
  await browser.pause(300);
  const taken = spawnSync("import", ["-window", "root", join(SHOTS, `${name}.png`)], { encoding: "utf8" });
  assert.equal(taken.status, 0, `the screenshot ${name} is taken: ${taken.stderr}`);
}

/** Runs a journey in its own studio, closing it however the journey ends. `prepare` may put files
 * in the home folder before the first launch, and may return `{ env, stop }`: more environment
 * for the studio, and what to stop once the journey ends. */
function journey(name, body, prepare) {
  test(name, async () => {
    let home;
    let prepared = {};
    if (prepare) {
      home = mkdtempSync(join(tmpdir(), "orchestra-studio-"));
      prepared = (await prepare(home)) ?? {};
    }
    try {
      const studio = await launch(home, prepared.env);
      try {
        await body(studio);
      } catch (error) {
        await shot(studio.browser, `failed-${name.replace(/\W+/g, "-")}`).catch(() => {});
        throw error;
      } finally {
        await studio.close();
      }
    } finally {
      prepared.stop?.();
    }
  });
}

const byTest = (browser, id) => browser.$(`[data-testid="${id}"]`);

async function openPipeline(browser, id) {
  const entry = await byTest(browser, `pipeline-${id}`);
  await entry.waitForDisplayed({ timeout: 20000, timeoutMsg: `the sidebar lists the pipeline ${id}` });
  await entry.click();
  await byTest(browser, "canvas").waitForDisplayed({ timeoutMsg: "opening a pipeline shows its canvas" });
  await byTest(browser, `node-${firstStep[id]}`).waitForDisplayed({ timeoutMsg: `the canvas draws ${id}'s first step` });
}

const firstStep = { hello: "machine", "sign-off": "usage", slow: "wait", greet: "say", chat: "namer" };

/** Clicks Run, fills the inputs form with `inputs` (by input name), and starts the run. */
async function startRun(browser, inputs = {}) {
  const run = await byTest(browser, "run");
  await run.waitForEnabled({ timeoutMsg: "a saved, valid pipeline can be run" });
  await run.click();
  await byTest(browser, "run-dialog").waitForDisplayed({ timeoutMsg: "Run opens the inputs form" });
  for (const [name, value] of Object.entries(inputs)) {
    await browser.$(`[data-testid="run-dialog"] [aria-label="${name}"]`).setValue(value);
  }
  await byTest(browser, "run-start").click();
}

async function waitForState(browser, step, state, timeout = 30000) {
  await browser.$(`[data-testid="node-${step}"][data-state="${state}"]`).waitForExist({
    timeout,
    timeoutMsg: `the node ${step} reaches ${state}`,
  });
}

journey("the first launch opens the bundled examples, each with its validation state", async ({ browser }) => {
  const name = await byTest(browser, "project-name");
  await name.waitForDisplayed({ timeout: 20000 });
  await browser.waitUntil(async () => (await name.getText()) === "examples", { timeoutMsg: "the examples project is open" });
  for (const id of ["hello", "sign-off", "pr-review", "research-brief"]) {
    const entry = await byTest(browser, `pipeline-${id}`);
    await entry.waitForDisplayed({ timeoutMsg: `the sidebar lists ${id}` });
    assert.match(await entry.getText(), /valid/, `${id} shows that it is valid`);
  }
});

journey("a step dragged from the palette, connected and filled in is saved as YAML on disk", async ({ browser, examples }) => {
  await openPipeline(browser, "hello");
  const item = await byTest(browser, "palette-shell");
  const canvas = await byTest(browser, "canvas");
  await browser
    .action("pointer")
    .move({ origin: item })
    .down()
    .move({ origin: canvas, x: 0, y: 120, duration: 300 })
    .move({ origin: canvas, x: 10, y: 140, duration: 100 })
    .up()
    .perform();
  const added = await byTest(browser, "node-shell");
  await added.waitForDisplayed({ timeoutMsg: "the dropped shell step appears on the canvas" });

  const from = await browser.$('[data-testid="node-greeting"] .react-flow__handle-right');
  const to = await browser.$('[data-testid="node-shell"] .react-flow__handle-left');
  await to.waitForDisplayed({ timeoutMsg: "the new step has its input handle" });
  // The new step has no command yet, and the backend's answer writes that on the node, which
  // makes it taller and moves its handles: connect once the node has its final size. React Flow
  // measures the handles in the frames after that.
  await browser.$('[data-testid="node-shell"][data-problem="error"]').waitForExist({ timeout: 10000, timeoutMsg: "the new step shows that it needs a command" });
  await browser.pause(500);
  await browser.action("pointer").move({ origin: from }).down().move({ origin: to, duration: 400 }).move({ origin: to, duration: 100 }).up().perform();
  await browser.$('.react-flow__edge[data-id="data:greeting>shell"]').waitForExist({ timeoutMsg: "connecting greeting to the new step draws a data edge" });

  await added.click();
  const run = await browser.$('[data-testid="inspector"] textarea[aria-label="run *"]');
  await run.waitForDisplayed({ timeoutMsg: "the inspector shows the shell action's form" });
  await run.setValue('["echo", "drawn in the studio"]');
  await browser.$('[data-testid="inspector"] h3').click();
  await byTest(browser, "unsaved").waitForDisplayed({ timeoutMsg: "the change is marked unsaved" });
  await shot(browser, "editor");

  await browser.waitUntil(async () => (await byTest(browser, "save").isEnabled()), { timeoutMsg: "Save is offered" });
  await byTest(browser, "save").click();
  await byTest(browser, "unsaved").waitForExist({ reverse: true, timeoutMsg: "saving clears the unsaved mark" });

  const file = join(examples, "pipelines", "hello.yaml");
  const saved = readFileSync(file, "utf8");
  assert.match(saved, /\n {2}- id: shell\n {4}action: shell\n/, `the new step is in the file:\n${saved}`);
  assert.match(saved, /depends_on: \[greeting\]/, `the new step depends on greeting:\n${saved}`);
  assert.match(saved, /run: \[echo, drawn in the studio\]/, `the form's command is saved as a list:\n${saved}`);
  assert.match(saved, /\n {4}shell: \{ x: -?\d+, y: -?\d+ \}/, `the node's position is in the layout:\n${saved}`);
  const validated = spawnSync(CLI, ["validate", "--deny-warnings", file], { encoding: "utf8" });
  assert.equal(validated.status, 0, `the saved file validates with the command line: ${validated.stdout}${validated.stderr}`);
  const formatted = spawnSync(CLI, ["fmt", "--check", file], { encoding: "utf8" });
  assert.equal(formatted.status, 0, `the studio writes the command line's canonical form: ${formatted.stdout}${formatted.stderr}`);
});

journey("running hello lights every node up to succeeded and shows the output", async ({ browser }) => {
  await openPipeline(browser, "hello");
  await startRun(browser);
  await waitForState(browser, "machine", "succeeded");
  await waitForState(browser, "greeting", "succeeded");
  await browser.waitUntil(async () => (await byTest(browser, "run-status").getText()) === "succeeded", { timeout: 30000, timeoutMsg: "the run succeeds" });
  await byTest(browser, "node-greeting").click();
  await browser.waitUntil(async () => (await byTest(browser, "step-output").getText()).includes("Hello, world!"), {
    timeoutMsg: "the output panel shows the greeting step's output",
  });

  // The run history has it, with its quality-control report.
  await byTest(browser, "tab-runs").click();
  const row = await browser.$('[data-testid^="run-row-"]');
  await row.waitForDisplayed({ timeoutMsg: "the run history lists the run" });
  assert.match(await row.getText(), /succeeded/, "the history shows the run's status");
  // A table row is not "interactable" to WebKitWebDriver; a person clicks one of its cells.
  await row.$("td:nth-child(3)").click();
  const report = await byTest(browser, "qc-report");
  await report.waitForDisplayed({ timeout: 15000, timeoutMsg: "the run page shows the QC report" });
  assert.match(await byTest(browser, "qc-score").getText(), /^\d+/, "the QC report shows a score");
  await byTest(browser, "timeline-step-greeting").waitForDisplayed({ timeoutMsg: "the timeline lists the greeting step" });
  await byTest(browser, "timeline-step-greeting").click();
  const detail = await byTest(browser, "step-detail");
  await browser.waitUntil(async () => (await detail.getText()).includes("Hello, world!"), { timeoutMsg: "the step's output is on the run page" });
  await report.scrollIntoView();
  await shot(browser, "qc-report");
});

journey("a run waits for approval, and approving it lets it finish", async ({ browser }) => {
  await openPipeline(browser, "sign-off");
  await startRun(browser);
  const approval = await byTest(browser, "approval");
  await approval.waitForDisplayed({ timeout: 30000, timeoutMsg: "the approval step asks for a decision" });
  assert.match(await approval.getText(), /Publish this note for the Platform team\?/, "the approval shows its rendered message");
  await waitForState(browser, "sign_off", "waiting");
  await waitForState(browser, "note", "succeeded");
  await shot(browser, "run-in-progress");

  await browser.$('[data-testid="approval"] input[aria-label="Comment"]').setValue("Looks right.");
  await byTest(browser, "approve").click();
  await waitForState(browser, "publish", "succeeded");
  await browser.waitUntil(async () => (await byTest(browser, "run-status").getText()) === "succeeded", { timeout: 30000, timeoutMsg: "the approved run succeeds" });
});

journey("a pipeline opens fitted to the view, wherever the last one was panned", async ({ browser }) => {
  await openPipeline(browser, "sign-off");
  // Drag the pane from its right edge to its left (above the minimap, which holds the bottom
  // right corner), which takes sign-off's first step out of view.
  const canvas = await byTest(browser, "canvas");
  const at = await canvas.getLocation();
  const size = await canvas.getSize();
  const y = Math.round(at.y + 80);
  await browser
    .action("pointer")
    .move({ origin: "viewport", x: Math.round(at.x + size.width - 40), y })
    .down()
    .move({ origin: "viewport", x: Math.round(at.x + 20), y, duration: 300 })
    .up()
    .perform();
  await byTest(browser, "node-usage").waitForExist({ reverse: true, timeoutMsg: "panning away takes the first step out of view (only nodes in view are drawn)" });
  await openPipeline(browser, "hello");
  await byTest(browser, "node-greeting").waitForDisplayed({ timeoutMsg: "hello's last step is in view too" });
});

journey("a mistake typed in the YAML panel marks its node and lists the problem", async ({ browser }) => {
  await openPipeline(browser, "hello");
  await byTest(browser, "tab-yaml").click();
  const line = await browser.$("//div[contains(@class,'cm-line')][contains(., 'depends_on: [machine]')]");
  await line.waitForDisplayed({ timeoutMsg: "the YAML panel shows the pipeline's text" });
  await line.click();
  await browser.keys(["End", "ArrowLeft", "x"]);
  await browser.$('[data-testid="node-greeting"][data-problem="error"]').waitForExist({ timeout: 10000, timeoutMsg: "the node with the mistake is marked" });
  const problems = await byTest(browser, "problems");
  assert.match(await problems.getText(), /machinex/, "the problems panel names the unknown step");
  await byTest(browser, "unsaved").waitForDisplayed({ timeoutMsg: "the typed change is unsaved" });
  assert.equal(await byTest(browser, "run").isEnabled(), false, "a pipeline with errors cannot be run");
});

/** A pipeline whose first step takes a while, put in the examples folder before the first launch
 * (which keeps files already there). */
/** Waits until the command line sees the project's one run as interrupted. */
async function waitUntilInterrupted(studio) {
  for (let tries = 0; tries < 50; tries += 1) {
    const runs = spawnSync(CLI, ["runs", "--json"], { cwd: studio.examples, encoding: "utf8", env: { ...process.env, HOME: studio.home } });
    if (runs.stdout.includes('"interrupted"')) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail("the run of a studio that was closed shows as interrupted within 10 s");
}

/** How long the slow step sleeps: a number no other program on the machine is likely to use, so
 * that the journey can tell whether the step's program outlived the studio. */
const SLEEP = "6.217";

/** Whether the slow step's program (`sleep 3.217`) is running. */
function sleeping() {
  return readdirSync("/proc").some((entry) => {
    try {
      return /^\d+$/.test(entry) && readFileSync(`/proc/${entry}/cmdline`, "utf8") === `sleep\0${SLEEP}\0`;
    } catch {
      return false;
    }
  });
}

/** Whether a studio started with this home folder is still running. */
function studioRunning(home) {
  return readdirSync("/proc").some((entry) => {
    try {
      return (
        /^\d+$/.test(entry) &&
        readFileSync(`/proc/${entry}/comm`, "utf8").startsWith("orchestra-studi") &&
        readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").includes(`HOME=${home}`)
      );
    } catch {
      return false;
    }
  });
}

/** Waits until the studio started with this home folder has ended. */
async function waitUntilEnded(home) {
  for (let tries = 0; studioRunning(home); tries += 1) {
    assert.ok(tries < 100, "the studio ends within 10 s of closing its window");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const SLOW = `orchestra: 1
id: slow
name: Slow
steps:
  - id: wait
    action: shell
    run: [sleep, "${SLEEP}"]
  - id: done
    action: template
    depends_on: [wait]
    template: finished
`;

journey(
  "closing the studio mid-run leaves the run interrupted, and the next launch resumes it",
  async (studio) => {
    const { browser } = studio;
    await openPipeline(browser, "slow");
    await startRun(browser);
    await waitForState(browser, "wait", "running");
    assert.ok(sleeping(), "the slow step's program runs while the step is running");
    const began = Date.now();
    // Ctrl+Q closes the window as its close button does (ending the WebDriver session instead
    // would kill the studio's process outright, which is a crash, not a close). The window may
    // close before WebDriver answers, which ends the session under the key press.
    await browser.keys(["Control", "q"]).catch(() => {});
    await waitUntilEnded(studio.home);
    assert.ok(!sleeping(), "closing the studio stopped the step's program too; it did not outlive the studio");
    assert.ok(Date.now() - began < Number(SLEEP) * 1000, "the program was stopped, not left to end by itself");
    await studio.quit();
    await waitUntilInterrupted(studio);

    const again = await launch(studio.home);
    try {
      const banner = await byTest(again.browser, "interrupted");
      await banner.waitForDisplayed({ timeout: 20000, timeoutMsg: "the next launch says the run was interrupted" });
      assert.match(await banner.getText(), /slow/, "the banner names the pipeline");
      await banner.$("button").click();
      await openPipeline(again.browser, "slow");
      await again.browser.waitUntil(
        async () => {
          await byTest(again.browser, "tab-runs").click();
          const rows = await again.browser.$$('[data-testid^="run-row-"]');
          return rows.length === 1 && /succeeded/.test(await rows[0].getText());
        },
        { timeout: 30000, interval: 1000, timeoutMsg: "the resumed run finishes as the same run" },
      );
    } finally {
      await again.quit();
    }
  },
  (home) => {
    mkdirSync(join(home, "Orchestra", "examples", "pipelines"), { recursive: true });
    writeFileSync(join(home, "Orchestra", "examples", "pipelines", "slow.yaml"), SLOW);
  },
);

journey("closing with unsaved changes asks first, and Save and close saves them", async ({ browser, examples, home }) => {
  await openPipeline(browser, "hello");
  await byTest(browser, "tab-yaml").click();
  const line = await browser.$("//div[contains(@class,'cm-line')][contains(., 'name: Hello, Orchestra')]");
  await line.waitForDisplayed({ timeoutMsg: "the YAML panel shows the pipeline's text" });
  await line.click();
  // Ctrl+Q at once, while the YAML panel still holds the typed text back: it counts as unsaved.
  // Ctrl+Q asks the window to close, as its close button does; the backend keeps it open and asks.
  await browser.keys(["End", "!"]);
  await browser.keys(["Control", "q"]);
  const asked = await byTest(browser, "close-asked");
  await asked.waitForDisplayed({ timeout: 10000, timeoutMsg: "closing with unsaved changes asks first" });
  assert.match(await asked.getText(), /pipelines\/hello\.yaml/, "the question names the file with unsaved changes");
  await asked.$("button=Keep editing").click();
  await asked.waitForExist({ reverse: true, timeoutMsg: "Keep editing dismisses the question" });
  assert.ok(studioRunning(home), "keeping on editing leaves the studio open");

  await browser.keys(["Control", "q"]);
  await asked.waitForDisplayed({ timeout: 10000, timeoutMsg: "closing again asks again" });
  await asked.$("button=Save and close").click();
  await waitUntilEnded(home);
  assert.match(readFileSync(join(examples, "pipelines", "hello.yaml"), "utf8"), /^name: Hello, Orchestra!$/m, "the change was saved before the studio closed");
});

/** A pipeline with two committed revisions, in a git repository made of the examples folder
 * before the first launch. */
function greetRevisions(home) {
  const examples = join(home, "Orchestra", "examples");
  mkdirSync(join(examples, "pipelines"), { recursive: true });
  const file = join(examples, "pipelines", "greet.yaml");
  const revision = (name) =>
    `orchestra: 1\nid: greet\nname: ${name}\ninputs:\n  who: { type: string }\nsteps:\n  - id: say\n    action: template\n    template: "Good day, {{ inputs.who }}."\n`;
  const git = (...args) => {
    const done = spawnSync("git", ["-c", "user.name=Ada", "-c", "user.email=ada@example.org", ...args], { cwd: examples, encoding: "utf8" });
    assert.equal(done.status, 0, `git ${args.join(" ")}: ${done.stderr}`);
  };
  git("init", "--quiet");
  writeFileSync(file, revision("Greet someone"));
  git("add", "pipelines/greet.yaml");
  git("commit", "--quiet", "-m", "A greeting");
  writeFileSync(file, revision("Greet someone politely"));
  git("commit", "--quiet", "-am", "A politer greeting");
}

journey(
  "a pipeline's git history shows the diff between two revisions, and two runs compare side by side",
  async ({ browser, examples, home }) => {
    await openPipeline(browser, "greet");
    await byTest(browser, "tab-history").click();
    const older = await browser.$('[data-testid="history"] tbody tr:nth-child(3) input[aria-label^="From "]');
    await older.waitForDisplayed({ timeout: 10000, timeoutMsg: "the history lists both revisions of the file" });
    await older.click();
    const diff = await byTest(browser, "diff");
    await browser.waitUntil(async () => /-name: Greet someone\n\+name: Greet someone politely/.test(await diff.getText()), {
      timeout: 10000,
      timeoutMsg: "the diff from the first revision to the working copy shows the renamed pipeline",
    });

    await byTest(browser, "tab-editor").click();
    for (const [index, who] of ["Ada", "Grace"].entries()) {
      await startRun(browser, { who });
      // The run panel may still show the last run; the store says when this one has succeeded.
      await browser.waitUntil(
        async () => {
          const runs = spawnSync(CLI, ["runs", "--json"], { cwd: examples, encoding: "utf8", env: { ...process.env, HOME: home } });
          return (runs.stdout.match(/"succeeded"/g) ?? []).length === index + 1;
        },
        { timeout: 30000, interval: 500, timeoutMsg: `the run for ${who} succeeds` },
      );
    }
    await byTest(browser, "tab-runs").click();
    const picks = () => browser.$$('[data-testid="runs"] input[aria-label^="Pick run"]');
    await browser.waitUntil(async () => (await picks()).length === 2, { timeout: 10000, timeoutMsg: "the run history lists both runs" });
    for (const pick of await picks()) await pick.click();
    await browser.$("button=Compare (2/2)").click();
    const row = await byTest(browser, "compare-step-say");
    await row.waitForDisplayed({ timeout: 10000, timeoutMsg: "the comparison lists the step" });
    const text = await row.getText();
    assert.match(text, /differs/, "the step's outputs differ between the runs");
    assert.match(text, /Good day, Ada\./, "the comparison shows the first run's output");
    assert.match(text, /Good day, Grace\./, "and the second run's");
  },
  greetRevisions,
);

/** The pipeline the protocol server's model drafts. */
const DRAFTED = "orchestra: 1\nid: today\nname: Today's date\nsteps:\n  - id: date\n    action: shell\n    run: [date]\n";

/** Starts the protocol server, which answers every request with `reply`, and points the studio's
 * OpenAI provider at it (with a key that exists only for this journey). */
async function modelServer(reply) {
  const server = spawn(LLM_SERVER, ["0", reply], { stdio: ["pipe", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    server.stdout.once("data", (line) => resolve(String(line).trim()));
    server.once("error", reject);
  });
  return { env: { OPENAI_API_KEY: "sk-journey-only", OPENAI_BASE_URL: url }, stop: () => server.stdin.end() };
}

journey(
  "a pipeline drafted from a description opens unsaved, and nothing runs until it is saved",
  async ({ browser, examples, home }) => {
    await byTest(browser, "project-name").waitForDisplayed({ timeout: 20000, timeoutMsg: "the studio opens the examples" });
    await browser.$("button=Describe, then draft…").click();
    const dialog = await byTest(browser, "draft-dialog");
    await dialog.waitForDisplayed({ timeoutMsg: "the draft dialog opens" });
    await dialog.$("textarea").setValue("Print today's date");
    await dialog.$("button=Draft").click();
    await byTest(browser, "node-date").waitForDisplayed({ timeout: 20000, timeoutMsg: "the drafted pipeline's step is on the canvas" });
    assert.match(await byTest(browser, "open-file").getText(), /pipelines\/draft\.yaml/, "the draft opens as the file named in the dialog");
    await byTest(browser, "unsaved").waitForDisplayed({ timeoutMsg: "the draft is unsaved" });
    assert.equal(await byTest(browser, "run").isEnabled(), false, "an unsaved draft cannot be run");
    const file = join(examples, "pipelines", "draft.yaml");
    assert.ok(!existsSync(file), "nothing is written before the person saves");

    await byTest(browser, "save").click();
    await byTest(browser, "unsaved").waitForExist({ reverse: true, timeoutMsg: "saving clears the unsaved mark" });
    assert.match(readFileSync(file, "utf8"), /run: \[date\]/, "the saved file holds the drafted step");
    await byTest(browser, "run").waitForEnabled({ timeoutMsg: "a saved draft can be run" });
    const runs = spawnSync(CLI, ["runs", "--json"], { cwd: examples, encoding: "utf8", env: { ...process.env, HOME: home } });
    assert.equal(runs.stdout.trim(), "[]", `nothing ran: ${runs.stdout}${runs.stderr}`);
  },
  () => modelServer(JSON.stringify({ yaml: DRAFTED })),
);

const CHAT = `orchestra: 1
id: chat
name: Name a project
steps:
  - id: namer
    action: agent
    mode: interactive
    prompt: Help me name a project about watching pipelines.
`;

journey(
  "an interactive agent step opens a chat, and finishing it ends the step with the last reply",
  async ({ browser }) => {
    await openPipeline(browser, "chat");
    await startRun(browser);
    const chat = await byTest(browser, "chat");
    await chat.waitForDisplayed({ timeout: 30000, timeoutMsg: "the interactive step opens a chat panel" });
    await waitForState(browser, "namer", "waiting");
    await browser.waitUntil(async () => /assistant How about Lumen\?/.test(await chat.getText()), { timeout: 10000, timeoutMsg: "the chat shows the model's first reply" });
    await chat.$('input[aria-label="Reply"]').setValue("Something shorter, please.");
    await chat.$("button=Send").click();
    await browser.waitUntil(
      async () => {
        const text = await chat.getText();
        return /user Something shorter, please\./.test(text) && (text.match(/assistant How about Lumen\?/g) ?? []).length === 2;
      },
      { timeout: 20000, timeoutMsg: "the chat shows the person's message and the model's answer to it" },
    );
    await chat.$("button=Finish").click();
    await waitForState(browser, "namer", "succeeded");
    await browser.waitUntil(async () => (await byTest(browser, "run-status").getText()) === "succeeded", { timeout: 30000, timeoutMsg: "finishing the conversation lets the run succeed" });
    // The one node fills the canvas, partly under the minimap: a person clicks its title.
    await browser.$('[data-testid="node-namer"] .node-title').click();
    await browser.waitUntil(async () => (await byTest(browser, "step-output").getText()).includes("How about Lumen?"), { timeoutMsg: "the last reply is the step's output" });
  },
  async (home) => {
    mkdirSync(join(home, "Orchestra", "examples", "pipelines"), { recursive: true });
    writeFileSync(join(home, "Orchestra", "examples", "pipelines", "chat.yaml"), CHAT);
    return modelServer("How about Lumen?");
  },
);

journey("auto-layout arranges the steps, and a change made outside the studio is offered for reload", async ({ browser, examples }) => {
  await openPipeline(browser, "sign-off");
  const before = await byTest(browser, "node-publish").getLocation();
  await browser.$("button=Auto-layout").click();
  await byTest(browser, "unsaved").waitForDisplayed({ timeoutMsg: "auto-layout changes the layout, unsaved" });
  await byTest(browser, "save").click();
  await byTest(browser, "unsaved").waitForExist({ reverse: true, timeoutMsg: "the new layout is saved" });
  const saved = readFileSync(join(examples, "pipelines", "sign-off.yaml"), "utf8");
  assert.doesNotMatch(saved, /publish: \{ x: 840, y: 0 \}/, `the layout block changed:\n${saved}`);
  assert.ok(before, "the node was drawn before the layout");

  const file = join(examples, "pipelines", "sign-off.yaml");
  writeFileSync(file, saved.replace("name: Publish with sign-off", "name: Publish after a sign-off"));
  const offer = await byTest(browser, "changed-on-disk");
  await offer.waitForDisplayed({ timeout: 10000, timeoutMsg: "the studio notices the file changed on disk" });
  await offer.$("button").click();
  await browser.waitUntil(async () => !(await byTest(browser, "changed-on-disk").isExisting()), { timeoutMsg: "reloading clears the notice" });
  await byTest(browser, "tab-yaml").click();
  await browser
    .$("//div[contains(@class,'cm-line')][contains(., 'Publish after a sign-off')]")
    .waitForExist({ timeoutMsg: "the reloaded text is in the YAML panel" });
});

journey("a key set in the settings is kept by the backend, and the page only learns that it is set", async ({ browser, home }) => {
  await browser.$("button=Settings").click();
  const row = await byTest(browser, "provider-openai");
  await row.waitForDisplayed({ timeout: 10000, timeoutMsg: "the settings page lists the OpenAI provider" });
  assert.doesNotMatch(await row.getText(), /✓/, "no key is set at first");
  const secret = "sk-test-1234567890-never-shown";
  await row.$('input[aria-label="Key of openai"]').setValue(secret);
  await row.$("button=Set key").click();
  await browser.waitUntil(async () => /✓/.test(await row.getText()), { timeout: 10000, timeoutMsg: "the provider shows its key as set" });
  const page = await browser.execute(() => document.documentElement.outerHTML);
  assert.ok(!page.includes(secret), "the key's value is nowhere in the page, not even in the input");
  const stored = spawnSync("grep", ["-rl", secret, join(home, ".config", "orchestra")], { encoding: "utf8" });
  assert.equal(stored.status, 0, "the backend kept the key in the user's Orchestra folder (no keychain under test)");
});
