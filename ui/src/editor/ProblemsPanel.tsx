// The problems panel: every diagnostic of the pipeline; a click selects the step and shows the
// line in the YAML panel.

import { useEditor } from "../stores/editor";
import { useYamlFocus } from "./yamlBridge";

export function ProblemsPanel() {
  const problems = useEditor((state) => state.problems);
  const select = useEditor((state) => state.select);
  const show = useYamlFocus((state) => state.show);
  if (problems.length === 0) {
    return <div className="problems none" data-testid="problems">No problems.</div>;
  }
  return (
    <ul className="problems" data-testid="problems" aria-label="Problems">
      {problems.map((problem, index) => (
        <li key={index} className={`problem ${problem.severity}`}>
          <button
            type="button"
            onClick={() => {
              if (problem.step) select([problem.step]);
              if (problem.line > 0) show(problem.line);
            }}
          >
            <span className="problem-where">{problem.line > 0 ? `line ${problem.line}` : "pipeline"}{problem.step ? ` · ${problem.step}` : ""}</span>
            <span className="problem-message">{problem.message}</span>
            {problem.help ? <span className="problem-help">{problem.help}</span> : null}
          </button>
        </li>
      ))}
    </ul>
  );
}
