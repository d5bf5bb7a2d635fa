//! Reading values out of the YAML tree, one key at a time, reporting every problem found.

use std::borrow::Cow;

use serde_json::Value;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Duration, auto_instruction};
use crate::source::{Source, Span};
use crate::suggest::help_for;
use crate::yaml::{Node, NodeValue, push_pointer};

/// Collects diagnostics while the tree is read into the model.
pub(super) struct Reader<'s> {
    pub(super) source: &'s Source,
    pub(super) diagnostics: Vec<Diagnostic>,
    /// The step being read, named in every diagnostic found inside it.
    pub(super) step: Option<String>,
}

/// The entries of a YAML map being read, with its pointer.
pub(super) struct Fields<'n> {
    pub(super) pointer: String,
    pub(super) span: Span,
    pub(super) entries: Vec<(Cow<'n, str>, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    /// The value of a key.
    pub(super) fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(name, _, _)| name == key)
            .map(|(_, _, value)| *value)
    }

    /// Whether the map has a key.
    pub(super) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The pointer of a key's value.
    pub(super) fn child(&self, key: &str) -> String {
        push_pointer(&self.pointer, key)
    }
}

/// How a key is named in messages: "`timeout`".
pub(super) fn named(key: &str) -> String {
    format!("`{key}`")
}

impl<'s> Reader<'s> {
    pub(super) fn new(source: &'s Source) -> Self {
        Self {
            source,
            diagnostics: Vec::new(),
            step: None,
        }
    }

    /// Records a diagnostic, naming the current step.
    pub(super) fn report(&mut self, mut diagnostic: Diagnostic) {
        if diagnostic.step.is_none() {
            diagnostic.step.clone_from(&self.step);
        }
        self.diagnostics.push(diagnostic);
    }

    pub(super) fn error(
        &mut self,
        code: Code,
        node: &Node,
        pointer: &str,
        message: impl Into<String>,
    ) {
        self.report(Diagnostic::error(code, pointer, message).at(node.span));
    }

    /// Reports a value of the wrong type: "`timeout` should be text, found a list".
    pub(super) fn wrong_type(&mut self, node: &Node, pointer: &str, what: &str, expected: &str) {
        let message = if node.is_null() {
            format!("{what} has no value; it should be {expected}")
        } else {
            format!("{what} should be {expected}, found {}", node.value.kind())
        };
        self.error(Code::WrongType, node, pointer, message);
    }

