//! The studio's TypeScript bindings are generated from the Rust commands and events; this test
//! fails when the committed file no longer matches them, and rewrites it when asked with
//! `UPDATE_BINDINGS=1`.

use std::path::Path;

#[test]
fn the_committed_bindings_match_the_commands_and_events() {
    let generated = orchestra_studio::bindings().expect("the bindings export");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(orchestra_studio::BINDINGS);
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&file, &generated).expect("the bindings file is writable");
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == generated,
        "ui/src/bindings/index.ts is stale: a command or event changed in Rust. Run `UPDATE_BINDINGS=1 cargo test -p orchestra-studio --test bindings` and commit the file"
    );
}

#[test]
fn the_bindings_never_carry_a_key_value() {
    let generated = orchestra_studio::bindings().expect("the bindings export");
    // The settings page learns whether a key is set; no type the web view receives has a field
    // that could hold a key's value.
    for secret in ["api_key:", "secret:", "token:"] {
        assert!(
            !generated.contains(secret),
            "no type sent to the web view may have a `{secret}` field"
        );
    }
    assert!(
        generated.contains("key_set: boolean"),
        "the settings page learns only whether a key is set"
    );
}
