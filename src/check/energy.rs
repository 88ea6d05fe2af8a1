//! Theorem 1 on random logistic and tanh nets: E never rises along the neuron
//! dynamics; the slides' printed J_net does (docs/theory.md §1.4-§1.5).

use super::energy_search::{ENERGY_BUDGET, search_energy};
use super::{CheckRow, Verdict, row};
use crate::data;
use crate::error::Result;
use crate::executor::{Executor, OdeStepper};
use crate::experiment::observers::{EnergyVerdict, Theorem1Verdict};
use crate::experiment::perceptron::EnergyProbe;
use crate::model::activation::Activation;
use crate::model::network::{Network, Top};
use crate::model::neurons::NeuronDynamics;
use crate::solver::{Method, SolverOptions};
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

/// Relative tolerance of a rise of E (rounding at rtol 1e-10; the perceptron kind's
/// rule for adaptive runs, max(10 rtol, 1e-9)).
const RISE_TOL: f64 = 1e-9;

/// The Theorem 1 verdict over one neuron trajectory: the perceptron kind's own
/// stepper, probe and tracker (each rise of E and of the printed J_net against
/// RISE_TOL max(1, |value|) at its time).
fn energy_verdict(net: Network, x: DVector<f64>, opts: &SolverOptions) -> Result<Theorem1Verdict> {
    let dynamics = NeuronDynamics::new(net, x);
    let z0 = dynamics
        .feedforward()
        .iter()
        .map(|v| 0.5 * v + 0.25)
        .collect::<Vec<_>>();
    let stepper = OdeStepper::new(&dynamics, 0.0, &z0, opts, EnergyProbe::new(&dynamics))?;
    let mut verdict = EnergyVerdict::new(RISE_TOL);
    let (_, outcome) = Executor::new(stepper).observe(&mut verdict).run();
    outcome?;
    Ok(verdict.verdict())
}

/// Random nets per weight scale in the adversarial search of dE/dt.
pub const ADVERSARIAL_CASES: u64 = 40;

/// Theorem 1 on random logistic and tanh nets: rows for E and for the printed J_net.
pub fn theorem1(nets: u64) -> Result<Vec<CheckRow>> {
    let mut opts = SolverOptions::new(Method::Dopri5, 20.0);
    opts.rtol = 1e-10;
    opts.atol = 1e-12;
    opts.output_dt = 0.02;
    let (mut max_e, mut max_p, mut max_p_rel) = (0.0f64, 0.0f64, 0.0f64);
    let (mut e_rises, mut rises) = (0, 0);
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
        let v = energy_verdict(net, x, &opts)?;
        max_e = max_e.max(v.e.max_increase);
        max_p = max_p.max(v.printed.max_increase);
        max_p_rel = max_p_rel.max(v.printed.max_relative_increase);
        e_rises += usize::from(!v.e.monotone);
        rises += usize::from(!v.printed.monotone);
    }
    let adv = search_energy(ADVERSARIAL_CASES, ENERGY_BUDGET);
    Ok(vec![
        row(
            "theorem1-energy",
            "the perceptron phase settles to a minimum of an energy",
            format!(
                "largest increase of E along trajectories of {nets} random logistic/tanh nets: {max_e:.2e} (a rise counts above {RISE_TOL:.0e} max(1, |E|) at its time; rtol 1e-10); adversarial: largest dE/dt / B (B its rounding bound, docs/theory.md §1.4) over {} nets (logistic, tanh beta 0.5-5, depth 1-3, weight scales 1-1000) and their states: {:.3e} (largest dE/dt {:.3e}, on a {} net of depth {} at weight scale {}); Nelder-Mead, {} iterations per start, {} starts, {} evaluations",
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
            if e_rises == 0 && adv.max_ratio <= 1.0 {
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
            format!(
                "printed J_net rose on {rises} of {nets} nets, by up to {max_p:.2e} ({max_p_rel:.2e} relative to max(1, |J_net|) then)"
            ),
            if rises == 0 {
                Verdict::Holds
            } else {
                Verdict::Fails
            },
            false,
        )
        .key("max relative rise of J_net", max_p_rel, Some(RISE_TOL)),
    ])
}
