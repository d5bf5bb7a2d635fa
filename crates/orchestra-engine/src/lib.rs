//! The Orchestra engine: the registry of actions, and the compiler from a pipeline to a plan.
//!
//! Each action is one file in [`actions`] that declares its parameters (and, with the engine
//! issue, how it runs). [`CATALOG`] hands them to the format crate for loading and validation;
//! [`compile`] turns a valid pipeline into the [`Plan`] the scheduler will run and the studio
//! will draw.

pub mod actions;
mod compile;
mod plan;

pub use actions::{ACTIONS, BUILTIN_TOOLS, CATALOG};
pub use compile::{CompileError, compile};
pub use plan::{AutoValue, Edge, Graph, Plan, PlannedStep, RetryPolicy, Work};
