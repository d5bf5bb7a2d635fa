import { beforeEach, describe, expect, it } from "vitest";

import type { Change, Progress } from "../bindings";
import { type LiveRun, finishedSteps, fold, newRun, useRuns } from "./run";

const RUN = "run-1";
const T0 = 1_000;

/** One change of `RUN`, at `seq`, about `step` (none for the run's own changes). */
function progress(seq: number | null, step: string | null, change: Change, run = RUN): Progress {
  return { run, seq, step, change };
}

const stepChange = (status: string, extra: { attempt?: number; error?: string | null; output?: string | null } = {}): Change => ({
  type: "step",
  status,
  attempt: extra.attempt ?? 1,
  error: extra.error ?? null,
  output: extra.output ?? null,
});
const output = (text: string, stream = "stdout"): Change => ({ type: "output", stream, text });
const usage = (tokens: number | null, cost_usd: number | null): Change => ({ type: "usage", tokens, cost_usd });
const waiting = (message: string, kind = "approval"): Change => ({ type: "waiting", kind, message });
const message = (role: string, text: string): Change => ({ type: "message", role, text });
const finished = (status: string, error: string | null = null): Change => ({ type: "run_finished", status, error });
const started = (file = "pipelines/hello.yaml"): Change => ({ type: "run_started", pipeline: "hello", file });

/** Folds changes given in order (each at the next seq, from 1), at time `T0 + seq`. */
function foldAll(run: LiveRun, changes: [string | null, Change][], firstSeq = run.seq + 1): LiveRun {
  return changes.reduce((live, [step, change], index) => fold(live, progress(firstSeq + index, step, change), T0 + firstSeq + index), run);
}

describe("newRun", () => {
  it("starts a running run with nothing folded yet", () => {
    expect(newRun(RUN, T0, "pipelines/hello.yaml")).toEqual({
      id: RUN,
      file: "pipelines/hello.yaml",
      status: "running",
      startedAt: T0,
      steps: {},
      waiting: [],
      chat: {},
      tokens: 0,
      costUsd: 0,
      seq: 0,
    });
  });

  it("leaves the file out when it is not known", () => {
    expect(newRun(RUN, T0).file).toBeUndefined();
  });
});

