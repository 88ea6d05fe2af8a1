//! A seed sweep in Rust, with no config file: averaged LMSER on a 6-dimensional
//! Gaussian input from 20 random starts W0 ~ N(0, 0.1^2 / n0), recording for each seed
//! when the rows first span the principal subspace (subspace error below 1e-3) and
//! the final J against its predicted minimum 1/2 (tr Sigma - lambda_1 - lambda_2 -
//! lambda_3).
//!
//! Run it with `cargo run --release --example seed_sweep`.

use lmser::data::{Dataset, Distribution, rng};
use lmser::executor::Metrics;
use lmser::experiment::learning::{InitialWeights, LearningSpec, simulate};

fn main() -> lmser::Result<()> {
    let eigenvalues = [5.0, 3.0, 2.0, 1.0, 0.5, 0.25];
    let dataset =
        Dataset::from_eigenvalues(&eigenvalues, true, Distribution::Gaussian, &mut rng(7, 4));
    let j_min = 0.5 * eigenvalues[3..].iter().sum::<f64>();
    println!("seed  t(subspace error < 1e-3)  final J       J - J_min");
    for seed in 1..=20u64 {
        let w0 = InitialWeights::Random { n1: 3, scale: 0.1 };
        let spec = LearningSpec::builder(dataset.clone(), w0, 40.0)
            .seed(seed)
            .rtol(1e-9)
            .atol(1e-12)
            .build()?;
        let mut reached = f64::NAN;
        let mut last_j = f64::NAN;
        simulate(&spec, &mut |m: &Metrics| {
            if reached.is_nan() && m.value("subspace_error") < 1e-3 {
                reached = m.t();
            }
            last_j = m.value("J");
            Ok(())
        })?;
        println!(
            "{seed:>4}  {reached:>24.2}  {last_j:<12.6}  {:.1e}",
            last_j - j_min
        );
    }
    Ok(())
}
