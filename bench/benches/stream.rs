//! Reading a streamed reply: 10,000 server-sent chunks of an OpenAI Chat Completions stream,
//! split into network-sized pieces, through the SSE parser and the stream reader that every
//! LLM step uses. The target is under 50 ms.

use std::fmt::Write;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;
use orchestra_llm::wire::{Api, Flow};

/// A stream of `chunks` text deltas, as OpenAI sends it, in 16 KB pieces.
fn stream(chunks: usize) -> Vec<bytes::Bytes> {
    let mut text = String::new();
    for at in 0..chunks {
        let _ = write!(
            text,
            "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4.1\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"word{at} \"}},\"finish_reason\":null}}]}}\n\n"
        );
    }
    text.push_str("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4.1\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":10000,\"total_tokens\":10010}}\n\ndata: [DONE]\n\n");
    text.into_bytes()
        .chunks(16 << 10)
        .map(bytes::Bytes::copy_from_slice)
        .collect()
}

fn read(pieces: &[bytes::Bytes]) -> usize {
    use eventsource_stream::Eventsource;
    futures::executor::block_on(async {
        let body = futures::stream::iter(pieces.iter().cloned().map(Ok::<_, std::io::Error>));
        let mut events = body.eventsource();
        let mut reader = Api::OpenAi.stream();
        let mut streamed = 0;
        let mut count = |piece: &str| streamed += piece.len();
        while let Some(event) = events.next().await {
            let event = event.expect("the benchmark's stream is well formed");
            if reader
                .event(&event.event, &event.data, &mut count)
                .expect("each chunk reads")
                == Flow::Done
            {
                break;
            }
        }
        let turn = reader.finish().expect("the stream is complete");
        assert_eq!(
            turn.usage.completion_tokens, 10_000,
            "the usage chunk is read"
        );
        streamed
    })
}

fn streaming(criterion: &mut Criterion) {
    let pieces = stream(10_000);
    criterion.bench_function("parse 10,000 streamed chunks", |bench| {
        bench.iter(|| read(&pieces));
    });
}

criterion_group!(benches, streaming);
criterion_main!(benches);
