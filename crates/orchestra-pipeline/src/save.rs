//! Saving: the canonical YAML text of a pipeline.
//!
//! Keys come in a fixed order, steps in the user's order, and layout last, so saving the same
//! pipeline twice writes the same bytes and moving a node in the studio changes only the
//! `layout:` lines. Comments are not kept (no YAML library keeps them through a round trip);
//! `description:` fields carry notes instead.

use crate::model::Pipeline;
use crate::yaml::{Style, to_yaml};

/// The canonical YAML text of a pipeline.
pub fn save(pipeline: &Pipeline) -> String {
    // Serializing our own types into a JSON value cannot fail: every map key is a string and no
    // serializer of ours returns an error.
    let value = serde_json::to_value(pipeline).expect("a pipeline always converts to a JSON value");
    save_value(&value)
}

/// The YAML text of a pipeline given as data in the file's own shape (what the studio edits),
/// written with the same layout as [`save`]. The value need not be a valid pipeline: reading the
/// text back reports what is wrong with it, where.
pub fn save_value(value: &serde_json::Value) -> String {
    to_yaml(value, &style)
}

/// The sections and records that read best one entry per line; everything else goes on one line
/// when it is short.
fn style(path: &[&str]) -> Style {
    // Every top-level section that is a collection (inputs, defaults, …, layout) is a block.
    let block = match path {
        [] | [_] | ["agents", _] | ["workspace", "tools"] | ["layout", "nodes" | "notes"] => true,
        _ => is_step(path) || is_step_list(path),
    };
    if block { Style::Block } else { Style::Auto }
}

/// `steps` at the top, or the `steps` of a step's body.
fn is_step_list(path: &[&str]) -> bool {
    match path {
        ["steps"] => true,
        [parent @ .., "steps"] => is_step(parent),
        _ => false,
    }
}

/// An item of a step list.
fn is_step(path: &[&str]) -> bool {
    matches!(path, [parent @ .., "-"] if is_step_list(parent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_their_bodies_are_blocks_but_their_values_are_not() {
        assert_eq!(style(&[]), Style::Block);
        assert_eq!(style(&["steps", "-"]), Style::Block);
        assert_eq!(style(&["steps", "-", "steps", "-"]), Style::Block);
        assert_eq!(style(&["steps", "-", "run"]), Style::Auto);
        assert_eq!(
            style(&["steps", "-", "body", "steps"]),
            Style::Auto,
            "a parameter named steps is data"
        );
        assert_eq!(style(&["inputs", "base"]), Style::Auto);
    }
}