describe("fold", () => {
  it("does not change the run it is given (it is pure)", () => {
    const run = newRun(RUN, T0);
    const snapshot = structuredClone(run);
    const next = fold(run, progress(1, "a", stepChange("running")), T0 + 1);
    expect(next).not.toBe(run);
    expect(run).toEqual(snapshot);
    expect(next.steps.a?.status).toBe("running");
  });

  it("records run_started's file and clears finishedAt", () => {
    const run = { ...newRun(RUN, T0), status: "failed", finishedAt: T0 + 5 };
    const next = fold(run, progress(1, null, started("pipelines/other.yaml")), T0 + 10);
    expect(next.status).toBe("running");
    expect(next.file).toBe("pipelines/other.yaml");
    expect(next.finishedAt).toBeUndefined();
  });

  it("moves a step from queued to running to succeeded", () => {
    let run = newRun(RUN, T0);
    run = fold(run, progress(1, "build", stepChange("queued", { attempt: 0 })), T0 + 1);
    expect(run.steps.build).toEqual({ status: "queued", attempt: 0, error: undefined, output: "", tokens: 0 });
    run = fold(run, progress(2, "build", stepChange("running", { attempt: 1 })), T0 + 2);
    expect(run.steps.build?.status).toBe("running");
    expect(run.steps.build?.attempt).toBe(1);
    run = fold(run, progress(3, "build", stepChange("succeeded", { attempt: 1 })), T0 + 3);
    expect(run.steps.build?.status).toBe("succeeded");
    expect(run.seq, "the last seq folded is remembered").toBe(3);
  });

  it("keeps a failed attempt's error, and drops it when the step goes on", () => {
    let run = foldAll(newRun(RUN, T0), [["build", stepChange("failed", { attempt: 1, error: "exit code 2" })]]);
    expect(run.steps.build?.error).toBe("exit code 2");
    run = foldAll(run, [["build", stepChange("running", { attempt: 2 })]]);
    expect(run.steps.build?.error, "a new attempt has no error yet").toBeUndefined();
    expect(run.steps.build?.attempt).toBe(2);
  });

  it("appends output chunks in order, per step", () => {
    const run = foldAll(newRun(RUN, T0), [
      ["a", stepChange("running")],
      ["a", output("one\n")],
      ["b", output("other\n", "stderr")],
      ["a", output("two\n")],
      ["a", output("three", "text")],
    ]);
    expect(run.steps.a?.output).toBe("one\ntwo\nthree");
    expect(run.steps.b?.output).toBe("other\n");
    expect(run.steps.a?.status, "output does not change the status").toBe("running");
    expect(run.steps.b?.status, "a step first seen by its output is pending").toBe("pending");
  });

  it("shows a finished step's output only when nothing was streamed", () => {
    const quiet = foldAll(newRun(RUN, T0), [
      ["greeting", stepChange("running")],
      ["greeting", stepChange("succeeded", { output: "Hi world" })],
    ]);
    expect(quiet.steps.greeting?.output, "a step that printed nothing shows what it returned").toBe("Hi world");

    const loud = foldAll(newRun(RUN, T0), [
      ["shell", stepChange("running")],
      ["shell", output("streamed\n")],
      ["shell", stepChange("succeeded", { output: "returned" })],
    ]);
    expect(loud.steps.shell?.output, "a streamed step keeps what it streamed").toBe("streamed\n");

    const empty = foldAll(newRun(RUN, T0), [["x", stepChange("succeeded", { output: "" })]]);
    expect(empty.steps.x?.output).toBe("");
  });

  it("sums tokens per step and per run, and cost while it is known", () => {
    const run = foldAll(newRun(RUN, T0), [
      ["a", usage(100, 0.25)],
      ["b", usage(50, 0.5)],
      ["a", usage(10, 0.125)],
      ["a", usage(null, 0)],
    ]);
    expect(run.steps.a?.tokens).toBe(110);
    expect(run.steps.b?.tokens).toBe(50);
    expect(run.tokens).toBe(160);
    expect(run.costUsd).toBeCloseTo(0.875, 10);
  });

  it("makes the cost unknown for good once a change has no cost", () => {
    let run = foldAll(newRun(RUN, T0), [["a", usage(100, 0.25)]]);
    run = foldAll(run, [["b", usage(20, null)]]);
    expect(run.costUsd, "an unknown cost makes the total unknown").toBeNull();
    expect(run.tokens, "tokens are still counted").toBe(120);
    run = foldAll(run, [["a", usage(5, 1)]]);
    expect(run.costUsd, "a later known cost does not bring the total back").toBeNull();
    expect(run.tokens).toBe(125);
  });

  it("adds a waiting approval and removes it when the step moves on", () => {
    let run = foldAll(newRun(RUN, T0), [
      ["review", stepChange("running")],
      ["review", waiting("Ship it?")],
      ["ask", waiting("Your name?", "reply")],
    ]);
    expect(run.steps.review?.status).toBe("waiting");
    expect(run.waiting).toEqual([
      { step: "review", kind: "approval", message: "Ship it?" },
      { step: "ask", kind: "reply", message: "Your name?" },
    ]);

    run = foldAll(run, [["review", waiting("Ship it now?")]]);
    expect(run.waiting.filter((entry) => entry.step === "review"), "a step waits once, with its latest question").toEqual([
      { step: "review", kind: "approval", message: "Ship it now?" },
    ]);

    run = foldAll(run, [["review", stepChange("waiting")]]);
    expect(run.waiting.map((entry) => entry.step), "a step still waiting keeps its entry").toContain("review");

    run = foldAll(run, [["review", stepChange("succeeded")]]);
    expect(run.waiting, "only the other step still waits").toEqual([{ step: "ask", kind: "reply", message: "Your name?" }]);
    expect(run.steps.review?.status).toBe("succeeded");
  });

  it("runs again after a pause when a step starts running", () => {
    let run = foldAll(newRun(RUN, T0), [
      ["review", waiting("Ship it?")],
      [null, finished("waiting")],
    ]);
    expect(run.status).toBe("waiting");
    expect(run.finishedAt, "a pause is not an end").toBeUndefined();
    expect(run.waiting, "a paused run still waits for its approval").toHaveLength(1);

    run = foldAll(run, [["review", stepChange("running", { attempt: 1 })]]);
    expect(run.status).toBe("running");
    expect(run.waiting).toEqual([]);
  });

  it("finishes with run_finished's status and error, and clears what waits", () => {
    const run = foldAll(newRun(RUN, T0), [
      ["review", waiting("Ship it?")],
      [null, finished("failed", "step `build` failed")],
    ]);
    expect(run.status).toBe("failed");
    expect(run.error).toBe("step `build` failed");
    expect(run.finishedAt, "finishedAt is the time the change was folded").toBe(T0 + 2);
    expect(run.waiting).toEqual([]);

    const ok = foldAll(newRun(RUN, T0), [[null, finished("succeeded")]]);
    expect(ok.status).toBe("succeeded");
    expect(ok.error).toBeUndefined();
  });

  it("folds a repeated seq (or an older one) only once", () => {
    const once = foldAll(newRun(RUN, T0), [
      ["a", output("hello ")],
      ["a", usage(10, 0.5)],
    ]);
    const again = fold(once, progress(2, "a", usage(10, 0.5)), T0 + 9);
    expect(again, "a repeated change returns the same run").toBe(once);
    const older = fold(once, progress(1, "a", output("hello ")), T0 + 9);
    expect(older, "an older change returns the same run").toBe(once);
    expect(older.steps.a?.output).toBe("hello ");
    expect(older.tokens).toBe(10);
    expect(older.costUsd).toBe(0.5);

    const later = fold(once, progress(3, "a", output("world")), T0 + 9);
    expect(later.steps.a?.output).toBe("hello world");
    expect(later.seq).toBe(3);
  });

  it("always applies the seq-0 failure to start, without moving seq back", () => {
    const run = foldAll(newRun(RUN, T0), [
      ["a", stepChange("running")],
      ["a", stepChange("succeeded")],
    ]);
    expect(run.seq).toBe(2);
    const failed = fold(run, progress(0, null, finished("failed", "the pipeline has errors")), T0 + 50);
    expect(failed.status).toBe("failed");
    expect(failed.error).toBe("the pipeline has errors");
    expect(failed.finishedAt).toBe(T0 + 50);
    expect(failed.seq, "seq stays at the last logged change").toBe(2);

    const fresh = fold(newRun(RUN, T0), progress(0, null, finished("failed", "no such file")), T0 + 1);
    expect(fresh.status, "a run that never started fails too").toBe("failed");
    expect(fresh.error).toBe("no such file");

    const unnumbered = fold(run, progress(null, null, finished("failed", "cannot resume")), T0 + 60);
    expect(unnumbered.status, "a change without a seq is applied as seq 0").toBe("failed");
  });

  it("keeps chat messages per step, in order", () => {
    const run = foldAll(newRun(RUN, T0), [
      ["chat", message("assistant", "Hi! What is your name?")],
      ["other", message("user", "elsewhere")],
      ["chat", message("user", "Ada")],
      ["chat", message("assistant", "Hello Ada")],
    ]);
    expect(run.chat.chat).toEqual([
      { role: "assistant", text: "Hi! What is your name?" },
      { role: "user", text: "Ada" },
      { role: "assistant", text: "Hello Ada" },
    ]);
    expect(run.chat.other).toEqual([{ role: "user", text: "elsewhere" }]);
  });

  it("moves seq on for an `other` change and changes nothing else", () => {
    const run = foldAll(newRun(RUN, T0), [["a", stepChange("running")]]);
    const next = fold(run, progress(2, "a", { type: "other", kind: "artifact" }), T0 + 9);
    expect(next.seq).toBe(2);
    expect({ ...next, seq: 1 }).toEqual(run);
  });
});

