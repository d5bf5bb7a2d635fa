//! Writes a generated pipeline to standard output, for the whole-process benchmarks in
//! `bench/run`: `generate SHAPE STEPS WORK [CONCURRENCY]`, where SHAPE is `chain`, `fan-out` or
//! `parallel` (no dependencies at all), and WORK is `echo`, `noop`, `10kb` or `nap`.

use orchestra_bench::{Shape, Work, generate_work};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let steps: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1_000);
    let work = match args.get(2).map(String::as_str) {
        Some("echo") => Work::Echo,
        Some("10kb") => Work::TenKilobytes,
        Some("nap") => Work::Nap,
        _ => Work::Noop,
    };
    let mut text = match args.first().map(String::as_str) {
        Some("fan-out") => generate_work(Shape::FanOut, steps, work),
        Some("parallel") => generate_work(Shape::Parallel, steps, work),
        _ => generate_work(Shape::Chain, steps, work),
    };
    if let Some(limit) = args.get(3) {
        text = text.replacen(
            "steps:\n",
            &format!("limits:\n  concurrency: {limit}\nsteps:\n"),
            1,
        );
    }
    print!("{text}");
}
