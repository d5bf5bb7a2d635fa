// Drafting a pipeline from a description with the orchestrator model. The draft opens unsaved in
// the editor; nothing runs until the person saves it and clicks Run.

import { useEffect, useId, useRef, useState } from "react";

import { commands } from "../bindings";
import type { Document } from "../bindings";
import { errorText } from "../format";
import "../results/results.css";

export function DraftDialog(props: { onClose: () => void; onDrafted: (doc: Document) => void }) {
  const { onClose, onDrafted } = props;
  const [description, setDescription] = useState("");
  const [file, setFile] = useState("pipelines/draft.yaml");
  const [drafting, setDrafting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mounted = useRef(true);
  const textarea = useRef<HTMLTextAreaElement | null>(null);
  const ids = useId();

  useEffect(() => {
    mounted.current = true;
    textarea.current?.focus();
    return () => {
      mounted.current = false;
    };
  }, []);

  // Escape closes the dialog, unless a draft is under way.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !drafting) onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [drafting, onClose]);

  const canDraft = !drafting && description.trim() !== "" && file.trim() !== "";

  const draft = async () => {
    if (!canDraft) return;
    setDrafting(true);
    setError(null);
    try {
      const doc = await commands.draft(description.trim(), file.trim());
      if (mounted.current) onDrafted(doc);
    } catch (e) {
      if (mounted.current) setError(errorText(e));
    } finally {
      if (mounted.current) setDrafting(false);
    }
  };

  return (
    <div
      className="draft-backdrop"
      onMouseDown={(e) => {
        if (e.target === e.currentTarget && !drafting) onClose();
      }}
    >
      <div className="draft-dialog" role="dialog" aria-modal="true" aria-labelledby={`${ids}-title`} data-testid="draft-dialog">
        <h2 id={`${ids}-title`}>Draft a pipeline</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void draft();
          }}
        >
          <label className="draft-field" htmlFor={`${ids}-description`}>
            Describe the pipeline you want
          </label>
          <textarea
            id={`${ids}-description`}
            ref={textarea}
            className="draft-textarea"
            rows={8}
            value={description}
            disabled={drafting}
            placeholder="For example: read every Markdown file in docs/, summarise each with a model, and write a one-page overview with a QC check that it mentions every file."
            onChange={(e) => setDescription(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) {
                e.preventDefault();
                void draft();
              }
            }}
          />
          <label className="draft-field" htmlFor={`${ids}-file`}>
            File name
          </label>
          <input
            id={`${ids}-file`}
            type="text"
            className="set-input draft-file"
            value={file}
            disabled={drafting}
            spellCheck={false}
            onChange={(e) => setFile(e.target.value)}
          />
          <p className="draft-note">
            The orchestrator model writes the pipeline, which opens in the editor unsaved. Nothing runs until you save the
            pipeline and click Run.
          </p>
          {error && (
            <div className="res-alert" role="alert">
              {error}
            </div>
          )}
          <div className="draft-actions">
            <button type="button" className="res-button" onClick={onClose} disabled={drafting}>
              Cancel
            </button>
            <button type="submit" className="res-button res-primary" disabled={!canDraft}>
              {drafting ? "Drafting…" : "Draft"}
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}
