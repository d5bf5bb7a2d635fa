//! Compiling a valid pipeline into a [`Plan`].

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use orchestra_pipeline::Catalog;
use orchestra_pipeline::model::{
    Backoff, Duration, EdgeKind, Join, LoopCondition, OnFailure, Pipeline, Step, StepBody,
    auto_instruction,
};
use serde_json::Value;

use crate::plan::{AutoValue, Edge, Graph, Plan, PlannedStep, RetryPolicy, Work};

/// The wait before a second attempt when a pipeline does not say: one second.
const DEFAULT_DELAY_MS: u64 = 1_000;
/// The longest wait, as a multiple of the first, when a pipeline does not say.
const DEFAULT_MAX_DELAY_FACTOR: u64 = 100;

/// Why a pipeline could not be compiled.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompileError {
    /// Steps wait on each other without a bound; validation reports this with its location.
    #[error("steps {0} wait on each other in a loop that nothing bounds")]
    Cycle(String),
}

/// Compiles a pipeline that validated without errors: applies the defaults, finds the edges and
/// their direction, and sorts every scope into levels.
pub fn compile(pipeline: &Pipeline, catalog: &Catalog) -> Result<Plan, CompileError> {
    let mut compiler = Compiler {
        pipeline,
        catalog,
        auto: Vec::new(),
    };
    let mut graph = compiler.graph(&pipeline.steps)?;
    if pipeline.workspace.repo.is_some() {
        crate::writers::mark_parallel_writers(&mut graph, false);
    }
    Ok(Plan {
        pipeline: pipeline.id.clone(),
        name: pipeline.name.clone(),
        inputs: pipeline.inputs.clone(),
        concurrency: pipeline.limits.concurrency,
        max_failures: pipeline.limits.max_failures,
        graph,
        outputs: pipeline.outputs.clone(),
        auto: compiler.auto,
        models: pipeline.models.clone(),
        tools: pipeline.workspace.tools.clone(),
    })
}

struct Compiler<'p> {
    pipeline: &'p Pipeline,
    catalog: &'p Catalog,
    auto: Vec<AutoValue>,
}

