//! `orchestra schema`

use crate::Outcome;

pub fn run(personality: bool) -> Outcome {
    if personality {
        return super::print_json(&orchestra_api::layer_schema());
    }
    super::print_json(&orchestra_pipeline::json_schema(&orchestra_engine::CATALOG))
}
