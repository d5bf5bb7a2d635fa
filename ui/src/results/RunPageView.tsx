// One run's page: its header, the timeline of its steps, the selected step's detail, the
// quality-control report, and its outputs and inputs. It reloads while the run goes on.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";

import { useLatest } from "./useLatest";
import { commands } from "../bindings";
import type { ChatView, QcIssueView, QcView, RunPage, StepView } from "../bindings";
import {
  canResume,
  errorText,
  formatCost,
  formatDuration,
  formatSize,
  formatTime,
  formatTokens,
  groupIssues,
  isLive,
  issuePlace,
  SEVERITIES,
  timelineBars,
} from "../format";
import "./results.css";

/** A status word in a coloured pill. */
export function StatusPill(props: { status: string }) {
  const status = props.status || "unknown";
  return <span className={`res-pill res-status-${status.replace(/[^a-z_-]/gi, "")}`}>{status}</span>;
}

/** An error sentence, in a box that screen readers announce. */
export function ErrorBox(props: { message: string | null; onDismiss?: () => void }) {
  if (!props.message) return null;
  return (
    <div className="res-alert" role="alert">
      <span>{props.message}</span>
      {props.onDismiss && (
        <button type="button" className="res-link res-alert-close" aria-label="Dismiss" onClick={props.onDismiss}>
          ×
        </button>
      )}
    </div>
  );
}

const POLL_MS = 2000;

