//! # lmser
//!
//! A simulator of LMSER self-organizing nets (L. Xu, "Least mean square error
//! reconstruction principle for self-organizing neural-nets", Neural Networks 6,
//! 627-648, 1993) as continuous-time dynamical systems: fast neuron dynamics that
//! settle to a minimum of a Lyapunov energy (Theorem 1) and slow weight dynamics that
//! minimise the reconstruction error.
//!
//! Modules follow the mathematics: [`activation`] (s, s', s^-1, energy integral),
//! [`network`] (layers and weights), [`neurons`] (the perceptron-phase ODE and its
//! energies), [`solver`] (integration and observers), [`experiment`] (configs and
//! runs), [`output`] (CSV, summaries, plots).

pub mod activation;
pub mod analysis;
pub mod check;
pub mod config;
pub mod coupled;
pub mod data;
pub mod dataset;
pub mod error;
pub mod experiment;
pub mod learning;
pub mod network;
pub mod neurons;
pub mod output;
pub mod plot;
pub mod solver;

pub use error::{Error, Result};
