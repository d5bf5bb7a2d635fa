// The run history of one pipeline file: a table of its runs, newest first, from which a run's
// page opens and two runs can be compared. It refreshes while a listed run goes on.

import { useCallback, useEffect, useRef, useState } from "react";

import { useLatest } from "./useLatest";
import { commands } from "../bindings";
import type { RunSummary } from "../bindings";
import { CompareView } from "./CompareView";
import { ErrorBox, RunPageView, StatusPill } from "./RunPageView";
import { durationBetween, errorText, formatDuration, formatTime, isLive } from "../format";
import "./results.css";

const POLL_MS = 3000;

export function RunsView(props: {
  file: string;
  openRun: string | null;
  onOpenRun: (run: string | null) => void;
  onWatch: (run: string) => void;
}) {
  const { file, openRun, onOpenRun } = props;
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [picked, setPicked] = useState<string[]>([]);
  const [comparing, setComparing] = useState<[string, string] | null>(null);
  const latest = useLatest();

  const load = useCallback(async () => {
    const ticket = latest.next();
    setLoading(true);
    try {
      const next = await commands.runs(file);
      if (!latest.isLatest(ticket)) return;
      setRuns(next);
      setError(null);
      // Forget picks of runs no longer listed.
      setPicked((p) => p.filter((id) => next.some((r) => r.id === id)));
    } catch (e) {
      if (!latest.isLatest(ticket)) return;
      setError(errorText(e));
    } finally {
      if (latest.isLatest(ticket)) setLoading(false);
    }
  }, [file, latest]);

  // Another file: its own runs, no picks, no comparison.
  useEffect(() => {
    setRuns(null);
    setPicked([]);
    setComparing(null);
    void load();
  }, [load]);

  // Back from a run's page: the list may be stale.
  const wasOpen = useRef(openRun);
  useEffect(() => {
    if (wasOpen.current !== null && openRun === null) void load();
    wasOpen.current = openRun;
  }, [openRun, load]);

  const anyLive = runs?.some((r) => isLive(r.status)) ?? false;
  useEffect(() => {
    if (!anyLive || openRun !== null) return;
    const timer = setInterval(() => void load(), POLL_MS);
    return () => clearInterval(timer);
  }, [anyLive, openRun, load]);

  if (openRun !== null) {
    return <RunPageView run={openRun} onBack={() => onOpenRun(null)} onWatch={props.onWatch} />;
  }

  if (comparing) {
    return <CompareView left={comparing[0]} right={comparing[1]} onClose={() => setComparing(null)} />;
  }

  const toggle = (id: string, on: boolean) =>
    setPicked((p) => {
      if (!on) return p.filter((x) => x !== id);
      if (p.includes(id)) return p;
      // Two at most: a third pick replaces the older one.
      return [...p, id].slice(-2);
    });

  const compare = () => {
    if (picked.length !== 2 || !runs) return;
    // The older run on the left.
    const order = (id: string) => runs.findIndex((r) => r.id === id);
    const [x, y] = [...picked].sort((a, b) => order(b) - order(a));
    setComparing([x, y]);
  };

  return (
    <div className="res-runs" data-testid="runs">
      <div className="res-title-row">
        <h2 className="res-title">Runs</h2>
        <code className="res-muted">{file}</code>
        <span className="res-spacer" />
        <button type="button" className="res-button" disabled={picked.length !== 2} onClick={compare}
          title={picked.length === 2 ? "Compare the two picked runs" : "Pick two runs to compare"}>
          Compare{picked.length > 0 ? ` (${picked.length}/2)` : ""}
        </button>
        <button type="button" className="res-button" onClick={() => void load()} disabled={loading}>
          {loading ? "Refreshing…" : "Refresh"}
        </button>
      </div>
      <ErrorBox message={error} />
      {runs === null ? (
        !error && <p className="res-muted">Loading runs…</p>
      ) : runs.length === 0 ? (
        <p className="res-muted">This pipeline has not run yet.</p>
      ) : (
        <table className="res-table res-runs-table">
          <thead>
            <tr>
              <th scope="col">
                <span className="res-sr-only">Pick to compare</span>
              </th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Run</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => {
              const isPicked = picked.includes(r.id);
              return (
                <tr
                  key={r.id}
                  className={`res-run-row${isPicked ? " res-picked" : ""}`}
                  data-testid={`run-row-${r.id}`}
                  tabIndex={0}
                  onClick={() => onOpenRun(r.id)}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" && e.target === e.currentTarget) onOpenRun(r.id);
                  }}
                >
                  <td className="res-pick" onClick={(e) => e.stopPropagation()}>
                    <input
                      type="checkbox"
                      aria-label={`Pick run ${r.id} to compare`}
                      checked={isPicked}
                      onChange={(e) => toggle(r.id, e.target.checked)}
                    />
                  </td>
                  <td>
                    <StatusPill status={r.status} />
                  </td>
                  <td>{formatTime(r.started_at)}</td>
                  <td>{r.finished_at ? formatDuration(durationBetween(r.started_at, r.finished_at)) : isLive(r.status) ? "in progress" : "—"}</td>
                  <td>
                    <code className="res-muted">{r.id}</code>
                    {r.error && <div className="res-row-error">{r.error}</div>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
