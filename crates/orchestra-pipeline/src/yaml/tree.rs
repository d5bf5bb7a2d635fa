//! A YAML document as a tree of values that each remember their place in the file.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::source::{Source, Span};

/// One YAML value and the span of the file it was read from.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: NodeValue,
    /// Where the value is written (for an alias, where the alias is used).
    pub span: Span,
}

/// The value of a [`Node`]. Mapping keys are nodes too, so a diagnostic can point at a key.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    /// `null`, `~` or nothing at all.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer or a finite floating-point number.
    Number(serde_json::Number),
    /// A string, including every quoted scalar.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in the order of the file.
    Map(Vec<(Node, Node)>),
}

impl NodeValue {
    /// The kind of value, for messages such as "expected a map, found a list".
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "nothing",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::String(_) => "text",
            Self::Seq(_) => "a list",
            Self::Map(_) => "a map",
        }
    }
}

impl Node {
    /// The entries of a mapping, or `None` for any other value.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items of a sequence, or `None` for any other value.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(text) => Some(text),
            _ => None,
        }
    }

    /// A scalar read as text: a string as it is, and a number or boolean as it was written, so
    /// that `version: 1.10` stays `1.10` where text is expected. `None` for null and collections.
    pub fn scalar_text<'a>(&'a self, source: &'a Source) -> Option<Cow<'a, str>> {
        let canonical = match &self.value {
            NodeValue::String(text) => return Some(Cow::Borrowed(text)),
            NodeValue::Bool(flag) => flag.to_string(),
            NodeValue::Number(number) => number.to_string(),
            NodeValue::Null | NodeValue::Seq(_) | NodeValue::Map(_) => return None,
        };
        let written = source.slice(self.span);
        let plain = !written.is_empty()
            && !written.starts_with(['!', '&', '*'])
            && !written.contains(char::is_whitespace);
        Some(if plain {
            Cow::Borrowed(written)
        } else {
            Cow::Owned(canonical)
        })
    }

    /// Whether the value is a scalar with no text (`null`, `~` or nothing).
    pub fn is_null(&self) -> bool {
        matches!(self.value, NodeValue::Null)
    }

    /// Follows a JSON pointer (`/steps/2/run/0`) down the tree and returns the mapping key that
    /// holds the last value, if it is held by a mapping, and the value itself.
    pub fn find(&self, pointer: &str) -> Option<(Option<&Node>, &Node)> {
        let mut key = None;
        let mut node = self;
        if pointer.is_empty() {
            return Some((None, node));
        }
        for token in pointer.strip_prefix('/')?.split('/') {
            let token = unescape_pointer_token(token);
            match &node.value {
                NodeValue::Map(entries) => {
                    let (k, v) = entries.iter().find(|(k, _)| k.as_str() == Some(&*token))?;
                    key = Some(k);
                    node = v;
                }
                NodeValue::Seq(items) => {
                    node = items.get(token.parse::<usize>().ok()?)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some((key, node))
    }

    /// The span for a diagnostic about the value at `pointer`: the value itself, or the nearest
    /// ancestor that exists (a missing key is reported on the map that lacks it).
    pub fn value_span(&self, pointer: &str) -> Span {
        self.nearest(pointer).1.span
    }

    /// The span for a diagnostic about the key at `pointer` (an unknown key), or of the value
    /// when the pointer does not end at a mapping key.
    pub fn key_span(&self, pointer: &str) -> Span {
        let (key, value) = self.nearest(pointer);
        key.map_or(value.span, |key| key.span)
    }

    fn nearest(&self, pointer: &str) -> (Option<&Node>, &Node) {
        let mut pointer = pointer;
        loop {
            if let Some(found) = self.find(pointer) {
                return found;
            }
            match pointer.rfind('/') {
                Some(at) => pointer = &pointer[..at],
                None => return (None, self),
            }
        }
    }
}

/// Appends one token to a JSON pointer, escaping `~` and `/` as RFC 6901 says.
pub(crate) fn push_pointer(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

fn unescape_pointer_token(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<NodeValue>::deserialize(deserializer)?;
        let location = spanned.referenced;
        let span = location.span();
        let to_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(Node {
            value: spanned.value,
            span: Span {
                offset: span.byte_offset().map_or(0, to_usize),
                len: span.byte_len().map_or(0, to_usize),
                line: to_usize(location.line()),
                column: to_usize(location.column()),
            },
        })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_none<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(deserializer)
    }

    fn visit_bool<E>(self, value: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(value.into()))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<NodeValue, E> {
        i64::try_from(value)
            .map(|v| NodeValue::Number(v.into()))
            .map_err(|_| E::custom("this integer is too large"))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<NodeValue, E> {
        u64::try_from(value)
            .map(|v| NodeValue::Number(v.into()))
            .map_err(|_| E::custom("this integer is too large"))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<NodeValue, E> {
        serde_json::Number::from_f64(value)
            .map(NodeValue::Number)
            .ok_or_else(|| E::custom("numbers must be finite"))
    }

    fn visit_str<E>(self, value: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<NodeValue, E> {
        Ok(NodeValue::String(value))
    }

    fn visit_bytes<E: de::Error>(self, value: &[u8]) -> Result<NodeValue, E> {
        String::from_utf8(value.to_vec())
            .map(NodeValue::String)
            .map_err(|_| E::custom("binary values must be UTF-8 text"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(NodeValue::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(NodeValue::Map(entries))
    }
}
