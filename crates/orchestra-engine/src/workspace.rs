//! The folder a run's file steps work in, and the rule that they cannot leave it.

use std::path::{Component, Path, PathBuf};

/// A path a step gave that leads outside the workspace, or cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    /// The path is absolute.
    #[error("the path `{0}` is absolute; file steps use paths inside the workspace")]
    Absolute(String),
    /// The path climbs out with `..`, or through a symbolic link that points out.
    #[error("the path `{0}` leads outside the workspace")]
    Outside(String),
    /// The path is empty.
    #[error("the path is empty")]
    Empty,
}

/// The workspace: a folder, and the paths inside it.
#[derive(Clone, Debug)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// A workspace at `root`, which must exist.
    pub fn new(root: &Path) -> std::io::Result<Self> {
        Ok(Self {
            root: root.canonicalize()?,
        })
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The place of `path` (relative to the workspace) on disk, refusing a path that leaves the
    /// workspace: absolute paths, `..` that climbs above it, and symbolic links anywhere along
    /// the path that point outside it. Folders that do not exist yet are fine (a step may create
    /// them); they are checked as far as they exist.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, PathError> {
        if path.trim().is_empty() {
            return Err(PathError::Empty);
        }
        let written = Path::new(path);
        if written.has_root() || path.starts_with(['/', '\\']) || has_drive(path) {
            return Err(PathError::Absolute(path.to_owned()));
        }
        let mut inside = PathBuf::new();
        for component in written.components() {
            match component {
                Component::Normal(part) => inside.push(part),
                Component::CurDir => {}
                Component::ParentDir => {
                    if !inside.pop() {
                        return Err(PathError::Outside(path.to_owned()));
                    }
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(PathError::Absolute(path.to_owned()));
                }
            }
        }
        let full = self.root.join(&inside);
        // Follow symbolic links as far as the path exists, and make sure that still lies inside.
        let mut existing = full.as_path();
        while !existing.exists() {
            match existing.parent() {
                Some(parent) => existing = parent,
                None => break,
            }
        }
        let real = existing
            .canonicalize()
            .map_err(|_| PathError::Outside(path.to_owned()))?;
        if !real.starts_with(&self.root) {
            return Err(PathError::Outside(path.to_owned()));
        }
        Ok(full)
    }

    /// A path on disk shown relative to the workspace, with `/` separators.
    pub fn relative(&self, full: &Path) -> String {
        full.strip_prefix(&self.root)
            .unwrap_or(full)
            .to_string_lossy()
            .replace('\\', "/")
    }
}

fn has_drive(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_are_accepted_and_paths_that_leave_are_refused() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let outside = tempfile::tempdir().expect("another folder");
        std::fs::create_dir(dir.path().join("data")).expect("create data");
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path(), dir.path().join("escape"))
            .expect("create a link");
        let workspace = Workspace::new(dir.path()).expect("the workspace exists");

        assert!(workspace.resolve("data/a.csv").is_ok());
        assert!(
            workspace.resolve("new/folder/file.md").is_ok(),
            "folders may not exist yet"
        );
        assert!(
            workspace.resolve("data/../b.txt").is_ok(),
            "`..` that stays inside is fine"
        );
        assert_eq!(
            workspace.resolve("/etc/passwd"),
            Err(PathError::Absolute("/etc/passwd".into()))
        );
        assert_eq!(
            workspace.resolve("../x"),
            Err(PathError::Outside("../x".into()))
        );
        assert_eq!(
            workspace.resolve("data/../../x"),
            Err(PathError::Outside("data/../../x".into()))
        );
        assert_eq!(workspace.resolve(""), Err(PathError::Empty));
        #[cfg(unix)]
        {
            assert_eq!(
                workspace.resolve("escape/secret"),
                Err(PathError::Outside("escape/secret".into()))
            );
            assert_eq!(
                workspace.resolve("escape"),
                Err(PathError::Outside("escape".into()))
            );
        }
    }
}
