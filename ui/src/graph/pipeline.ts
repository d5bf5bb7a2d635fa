// The pipeline as the editor holds it: data in the shape of its YAML file (docs/pipeline-format.md),
// as the backend reads it (`Document.pipeline`). The backend owns the format: it reads text into this
// data, writes this data back as canonical text, and validates both. The editor reads only the keys
// it draws, and changes the data with the pure functions below, so that every change is one value
// that undo and redo can keep.

/** One step of a pipeline, in the file's shape: identity, control keys, and the action's parameters. */
export interface StepData {
  id: string;
  name?: string;
  description?: string;
  action?: string;
  depends_on?: string[];
  on_success?: string;
  on_failure?: string;
  on_false?: string;
  routes?: RouteData[];
  for_each?: unknown;
  max_parallel?: number;
  while?: string;
  until?: string;
  max_iterations?: number;
  steps?: StepData[];
  [parameter: string]: unknown;
}

/** A conditional jump. */
export interface RouteData {
  when: string;
  goto: string;
  max_loops?: number;
}

/** Where the studio draws a step. */
export interface NodeLayout {
  x: number;
  y: number;
  color?: string;
  collapsed?: boolean;
}

/** A free-standing note on the canvas. */
export interface NoteData {
  x: number;
  y: number;
  text: string;
  color?: string;
  width?: number;
  height?: number;
}

/** A pipeline, in the file's shape. */
export interface PipelineData {
  orchestra: number;
  id: string;
  name?: string;
  description?: string;
  inputs?: Record<string, InputData>;
  steps: StepData[];
  outputs?: Record<string, string>;
  layout?: { nodes?: Record<string, NodeLayout>; notes?: NoteData[] };
  [section: string]: unknown;
}

/** One input of the run form. */
export interface InputData {
  type?: string;
  default?: unknown;
  description?: string;
  choices?: unknown[];
}

/** The words of `on_failure` that are not step ids. */
export const FAILURE_WORDS = ["fail", "continue", "skip"];

/** Whether a step holds a body of steps (`for_each`, `while` or `until`). */
export function isContainer(step: StepData): boolean {
  return step.for_each !== undefined || step.while !== undefined || step.until !== undefined;
}

/** Every step of the pipeline, bodies included, with the container that holds it (if any). */
export function allSteps(
  steps: StepData[],
  parent?: string,
): { step: StepData; parent?: string }[] {
  return steps.flatMap((step) => [
    { step, parent },
    ...(step.steps && isContainer(step) ? allSteps(step.steps, step.id) : []),
  ]);
}

/** The step with this id, wherever it is. */
export function findStep(data: PipelineData, id: string): StepData | undefined {
  return allSteps(data.steps).find((entry) => entry.step.id === id)?.step;
}

/** A deep copy, so that a change never touches the value undo keeps. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** A step id not yet used in the pipeline, made from a base such as the action's name. */
export function freshId(data: PipelineData, base: string): string {
  const stem = base.replace(/[^A-Za-z0-9_-]/g, "_").replace(/^([^A-Za-z_])/, "_$1") || "step";
  const used = new Set(allSteps(data.steps).map((entry) => entry.step.id));
  if (!used.has(stem)) return stem;
  let n = 2;
  while (used.has(`${stem}_${n}`)) n += 1;
  return `${stem}_${n}`;
}

function withLayout(data: PipelineData): { nodes: Record<string, NodeLayout>; notes: NoteData[] } {
  data.layout = data.layout ?? {};
  data.layout.nodes = data.layout.nodes ?? {};
  data.layout.notes = data.layout.notes ?? [];
  return data.layout as { nodes: Record<string, NodeLayout>; notes: NoteData[] };
}

/** Drops empty layout sections, which the file leaves out. */
function tidyLayout(data: PipelineData): void {
  if (!data.layout) return;
  if (data.layout.nodes && Object.keys(data.layout.nodes).length === 0) delete data.layout.nodes;
  if (data.layout.notes && data.layout.notes.length === 0) delete data.layout.notes;
  if (Object.keys(data.layout).length === 0) delete data.layout;
}

/** The shape of a new step of an action: its required parameters, empty. */
export interface NewStep {
  action: string;
  required: string[];
}

