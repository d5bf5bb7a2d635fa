//! YAML: reading a file into a tree that remembers where every value came from, and writing the
//! canonical text of a pipeline.

mod read;
mod tree;
mod write;

pub use read::MAX_FILE_BYTES;
pub(crate) use read::{decode, parse};
pub(crate) use tree::push_pointer;
pub use tree::{Node, NodeValue};
pub(crate) use write::{Style, to_yaml};