export function RunPageView(props: { run: string; onBack: () => void; onWatch: (run: string) => void }) {
  const { run, onWatch } = props;
  const [page, setPage] = useState<RunPage | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [reportPath, setReportPath] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const latest = useLatest();

  const load = useCallback(async () => {
    const ticket = latest.next();
    try {
      const next = await commands.runPage(run);
      if (!latest.isLatest(ticket)) return;
      setPage(next);
      setLoadError(null);
    } catch (e) {
      if (!latest.isLatest(ticket)) return;
      setLoadError(errorText(e));
    }
  }, [run, latest]);

  // A new run: forget the old one's page and load this one.
  useEffect(() => {
    setPage(null);
    setSelected(null);
    setReportPath(null);
    setActionError(null);
    setLoadError(null);
    void load();
  }, [load]);

  const live = page !== null && page.summary.id === run && isLive(page.summary.status);
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => void load(), POLL_MS);
    return () => clearInterval(timer);
  }, [live, load]);

  // The step shown in detail: the one picked, else the first that failed or waits, else the first.
  const step = useMemo<StepView | null>(() => {
    if (!page || page.steps.length === 0) return null;
    return (
      page.steps.find((s) => s.key === selected) ??
      page.steps.find((s) => s.status === "failed") ??
      page.steps.find((s) => s.status === "waiting" || s.status === "running") ??
      page.steps[0]
    );
  }, [page, selected]);

  const act = async (label: string, action: () => Promise<void>) => {
    setBusy(label);
    setActionError(null);
    try {
      await action();
    } catch (e) {
      if (latest.isShown()) setActionError(errorText(e));
    } finally {
      if (latest.isShown()) setBusy(null);
    }
  };

  const exportReport = (format: "markdown" | "html") =>
    act(`export-${format}`, async () => {
      const path = await commands.exportReport(run, format);
      if (latest.isShown()) setReportPath(path);
    });

  const resume = () =>
    act("resume", async () => {
      await commands.resumeRun(run);
      onWatch(run);
    });

  const rerunFrom = (s: StepView) =>
    act("rerun", async () => {
      const newRun = await commands.rerunFrom(run, s.id);
      onWatch(newRun);
    });

  const openFile = (path: string) => act("open", () => commands.openFile(run, path).then(() => undefined));
  const revealFile = (path: string) => act("reveal", () => commands.revealFile(run, path).then(() => undefined));

  // A QC issue's step link: select the step (by key, else by id) and bring the detail into view.
  const detailRef = useRef<HTMLElement | null>(null);
  const goToStep = (name: string) => {
    if (!page) return;
    const target = page.steps.find((s) => s.key === name) ?? page.steps.find((s) => s.id === name);
    if (!target) return;
    setSelected(target.key);
    detailRef.current?.scrollIntoView?.({ behavior: "smooth", block: "start" });
  };

  const back = (
    <button type="button" className="res-link res-back" onClick={props.onBack}>
      ← All runs
    </button>
  );

  if (!page) {
    return (
      <div className="res-page" data-testid="run-page">
        {back}
        <ErrorBox message={loadError} />
        {!loadError && <p className="res-muted">Loading run {run}…</p>}
        {loadError && (
          <button type="button" className="res-button" onClick={() => void load()}>
            Try again
          </button>
        )}
      </div>
    );
  }

  const { summary } = page;
  return (
    <div className="res-page" data-testid="run-page">
      {back}
      <header className="res-header">
        <div className="res-title-row">
          <h2 className="res-title">{summary.pipeline}</h2>
          <StatusPill status={summary.status} />
          <span className="res-muted res-run-id" title="Run id">
            {summary.id}
          </span>
        </div>
        <dl className="res-facts">
          <div>
            <dt>Started</dt>
            <dd>{formatTime(summary.started_at)}</dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd>{formatDuration(page.duration_ms)}</dd>
          </div>
          <div>
            <dt>Tokens</dt>
            <dd>{formatTokens(page.usage.tokens)}</dd>
          </div>
          <div>
            <dt>Cost</dt>
            <dd>{formatCost(page.usage.cost_usd)}</dd>
          </div>
          {page.branch && (
            <div>
              <dt>Branch</dt>
              <dd>
                <code>{page.branch}</code>
              </dd>
            </div>
          )}
          <div>
            <dt>File</dt>
            <dd>
              <code>{summary.file}</code>
            </dd>
          </div>
        </dl>
        {summary.error && <p className="res-run-error">{summary.error}</p>}
        <div className="res-actions">
          <button type="button" className="res-button" disabled={busy !== null} onClick={() => void exportReport("markdown")}>
            Export Markdown
          </button>
          <button type="button" className="res-button" disabled={busy !== null} onClick={() => void exportReport("html")}>
            Export HTML
          </button>
          {canResume(summary.status) && (
            <button type="button" className="res-button res-primary" disabled={busy !== null} onClick={() => void resume()}>
              {busy === "resume" ? "Resuming…" : "Resume"}
            </button>
          )}
          {isLive(summary.status) && (
            <button type="button" className="res-button" onClick={() => onWatch(run)}>
              Watch live
            </button>
          )}
          <button type="button" className="res-button" onClick={() => void load()} title="Reload this run">
            Refresh
          </button>
        </div>
        {reportPath && (
          <p className="res-note">
            Report written to <code>{reportPath}</code>
          </p>
        )}
      </header>

      <ErrorBox message={actionError} onDismiss={() => setActionError(null)} />
      {loadError && <ErrorBox message={loadError} />}

      {page.waiting.length > 0 && (
        <section className="res-section res-waiting">
          <h3>Waiting for you</h3>
          <ul>
            {page.waiting.map((w) => (
              <li key={`${w.step}-${w.kind}`}>
                <button type="button" className="res-link" onClick={() => goToStep(w.step)}>
                  {w.step}
                </button>{" "}
                ({w.kind === "approval" ? "approval" : "reply"}): {w.message}
              </li>
            ))}
          </ul>
          <button type="button" className="res-button res-primary" onClick={() => onWatch(run)}>
            Answer in the live view
          </button>
        </section>
      )}

      <Timeline page={page} selected={step?.key ?? null} onSelect={setSelected} />

      <section className="res-section res-detail" ref={detailRef} aria-label="Step detail">
        <h3>Step detail</h3>
        {step ? (
          <StepDetail
            step={step}
            chat={page.chats.find((c) => c.step === step.key) ?? null}
            sizes={page.files}
            busy={busy !== null}
            rerunning={busy === "rerun"}
            onRerun={() => void rerunFrom(step)}
            onOpen={(p) => void openFile(p)}
            onReveal={(p) => void revealFile(p)}
          />
        ) : (
          <p className="res-muted">This run has no steps yet.</p>
        )}
      </section>

      <QcReport qc={page.qc} onStep={goToStep} />

      <section className="res-section">
        <h3>Outputs</h3>
        <NamedValues values={page.outputs} empty="This run returned no outputs." />
      </section>

      {page.files.length > 0 && (
        <section className="res-section">
          <h3>Files</h3>
          <ul className="res-files">
            {page.files.map((f) => (
              <li key={`${f.step}:${f.path}`}>
                <code>{f.path}</code>
                <span className="res-muted">
                  {" "}
                  from {f.step}
                  {f.size != null ? ` · ${formatSize(f.size)}` : ""}
                </span>
                <FileButtons disabled={busy !== null} onOpen={() => void openFile(f.path)} onReveal={() => void revealFile(f.path)} />
              </li>
            ))}
          </ul>
        </section>
      )}

      <section className="res-section">
        <h3>Inputs</h3>
        <NamedValues values={page.inputs} empty="This run had no inputs." />
      </section>
      <p className="res-muted res-workspace">
        Workspace: <code>{page.workspace}</code>
      </p>
    </div>
  );
}

