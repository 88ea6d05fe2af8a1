//! Input data of learning runs: distributions with a given covariance, covariance
//! files and sample files ([`Dataset`]), labelled image sets ([`Images`]: the 8x8
//! digits, MNIST-format IDX files), and the seeded random streams of a run
//! ([`random`]).

mod dataset;
mod images;
pub mod random;

pub use dataset::{Dataset, Distribution, random_orthogonal};
pub use images::{IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, Images};
pub use random::{normal, rng, stream};
