import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { Document, Problem } from "../bindings";
import type { PipelineData } from "../graph/pipeline";
import { isDirty, useEditor } from "./editor";

// A tiny stand-in for the backend's format: `id: <id>` then `steps: <a>, <b>, …`. The backend owns
// the real one; these tests only need text that maps to data and back, and text that is not a pipeline.

const FILE = "pipelines/hello.yaml";

function pipeline(id: string, ...steps: string[]): PipelineData {
  return { orchestra: 1, id, steps: steps.map((step) => ({ id: step, action: "shell" })) };
}

/** The canonical text of a pipeline. */
function render(data: PipelineData): string {
  return `id: ${data.id}\nsteps: ${data.steps.map((step) => step.id).join(", ")}\n`;
}

/** Reads text loosely (extra spaces are fine), or null when it is not a pipeline. */
function parse(text: string): PipelineData | null {
  const found = /^\s*id:\s*(\S+)\s*\n\s*steps:\s*(.*?)\s*$/.exec(text);
  if (!found) return null;
  const steps = found[2] === "" ? [] : found[2].split(/\s*,\s*/);
  return pipeline(found[1], ...steps);
}

function problem(message: string, severity = "error"): Problem {
  return { severity, code: "test", message, help: null, step: null, line: 1, column: 1 };
}

/** The document the backend answers for some text. */
function documentOf(text: string, file = FILE): Document {
  const data = parse(text);
  return data
    ? { file, text: render(data), pipeline: data, complete: true, problems: data.steps.length === 0 ? [problem("a pipeline needs a step", "warning")] : [] }
    : { file, text, pipeline: null, complete: false, problems: [problem("this is not a pipeline")] };
}

/** A promise with its resolve and reject at hand, to answer a command when the test says so. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

type Args = Record<string, unknown>;
type Handler = (args: Args) => unknown;

/** The fake backend: its files, how it answers each command, and every call it got. */
let disk: Record<string, string>;
let handlers: Record<string, Handler>;
let calls: { cmd: string; args: Args }[];

const callsOf = (cmd: string) => calls.filter((call) => call.cmd === cmd).map((call) => call.args);

const HELLO = pipeline("hello", "a");
const HELLO_TEXT = render(HELLO);

const initial = useEditor.getState();

beforeEach(() => {
  useEditor.setState(initial, true);
  disk = { [FILE]: HELLO_TEXT };
  calls = [];
  handlers = {
    load_pipeline: ({ file }) => {
      const text = disk[file as string];
      if (text === undefined) throw `The file \`${String(file)}\` does not exist.`;
      return documentOf(text, file as string);
    },
    check_text: ({ file, text }) => documentOf(text as string, file as string),
    from_data: ({ file, data }) => documentOf(render(data as PipelineData), file as string),
    save_pipeline: ({ file, text }) => {
      const document = documentOf(text as string, file as string);
      disk[file as string] = document.text;
      return document;
    },
    disk_text: ({ file }) => disk[file as string] ?? null,
  };
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Args;
    calls.push({ cmd, args });
    const handler = handlers[cmd];
    if (!handler) throw `unexpected command ${cmd}`;
    return handler(args);
  });
});

afterEach(() => {
  clearMocks();
});

const state = () => useEditor.getState();
const addStep = (id: string) => (data: PipelineData): PipelineData => ({ ...data, steps: [...data.steps, { id, action: "shell" }] });

/** Opens FILE and forgets the calls that took. */
async function opened() {
  await state().open(FILE);
  calls = [];
}

describe("isDirty", () => {
  it("is whether the text differs from the saved text", () => {
    expect(isDirty({ text: "a", savedText: "a" })).toBe(false);
    expect(isDirty({ text: "b", savedText: "a" })).toBe(true);
    expect(isDirty({ text: "", savedText: "" })).toBe(false);
  });
});

