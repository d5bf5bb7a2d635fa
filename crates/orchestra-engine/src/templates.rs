//! Rendering templates and evaluating expressions, strictly: a name that is not defined is an
//! error, never an empty string, so a step fails before it does anything with a half-rendered
//! value.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde_json::Value;

/// How much work one template may do before it is stopped: plenty for any report, and a bound on
/// a template that loops forever.
const FUEL: u64 = 5_000_000;

/// A template or expression that could not be rendered, as a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

/// The template engine of a run.
pub struct Templates {
    environment: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// Strict undefined names, no HTML escaping (these are prompts and commands, not web
    /// pages), blocks that do not leave blank lines behind, and the trailing newline kept as
    /// written.
    pub fn new() -> Self {
        let mut environment = Environment::new();
        environment.set_undefined_behavior(UndefinedBehavior::Strict);
        environment.set_auto_escape_callback(|_| AutoEscape::None);
        environment.set_fuel(Some(FUEL));
        if let Ok(syntax) = SyntaxConfig::builder()
            .trim_blocks(true)
            .keep_trailing_newline(true)
            .build()
        {
            environment.set_syntax(syntax);
        }
        environment.add_filter("fromjson", fromjson);
        environment.set_formatter(format_value);
        Self { environment }
    }

    /// Renders a template to text.
    pub fn render(
        &self,
        template: &str,
        context: &minijinja::Value,
    ) -> Result<String, RenderError> {
        self.environment
            .render_str(template, context)
            .map_err(|error| describe(&error))
    }

    /// Evaluates an expression, such as a `condition`.
    pub fn evaluate(
        &self,
        expression: &str,
        context: &minijinja::Value,
    ) -> Result<minijinja::Value, RenderError> {
        let compiled = self
            .environment
            .compile_expression(expression)
            .map_err(|error| describe(&error))?;
        compiled.eval(context).map_err(|error| describe(&error))
    }

    /// Whether an expression is true.
    pub fn is_true(
        &self,
        expression: &str,
        context: &minijinja::Value,
    ) -> Result<bool, RenderError> {
        self.evaluate(expression, context)
            .map(|value| value.is_true())
    }

    /// Renders every string in a value. A string that is one `{{ expression }}` and nothing else
    /// takes the expression's own value (a list stays a list); any other string renders to text.
    pub fn render_value(
        &self,
        value: &Value,
        context: &minijinja::Value,
    ) -> Result<Value, RenderError> {
        match value {
            Value::String(text) => match single_expression(text) {
                Some(expression) => to_json(&self.evaluate(expression, context)?),
                None if has_template(text) => self.render(text, context).map(Value::String),
                None => Ok(value.clone()),
            },
            Value::Array(items) => items
                .iter()
                .map(|item| self.render_value(item, context))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Value::Object(map) => map
                .iter()
                .map(|(key, item)| Ok((key.clone(), self.render_value(item, context)?)))
                .collect::<Result<_, RenderError>>()
                .map(Value::Object),
            other => Ok(other.clone()),
        }
    }

    /// Renders every string in a value to text (command arguments, headers, paths).
    pub fn render_text_value(
        &self,
        value: &Value,
        context: &minijinja::Value,
    ) -> Result<Value, RenderError> {
        match value {
            Value::String(text) if has_template(text) => {
                self.render(text, context).map(Value::String)
            }
            Value::Array(items) => items
                .iter()
                .map(|item| self.render_text_value(item, context))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Value::Object(map) => map
                .iter()
                .map(|(key, item)| Ok((key.clone(), self.render_text_value(item, context)?)))
                .collect::<Result<_, RenderError>>()
                .map(Value::Object),
            other => Ok(other.clone()),
        }
    }
}

/// A template value from a JSON value.
pub fn context_value(value: &Value) -> minijinja::Value {
    minijinja::Value::from(Serde(value))
}

/// A JSON value from a template value.
pub fn to_json(value: &minijinja::Value) -> Result<Value, RenderError> {
    serde_json::to_value(value)
        .map_err(|error| RenderError(format!("the value cannot be used as data: {error}")))
}

fn has_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The expression of a string that is exactly one `{{ expression }}`.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%"))
        .then_some(inner.trim())
}

/// `{{ text | fromjson }}`: parses JSON text, such as a program's output.
fn fromjson(text: &str) -> Result<minijinja::Value, minijinja::Error> {
    serde_json::from_str::<Value>(text)
        .map(|value| minijinja::Value::from(Serde(value)))
        .map_err(|error| {
            minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("the text is not JSON: {error}"),
            )
        })
}

