// What the rest of the studio says to the YAML panel, kept apart from it so that CodeMirror is
// loaded only when the panel is first shown: a line to show. (Text the panel holds back is in
// `held.ts`, with the other edits not yet in the store.)

import { create } from "zustand";

/** A line the problems panel asks the YAML panel to show. */
export const useYamlFocus = create<{ line: number; serial: number; show: (line: number) => void }>((set) => ({
  line: 0,
  serial: 0,
  show: (line) => set((state) => ({ line, serial: state.serial + 1 })),
}));