impl Compiler<'_> {
    fn graph(&mut self, steps: &[Step]) -> Result<Graph, CompileError> {
        let position: HashMap<&str, usize> = steps
            .iter()
            .enumerate()
            .map(|(at, step)| (step.id.as_str(), at))
            .collect();
        let mut edges = Vec::new();
        // Forward edges by index, for levels; back edges (bounded loops) are left out.
        let mut forward: Vec<Vec<usize>> = vec![Vec::new(); steps.len()];
        let mut bounded = Vec::new();
        for (at, step) in steps.iter().enumerate() {
            for reference in step.control.references() {
                let Some(&target) = position.get(reference.target) else {
                    continue;
                };
                let (from, to) = if reference.kind == EdgeKind::Data {
                    (target, at)
                } else {
                    (at, target)
                };
                let edge = Edge {
                    from: steps[from].id.clone(),
                    to: steps[to].id.clone(),
                    kind: reference.kind,
                    back: false,
                    when: reference.when.map(str::to_owned),
                    max_loops: reference.max_loops,
                };
                if reference.kind == EdgeKind::Route && reference.max_loops.is_some() {
                    bounded.push((edges.len(), from, to));
                } else {
                    forward[from].push(to);
                }
                edges.push(edge);
            }
        }
        // A bounded route is a loop when its target can already reach its source; otherwise it
        // is a forward jump and orders its steps like any other edge.
        for (edge, from, to) in bounded {
            if reaches(&forward, to, from) {
                edges[edge].back = true;
            } else {
                forward[from].push(to);
            }
        }
        let levels = levels(&forward).ok_or_else(|| {
            let ids: Vec<&str> = steps.iter().map(|step| step.id.as_str()).collect();
            CompileError::Cycle(ids.join(", "))
        })?;
        let mut by_level: Vec<Vec<String>> =
            vec![Vec::new(); levels.iter().max().map_or(0, |max| max + 1)];
        for (at, &level) in levels.iter().enumerate() {
            by_level[level].push(steps[at].id.clone());
        }
        let gated: HashSet<&str> = edges
            .iter()
            .filter(|edge| edge.kind != EdgeKind::Data && !edge.back)
            .map(|edge| edge.to.as_str())
            .collect();
        // A loop rather than `collect`: collecting `Result`s loses the length hint, and the
        // steps are large enough that growing the vector step by step shows in the benchmarks.
        let mut planned = Vec::with_capacity(steps.len());
        for (step, level) in steps.iter().zip(levels) {
            planned.push(self.step(step, level, gated.contains(step.id.as_str()))?);
        }
        Ok(Graph {
            steps: planned,
            edges,
            levels: by_level,
        })
    }

    fn step(
        &mut self,
        step: &Step,
        level: usize,
        gated: bool,
    ) -> Result<PlannedStep, CompileError> {
        let defaults = &self.pipeline.defaults;
        let control = &step.control;
        let work = match &step.body {
            StepBody::Action { action, params } => Work::Action {
                action: action.clone(),
                params: self.params(step, action, params),
            },
            StepBody::ForEach {
                items,
                max_parallel,
                steps,
            } => Work::ForEach {
                items: items.clone(),
                max_parallel: *max_parallel,
                body: self.graph(steps)?,
            },
            StepBody::Loop {
                condition: LoopCondition::While(condition),
                max_iterations,
                steps,
            } => Work::While {
                condition: condition.clone(),
                max_iterations: *max_iterations,
                body: self.graph(steps)?,
            },
            StepBody::Loop {
                condition: LoopCondition::Until(condition),
                max_iterations,
                steps,
            } => Work::Until {
                condition: condition.clone(),
                max_iterations: *max_iterations,
                body: self.graph(steps)?,
            },
        };
        let retry = control.retry.as_ref().or(defaults.retry.as_ref());
        let delay = retry
            .and_then(|retry| retry.delay.clone())
            .unwrap_or_else(|| Duration::from_millis(DEFAULT_DELAY_MS));
        let max_delay = retry
            .and_then(|retry| retry.max_delay.clone())
            .unwrap_or_else(|| {
                Duration::from_millis(delay.millis().saturating_mul(DEFAULT_MAX_DELAY_FACTOR))
            });
        Ok(PlannedStep {
            id: step.id.clone(),
            name: step.name.clone(),
            level,
            gated,
            work,
            depends_on: control.depends_on.clone(),
            join: control.join.unwrap_or(Join::All),
            condition: control.condition.clone(),
            on_false: control.on_false.clone(),
            on_success: control.on_success.clone(),
            on_failure: control
                .on_failure
                .clone()
                .or_else(|| defaults.on_failure.clone())
                .unwrap_or(OnFailure::Fail),
            routes: control.routes.clone(),
            timeout: control.timeout.clone().or_else(|| defaults.timeout.clone()),
            retry: RetryPolicy {
                attempts: retry.map_or(1, |retry| retry.attempts),
                exponential: retry
                    .and_then(|retry| retry.backoff)
                    .unwrap_or(Backoff::Exponential)
                    == Backoff::Exponential,
                delay,
                max_delay,
                jitter: retry.and_then(|retry| retry.jitter).unwrap_or(true),
            },
            cache: control.cache.or(defaults.cache).unwrap_or(false),
            produces: control.produces.clone(),
            qc: control.qc.clone(),
            disabled: control.disabled,
            own_worktree: false,
        })
    }

    /// The step's parameters with the pipeline's defaults for LLM settings filled in, where the
    /// action takes them and neither the step nor its agent sets them. Records `<AUTO>` values.
    fn params(
        &mut self,
        step: &Step,
        action: &str,
        params: &IndexMap<String, Value>,
    ) -> IndexMap<String, Value> {
        let mut resolved = params.clone();
        let Some(spec) = self.catalog.action(action) else {
            return resolved;
        };
        let defaults = &self.pipeline.defaults;
        let agent_name = params.get("agent").and_then(Value::as_str);
        let agent = agent_name.and_then(|name| self.pipeline.agents.get(name));
        // An agent defined in a file of its own is read when the step runs; its settings are not
        // known here, so the pipeline's defaults are applied then, under the agent's.
        let agent_file = agent_name.is_some() && agent.is_none();
        let fallbacks: [(&str, Option<Value>, bool); 3] = [
            (
                "model",
                defaults.model.clone().map(Value::from),
                agent.is_some_and(|a| a.model.is_some()),
            ),
            (
                "personality",
                defaults.personality.clone().map(Value::from),
                agent.is_some_and(|a| a.personality.is_some()),
            ),
            (
                "temperature",
                defaults.temperature.map(Value::from),
                agent.is_some_and(|a| a.temperature.is_some()),
            ),
        ];
        // The agent's settings come under the step's own, and above the pipeline's defaults.
        if let Some(agent) = agent {
            let settings: [(&str, Option<Value>); 7] = [
                ("role", agent.role.clone().map(Value::from)),
                ("persona", agent.persona.clone().map(Value::from)),
                ("personality", agent.personality.clone().map(Value::from)),
                ("model", agent.model.clone().map(Value::from)),
                ("temperature", agent.temperature.map(Value::from)),
                (
                    "tools",
                    (!agent.tools.is_empty()).then(|| Value::from(agent.tools.clone())),
                ),
                ("max_turns", agent.max_turns.map(Value::from)),
            ];
            for (name, value) in settings {
                if let Some(value) = value
                    && spec.param(name).is_some()
                    && !resolved.contains_key(name)
                {
                    resolved.insert(name.to_owned(), value);
                }
            }
        }
        for (name, value, agent_sets_it) in fallbacks {
            if let Some(value) = value
                && spec.param(name).is_some()
                && !agent_sets_it
                && !agent_file
                && !resolved.contains_key(name)
            {
                resolved.insert(name.to_owned(), value);
            }
        }
        // Keep the action's parameter order, so the plan reads like the file.
        let order: Vec<&str> = spec.params.iter().map(|param| param.name).collect();
        resolved.sort_by_cached_key(|name, _| {
            order
                .iter()
                .position(|known| known == name)
                .unwrap_or(usize::MAX)
        });
        for (name, value) in &resolved {
            if let Some(instruction) = value.as_str().and_then(auto_instruction) {
                self.auto.push(AutoValue {
                    step: step.id.clone(),
                    param: name.clone(),
                    instruction: instruction.to_owned(),
                });
            }
        }
        resolved
    }
}

