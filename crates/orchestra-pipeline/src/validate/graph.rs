//! References between steps, and cycles among them.

use std::collections::{HashMap, HashSet};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::{At, Validator};
use crate::diagnostic::Code;
use crate::model::{EdgeKind, OnFailure, ReferenceField};
use crate::suggest::help_for;

/// The edges among the steps of each scope, every route included, for asking whether one step
/// can run before another.
pub(super) struct Reachability {
    /// For each step (by index entry), the steps with an edge into it.
    predecessors: Vec<Vec<usize>>,
}

impl Reachability {
    /// Whether `from` can run before `to` (both in one scope): whether some path of edges leads
    /// from one to the other. A search backwards from `to`, which is short in practice because a
    /// template almost always reads a direct dependency, checked first.
    pub(super) fn reaches(&self, from: usize, to: usize) -> bool {
        if self.predecessors[to].contains(&from) {
            return true;
        }
        let mut seen = HashSet::from([to]);
        let mut stack = vec![to];
        while let Some(entry) = stack.pop() {
            for &before in &self.predecessors[entry] {
                if before == from {
                    return true;
                }
                if seen.insert(before) {
                    stack.push(before);
                }
            }
        }
        false
    }
}

/// An edge that can close an unbounded cycle: from, to, and the step and field that declare it.
type CycleEdge = (usize, usize, usize, ReferenceField);

