// The palette: every action the backend offers, plus loops and notes, to drag onto the canvas
// (or click to add in the middle of the view).

import { useMemo, useState } from "react";

import type { ActionInfo } from "../bindings";
import type { Dragged } from "./Canvas";

/** Where a dragged palette item was released, in window coordinates. */
export interface Drop {
  item: Dragged;
  x: number;
  y: number;
}

export function Palette({ actions, onDrag, onDrop, onAdd }: { actions: ActionInfo[]; onDrag: (item: Dragged | null) => void; onDrop: (drop: Drop) => void; onAdd: (item: Dragged) => void }) {
  const [filter, setFilter] = useState("");
  const shown = useMemo(
    () => actions.filter((action) => `${action.name} ${action.summary}`.toLowerCase().includes(filter.toLowerCase())),
    [actions, filter],
  );
  const item = (key: string, label: string, summary: string, dragged: Dragged) => (
    <li
      key={key}
      className="palette-item"
      data-testid={`palette-${key}`}
      title={summary}
      onMouseDown={(event) => {
        if (event.button !== 0) return;
        event.preventDefault();
        onDrag(dragged);
        // The release is caught here, at once, so that a quick drag is never missed.
        window.addEventListener(
          "mouseup",
          (up) => {
            onDrag(null);
            onDrop({ item: dragged, x: up.clientX, y: up.clientY });
          },
          { once: true, capture: true },
        );
      }}
      onDoubleClick={() => onAdd(dragged)}
    >
      <strong>{label}</strong>
      <span>{summary}</span>
    </li>
  );
  return (
    <aside className="palette" aria-label="Palette">
      <input type="search" placeholder="Filter actions" aria-label="Filter actions" value={filter} onChange={(event) => setFilter(event.target.value)} />
      <ul>
        {shown.map((action) => item(action.name, action.name, action.summary, { kind: "action", action }))}
        {item("for_each", "for each", "Runs a body of steps once for each item of a list.", { kind: "for_each" })}
        {item("while", "while", "Runs a body of steps again while a condition holds.", { kind: "while" })}
        {item("note", "note", "A note on the canvas for the people who read the pipeline.", { kind: "note" })}
      </ul>
    </aside>
  );
}
