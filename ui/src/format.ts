// Pure helpers of the results pages: durations, costs, the QC report's grouping, the timeline's
// bars, the comparison of two runs and the lines of a diff. Nothing here touches React or the
// backend, so each is tested on its own.

import type { QcIssueView, StepView } from "./bindings";

/** Whether a run in this status may still change (and its page should refresh). */
export function isLive(status: string): boolean {
  return status === "running" || status === "waiting";
}

/** Whether a run in this status can be resumed. */
export function canResume(status: string): boolean {
  return status === "interrupted" || status === "failed" || status === "cancelled";
}

/**
 * A duration for people: `450 ms`, `3.2 s`, `1 min 4 s`, `2 h 5 min`; `—` when unknown.
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) {
    // One decimal, unless rounding reaches a whole minute.
    const shown = Math.round(seconds * 10) / 10;
    if (shown < 60) return `${shown.toFixed(1)} s`;
  }
  const totalSeconds = Math.round(seconds);
  if (totalSeconds < 3600) {
    const min = Math.floor(totalSeconds / 60);
    const sec = totalSeconds % 60;
    return sec === 0 ? `${min} min` : `${min} min ${sec} s`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  const hours = Math.floor(totalMinutes / 60);
  const min = totalMinutes % 60;
  return min === 0 ? `${hours} h` : `${hours} h ${min} min`;
}

/** Milliseconds between two RFC 3339 times; `null` when either is absent or unreadable. */
export function durationBetween(start: string | null | undefined, end: string | null | undefined): number | null {
  if (!start || !end) return null;
  const a = Date.parse(start);
  const b = Date.parse(end);
  if (Number.isNaN(a) || Number.isNaN(b)) return null;
  return Math.max(0, b - a);
}

/** A cost in US dollars: `$0.0123` (four decimals below a dollar, two above); `cost unknown` when null. */
export function formatCost(usd: number | null | undefined): string {
  if (usd == null || !Number.isFinite(usd)) return "cost unknown";
  return usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** A token count with thousands separators: `12,345 tokens`; `—` when unknown. */
export function formatTokens(tokens: number | null | undefined): string {
  if (tokens == null) return "—";
  return `${tokens.toLocaleString("en-US")} ${tokens === 1 ? "token" : "tokens"}`;
}

/** An RFC 3339 time in the person's local time; the text itself when it cannot be read. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toLocaleString();
}

/** A file size for people: `512 B`, `3.4 KB`, `1.2 MB`. */
export function formatSize(bytes: number | null | undefined): string {
  if (bytes == null) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The severities of QC issues, most serious first. */
export const SEVERITIES = ["critical", "major", "minor"] as const;

/** QC issues by severity; an unknown severity joins `minor` so that no issue goes unseen. */
export type IssueGroups = Record<(typeof SEVERITIES)[number], QcIssueView[]>;

/** Groups QC issues by severity, keeping their order inside each group. */
export function groupIssues(issues: readonly QcIssueView[]): IssueGroups {
  const groups: IssueGroups = { critical: [], major: [], minor: [] };
  for (const issue of issues) {
    const severity = issue.severity.toLowerCase();
    if (severity === "critical" || severity === "major" || severity === "minor") {
      groups[severity].push(issue);
    } else {
      groups.minor.push(issue);
    }
  }
  return groups;
}

/** Where a QC issue is, as `file:line`, `file` or `null`. */
export function issuePlace(issue: QcIssueView): string | null {
  if (!issue.file) return null;
  return issue.line != null ? `${issue.file}:${issue.line}` : issue.file;
}

/** A step's bar on the timeline, in percent of the run's span. */
export interface Bar {
  key: string;
  /** Where it starts; `null` when the step never started. */
  left: number | null;
  width: number;
}

/**
 * Positions each step's bar by its start and duration relative to the run. The span is the
 * run's duration, or (while it runs, or when a step ends after it) the furthest step end.
 * A step still running (no duration) reaches `now`.
 */
export function timelineBars(
  steps: readonly Pick<StepView, "key" | "started_at" | "duration_ms">[],
  runStartedAt: string,
  runDurationMs: number | null,
  now: number = Date.now(),
): Bar[] {
  const runStart = Date.parse(runStartedAt);
  const spans = steps.map((step) => {
    const start = step.started_at ? Date.parse(step.started_at) : NaN;
    if (Number.isNaN(start) || Number.isNaN(runStart)) return null;
    const offset = Math.max(0, start - runStart);
    const length = step.duration_ms ?? Math.max(0, now - start);
    return { offset, length };
  });
  let span = runDurationMs ?? 0;
  for (const s of spans) if (s) span = Math.max(span, s.offset + s.length);
  if (span <= 0) span = 1;
  const MIN_WIDTH = 0.5;
  return steps.map((step, i) => {
    const s = spans[i];
    if (!s) return { key: step.key, left: null, width: 0 };
    const left = Math.min(100, (s.offset / span) * 100);
    const width = Math.max(MIN_WIDTH, Math.min(100 - left, (s.length / span) * 100));
    return { key: step.key, left, width };
  });
}

/** One row of the comparison of two runs: a step key and the step on either side. */
export interface CompareRow {
  key: string;
  left: StepView | null;
  right: StepView | null;
  /** Whether the outputs differ (a step on one side only differs too). */
  differs: boolean;
}

/** Matches two runs' steps by key: the left run's order first, then steps only the right run has. */
export function matchSteps(left: readonly StepView[], right: readonly StepView[]): CompareRow[] {
  const rightByKey = new Map(right.map((s) => [s.key, s]));
  const seen = new Set<string>();
  const rows: CompareRow[] = [];
  for (const l of left) {
    if (seen.has(l.key)) continue;
    seen.add(l.key);
    const r = rightByKey.get(l.key) ?? null;
    rows.push({ key: l.key, left: l, right: r, differs: r === null || r.output !== l.output });
  }
  for (const r of right) {
    if (seen.has(r.key)) continue;
    seen.add(r.key);
    rows.push({ key: r.key, left: null, right: r, differs: true });
  }
  return rows;
}

/** What a line of a unified diff is, for its colour. */
export type DiffLineKind = "add" | "del" | "hunk" | "meta" | "context";

/** Classifies a line of a unified diff. */
export function diffLineKind(line: string): DiffLineKind {
  if (line.startsWith("+++") || line.startsWith("---")) return "meta";
  if (line.startsWith("diff ") || line.startsWith("index ") || line.startsWith("new file") || line.startsWith("deleted file")) {
    return "meta";
  }
  if (line.startsWith("@@")) return "hunk";
  if (line.startsWith("+")) return "add";
  if (line.startsWith("-")) return "del";
  return "context";
}

/** The sentence of an error a command threw (a string), or of anything else thrown. */
export function errorText(error: unknown): string {
  if (typeof error === "string") return error;
  if (error instanceof Error) return error.message;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
