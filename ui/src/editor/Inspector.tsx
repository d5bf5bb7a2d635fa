// The inspector: a form for the selected step, made from its action's parameter schema (served by
// the backend), with its control keys, and autocomplete of inputs and upstream results inside
// `{{ … }}` templates.

import { useEffect, useId, useMemo, useState } from "react";

import type { ActionInfo, ParamInfo } from "../bindings";
import { type PipelineData, type StepData, allSteps, findStep, isContainer, renameStep, updateStep } from "../graph/pipeline";
import { useEditor } from "../stores/editor";
import { useHeld } from "./held";

/** What a template inside this step may read: inputs, the loop's own names, and upstream results. */
export function templateNames(data: PipelineData, step: StepData): string[] {
  const names = Object.keys(data.inputs ?? {}).map((name) => `inputs.${name}`);
  const ancestors = new Set<string>();
  const visit = (id: string) => {
    for (const dep of findStep(data, id)?.depends_on ?? []) {
      if (!ancestors.has(dep)) {
        ancestors.add(dep);
        visit(dep);
      }
    }
  };
  visit(step.id);
  // A body step reads its container's upstream too, and `item`/`index` or `iteration`.
  const parent = allSteps(data.steps).find((entry) => entry.step.id === step.id)?.parent;
  if (parent) {
    visit(parent);
    const container = findStep(data, parent);
    if (container?.for_each !== undefined) names.push("item", "index");
    else names.push("iteration");
  }
  for (const id of ancestors) names.push(`${id}.output`, `${id}.status`, `${id}.files`, `${id}.exit_code`);
  return names;
}