/// Writes a value into text the way readers of YAML and JSON expect: strings and numbers as they
/// are, `true`, `false` and `null`, and lists and maps as JSON (not Python's `['a', True]`), so
/// that `{{ fetch.output }}` in a prompt or an argument is JSON a program can read.
fn format_value(
    out: &mut minijinja::Output,
    _state: &mut minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    use minijinja::value::ValueKind;
    match value.kind() {
        ValueKind::Bool | ValueKind::None | ValueKind::Seq | ValueKind::Map => {
            let json = serde_json::to_string(value).map_err(|error| {
                minijinja::Error::new(ErrorKind::BadSerialization, error.to_string())
            })?;
            out.write_str(&json).map_err(minijinja::Error::from)
        }
        _ => write!(out, "{value}").map_err(minijinja::Error::from),
    }
}

/// A minijinja error as a sentence without its internal location markers.
fn describe(error: &minijinja::Error) -> RenderError {
    let detail = error.detail().map(str::to_owned);
    let message = match (error.kind(), detail) {
        (ErrorKind::UndefinedError, Some(detail)) => format!("a name in the template is not defined: {detail}"),
        (ErrorKind::UndefinedError, None) => "a name in the template is not defined here (a step that has not run, or a field its result does not have)".to_owned(),
        (ErrorKind::OutOfFuel, _) => "the template does too much work (a loop that does not end?)".to_owned(),
        (kind, Some(detail)) => format!("{kind}: {detail}"),
        (kind, None) => kind.to_string(),
    };
    let line = error
        .line()
        .map(|line| format!(" (line {line} of the template)"))
        .unwrap_or_default();
    RenderError(format!("{message}{line}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> minijinja::Value {
        context_value(&json!({
            "inputs": { "name": "Ada", "paths": ["a.rs", "b.rs"] },
            "diff": { "output": "x\n", "exit_code": 0 },
        }))
    }

    #[test]
    fn values_are_written_as_json_readers_expect() {
        let templates = Templates::new();
        assert_eq!(
            templates.render(
                "{{ inputs.paths }} {{ 1 < 2 }} {{ none }} {{ {'a': [1, 2.5]} }} {{ 3 }} {{ inputs.name }}",
                &context()
            ),
            Ok(r#"["a.rs","b.rs"] true null {"a":[1,2.5]} 3 Ada"#.to_owned()),
            "lists and maps render as JSON, booleans and none as JSON words, text as itself"
        );
    }

    #[test]
    fn templates_render_strictly() {
        let templates = Templates::new();
        assert_eq!(
            templates.render("Hello, {{ inputs.name }}!", &context()),
            Ok("Hello, Ada!".to_owned())
        );
        let undefined = templates
            .render("{{ missing.output }}", &context())
            .expect_err("undefined names fail");
        assert!(undefined.0.contains("not defined"), "{undefined}");
        assert_eq!(
            templates.render("a\n", &context()),
            Ok("a\n".to_owned()),
            "the trailing newline is kept"
        );
        assert_eq!(
            templates.render("<b>{{ inputs.name }}</b>", &context()),
            Ok("<b>Ada</b>".to_owned()),
            "no HTML escaping"
        );
    }

    #[test]
    fn a_lone_expression_keeps_its_type_and_other_strings_render_to_text() {
        let templates = Templates::new();
        let value = json!({ "list": "{{ inputs.paths }}", "text": "files: {{ inputs.paths | join(', ') }}", "plain": "x", "n": 3 });
        assert_eq!(
            templates.render_value(&value, &context()),
            Ok(
                json!({ "list": ["a.rs", "b.rs"], "text": "files: a.rs, b.rs", "plain": "x", "n": 3 })
            )
        );
        assert_eq!(
            templates.render_text_value(
                &json!(["echo", "{{ inputs.paths | join(' ') }}"]),
                &context()
            ),
            Ok(json!(["echo", "a.rs b.rs"])),
            "arguments are always text"
        );
    }

    #[test]
    fn expressions_evaluate_to_values_and_truth() {
        let templates = Templates::new();
        assert_eq!(
            templates.is_true("diff.exit_code == 0", &context()),
            Ok(true)
        );
        assert_eq!(
            templates.is_true("inputs.name == 'Bob'", &context()),
            Ok(false)
        );
        assert!(
            templates.is_true("nope.output", &context()).is_err(),
            "undefined names fail in expressions too"
        );
        assert_eq!(
            templates.render("{{ '{\"a\": 1}' | fromjson | attr('a') }}", &context()),
            Ok("1".to_owned())
        );
    }

    #[test]
    fn a_runaway_template_runs_out_of_fuel() {
        let templates = Templates::new();
        let error = templates.render(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            &context(),
        );
        assert!(error.is_err_and(|e| e.0.contains("too much work")));
    }
}
