//! `orchestra schema`

use crate::Outcome;

pub fn run() -> Outcome {
    super::print_json(&orchestra_pipeline::json_schema(&orchestra_engine::CATALOG))
}
