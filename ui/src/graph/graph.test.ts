import { describe, expect, it } from "vitest";

import { problemsByStep, toGraph } from "./graph";
import {
  type PipelineData,
  addContainer,
  addNote,
  addStep,
  connect,
  copy,
  disconnect,
  edgeId,
  findStep,
  move,
  parseEdgeId,
  paste,
  remove,
  renameStep,
  updateStep,
} from "./pipeline";

/** The `hello` example as the backend hands it over, plus a loop, a route and a note. */
function review(): PipelineData {
  return {
    orchestra: 1,
    id: "review",
    inputs: { name: { type: "string", default: "world" } },
    steps: [
      { id: "machine", action: "shell", run: ["uname", "-sm"] },
      { id: "greeting", action: "template", depends_on: ["machine"], template: "Hi {{ machine.output }}" },
      {
        id: "critic",
        action: "template",
        depends_on: ["greeting"],
        template: "{{ greeting.output }}",
        on_failure: "continue",
        routes: [{ when: "critic.output == 'again'", goto: "greeting", max_loops: 2 }],
      },
      {
        id: "per_topic",
        for_each: "{{ inputs.topics }}",
        depends_on: ["critic"],
        steps: [{ id: "notes", action: "template", template: "{{ item }}" }],
      },
    ],
    layout: {
      nodes: { machine: { x: 0, y: 0 }, greeting: { x: 280, y: 0 }, notes: { x: 24, y: 48 } },
      notes: [{ x: 0, y: 200, text: "Runs every morning." }],
    },
  };
}

describe("pipeline to graph", () => {
  it("draws a node per step, bodies inside their container, and notes", () => {
    const { nodes } = toGraph(review());
    expect(nodes.map((node) => node.id)).toEqual(["machine", "greeting", "critic", "per_topic", "notes", "note:0"]);
    const notes = nodes.find((node) => node.id === "notes");
    expect(notes?.parentId, "a body step is drawn inside its for_each").toBe("per_topic");
    expect(nodes.find((node) => node.id === "per_topic")?.type).toBe("container");
    expect(nodes.find((node) => node.id === "greeting")?.position, "saved positions are kept").toEqual({ x: 280, y: 0 });
    expect(nodes.find((node) => node.id === "note:0")?.type).toBe("note");
  });

  it("draws data edges for dependencies and labelled control edges for jumps with their bound", () => {
    const { edges } = toGraph(review());
    const data = edges.filter((edge) => edge.type === "data").map((edge) => `${edge.source}>${edge.target}`);
    expect(data).toEqual(["machine>greeting", "greeting>critic", "critic>per_topic"]);
    const control = edges.filter((edge) => edge.type === "control");
    expect(control).toHaveLength(1);
    expect(control[0].label, "a loop shows its condition and bound").toBe("critic.output == 'again' (≤ 2×)");
    expect(control[0].data.kind).toBe("route");
    expect(
      edges.some((edge) => edge.label === "on failure"),
      "`on_failure: continue` is a word, not a jump",
    ).toBe(false);
  });

  it("marks the steps the validator found problems in", () => {
    const problems = problemsByStep([
      { step: "greeting", severity: "error", message: "unknown name `machin`" },
      { step: "greeting", severity: "warning", message: "later" },
      { step: null, severity: "error", message: "a pipeline-wide problem" },
    ]);
    const node = toGraph(review(), problems).nodes.find((found) => found.id === "greeting");
    expect(node?.data).toMatchObject({ errors: 1, warnings: 1, problem: "unknown name `machin`" });
  });
});

