//! The lifecycle of a step: one enum and one transition function.
//!
//! ```text
//!  Pending ──ready──► Ready ──start──► Running{1} ──start──► Running{2} …
//!     │                 │                 │   │
//!     │                 │               wait  └─succeed / fail / skip / cancel──► terminal
//!     │                 │                 ▼
//!     └──skip/cancel────┴──────────► Waiting ──succeed / fail / skip / cancel──► terminal
//! ```
//!
//! A ready step may also fail before its first attempt (its templates do not render), and a
//! pending or ready step may take a result from the cache or an earlier run (`reuse`).
//!
//! Terminal states (succeeded, failed, skipped, cancelled) absorb late signals, such as a cancel
//! that arrives after the step finished; only `reset` (a loop back, or a resumed run) takes a
//! step out of them.

use serde::{Deserialize, Serialize};

/// Where a step is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StepStatus {
    /// Waiting for its dependencies, or for a route to reach it.
    Pending,
    /// About to run.
    Ready,
    /// Running an attempt.
    Running {
        /// The attempt, from 1.
        attempt: u32,
    },
    /// Waiting for a person to answer an approval.
    Waiting,
    /// Done, with a result.
    Succeeded,
    /// Done, without a result.
    Failed,
    /// Did not run.
    Skipped,
    /// Stopped before it finished.
    Cancelled,
}

impl StepStatus {
    /// Whether the step is done, one way or another.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Skipped | Self::Cancelled
        )
    }

    /// A short lowercase word for people and for templates (`{{ step.status }}`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "queued",
            Self::Running { .. } => "running",
            Self::Waiting => "waiting",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Something that moves a step along its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Its dependencies are done.
    Ready,
    /// An attempt begins.
    Start {
        /// The attempt, from 1.
        attempt: u32,
    },
    /// It waits for a person.
    Wait,
    /// It finished with a result.
    Succeed,
    /// It finished without one.
    Fail,
    /// It will not run (or its failure counts as skipped).
    Skip,
    /// The run is stopping.
    Cancel,
    /// It takes a finished result from elsewhere (the cache, or an earlier run) instead of
    /// running.
    Reuse,
    /// It starts over: a route looped back to it, or a stopped run resumed.
    Reset,
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ready => f.write_str("to be queued"),
            Self::Start { attempt } => write!(f, "to start attempt {attempt}"),
            Self::Wait => f.write_str("to wait for a person"),
            Self::Succeed => f.write_str("to succeed"),
            Self::Fail => f.write_str("to fail"),
            Self::Skip => f.write_str("to be skipped"),
            Self::Cancel => f.write_str("to be cancelled"),
            Self::Reuse => f.write_str("to take an earlier result"),
            Self::Reset => f.write_str("to start over"),
        }
    }
}

/// A signal that does not apply to the state a step is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a step that is {} cannot be told {signal}", from.as_str())]
pub struct InvalidTransition {
    /// The state the step was in.
    pub from: StepStatus,
    /// The signal.
    pub signal: Signal,
}