/** Adds a step of an action at a position (inside a container's body when `parent` is given). */
export function addStep(
  data: PipelineData,
  step: NewStep,
  position: { x: number; y: number },
  parent?: string,
): { data: PipelineData; id: string } {
  const next = clone(data);
  const id = freshId(next, step.action.replace(/\./g, "_"));
  const created: StepData = { id, action: step.action };
  for (const name of step.required) created[name] = "";
  const container = parent ? findStep(next, parent) : undefined;
  if (container) {
    container.steps = [...(container.steps ?? []), created];
  } else {
    next.steps = [...next.steps, created];
  }
  withLayout(next).nodes[id] = { x: Math.round(position.x), y: Math.round(position.y) };
  return { data: next, id };
}

/** Adds a `for_each` or `while` container with an empty body. */
export function addContainer(
  data: PipelineData,
  kind: "for_each" | "while",
  position: { x: number; y: number },
): { data: PipelineData; id: string } {
  const next = clone(data);
  const id = freshId(next, kind === "for_each" ? "each" : "loop");
  const created: StepData =
    kind === "for_each"
      ? { id, for_each: "{{ inputs.items }}", steps: [] }
      : { id, while: "iteration < 3", max_iterations: 3, steps: [] };
  next.steps = [...next.steps, created];
  withLayout(next).nodes[id] = { x: Math.round(position.x), y: Math.round(position.y) };
  return { data: next, id };
}

/** Makes `to` depend on `from` (a data edge). Refused (unchanged) for a step on itself or a duplicate. */
export function connect(data: PipelineData, from: string, to: string): PipelineData {
  if (from === to) return data;
  const next = clone(data);
  const target = findStep(next, to);
  if (!target || !findStep(next, from)) return data;
  const deps = target.depends_on ?? [];
  if (deps.includes(from)) return data;
  target.depends_on = [...deps, from];
  return next;
}

/** Removes the edge with this id (see `edgeId`), whatever its kind. */
export function disconnect(data: PipelineData, edge: string): PipelineData {
  const parsed = parseEdgeId(edge);
  if (!parsed) return data;
  const next = clone(data);
  const { kind, from, to, index } = parsed;
  if (kind === "data") {
    const target = findStep(next, to);
    if (target?.depends_on) {
      target.depends_on = target.depends_on.filter((dep) => dep !== from);
      if (target.depends_on.length === 0) delete target.depends_on;
    }
    return next;
  }
  const source = findStep(next, from);
  if (!source) return data;
  if (kind === "success") delete source.on_success;
  if (kind === "failure") delete source.on_failure;
  if (kind === "false") delete source.on_false;
  if (kind === "route" && source.routes) {
    source.routes = source.routes.filter((_, at) => at !== index);
    if (source.routes.length === 0) delete source.routes;
  }
  return next;
}

/** Removes steps (and notes, as `note:N` ids) and every reference to the removed steps. */
export function remove(data: PipelineData, ids: string[]): PipelineData {
  const next = clone(data);
  const gone = new Set(ids);
  const notes = ids.filter((id) => id.startsWith("note:")).map((id) => Number(id.slice(5)));
  const prune = (steps: StepData[]): StepData[] =>
    steps
      .filter((step) => !gone.has(step.id))
      .map((step) => {
        if (step.depends_on) {
          step.depends_on = step.depends_on.filter((dep) => !gone.has(dep));
          if (step.depends_on.length === 0) delete step.depends_on;
        }
        if (step.on_success && gone.has(step.on_success)) delete step.on_success;
        if (step.on_false && gone.has(step.on_false)) delete step.on_false;
        if (step.on_failure && gone.has(step.on_failure)) delete step.on_failure;
        if (step.routes) {
          step.routes = step.routes.filter((route) => !gone.has(route.goto));
          if (step.routes.length === 0) delete step.routes;
        }
        if (step.steps && isContainer(step)) step.steps = prune(step.steps);
        return step;
      });
  // Removing a container removes its body: its steps' layout goes with it.
  for (const { step } of allSteps(data.steps)) {
    if (gone.has(step.id) && step.steps) {
      for (const inner of allSteps(step.steps)) gone.add(inner.step.id);
    }
  }
  next.steps = prune(next.steps);
  const layout = withLayout(next);
  for (const id of gone) delete layout.nodes[id];
  layout.notes = layout.notes.filter((_, index) => !notes.includes(index));
  tidyLayout(next);
  return next;
}

