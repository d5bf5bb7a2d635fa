//! Templates and expressions: that they parse, and that every name they read exists and is
//! available when they are rendered. Names are found by minijinja's own parser
//! (`undeclared_variables`), never by pattern matching.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

use super::graph::Reachability;
use super::{At, Validator};
use crate::diagnostic::Code;
use crate::model::{LoopCondition, QcCheck, RESULT_FIELDS, StepBody};
use crate::suggest::help_for;
use crate::yaml::push_pointer;

/// Functions minijinja provides to every template.
const GLOBALS: &[&str] = &[
    "range",
    "dict",
    "namespace",
    "debug",
    "lipsum",
    "cycler",
    "joiner",
];
/// Names that are always defined: the run's inputs, the run itself, the environment, and
/// `steps['id']` for ids with dashes.
const ALWAYS: &[&str] = &["inputs", "run", "env", "steps"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Syntax {
    /// Text with `{{ … }}` and `{% … %}` in it.
    Template,
    /// A bare expression, such as a `condition`.
    Expression,
}

/// Who reads the names of one template, and when.
#[derive(Clone, Copy)]
struct Reader {
    /// The step whose field it is; `None` for the pipeline's `outputs`.
    step: Option<usize>,
    /// The scope whose steps are in view (a loop's own condition sees its body).
    scope: usize,
    /// Whether the template is rendered after the step has run, so it may read the step itself.
    after: bool,
}

impl Validator<'_> {
    pub(super) fn templates(&mut self, reachability: &Reachability) {
        let mut environment = Environment::new();
        environment.set_undefined_behavior(UndefinedBehavior::Strict);
        let index = self.index;
        for (entry_index, entry) in index.entries.iter().enumerate() {
            let step = entry.step;
            let before = Reader {
                step: Some(entry_index),
                scope: entry.scope,
                after: false,
            };
            let after = Reader {
                after: true,
                ..before
            };
            let at = |field: &str| format!("{}/{field}", entry.pointer);
            let check = |this: &mut Self, text: &str, pointer: String, syntax, reader| {
                this.template(&environment, reachability, text, &pointer, syntax, reader);
            };
            match &step.body {
                StepBody::Action { action, params } => {
                    let Some(spec) = self.context.catalog.action(action) else {
                        continue;
                    };
                    for param in spec.params.iter().filter(|param| param.kind.is_templated()) {
                        if let Some(value) = params.get(param.name) {
                            for (text, pointer) in strings(value, &at(param.name)) {
                                check(self, text, pointer, Syntax::Template, before);
                            }
                        }
                    }
                }
                StepBody::ForEach { items, .. } => {
                    for (text, pointer) in strings(items, &at("for_each")) {
                        check(self, text, pointer, Syntax::Template, before);
                    }
                }
                StepBody::Loop { condition, .. } => {
                    let inside = Reader {
                        scope: entry.body.unwrap_or(entry.scope),
                        after: true,
                        ..before
                    };
                    let (key, text) = match condition {
                        LoopCondition::While(text) => ("while", text),
                        LoopCondition::Until(text) => ("until", text),
                    };
                    check(self, text, at(key), Syntax::Expression, inside);
                }
            }
            let control = &step.control;
            if let Some(condition) = &control.condition {
                check(self, condition, at("condition"), Syntax::Expression, before);
            }
            for (n, route) in control.routes.iter().enumerate() {
                check(
                    self,
                    &route.when,
                    at(&format!("routes/{n}/when")),
                    Syntax::Expression,
                    after,
                );
            }
            for (n, path) in control.produces.iter().enumerate() {
                check(
                    self,
                    path,
                    at(&format!("produces/{n}")),
                    Syntax::Template,
                    after,
                );
            }
            for (n, qc) in control.qc.iter().enumerate() {
                match qc {
                    QcCheck::FileExists(path) => {
                        check(
                            self,
                            path,
                            at(&format!("qc/{n}/file_exists")),
                            Syntax::Template,
                            after,
                        );
                    }
                    QcCheck::Command(argv) => {
                        for (m, arg) in argv.iter().enumerate() {
                            check(
                                self,
                                arg,
                                at(&format!("qc/{n}/command/{m}")),
                                Syntax::Template,
                                after,
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
        let outputs = Reader {
            step: None,
            scope: 0,
            after: true,
        };
        for (name, template) in &self.pipeline.outputs {
            let pointer = push_pointer("/outputs", name);
            self.template(
                &environment,
                reachability,
                template,
                &pointer,
                Syntax::Template,
                outputs,
            );
        }
    }

    fn template(
        &mut self,
        environment: &Environment<'_>,
        reachability: &Reachability,
        text: &str,
        pointer: &str,
        syntax: Syntax,
        reader: Reader,
    ) {
        let step_id = reader
            .step
            .map(|entry| self.index.entries[entry].step.id.clone());
        let step_id = step_id.as_deref();
        let names = match syntax {
            Syntax::Template => {
                if !text.contains("{{") && !text.contains("{%") && !text.contains("{#") {
                    return;
                }
                environment
                    .template_from_str(text)
                    .map(|template| template.undeclared_variables(true))
            }
            Syntax::Expression => {
                let trimmed = text.trim();
                if trimmed.contains("{{") || trimmed.contains("{%") {
                    // The fix is simple only when the whole expression is one `{{ … }}`.
                    let inner = trimmed
                        .strip_prefix("{{")
                        .and_then(|rest| rest.strip_suffix("}}"))
                        .filter(|inner| !inner.contains("{{") && !inner.contains("}}"));
                    let help = inner.map_or_else(
                        || "write the expression alone, such as `a.output == 'yes' and inputs.strict`".to_owned(),
                        |inner| format!("write `{}`", inner.trim()),
                    );
                    self.error(
                        Code::TemplateSyntax,
                        &At::Value(pointer),
                        step_id,
                        "this is an expression, not a template, so it takes no `{{ }}` or `{% %}`"
                            .to_owned(),
                        Some(help),
                    );
                    return;
                }
                environment
                    .compile_expression(text)
                    .map(|expression| expression.undeclared_variables(true))
            }
        };
        let names = match names {
            Ok(names) => names,
            Err(error) => {
                let detail = error.detail().unwrap_or("it is not valid Jinja").to_owned();
                let what = if syntax == Syntax::Template {
                    "template"
                } else {
                    "expression"
                };
                let span = self
                    .locator
                    .line_within(pointer, text, error.line().unwrap_or(1));
                let mut diagnostic = crate::diagnostic::Diagnostic::error(
                    Code::TemplateSyntax,
                    pointer,
                    format!("this {what} does not parse: {detail}"),
                );
                diagnostic.span = span;
                diagnostic.step = step_id.map(str::to_owned);
                self.diagnostics.push(diagnostic);
                return;
            }
        };
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort_unstable();
        // `steps['my-step']` and `inputs['x']` are subscripts, which the parser's list of names
        // reports only as `steps` and `inputs`; minijinja's tokenizer finds what they read.
        if names.iter().any(|name| name == "steps" || name == "inputs") {
            for (root, key, field) in subscripts(text, syntax == Syntax::Expression) {
                if root == "steps" {
                    self.step_name(reachability, &key, field.as_deref(), &key, pointer, reader);
                } else {
                    self.input_name(&key, &key, pointer, reader);
                }
            }
        }
        for name in names {
            self.name(reachability, &name, pointer, reader);
        }
    }

    /// Checks that a template's input exists.
    fn input_name(&mut self, input: &str, word: &str, pointer: &str, reader: Reader) {
        if self.pipeline.inputs.contains_key(input) {
            return;
        }
        let step_id = reader
            .step
            .map(|entry| self.index.entries[entry].step.id.clone());
        let declared = self.pipeline.inputs.keys().map(String::as_str);
        let help = help_for(input, declared, "the inputs are").or_else(|| {
            Some(format!(
                "declare it under `inputs:`, such as `{input}: {{ type: string }}`"
            ))
        });
        self.error(
            Code::UnknownInput,
            &At::Word(pointer, word),
            step_id.as_deref(),
            format!("the pipeline has no input `{input}`"),
            help,
        );
    }

    /// Checks one dotted name a template reads, such as `diff.output` or `inputs.base`.
    fn name(&mut self, reachability: &Reachability, name: &str, pointer: &str, reader: Reader) {
        let index = self.index;
        let step_id = reader
            .step
            .map(|entry| index.entries[entry].step.id.clone());
        let step_id = step_id.as_deref();
        let mut parts = name.split('.');
        let root = parts.next().unwrap_or_default();
        let second = parts.next();
        match root {
            "inputs" => {
                if let Some(input) = second {
                    self.input_name(input, &format!("inputs.{input}"), pointer, reader);
                }
                return;
            }
            "steps" => {
                if let Some(id) = second {
                    self.step_name(
                        reachability,
                        id,
                        parts.next(),
                        &format!("steps.{id}"),
                        pointer,
                        reader,
                    );
                }
                return;
            }
            _ if ALWAYS.contains(&root) || GLOBALS.contains(&root) => return,
            "item" | "index" | "iteration" => {
                let for_each = root != "iteration";
                if !index.inside(reader.scope, for_each) {
                    let place = if for_each {
                        "a `for_each` body"
                    } else {
                        "a `while` or `until` loop"
                    };
                    self.error(
                        Code::UnknownName,
                        &At::Word(pointer, root),
                        step_id,
                        format!("`{root}` exists only inside {place}"),
                        None,
                    );
                }
                return;
            }
            _ => {}
        }
        if index.get(root).is_some() {
            self.step_name(reachability, root, second, root, pointer, reader);
            return;
        }
        let visible: Vec<&str> = index
            .scope_chain(reader.scope)
            .flat_map(|scope| {
                index.scopes[scope]
                    .members
                    .iter()
                    .map(|&m| index.entries[m].step.id.as_str())
            })
            .chain(self.pipeline.inputs.keys().map(String::as_str))
            .chain(ALWAYS.iter().copied())
            .collect();
        // `{{ my-step.output }}` parses as `my - step.output`: point to the subscript form.
        let dashed = index
            .entries
            .iter()
            .map(|entry| entry.step.id.as_str())
            .find(|id| {
                id.strip_prefix(root)
                    .is_some_and(|rest| rest.starts_with('-'))
            });
        let help = if let Some(dashed) = dashed {
            Some(format!("a step id with `-` is read as `steps['{dashed}']`"))
        } else if self.pipeline.inputs.contains_key(root) {
            Some(format!("inputs are read as `inputs.{root}`"))
        } else {
            help_for(root, visible.iter().copied(), "names here")
        };
        self.error(
            Code::UnknownName,
            &At::Word(pointer, root),
            step_id,
            format!("`{root}` is not a step, an input or a loop variable"),
            help,
        );
    }

    /// Checks a template's read of a step's result: that the step is in view, runs before the
    /// reader, and has the field read.
    /// `word` is the text to point at in the file.
    fn step_name(
        &mut self,
        reachability: &Reachability,
        id: &str,
        field: Option<&str>,
        word: &str,
        pointer: &str,
        reader: Reader,
    ) {
        let index = self.index;
        let step_id = reader
            .step
            .map(|entry| index.entries[entry].step.id.clone());
        let step_id = step_id.as_deref();
        let Some(target) = index.get(id) else {
            let ids = index.entries.iter().map(|entry| entry.step.id.as_str());
            let help = help_for(id, ids, "steps");
            self.error(
                Code::UnknownName,
                &At::Word(pointer, word),
                step_id,
                format!("no step has the id `{id}`"),
                help,
            );
            return;
        };
        let target_scope = index.entries[target].scope;
        if !index
            .scope_chain(reader.scope)
            .any(|scope| scope == target_scope)
        {
            let container = index.scopes[target_scope]
                .container
                .map(|c| index.entries[c].step.id.clone());
            let help = container.as_ref().map(|body| {
                format!(
                    "read `{body}.output` instead: the list of what each pass of its body produced"
                )
            });
            let message = match &container {
                Some(body) => format!("`{id}` runs inside the body of `{body}`, out of view here"),
                None => format!("`{id}` is out of view here"),
            };
            self.error(
                Code::OutOfScope,
                &At::Word(pointer, word),
                step_id,
                message,
                help,
            );
            return;
        }
        if let Some(field) = field
            && !RESULT_FIELDS.contains(&field)
        {
            let help = help_for(field, RESULT_FIELDS.iter().copied(), "step results have");
            // `{{ a.field }}` is found as `a.field`; `{{ steps['a'].field }}` only as `field`.
            let dotted = format!("{word}.{field}");
            let word = if self.locator.within(pointer, &dotted) == self.locator.value(pointer) {
                field
            } else {
                &dotted
            };
            self.warning(
                Code::UnknownResultField,
                &At::Word(pointer, word),
                step_id,
                format!("step results have no field `{field}`"),
                help,
            );
        }
        let Some(reader_entry) = reader.step else {
            return;
        };
        let Some(lifted) = index.lift_to(reader_entry, target_scope) else {
            return;
        };
        let runs_before = if lifted == target {
            // A step may read its own result after it has run, or, inside a `while` or `until`
            // body, the result of its previous pass.
            (reader.after && lifted == reader_entry) || index.inside(target_scope, false)
        } else {
            reachability.reaches(target, lifted)
        };
        if !runs_before {
            let reader_id = &index.entries[lifted].step.id;
            let message = if lifted != target {
                format!("`{id}` does not run before `{reader_id}`, so its result may not exist yet")
            } else if lifted == reader_entry {
                format!("`{id}` reads its own result before it has one")
            } else {
                format!("`{id}` is still running while its body runs, so it has no result yet")
            };
            let help = (lifted != target)
                .then(|| format!("add `{id}` to the `depends_on` of `{reader_id}`"));
            self.warning(
                Code::NotUpstream,
                &At::Word(pointer, word),
                step_id,
                message,
                help,
            );
        }
    }
}

/// The constant subscripts of `steps` and `inputs` in a template, as (root, key, field): for
/// `{{ steps['my-step'].output }}`, (`steps`, `my-step`, `output`). Found with minijinja's own
/// tokenizer, so that strings and comments are told apart from code.
fn subscripts(text: &str, in_expression: bool) -> Vec<(String, String, Option<String>)> {
    use minijinja::machinery::{Token, tokenize};
    let tokens: Vec<Token<'_>> = tokenize(
        text,
        in_expression,
        minijinja::syntax::SyntaxConfig::default(),
    )
    .map_while(Result::ok)
    .map(|(token, _)| token)
    .collect();
    let mut found = Vec::new();
    for (at, window) in tokens.windows(4).enumerate() {
        let [
            Token::Ident(root @ ("steps" | "inputs")),
            Token::BracketOpen,
            key,
            Token::BracketClose,
        ] = window
        else {
            continue;
        };
        let key = match key {
            Token::Str(key) => (*key).to_owned(),
            Token::String(key) => key.to_string(),
            _ => continue,
        };
        let field = match (tokens.get(at + 4), tokens.get(at + 5)) {
            (Some(Token::Dot), Some(Token::Ident(field))) => Some((*field).to_owned()),
            _ => None,
        };
        found.push(((*root).to_owned(), key, field));
    }
    found
}

/// The strings of a parameter value that are templates, with their pointers.
fn strings<'v>(value: &'v Value, pointer: &str) -> Vec<(&'v str, String)> {
    let mut found = Vec::new();
    collect(value, pointer, &mut found);
    found
}

fn collect<'v>(value: &'v Value, pointer: &str, found: &mut Vec<(&'v str, String)>) {
    match value {
        Value::String(text) => found.push((text, pointer.to_owned())),
        Value::Array(items) => {
            for (at, item) in items.iter().enumerate() {
                collect(item, &push_pointer(pointer, &at.to_string()), found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                collect(item, &push_pointer(pointer, key), found);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
