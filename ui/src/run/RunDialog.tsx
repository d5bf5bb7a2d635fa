// The run form: one field per input of the pipeline, typed as the input says, with its default.

import { useState } from "react";

import type { InputData, PipelineData } from "../graph/pipeline";

/** A form value as the input's type wants it; text the backend converts is sent as text. */
function value(input: InputData, text: string): unknown {
  if (input.type === "boolean") return text === "true";
  if (input.type === "list" || input.type === "object") {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function initial(input: InputData): string {
  if (input.default === undefined || input.default === null) return "";
  return typeof input.default === "string" ? input.default : JSON.stringify(input.default);
}

export function RunDialog({ data, onStart, onClose }: { data: PipelineData; onStart: (inputs: Record<string, unknown>) => void; onClose: () => void }) {
  const inputs = Object.entries(data.inputs ?? {});
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(inputs.map(([name, input]) => [name, initial(input)])));
  const missing = inputs.filter(([name, input]) => input.default === undefined && values[name].trim() === "").map(([name]) => name);
  return (
    <div className="modal" role="dialog" aria-label="Run" data-testid="run-dialog">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (missing.length) return;
          onStart(Object.fromEntries(inputs.filter(([name]) => values[name] !== "" ).map(([name, input]) => [name, value(input, values[name])])));
        }}
      >
        <h2>Run {data.name ?? data.id}</h2>
        {inputs.length === 0 ? <p>This pipeline takes no inputs.</p> : null}
        {inputs.map(([name, input]) => (
          <label key={name} className="field">
            <span>{name}{input.default === undefined ? " *" : ""}</span>
            {input.choices?.length ? (
              <select aria-label={name} value={values[name]} onChange={(event) => setValues({ ...values, [name]: event.target.value })}>
                {input.choices.map((choice) => (
                  <option key={String(choice)} value={String(choice)}>{String(choice)}</option>
                ))}
              </select>
            ) : input.type === "boolean" ? (
              <select aria-label={name} value={values[name]} onChange={(event) => setValues({ ...values, [name]: event.target.value })}>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : input.type === "text" || input.type === "object" || input.type === "list" ? (
              <textarea aria-label={name} value={values[name]} onChange={(event) => setValues({ ...values, [name]: event.target.value })} />
            ) : (
              <input aria-label={name} type={input.type === "integer" || input.type === "number" ? "number" : "text"} value={values[name]} onChange={(event) => setValues({ ...values, [name]: event.target.value })} />
            )}
            {input.description ? <small>{input.description}</small> : null}
          </label>
        ))}
        {missing.length ? <p className="hint">Fill in {missing.join(", ")} to run.</p> : null}
        <div className="actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" className="primary" disabled={missing.length > 0} data-testid="run-start">Start run</button>
        </div>
      </form>
    </div>
  );
}