describe("graph edits to pipeline", () => {
  it("adds a step with its required parameters and a fresh id, placed where it was dropped", () => {
    const { data, id } = addStep(review(), { action: "shell", required: ["run"] }, { x: 10.4, y: 20.6 });
    expect(id).toBe("shell");
    expect(findStep(data, "shell")).toEqual({ id: "shell", action: "shell", run: "" });
    expect(data.layout?.nodes?.shell).toEqual({ x: 10, y: 21 });
    const again = addStep(data, { action: "shell", required: [] }, { x: 0, y: 0 });
    expect(again.id, "ids stay unique").toBe("shell_2");
  });

  it("adds a step inside a container's body", () => {
    const { data, id } = addStep(review(), { action: "file.write", required: ["path"] }, { x: 0, y: 0 }, "per_topic");
    expect(id).toBe("file_write");
    expect(findStep(data, "per_topic")?.steps?.map((step) => step.id)).toEqual(["notes", "file_write"]);
  });

  it("connects two steps as a dependency, once, and never a step to itself", () => {
    const once = connect(review(), "machine", "critic");
    expect(findStep(once, "critic")?.depends_on).toEqual(["greeting", "machine"]);
    expect(connect(once, "machine", "critic"), "a duplicate changes nothing").toBe(once);
    expect(connect(once, "critic", "critic")).toBe(once);
  });

  it("removes an edge by its id, whatever its kind", () => {
    const withoutData = disconnect(review(), edgeId("data", "machine", "greeting"));
    expect(findStep(withoutData, "greeting")?.depends_on, "an emptied list leaves the file").toBeUndefined();
    const withoutRoute = disconnect(review(), edgeId("route", "critic", "greeting", 0));
    expect(findStep(withoutRoute, "critic")?.routes).toBeUndefined();
    expect(parseEdgeId("route:a-b>c_d#3")).toEqual({ kind: "route", from: "a-b", to: "c_d", index: 3 });
  });

  it("deletes steps with every reference to them, their bodies and layout", () => {
    const data = remove(review(), ["greeting", "per_topic", "note:0"]);
    expect(data.steps.map((step) => step.id)).toEqual(["machine", "critic"]);
    expect(findStep(data, "critic")?.depends_on).toBeUndefined();
    expect(findStep(data, "critic")?.routes, "a route to a deleted step goes too").toBeUndefined();
    expect(data.layout?.nodes).toEqual({ machine: { x: 0, y: 0 } });
    expect(data.layout?.notes, "the deleted note is gone").toBeUndefined();
  });

  it("renames a step everywhere it is named, templates included", () => {
    const data = renameStep(review(), "greeting", "hello");
    expect(findStep(data, "critic")).toMatchObject({
      depends_on: ["hello"],
      template: "{{ hello.output }}",
      routes: [{ when: "critic.output == 'again'", goto: "hello", max_loops: 2 }],
    });
    expect(data.layout?.nodes?.hello).toEqual({ x: 280, y: 0 });
    expect(renameStep(review(), "greeting", "machine"), "a taken id is refused").toEqual(review());
  });

  it("renames references in expressions without braces and in steps['id'], never an input of the same name", () => {
    const data: PipelineData = {
      orchestra: 1,
      id: "p",
      inputs: { review: { type: "string" } },
      steps: [
        { id: "review", action: "template", template: "x" },
        {
          id: "after",
          action: "template",
          depends_on: ["review"],
          condition: "review.status == 'succeeded'",
          template: "{{ steps['review'].output }} {{ inputs.review }} {{ review.output }}",
          routes: [{ when: "review.output == 'again'", goto: "review", max_loops: 2 }],
        },
      ],
    };
    const renamed = findStep(renameStep(data, "review", "critic"), "after");
    expect(renamed).toMatchObject({
      condition: "critic.status == 'succeeded'",
      template: "{{ steps['critic'].output }} {{ inputs.review }} {{ critic.output }}",
      routes: [{ when: "critic.output == 'again'", goto: "critic", max_loops: 2 }],
    });
  });

  it("pastes jumps between copied steps onto the copies, and drops jumps to steps that are not there", () => {
    const clip = copy(review(), ["greeting", "critic"]);
    const { data } = paste(review(), clip, { x: 0, y: 0 });
    expect(findStep(data, "critic_2")?.routes, "the copied loop goes back to the copied step").toEqual([
      { when: "critic_2.output == 'again'", goto: "greeting_2", max_loops: 2 },
    ]);
    const elsewhere: PipelineData = { orchestra: 1, id: "other", steps: [] };
    const alone = paste(elsewhere, copy(review(), ["critic"]), { x: 0, y: 0 });
    expect(findStep(alone.data, "critic")?.routes, "a jump to a step that is not in this pipeline is dropped").toBeUndefined();
  });

  it("updates and clears a step's keys", () => {
    const data = updateStep(review(), "machine", { timeout: "10s", run: undefined });
    expect(findStep(data, "machine")).toEqual({ id: "machine", action: "shell", timeout: "10s" });
  });

  it("copies and pastes steps with fresh ids, keeping the links among them", () => {
    const clip = copy(review(), ["machine", "greeting"]);
    const { data, ids } = paste(review(), clip, { x: 40, y: 40 });
    expect(ids).toEqual(["machine_2", "greeting_2"]);
    expect(findStep(data, "greeting_2")).toMatchObject({
      depends_on: ["machine_2"],
      template: "Hi {{ machine_2.output }}",
    });
    expect(data.layout?.nodes?.greeting_2).toEqual({ x: 320, y: 40 });
    expect(findStep(data, "greeting")?.template, "the originals are untouched").toBe("Hi {{ machine.output }}");
  });

  it("moves nodes and notes, and adds notes and containers", () => {
    let data = move(review(), "machine", { x: 5, y: 6 });
    data = move(data, "note:0", { x: 7, y: 8 });
    expect(data.layout?.nodes?.machine).toEqual({ x: 5, y: 6 });
    expect(data.layout?.notes?.[0]).toMatchObject({ x: 7, y: 8 });
    data = addNote(data, { x: 1, y: 2 }, "Ask Dana before changing this.");
    expect(data.layout?.notes?.[1]).toEqual({ x: 1, y: 2, text: "Ask Dana before changing this." });
    const looped = addContainer(data, "while", { x: 0, y: 300 });
    expect(findStep(looped.data, looped.id)).toMatchObject({ while: "iteration < 3", max_iterations: 3, steps: [] });
  });

  it("never changes the value it was given, so undo can keep it", () => {
    const original = review();
    const frozen = JSON.stringify(original);
    addStep(original, { action: "shell", required: ["run"] }, { x: 0, y: 0 });
    remove(original, ["machine"]);
    renameStep(original, "machine", "box");
    move(original, "machine", { x: 9, y: 9 });
    expect(JSON.stringify(original)).toBe(frozen);
  });
});
