//! Every step of a pipeline, nested bodies included, with the scope it belongs to.

use std::collections::HashMap;

use crate::model::{Pipeline, Step, StepBody};
use crate::yaml::push_pointer;

/// One step and where it is.
pub(super) struct Entry<'p> {
    pub step: &'p Step,
    /// The pointer of the step's map in the file.
    pub pointer: String,
    /// The scope (list of steps) it belongs to.
    pub scope: usize,
    /// For a `for_each` or loop step, the scope of its body.
    pub body: Option<usize>,
}

/// One list of steps: the pipeline's own, or a body.
pub(super) struct Scope {
    /// The step whose body this is; `None` for the pipeline's top level.
    pub container: Option<usize>,
    /// Its steps, in file order.
    pub members: Vec<usize>,
}

pub(super) struct StepIndex<'p> {
    pub entries: Vec<Entry<'p>>,
    pub scopes: Vec<Scope>,
    by_id: HashMap<&'p str, usize>,
}

impl<'p> StepIndex<'p> {
    pub(super) fn new(pipeline: &'p Pipeline) -> Self {
        let mut index = Self {
            entries: Vec::new(),
            scopes: Vec::new(),
            by_id: HashMap::new(),
        };
        index.add_scope(&pipeline.steps, "/steps", None);
        index
    }

    fn add_scope(&mut self, steps: &'p [Step], pointer: &str, container: Option<usize>) -> usize {
        let scope = self.scopes.len();
        self.scopes.push(Scope {
            container,
            members: Vec::with_capacity(steps.len()),
        });
        for (at, step) in steps.iter().enumerate() {
            let entry = self.entries.len();
            let step_pointer = push_pointer(pointer, &at.to_string());
            self.entries.push(Entry {
                step,
                pointer: step_pointer.clone(),
                scope,
                body: None,
            });
            self.scopes[scope].members.push(entry);
            self.by_id.entry(step.id.as_str()).or_insert(entry);
            if let StepBody::ForEach { steps, .. } | StepBody::Loop { steps, .. } = &step.body {
                let body =
                    self.add_scope(steps, &push_pointer(&step_pointer, "steps"), Some(entry));
                self.entries[entry].body = Some(body);
            }
        }
        scope
    }

    /// The first step with this id.
    pub(super) fn get(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// A scope and the scopes that enclose it, innermost first.
    pub(super) fn scope_chain(&self, scope: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(Some(scope), |&scope| {
            self.scopes[scope]
                .container
                .map(|container| self.entries[container].scope)
        })
    }

    /// Whether a scope lies inside a body of the given kind (`for_each` or a loop).
    pub(super) fn inside(&self, scope: usize, for_each: bool) -> bool {
        self.scope_chain(scope).any(|scope| {
            self.scopes[scope].container.is_some_and(|container| {
                matches!(
                    (&self.entries[container].step.body, for_each),
                    (StepBody::ForEach { .. }, true) | (StepBody::Loop { .. }, false)
                )
            })
        })
    }

    /// The ancestor of `entry` (or `entry` itself) that belongs to `scope`, if `scope` encloses it.
    pub(super) fn lift_to(&self, entry: usize, scope: usize) -> Option<usize> {
        let mut current = entry;
        loop {
            let own = self.entries[current].scope;
            if own == scope {
                return Some(current);
            }
            current = self.scopes[own].container?;
        }
    }
}
