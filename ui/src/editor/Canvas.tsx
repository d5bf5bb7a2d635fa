// The graph editor: steps as nodes, dependencies and jumps as edges, notes; drag from the palette,
// connect, move, select, delete, copy/paste/duplicate, undo/redo, auto-layout, search, minimap.
// Every change is a pure function of the pipeline data (graph/pipeline.ts) sent through the
// editor store, which the backend turns into canonical text.

import {
  Background,
  Controls,
  type Edge,
  MarkerType,
  MiniMap,
  type Node,
  type NodeChange,
  ReactFlow,
  ReactFlowProvider,
  applyNodeChanges,
  useReactFlow,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";

import type { ActionInfo } from "../bindings";
import { type GraphNode, STEP_SIZE, type StepNodeData, problemsByStep, toGraph } from "../graph/graph";
import { autoLayout } from "../graph/layout";
import {
  type Clip,
  addContainer,
  addNote,
  addStep,
  connect,
  copy,
  disconnect,
  move,
  parseEdgeId,
  paste,
  placeAll,
  remove,
} from "../graph/pipeline";
import { useEditor } from "../stores/editor";
import { useRuns } from "../stores/run";
import { NODE_TYPES } from "./nodes";
import type { Drop } from "./Palette";

/** What the palette hands the canvas while something is being dragged onto it. */
export type Dragged = { kind: "action"; action: ActionInfo } | { kind: "for_each" | "while" | "note" };

/** The clipboard of steps, kept in the window (the system clipboard is not needed). */
let clipboard: Clip | null = null;

function Graph({ dropped, adding, onDropped }: CanvasProps) {
  const data = useEditor((state) => state.data);
  const problems = useEditor((state) => state.problems);
  const selection = useEditor((state) => state.selection);
  const edit = useEditor((state) => state.edit);
  const select = useEditor((state) => state.select);
  const live = useRuns((state) => (state.current ? state.runs[state.current] : undefined));
  const flow = useReactFlow();
  const wrapper = useRef<HTMLDivElement>(null);
  const [search, setSearch] = useState("");

  const graph = useMemo(
    () => (data ? toGraph(data, problemsByStep(problems)) : { nodes: [], edges: [] }),
    [data, problems],
  );
  const [nodes, setNodes] = useState<Node[]>([]);
  useEffect(() => {
    const chosen = new Set(selection);
    const needle = search.trim().toLowerCase();
    setNodes(
      graph.nodes.map((node: GraphNode) => {
        const state = live?.steps[node.id]?.status;
        const matches =
          needle !== "" &&
          "step" in node.data &&
          `${node.id} ${(node.data as StepNodeData).step.name ?? ""} ${(node.data as StepNodeData).kind}`.toLowerCase().includes(needle);
        return {
          ...node,
          selected: chosen.has(node.id),
          className: matches ? "search-hit" : undefined,
          data: state ? { ...node.data, live: state } : node.data,
        } as Node;
      }),
    );
  }, [graph, selection, live, search]);

  const edges: Edge[] = useMemo(
    () =>
      graph.edges.map((edge) => ({
        ...edge,
        type: "smoothstep",
        // Control edges are dashed by their class, not animated: a moving dash repaints the
        // canvas on every frame, which kept an idle studio at 15% of a core.
        className: `edge-${edge.data.kind}`,
        markerEnd: { type: MarkerType.ArrowClosed },
        labelBgPadding: [4, 2] as [number, number],
      })),
    [graph],
  );

  // The canvas keeps its nodes (positions while dragging, measured sizes); a click or a box
  // selection changes the store's selection, which is the one the rest of the studio reads. Only
  // the person's own selection flows this way, so the two never chase each other.
  const current = useRef<Node[]>([]);
  current.current = nodes;
  const onNodesChange = useCallback(
    (changes: NodeChange[]) => {
      const next = applyNodeChanges(changes, current.current);
      current.current = next;
      setNodes(next);
      if (changes.some((change) => change.type === "select")) {
        const ids = next.filter((node) => node.selected).map((node) => node.id);
        if (ids.join() !== useEditor.getState().selection.join()) select(ids);
      }
    },
    [select],
  );

  const onDelete = useCallback(
    ({ nodes: gone, edges: cut }: { nodes: Node[]; edges: Edge[] }) => {
      void edit((pipeline) => {
        let next = pipeline;
        // Routes are removed last first, so that removing one never shifts the index of another.
        const ordered = [...cut].sort((a, b) => (parseEdgeId(b.id)?.index ?? -1) - (parseEdgeId(a.id)?.index ?? -1));
        for (const edge of ordered) next = disconnect(next, edge.id);
        return gone.length ? remove(next, gone.map((node) => node.id)) : next;
      });
    },
    [edit],
  );

  // Keyboard: undo/redo, copy/paste/duplicate. Typing in a field or the YAML panel is left alone.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      if (target?.closest("input, textarea, select, .cm-editor")) return;
      const command = event.ctrlKey || event.metaKey;
      if (!command) return;
      const key = event.key.toLowerCase();
      const store = useEditor.getState();
      if (key === "z" && !event.shiftKey) void store.undo();
      else if ((key === "z" && event.shiftKey) || key === "y") void store.redo();
      else if (key === "c" && store.data) clipboard = copy(store.data, store.selection);
      else if (key === "v" && clipboard) {
        const clip = clipboard;
        void store.edit((pipeline) => paste(pipeline, clip, { x: 40, y: 40 }).data);
      } else if (key === "d" && store.data) {
        const clip = copy(store.data, store.selection);
        void store.edit((pipeline) => paste(pipeline, clip, { x: 40, y: 40 }).data);
      } else return;
      event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  // A palette item released over the canvas: the release point decides where, and which
  // container (if any) takes it.
  useEffect(() => {
    if (!dropped) return;
    onDropped();
    const box = wrapper.current?.getBoundingClientRect();
    const { item, x, y } = dropped;
    if (!box || x < box.left || x > box.right || y < box.top || y > box.bottom) return;
    dropAt(item, flow.screenToFlowPosition({ x, y }));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dropped]);

  const dropAt = (item: Dragged, at: { x: number; y: number }) => {
    const container = flow
      .getNodes()
      .find((node) => node.type === "container" && inside(at, flow.getInternalNode(node.id)?.internals.positionAbsolute, node));
    let added: string | undefined;
    const done = edit((pipeline) => {
      if (item.kind !== "action") {
        return item.kind === "note" ? addNote(pipeline, at, "A note") : addContainer(pipeline, item.kind, at).data;
      }
      const required = item.action.params.filter((param) => param.required).map((param) => param.name);
      const absolute = container ? flow.getInternalNode(container.id)?.internals.positionAbsolute : undefined;
      const position = container && absolute ? { x: at.x - absolute.x, y: at.y - absolute.y } : { x: at.x - STEP_SIZE.width / 2, y: at.y - STEP_SIZE.height / 2 };
      const step = addStep(pipeline, { action: item.action.name, required }, position, container?.id);
      added = step.id;
      return step.data;
    });
    // The new step is selected once it is drawn, so that its form opens.
    void done.then(() => added && select([added]));
  };

  // A palette item double-clicked (or chosen with the keyboard) lands in the middle of the view.
  useEffect(() => {
    if (!adding) return;
    onDropped();
    const box = wrapper.current?.getBoundingClientRect();
    if (box) dropAt(adding, flow.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 }));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [adding]);

  const layout = async () => {
    if (!data) return;
    const positions = await autoLayout(data);
    await edit((pipeline) => placeAll(pipeline, positions));
    window.requestAnimationFrame(() => void flow.fitView({ padding: 0.2 }));
  };

  const find = (text: string) => {
    setSearch(text);
    const needle = text.trim().toLowerCase();
    if (!needle) return;
    const hits = flow.getNodes().filter((node) => `${node.id} ${(node.data as { step?: { name?: string } }).step?.name ?? ""}`.toLowerCase().includes(needle));
    if (hits.length) void flow.fitView({ nodes: hits, padding: 0.5, duration: 200 });
  };

  return (
    <div className="canvas" ref={wrapper} data-testid="canvas">
      <div className="canvas-tools">
        <button type="button" onClick={() => void layout()} title="Arrange the steps automatically">Auto-layout</button>
        <button type="button" onClick={() => void flow.fitView({ padding: 0.2 })} title="Show the whole pipeline">Zoom to fit</button>
        <button type="button" onClick={() => void useEditor.getState().undo()} title="Undo (Ctrl+Z)">Undo</button>
        <button type="button" onClick={() => void useEditor.getState().redo()} title="Redo (Ctrl+Shift+Z)">Redo</button>
        <input type="search" placeholder="Search steps" aria-label="Search steps" value={search} onChange={(event) => find(event.target.value)} />
      </div>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange}
        onNodeDragStop={(_, __, moved) => {
          void edit((pipeline) => moved.reduce((next, node) => move(next, node.id, node.position), pipeline));
        }}
        onConnect={(connection) => {
          if (connection.source && connection.target) void edit((pipeline) => connect(pipeline, connection.source, connection.target));
        }}
        onDelete={onDelete}
        deleteKeyCode={["Delete", "Backspace"]}
        multiSelectionKeyCode={["Shift", "Meta", "Control"]}
        selectionOnDrag={false}
        onlyRenderVisibleElements
        fitView
        minZoom={0.05}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        {/* Smaller than React Flow's 200×150, so that it covers less of a small canvas. */}
        <MiniMap pannable zoomable style={{ width: 150, height: 100 }} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

function inside(at: { x: number; y: number }, origin: { x: number; y: number } | undefined, node: Node): boolean {
  if (!origin) return false;
  const width = node.measured?.width ?? (node.style?.width as number | undefined) ?? 0;
  const height = node.measured?.height ?? (node.style?.height as number | undefined) ?? 0;
  return at.x >= origin.x && at.x <= origin.x + width && at.y >= origin.y && at.y <= origin.y + height;
}

interface CanvasProps {
  /** A palette item released somewhere in the window. */
  dropped: Drop | null;
  /** A palette item to add in the middle of the view. */
  adding: Dragged | null;
  onDropped: () => void;
}

/** The canvas, with the React Flow context it needs. */
export function Canvas(props: CanvasProps) {
  return (
    <ReactFlowProvider>
      <Graph {...props} />
    </ReactFlowProvider>
  );
}
