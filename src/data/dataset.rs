//! Input distributions of learning runs: zero-mean data with a given covariance
//! Sigma (eigenvalues and a seeded random rotation, or a covariance file), or a data
//! matrix (rows = samples, Sigma = X^T X / N). Samples are drawn reproducibly.

use crate::analysis::Spectrum;
use crate::data;
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Shape of the independent unit-variance sources s in x = Phi Lambda^1/2 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Distribution {
    /// Standard normal N(0, 1); x is then Gaussian with covariance Sigma.
    Gaussian,
    /// Uniform on [-sqrt 3, sqrt 3] (sub-Gaussian).
    Uniform,
    /// Laplace with variance 1 (super-Gaussian).
    Laplace,
}

impl Distribution {
    fn draw(self, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Distribution::Gaussian => data::normal(rng),
            Distribution::Uniform => 3f64.sqrt() * (2.0 * rng.random::<f64>() - 1.0),
            Distribution::Laplace => {
                let u: f64 = rng.random::<f64>() - 0.5;
                -u.signum() * (1.0 - 2.0 * u.abs()).max(1e-300).ln() / 2f64.sqrt()
            }
        }
    }
}

/// Where samples come from.
#[derive(Debug, Clone)]
enum Sampler {
    /// x = root s with s i.i.d. unit-variance sources.
    Sources {
        root: DMatrix<f64>,
        dist: Distribution,
    },
    /// Rows of a data matrix drawn uniformly with replacement.
    Rows(DMatrix<f64>),
}

/// An input distribution with its true second moment Sigma.
#[derive(Debug, Clone)]
pub struct Dataset {
    sigma: DMatrix<f64>,
    sampler: Sampler,
}

impl Dataset {
    /// Data with covariance Phi diag(eigenvalues) Phi^T; Phi a seeded Haar-random
    /// rotation when `rotate`, the identity otherwise.
    pub fn from_eigenvalues(
        eigenvalues: &[f64],
        rotate: bool,
        dist: Distribution,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let n = eigenvalues.len();
        let phi = if rotate {
            random_orthogonal(n, rng)
        } else {
            DMatrix::identity(n, n)
        };
        let lam = DVector::from_column_slice(eigenvalues);
        let sigma = &phi * DMatrix::from_diagonal(&lam) * phi.transpose();
        let root = &phi * DMatrix::from_diagonal(&lam.map(f64::sqrt));
        Dataset {
            sigma: symmetrize(sigma),
            sampler: Sampler::Sources { root, dist },
        }
    }

    /// Gaussian data with a given covariance (symmetric positive semi-definite).
    pub fn from_covariance(sigma: DMatrix<f64>) -> Self {
        let spec = Spectrum::of(&sigma);
        let root = &spec.vectors * DMatrix::from_diagonal(&spec.values.map(|v| v.max(0.0).sqrt()));
        Dataset {
            sigma,
            sampler: Sampler::Sources {
                root,
                dist: Distribution::Gaussian,
            },
        }
    }

    /// Samples given as rows; Sigma = X^T X / N.
    pub fn from_samples(x: DMatrix<f64>) -> Self {
        let sigma = symmetrize(x.transpose() * &x / x.nrows() as f64);
        Dataset {
            sigma,
            sampler: Sampler::Rows(x),
        }
    }

    /// The true second moment Sigma = E[x x^T].
    pub fn sigma(&self) -> &DMatrix<f64> {
        &self.sigma
    }

    /// Input dimension n0.
    pub fn dim(&self) -> usize {
        self.sigma.nrows()
    }

    /// Fills the rows of `x` (b x n0) with samples.
    pub fn sample_into(&self, x: &mut DMatrix<f64>, rng: &mut ChaCha8Rng) {
        match &self.sampler {
            Sampler::Sources { root, dist } => {
                let n = root.ncols();
                let mut s = DVector::zeros(n);
                for mut row in x.row_iter_mut() {
                    for v in s.iter_mut() {
                        *v = dist.draw(rng);
                    }
                    row.copy_from(&(root * &s).transpose());
                }
            }
            Sampler::Rows(data) => {
                for mut row in x.row_iter_mut() {
                    let i = rng.random_range(0..data.nrows());
                    row.copy_from(&data.row(i));
                }
            }
        }
    }

    /// `b` fresh samples as rows.
    pub fn sample(&self, b: usize, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
        let mut x = DMatrix::zeros(b, self.dim());
        self.sample_into(&mut x, rng);
        x
    }
}

/// (M + M^T) / 2.
fn symmetrize(m: DMatrix<f64>) -> DMatrix<f64> {
    (&m + m.transpose()) * 0.5
}

/// A Haar-distributed random orthogonal matrix (QR of a Gaussian matrix with the
/// signs of R's diagonal moved into Q).
pub fn random_orthogonal(n: usize, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
    let g = DMatrix::from_fn(n, n, |_, _| data::normal(rng));
    let qr = g.qr();
    let (mut q, r) = (qr.q(), qr.r());
    for j in 0..n {
        if r[(j, j)] < 0.0 {
            let mut c = q.column_mut(j);
            c *= -1.0;
        }
    }
    q
}
