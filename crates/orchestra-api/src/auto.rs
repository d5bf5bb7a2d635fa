//! `<AUTO>` values before a run: the answers a run starts with, choosing them ahead of a run
//! (what `orchestra compile` shows), and pinning them.
//!
//! A run's answers come, for each value, from the first of: a pin (a person fixed the answer in
//! `pins/<pipeline>.yaml` next to the pipeline, a file meant to be committed with it); the earlier
//! run a re-run reuses; the answer shown before (kept in `.orchestra/auto/`, so that a run uses
//! what `orchestra compile` showed); else the orchestrator model, when the run starts. Every
//! answer holds only for the instruction it answered: an edited instruction is asked afresh.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use orchestra_engine::run::auto;
use orchestra_engine::{AutoAnswer, Plan, Usage};
use orchestra_llm::Mode;
use serde::Deserialize;
use serde_json::Value;

use crate::project::{ApiError, Project, plan};

/// A pinned answer, as its file holds it.
#[derive(Debug, Deserialize)]
struct Pin {
    instruction: String,
    value: Value,
}

impl Project {
    /// The answers to a pipeline's `<AUTO>` values that are known before its run: pins, those of
    /// the run `reuse` (a re-run from a step), and those shown before.
    pub(crate) fn known_answers(
        &self,
        file: &Path,
        plan: &Plan,
        reuse: Option<&str>,
    ) -> Result<Vec<AutoAnswer>, ApiError> {
        if plan.auto.is_empty() {
            return Ok(Vec::new());
        }
        let mut known = pins(file)?;
        if let Some(run) = reuse {
            let id = self.store().run(run)?.id;
            known.extend(self.state(&id)?.auto.into_iter().map(|answer| AutoAnswer {
                source: format!("as in run {id}"),
                ..answer
            }));
        }
        known.extend(
            plan.auto
                .iter()
                .filter_map(|value| self.shown(&plan.pipeline, value)),
        );
        Ok(known)
    }

    /// Chooses every `<AUTO>` value of a pipeline as its run would, without running it: from
    /// pins and answers shown before, else by asking the orchestrator model. New answers are
    /// kept, so that the next run uses them.
    pub async fn choose_auto(&self, file: &Path) -> Result<Vec<AutoAnswer>, ApiError> {
        let (plan, _, _) = plan(self.check(file)?, self.global_dir().map(Path::to_path_buf))?;
        let known = self.known_answers(file, &plan, None)?;
        let client = self.model_client();
        let answers = auto::choose(client.as_ref(), &plan, file, &known, &mut Usage::default())
            .await
            .map_err(ApiError::Refused)?;
        self.remember(&plan.pipeline, &answers);
        Ok(answers)
    }

    /// Chooses every `<AUTO>` value of a pipeline (see [`Project::choose_auto`]) and pins the
    /// answers: every later run uses them until the pin file changes. Returns the pin file.
    pub async fn pin_auto(&self, file: &Path) -> Result<(PathBuf, Vec<AutoAnswer>), ApiError> {
        let answers = self.choose_auto(file).await?;
        let path = pin_file(file);
        let mut text = format!(
            "# The <AUTO> values of {}, pinned: every run uses these answers while the\n# instruction stays the same. Edit a value, or delete an entry to have it chosen again.\n",
            file.file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        for answer in &answers {
            let _ = write!(
                text,
                "{}.{}:\n  instruction: {}\n  value: {}\n",
                answer.step,
                answer.param,
                Value::String(answer.instruction.clone()),
                answer.value
            );
        }
        let write = || -> std::io::Result<()> {
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder)?;
            }
            std::fs::write(&path, text)
        };
        write().map_err(|error| {
            ApiError::Refused(format!("cannot write `{}`: {error}", path.display()))
        })?;
        Ok((path, answers))
    }

    /// Keeps the orchestrator model's answers, so that the next run of the pipeline uses them;
    /// answers that came from a recording are not kept. Failing to keep them loses nothing but
    /// the reuse.
    pub(crate) fn remember(&self, pipeline: &str, answers: &[AutoAnswer]) {
        if matches!(self.models(), Mode::Replay(_)) {
            return;
        }
        let folder = self.root().join(".orchestra").join("auto");
        if std::fs::create_dir_all(&folder).is_err() {
            return;
        }
        for answer in answers
            .iter()
            .filter(|answer| answer.source.starts_with("chosen by"))
        {
            if let Ok(text) = serde_json::to_string_pretty(answer) {
                let _ = std::fs::write(
                    folder.join(shown_name(
                        pipeline,
                        &answer.step,
                        &answer.param,
                        &answer.instruction,
                    )),
                    text,
                );
            }
        }
    }

    /// The answer to `value` chosen before, if it answers the same instruction.
    fn shown(&self, pipeline: &str, value: &orchestra_engine::AutoValue) -> Option<AutoAnswer> {
        let path = self.root().join(".orchestra").join("auto").join(shown_name(
            pipeline,
            &value.step,
            &value.param,
            &value.instruction,
        ));
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str::<AutoAnswer>(&text)
            .ok()
            .filter(|answer| answer.answers(value))
    }
}

/// Where the answer to one value is kept once chosen.
fn shown_name(pipeline: &str, step: &str, param: &str, instruction: &str) -> String {
    let key = orchestra_engine::sha256_hex(
        format!("{pipeline}\n{step}\n{param}\n{instruction}").as_bytes(),
    );
    format!("{key}.json")
}

/// The pin file of a pipeline: `pins/<name>.yaml` in its folder.
pub fn pin_file(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.parent()
        .unwrap_or_else(|| Path::new(""))
        .join("pins")
        .join(format!("{stem}.yaml"))
}

/// The pinned answers of a pipeline; none when it has no pin file, and a clear error when its
/// pin file cannot be read.
fn pins(file: &Path) -> Result<Vec<AutoAnswer>, ApiError> {
    let path = pin_file(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(ApiError::Refused(format!(
                "cannot read the pin file `{}`: {error}",
                path.display()
            )));
        }
    };
    let pins: IndexMap<String, Pin> = serde_saphyr::from_str(&text).map_err(|error| {
        ApiError::Refused(format!(
            "the pin file `{}` is not a map of `step.parameter` to an instruction and a value: {error}",
            path.display()
        ))
    })?;
    pins.into_iter()
        .map(|(key, pin)| {
            let (step, param) = key.split_once('.').ok_or_else(|| {
                ApiError::Refused(format!(
                    "`{key}` in the pin file `{}` should be written `step.parameter`",
                    path.display()
                ))
            })?;
            Ok(AutoAnswer {
                step: step.to_owned(),
                param: param.to_owned(),
                instruction: pin.instruction,
                value: pin.value,
                source: format!("pinned in {}", path.display()),
            })
        })
        .collect()
}
