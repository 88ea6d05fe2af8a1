//! Seeded random streams: every random quantity of a run comes from its own stream of
//! a ChaCha8 generator seeded by the config's `seed`, so adding draws to one purpose
//! never changes another, and the numbers do not depend on threads or time.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Stream numbers of a run (see [`rng`]).
pub mod stream {
    /// Initial weights.
    pub const WEIGHTS: u64 = 1;
    /// The clamped input of perceptron runs.
    pub const INPUT: u64 = 2;
    /// Initial neuron activities.
    pub const INITIAL: u64 = 3;
    /// The dataset itself (the random rotation of the eigenbasis).
    pub const DATA: u64 = 4;
    /// Samples presented during learning.
    pub const SAMPLES: u64 = 5;
    /// The fixed evaluation / averaging sample set.
    pub const EVAL: u64 = 6;
    /// The shuffle that splits an image set into train and test images.
    pub const SPLIT: u64 = 7;
}

/// A reproducible generator for stream `stream` of a run with seed `seed`: each
/// purpose (weights, input, initial state, ...) gets its own independent stream, so
/// adding draws to one does not change the others.
pub fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Standard normal deviates from `rng` (Box-Muller, stable across crate versions).
pub fn normal(rng: &mut ChaCha8Rng) -> f64 {
    use rand::Rng;
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