/** Moves a node (a step or `note:N`) to a position. */
export function move(data: PipelineData, id: string, position: { x: number; y: number }): PipelineData {
  const next = clone(data);
  const layout = withLayout(next);
  const at = { x: Math.round(position.x), y: Math.round(position.y) };
  if (id.startsWith("note:")) {
    const note = layout.notes[Number(id.slice(5))];
    if (note) Object.assign(note, at);
  } else {
    layout.nodes[id] = { ...(layout.nodes[id] ?? {}), ...at };
  }
  tidyLayout(next);
  return next;
}

/** Sets (or, with `undefined`, removes) keys of a step. */
export function updateStep(data: PipelineData, id: string, patch: Partial<StepData>): PipelineData {
  const next = clone(data);
  const step = findStep(next, id);
  if (!step) return data;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) {
      delete step[key];
    } else {
      step[key] = value;
    }
  }
  return next;
}

/** Renames a step, and every dependency, route, layout entry and template that names it. */
export function renameStep(data: PipelineData, from: string, to: string): PipelineData {
  if (from === to || !to || findStep(data, to)) return data;
  const rename = (value: unknown): unknown => {
    if (typeof value === "string") return renameIn(value, from, to);
    if (Array.isArray(value)) return value.map(rename);
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, rename(inner)]));
    }
    return value;
  };
  const next = clone(data);
  for (const { step } of allSteps(next.steps)) {
    if (step.id === from) step.id = to;
    if (step.depends_on) step.depends_on = step.depends_on.map((dep) => (dep === from ? to : dep));
    for (const key of ["on_success", "on_failure", "on_false"] as const) {
      if (step[key] === from) step[key] = to;
    }
    if (step.routes) {
      step.routes = step.routes.map((route) => (route.goto === from ? { ...route, goto: to } : route));
    }
    for (const [key, value] of Object.entries(step)) {
      if (key !== "id" && key !== "steps") step[key] = rename(value);
    }
  }
  if (next.outputs) next.outputs = rename(next.outputs) as Record<string, string>;
  const layout = next.layout?.nodes;
  if (layout && layout[from]) {
    layout[to] = layout[from];
    delete layout[from];
  }
  return next;
}

/** Where a step is named in a template or an expression: `id.` or `id[` not preceded by a
 * name, a dot or a quote (so `inputs.id` is left alone), or `steps['id']`. */
function reference(id: string): RegExp {
  return new RegExp(`(?<![\\w.'"\\]-])${escape(id)}(?=\\s*[.[])|(?<=steps\\[\\s*['"])${escape(id)}(?=['"]\\s*\\])`, "g");
}

/** A text (a template, or an expression such as `when:` or `condition:`) with its references
 * to step `from` renamed. Only text inside `{{ }}` and `{% %}` of a template is code; a text
 * without them is an expression throughout. */
