// A live run as the canvas draws it: folded from the `RunProgress` events the backend sends after
// each change is committed to its store. The fold is a pure function, so a run the studio
// reopens is drawn by folding the same changes again.

import { create } from "zustand";

import type { Progress } from "../bindings";

/** A step's live state on the canvas. */
export interface LiveStep {
  status: string;
  attempt: number;
  error?: string;
  /** Everything the step printed or streamed, in order. */
  output: string;
  tokens: number;
}

/** What waits for a person. */
export interface LiveWaiting {
  step: string;
  kind: string;
  message: string;
}

/** A run being watched. */
export interface LiveRun {
  id: string;
  file?: string;
  status: string;
  error?: string;
  startedAt: number;
  finishedAt?: number;
  steps: Record<string, LiveStep>;
  waiting: LiveWaiting[];
  chat: Record<string, { role: string; text: string }[]>;
  tokens: number;
  costUsd: number | null;
  /** The last event folded, so that a repeated event changes nothing. */
  seq: number;
}

/** The longest output kept per step in memory (the run page reads the whole log from the store). */
const OUTPUT_LIMIT = 200_000;

/** A run the studio has just started. */
export function newRun(id: string, now: number, file?: string): LiveRun {
  return { id, file, status: "running", startedAt: now, steps: {}, waiting: [], chat: {}, tokens: 0, costUsd: 0, seq: 0 };
}

function stepOf(run: LiveRun, key: string): LiveStep {
  return run.steps[key] ?? { status: "pending", attempt: 0, output: "", tokens: 0 };
}

/** The run after one more change. Events are folded once: a change at or before `seq` is ignored
 * (except the backend's own failure to start, which has no position). */
export function fold(run: LiveRun, progress: Progress, now: number): LiveRun {
  const seq = progress.seq ?? 0;
  if (seq !== 0 && seq <= run.seq) return run;
  const next: LiveRun = { ...run, seq: Math.max(run.seq, seq), steps: { ...run.steps } };
  const key = progress.step ?? "";
  const change = progress.change;
  switch (change.type) {
    case "run_started":
      next.status = "running";
      next.file = change.file;
      next.finishedAt = undefined;
      next.error = undefined;
      break;
    case "step": {
      const step = stepOf(next, key);
      // A step that printed nothing while it ran (a template, a file action) shows what it returned.
      const output = step.output === "" && change.output ? change.output : step.output;
      next.steps[key] = { ...step, status: change.status, attempt: change.attempt, error: change.error ?? undefined, output };
      if (change.status !== "waiting") next.waiting = next.waiting.filter((waiting) => waiting.step !== key);
      if (next.status === "waiting" && change.status === "running") next.status = "running";
      break;
    }
    case "output": {
      const step = stepOf(next, key);
      const output = (step.output + change.text).slice(-OUTPUT_LIMIT);
      next.steps[key] = { ...step, output };
      break;
    }
    case "usage": {
      const step = stepOf(next, key);
      const tokens = change.tokens ?? 0;
      next.steps[key] = { ...step, tokens: step.tokens + tokens };
      next.tokens += tokens;
      next.costUsd = next.costUsd === null || change.cost_usd === null ? null : next.costUsd + change.cost_usd;
      break;
    }
    case "waiting":
      next.steps[key] = { ...stepOf(next, key), status: "waiting" };
      next.waiting = [...next.waiting.filter((waiting) => waiting.step !== key), { step: key, kind: change.kind, message: change.message }];
      break;
    case "message":
      next.chat = { ...next.chat, [key]: [...(next.chat[key] ?? []), { role: change.role, text: change.text }] };
      break;
    case "run_finished":
      next.status = change.status;
      next.error = change.error ?? undefined;
      if (change.status !== "waiting") {
        next.finishedAt = now;
        next.waiting = [];
      }
      break;
    case "other":
      break;
  }
  return next;
}

/** How many steps have finished (succeeded, failed, skipped or cancelled). */
export function finishedSteps(run: LiveRun): number {
  return Object.values(run.steps).filter((step) =>
    ["succeeded", "failed", "skipped", "cancelled"].includes(step.status),
  ).length;
}

interface RunStore {
  runs: Record<string, LiveRun>;
  /** Changes of runs not watched yet: a run's first events can arrive before the command that
   * started it has answered with its id. */
  early: Record<string, Progress[]>;
  /** The run the canvas shows. */
  current: string | null;
  watch: (id: string, file?: string) => void;
  apply: (progress: Progress) => void;
  clear: () => void;
}

/** How many early changes are kept per run before it is watched. */
const EARLY_LIMIT = 2_000;

/** The runs this window watches. */
export const useRuns = create<RunStore>((set) => ({
  runs: {},
  early: {},
  current: null,
  watch: (id, file) =>
    set((state) => {
      let run = state.runs[id] ?? newRun(id, Date.now(), file);
      for (const progress of state.early[id] ?? []) run = fold(run, progress, Date.now());
      const early = { ...state.early };
      delete early[id];
      return { current: id, early, runs: { ...state.runs, [id]: run } };
    }),
  apply: (progress) =>
    set((state) => {
      const run = state.runs[progress.run];
      if (!run) {
        const waiting = state.early[progress.run] ?? [];
        if (waiting.length >= EARLY_LIMIT) return state;
        return { early: { ...state.early, [progress.run]: [...waiting, progress] } };
      }
      return { runs: { ...state.runs, [progress.run]: fold(run, progress, Date.now()) } };
    }),
  clear: () => set({ current: null }),
}));
