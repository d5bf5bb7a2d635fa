// Closing the studio with unsaved changes asks first. The backend knows which file has unsaved
// changes (this component tells it), and when the window is asked to close (its close button,
// Ctrl+Q) it keeps the window open and sends `closeAsked`; this dialog then offers to save and
// close, close without saving, or keep editing.

import { useEffect, useState } from "react";

import { commands, events } from "./bindings";
import { errorText } from "./format";
import { isDirty, useEditor } from "./stores/editor";

export function CloseGuard({ save }: { save: () => Promise<void> }) {
  const file = useEditor((state) => state.file);
  const dirty = useEditor(isDirty);
  const [asked, setAsked] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void commands.setUnsaved(dirty && file ? file : null);
  }, [dirty, file]);

  useEffect(() => {
    const listening = events.closeAsked.listen((event) => {
      setError(null);
      setAsked(event.payload.file);
    });
    // Ctrl+Q closes the window the way its close button does, through the same question.
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "q") {
        event.preventDefault();
        void commands.closeWindow(false);
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