/// The state a step moves to on a signal.
pub fn transition(from: StepStatus, signal: Signal) -> Result<StepStatus, InvalidTransition> {
    use StepStatus::{Cancelled, Failed, Pending, Ready, Running, Skipped, Succeeded, Waiting};
    let to = match (from, signal) {
        (_, Signal::Reset) => Pending,
        // Terminal states absorb everything but a reset.
        (terminal, _) if terminal.is_terminal() => terminal,
        (Pending, Signal::Ready) => Ready,
        (Ready, Signal::Start { attempt: 1 }) => Running { attempt: 1 },
        (Running { attempt }, Signal::Start { attempt: next }) if next == attempt + 1 => {
            Running { attempt: next }
        }
        (Running { .. }, Signal::Wait) => Waiting,
        // A reused step takes its earlier run's result without running.
        (Running { .. } | Waiting, Signal::Succeed) | (Pending | Ready, Signal::Reuse) => Succeeded,
        // A step can fail before its first attempt: its templates do not render.
        (Ready | Running { .. } | Waiting, Signal::Fail) => Failed,
        (Pending | Ready | Running { .. } | Waiting, Signal::Skip) => Skipped,
        (Pending | Ready | Running { .. } | Waiting, Signal::Cancel) => Cancelled,
        (from, signal) => return Err(InvalidTransition { from, signal }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use StepStatus::{Cancelled, Failed, Pending, Ready, Running, Skipped, Succeeded, Waiting};

    fn check(from: StepStatus, signal: Signal, expected: Option<StepStatus>) {
        assert_eq!(
            transition(from, signal).ok(),
            expected,
            "{from:?} on {signal:?}"
        );
    }

    const ONE: Signal = Signal::Start { attempt: 1 };
    const TWO: Signal = Signal::Start { attempt: 2 };

    #[test]
    fn pending_steps_become_ready_or_are_skipped_or_cancelled() {
        check(Pending, Signal::Ready, Some(Ready));
        check(Pending, Signal::Skip, Some(Skipped));
        check(Pending, Signal::Cancel, Some(Cancelled));
        check(Pending, Signal::Reset, Some(Pending));
        check(Pending, ONE, None);
        check(Pending, Signal::Wait, None);
        check(Pending, Signal::Succeed, None);
        check(Pending, Signal::Fail, None);
        check(Pending, Signal::Reuse, Some(Succeeded));
    }

    #[test]
    fn ready_steps_start_their_first_attempt() {
        check(Ready, ONE, Some(Running { attempt: 1 }));
        check(Ready, TWO, None);
        check(Ready, Signal::Skip, Some(Skipped));
        check(Ready, Signal::Cancel, Some(Cancelled));
        check(Ready, Signal::Reset, Some(Pending));
        check(Ready, Signal::Ready, None);
        check(Ready, Signal::Succeed, None);
        check(Ready, Signal::Fail, Some(Failed));
        check(Ready, Signal::Wait, None);
        check(Ready, Signal::Reuse, Some(Succeeded));
    }

    #[test]
    fn running_steps_retry_in_order_wait_and_finish() {
        let running = Running { attempt: 1 };
        check(running, TWO, Some(Running { attempt: 2 }));
        check(running, Signal::Start { attempt: 3 }, None);
        check(running, ONE, None);
        check(running, Signal::Wait, Some(Waiting));
        check(running, Signal::Succeed, Some(Succeeded));
        check(running, Signal::Fail, Some(Failed));
        check(running, Signal::Skip, Some(Skipped));
        check(running, Signal::Cancel, Some(Cancelled));
        check(running, Signal::Reset, Some(Pending));
        check(running, Signal::Ready, None);
        check(running, Signal::Reuse, None);
    }

    #[test]
    fn waiting_steps_end_with_the_answer_or_a_cancel() {
        check(Waiting, Signal::Succeed, Some(Succeeded));
        check(Waiting, Signal::Fail, Some(Failed));
        check(Waiting, Signal::Skip, Some(Skipped));
        check(Waiting, Signal::Cancel, Some(Cancelled));
        check(Waiting, Signal::Reset, Some(Pending));
        check(Waiting, Signal::Ready, None);
        check(Waiting, ONE, None);
        check(Waiting, Signal::Wait, None);
        check(Waiting, Signal::Reuse, None);
    }

    #[test]
    fn terminal_states_absorb_late_signals_and_only_reset_leaves_them() {
        for terminal in [Succeeded, Failed, Skipped, Cancelled] {
            for signal in [
                Signal::Ready,
                ONE,
                TWO,
                Signal::Wait,
                Signal::Succeed,
                Signal::Fail,
                Signal::Skip,
                Signal::Cancel,
                Signal::Reuse,
            ] {
                check(terminal, signal, Some(terminal));
            }
            check(terminal, Signal::Reset, Some(Pending));
        }
    }
}
