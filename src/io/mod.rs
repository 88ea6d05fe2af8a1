//! The edges of a run: configs in ([`config`]), numeric CSV files ([`files`]), the run
//! directory with its streamed CSV (crate-internal), the typed summary and checkpoint
//! ([`summary`]), and plots ([`plot`]).

pub mod config;
pub mod files;
pub(crate) mod output;
pub mod plot;
pub mod summary;
