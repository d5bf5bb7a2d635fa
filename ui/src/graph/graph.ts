// From pipeline data to what the canvas draws: a node per step (containers hold their bodies as
// child nodes), a node per note, and an edge per dependency (data) or jump (control). Kept free of
// React so that it is tested on its own; the canvas adds state colours and selection.

import {
  type EdgeKind,
  type PipelineData,
  type StepData,
  FAILURE_WORDS,
  edgeId,
  isContainer,
} from "./pipeline";

/** What a step node shows. */
export interface StepNodeData {
  [key: string]: unknown;
  step: StepData;
  /** `action` name, or `for_each` / `while` / `until` for a container. */
  kind: string;
  /** How many errors and warnings the validator reported for this step. */
  errors: number;
  warnings: number;
  /** The first problem's message, shown on hover. */
  problem?: string;
}

/** What a note node shows. */
export interface NoteNodeData {
  [key: string]: unknown;
  index: number;
  text: string;
  color?: string;
}

export interface GraphNode {
  id: string;
  type: "step" | "container" | "note";
  position: { x: number; y: number };
  parentId?: string;
  extent?: "parent";
  data: StepNodeData | NoteNodeData;
  style?: { width: number; height: number };
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  type: "data" | "control";
  label?: string;
  data: { kind: EdgeKind };
}

/** A node's size on the canvas (auto-layout and containers need it). */
export const STEP_SIZE = { width: 220, height: 64 };
const CONTAINER_PADDING = { top: 48, side: 24, bottom: 24 };

/** Problems per step, by step id. */
export type StepProblems = Record<string, { errors: number; warnings: number; first?: string }>;

/** The nodes and edges of a pipeline. Steps without a layout entry are placed in a row. */
export function toGraph(data: PipelineData, problems: StepProblems = {}): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const layout = data.layout?.nodes ?? {};

  const place = (steps: StepData[], parent?: string): void => {
    steps.forEach((step, index) => {
      const saved = layout[step.id];
      const fallback = parent
        ? { x: CONTAINER_PADDING.side, y: CONTAINER_PADDING.top + index * (STEP_SIZE.height + 24) }
        : { x: index * (STEP_SIZE.width + 60), y: 0 };
      const container = isContainer(step);
      const found = problems[step.id];
      const node: GraphNode = {
        id: step.id,
        type: container ? "container" : "step",
        position: saved ? { x: saved.x, y: saved.y } : fallback,
        data: {
          step,
          kind: container ? containerKind(step) : (step.action ?? "?"),
          errors: found?.errors ?? 0,
          warnings: found?.warnings ?? 0,
          problem: found?.first,
        },
      };
      if (parent) {
        node.parentId = parent;
        node.extent = "parent";
      }
      if (container) node.style = containerSize(step.steps ?? [], layout);
      nodes.push(node);
      if (container && step.steps) place(step.steps, step.id);
      edges.push(...stepEdges(step));
    });
  };
  place(data.steps);

  (data.layout?.notes ?? []).forEach((note, index) => {
    nodes.push({
      id: `note:${index}`,
      type: "note",
      position: { x: note.x, y: note.y },
      data: { index, text: note.text, color: note.color },
    });
  });
  return { nodes, edges };
}

function containerKind(step: StepData): string {
  if (step.for_each !== undefined) return "for_each";
  if (step.until !== undefined) return "until";
  return "while";
}

/** A container is drawn around its body, however its steps are placed. */
function containerSize(body: StepData[], layout: Record<string, { x: number; y: number }>): { width: number; height: number } {
  let width = STEP_SIZE.width + 2 * CONTAINER_PADDING.side;
  let height = CONTAINER_PADDING.top + STEP_SIZE.height + CONTAINER_PADDING.bottom;
  body.forEach((step, index) => {
    const at = layout[step.id] ?? {
      x: CONTAINER_PADDING.side,
      y: CONTAINER_PADDING.top + index * (STEP_SIZE.height + 24),
    };
    width = Math.max(width, at.x + STEP_SIZE.width + CONTAINER_PADDING.side);
    height = Math.max(height, at.y + STEP_SIZE.height + CONTAINER_PADDING.bottom);
  });
  return { width, height };
}

/** The edges that start or end at a step: its dependencies, and its jumps. */
export function stepEdges(step: StepData): GraphEdge[] {
  const edges: GraphEdge[] = [];
  for (const dep of step.depends_on ?? []) {
    edges.push({ id: edgeId("data", dep, step.id), source: dep, target: step.id, type: "data", data: { kind: "data" } });
  }
  const control = (kind: EdgeKind, to: string | undefined, label: string, index?: number) => {
    if (!to) return;
    edges.push({ id: edgeId(kind, step.id, to, index), source: step.id, target: to, type: "control", label, data: { kind } });
  };
  control("success", step.on_success, "on success");
  if (step.on_failure && !FAILURE_WORDS.includes(step.on_failure)) control("failure", step.on_failure, "on failure");
  control("false", step.on_false, "if false");
  (step.routes ?? []).forEach((route, index) => {
    const bound = route.max_loops ? ` (≤ ${route.max_loops}×)` : "";
    control("route", route.goto, `${route.when}${bound}`, index);
  });
  return edges;
}

/** Problems per step from the validator's list. */
export function problemsByStep(problems: { step: string | null; severity: string; message: string }[]): StepProblems {
  const found: StepProblems = {};
  for (const problem of problems) {
    if (!problem.step) continue;
    const entry = (found[problem.step] ??= { errors: 0, warnings: 0 });
    if (problem.severity === "error") entry.errors += 1;
    else entry.warnings += 1;
    entry.first ??= problem.message;
  }
  return found;
}