/** A text field whose `{{ …` completions come from `names`. */
function TemplateField(props: { label: string; value: string; multiline: boolean; names: string[]; onCommit: (value: string) => void }) {
  const [text, setText] = useState(props.value);
  const [caret, setCaret] = useState(0);
  const [seen, setSeen] = useState(props.value);
  if (props.value !== seen) {
    setSeen(props.value);
    setText(props.value);
  }
  // Typed but not committed yet: unsaved, as far as closing the window is concerned.
  const holder = useId();
  const hold = useHeld((state) => state.hold);
  useEffect(() => hold(holder, text !== props.value), [hold, holder, text, props.value]);
  useEffect(() => () => hold(holder, false), [hold, holder]);
  const open = /\{\{\s*([\w.]*)$/.exec(text.slice(0, caret));
  const suggestions = open ? props.names.filter((name) => name.startsWith(open[1]) && name !== open[1]).slice(0, 8) : [];
  const complete = (name: string) => {
    if (!open) return;
    const before = text.slice(0, caret - open[1].length);
    const after = text.slice(caret);
    const closing = after.trimStart().startsWith("}}") ? "" : " }}";
    const next = `${before}${name}${closing}${after}`;
    setText(next);
    props.onCommit(next);
  };
  const Field = props.multiline ? "textarea" : "input";
  return (
    <label className="field">
      <span>{props.label}</span>
      <Field
        aria-label={props.label}
        value={text}
        onChange={(event: { target: HTMLInputElement | HTMLTextAreaElement }) => {
          setText(event.target.value);
          setCaret(event.target.selectionStart ?? event.target.value.length);
        }}
        onKeyUp={(event: { currentTarget: HTMLInputElement | HTMLTextAreaElement }) => setCaret(event.currentTarget.selectionStart ?? 0)}
        onBlur={() => window.setTimeout(() => text !== props.value && props.onCommit(text), 150)}
      />
      {suggestions.length ? (
        <ul className="completions" role="listbox" aria-label={`Completions for ${props.label}`}>
          {suggestions.map((name) => (
            <li key={name} role="option" aria-selected={false} onMouseDown={(event) => { event.preventDefault(); complete(name); }}>
              {name}
            </li>
          ))}
        </ul>
      ) : null}
    </label>
  );
}

/** A value as the form shows it: text as it is, lists and maps as JSON. */
function shown(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** A form value back to data: JSON when it reads as a list or map, text otherwise. */
function parsed(text: string): unknown {
  const trimmed = text.trim();
  if (/^[[{]/.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return text;
    }
  }
  return text;
}

function ParamField({ param, step, names, onChange }: { param: ParamInfo; step: StepData; names: string[]; onChange: (value: unknown) => void }) {
  const value = step[param.name];
  const label = `${param.name}${param.required ? " *" : ""}`;
  if (param.kind === "bool") {
    return (
      <label className="field inline" title={param.summary}>
        <input type="checkbox" aria-label={param.name} checked={value === true} onChange={(event) => onChange(event.target.checked || undefined)} />
        <span>{param.name}</span>
      </label>
    );
  }
  if (param.kind === "choice") {
    return (
      <label className="field" title={param.summary}>
        <span>{label}</span>
        <select aria-label={param.name} value={shown(value)} onChange={(event) => onChange(event.target.value || undefined)}>
          <option value="">—</option>
          {param.choices.map((choice) => (
            <option key={choice} value={choice}>{choice}</option>
          ))}
        </select>
      </label>
    );
  }
  if (param.kind === "integer" || param.kind === "number") {
    return (
      <label className="field" title={param.summary}>
        <span>{label}</span>
        <input
          type="number"
          aria-label={param.name}
          min={param.min ?? undefined}
          max={param.max ?? undefined}
          defaultValue={shown(value)}
          key={shown(value)}
          onBlur={(event) => onChange(event.target.value === "" ? undefined : Number(event.target.value))}
        />
      </label>
    );
  }
  const multiline = ["text", "json", "json_schema", "command"].includes(param.kind) || param.name === "prompt";
  return (
    <div title={param.summary}>
      <TemplateField label={label} value={shown(value)} multiline={multiline} names={names} onCommit={(text) => onChange(parsed(text))} />
    </div>
  );
}

/** The inspector of the selected step. */
export function Inspector({ actions }: { actions: ActionInfo[] }) {
  const data = useEditor((state) => state.data);
  const selection = useEditor((state) => state.selection);
  const edit = useEditor((state) => state.edit);
  const select = useEditor((state) => state.select);
  const step = data && selection.length === 1 ? findStep(data, selection[0]) : undefined;
  const names = useMemo(() => (data && step ? templateNames(data, step) : []), [data, step]);
  if (!data || !step) {
    return (
      <section className="inspector empty" aria-label="Inspector">
        <p>{selection.length > 1 ? `${selection.length} steps selected.` : "Select a step to edit it, or drag an action from the palette."}</p>
      </section>
    );
  }
  const action = actions.find((candidate) => candidate.name === step.action);
  const set = (key: string, value: unknown) => void edit((pipeline) => updateStep(pipeline, step.id, { [key]: value }));
  const list = (value: string) => value.split(",").map((part) => part.trim()).filter(Boolean);
  return (
    <section className="inspector" aria-label="Inspector" data-testid="inspector">
      <header>
        <h3>{step.name ?? step.id}</h3>
        <span className="node-kind">{step.action ?? (isContainer(step) ? "container" : "")}</span>
      </header>
      {action ? <p className="summary">{action.summary}</p> : null}
      <label className="field">
        <span>id</span>
        <input
          aria-label="id"
          defaultValue={step.id}
          key={step.id}
          onBlur={(event) => {
            const to = event.target.value.trim();
            if (to && to !== step.id) {
              void edit((pipeline) => renameStep(pipeline, step.id, to));
              select([to]);
            }
          }}
        />
      </label>
      <TemplateField label="name" value={step.name ?? ""} multiline={false} names={[]} onCommit={(value) => set("name", value)} />
      <TemplateField label="description" value={step.description ?? ""} multiline names={[]} onCommit={(value) => set("description", value)} />
      {action ? <h4>Parameters</h4> : null}
      {action?.params.map((param) => (
        <ParamField key={`${step.id}:${param.name}`} param={param} step={step} names={names} onChange={(value) => set(param.name, value)} />
      ))}
      {step.for_each !== undefined ? (
        <TemplateField label="for_each" value={shown(step.for_each)} multiline={false} names={names} onCommit={(value) => set("for_each", parsed(value))} />
      ) : null}
      {step.while !== undefined ? (
        <TemplateField label="while" value={shown(step.while)} multiline={false} names={names} onCommit={(value) => set("while", value)} />
      ) : null}
      <h4>When it runs</h4>
      <TemplateField label="depends_on" value={(step.depends_on ?? []).join(", ")} multiline={false} names={[]} onCommit={(value) => set("depends_on", list(value))} />
      <TemplateField label="condition" value={shown(step.condition)} multiline={false} names={names} onCommit={(value) => set("condition", value)} />
      <TemplateField label="on_success" value={step.on_success ?? ""} multiline={false} names={[]} onCommit={(value) => set("on_success", value)} />
      <TemplateField label="on_failure" value={step.on_failure ?? ""} multiline={false} names={[]} onCommit={(value) => set("on_failure", value)} />
      <TemplateField label="on_false" value={step.on_false ?? ""} multiline={false} names={[]} onCommit={(value) => set("on_false", value)} />
      <TemplateField label="timeout" value={shown(step.timeout)} multiline={false} names={[]} onCommit={(value) => set("timeout", value)} />
      <TemplateField
        label="qc"
        value={Array.isArray(step.qc) ? step.qc.map(shown).join(", ") : shown(step.qc)}
        multiline={false}
        names={[]}
        onCommit={(value) => set("qc", list(value))}
      />
      <label className="field inline">
        <input type="checkbox" aria-label="disabled" checked={step.disabled === true} onChange={(event) => set("disabled", event.target.checked || undefined)} />
        <span>disabled</span>
      </label>
    </section>
  );
}
