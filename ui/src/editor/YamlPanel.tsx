// The YAML panel: the same pipeline as text, in CodeMirror. Typing here changes the graph (after
// a short pause); a graph change replaces the text. Problems are underlined at their line, and
// the problems panel can move the cursor to one.

import { yaml } from "@codemirror/lang-yaml";
import { type Diagnostic, linter, lintGutter } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { useEffect, useRef } from "react";

import type { Problem } from "../bindings";
import { useEditor } from "../stores/editor";
import { holdBack } from "./held";
import { useYamlFocus } from "./yamlBridge";

/** How long the panel waits after the last key before the graph follows. */
const PAUSE_MS = 400;

function diagnostics(view: EditorView, problems: Problem[]): Diagnostic[] {
  const doc = view.state.doc;
  return problems
    .filter((problem) => problem.line > 0 && problem.line <= doc.lines)
    .map((problem) => {
      const line = doc.line(problem.line);
      const from = Math.min(line.from + Math.max(problem.column - 1, 0), line.to);
      return { from, to: line.to, severity: problem.severity === "error" ? "error" : "warning", message: problem.message };
    });
}

export function YamlPanel() {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const timer = useRef<number | undefined>(undefined);
  const text = useEditor((state) => state.text);
  const problems = useEditor((state) => state.problems);
  const focus = useYamlFocus();

  useEffect(() => {
    if (!host.current) return;
    const editor = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: useEditor.getState().text,
        extensions: [
          basicSetup,
          yaml(),
          lintGutter(),
          linter((current) => diagnostics(current, useEditor.getState().problems), { delay: 100 }),
          EditorView.updateListener.of((update) => {
            if (!update.docChanged || update.transactions.every((transaction) => !transaction.isUserEvent("input") && !transaction.isUserEvent("delete") && !transaction.isUserEvent("undo") && !transaction.isUserEvent("redo"))) return;
            window.clearTimeout(timer.current);
            const typed = update.state.doc.toString();
            holdBack(() => {
              window.clearTimeout(timer.current);
              void useEditor.getState().setText(typed);
            });
            timer.current = window.setTimeout(() => {
              holdBack(null);
              void useEditor.getState().setText(typed);
            }, PAUSE_MS);
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      window.clearTimeout(timer.current);
      editor.destroy();
      view.current = null;
    };
  }, []);

  // Text that changed elsewhere (the graph, undo, a load) replaces the panel's, unless it is what
  // the panel already shows.
  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const current = editor.state.doc.toString();
    if (current !== text) editor.dispatch({ changes: { from: 0, to: current.length, insert: text } });
  }, [text, problems]);

  useEffect(() => {
    const editor = view.current;
    if (!editor || focus.line < 1 || focus.line > editor.state.doc.lines) return;
    const line = editor.state.doc.line(focus.line);
    editor.dispatch({ selection: { anchor: line.from }, effects: EditorView.scrollIntoView(line.from, { y: "center" }) });
    editor.focus();
  }, [focus.serial, focus.line]);

  return <div className="yaml-panel" ref={host} data-testid="yaml-panel" aria-label="YAML" />;
}