function Timeline(props: { page: RunPage; selected: string | null; onSelect: (key: string) => void }) {
  const { page } = props;
  const bars = timelineBars(page.steps, page.summary.started_at, page.duration_ms);
  return (
    <section className="res-section" aria-label="Timeline">
      <h3>Timeline</h3>
      {page.steps.length === 0 ? (
        <p className="res-muted">No step has started yet.</p>
      ) : (
        <div className="res-timeline" role="list">
          {page.steps.map((s, i) => {
            const bar = bars[i];
            const isSelected = s.key === props.selected;
            return (
              <div
                key={s.key}
                role="listitem"
                className={`res-tl-row${isSelected ? " res-selected" : ""}`}
                data-testid={`timeline-step-${s.key}`}
                aria-current={isSelected ? "true" : undefined}
                tabIndex={0}
                onClick={() => props.onSelect(s.key)}
                onKeyDown={(e) => {
                  if (e.key === "Enter" || e.key === " ") {
                    e.preventDefault();
                    props.onSelect(s.key);
                  }
                }}
              >
                <div className="res-tl-label" title={s.key}>
                  <span className="res-tl-name">{s.name ?? s.id}</span>
                  {s.key !== s.id && <span className="res-muted res-tl-key">{s.key}</span>}
                </div>
                <div className="res-tl-track">
                  {bar.left !== null && (
                    <div
                      className={`res-tl-bar res-bg-${s.status}`}
                      style={{ left: `${bar.left}%`, width: `${bar.width}%` }}
                      title={`${s.status} · ${formatDuration(s.duration_ms)}`}
                    />
                  )}
                </div>
                <div className="res-tl-meta">
                  <StatusPill status={s.status} />
                  <span className="res-muted">{formatDuration(s.duration_ms)}</span>
                </div>
              </div>
            );
          })}
        </div>
      )}
    </section>
  );
}

function FileButtons(props: { disabled: boolean; onOpen: () => void; onReveal: () => void }) {
  return (
    <span className="res-file-buttons">
      <button type="button" className="res-button res-small" disabled={props.disabled} onClick={props.onOpen}>
        Open
      </button>
      <button type="button" className="res-button res-small" disabled={props.disabled} onClick={props.onReveal}>
        Reveal in folder
      </button>
    </span>
  );
}

function StepDetail(props: {
  step: StepView;
  chat: ChatView | null;
  sizes: RunPage["files"];
  busy: boolean;
  rerunning: boolean;
  onRerun: () => void;
  onOpen: (path: string) => void;
  onReveal: (path: string) => void;
}) {
  const { step } = props;
  return (
    <div className="res-step" data-testid="step-detail">
      <div className="res-title-row">
        <h4 className="res-step-title">{step.name ?? step.id}</h4>
        <StatusPill status={step.status} />
        <button type="button" className="res-button res-rerun" disabled={props.busy} onClick={props.onRerun}>
          {props.rerunning ? "Starting…" : "Re-run from this step"}
        </button>
      </div>
      <dl className="res-facts">
        <div>
          <dt>Key</dt>
          <dd>
            <code>{step.key}</code>
          </dd>
        </div>
        {step.action && (
          <div>
            <dt>Action</dt>
            <dd>{step.action}</dd>
          </div>
        )}
        <div>
          <dt>Attempts</dt>
          <dd>{step.attempts}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatTime(step.started_at)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(step.duration_ms)}</dd>
        </div>
        {step.model && (
          <div>
            <dt>Model</dt>
            <dd>
              <code>{step.model}</code>
            </dd>
          </div>
        )}
        {step.usage && (
          <div>
            <dt>Usage</dt>
            <dd>
              {formatTokens(step.usage.tokens)} · {formatCost(step.usage.cost_usd)}
            </dd>
          </div>
        )}
        {step.commit && (
          <div>
            <dt>Commit</dt>
            <dd>
              <code>{step.commit}</code>
            </dd>
          </div>
        )}
      </dl>
      {step.error && (
        <div className="res-step-error">
          <strong>Error:</strong> {step.error}
        </div>
      )}
      {step.skipped && <p className="res-muted">Skipped: {step.skipped}</p>}

      {step.checks.length > 0 && (
        <div className="res-block">
          <h5>Checks</h5>
          <ul className="res-checks">
            {step.checks.map((c, i) => (
              <li key={i} className={c.passed === true ? "res-pass" : c.passed === false ? "res-fail" : "res-unknown"}>
                <span className="res-check-mark" aria-label={c.passed === true ? "passed" : c.passed === false ? "failed" : "undecided"}>
                  {c.passed === true ? "✓" : c.passed === false ? "✗" : "?"}
                </span>{" "}
                <code>{c.check}</code>
                {c.message && <span className="res-muted"> — {c.message}</span>}
              </li>
            ))}
          </ul>
        </div>
      )}

      <details className="res-block" open>
        <summary>Input</summary>
        {step.input ? <pre className="res-pre">{step.input}</pre> : <p className="res-muted">No input.</p>}
      </details>
      <details className="res-block" open>
        <summary>Output</summary>
        {step.output ? <pre className="res-pre">{step.output}</pre> : <p className="res-muted">No output.</p>}
      </details>
      <details className="res-block" open={step.log.length > 0 && step.log.length < 4000}>
        <summary>Log</summary>
        {step.log ? <pre className="res-pre res-log">{step.log}</pre> : <p className="res-muted">Nothing was printed.</p>}
      </details>
      {props.chat && props.chat.messages.length > 0 && (
        <details className="res-block" open>
          <summary>Conversation</summary>
          <ol className="res-chat">
            {props.chat.messages.map((m, i) => (
              <li key={i} className={`res-chat-${m.role}`}>
                <span className="res-chat-role">{m.role}</span>
                <pre className="res-pre">{m.text}</pre>
              </li>
            ))}
          </ol>
        </details>
      )}
      <details className="res-block" open>
        <summary>Files</summary>
        {step.files.length === 0 ? (
          <p className="res-muted">This step produced no files.</p>
        ) : (
          <ul className="res-files">
            {step.files.map((path) => {
              const size = props.sizes.find((f) => f.path === path)?.size ?? null;
              return (
                <li key={path}>
                  <code>{path}</code>
                  {size != null && <span className="res-muted"> · {formatSize(size)}</span>}
                  <FileButtons disabled={props.busy} onOpen={() => props.onOpen(path)} onReveal={() => props.onReveal(path)} />
                </li>
              );
            })}
          </ul>
        )}
      </details>
    </div>
  );
}

