import { describe, expect, it } from "vitest";

import type { QcIssueView, StepView } from "./bindings";
import {
  canResume,
  diffLineKind,
  durationBetween,
  errorText,
  formatCost,
  formatDuration,
  formatTokens,
  groupIssues,
  issuePlace,
  matchSteps,
  timelineBars,
} from "./format";

const issue = (severity: string, rule: string, extra: Partial<QcIssueView> = {}): QcIssueView => ({
  severity,
  rule,
  message: `${rule} found`,
  step: null,
  file: null,
  line: null,
  ...extra,
});

const step = (key: string, extra: Partial<StepView> = {}): StepView => ({
  key,
  id: key,
  name: null,
  action: "shell",
  status: "succeeded",
  attempts: 1,
  started_at: null,
  duration_ms: null,
  input: "",
  output: "",
  log: "",
  error: null,
  skipped: null,
  files: [],
  model: null,
  usage: null,
  checks: [],
  commit: null,
  ...extra,
});

describe("formatDuration", () => {
  it("shows milliseconds below a second", () => {
    expect(formatDuration(0)).toBe("0 ms");
    expect(formatDuration(450)).toBe("450 ms");
  });

  it("shows seconds with one decimal below a minute", () => {
    expect(formatDuration(3200)).toBe("3.2 s");
    expect(formatDuration(1000)).toBe("1.0 s");
    expect(formatDuration(59_940)).toBe("59.9 s");
  });

  it("rounds up to a whole minute rather than showing 60.0 s", () => {
    expect(formatDuration(59_980)).toBe("1 min");
  });

  it("shows minutes and seconds, then hours and minutes", () => {
    expect(formatDuration(64_000)).toBe("1 min 4 s");
    expect(formatDuration(120_000)).toBe("2 min");
    expect(formatDuration(3_600_000)).toBe("1 h");
    expect(formatDuration(3_600_000 + 5 * 60_000 + 20_000)).toBe("1 h 5 min");
  });

  it("says so when the duration is unknown", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(undefined)).toBe("—");
    expect(formatDuration(-5)).toBe("—");
    expect(formatDuration(Number.NaN)).toBe("—");
  });
});

describe("durationBetween", () => {
  it("measures between two RFC 3339 times", () => {
    expect(durationBetween("2024-05-01T10:00:00Z", "2024-05-01T10:01:04.500Z")).toBe(64_500);
    expect(durationBetween("2024-05-01T12:00:00+02:00", "2024-05-01T10:00:03Z")).toBe(3000);
  });

  it("is null when an end is missing or a time cannot be read", () => {
    expect(durationBetween("2024-05-01T10:00:00Z", null)).toBeNull();
    expect(durationBetween("yesterday", "2024-05-01T10:00:00Z")).toBeNull();
  });

  it("formats as a run's duration", () => {
    expect(formatDuration(durationBetween("2024-05-01T10:00:00Z", "2024-05-01T10:00:03.2Z"))).toBe("3.2 s");
  });
});

describe("formatCost", () => {
  it("shows four decimals below a dollar", () => {
    expect(formatCost(0.0123)).toBe("$0.0123");
    expect(formatCost(0)).toBe("$0.0000");
    expect(formatCost(0.00004)).toBe("$0.0000");
    expect(formatCost(0.99991)).toBe("$0.9999");
  });

  it("shows cents from a dollar up", () => {
    expect(formatCost(1)).toBe("$1.00");
    expect(formatCost(12.345)).toBe("$12.35");
  });

  it("says the cost is unknown when it is null", () => {
    expect(formatCost(null)).toBe("cost unknown");
    expect(formatCost(undefined)).toBe("cost unknown");
  });
});

describe("formatTokens", () => {
  it("separates thousands and agrees in number", () => {
    expect(formatTokens(12345)).toBe("12,345 tokens");
    expect(formatTokens(1)).toBe("1 token");
    expect(formatTokens(null)).toBe("—");
  });
});

