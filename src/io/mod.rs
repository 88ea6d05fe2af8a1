//! The edges of a run: configs in ([`config`]), numeric CSV files ([`files`]), the run
//! directory with its streamed CSV and summary ([`output`]), and plots ([`plot`]).

pub mod config;
pub mod files;
pub(crate) mod output;
pub mod plot;
pub mod summary;
