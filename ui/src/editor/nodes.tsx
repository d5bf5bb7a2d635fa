// The canvas's node kinds: a step, a container (`for_each`, `while`, `until`) drawn around its
// body, and a note. Memoised and registered once (React Flow redraws a node only when its props
// change), which keeps large pipelines smooth.

import { Handle, type NodeProps, Position } from "@xyflow/react";
import { memo } from "react";

import type { NoteNodeData, StepNodeData } from "../graph/graph";
import { useEditor } from "../stores/editor";
import { editNote } from "../graph/pipeline";

/** The live state of each step of the watched run, passed through node data by the canvas. */
export interface LiveData {
  live?: string;
}

function StepNodeView({ data, selected }: NodeProps & { data: StepNodeData & LiveData }) {
  const status = data.live ?? "";
  const problem = data.errors > 0 ? "error" : data.warnings > 0 ? "warning" : "";
  return (
    <div
      className={`node step ${status ? `state-${status}` : ""} ${problem ? `has-${problem}` : ""} ${selected ? "selected" : ""}`}
      data-testid={`node-${data.step.id}`}
      data-state={status || undefined}
      data-problem={problem || undefined}
    >
      <Handle type="target" position={Position.Left} id="in" />
      <div className="node-title">{data.step.name ?? data.step.id}</div>
      <div className="node-meta">
        <span className="node-kind">{data.kind}</span>
        {data.step.name ? <span className="node-id">{data.step.id}</span> : null}
        {status ? <span className={`node-state state-${status}`}>{status}</span> : null}
      </div>
      {problem ? (
        <>
          <span className={`node-badge ${problem}`} aria-label={`${data.errors} errors, ${data.warnings} warnings`}>
            {data.errors > 0 ? data.errors : data.warnings}
          </span>
          {/* The first problem is written on the node itself (a native tooltip would take the
              pointer away from the canvas while a person connects or drags). */}
          <div className={`node-problem ${problem}`}>{data.problem}</div>
        </>
      ) : null}
      <Handle type="source" position={Position.Right} id="out" />
    </div>
  );
}

function ContainerNodeView({ data, selected }: NodeProps & { data: StepNodeData & LiveData }) {
  const step = data.step;
  const detail =
    data.kind === "for_each"
      ? `for each of ${String(step.for_each)}${step.max_parallel ? `, ${step.max_parallel} at a time` : ""}`
      : `${data.kind} ${String(step.while ?? step.until)} (at most ${step.max_iterations ?? "?"}×)`;
  const status = data.live ?? "";
  return (
    <div
      className={`node container ${status ? `state-${status}` : ""} ${data.errors > 0 ? "has-error" : ""} ${selected ? "selected" : ""}`}
      data-testid={`node-${step.id}`}
      data-state={status || undefined}
      data-problem={data.errors > 0 ? "error" : undefined}
    >
      <Handle type="target" position={Position.Left} id="in" />
      <div className="container-head">
        <strong>{step.name ?? step.id}</strong> <span className="node-kind">{detail}</span>
        {data.errors > 0 ? <div className="node-problem error">{data.problem}</div> : null}
      </div>
      <Handle type="source" position={Position.Right} id="out" />
    </div>
  );
}

function NoteNodeView({ data }: NodeProps & { data: NoteNodeData }) {
  const edit = useEditor((state) => state.edit);
  return (
    <div className="node note" style={data.color ? { background: data.color } : undefined}>
      <textarea
        className="nodrag"
        aria-label="Note"
        defaultValue={data.text}
        onBlur={(event) => {
          const text = event.target.value;
          if (text !== data.text) void edit((pipeline) => editNote(pipeline, data.index, text));
        }}
      />
    </div>
  );
}

/** The node kinds, created once so that React Flow never re-registers them. */
export const NODE_TYPES = {
  step: memo(StepNodeView),
  container: memo(ContainerNodeView),
  note: memo(NoteNodeView),
};