function QcReport(props: { qc: QcView; onStep: (step: string) => void }) {
  const { qc } = props;
  const groups = groupIssues(qc.issues);
  const scoreClass = qc.score >= 90 ? "res-score-good" : qc.score >= 70 ? "res-score-fair" : "res-score-poor";
  return (
    <section className="res-section res-qc" data-testid="qc-report" aria-label="Quality control">
      <h3>Quality control</h3>
      <div className="res-qc-head">
        <div className={`res-score ${scoreClass}`}>
          <span data-testid="qc-score" className="res-score-number">
            {qc.score}
          </span>
          <span className="res-score-out">/100</span>
        </div>
        <div>
          <p className={qc.production_ready ? "res-ready" : "res-not-ready"}>
            {qc.production_ready ? "✓ Production ready" : "✗ Not production ready"}
          </p>
          <p className="res-muted">
            {qc.checks} {qc.checks === 1 ? "check" : "checks"} applied · {qc.issues.length}{" "}
            {qc.issues.length === 1 ? "issue" : "issues"}
          </p>
        </div>
      </div>
      {qc.issues.length === 0 ? (
        <p className="res-muted">No issues found.</p>
      ) : (
        SEVERITIES.map((severity) =>
          groups[severity].length === 0 ? null : (
            <div key={severity} className={`res-qc-group res-sev-${severity}`}>
              <h4>
                {severity[0].toUpperCase() + severity.slice(1)} ({groups[severity].length})
              </h4>
              <ul>
                {groups[severity].map((issue, i) => (
                  <QcIssue key={i} issue={issue} onStep={props.onStep} />
                ))}
              </ul>
            </div>
          ),
        )
      )}
      {qc.recommendations.length > 0 && (
        <div className="res-qc-recs">
          <h4>Recommendations</h4>
          <ul>
            {qc.recommendations.map((r, i) => (
              <li key={i}>{r}</li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

function QcIssue(props: { issue: QcIssueView; onStep: (step: string) => void }) {
  const { issue } = props;
  const place = issuePlace(issue);
  return (
    <li className="res-qc-issue">
      <code className="res-qc-rule">{issue.rule}</code> {issue.message}
      {issue.step && (
        <>
          {" "}
          <button type="button" className="res-link" onClick={() => props.onStep(issue.step as string)}>
            → step {issue.step}
          </button>
        </>
      )}
      {place && (
        <>
          {" "}
          <code className="res-muted">{place}</code>
        </>
      )}
    </li>
  );
}

function NamedValues(props: { values: RunPage["outputs"]; empty: string }) {
  if (props.values.length === 0) return <p className="res-muted">{props.empty}</p>;
  return (
    <div className="res-values">
      {props.values.map((v) => (
        <div key={v.name} className="res-value">
          <h4>{v.name}</h4>
          <pre className="res-pre">{v.text}</pre>
        </div>
      ))}
    </div>
  );
}
