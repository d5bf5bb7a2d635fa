// A pipeline file's history in the project's git repository: its revisions, and the diff
// between two of them (or between one and the working copy), coloured line by line.

import { useCallback, useEffect, useId, useRef, useState } from "react";

import { commands } from "../bindings";
import type { RevisionView } from "../bindings";
import { diffLineKind, errorText, formatTime } from "../format";
import "../results/results.css";

export function HistoryView(props: { file: string }) {
  const { file } = props;
  const [revisions, setRevisions] = useState<RevisionView[] | null>(null);
  const [historyError, setHistoryError] = useState<string | null>(null);
  const [from, setFrom] = useState<string | null>(null);
  // `null`: the working copy (the file on disk).
  const [to, setTo] = useState<string | null>(null);
  const [diff, setDiff] = useState<string | null>(null);
  const [diffError, setDiffError] = useState<string | null>(null);
  const [diffLoading, setDiffLoading] = useState(false);
  const request = useRef(0);
  const group = useId();

  const loadHistory = useCallback(() => {
    let alive = true;
    setHistoryError(null);
    commands.history(file).then(
      (list) => {
        if (!alive) return;
        setRevisions(list);
        // Start from the newest revision against the working copy: the changes not yet committed.
        setFrom((f) => (f !== null && list.some((r) => r.commit === f) ? f : (list[0]?.commit ?? null)));
        setTo((t) => (t !== null && list.some((r) => r.commit === t) ? t : null));
      },
      (e: unknown) => {
        if (!alive) return;
        setRevisions(null);
        setHistoryError(errorText(e));
      },
    );
    return () => {
      alive = false;
    };
  }, [file]);

  useEffect(() => {
    setRevisions(null);
    setFrom(null);
    setTo(null);
    setDiff(null);
    return loadHistory();
  }, [loadHistory]);

  useEffect(() => {
    if (from === null) return;
    const ticket = ++request.current;
    setDiffLoading(true);
    setDiffError(null);
    commands.diff(file, from, to).then(
      (text) => {
        if (ticket !== request.current) return;
        setDiff(text);
        setDiffLoading(false);
      },
      (e: unknown) => {
        if (ticket !== request.current) return;
        setDiff(null);
        setDiffError(errorText(e));
        setDiffLoading(false);
      },
    );
    return () => {
      // A newer request (or leaving) makes this one's answer stale.
      request.current++;
    };
  }, [file, from, to]);

  const label = (commit: string | null) =>
    commit === null ? "the working copy" : (revisions?.find((r) => r.commit === commit)?.short ?? commit.slice(0, 7));

  return (
    <div className="hist-page" data-testid="history">
      <div className="hist-head">
        <h2>History</h2>
        <code className="res-muted">{file}</code>
        <span className="res-spacer" />
        <button type="button" className="res-button" onClick={() => loadHistory()}>
          Refresh
        </button>
      </div>
      {historyError ? (
        <div className="res-alert" role="alert">
          {historyError}
        </div>
      ) : revisions === null ? (
        <p className="res-muted">Reading the history…</p>
      ) : revisions.length === 0 ? (
        <p className="res-muted">This file has no committed revision yet.</p>
      ) : (
        <>
          <table className="res-table hist-table">
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">Revision</th>
                <th scope="col">Summary</th>
                <th scope="col">Author</th>
                <th scope="col">Time</th>
              </tr>
            </thead>
            <tbody>
              <tr className={to === null ? "hist-selected" : undefined}>
                <td />
                <td>
                  <input
                    type="radio"
                    name={`${group}-to`}
                    aria-label="To the working copy"
                    checked={to === null}
                    onChange={() => setTo(null)}
                  />
                </td>
                <td colSpan={4}>
                  <em>Working copy</em> <span className="res-muted">(the file on disk now)</span>
                </td>
              </tr>
              {revisions.map((r) => (
                <tr key={r.commit} className={r.commit === from || r.commit === to ? "hist-selected" : undefined}>
                  <td>
                    <input
                      type="radio"
                      name={`${group}-from`}
                      aria-label={`From ${r.short}`}
                      checked={from === r.commit}
                      onChange={() => setFrom(r.commit)}
                    />
                  </td>
                  <td>
                    <input
                      type="radio"
                      name={`${group}-to`}
                      aria-label={`To ${r.short}`}
                      checked={to === r.commit}
                      onChange={() => setTo(r.commit)}
                    />
                  </td>
                  <td>
                    <code title={r.commit}>{r.short}</code>
                  </td>
                  <td>{r.summary}</td>
                  <td>{r.author}</td>
                  <td>{formatTime(r.time)}</td>
                </tr>
              ))}
            </tbody>
          </table>

          {from !== null && (
            <section className="hist-diff-section">
              <h3>
                Changes from <code>{label(from)}</code> to <code>{to === null ? "working copy" : label(to)}</code>
                {diffLoading && <span className="res-muted"> · loading…</span>}
              </h3>
              {diffError ? (
                <div className="res-alert" role="alert">
                  {diffError}
                </div>
              ) : diff === null ? null : diff.trim() === "" ? (
                <p className="res-muted">No differences.</p>
              ) : (
                <pre className="hist-diff" data-testid="diff">
                  {diff.replace(/\n$/, "").split("\n").map((line, i) => (
                    <span key={i} className={`hist-line hist-${diffLineKind(line)}`}>
                      {line}
                      {"\n"}
                    </span>
                  ))}
                </pre>
              )}
            </section>
          )}
        </>
      )}
    </div>
  );
}
