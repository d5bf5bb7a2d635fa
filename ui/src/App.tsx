// The studio's window: the project's pipelines on the left, and for the open pipeline its editor
// (palette, canvas, inspector, YAML, problems, run panel), its runs, and its git history.

import { Suspense, lazy, useCallback, useEffect, useState } from "react";

import { type ActionInfo, type ProjectView, commands, events } from "./bindings";
import { CloseGuard } from "./CloseGuard";
import { Canvas, type Dragged } from "./editor/Canvas";
import { Inspector } from "./editor/Inspector";
import { type Drop, Palette } from "./editor/Palette";
import { ProblemsPanel } from "./editor/ProblemsPanel";
import { commitEdits } from "./editor/held";
import { useYamlFocus } from "./editor/yamlBridge";
import { RunDialog } from "./run/RunDialog";
import { RunPanel } from "./run/RunPanel";
import { isDirty, useEditor } from "./stores/editor";
import { useRuns } from "./stores/run";
import { errorText } from "./format";

// The views a person opens now and then are loaded the first time they are shown, so that an
// idle studio holds only the editor (CodeMirror, the run pages and the settings come later).
const YamlPanel = lazy(() => import("./editor/YamlPanel").then((module) => ({ default: module.YamlPanel })));
const RunsView = lazy(() => import("./results/RunsView").then((module) => ({ default: module.RunsView })));
const HistoryView = lazy(() => import("./history/HistoryView").then((module) => ({ default: module.HistoryView })));
const SettingsView = lazy(() => import("./settings/SettingsView").then((module) => ({ default: module.SettingsView })));
const DraftDialog = lazy(() => import("./draft/DraftDialog").then((module) => ({ default: module.DraftDialog })));

type Tab = "editor" | "runs" | "history";

/** Saves everything typed so far: a field being edited is committed, text the YAML panel holds
 * back is sent, and edits on their way are waited for. */
async function saveNow(): Promise<void> {
  await commitEdits();
  if (isDirty(useEditor.getState())) await useEditor.getState().save();
}

/** How often the open file is compared with the disk, to notice changes made elsewhere. */
const DISK_CHECK_MS = 1500;

