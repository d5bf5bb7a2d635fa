//! Where named prompt layers, personalities and agent files are found.
//!
//! A name is looked up next to the pipeline first, then in the project, then in the user's
//! global folder; the first file found wins, so a project can override a global personality and
//! a pipeline can override its project's.

use std::path::{Path, PathBuf};

use crate::model::{Agent, Pipeline, Step, StepBody};

/// File extensions a prompt layer may have, in the order they are tried.
const LAYER_EXTENSIONS: &[&str] = &["md", "yaml", "yml"];
/// File extensions an agent file may have.
const AGENT_EXTENSIONS: &[&str] = &["yaml", "yml"];
/// Files or folders that mark the root of a project.
const PROJECT_MARKERS: &[&str] = &["orchestra.yaml", ".orchestra", ".git"];

/// The folders a pipeline's named files are looked up in.
#[derive(Clone, Debug)]
pub struct Library {
    pipeline_dir: PathBuf,
    project_dir: Option<PathBuf>,
    global_dir: Option<PathBuf>,
}

impl Library {
    /// A library with explicit folders: the pipeline's own folder, the project's root and the
    /// user's global folder.
    pub fn new(
        pipeline_dir: PathBuf,
        project_dir: Option<PathBuf>,
        global_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            pipeline_dir,
            project_dir,
            global_dir,
        }
    }

    /// The library of a pipeline file: its folder, the nearest enclosing folder that holds
    /// `orchestra.yaml`, `.orchestra/` or `.git` as the project, and `global_dir`.
    pub fn for_pipeline(pipeline_file: &Path, global_dir: Option<PathBuf>) -> Self {
        let pipeline_dir = pipeline_file
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let absolute = std::path::absolute(&pipeline_dir).unwrap_or_else(|_| pipeline_dir.clone());
        let project_dir = absolute
            .ancestors()
            .find(|dir| {
                PROJECT_MARKERS
                    .iter()
                    .any(|marker| dir.join(marker).exists())
            })
            .map(Path::to_path_buf);
        Self {
            pipeline_dir,
            project_dir,
            global_dir,
        }
    }

    /// The folder of the pipeline file.
    pub fn pipeline_dir(&self) -> &Path {
        &self.pipeline_dir
    }

    /// The folders searched for a prompt layer or personality, in order.
    pub fn layer_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![
            self.pipeline_dir.clone(),
            self.pipeline_dir.join("personalities"),
            self.pipeline_dir.join("prompts"),
        ];
        for root in self.project_dir.iter().chain(&self.global_dir) {
            dirs.push(root.join("personalities"));
            dirs.push(root.join("prompts"));
        }
        dirs
    }

    /// The folders searched for an agent file, in order.
    pub fn agent_dirs(&self) -> Vec<PathBuf> {
        std::iter::once(&self.pipeline_dir)
            .chain(&self.project_dir)
            .chain(&self.global_dir)
            .map(|root| root.join("agents"))
            .collect()
    }

    /// The file of a prompt layer or personality, if one exists.
    pub fn find_layer(&self, name: &str) -> Option<PathBuf> {
        find(&self.layer_dirs(), name, LAYER_EXTENSIONS)
    }

    /// The file of an agent, if one exists.
    pub fn find_agent(&self, name: &str) -> Option<PathBuf> {
        find(&self.agent_dirs(), name, AGENT_EXTENSIONS)
    }

    /// The pipeline with every agent its steps name from an agent file added under `agents:`,
    /// so that the steps get the agent's settings. An agent the pipeline defines itself wins.
    pub fn with_agent_files(&self, pipeline: &Pipeline) -> Result<Pipeline, String> {
        let mut names = Vec::new();
        agent_names(&pipeline.steps, &mut names);
        let mut pipeline = pipeline.clone();
        for name in names {
            if pipeline.agents.contains_key(&name) {
                continue;
            }
            let Some(path) = self.find_agent(&name) else {
                // Validation reports an agent found nowhere.
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|error| {
                format!(
                    "the agent file `{}` cannot be read: {error}",
                    path.display()
                )
            })?;
            let agent: Agent = serde_saphyr::from_str(&text).map_err(|error| {
                format!("the agent file `{}` is not valid: {error}", path.display())
            })?;
            pipeline.agents.insert(name, agent);
        }
        Ok(pipeline)
    }

    /// A path written in the pipeline, relative to the pipeline's folder.
    pub fn resolve(&self, path: &str) -> PathBuf {
        self.pipeline_dir.join(path)
    }
}

/// The agents that steps name, in the order they appear, through every body.
fn agent_names(steps: &[Step], names: &mut Vec<String>) {
    for step in steps {
        match &step.body {
            StepBody::Action { params, .. } => {
                if let Some(name) = params.get("agent").and_then(|value| value.as_str())
                    && !names.iter().any(|known| known == name)
                {
                    names.push(name.to_owned());
                }
            }
            StepBody::ForEach { steps, .. } | StepBody::Loop { steps, .. } => {
                agent_names(steps, names);
            }
        }
    }
}

fn find(dirs: &[PathBuf], name: &str, extensions: &[&str]) -> Option<PathBuf> {
    // A name is a plain file name; one with a separator or `..` could reach outside the folders.
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return None;
    }
    dirs.iter()
        .flat_map(|dir| {
            extensions
                .iter()
                .map(move |ext| dir.join(format!("{name}.{ext}")))
        })
        .find(|path| path.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_are_found_next_to_the_pipeline_before_the_project_and_the_global_folder() {
        let root = tempfile::tempdir().expect("a temporary folder");
        let project = root.path().join("project");
        let pipelines = project.join("pipelines");
        let global = root.path().join("global");
        for dir in [
            &pipelines,
            &project.join("personalities"),
            &global.join("personalities"),
            &global.join("prompts"),
        ] {
            std::fs::create_dir_all(dir).expect("create test folders");
        }
        std::fs::write(project.join("orchestra.yaml"), "").expect("write the project marker");
        std::fs::write(project.join("personalities/skeptical.md"), "project")
            .expect("write a layer");
        std::fs::write(global.join("personalities/skeptical.md"), "global").expect("write a layer");
        std::fs::write(global.join("prompts/teacher.yaml"), "global").expect("write a layer");
        std::fs::write(pipelines.join("local.md"), "local").expect("write a layer");

        let library = Library::for_pipeline(&pipelines.join("review.yaml"), Some(global.clone()));
        let found = |name| {
            library
                .find_layer(name)
                .map(|path| std::fs::read_to_string(path).unwrap_or_default())
        };
        assert_eq!(
            found("skeptical").as_deref(),
            Some("project"),
            "the project overrides the global folder"
        );
        assert_eq!(
            found("teacher").as_deref(),
            Some("global"),
            "the global folder is searched last"
        );
        assert_eq!(
            found("local").as_deref(),
            Some("local"),
            "a file next to the pipeline is found"
        );
        assert_eq!(found("missing"), None);
        assert_eq!(
            found("../project/personalities/skeptical"),
            None,
            "names cannot climb out"
        );
    }
}