describe("useEditor", () => {
  it("opens a file: text, data and problems, not dirty", async () => {
    disk[FILE] = render(pipeline("hello"));
    await state().open(FILE);
    expect(callsOf("load_pipeline")).toEqual([{ file: FILE }]);
    const now = state();
    expect(now.file).toBe(FILE);
    expect(now.text).toBe("id: hello\nsteps: \n");
    expect(now.savedText).toBe(now.text);
    expect(now.data).toEqual(pipeline("hello"));
    expect(now.problems.map((found) => found.message)).toEqual(["a pipeline needs a step"]);
    expect(isDirty(now), "a file just opened has no unsaved changes").toBe(false);
    expect(now.past).toEqual([]);
    expect(now.future).toEqual([]);
    expect(now.error).toBeNull();
  });

  it("opens a file that is not a pipeline with no data and its problems", async () => {
    disk[FILE] = "just: words";
    await state().open(FILE);
    expect(state().text).toBe("just: words");
    expect(state().data, "no graph for text that is not a pipeline").toBeNull();
    expect(state().problems.map((found) => found.message)).toEqual(["this is not a pipeline"]);
  });

  it("while another file loads, nothing of the last one shows; a reload keeps showing the file", async () => {
    await opened();
    const OTHER = "pipelines/other.yaml";
    disk[OTHER] = render(pipeline("other", "x", "y"));
    const answer = deferred<Document>();
    handlers.load_pipeline = () => answer.promise;
    const opening = state().open(OTHER);
    expect(state().file).toBe(OTHER);
    expect(state().data, "the last file's graph is not drawn for the new one").toBeNull();
    expect(state().text).toBe("");
    expect(isDirty(state()), "a file loading has nothing unsaved").toBe(false);
    answer.resolve(documentOf(disk[OTHER], OTHER));
    await opening;
    expect(state().data).toEqual(pipeline("other", "x", "y"));

    const again = deferred<Document>();
    handlers.load_pipeline = () => again.promise;
    const reloading = state().reload();
    expect(state().data, "reloading the same file keeps it on screen until the answer").toEqual(pipeline("other", "x", "y"));
    again.resolve(documentOf(disk[OTHER], OTHER));
    await reloading;
  });

  it("opening another file forgets the history, the selection and an outside change", async () => {
    await opened();
    await state().edit(addStep("b"));
    state().select(["b"]);
    useEditor.setState({ changedOnDisk: true });
    await state().open(FILE);
    expect(state().past).toEqual([]);
    expect(state().future).toEqual([]);
    expect(state().selection).toEqual([]);
    expect(state().changedOnDisk).toBe(false);
    expect(state().text).toBe(HELLO_TEXT);
  });

  it("edit sends the changed data, takes the canonical text back, is dirty and remembers the past", async () => {
    await opened();
    await state().edit(addStep("b"));
    expect(callsOf("from_data"), "the changed data goes to the backend").toEqual([{ file: FILE, data: pipeline("hello", "a", "b") }]);
    const now = state();
    expect(now.text, "the text is the backend's canonical text").toBe("id: hello\nsteps: a, b\n");
    expect(now.data).toEqual(pipeline("hello", "a", "b"));
    expect(isDirty(now)).toBe(true);
    expect(now.past, "the state before the edit can be undone").toEqual([{ text: HELLO_TEXT, data: HELLO }]);
    expect(now.future).toEqual([]);
  });

  it("an edit that changes nothing sends nothing and remembers nothing", async () => {
    await opened();
    await state().edit((data) => data);
    expect(calls).toEqual([]);
    expect(state().past).toEqual([]);
  });

  it("edit does nothing without a pipeline", async () => {
    await state().edit(addStep("b"));
    expect(calls, "nothing is open").toEqual([]);
    disk[FILE] = "not a pipeline";
    await opened();
    await state().edit(addStep("b"));
    expect(calls, "the text has no data to change").toEqual([]);
  });

  it("edit refuses to change a graph whose text has mistakes the data leaves out", async () => {
    handlers.load_pipeline = ({ file }) => ({ ...documentOf(disk[file as string], file as string), complete: false });
    await opened();
    await state().edit(addStep("b"));
    expect(calls, "nothing goes to the backend, so nothing the reader left out is dropped").toEqual([]);
    expect(state().text).toBe(HELLO_TEXT);
    expect(state().error, "the person is told to fix the YAML first").toMatch(/fix them in the YAML panel/);
  });

  it("save waits for an edit still on its way, and saves it", async () => {
    await opened();
    let answer: (value: unknown) => void = () => {};
    handlers.from_data = ({ file, data }) =>
      new Promise((resolve) => {
        answer = () => resolve(documentOf(render(data as PipelineData), file as string));
      });
    const editing = state().edit(addStep("b"));
    const saving = state().save();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(callsOf("save_pipeline"), "the save waits for the edit's answer").toEqual([]);
    answer(undefined);
    await editing;
    expect(await saving).toBe(true);
    expect(disk[FILE], "the edit is in the saved file").toBe("id: hello\nsteps: a, b\n");
    expect(isDirty(state())).toBe(false);
  });

  it("undo then redo restore text and data, and check the text again", async () => {
    await opened();
    await state().edit(addStep("b"));
    const edited = { text: state().text, data: state().data };
    calls = [];

    await state().undo();
    expect(state().text).toBe(HELLO_TEXT);
    expect(state().data).toEqual(HELLO);
    expect(isDirty(state()), "undone back to the saved text").toBe(false);
    expect(callsOf("check_text"), "undo checks the text it restores").toEqual([{ file: FILE, text: HELLO_TEXT }]);
    expect(state().past).toEqual([]);
    expect(state().future).toEqual([edited]);

    calls = [];
    await state().redo();
    expect(state().text).toBe(edited.text);
    expect(state().data).toEqual(edited.data);
    expect(callsOf("check_text"), "redo checks the text it restores").toEqual([{ file: FILE, text: edited.text }]);
    expect(state().past).toEqual([{ text: HELLO_TEXT, data: HELLO }]);
    expect(state().future).toEqual([]);
  });

  it("undo and redo take the problems the backend finds in the restored text", async () => {
    await opened();
    await state().setText("id: hello\nsteps:\n");
    expect(state().problems.map((found) => found.message)).toEqual(["a pipeline needs a step"]);
    await state().undo();
    expect(state().problems, "the restored text has no problems").toEqual([]);
    await state().redo();
    expect(state().problems.map((found) => found.message)).toEqual(["a pipeline needs a step"]);
  });

  it("undo and redo with nothing to walk do nothing", async () => {
    await opened();
    await state().undo();
    await state().redo();
    expect(calls).toEqual([]);
    expect(state().text).toBe(HELLO_TEXT);
  });

  it("a new change drops what redo could bring back", async () => {
    await opened();
    await state().edit(addStep("b"));
    await state().undo();
    expect(state().future).toHaveLength(1);
    await state().edit(addStep("c"));
    expect(state().future).toEqual([]);
    expect(state().data).toEqual(pipeline("hello", "a", "c"));
  });

  it("setText sends the text, takes the data back and keeps the text as typed", async () => {
    await opened();
    const typed = "id: hello\nsteps:   a,b\n";
    await state().setText(typed);
    expect(callsOf("check_text")).toEqual([{ file: FILE, text: typed }]);
    expect(state().text, "the text under the cursor is not rewritten").toBe(typed);
    expect(state().data).toEqual(pipeline("hello", "a", "b"));
    expect(state().problems).toEqual([]);
    expect(isDirty(state())).toBe(true);
    expect(state().past).toEqual([{ text: HELLO_TEXT, data: HELLO }]);
  });

  it("setText of text that is not a pipeline keeps the last data and shows why", async () => {
    await opened();
    await state().setText("id: hello\n  oops: [");
    expect(state().text).toBe("id: hello\n  oops: [");
    expect(state().data, "the graph keeps the last pipeline").toEqual(HELLO);
    expect(state().problems.map((found) => found.message)).toEqual(["this is not a pipeline"]);
    expect(isDirty(state())).toBe(true);
  });

  it("setText of the same text sends nothing", async () => {
    await opened();
    await state().setText(HELLO_TEXT);
    expect(calls).toEqual([]);
    expect(state().past).toEqual([]);
  });

  it("save writes the text and is no longer dirty", async () => {
    await opened();
    await state().edit(addStep("b"));
    const text = state().text;
    useEditor.setState({ changedOnDisk: true });
    await expect(state().save()).resolves.toBe(true);
    expect(callsOf("save_pipeline")).toEqual([{ file: FILE, text }]);
    expect(disk[FILE]).toBe(text);
    expect(state().savedText).toBe(text);
    expect(isDirty(state())).toBe(false);
    expect(state().changedOnDisk, "what is on disk is what was saved").toBe(false);
  });

  it("save without a file saves nothing", async () => {
    await expect(state().save()).resolves.toBe(false);
    expect(calls).toEqual([]);
  });

  it("an answer to an older edit never overwrites a newer one", async () => {
    await opened();
    const slow = deferred<Document>();
    let first = true;
    const answer = handlers.from_data;
    handlers.from_data = (args) => {
      if (!first) return answer(args);
      first = false;
      return slow.promise;
    };

    const older = state().edit(addStep("b"));
    expect(state().data, "the graph shows the edit at once").toEqual(pipeline("hello", "a", "b"));
    await state().edit(addStep("c"));
    expect(state().text).toBe("id: hello\nsteps: a, b, c\n");

    slow.resolve(documentOf("id: hello\nsteps: a, b\n"));
    await older;
    expect(callsOf("from_data")).toHaveLength(2);
    expect(state().text, "the older answer came last but the newer edit stays").toBe("id: hello\nsteps: a, b, c\n");
    expect(state().data).toEqual(pipeline("hello", "a", "b", "c"));
    expect(state().past.map((snapshot) => snapshot.data?.steps.length)).toEqual([1, 2]);
  });

  it("an answer to an older open never overwrites a newer one", async () => {
    const other = "pipelines/other.yaml";
    disk[other] = render(pipeline("other", "x"));
    const slow = deferred<Document>();
    handlers.load_pipeline = ({ file }) => (file === FILE ? slow.promise : documentOf(disk[file as string], file as string));

    const older = state().open(FILE);
    await state().open(other);
    slow.resolve(documentOf(HELLO_TEXT));
    await older;
    expect(state().file).toBe(other);
    expect(state().text).toBe(disk[other]);
    expect(state().savedText).toBe(disk[other]);
    expect(state().data).toEqual(pipeline("other", "x"));
  });

  it("checkDisk marks a change on disk only when the disk text differs from the saved text", async () => {
    await opened();
    await state().checkDisk();
    expect(callsOf("disk_text")).toEqual([{ file: FILE }]);
    expect(state().changedOnDisk, "the disk holds what was loaded").toBe(false);

    await state().setText("id: hello\nsteps: a, z\n");
    await state().checkDisk();
    expect(state().changedOnDisk, "unsaved changes in the studio are not a change on disk").toBe(false);

    disk[FILE] = "id: hello\nsteps: a, b\n";
    await state().checkDisk();
    expect(state().changedOnDisk, "another program wrote the file").toBe(true);
  });

  it("checkDisk takes a deleted file, or one it cannot read, as no change", async () => {
    await opened();
    delete disk[FILE];
    await state().checkDisk();
    expect(state().changedOnDisk, "a file gone from disk (null)").toBe(false);
    handlers.disk_text = () => {
      throw "Permission denied.";
    };
    await state().checkDisk();
    expect(state().changedOnDisk).toBe(false);
    expect(state().error, "a failed check is not an error to show").toBeNull();
  });

  it("checkDisk does not look at a draft that was never saved", async () => {
    state().openUnsaved(documentOf("id: draft\nsteps: a\n", "pipelines/draft.yaml"));
    expect(state().file).toBe("pipelines/draft.yaml");
    expect(state().data).toEqual(pipeline("draft", "a"));
    expect(isDirty(state()), "a draft is unsaved").toBe(true);
    await state().checkDisk();
    expect(calls).toEqual([]);
    expect(state().changedOnDisk).toBe(false);
  });

  it("reload opens the file again, dropping unsaved changes", async () => {
    await opened();
    await state().edit(addStep("b"));
    disk[FILE] = "id: hello\nsteps: x\n";
    await state().checkDisk();
    expect(state().changedOnDisk).toBe(true);
    calls = [];

    await state().reload();
    expect(callsOf("load_pipeline")).toEqual([{ file: FILE }]);
    expect(state().text).toBe("id: hello\nsteps: x\n");
    expect(state().data).toEqual(pipeline("hello", "x"));
    expect(isDirty(state())).toBe(false);
    expect(state().changedOnDisk).toBe(false);
    expect(state().past, "the history of the dropped changes is gone").toEqual([]);
  });

  it("reload without a file does nothing", async () => {
    await state().reload();
    expect(calls).toEqual([]);
  });

  describe("errors land in `error`", () => {
    it("from load_pipeline, leaving an empty editor", async () => {
      await state().open("pipelines/missing.yaml");
      expect(state().error).toBe("The file `pipelines/missing.yaml` does not exist.");
      expect(state().text).toBe("");
      expect(state().data).toBeNull();
      expect(state().problems).toEqual([]);
    });

    it("from from_data, and a later answer clears it", async () => {
      await opened();
      handlers.from_data = () => {
        throw "The step id `b` is taken.";
      };
      await state().edit(addStep("b"));
      expect(state().error).toBe("The step id `b` is taken.");
      expect(state().text, "the text stays as it was").toBe(HELLO_TEXT);

      await state().setText("id: hello\nsteps: a, c\n");
      expect(state().error, "a good answer clears the error").toBeNull();
    });

    it("from check_text", async () => {
      await opened();
      handlers.check_text = () => {
        throw "The project is gone.";
      };
      await state().setText("id: hello\nsteps: b\n");
      expect(state().error).toBe("The project is gone.");
      await state().undo();
      expect(state().error, "undo's check fails the same way").toBe("The project is gone.");
      expect(state().text, "undo still restores the text").toBe(HELLO_TEXT);
    });

    it("from save_pipeline, which then answers false and stays dirty", async () => {
      await opened();
      await state().edit(addStep("b"));
      handlers.save_pipeline = () => {
        throw "The disk is full.";
      };
      await expect(state().save()).resolves.toBe(false);
      expect(state().error).toBe("The disk is full.");
      expect(isDirty(state())).toBe(true);
      expect(disk[FILE]).toBe(HELLO_TEXT);
    });

    it("as a sentence also when the command throws an Error", async () => {
      handlers.load_pipeline = () => {
        throw new Error("The backend is not running.");
      };
      await state().open(FILE);
      expect(state().error).toBe("The backend is not running.");
    });
  });

  describe("bugs (these assert the correct behaviour)", () => {
    it("a failed older open does not blank the pipeline a newer open loaded", async () => {
      const other = "pipelines/other.yaml";
      disk[other] = render(pipeline("other", "x"));
      const slow = deferred<Document>();
      handlers.load_pipeline = ({ file }) => (file === FILE ? slow.promise : documentOf(disk[file as string], file as string));

      const older = state().open(FILE);
      await state().open(other);
      slow.reject("The file `pipelines/hello.yaml` cannot be read.");
      await older;
      // The editor shows `other`; the older open's failure must not empty it, or a save would
      // write "" over `other`.
      expect(state().file).toBe(other);
      expect(state().text, "the newer open's text is kept").toBe(disk[other]);
      expect(state().savedText).toBe(disk[other]);
      expect(state().data).toEqual(pipeline("other", "x"));
    });

    it("a save answered after a newer edit still records what it wrote, so checkDisk sees no outside change", async () => {
      await opened();
      await state().setText("id: hello\nsteps: a, b\n");
      const slow = deferred<void>();
      const write = handlers.save_pipeline;
      handlers.save_pipeline = async (args) => {
        await slow.promise;
        return write(args);
      };

      const saving = state().save();
      await Promise.resolve();
      // The person types on while the save is under way.
      await state().setText("id: hello\nsteps: a, b, c\n");
      slow.resolve();
      await expect(saving).resolves.toBe(true);
      expect(disk[FILE]).toBe("id: hello\nsteps: a, b\n");

      expect(state().savedText, "the saved text is what is on disk now").toBe("id: hello\nsteps: a, b\n");
      await state().checkDisk();
      expect(state().changedOnDisk, "the studio's own save is not a change made by another program").toBe(false);
    });
  });
});