export function App() {
  const [project, setProject] = useState<ProjectView | null>(null);
  const [actions, setActions] = useState<ActionInfo[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>("editor");
  const [openRun, setOpenRun] = useState<string | null>(null);
  const [dragged, setDragged] = useState<Dragged | null>(null);
  const [adding, setAdding] = useState<Dragged | null>(null);
  const [dropped, setDropped] = useState<Drop | null>(null);
  const [running, setRunning] = useState(false);
  const [settings, setSettings] = useState(false);
  const [drafting, setDrafting] = useState(false);
  const [side, setSide] = useState<"inspector" | "yaml">("inspector");
  const [yamlShown, setYamlShown] = useState(false);
  // A problem clicked in the problems panel is shown at its line in the YAML panel.
  const focusSerial = useYamlFocus((state) => state.serial);
  useEffect(() => {
    if (focusSerial === 0) return;
    setSide("yaml");
    setYamlShown(true);
  }, [focusSerial]);
  const editor = useEditor();
  const dirty = isDirty(editor);

  const fail = (reason: unknown) => setError(errorText(reason));
  const refresh = useCallback(() => commands.project().then(setProject).catch(fail), []);

  useEffect(() => {
    commands.launch().then(setProject).catch(fail);
    commands.actions().then(setActions).catch(fail);
    const listening = events.runProgress.listen((event) => useRuns.getState().apply(event.payload));
    return () => void listening.then((stop) => stop());
  }, []);

  // Every few seconds, and when the window gets focus, look for a change made outside the studio.
  useEffect(() => {
    const check = () => void useEditor.getState().checkDisk();
    const timer = window.setInterval(check, DISK_CHECK_MS);
    window.addEventListener("focus", check);
    return () => {
      window.clearInterval(timer);
      window.removeEventListener("focus", check);
    };
  }, []);

  // Ctrl+S saves, when there is something to save.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
        event.preventDefault();
        void saveNow().then(refresh);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [refresh]);

  /** Shows another project: nothing of the old project's pipeline or runs stays on screen, so
   * nothing can be saved or run in the wrong project. */
  const switchProject = (view: ProjectView | null) => {
    if (!view) return;
    useEditor.getState().close();
    useRuns.getState().clear();
    setOpenRun(null);
    setTab("editor");
    setProject(view);
  };

  const openPipeline = (file: string) => {
    if (isDirty(useEditor.getState()) && !window.confirm("Discard the unsaved changes of this pipeline?")) return;
    setTab("editor");
    setOpenRun(null);
    useRuns.getState().clear();
    void editor.open(file);
  };

  const start = (inputs: Record<string, unknown>) => {
    const file = editor.file;
    if (!file) return;
    setRunning(false);
    commands
      .startRun(file, inputs)
      .then((run) => useRuns.getState().watch(run, file))
      .catch(fail);
  };

  const watch = (run: string) => {
    useRuns.getState().watch(run);
    setTab("editor");
  };

  return (
    <div className="studio">
      <header className="topbar">
        <strong className="brand">Orchestra</strong>
        <span className="project-name" data-testid="project-name">{project?.name ?? "no project"}</span>
        <button
          type="button"
          onClick={() => {
            if (isDirty(useEditor.getState()) && !window.confirm("Discard the unsaved changes of this pipeline?")) return;
            commands.chooseProject().then(switchProject).catch(fail);
          }}
        >
          Open folder…
        </button>
        <button
          type="button"
          onClick={() => {
            const id = window.prompt("The new pipeline's id (lowercase letters, digits, - and _):", "my-pipeline");
            if (!id) return;
            commands.newPipeline(`pipelines/${id}.yaml`, id).then((doc) => { void refresh(); openPipeline(doc.file); }).catch(fail);
          }}
        >
          New pipeline
        </button>
        <button type="button" onClick={() => setDrafting(true)}>Describe, then draft…</button>
        <button type="button" onClick={() => setSettings(true)}>Settings</button>
      </header>
      {error ? (
        <div role="alert" className="error banner">
          {error} <button type="button" onClick={() => setError(null)}>Dismiss</button>
        </div>
      ) : null}
      {project?.interrupted.length ? (
        <div className="banner interrupted" data-testid="interrupted">
          {project.interrupted.map((run) => (
            <span key={run.id}>
              The run of <strong>{run.pipeline}</strong> started {new Date(run.started_at).toLocaleString()} was interrupted.{" "}
              <button type="button" onClick={() => commands.resumeRun(run.id).then((id) => { watch(id); void refresh(); }).catch(fail)}>Resume it</button>
            </span>
          ))}
        </div>
      ) : null}
      <div className="body">
        <nav className="sidebar" aria-label="Pipelines">
          <h2>Pipelines</h2>
          <ul>
            {project?.pipelines.map((entry) => (
              <li key={entry.file}>
                <button
                  type="button"
                  className={entry.file === editor.file ? "current" : ""}
                  data-testid={`pipeline-${entry.id ?? entry.file}`}
                  onClick={() => openPipeline(entry.file)}
                  title={entry.file}
                >
                  <span>{entry.name ?? entry.id ?? entry.file}</span>
                  <span className={`validity ${entry.errors ? "invalid" : entry.warnings ? "warned" : "valid"}`}>
                    {entry.errors ? `${entry.errors} errors` : entry.warnings ? `${entry.warnings} warnings` : "valid"}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <main className="main">
          {editor.file ? (
            <>
              <div className="tabs">
                <span className="file" data-testid="open-file">{editor.file}{dirty ? <span className="unsaved" data-testid="unsaved" title="Unsaved changes"> ●</span> : null}</span>
                <button type="button" className={tab === "editor" ? "current" : ""} onClick={() => setTab("editor")} data-testid="tab-editor">Editor</button>
                <button type="button" className={tab === "runs" ? "current" : ""} onClick={() => setTab("runs")} data-testid="tab-runs">Runs</button>
                {project?.git ? <button type="button" className={tab === "history" ? "current" : ""} onClick={() => setTab("history")} data-testid="tab-history">History</button> : null}
                <span className="spacer" />
                <button type="button" onClick={() => void saveNow().then(refresh)} disabled={!dirty} data-testid="save">Save</button>
                <button
                  type="button"
                  className="primary"
                  data-testid="run"
                  disabled={dirty || !editor.data || editor.problems.some((problem) => problem.severity === "error")}
                  title={dirty ? "Save the pipeline before running it" : "Run this pipeline"}
                  onClick={() => setRunning(true)}
                >
                  Run
                </button>
              </div>
              {editor.changedOnDisk ? (
                <div className="banner" data-testid="changed-on-disk">
                  This file changed on disk. <button type="button" onClick={() => void editor.reload()}>Reload it</button>
                  {dirty ? " (your unsaved changes would be lost)" : ""}
                </div>
              ) : null}
              {editor.error ? <div role="alert" className="error banner">{editor.error}</div> : null}
              {tab === "editor" ? (
                <div className="editor">
                  <Palette actions={actions} onDrag={setDragged} onDrop={setDropped} onAdd={setAdding} />
                  <div className="center">
                    {/* A canvas of its own for each file, so that a pipeline opens fitted to the
                        view rather than where the last one was panned and zoomed. */}
                    <Canvas key={editor.file} dropped={dropped} adding={adding} onDropped={() => { setDropped(null); setAdding(null); }} />
                    <div className="bottom">
                      <ProblemsPanel />
                      <RunPanel data={editor.data} onOpenRun={(run) => { setOpenRun(run); setTab("runs"); }} />
                    </div>
                  </div>
                  <div className="side">
                    <div className="side-tabs">
                      <button type="button" className={side === "inspector" ? "current" : ""} onClick={() => setSide("inspector")}>Inspector</button>
                      <button type="button" className={side === "yaml" ? "current" : ""} onClick={() => { setSide("yaml"); setYamlShown(true); }} data-testid="tab-yaml">YAML</button>
                    </div>
                    <div className={side === "inspector" ? "" : "hidden"}><Inspector actions={actions} /></div>
                    <div className={side === "yaml" ? "yaml-host" : "hidden"}>{yamlShown ? <Suspense fallback={null}><YamlPanel /></Suspense> : null}</div>
                  </div>
                </div>
              ) : tab === "runs" ? (
                <div className="pane">
                  <Suspense fallback={null}>
                    <RunsView file={editor.file} openRun={openRun} onOpenRun={setOpenRun} onWatch={watch} />
                  </Suspense>
                </div>
              ) : (
                <div className="pane">
                  <Suspense fallback={null}>
                    <HistoryView file={editor.file} />
                  </Suspense>
                </div>
              )}
            </>
          ) : (
            <div className="welcome">
              <h1>{project?.examples ? "The examples are open." : "Open a pipeline."}</h1>
              <p>Choose a pipeline on the left to draw, run and watch it.</p>
            </div>
          )}
        </main>
      </div>
      <CloseGuard save={saveNow} />
      {dragged ? <div className="drag-hint">Drop on the canvas to add a step</div> : null}
      {running && editor.data ? <RunDialog data={editor.data} onStart={start} onClose={() => setRunning(false)} /> : null}
      {settings ? <div className="modal wide"><Suspense fallback={null}><SettingsView onClose={() => setSettings(false)} /></Suspense></div> : null}
      {drafting ? (
        <Suspense fallback={null}>
        <DraftDialog
          onClose={() => setDrafting(false)}
          onDrafted={(doc) => {
            setDrafting(false);
            setTab("editor");
            editor.openUnsaved(doc);
          }}
        />
        </Suspense>
      ) : null}
    </div>
  );
}
