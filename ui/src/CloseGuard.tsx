// Closing the studio with unsaved changes asks first. The backend knows which file has unsaved
// changes (this component tells it; text typed and not yet taken counts), and when the window is
// asked to close (its close button, Ctrl+Q) it keeps the window open and sends `closeAsked`; this
// dialog says it is shown (a window whose page cannot answer closes at the next try) and offers
// to save and close, close without saving, or keep editing.

import { useEffect, useState } from "react";

import { commands, events } from "./bindings";
import { errorText } from "./format";
import { commitEdits, useHeld } from "./editor/held";
import { isDirty, useEditor } from "./stores/editor";

/** The file with unsaved changes, if any, as the editor and the held edits say now. */
function unsavedFile(): string | null {
  const editor = useEditor.getState();
  const held = useHeld.getState().holders.size > 0;
  return editor.file && (isDirty(editor) || held) ? editor.file : null;
}

export function CloseGuard({ save }: { save: () => Promise<void> }) {
  const file = useEditor((state) => state.file);
  const dirty = useEditor(isDirty);
  const held = useHeld((state) => state.holders.size > 0);
  const [asked, setAsked] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // The backend hears of every change to what is unsaved.
  useEffect(() => {
    void commands.setUnsaved(unsavedFile());
  }, [dirty, held, file]);

  useEffect(() => {
    const listening = events.closeAsked.listen((event) => {
      setError(null);
      setAsked(event.payload.file);
      void commands.closeQuestionShown();
    });
    // Ctrl+Q closes the window the way its close button does, through the same question, once
    // what was just typed is taken.
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "q") {
        event.preventDefault();
        void (async () => {
          // Should taking them fail, the backend still knows of the unsaved changes and asks.
          await commitEdits().catch(() => {});
          await commands.setUnsaved(unsavedFile());
          await commands.closeWindow(false);
        })();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
      void listening.then((stop) => stop());
    };
  }, []);

  if (!asked) return null;

  const saveAndClose = async () => {
    setBusy(true);
    try {
      await save();
      const editor = useEditor.getState();
      // A save that failed leaves the changes unsaved and says why; the window stays open.
      if (isDirty(editor)) {
        setError(editor.error ?? "The pipeline could not be saved.");
        return;
      }
      await commands.closeWindow(true);
    } catch (reason) {
      setError(errorText(reason));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="modal" role="dialog" aria-label="Unsaved changes" data-testid="close-asked">
      <div>
        <h2>Save your changes?</h2>
        <p>
          <strong>{asked}</strong> has changes that are not saved. Closing without saving loses them.
        </p>
        {error ? <p role="alert" className="error">{error}</p> : null}
        <div className="actions">
          <button type="button" onClick={() => setAsked(null)} disabled={busy}>Keep editing</button>
          <button type="button" onClick={() => void commands.closeWindow(true).catch((reason) => setError(errorText(reason)))} disabled={busy}>
            Close without saving
          </button>
          <button type="button" className="primary" onClick={() => void saveAndClose()} disabled={busy}>Save and close</button>
        </div>
      </div>
    </div>
  );
}