export function renameIn(text: string, from: string, to: string): string {
  const pattern = reference(from);
  if (!/\{\{|\{%/.test(text)) return text.replace(pattern, to);
  return text.replace(/\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g, (code) => code.replace(pattern, to));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Copies of steps for the clipboard: bodies included, with their layout. */
export interface Clip {
  steps: StepData[];
  layout: Record<string, NodeLayout>;
}

/** The selected top-level-or-body steps as a clip (steps inside a selected container go with it). */
export function copy(data: PipelineData, ids: string[]): Clip {
  const chosen = new Set(ids);
  const steps = allSteps(data.steps)
    .filter(({ step, parent }) => chosen.has(step.id) && !(parent && chosen.has(parent)))
    .map(({ step }) => clone(step));
  const layout: Record<string, NodeLayout> = {};
  for (const { step } of allSteps(steps)) {
    const at = data.layout?.nodes?.[step.id];
    if (at) layout[step.id] = clone(at);
  }
  return { steps, layout };
}

/** Pastes a clip at the top level, shifted by an offset: ids are made fresh, and references
 * between pasted steps follow the new ids; references to steps outside the clip are dropped
 * when those steps do not exist. Returns the new ids. */
export function paste(
  data: PipelineData,
  clip: Clip,
  offset: { x: number; y: number },
): { data: PipelineData; ids: string[] } {
  const next = clone(data);
  const renames = new Map<string, string>();
  const reserved = clone(next);
  for (const { step } of allSteps(clip.steps)) {
    const id = freshId(reserved, step.id);
    renames.set(step.id, id);
    reserved.steps.push({ id });
  }
  const rewrite = (steps: StepData[]): StepData[] =>
    steps.map((original) => {
      const step = clone(original);
      step.id = renames.get(step.id) ?? step.id;
      if (step.depends_on) {
        step.depends_on = step.depends_on
          .map((dep) => renames.get(dep) ?? dep)
          .filter((dep) => [...renames.values()].includes(dep) || findStep(data, dep));
        if (step.depends_on.length === 0) delete step.depends_on;
      }
      // Jumps between pasted steps follow the copies; a jump to a step outside the clip stays
      // only when that step exists here.
      for (const key of ["on_success", "on_failure", "on_false"] as const) {
        const target = step[key];
        if (target === undefined || FAILURE_WORDS.includes(target)) continue;
        const renamed = renames.get(target) ?? target;
        if (renames.has(target) || findStep(data, target)) step[key] = renamed;
        else delete step[key];
      }
      if (step.routes) {
        step.routes = step.routes
          .filter((route) => renames.has(route.goto) || findStep(data, route.goto))
          .map((route) => ({ ...route, goto: renames.get(route.goto) ?? route.goto }));
        if (step.routes.length === 0) delete step.routes;
      }
      if (step.steps) step.steps = rewrite(step.steps);
      return step;
    });
  const pasted = rewrite(clip.steps);
  next.steps = [...next.steps, ...pasted];
  const layout = withLayout(next);
  for (const [old, id] of renames) {
    const at = clip.layout[old];
    const topLevel = clip.steps.some((step) => step.id === old);
    if (at) layout.nodes[id] = topLevel ? { ...at, x: at.x + offset.x, y: at.y + offset.y } : { ...at };
  }
  // Templates and expressions inside the clip that named a pasted step now name its copy, all
  // at once (through placeholders), so that one rename never feeds another.
  const pastedIds = new Set(allSteps(pasted).map((entry) => entry.step.id));
  const renamed = [...renames].filter(([old, id]) => old !== id);
  const rewriteText = (text: string): string => {
    let out = text;
    renamed.forEach(([old], index) => {
      out = renameIn(out, old, `\u0000${index}\u0000`);
    });
    renamed.forEach(([, id], index) => {
      out = out.split(`\u0000${index}\u0000`).join(id);
    });
    return out;
  };
  const deep = (value: unknown): unknown => {
    if (typeof value === "string") return rewriteText(value);
    if (Array.isArray(value)) return value.map(deep);
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, deep(inner)]));
    return value;
  };
  for (const { step } of allSteps(next.steps)) {
    if (!pastedIds.has(step.id)) continue;
    for (const [key, value] of Object.entries(step)) {
      if (key !== "id" && key !== "steps") step[key] = deep(value);
    }
  }
  return { data: next, ids: pasted.map((step) => step.id) };
}

/** Adds a note on the canvas. */
export function addNote(data: PipelineData, position: { x: number; y: number }, text: string): PipelineData {
  const next = clone(data);
  withLayout(next).notes.push({ x: Math.round(position.x), y: Math.round(position.y), text });
  return next;
}

/** Changes a note's text. */
export function editNote(data: PipelineData, index: number, text: string): PipelineData {
  const next = clone(data);
  const note = withLayout(next).notes[index];
  if (note) note.text = text;
  return next;
}

/** Sets every given node's position at once (auto-layout). */
export function placeAll(data: PipelineData, positions: Record<string, { x: number; y: number }>): PipelineData {
  const next = clone(data);
  const layout = withLayout(next);
  for (const [id, at] of Object.entries(positions)) {
    layout.nodes[id] = { ...(layout.nodes[id] ?? {}), x: Math.round(at.x), y: Math.round(at.y) };
  }
  return next;
}

/** The kinds of edge the canvas draws. */
export type EdgeKind = "data" | "success" | "failure" | "false" | "route";

/** The id of an edge, which says what it is so that it can be removed: `kind:from>to[#index]`. */
export function edgeId(kind: EdgeKind, from: string, to: string, index?: number): string {
  return `${kind}:${from}>${to}${index === undefined ? "" : `#${index}`}`;
}

/** Reads an edge id back. */
export function parseEdgeId(
  id: string,
): { kind: EdgeKind; from: string; to: string; index?: number } | undefined {
  const match = /^(data|success|failure|false|route):(.+?)>(.+?)(?:#(\d+))?$/.exec(id);
  if (!match) return undefined;
  return {
    kind: match[1] as EdgeKind,
    from: match[2],
    to: match[3],
    index: match[4] === undefined ? undefined : Number(match[4]),
  };
}
