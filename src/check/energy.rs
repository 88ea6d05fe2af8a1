//! Theorem 1 on random logistic and tanh nets: E never rises along the neuron
//! dynamics; the slides' printed J_net does (docs/theory.md §1.4-§1.5).

use super::energy_search::{ENERGY_BUDGET, search_energy};
use super::{CheckRow, Verdict, row};
use crate::data;
use crate::error::Result;
use crate::model::activation::Activation;
use crate::model::network::{Network, Top};
use crate::model::neurons::NeuronDynamics;
use crate::solver::{self, Method, SolverOptions};
use nalgebra::DVector;

/// A random net with the given activation (weights N(0, scale^2/n_{k-1})).
fn random_net(sizes: &[usize], act: Activation, scale: f64, seed: u64) -> (Network, DVector<f64>) {
    let ws = crate::experiment::random_weights(sizes, scale, seed);
    let k = sizes.len() - 1;
    let net = Network::new(sizes.to_vec(), ws, vec![act; k], vec![1.0; k], Top::Free)
        .expect("valid shapes");
    let mut rng = data::rng(seed, 2);
    let x = DVector::from_fn(sizes[0], |_, _| data::normal(&mut rng));
    (net, x)
}

/// Largest increase of E and of the printed J_net over one neuron trajectory.
fn energy_increases(
    net: Network,
    x: DVector<f64>,
    opts: &SolverOptions,
) -> Result<(f64, f64, f64)> {
    let dyn_ = NeuronDynamics::new(net, x);
    let z0 = dyn_
        .feedforward()
        .iter()
        .map(|v| 0.5 * v + 0.25)
        .collect::<Vec<_>>();
    let (mut le, mut lp, mut ie, mut ip, mut scale) = (f64::NAN, f64::NAN, 0.0f64, 0.0f64, 1.0f64);
    let mut obs = |_t: f64, z: &[f64], _dz: &[f64]| -> Result<()> {
        let (e, p) = (dyn_.energy(z), dyn_.printed_energy(z));
        ie = ie.max(e - le);
        ip = ip.max(p - lp);
        scale = scale.max(e.abs());
        (le, lp) = (e, p);
        Ok(())
    };
    solver::integrate(&dyn_, 0.0, &z0, opts, &mut obs)?;
    Ok((ie, ip, scale))
}

/// Random nets per weight scale in the adversarial search of dE/dt.
pub const ADVERSARIAL_CASES: u64 = 40;

/// Theorem 1 on random logistic and tanh nets: rows for E and for the printed J_net.
pub fn theorem1(nets: u64) -> Result<Vec<CheckRow>> {
    let mut opts = SolverOptions::new(Method::Dopri5, 20.0);
    opts.rtol = 1e-10;
    opts.atol = 1e-12;
    opts.output_dt = 0.02;
    let (mut max_e, mut max_p, mut rises, mut tol) = (0.0f64, 0.0f64, 0, 0.0f64);
    for seed in 0..nets {
        let act = if seed % 2 == 0 {
            Activation::Logistic
        } else {
            Activation::Tanh { beta: 1.5 }
        };
        let sizes = if seed % 3 == 0 {
            vec![6, 5, 4, 3]
        } else {
            vec![5, 4, 3]
        };
        let (net, x) = random_net(&sizes, act, 2.5, 1000 + seed);
        let (ie, ip, scale) = energy_increases(net, x, &opts)?;
        let t = 1e-9 * scale;
        tol = tol.max(t);
        max_e = max_e.max(ie);
        max_p = max_p.max(ip);
        if ip > t {
            rises += 1;
        }
    }
    let adv = search_energy(ADVERSARIAL_CASES, ENERGY_BUDGET);
    Ok(vec![
        row(
            "theorem1-energy",
            "the perceptron phase settles to a minimum of an energy",
            format!(
                "largest increase of E along trajectories of {nets} random logistic/tanh nets: {max_e:.2e} (tolerance {tol:.1e}, rtol 1e-10); adversarial: largest dE/dt / B (B its rounding bound, docs/theory.md §1.4) over {} nets (logistic, tanh beta 0.5-5, depth 1-3, weight scales 1-1000) and their states: {:.3e} (largest dE/dt {:.3e}, on a {} net of depth {} at weight scale {}); Nelder-Mead, {} iterations per start, {} starts, {} evaluations",
                adv.nets,
                adv.max_ratio,
                adv.max_rate,
                adv.worst_net.0,
                adv.worst_net.1,
                adv.worst_net.2,
                ENERGY_BUDGET.iters,
                adv.starts,
                adv.evals
            ),
            if max_e <= tol && adv.max_ratio <= 1.0 {
                Verdict::Holds
            } else {
                Verdict::Fails
            },
            true,
        )
        .key("max dE/dt / rounding", adv.max_ratio, Some(1.0)),
        row(
            "theorem1-printed-energy",
            "J_net as printed (eqn 3) is that energy",
            format!("printed J_net rose on {rises} of {nets} nets, by up to {max_p:.2e}"),
            if rises == 0 {
                Verdict::Holds
            } else {
                Verdict::Fails
            },
            false,
        )
        .key("largest rise of J_net", max_p, Some(tol)),
    ])
}
