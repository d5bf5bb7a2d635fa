// What the window shows when a view fails while drawing, instead of going blank: the error as a
// sentence, a way to save the open pipeline's unsaved changes (the editor's store outlives the
// views), and a way to start the window again. The backend stops holding the window open for
// unsaved changes, since the page can no longer ask about them.

import { Component, type ErrorInfo, type ReactNode } from "react";

import { commands } from "./bindings";
import { errorText } from "./format";
import { isDirty, useEditor } from "./stores/editor";

export class Crashed extends Component<{ children: ReactNode }, { error: string | null }> {
  state = { error: null as string | null };

  static getDerivedStateFromError(error: unknown) {
    return { error: errorText(error) };
  }

  componentDidCatch(_error: unknown, _info: ErrorInfo) {
    void commands.setUnsaved(null);
  }

  render() {
    if (this.state.error === null) return this.props.children;
    return (
      <div className="welcome" role="alert">
        <h1>The studio hit a problem it cannot draw past.</h1>
        <p>{this.state.error}</p>
        <p>Your pipelines on disk are as you last saved them.</p>
        {isDirty(useEditor.getState()) ? (
          <button type="button" onClick={() => void useEditor.getState().save().then(() => this.forceUpdate())}>
            Save the changes to {useEditor.getState().file}
          </button>
        ) : null}
        <button type="button" onClick={() => window.location.reload()}>Start the window again</button>
      </div>
    );
  }
}
