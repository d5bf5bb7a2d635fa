//! `orchestra schema`

use crate::Outcome;

pub fn run() -> Outcome {
    let schema = orchestra_pipeline::json_schema(&orchestra_engine::CATALOG);
    match serde_json::to_string_pretty(&schema) {
        Ok(text) => {
            anstream::println!("{text}");
            Outcome::Clean
        }
        Err(error) => {
            anstream::eprintln!("error: cannot write the schema: {error}");
            Outcome::Unusable
        }
    }
}
