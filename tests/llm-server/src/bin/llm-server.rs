//! The protocol server as a process, for whole-process benchmarks and the studio's end-to-end
//! journeys: it answers every request with the same reply after a fixed delay, so a benchmark can
//! compare a run's time with the server's own latency, and a journey can have a model draft a
//! known pipeline. A fixture, never a provider a user can pick.
//!
//! `llm-server DELAY_MS [REPLY]` prints the base URL of its OpenAI endpoint on one line, then
//! serves until its standard input closes. The reply is `ok` unless given.

use std::io::Read;

use orchestra_llm_server::{LlmServer, Reply};

fn main() {
    let delay_ms = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(1_000);
    let text = std::env::args().nth(2).unwrap_or_else(|| "ok".to_owned());
    let server = LlmServer::start();
    server.always(Reply::Slow { text, delay_ms });
    println!("{}", server.openai_base_url());
    // The benchmark holds the pipe open while it needs the server.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(server);
}
