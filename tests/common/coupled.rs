//! The one-layer linear net of the coupled-learning tests (coupled.rs,
//! coupled_samples.rs): its data set, random weights, gains and solver options.

use lmser::data;
use lmser::data::{Dataset, Distribution};
use lmser::solver::{Method, SolverOptions};
use nalgebra::{DMatrix, DVector};

pub const N0: usize = 4;
pub const N1: usize = 2;
pub const EIGENVALUES: [f64; N0] = [4.0, 2.0, 1.0, 0.5];

pub fn dataset(seed: u64) -> Dataset {
    let mut rng = data::rng(seed, 1);
    Dataset::from_eigenvalues(&EIGENVALUES, true, Distribution::Gaussian, &mut rng)
}

pub fn random_matrix(r: usize, c: usize, scale: f64, seed: u64) -> DMatrix<f64> {
    let mut rng = data::rng(seed, 2);
    DMatrix::from_fn(r, c, |_, _| scale * data::normal(&mut rng))
}

pub fn gains() -> DVector<f64> {
    DVector::from_vec(vec![1.5, 1.0])
}

pub fn opts(method: Method, t_end: f64, outputs: f64, rtol: f64, atol: f64) -> SolverOptions {
    let mut o = SolverOptions::new(method, t_end);
    o.output_dt = t_end / outputs;
    o.rtol = rtol;
    o.atol = atol;
    o
}

pub fn rel(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    (a - b).norm() / b.norm().max(1e-300)
}