describe("finishedSteps", () => {
  it("counts succeeded, failed, skipped and cancelled steps", () => {
    const run = foldAll(newRun(RUN, T0), [
      ["a", stepChange("succeeded")],
      ["b", stepChange("failed")],
      ["c", stepChange("skipped")],
      ["d", stepChange("cancelled")],
      ["e", stepChange("running")],
      ["f", stepChange("queued")],
      ["g", waiting("ok?")],
      ["h", output("pending")],
    ]);
    expect(finishedSteps(run)).toBe(4);
    expect(finishedSteps(newRun(RUN, T0))).toBe(0);
  });
});

describe("useRuns", () => {
  beforeEach(() => {
    useRuns.setState({ runs: {}, early: {}, current: null });
  });

  it("watches a new run and makes it current", () => {
    const before = Date.now();
    useRuns.getState().watch(RUN, "pipelines/hello.yaml");
    const state = useRuns.getState();
    expect(state.current).toBe(RUN);
    const run = state.runs[RUN];
    expect(run).toMatchObject({ id: RUN, file: "pipelines/hello.yaml", status: "running", seq: 0, steps: {} });
    expect(run?.startedAt).toBeGreaterThanOrEqual(before);
  });

  it("folds changes of a watched run as they come", () => {
    const { watch, apply } = useRuns.getState();
    watch(RUN);
    apply(progress(1, "a", stepChange("running")));
    apply(progress(2, "a", output("hi")));
    apply(progress(2, "a", output("hi")));
    apply(progress(3, null, finished("succeeded")));
    const run = useRuns.getState().runs[RUN];
    expect(run?.steps.a?.output, "the repeated change is folded once").toBe("hi");
    expect(run?.status).toBe("succeeded");
    expect(run?.finishedAt).toBeTypeOf("number");
  });

  it("keeps changes of a run not watched yet, and folds them when it is watched", () => {
    const { watch, apply } = useRuns.getState();
    apply(progress(1, null, started("pipelines/hello.yaml")));
    apply(progress(2, "a", stepChange("running")));
    apply(progress(3, "a", output("early ")));
    expect(useRuns.getState().runs[RUN], "an unwatched run is not drawn").toBeUndefined();
    expect(useRuns.getState().early[RUN]).toHaveLength(3);

    watch(RUN);
    let state = useRuns.getState();
    expect(state.early[RUN], "the buffer is emptied once folded").toBeUndefined();
    expect(state.runs[RUN]?.seq).toBe(3);
    expect(state.runs[RUN]?.file).toBe("pipelines/hello.yaml");
    expect(state.runs[RUN]?.steps.a).toMatchObject({ status: "running", output: "early " });

    apply(progress(4, "a", output("late")));
    state = useRuns.getState();
    expect(state.runs[RUN]?.steps.a?.output, "later changes go on from the early ones").toBe("early late");
  });

  it("folds a failure to start that came before the run was watched", () => {
    const { watch, apply } = useRuns.getState();
    apply(progress(0, null, finished("failed", "the pipeline has errors")));
    watch(RUN, "pipelines/hello.yaml");
    const run = useRuns.getState().runs[RUN];
    expect(run?.status).toBe("failed");
    expect(run?.error).toBe("the pipeline has errors");
  });

  it("keeps each run's early changes apart, and watching one leaves the others", () => {
    const { watch, apply } = useRuns.getState();
    apply(progress(1, "a", output("one"), "r1"));
    apply(progress(1, "a", output("two"), "r2"));
    watch("r1");
    const state = useRuns.getState();
    expect(state.runs.r1?.steps.a?.output).toBe("one");
    expect(state.runs.r2).toBeUndefined();
    expect(state.early.r2).toHaveLength(1);
    expect(state.current).toBe("r1");
  });

  it("does not restart a run that is watched again", () => {
    const { watch, apply } = useRuns.getState();
    watch(RUN);
    apply(progress(1, "a", output("kept")));
    const first = useRuns.getState().runs[RUN];
    watch(RUN);
    expect(useRuns.getState().runs[RUN]?.steps.a?.output).toBe("kept");
    expect(useRuns.getState().runs[RUN]?.startedAt).toBe(first?.startedAt);
  });

  it("clear forgets the current run but keeps the runs", () => {
    const { watch, clear } = useRuns.getState();
    watch(RUN);
    clear();
    expect(useRuns.getState().current).toBeNull();
    expect(useRuns.getState().runs[RUN]).toBeDefined();
  });
});
