//! # lmser
//!
//! A simulator of LMSER self-organizing nets (L. Xu, "Least mean square error
//! reconstruction principle for self-organizing neural-nets", Neural Networks 6,
//! 627-648, 1993) as continuous-time dynamical systems: fast neuron dynamics that
//! settle to a minimum of a Lyapunov energy (Theorem 1) and slow weight dynamics that
//! minimise the reconstruction error. The mathematics is in `docs/theory.md`.
//!
//! Modules by layer:
//! - [`model`]: activations, the layered net, the neuron ODE and its energies;
//! - [`dynamics`]: learning rules and coupled neuron-weight systems (as ODE systems);
//! - [`solver`]: integrate any [`solver::OdeSystem`] with any [`solver::Method`];
//! - [`analysis`]: spectra, critical sets, Hessians, Theorem 4, alignment;
//! - [`data`]: input distributions and seeded random streams;
//! - [`io`]: configs, CSV files, run directories, plots;
//! - [`experiment`]: configs turned into runs (one module per kind);
//! - [`compare`]: the reconstruction-error table: baselines (autoencoders, RBM stacks), one optimizer, the runner;
//! - [`check`]: `lmser check`, numerical checks of every claim;
//! - [`sweep`]: a config run over a grid of values (`lmser sweep`, `lmser merge`).

#![warn(missing_docs)]

pub mod analysis;
pub mod check;
pub mod compare;
pub mod data;
pub mod dynamics;
pub mod error;
pub mod executor;
pub mod experiment;
pub mod io;
mod linalg;
pub mod model;
mod simd;
pub mod solver;
pub mod sweep;

pub use error::{Error, Result};
