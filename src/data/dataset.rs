//! Input distributions of learning runs: zero-mean data with a given covariance
//! Sigma (eigenvalues and a seeded random rotation, or a covariance file), or a data
//! matrix (rows = samples, Sigma = X^T X / N). Samples are drawn reproducibly.

use crate::analysis::Spectrum;
use crate::data;
use crate::linalg::{self, Op};
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::sync::OnceLock;

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

/// An input distribution with its true second moment Sigma and Sigma's spectrum.
/// Each is formed once, when first asked for, unless the constructor already has
/// it: data from eigenvalues know their spectrum (Sigma = Phi diag(lambda) Phi^T is
/// only formed on demand), a covariance is decomposed once (its square root draws
/// the samples), a data matrix forms X^T X / N on demand.
#[derive(Debug, Clone)]
pub struct Dataset {
    sigma: OnceLock<DMatrix<f64>>,
    spectrum: OnceLock<Spectrum>,
    sampler: Sampler,
}

impl Dataset {
    /// Data with covariance Phi diag(eigenvalues) Phi^T; Phi a seeded Haar-random
    /// rotation when `rotate`, the identity otherwise. The spectrum is Phi and the
    /// eigenvalues themselves (sorted, signs fixed as in [`Spectrum`]): no
    /// eigendecomposition is computed.
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
        let root = scale_columns(phi.clone(), &lam.map(f64::sqrt));
        Dataset {
            sigma: OnceLock::new(),
            spectrum: OnceLock::from(Spectrum::from_decomposition(&lam, phi)),
            sampler: Sampler::Sources { root, dist },
        }
    }

    /// Gaussian data with a given covariance (symmetric positive semi-definite):
    /// one eigendecomposition, kept as the spectrum.
    pub fn from_covariance(sigma: DMatrix<f64>) -> Self {
        let spec = Spectrum::of(&sigma);
        let root = scale_columns(
            spec.vectors.clone(),
            &spec.values.map(|v| v.max(0.0).sqrt()),
        );
        Dataset {
            sigma: OnceLock::from(sigma),
            spectrum: OnceLock::from(spec),
            sampler: Sampler::Sources {
                root,
                dist: Distribution::Gaussian,
            },
        }
    }

    /// Samples given as rows; Sigma = X^T X / N.
    pub fn from_samples(x: DMatrix<f64>) -> Self {
        Dataset {
            sigma: OnceLock::new(),
            spectrum: OnceLock::new(),
            sampler: Sampler::Rows(x),
        }
    }

    /// The true second moment Sigma = E[x x^T].
    pub fn sigma(&self) -> &DMatrix<f64> {
        self.sigma.get_or_init(|| match &self.sampler {
            Sampler::Rows(x) => symmetrize(linalg::product(x, Op::T, x, Op::N) / x.nrows() as f64),
            Sampler::Sources { .. } => {
                // Phi diag(lambda) Phi^T from the spectrum every other source has.
                let spec = self.spectrum.get().expect("set by the constructor");
                let scaled = scale_columns(spec.vectors.clone(), &spec.values);
                symmetrize(linalg::product(&scaled, Op::N, &spec.vectors, Op::T))
            }
        })
    }

    /// The eigendecomposition of Sigma (eigenvalues descending).
    pub fn spectrum(&self) -> &Spectrum {
        self.spectrum.get_or_init(|| Spectrum::of(self.sigma()))
    }

    /// Input dimension n0.
    pub fn dim(&self) -> usize {
        match &self.sampler {
            Sampler::Sources { root, .. } => root.nrows(),
            Sampler::Rows(x) => x.ncols(),
        }
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

/// M with column j scaled by d_j.
fn scale_columns(mut m: DMatrix<f64>, d: &DVector<f64>) -> DMatrix<f64> {
    for (j, mut col) in m.column_iter_mut().enumerate() {
        col *= d[j];
    }
    m
}

/// A Haar-distributed random orthogonal matrix (QR of a Gaussian matrix with the
/// signs of R's diagonal moved into Q).
pub fn random_orthogonal(n: usize, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
    let g = DMatrix::from_fn(n, n, |_, _| data::normal(rng));
    let (mut q, r_diag) = linalg::qr_square(&g);
    for j in 0..n {
        if r_diag[j] < 0.0 {
            let mut c = q.column_mut(j);
            c *= -1.0;
        }
    }
    q
}
