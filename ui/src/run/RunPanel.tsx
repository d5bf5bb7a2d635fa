// The run panel: progress of the watched run (steps done of all, elapsed time, tokens and cost),
// the selected step's live output, Cancel, approvals with a comment, and the chat of an
// interactive step.

import { useEffect, useState } from "react";

import { commands } from "../bindings";
import { errorText, formatCost, formatDuration, formatTokens } from "../format";
import type { PipelineData } from "../graph/pipeline";
import { allSteps } from "../graph/pipeline";
import { useEditor } from "../stores/editor";
import { finishedSteps, useRuns } from "../stores/run";

export function RunPanel({ data, onOpenRun }: { data: PipelineData | null; onOpenRun: (run: string) => void }) {
  const run = useRuns((state) => (state.current ? state.runs[state.current] : undefined));
  const selection = useEditor((state) => state.selection);
  const [now, setNow] = useState(Date.now());
  const [comment, setComment] = useState("");
  const [reply, setReply] = useState("");
  const [error, setError] = useState<string | null>(null);
  const going = run && (run.status === "running" || run.status === "waiting");
  useEffect(() => {
    if (!going) return;
    const timer = window.setInterval(() => setNow(Date.now()), 250);
    return () => window.clearInterval(timer);
  }, [going]);
  if (!run) return <div className="run-panel idle" data-testid="run-panel">No run yet. Save the pipeline and click Run.</div>;

  const total = data ? allSteps(data.steps).length : 0;
  const done = finishedSteps(run);
  const shown = selection.length === 1 ? selection[0] : Object.keys(run.steps).reverse().find((key) => run.steps[key].output) ?? "";
  const step = run.steps[shown];
  const act = (work: Promise<unknown>) => work.then(() => setError(null)).catch((reason: unknown) => setError(errorText(reason)));
  return (
    <div className="run-panel" data-testid="run-panel" data-status={run.status}>
      <div className="run-head">
        <strong className={`pill state-${run.status}`} data-testid="run-status">{run.status}</strong>
        <progress max={Math.max(total, 1)} value={Math.min(done, total)} aria-label="Steps finished" />
        <span>{done} of {total} steps</span>
        <span>{formatDuration((run.finishedAt ?? now) - run.startedAt)}</span>
        <span>{formatTokens(run.tokens)}</span>
        <span>{formatCost(run.costUsd)}</span>
        {going ? <button type="button" onClick={() => act(commands.cancelRun(run.id))} data-testid="run-cancel">Cancel</button> : null}
        <button type="button" onClick={() => onOpenRun(run.id)}>Open run page</button>
      </div>
      {run.error ? <p role="alert" className="error">{run.error}</p> : null}
      {error ? <p role="alert" className="error">{error}</p> : null}
      {run.waiting.map((waiting) =>
        waiting.kind === "approval" ? (
          <div key={waiting.step} className="approval" data-testid="approval">
            <p><strong>{waiting.step}</strong> asks: {waiting.message}</p>
            <input aria-label="Comment" placeholder="Comment (optional)" value={comment} onChange={(event) => setComment(event.target.value)} />
            <button type="button" className="primary" data-testid="approve" onClick={() => act(commands.answerApproval(run.id, waiting.step, true, comment || null)).then(() => setComment(""))}>Approve</button>
            <button type="button" data-testid="reject" onClick={() => act(commands.answerApproval(run.id, waiting.step, false, comment || null)).then(() => setComment(""))}>Reject</button>
          </div>
        ) : (
          <div key={waiting.step} className="chat" data-testid="chat">
            <p><strong>{waiting.step}</strong> waits for your reply.</p>
            <ol>
              {(run.chat[waiting.step] ?? []).map((message, index) => (
                <li key={index} className={`chat-${message.role}`}><strong>{message.role}</strong> {message.text}</li>
              ))}
            </ol>
            <form onSubmit={(event) => { event.preventDefault(); if (reply.trim()) void act(commands.sendReply(run.id, waiting.step, reply)).then(() => setReply("")); }}>
              <input aria-label="Reply" value={reply} onChange={(event) => setReply(event.target.value)} />
              <button type="submit">Send</button>
              {/* Ending the conversation answers the step's wait as an approval does: finishing
                  accepts the last reply as the step's output; rejecting fails the step, with
                  what is typed as the reason. */}
              <button type="button" title="End the conversation; the last reply becomes the step's output" onClick={() => void act(commands.answerApproval(run.id, waiting.step, true, null))}>Finish</button>
              <button type="button" title="Reject the step; what you typed is the reason" onClick={() => void act(commands.answerApproval(run.id, waiting.step, false, reply || null)).then(() => setReply(""))}>Reject</button>
            </form>
          </div>
        ),
      )}
      <div className="output">
        <div className="output-head">Output of <strong>{shown || "—"}</strong>{step ? ` (${step.status})` : ""}</div>
        <pre data-testid="step-output">{step?.output ?? ""}{step?.error ? `\n${step.error}` : ""}</pre>
      </div>
    </div>
  );
}
