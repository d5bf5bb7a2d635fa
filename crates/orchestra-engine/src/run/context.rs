//! What templates see: the run's inputs, the run itself, loop variables, and the results of the
//! steps in view. Results are looked up when a template reads them, not copied in beforehand, so
//! rendering costs the same whether a run has ten steps or ten thousand.

use std::sync::Arc;

use minijinja::Value;
use minijinja::value::{Enumerator, Object};
use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::event::StepKey;
use crate::result::StepResult;

/// What the bodies around a step give it: the names they bind (`item`, `index`, `iteration`)
/// and the token that stops them (a body with a `timeout` stops on its own).
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    bindings: Vec<(&'static str, Value)>,
    pub(crate) cancel: CancellationToken,
}

impl Frame {
    /// The frame of the top level of a run.
    pub(crate) fn root(cancel: CancellationToken) -> Self {
        Self {
            bindings: Vec::new(),
            cancel,
        }
    }

    /// This frame with one more binding, which hides an outer one of the same name.
    pub(crate) fn with(&self, name: &'static str, value: Value) -> Self {
        let mut bindings = self.bindings.clone();
        bindings.push((name, value));
        Self {
            bindings,
            cancel: self.cancel.clone(),
        }
    }

    /// This frame with its own stop token, stopped with it or on its own.
    pub(crate) fn with_own_cancel(&self) -> Self {
        Self {
            bindings: self.bindings.clone(),
            cancel: self.cancel.child_token(),
        }
    }

    fn get(&self, name: &str) -> Option<Value> {
        self.bindings
            .iter()
            .rev()
            .find(|(bound, _)| *bound == name)
            .map(|(_, value)| value.clone())
    }
}

/// The root of a template's names, for a step in `scope`.
#[derive(Debug)]
pub(crate) struct Scope {
    shared: Arc<Shared>,
    scope: String,
    frame: Frame,
    /// A result not yet committed: the step's own, for its `routes` and checks.
    own: Option<(String, Value)>,
}

impl Scope {
    pub(crate) fn value(
        shared: &Arc<Shared>,
        scope: &str,
        frame: &Frame,
        own: Option<(&str, &StepResult)>,
    ) -> Value {
        Value::from_object(Self {
            shared: Arc::clone(shared),
            scope: scope.to_owned(),
            frame: frame.clone(),
            own: own.map(|(id, result)| (id.to_owned(), result_value(result))),
        })
    }

    fn step(&self, id: &str) -> Option<Value> {
        if let Some((own, value)) = &self.own
            && own == id
        {
            return Some(value.clone());
        }
        let state = self.shared.state.lock().ok()?;
        scopes_in_view(&self.scope)
            .find_map(|scope| state.result(&StepKey::new(&scope, id)))
            .map(result_value)
    }
}

impl Object for Scope {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        match name {
            "inputs" => Some(self.shared.inputs.clone()),
            "run" => Some(self.shared.run_value()),
            "env" => Some(Value::from(
                std::collections::BTreeMap::<String, Value>::new(),
            )),
            "steps" => Some(Value::from_object(Steps(Arc::clone(self)))),
            "item" | "index" | "iteration" => self.frame.get(name),
            id => self.step(id),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::NonEnumerable
    }
}

/// `steps['id']`: the same results, for ids that templates cannot write as names.
#[derive(Debug)]
struct Steps(Arc<Scope>);

impl Object for Steps {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.step(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::NonEnumerable
    }
}

fn result_value(result: &StepResult) -> Value {
    crate::templates::context_value(&result.template_value())
}

/// The scopes whose steps a step in `scope` can read, innermost first: its own scope (and, in a
/// loop, the same body's earlier passes, newest first), then each enclosing scope up to the top.
pub(crate) fn scopes_in_view(scope: &str) -> impl Iterator<Item = String> + '_ {
    let mut levels: Vec<&str> = Vec::new();
    let mut rest = scope;
    while !rest.is_empty() {
        levels.push(rest);
        rest = rest.rsplit_once('/').map_or("", |(outer, _)| outer);
    }
    levels.push("");
    levels.into_iter().flat_map(|level| {
        // `polish#3` also sees `polish#2` and `polish#1`.
        let earlier: Vec<String> = match level.rsplit_once('#') {
            Some((container, pass)) if !pass.contains('/') => match pass.parse::<u32>() {
                Ok(pass) => (1..=pass)
                    .rev()
                    .map(|n| format!("{container}#{n}"))
                    .collect(),
                Err(_) => vec![level.to_owned()],
            },
            _ => vec![level.to_owned()],
        };
        earlier.into_iter()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_sees_its_scope_earlier_passes_and_every_enclosing_scope() {
        let seen: Vec<String> = scopes_in_view("each[2]/polish#3").collect();
        assert_eq!(
            seen,
            [
                "each[2]/polish#3",
                "each[2]/polish#2",
                "each[2]/polish#1",
                "each[2]",
                ""
            ]
        );
        assert_eq!(scopes_in_view("").collect::<Vec<_>>(), [""]);
    }
}