impl Validator<'_> {
    /// Checks that every step a step names exists in its scope, and that steps do not wait on
    /// each other in a loop without a `max_loops` bound. Returns the graph for later checks.
    pub(super) fn references_and_cycles(&mut self) -> Reachability {
        let index = self.index;
        let mut reachability = Reachability {
            predecessors: vec![Vec::new(); index.entries.len()],
        };
        let mut unbounded: HashMap<usize, Vec<CycleEdge>> = HashMap::new();
        for (entry_index, entry) in index.entries.iter().enumerate() {
            let step = entry.step;
            for reference in step.control.references() {
                let Some(target) = self.resolve(entry_index, reference.target, reference.field)
                else {
                    continue;
                };
                let (from, to) = if reference.kind == EdgeKind::Data {
                    (target, entry_index)
                } else {
                    (entry_index, target)
                };
                reachability.predecessors[to].push(from);
                if reference.kind == EdgeKind::Route && reference.max_loops.is_some() {
                    continue;
                }
                if reference.kind == EdgeKind::Data && target == entry_index {
                    let pointer = format!("{}/{}", entry.pointer, reference.field.pointer());
                    self.error(
                        Code::Cycle,
                        &At::Value(&pointer),
                        Some(&step.id),
                        format!("`{}` depends on itself", step.id),
                        Some("remove it from its own `depends_on`".to_owned()),
                    );
                    continue;
                }
                unbounded.entry(entry.scope).or_default().push((
                    from,
                    to,
                    entry_index,
                    reference.field,
                ));
            }
        }
        for edges in unbounded.values() {
            self.cycles(edges);
        }
        reachability
    }

    /// Resolves a step id named by step `from` in `field`, reporting one that does not exist or
    /// lives in another scope.
    fn resolve(&mut self, from: usize, id: &str, field: ReferenceField) -> Option<usize> {
        let index = self.index;
        let entry = &index.entries[from];
        let scope = entry.scope;
        if let Some(target) = index.get(id)
            && index.entries[target].scope == scope
        {
            return Some(target);
        }
        let pointer = format!("{}/{}", entry.pointer, field.pointer());
        let Some(target) = index.get(id) else {
            if field == ReferenceField::OnFailure {
                let help = help_for(id, OnFailure::WORDS.iter().copied(), "it takes");
                self.error(
                    Code::UnknownStep,
                    &At::Value(&pointer),
                    Some(&entry.step.id),
                    format!("`{id}` is neither a step nor one of `fail`, `continue` and `skip`"),
                    help,
                );
                return None;
            }
            let siblings = index.scopes[scope]
                .members
                .iter()
                .map(|&m| index.entries[m].step.id.as_str());
            let all = index.entries.iter().map(|e| e.step.id.as_str());
            let help =
                help_for(id, siblings.clone(), "steps here").or_else(|| help_for(id, all, "steps"));
            self.error(
                Code::UnknownStep,
                &At::Value(&pointer),
                Some(&entry.step.id),
                format!("no step has the id `{id}`"),
                help,
            );
            return None;
        };
        let container = |scope: usize| {
            index.scopes[scope]
                .container
                .map(|c| index.entries[c].step.id.clone())
        };
        let (message, help) = match (container(index.entries[target].scope), container(scope)) {
            (Some(body), _) => (
                format!("`{id}` is inside the body of `{body}`, which this step cannot reach into"),
                format!("depend on `{body}` instead, which finishes when its whole body has run"),
            ),
            (None, Some(body)) => (
                format!(
                    "`{id}` is outside the body of `{body}`; steps in a body name only their siblings"
                ),
                format!(
                    "add `{id}` to the `depends_on` of `{body}`; its results stay readable in templates"
                ),
            ),
            (None, None) => (format!("`{id}` is in another scope"), String::new()),
        };
        self.error(
            Code::OutOfScope,
            &At::Value(&pointer),
            Some(&entry.step.id),
            message,
            Some(help),
        );
        None
    }

    /// Reports each set of steps that wait on each other without a bound.
    fn cycles(&mut self, edges: &[CycleEdge]) {
        let mut graph: DiGraph<usize, usize> = DiGraph::new();
        let mut nodes: HashMap<usize, NodeIndex> = HashMap::new();
        for (at, (from, to, _, _)) in edges.iter().enumerate() {
            let a = *nodes.entry(*from).or_insert_with(|| graph.add_node(*from));
            let b = *nodes.entry(*to).or_insert_with(|| graph.add_node(*to));
            graph.add_edge(a, b, at);
        }
        let self_loops: HashSet<usize> = edges
            .iter()
            .filter(|(from, to, _, _)| from == to)
            .map(|(from, _, _, _)| *from)
            .collect();
        for component in tarjan_scc(&graph) {
            let closed = component.len() > 1
                || component
                    .iter()
                    .any(|&node| self_loops.contains(&graph[node]));
            if !closed {
                continue;
            }
            let members: HashSet<usize> = component.iter().map(|&node| graph[node]).collect();
            // Report on the edge that goes back to an earlier step in the file (the one the
            // author most likely meant as the loop), else on the first edge of the cycle.
            let inside: Vec<&CycleEdge> = edges
                .iter()
                .filter(|(from, to, _, _)| members.contains(from) && members.contains(to))
                .collect();
            let Some((_, _, owner, field)) = inside
                .iter()
                .filter(|(from, to, _, _)| to <= from)
                .min_by_key(|(_, to, _, _)| *to)
                .or_else(|| inside.iter().min_by_key(|(from, _, _, _)| *from))
            else {
                continue;
            };
            let mut ids: Vec<(usize, &str)> = members
                .iter()
                .map(|&m| (m, self.index.entries[m].step.id.as_str()))
                .collect();
            ids.sort_unstable();
            let names: Vec<String> = ids.iter().map(|(_, id)| format!("`{id}`")).collect();
            let first = ids[0].1.to_owned();
            let message = if names.len() == 1 {
                format!(
                    "{} goes back to itself in a loop that nothing bounds",
                    names[0]
                )
            } else {
                format!(
                    "{} wait on each other in a loop that nothing bounds",
                    join_words(&names)
                )
            };
            let help = format!(
                "to send work back on purpose, use a route with a bound, such as \
                 `routes: [{{ when: \"…\", goto: {first}, max_loops: 3 }}]`"
            );
            let pointer = format!("{}/{}", self.index.entries[*owner].pointer, field.pointer());
            let owner_id = self.index.entries[*owner].step.id.as_str();
            self.error(
                Code::Cycle,
                &At::Value(&pointer),
                Some(owner_id),
                message,
                Some(help),
            );
        }
    }
}

/// "`a`, `b` and `c`".
pub(super) fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