/// Whether `to` can be reached from `from` along forward edges.
fn reaches(forward: &[Vec<usize>], from: usize, to: usize) -> bool {
    let mut seen = HashSet::from([from]);
    let mut stack = vec![from];
    while let Some(at) = stack.pop() {
        if at == to {
            return true;
        }
        for &next in &forward[at] {
            if seen.insert(next) {
                stack.push(next);
            }
        }
    }
    false
}

/// The level of every step (longest path from a step with no predecessor), or `None` if the
/// forward edges have a cycle. Kahn's algorithm, in file order within a level.
fn levels(forward: &[Vec<usize>]) -> Option<Vec<usize>> {
    let mut incoming = vec![0_usize; forward.len()];
    for targets in forward {
        for &to in targets {
            incoming[to] += 1;
        }
    }
    let mut level = vec![0_usize; forward.len()];
    let mut ready: Vec<usize> = (0..forward.len()).filter(|&at| incoming[at] == 0).collect();
    let mut done = 0;
    while let Some(at) = ready.pop() {
        done += 1;
        for &to in &forward[at] {
            level[to] = level[to].max(level[at] + 1);
            incoming[to] -= 1;
            if incoming[to] == 0 {
                ready.push(to);
            }
        }
    }
    (done == forward.len()).then_some(level)
}
