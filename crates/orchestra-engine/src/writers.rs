//! Which steps of a pipeline with a repository may change files while another step that may also
//! do so runs. Those work in worktrees of their own, merged back at their join, so that no step's
//! commit holds another's half-written files.
//!
//! Two writers of one scope may run at the same time when neither comes after the other along
//! the scope's forward edges. A writer inside a body inherits its container's answer, and every
//! writer in the body of a `for_each` whose items run in parallel is one too (the same step of
//! another item runs beside it).

use crate::plan::{Graph, PlannedStep, Work};

/// Marks `own_worktree` on every step of `graph` (and its bodies) that may write while another
/// writer runs; `inherited` marks every writer of the graph.
pub(crate) fn mark_parallel_writers(graph: &mut Graph, inherited: bool) {
    let writes: Vec<bool> = graph.steps.iter().map(may_write).collect();
    let parallel = unordered_writers(graph, &writes);
    for (at, step) in graph.steps.iter_mut().enumerate() {
        let mine = inherited || parallel[at];
        match &mut step.work {
            Work::Action { .. } => step.own_worktree = mine && writes[at],
            Work::ForEach {
                max_parallel, body, ..
            } => {
                let items_in_parallel = max_parallel.is_none_or(|limit| limit > 1);
                mark_parallel_writers(body, mine || items_in_parallel);
            }
            Work::While { body, .. } | Work::Until { body, .. } => {
                mark_parallel_writers(body, mine);
            }
        }
    }
}

/// Whether a step, or any step in its bodies, may change files.
pub(crate) fn may_write(step: &PlannedStep) -> bool {
    match &step.work {
        Work::Action { action, params } => {
            crate::actions::action(action).is_some_and(|action| action.writes.may_write(params))
        }
        Work::ForEach { body, .. } | Work::While { body, .. } | Work::Until { body, .. } => {
            body.steps.iter().any(may_write)
        }
    }
}

/// For each step: whether it writes and some other writer of the scope is unordered with it.
fn unordered_writers(graph: &Graph, writes: &[bool]) -> Vec<bool> {
    let candidates: Vec<usize> = (0..graph.steps.len()).filter(|&at| writes[at]).collect();
    let mut parallel = vec![false; graph.steps.len()];
    if candidates.len() < 2 {
        return parallel;
    }
    let position = graph.positions();
    // A step that joins `any` of its dependencies may start while the others still run: an
    // edge into it does not order them before it.
    let mut forward = vec![Vec::new(); graph.steps.len()];
    let any = |id: &str| {
        position
            .get(id)
            .is_some_and(|&at| graph.steps[at].join == orchestra_pipeline::model::Join::Any)
    };
    for edge in graph
        .edges
        .iter()
        .filter(|edge| !edge.back && !any(&edge.to))
    {
        if let (Some(&from), Some(&to)) = (
            position.get(edge.from.as_str()),
            position.get(edge.to.as_str()),
        ) {
            forward[from].push(to);
        }
    }
    let reach: Vec<Vec<bool>> = candidates
        .iter()
        .map(|&from| reachable(&forward, from))
        .collect();
    for (i, &a) in candidates.iter().enumerate() {
        for (j, &b) in candidates.iter().enumerate().skip(i + 1) {
            if !reach[i][b] && !reach[j][a] {
                parallel[a] = true;
                parallel[b] = true;
            }
        }
    }
    parallel
}

/// Every step reachable from `from` along forward edges (itself included).
fn reachable(forward: &[Vec<usize>], from: usize) -> Vec<bool> {
    let mut seen = vec![false; forward.len()];
    seen[from] = true;
    let mut stack = vec![from];
    while let Some(at) = stack.pop() {
        for &next in &forward[at] {
            if !seen[next] {
                seen[next] = true;
                stack.push(next);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use crate::plan::{Plan, Work};

    fn plan(yaml: &str) -> Plan {
        let checked = orchestra_pipeline::check(
            orchestra_pipeline::Source::new("p.yaml", yaml),
            &orchestra_pipeline::Context {
                catalog: &crate::CATALOG,
                library: None,
            },
        );
        let pipeline = checked.valid().expect("the test pipeline is valid");
        crate::compile(pipeline, &crate::CATALOG).expect("the test pipeline compiles")
    }

    fn own(plan: &Plan) -> Vec<(&str, bool)> {
        plan.graph
            .steps
            .iter()
            .map(|step| (step.id.as_str(), step.own_worktree))
            .collect()
    }

    #[test]
    fn only_writers_that_may_run_together_get_worktrees_of_their_own() {
        let yaml = "orchestra: 1\nid: p\nworkspace: { repo: . }\nsteps:\n  - { id: prepare, action: shell, run: [touch, a] }\n  - { id: left, action: shell, run: [touch, b], depends_on: [prepare] }\n  - { id: right, action: shell, run: [touch, c], depends_on: [prepare] }\n  - { id: look, action: file.read, path: a, depends_on: [prepare] }\n  - { id: join, action: shell, run: [touch, d], depends_on: [left, right] }\n";
        assert_eq!(
            own(&plan(yaml)),
            [
                ("prepare", false),
                ("left", true),
                ("right", true),
                ("look", false),
                ("join", false)
            ],
            "the two writers between `prepare` and `join` run together; a reader never needs a worktree"
        );
        let without_repo = yaml.replace("workspace: { repo: . }\n", "");
        assert!(
            own(&plan(&without_repo)).iter().all(|(_, own)| !own),
            "a pipeline without a repository has no worktrees"
        );
    }

    #[test]
    fn writers_in_parallel_items_get_worktrees_and_sequential_items_do_not() {
        let body =
            "    steps:\n      - { id: edit, action: shell, run: [touch, \"{{ item }}\"] }\n";
        let yaml = |parallel: &str| {
            format!(
                "orchestra: 1\nid: p\nworkspace: {{ repo: . }}\nsteps:\n  - id: each\n    for_each: \"{{{{ ['a', 'b'] }}}}\"\n{parallel}{body}"
            )
        };
        let inner = |plan: &Plan| match &plan.graph.steps[0].work {
            Work::ForEach { body, .. } => body.steps[0].own_worktree,
            _ => panic!("the first step is a for_each"),
        };
        assert!(
            inner(&plan(&yaml(""))),
            "items without a limit run in parallel, so their writers need worktrees"
        );
        assert!(
            !inner(&plan(&yaml("    max_parallel: 1\n"))),
            "items one at a time share the run's worktree"
        );
    }
}
