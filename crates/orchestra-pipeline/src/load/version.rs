//! The format version: files from older versions are migrated, newer ones are refused.

use crate::diagnostic::{Code, Diagnostic};
use crate::load::reader::Reader;
use crate::model::FORMAT_VERSION;
use crate::yaml::{Node, NodeValue};

/// A step from one format version to the next: `migrate_vN_to_vN+1`, rewriting the YAML tree in
/// place (so that diagnostics still point into the file as written).
pub type Migration = fn(&mut Node);

/// The migrations from each older version, oldest first: entry `i` turns version `i + 1` into
/// version `i + 2`. Version 1 is the first version, so there are none yet.
const MIGRATIONS: &[Migration] = &[];

/// Checks the `orchestra:` version of a document and migrates it to the current version.
/// Returns `None` when the document cannot be read as the current version at all.
pub(super) fn check(reader: &mut Reader<'_>, tree: Node) -> Option<Node> {
    let Some(entries) = tree.as_map() else {
        reader.wrong_type(
            &tree,
            "",
            "a pipeline file",
            "a map with `orchestra: 1`, `id` and `steps`",
        );
        return None;
    };
    let Some((_, node)) = entries
        .iter()
        .find(|(key, _)| key.as_str() == Some("orchestra"))
    else {
        reader.report(
            Diagnostic::error(
                Code::MissingVersion,
                "",
                "the file does not say which format version it is written in",
            )
            .at(reader.source.span(0, 0))
            .with_help("add `orchestra: 1` as the first line"),
        );
        // Read it as the current version anyway, so that every other problem is shown too.
        return Some(tree);
    };
    let version = match &node.value {
        NodeValue::Number(number) => number.as_u64(),
        _ => None,
    };
    match version {
        Some(version) if version == u64::from(FORMAT_VERSION) => Some(tree),
        Some(version) if version > u64::from(FORMAT_VERSION) => {
            reader.report(
                Diagnostic::error(
                    Code::UnsupportedVersion,
                    "/orchestra",
                    format!(
                        "this file is written in format version {version}, but this Orchestra \
                         reads versions up to {FORMAT_VERSION}"
                    ),
                )
                .at(node.span)
                .with_help("update Orchestra to open this file"),
            );
            None
        }
        Some(0) => {
            reader.error(
                Code::UnsupportedVersion,
                node,
                "/orchestra",
                "format versions start at 1",
            );
            None
        }
        Some(version) => {
            let from = u32::try_from(version).unwrap_or(FORMAT_VERSION);
            Some(migrate(tree, from, MIGRATIONS))
        }
        None => {
            reader.wrong_type(node, "/orchestra", "`orchestra`", "the format version, `1`");
            Some(tree)
        }
    }
}

/// Applies the migrations from version `from` to the newest, in order.
pub fn migrate(mut tree: Node, from: u32, migrations: &[Migration]) -> Node {
    let first = usize::try_from(from.saturating_sub(1)).unwrap_or(usize::MAX);
    for migration in migrations.iter().skip(first) {
        migration(&mut tree);
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;
    use crate::yaml::parse;

    /// A migration as a later version would write one: version 1 called `depends_on` `after`.
    fn rename_after(tree: &mut Node) {
        if let NodeValue::Map(entries) = &mut tree.value {
            for (key, value) in entries.iter_mut() {
                if key.as_str() == Some("orchestra") {
                    value.value = NodeValue::Number(2.into());
                }
                if key.as_str() == Some("after") {
                    key.value = NodeValue::String("depends_on".into());
                }
            }
        }
    }

    #[test]
    fn migrations_run_from_the_file_version_onwards() {
        let source = Source::new("old.yaml", "orchestra: 1\nafter: [a]\n");
        let tree = parse(&source).expect("the test document is valid YAML");
        let migrated = migrate(tree.clone(), 1, &[rename_after]);
        assert!(
            migrated.find("/depends_on").is_some(),
            "version 1 must be migrated to version 2"
        );
        assert_eq!(
            migrated.find("/depends_on").map(|(_, v)| v.span),
            tree.find("/after").map(|(_, v)| v.span),
            "a migrated value keeps its place in the file"
        );
        let untouched = migrate(tree.clone(), 2, &[rename_after]);
        assert_eq!(
            untouched, tree,
            "a file already at version 2 is not migrated again"
        );
    }
}