describe("groupIssues", () => {
  it("groups by severity, keeping the order inside each group", () => {
    const issues = [
      issue("minor", "m1"),
      issue("critical", "c1"),
      issue("major", "j1"),
      issue("critical", "c2"),
      issue("minor", "m2"),
    ];
    const groups = groupIssues(issues);
    expect(groups.critical.map((i) => i.rule)).toEqual(["c1", "c2"]);
    expect(groups.major.map((i) => i.rule)).toEqual(["j1"]);
    expect(groups.minor.map((i) => i.rule)).toEqual(["m1", "m2"]);
  });

  it("reads severities case-insensitively and puts unknown ones with minor issues", () => {
    const groups = groupIssues([issue("CRITICAL", "upper"), issue("info", "odd")]);
    expect(groups.critical.map((i) => i.rule)).toEqual(["upper"]);
    expect(groups.minor.map((i) => i.rule)).toEqual(["odd"]);
    expect(groups.major).toEqual([]);
  });

  it("gives three empty groups for no issue", () => {
    expect(groupIssues([])).toEqual({ critical: [], major: [], minor: [] });
  });
});

describe("issuePlace", () => {
  it("names the file and line when there are", () => {
    expect(issuePlace(issue("minor", "r", { file: "out/report.md", line: 12 }))).toBe("out/report.md:12");
    expect(issuePlace(issue("minor", "r", { file: "out/report.md" }))).toBe("out/report.md");
    expect(issuePlace(issue("minor", "r", { line: 3 }))).toBeNull();
  });
});

describe("timelineBars", () => {
  const start = "2024-05-01T10:00:00Z";

  it("places each step by its start and duration relative to the run", () => {
    const bars = timelineBars(
      [
        step("a", { started_at: "2024-05-01T10:00:00Z", duration_ms: 2500 }),
        step("b", { started_at: "2024-05-01T10:00:02.500Z", duration_ms: 7500 }),
      ],
      start,
      10_000,
    );
    expect(bars[0]).toEqual({ key: "a", left: 0, width: 25 });
    expect(bars[1]).toEqual({ key: "b", left: 25, width: 75 });
  });

  it("gives a step that never started no bar, and a very short step a visible one", () => {
    const bars = timelineBars(
      [step("quick", { started_at: "2024-05-01T10:00:05Z", duration_ms: 1 }), step("never")],
      start,
      10_000,
    );
    expect(bars[0].left).toBe(50);
    expect(bars[0].width).toBeGreaterThan(0.1);
    expect(bars[1]).toEqual({ key: "never", left: null, width: 0 });
  });

  it("stretches a running run's span to now", () => {
    const now = Date.parse("2024-05-01T10:00:20Z");
    const bars = timelineBars(
      [step("running", { started_at: "2024-05-01T10:00:10Z", duration_ms: null })],
      start,
      null,
      now,
    );
    expect(bars[0]).toEqual({ key: "running", left: 50, width: 50 });
  });
});

describe("matchSteps", () => {
  it("matches by key, flags different outputs and steps on one side only", () => {
    const rows = matchSteps(
      [step("fetch", { output: "same" }), step("summarise", { output: "old" }), step("gone")],
      [step("fetch", { output: "same" }), step("new"), step("summarise", { output: "new" })],
    );
    expect(rows.map((r) => [r.key, r.differs])).toEqual([
      ["fetch", false],
      ["summarise", true],
      ["gone", true],
      ["new", true],
    ]);
    expect(rows[2].right).toBeNull();
    expect(rows[3].left).toBeNull();
    expect(rows[1].left?.output).toBe("old");
    expect(rows[1].right?.output).toBe("new");
  });
});

describe("diffLineKind", () => {
  it("classifies the lines of a unified diff", () => {
    expect(diffLineKind("--- a/pipelines/x.yaml")).toBe("meta");
    expect(diffLineKind("+++ b/pipelines/x.yaml")).toBe("meta");
    expect(diffLineKind("diff --git a/x b/x")).toBe("meta");
    expect(diffLineKind("@@ -1,3 +1,4 @@")).toBe("hunk");
    expect(diffLineKind("+  model: smart")).toBe("add");
    expect(diffLineKind("-  model: fast")).toBe("del");
    expect(diffLineKind("   id: notes")).toBe("context");
    expect(diffLineKind("")).toBe("context");
  });
});

describe("canResume and errorText", () => {
  it("offers resuming only runs that stopped short", () => {
    expect(["interrupted", "failed", "cancelled"].every(canResume)).toBe(true);
    expect(["succeeded", "running", "waiting", "rejected"].some(canResume)).toBe(false);
  });

  it("keeps a command's sentence as it is", () => {
    expect(errorText("The run does not exist.")).toBe("The run does not exist.");
    expect(errorText(new Error("boom"))).toBe("boom");
  });
});
