// Edits typed but not yet in the editor store: text the YAML panel holds back until the typing
// pauses, and inspector fields typed in and not yet committed (they commit when they lose focus).
// They count as unsaved changes, so that closing the window right after typing still asks.

import { create } from "zustand";

import { useEditor } from "../stores/editor";

export const useHeld = create<{ holders: ReadonlySet<string>; hold: (holder: string, held: boolean) => void }>((set, get) => ({
  holders: new Set(),
  hold: (holder, held) => {
    if (get().holders.has(holder) === held) return;
    const holders = new Set(get().holders);
    if (held) holders.add(holder);
    else holders.delete(holder);
    set({ holders });
  },
}));

/** Text typed in the YAML panel that its pause still holds back, sent at once by `flushYaml`. */
let heldBack: (() => void) | null = null;

/** The YAML panel says what it holds back (or `null` once it has sent it). */
export function holdBack(send: (() => void) | null): void {
  heldBack = send;
  useHeld.getState().hold("yaml", send !== null);
}

/** Sends text typed in the YAML panel without waiting for the pause. */
function flushYaml(): Promise<void> | undefined {
  const send = heldBack;
  holdBack(null);
  send?.();
  return send ? useEditor.getState().pending.then(() => undefined) : undefined;
}

/** How long an inspector field takes to commit once it loses focus (see `TemplateField`). */
const FIELD_COMMIT_MS = 200;

/** Puts every held edit into the editor store, and waits until the backend has taken them: the
 * focused inspector field is committed, the YAML panel's held text is sent. */
export async function commitEdits(): Promise<void> {
  const active = document.activeElement;
  const inField = active instanceof HTMLElement && active.closest(".inspector") !== null;
  if (inField) (active as HTMLElement).blur();
  const fieldHeld = [...useHeld.getState().holders].some((holder) => holder !== "yaml");
  if (inField || fieldHeld) await new Promise((resolve) => setTimeout(resolve, FIELD_COMMIT_MS));
  await flushYaml();
  await useEditor.getState().pending;
}
