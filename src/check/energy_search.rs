//! Theorem 1 adversarially: maximise dE/dt over random logistic and tanh nets (depth
//! 1-3, weights up to 1000 times the usual scale) and over their states, and compare
//! it with the rounding bound of [`NeuronDynamics::energy_rate_bound`]. dE/dt is <= 0
//! term by term in exact arithmetic (docs/theory.md §1.4), so any excess over the
//! rounding bound would be a bug.

use super::search::{Budget, Local, minimise};
use crate::data;
use crate::model::activation::Activation;
use crate::model::network::{Network, Top};
use crate::model::neurons::NeuronDynamics;
use crate::solver::OdeSystem;
use nalgebra::DVector;
use rand::Rng;

/// What the search found.
#[derive(Debug, Clone)]
pub struct EnergySearch {
    /// Largest dE/dt / B (B the rounding bound) over every evaluated state.
    pub max_ratio: f64,
    /// Largest dE/dt itself.
    pub max_rate: f64,
    /// The net where `max_ratio` was met: (activation name, depth, weight scale).
    pub worst_net: (String, usize, f64),
    pub nets: usize,
    pub evals: u64,
    pub starts: usize,
}

/// Weight scales of the searched nets (entries N(0, scale^2 / n_{k-1})).
pub const SCALES: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];

/// A random net for case `case`: logistic or tanh (beta 0.5, 1.5 or 5), depth 1-3,
/// 2-6 units per layer, per-layer tau in [0.1, 10], input N(0, 4).
fn random_case(case: u64, scale: f64) -> NeuronDynamics {
    let mut rng = data::rng(7000 + case, 1);
    let depth = 1 + (case % 3) as usize;
    let act = match case % 4 {
        0 | 2 => Activation::Logistic,
        1 => Activation::Tanh { beta: 1.5 },
        _ => Activation::Tanh {
            beta: [0.5, 5.0][(case / 4 % 2) as usize],
        },
    };
    let sizes: Vec<usize> = (0..=depth).map(|_| rng.random_range(2..=6)).collect();
    let ws = crate::experiment::random_weights(&sizes, scale, 7000 + case);
    let taus: Vec<f64> = (0..depth)
        .map(|_| 10f64.powf(rng.random_range(-1.0..=1.0)))
        .collect();
    let net =
        Network::new(sizes.clone(), ws, vec![act; depth], taus, Top::Free).expect("valid shapes");
    let x = DVector::from_fn(sizes[0], |_, _| 2.0 * data::normal(&mut rng));
    NeuronDynamics::new(net, x)
}

/// The state z_j = s(xi_j) of a parameter vector, or None on the edge of the range.
fn state(dyn_: &NeuronDynamics, xi: &[f64]) -> Option<Vec<f64>> {
    let net = dyn_.network();
    let mut z = Vec::with_capacity(xi.len());
    for k in net.free_layers() {
        let s = net.activation(k);
        let (lo, hi) = s.range();
        for j in 0..net.sizes()[k] {
            let v = s.s(j, xi[net.offset(k) + j]);
            if !(v > lo && v < hi) {
                return None;
            }
            z.push(v);
        }
    }
    Some(z)
}

/// Starts: two random, two at the fixed point of 200 odd-even sweeps from random
/// states (where dE/dt is pure rounding), and one of those perturbed by 1e-8.
fn starts(dyn_: &NeuronDynamics, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<Vec<f64>> {
    let n = dyn_.dim();
    let net = dyn_.network();
    let to_xi = |z: &[f64]| -> Vec<f64> {
        let mut xi = vec![0.0; n];
        for k in net.free_layers() {
            for j in 0..net.sizes()[k] {
                let i = net.offset(k) + j;
                xi[i] = net.activation(k).inverse(j, z[i]);
            }
        }
        xi
    };
    let mut out = Vec::new();
    for _ in 0..2 {
        out.push((0..n).map(|_| 3.0 * data::normal(rng)).collect());
    }
    for _ in 0..2 {
        let xi: Vec<f64> = (0..n).map(|_| data::normal(rng)).collect();
        if let Some(mut z) = state(dyn_, &xi) {
            for _ in 0..200 {
                dyn_.discrete_step(&mut z);
            }
            out.push(to_xi(&z));
        }
    }
    if let Some(fixed) = out.get(2).cloned() {
        out.push(fixed.iter().map(|v| v + 1e-8 * data::normal(rng)).collect());
    }
    out
}

/// Maximises dE/dt / B over `cases` random nets at each scale of [`SCALES`].
pub fn search_energy(cases: u64, budget: Budget) -> EnergySearch {
    let mut out = EnergySearch {
        max_ratio: f64::NEG_INFINITY,
        max_rate: f64::NEG_INFINITY,
        worst_net: (String::new(), 0, 0.0),
        nets: 0,
        evals: 0,
        starts: 0,
    };
    for case in 0..cases {
        for (si, &scale) in SCALES.iter().enumerate() {
            let dyn_ = random_case(case, scale);
            let rate = std::cell::Cell::new(f64::NEG_INFINITY);
            let f = |xi: &[f64]| match state(&dyn_, xi) {
                Some(z) => {
                    let (r, b) = dyn_.energy_rate_bound(&z);
                    rate.set(rate.get().max(r));
                    // dE/dt / B, with B > 0 (it holds the 1 / s'(0) floor).
                    -r / b
                }
                None => f64::NAN,
            };
            let mut rng = data::rng(8000 + case * 10 + si as u64, 1);
            let x0 = starts(&dyn_, &mut rng);
            let found = minimise(&f, &x0, budget);
            out.nets += 1;
            out.evals += found.evals;
            out.starts += found.starts;
            out.max_rate = out.max_rate.max(rate.get());
            if -found.value > out.max_ratio {
                out.max_ratio = -found.value;
                let net = dyn_.network();
                out.worst_net = (net.activation(1).name().into(), net.depth(), scale);
            }
        }
    }
    out
}

/// The budget of the energy search: Nelder-Mead, 1000 iterations per start.
pub const ENERGY_BUDGET: Budget = Budget {
    local: Local::NelderMead,
    iters: 1000,
    step: 0.5,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_matches_energy_rate_and_bound_is_positive() {
        for case in 0..8 {
            let d = random_case(case, 10.0);
            let mut rng = data::rng(case, 9);
            // Starts on the edge of the range (saturated units) are skipped by the search.
            for z in starts(&d, &mut rng).iter().filter_map(|x| state(&d, x)) {
                let (r, b) = d.energy_rate_bound(&z);
                assert_eq!(r.to_bits(), d.energy_rate(&z).to_bits());
                assert!(b > 0.0 && b.is_finite());
            }
        }
    }

    #[test]
    fn search_is_deterministic_and_stays_within_rounding() {
        let budget = Budget {
            iters: 60,
            ..ENERGY_BUDGET
        };
        let a = search_energy(3, budget);
        let b = search_energy(3, budget);
        assert_eq!(a.max_ratio.to_bits(), b.max_ratio.to_bits());
        assert_eq!(a.evals, b.evals);
        assert!(a.max_ratio <= 1.0, "{a:?}");
    }
}
