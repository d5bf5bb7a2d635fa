//! Builds the studio: Tauri's context (configuration, icons, the web UI from `ui/dist`), and the
//! bundled examples that the first launch copies into a project of the user's own.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The folders of the repository that make the example project, as they are laid out in it.
const EXAMPLE_FOLDERS: &[&str] = &["pipelines", "personalities", "prompts"];

fn main() {
    embed_examples();
    tauri_build::build();
}

/// Writes `examples.rs` into the build's output folder: every file of the example folders, as
/// `(relative path, bytes)`, read into the binary with `include_bytes!`.
fn embed_examples() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("src-tauri lies in the repository")
        .to_path_buf();
    let mut files = Vec::new();
    for folder in EXAMPLE_FOLDERS {
        let path = root.join(folder);
        println!("cargo:rerun-if-changed={}", path.display());
        collect(&path, &mut files);
    }
    files.sort();
    let mut code = String::from(
        "/// The bundled example project, file by file.\npub const EXAMPLE_FILES: &[(&str, &[u8])] = &[\n",
    );
    for file in &files {
        let relative = file.strip_prefix(&root).expect("collected under the root");
        let _ = writeln!(
            code,
            "    ({:?}, include_bytes!({:?})),",
            relative.to_string_lossy(),
            file.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("examples.rs"), code).expect("the build's output folder is writable");
}

fn collect(folder: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}
