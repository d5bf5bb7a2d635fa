// Two runs side by side: their status, duration, usage and QC score, then each step (matched by
// key) with its status, duration and output; rows whose output differs are highlighted.

import { useEffect, useState } from "react";

import { commands } from "../bindings";
import type { RunPage, StepView } from "../bindings";
import { ErrorBox, StatusPill } from "./RunPageView";
import { errorText, formatCost, formatDuration, formatTime, formatTokens, matchSteps } from "../format";
import "./results.css";

export function CompareView(props: { left: string; right: string; onClose: () => void }) {
  const { left, right } = props;
  const [pages, setPages] = useState<[RunPage, RunPage] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let alive = true;
    setPages(null);
    setError(null);
    Promise.all([commands.runPage(left), commands.runPage(right)]).then(
      (both) => {
        if (alive) setPages(both);
      },
      (e: unknown) => {
        if (alive) setError(errorText(e));
      },
    );
    return () => {
      alive = false;
    };
  }, [left, right]);

  const close = (
    <button type="button" className="res-button" onClick={props.onClose}>
      Close comparison
    </button>
  );

  if (!pages) {
    return (
      <div className="res-compare" data-testid="compare">
        <div className="res-title-row">
          <h2 className="res-title">Compare runs</h2>
          {close}
        </div>
        <ErrorBox message={error} />
        {!error && <p className="res-muted">Loading both runs…</p>}
      </div>
    );
  }

  const [a, b] = pages;
  const rows = matchSteps(a.steps, b.steps);
  const differing = rows.filter((r) => r.differs).length;
  const outputNames = [...new Set([...a.outputs.map((o) => o.name), ...b.outputs.map((o) => o.name)])];

  return (
    <div className="res-compare" data-testid="compare">
      <div className="res-title-row">
        <h2 className="res-title">Compare runs</h2>
        {close}
      </div>
      <table className="res-table res-compare-table">
        <thead>
          <tr>
            <th scope="col"></th>
            <th scope="col">
              <code>{a.summary.id}</code>
            </th>
            <th scope="col">
              <code>{b.summary.id}</code>
            </th>
          </tr>
        </thead>
        <tbody>
          <Pair label="Pipeline" a={a.summary.pipeline} b={b.summary.pipeline} />
          <tr>
            <th scope="row">Status</th>
            <td>
              <StatusPill status={a.summary.status} />
            </td>
            <td>
              <StatusPill status={b.summary.status} />
            </td>
          </tr>
          <Pair label="Started" a={formatTime(a.summary.started_at)} b={formatTime(b.summary.started_at)} plain />
          <Pair label="Duration" a={formatDuration(a.duration_ms)} b={formatDuration(b.duration_ms)} />
          <Pair label="Tokens" a={formatTokens(a.usage.tokens)} b={formatTokens(b.usage.tokens)} />
          <Pair label="Cost" a={formatCost(a.usage.cost_usd)} b={formatCost(b.usage.cost_usd)} />
          <Pair label="QC score" a={`${a.qc.score}/100`} b={`${b.qc.score}/100`} />
        </tbody>
      </table>

      <h3>
        Steps{" "}
        <span className="res-muted">
          ({differing} of {rows.length} with a different output)
        </span>
      </h3>
      <table className="res-table res-compare-table">
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">{a.summary.id}</th>
            <th scope="col">{b.summary.id}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.key} className={row.differs ? "res-differs" : undefined} data-testid={`compare-step-${row.key}`}>
              <th scope="row">
                <code>{row.key}</code>
                {row.differs && <span className="res-diff-badge">differs</span>}
              </th>
              <StepCell step={row.left} />
              <StepCell step={row.right} />
            </tr>
          ))}
        </tbody>
      </table>

      {outputNames.length > 0 && (
        <>
          <h3>Outputs</h3>
          <table className="res-table res-compare-table">
            <tbody>
              {outputNames.map((name) => {
                const x = a.outputs.find((o) => o.name === name)?.text ?? null;
                const y = b.outputs.find((o) => o.name === name)?.text ?? null;
                return (
                  <tr key={name} className={x !== y ? "res-differs" : undefined}>
                    <th scope="row">{name}</th>
                    <td>{x === null ? <span className="res-muted">—</span> : <pre className="res-pre">{x}</pre>}</td>
                    <td>{y === null ? <span className="res-muted">—</span> : <pre className="res-pre">{y}</pre>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

/** A row of two values, marked when they differ (unless `plain`, for values that always do). */
function Pair(props: { label: string; a: string; b: string; plain?: boolean }) {
  return (
    <tr className={!props.plain && props.a !== props.b ? "res-changed" : undefined}>
      <th scope="row">{props.label}</th>
      <td>{props.a}</td>
      <td>{props.b}</td>
    </tr>
  );
}

function StepCell(props: { step: StepView | null }) {
  const { step } = props;
  if (!step) return <td className="res-muted">not in this run</td>;
  return (
    <td>
      <div className="res-cell-head">
        <StatusPill status={step.status} />
        <span className="res-muted">{formatDuration(step.duration_ms)}</span>
      </div>
      {step.output ? <pre className="res-pre">{step.output}</pre> : <span className="res-muted">No output.</span>}
    </td>
  );
}
