// The pipeline being edited: its text, the same pipeline as data for the graph, its problems,
// and the history that undo and redo walk. Both views edit one pipeline: a graph change goes to
// the backend as data and comes back as canonical text; a text change goes as text and comes back
// as data. The backend is the only one that reads or writes the format.

import { create } from "zustand";

import { type Document, type Problem, commands } from "../bindings";
import { errorText } from "../format";
import type { PipelineData } from "../graph/pipeline";

/** One state of the pipeline that undo can go back to. */
interface Snapshot {
  text: string;
  data: PipelineData | null;
}

/** The most undo steps kept. */
const HISTORY_LIMIT = 200;

export interface EditorState {
  file: string | null;
  text: string;
  /** The text as it was last loaded or saved: the pipeline is unsaved when `text` differs. */
  savedText: string;
  data: PipelineData | null;
  /** Whether the data holds everything the text says; the graph is not edited when it does not. */
  complete: boolean;
  problems: Problem[];
  past: Snapshot[];
  future: Snapshot[];
  selection: string[];
  /** The file changed on disk since it was loaded or saved (by another program). */
  changedOnDisk: boolean;
  /** The last error of a command, as a sentence. */
  error: string | null;
  /** Counts requests, so that an answer to an older one never overwrites a newer one. */
  request: number;
  /** The last request sent, so that a save waits for the edits before it. */
  pending: Promise<unknown>;
  open: (file: string) => Promise<void>;
  /** Opens a document that is not on disk yet (a draft). */
  openUnsaved: (document: Document) => void;
  /** Applies a graph change to the data. */
  edit: (change: (data: PipelineData) => PipelineData) => Promise<void>;
  /** Takes new text from the YAML panel. */
  setText: (text: string) => Promise<void>;
  undo: () => Promise<void>;
  redo: () => Promise<void>;
  save: () => Promise<boolean>;
  select: (ids: string[]) => void;
  /** Compares the file on disk with what was loaded, marking an outside change. */
  checkDisk: () => Promise<void>;
  /** Loads the file from disk again, dropping unsaved changes. */
  reload: () => Promise<void>;
  /** Closes the pipeline (another project was opened): nothing of it stays to be saved. */
  close: () => void;
}

/** The editor with nothing open. */
const CLOSED = {
  file: null,
  text: "",
  savedText: "",
  data: null,
  complete: true,
  problems: [],
  past: [],
  future: [],
  selection: [],
  changedOnDisk: false,
  error: null,
};

export const useEditor = create<EditorState>((set, get) => {
  /** Takes a document the backend answered with, unless a newer request went out since. */
  const take = (request: number, document: Document, extra: Partial<EditorState> = {}) => {
    if (get().request !== request) return;
    set({
      text: document.text,
      data: (document.pipeline as PipelineData | null) ?? get().data,
      complete: document.complete,
      problems: document.problems,
      error: null,
      ...extra,
    });
  };
  /** Shows a command's error, unless a newer request went out since. */
  const fail = (request: number, error: unknown) => {
    if (get().request === request) set({ error: errorText(error) });
  };
  const remember = (): Snapshot[] => {
    const { text, data, past } = get();
    return [...past, { text, data }].slice(-HISTORY_LIMIT);
  };
  const restore = async (snapshot: Snapshot) => {
    const { file } = get();
    const request = get().request + 1;
    set({ request, text: snapshot.text, data: snapshot.data });
    if (!file) return;
    try {
      take(request, await commands.checkText(file, snapshot.text));
    } catch (error) {
      fail(request, error);
    }
  };
  return {
    ...CLOSED,
    request: 0,
    pending: Promise.resolve(),

    open: async (file) => {
      const request = get().request + 1;
      // Another file shows nothing of the last one while it loads (its canvas would fit the
      // view to the old graph); the same file, reloaded, keeps showing until the answer.
      const another = file !== get().file ? { text: "", savedText: "", data: null, complete: true, problems: [] } : {};
      set({ request, file, past: [], future: [], selection: [], changedOnDisk: false, error: null, ...another });
      try {
        const document = await commands.loadPipeline(file);
        take(request, document, { savedText: document.text, data: (document.pipeline as PipelineData | null) ?? null });
      } catch (error) {
        // A file that cannot be opened is not open: nothing can be saved over it by mistake.
        if (get().request === request) set({ error: errorText(error), file: null, text: "", savedText: "", data: null, problems: [] });
      }
    },

    openUnsaved: (document) =>
      set((state) => ({
        request: state.request + 1,
        file: document.file,
        text: document.text,
        savedText: "",
        data: (document.pipeline as PipelineData | null) ?? null,
        complete: document.complete,
        problems: document.problems,
        past: [],
        future: [],
        selection: [],
        changedOnDisk: false,
        error: null,
      })),

    edit: async (change) => {
      const { data, file, complete } = get();
      if (!data || !file) return;
      if (!complete) {
        set({ error: "The YAML has mistakes that the graph cannot show (see the problems panel); fix them in the YAML panel before changing the graph, so that nothing is dropped." });
        return;
      }
      const next = change(data);
      if (next === data) return;
      const request = get().request + 1;
      const answer = commands.fromData(file, next);
      set({ past: remember(), future: [], data: next, request, pending: answer.catch(() => undefined) });
      try {
        take(request, await answer);
      } catch (error) {
        fail(request, error);
      }
    },

    setText: async (text) => {
      const { file } = get();
      if (!file || text === get().text) return;
      const request = get().request + 1;
      const answer = commands.checkText(file, text);
      set({ past: remember(), future: [], text, request, pending: answer.catch(() => undefined) });
      try {
        const document = await answer;
        // Text that is not a pipeline at all keeps the last graph; its problems say why.
        take(request, { ...document, text });
      } catch (error) {
        fail(request, error);
      }
    },

    undo: async () => {
      const { past, text, data, future } = get();
      const previous = past[past.length - 1];
      if (!previous) return;
      set({ past: past.slice(0, -1), future: [{ text, data }, ...future].slice(0, HISTORY_LIMIT) });
      await restore(previous);
    },

    redo: async () => {
      const { past, text, data, future } = get();
      const next = future[0];
      if (!next) return;
      set({ future: future.slice(1), past: [...past, { text, data }].slice(-HISTORY_LIMIT) });
      await restore(next);
    },

    save: async () => {
      // Edits still on their way to the backend are saved too.
      await get().pending;
      const { file, text } = get();
      if (!file) return false;
      const request = get().request + 1;
      set({ request });
      try {
        const document = await commands.savePipeline(file, text);
        // What was written is what the disk holds now, whatever was typed since (unless another
        // file was opened meanwhile).
        if (get().file !== file) return true;
        set({ savedText: document.text, changedOnDisk: false });
        take(request, document);
        return true;
      } catch (error) {
        fail(request, error);
        return false;
      }
    },

    select: (ids) => set({ selection: ids }),

    checkDisk: async () => {
      const { file, savedText } = get();
      if (!file || savedText === "") return;
      try {
        const disk = await commands.diskText(file);
        if (get().file === file && disk !== null && disk !== get().savedText) set({ changedOnDisk: true });
      } catch {
        // A file that cannot be read now is noticed when it is saved.
      }
    },

    close: () => set((state) => ({ ...CLOSED, request: state.request + 1 })),

    reload: async () => {
      const { file } = get();
      if (file) await get().open(file);
    },
  };
});

/** Whether the pipeline has changes that are not saved. */
export function isDirty(state: Pick<EditorState, "text" | "savedText">): boolean {
  return state.text !== state.savedText;
}
