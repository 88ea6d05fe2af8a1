//! Input data of learning runs: distributions with a given covariance, covariance
//! files and sample files ([`Dataset`]), and the seeded random streams of a run
//! ([`random`]).

mod dataset;
pub mod random;

pub use dataset::{Dataset, Distribution, random_orthogonal};
pub use random::{normal, rng, stream};
