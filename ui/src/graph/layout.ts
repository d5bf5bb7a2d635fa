// Auto-layout with elkjs: a layered drawing from left to right along the data edges, each body
// laid out inside its container. The bundled build runs in the page (no worker, no eval); it is
// loaded the first time a layout is asked for, so an idle studio does not hold it.

import type ELKType from "elkjs/lib/elk.bundled.js";

import { STEP_SIZE } from "./graph";
import { type PipelineData, type StepData, isContainer } from "./pipeline";

let elk: InstanceType<typeof ELKType> | undefined;

type ElkNode = {
  id: string;
  width?: number;
  height?: number;
  x?: number;
  y?: number;
  children?: ElkNode[];
  edges?: { id: string; sources: string[]; targets: string[] }[];
  layoutOptions?: Record<string, string>;
};

const OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.spacing.nodeNode": "40",
  "elk.layered.spacing.nodeNodeBetweenLayers": "80",
  "elk.padding": "[top=48,left=24,bottom=24,right=24]",
};

function level(steps: StepData[]): ElkNode[] {
  return steps.map((step) =>
    isContainer(step)
      ? { id: step.id, layoutOptions: OPTIONS, children: level(step.steps ?? []), edges: edgesOf(step.steps ?? []) }
      : { id: step.id, width: STEP_SIZE.width, height: STEP_SIZE.height },
  );
}

function edgesOf(steps: StepData[]) {
  const ids = new Set(steps.map((step) => step.id));
  return steps.flatMap((step) =>
    (step.depends_on ?? []).filter((dep) => ids.has(dep)).map((dep) => ({ id: `${dep}>${step.id}`, sources: [dep], targets: [step.id] })),
  );
}

/** New positions for every step (body steps relative to their container). */
export async function autoLayout(data: PipelineData): Promise<Record<string, { x: number; y: number }>> {
  if (!elk) {
    const { default: ELK } = await import("elkjs/lib/elk.bundled.js");
    elk = new ELK();
  }
  const root = await elk.layout({ id: "root", layoutOptions: OPTIONS, children: level(data.steps), edges: edgesOf(data.steps) });
  const positions: Record<string, { x: number; y: number }> = {};
  const walk = (nodes: ElkNode[] | undefined) => {
    for (const node of nodes ?? []) {
      positions[node.id] = { x: node.x ?? 0, y: node.y ?? 0 };
      walk(node.children);
    }
  };
  walk((root as ElkNode).children);
  return positions;
}
