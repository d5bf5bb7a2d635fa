//! Load + validate + compile of generated pipelines of 1,000 and 5,000 steps, chain and fan-out
//! shapes; and how long each kind of bad input takes to be refused. Target: 5,000 steps in
//! under 100 ms. Run with `cargo bench -p orchestra-bench`.

use std::fmt::Write;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use orchestra_bench::{Shape, generate, load_validate_compile};
use orchestra_engine::CATALOG;
use orchestra_pipeline::check_file;

fn pipelines(c: &mut Criterion) {
    let mut group = c.benchmark_group("load_validate_compile");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    for shape in [Shape::Chain, Shape::FanOut] {
        for steps in [1_000, 5_000] {
            let text = generate(shape, steps);
            group.bench_with_input(BenchmarkId::new(shape.name(), steps), &text, |b, text| {
                b.iter(|| load_validate_compile(black_box(text)));
            });
        }
    }
    group.finish();
}

/// Each bad input goes through the same path as `orchestra validate FILE`: read the file, then
/// load and validate it.
fn bad_input(c: &mut Criterion) {
    let mut group = c.benchmark_group("refuse_bad_input");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    let deep: String = (0..200).map(|depth| "  ".repeat(depth) + "k:\n").collect();
    let mut bomb = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (previous, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let aliases = vec![format!("*{previous}"); 9].join(", ");
        let _ = writeln!(bomb, "{name}: &{name} [{aliases}]");
    }
    let mut binary = b"orchestra: 1\n".to_vec();
    binary.extend((0..=255u8).cycle().take(1 << 20));
    let cases: [(&str, Vec<u8>); 9] = [
        ("empty", Vec::new()),
        ("binary", binary),
        ("invalid-utf8", b"orchestra: 1\nid: caf\xe9\n".to_vec()),
        (
            "ten-megabytes",
            "# padding padding padding padding padding\n"
                .repeat(250_000)
                .into_bytes(),
        ),
        ("nested-200", deep.into_bytes()),
        ("alias-bomb", bomb.into_bytes()),
        (
            "duplicate-key",
            b"orchestra: 1\nid: a\nid: b\nsteps: []\n".to_vec(),
        ),
        ("tab", b"orchestra: 1\nsteps:\n\t- id: a\n".to_vec()),
        ("list-for-map", b"- orchestra: 1\n- id: x\n".to_vec()),
    ];
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (name, bytes) in cases {
        let path = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, bytes).expect("write the bad input");
        group.bench_function(name, |b| {
            b.iter(|| {
                let checked =
                    check_file(black_box(&path), &CATALOG, None).expect("the file is readable");
                assert_eq!(
                    checked.report.diagnostics.len(),
                    1,
                    "{name} gives one diagnostic"
                );
                checked
            });
        });
    }
    group.finish();
}

criterion_group!(benches, pipelines, bad_input);
criterion_main!(benches);
