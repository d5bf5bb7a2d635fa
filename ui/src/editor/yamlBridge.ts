// What the rest of the studio says to the YAML panel, kept apart from it so that CodeMirror is
// loaded only when the panel is first shown: a line to show, and text the panel holds back.

import { create } from "zustand";

import { useEditor } from "../stores/editor";

/** A line the problems panel asks the YAML panel to show. */
export const useYamlFocus = create<{ line: number; serial: number; show: (line: number) => void }>((set) => ({
  line: 0,
  serial: 0,
  show: (line) => set((state) => ({ line, serial: state.serial + 1 })),
}));

/** Text typed in the panel that its pause still holds back, sent at once by `flushYaml`. */
let heldBack: (() => void) | null = null;

/** The panel says what it holds back (or `null` once it has sent it). */
export function holdBack(send: (() => void) | null): void {
  heldBack = send;
}

/** Sends text typed in the YAML panel without waiting for the pause (before a save). */
export function flushYaml(): Promise<void> | undefined {
  const send = heldBack;
  heldBack = null;
  send?.();
  return send ? useEditor.getState().pending.then(() => undefined) : undefined;
}