    /// Opens a map. Null reads as an empty map when `null_is_empty` (an empty section such as
    /// `inputs:` with nothing under it).
    pub(super) fn fields<'n>(
        &mut self,
        node: &'n Node,
        pointer: &str,
        what: &str,
        null_is_empty: bool,
    ) -> Option<Fields<'n>>
    where
        's: 'n,
    {
        let entries = match &node.value {
            NodeValue::Map(entries) => entries,
            NodeValue::Null if null_is_empty => {
                return Some(Fields {
                    pointer: pointer.to_owned(),
                    span: node.span,
                    entries: Vec::new(),
                });
            }
            _ => {
                self.wrong_type(node, pointer, what, "a map of keys and values");
                return None;
            }
        };
        let mut fields = Fields {
            pointer: pointer.to_owned(),
            span: node.span,
            entries: Vec::new(),
        };
        // YAML tells `1` from `"1"`, but as names they are the same; the parser has already
        // refused repeats of one spelling, so only a map with a key that is not a string can
        // hold two that read the same.
        let mixed = entries
            .iter()
            .any(|(key, _)| !matches!(key.value, NodeValue::String(_)));
        for (key, value) in entries {
            match key.scalar_text(self.source) {
                Some(name)
                    if mixed && fields.entries.iter().any(|(other, _, _)| *other == name) =>
                {
                    self.error(
                        Code::DuplicateKey,
                        key,
                        pointer,
                        format!("the key `{name}` appears twice in {what}"),
                    );
                }
                Some(name) => fields.entries.push((name, key, value)),
                None => self.error(
                    Code::WrongType,
                    key,
                    pointer,
                    format!("keys of {what} must be text, found {}", key.value.kind()),
                ),
            }
        }
        Some(fields)
    }

    /// Reports every key of `fields` that is not in `known`, suggesting the closest known key.
    pub(super) fn unknown_keys(&mut self, fields: &Fields<'_>, known: &[&str], what: &str) {
        self.unknown_keys_explained(fields, known, what, |_| None);
    }

    /// Like [`Self::unknown_keys`], with `explain` giving advice for keys it knows more about
    /// (a key that belongs to another kind of step); other keys get a "did you mean".
    pub(super) fn unknown_keys_explained(
        &mut self,
        fields: &Fields<'_>,
        known: &[&str],
        what: &str,
        explain: impl Fn(&str) -> Option<String>,
    ) {
        for (name, key, _) in &fields.entries {
            if !known.contains(&name.as_ref()) {
                let help = explain(name)
                    .or_else(|| help_for(name, known.iter().copied(), &format!("{what} takes")));
                self.report(
                    Diagnostic::error(
                        Code::UnknownKey,
                        fields.child(name),
                        format!("unknown key `{name}` in {what}"),
                    )
                    .at(key.span)
                    .with_optional_help(help),
                );
            }
        }
    }

    /// Reports a key that must be present; the diagnostic points at the map that lacks it.
    pub(super) fn missing(
        &mut self,
        fields: &Fields<'_>,
        key: &str,
        what: &str,
        help: Option<String>,
    ) {
        let span = Span {
            len: 0,
            ..fields.span
        };
        self.report(
            Diagnostic::error(
                Code::MissingKey,
                fields.pointer.clone(),
                format!("{what} needs `{key}`"),
            )
            .at(span)
            .with_optional_help(help),
        );
    }

    /// Text: a string, or a number or boolean as it was written.
    pub(super) fn text(&mut self, node: &Node, pointer: &str, what: &str) -> Option<String> {
        if let Some(text) = node.scalar_text(self.source) {
            return Some(text.into_owned());
        }
        self.wrong_type(node, pointer, what, "text");
        None
    }

    /// An optional text key of a map.
    pub(super) fn opt_text(&mut self, fields: &Fields<'_>, key: &str) -> Option<String> {
        let node = fields.get(key)?;
        self.text(node, &fields.child(key), &named(key))
    }

    /// `true` or `false`.
    pub(super) fn boolean(&mut self, node: &Node, pointer: &str, what: &str) -> Option<bool> {
        if let NodeValue::Bool(flag) = node.value {
            return Some(flag);
        }
        self.wrong_type(node, pointer, what, "`true` or `false`");
        None
    }

    pub(super) fn opt_boolean(&mut self, fields: &Fields<'_>, key: &str) -> Option<bool> {
        let node = fields.get(key)?;
        self.boolean(node, &fields.child(key), &named(key))
    }

    /// A whole number of at least `min`.
    pub(super) fn count(
        &mut self,
        node: &Node,
        pointer: &str,
        what: &str,
        min: u32,
    ) -> Option<u32> {
        let value = match &node.value {
            NodeValue::Number(number) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
            _ => None,
        };
        match value {
            Some(value) if value >= min => Some(value),
            Some(value) => {
                self.error(
                    Code::BadValue,
                    node,
                    pointer,
                    format!("{what} is {value}, but it must be at least {min}"),
                );
                None
            }
            None => {
                self.wrong_type(node, pointer, what, &format!("a whole number from {min}"));
                None
            }
        }
    }

    pub(super) fn opt_count(&mut self, fields: &Fields<'_>, key: &str, min: u32) -> Option<u32> {
        let node = fields.get(key)?;
        self.count(node, &fields.child(key), &named(key), min)
    }

    /// A number between `min` and `max`.
    pub(super) fn number(
        &mut self,
        node: &Node,
        pointer: &str,
        what: &str,
        range: (f64, f64),
    ) -> Option<f64> {
        let NodeValue::Number(number) = &node.value else {
            self.wrong_type(node, pointer, what, "a number");
            return None;
        };
        let value = number.as_f64()?;
        if value < range.0 || value > range.1 {
            self.error(
                Code::BadValue,
                node,
                pointer,
                format!(
                    "{what} is {value}, but it must be between {} and {}",
                    range.0, range.1
                ),
            );
            return None;
        }
        Some(value)
    }

    /// A duration such as `10m`.
    pub(super) fn duration(&mut self, node: &Node, pointer: &str, what: &str) -> Option<Duration> {
        let text = self.text(node, pointer, what)?;
        match Duration::parse(&text) {
            Ok(duration) => Some(duration),
            Err(message) => {
                self.error(
                    Code::BadDuration,
                    node,
                    pointer,
                    format!("{what}: {message}"),
                );
                None
            }
        }
    }

    pub(super) fn opt_duration(&mut self, fields: &Fields<'_>, key: &str) -> Option<Duration> {
        let node = fields.get(key)?;
        self.duration(node, &fields.child(key), &named(key))
    }

    /// One of a few words, with a suggestion when it is misspelt.
    pub(super) fn choice<T: Copy>(
        &mut self,
        node: &Node,
        pointer: &str,
        what: &str,
        table: &[(&str, T)],
    ) -> Option<T> {
        let text = self.text(node, pointer, what)?;
        if let Some((_, value)) = table.iter().find(|(name, _)| *name == text) {
            return Some(*value);
        }
        let names: Vec<&str> = table.iter().map(|(name, _)| *name).collect();
        let help = help_for(&text, names.iter().copied(), "it takes");
        self.report(
            Diagnostic::error(
                Code::BadValue,
                pointer,
                format!("{what} cannot be `{text}`"),
            )
            .at(node.span)
            .with_optional_help(help),
        );
        None
    }

    pub(super) fn opt_choice<T: Copy>(
        &mut self,
        fields: &Fields<'_>,
        key: &str,
        table: &[(&str, T)],
    ) -> Option<T> {
        let node = fields.get(key)?;
        self.choice(node, &fields.child(key), &named(key), table)
    }

    /// A list of text. A single text value is read as a list of one, which is how people often
    /// write one dependency.
    pub(super) fn text_list(&mut self, node: &Node, pointer: &str, what: &str) -> Vec<String> {
        match &node.value {
            NodeValue::Seq(items) => {
                let mut list = Vec::with_capacity(items.len());
                for (at, item) in items.iter().enumerate() {
                    // The pointer and the description are only needed to report a problem, and
                    // lists can be long (a join over thousands of steps), so they are made then.
                    if let Some(text) = item.scalar_text(self.source) {
                        list.push(text.into_owned());
                    } else {
                        let item_what = format!("item {} of {what}", at + 1);
                        self.wrong_type(
                            item,
                            &push_pointer(pointer, &at.to_string()),
                            &item_what,
                            "text",
                        );
                    }
                }
                list
            }
            NodeValue::Null => Vec::new(),
            _ => {
                if let Some(text) = node.scalar_text(self.source) {
                    vec![text.into_owned()]
                } else {
                    self.wrong_type(node, pointer, what, "a list of text");
                    Vec::new()
                }
            }
        }
    }

    pub(super) fn opt_text_list(&mut self, fields: &Fields<'_>, key: &str) -> Vec<String> {
        match fields.get(key) {
            Some(node) => self.text_list(node, &fields.child(key), &named(key)),
            None => Vec::new(),
        }
    }

    /// A map of names to text, such as environment variables.
    pub(super) fn text_map(
        &mut self,
        node: &Node,
        pointer: &str,
        what: &str,
    ) -> Option<serde_json::Map<String, Value>> {
        let fields = self.fields(node, pointer, what, true)?;
        let mut map = serde_json::Map::new();
        for (name, _, value) in &fields.entries {
            let item_what = format!("`{name}` in {what}");
            if let Some(text) = self.text(value, &fields.child(name), &item_what) {
                map.insert(name.to_string(), Value::String(text));
            }
        }
        Some(map)
    }

    /// Any value, as JSON. Keys that are not text and floats that are not finite are refused.
    pub(super) fn json(&mut self, node: &Node, pointer: &str) -> Value {
        match &node.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(flag) => Value::Bool(*flag),
            NodeValue::Number(number) => Value::Number(number.clone()),
            NodeValue::String(text) => Value::String(text.clone()),
            NodeValue::Seq(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(at, item)| match &item.value {
                        // Only a map can hold a problem (a key that is not text), so only a
                        // collection needs its pointer.
                        NodeValue::Seq(_) | NodeValue::Map(_) => {
                            self.json(item, &push_pointer(pointer, &at.to_string()))
                        }
                        _ => self.json(item, pointer),
                    })
                    .collect(),
            ),
            NodeValue::Map(_) => {
                let Some(fields) = self.fields(node, pointer, "this map", true) else {
                    return Value::Null;
                };
                let mut map = serde_json::Map::new();
                for (name, _, value) in &fields.entries {
                    let item = self.json(value, &fields.child(name));
                    map.insert(name.to_string(), item);
                }
                Value::Object(map)
            }
        }
    }

    /// Whether a node is an `<AUTO>…</AUTO>` value, which any parameter may hold.
    pub(super) fn is_auto(node: &Node) -> bool {
        node.as_str().and_then(auto_instruction).is_some()
    }
}
