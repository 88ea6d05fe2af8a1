//! Multilayer LMSER at the settled state (docs/theory.md §10): the settled state is the
//! neuron ODE's steady state, the exact rule is -dJ/dW by finite differences, and for
//! one layer every reading of the slides' rule is today's one-layer rule.

use lmser::dynamics::multilayer::{
    MultiRule, SettleOptions, Stack, cosine, reconstruction_error, settle, update,
};
use lmser::dynamics::rules::{Moment, Rule, Workspace, flow};
use lmser::model::activation::Activation;
use lmser::model::network::{Network, Top};
use lmser::model::neurons::NeuronDynamics;
use lmser::solver::{Method, SolverOptions, integrate};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(rows: usize, cols: usize, scale: f64, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
    DMatrix::from_fn(rows, cols, |_, _| scale * (2.0 * rng.random::<f64>() - 1.0))
}

fn net(sizes: &[usize], scale: f64, seed: u64) -> (Vec<DMatrix<f64>>, DMatrix<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = sizes
        .windows(2)
        .map(|p| random(p[1], p[0], scale / (p[0] as f64).sqrt(), &mut rng))
        .collect();
    let x = random(sizes[0], 5, 1.0, &mut rng).map(|v| 0.5 + 0.5 * v);
    (w, x)
}

fn tight() -> SettleOptions {
    SettleOptions {
        tol: 1e-15,
        ..SettleOptions::default()
    }
}

/// J at W with z* settled again.
fn j_at(stack: &Stack, w: &[DMatrix<f64>], x: &DMatrix<f64>, target: Option<&DMatrix<f64>>) -> f64 {
    let s = settle(stack, w, x, tight()).unwrap();
    let mut j = reconstruction_error(w, &s);
    if let Some(t) = target {
        let top = s.top().rows(0, t.nrows()).into_owned();
        j += 0.5 * (t - top).norm_squared() / x.ncols() as f64;
    }
    j
}

/// Central differences of J in every weight against the exact rule. The difference
/// quotient with h = 1e-5 has truncation error ~h^2 |J'''| ~ 1e-10 and rounding
/// ~1e-16 |J| / h ~ 1e-11, and z* is settled to 1e-15, so entries agree to ~1e-9
/// against gradients of size ~1e-2: a relative error of 1e-6 over all entries is
/// three orders above the noise and far below any missing term.
fn check_exact(stack: &Stack, sizes: &[usize], seed: u64, target: Option<&DMatrix<f64>>) {
    let (w, x) = net(sizes, 1.5, seed);
    let s = settle(stack, &w, &x, tight()).unwrap();
    let exact = update(MultiRule::LmserExact, stack, &w, &s, target)
        .unwrap()
        .dw;
    let h = 1e-5;
    let mut fd = Vec::new();
    for k in 0..w.len() {
        let mut g = DMatrix::zeros(w[k].nrows(), w[k].ncols());
        for idx in 0..w[k].len() {
            let mut wp = w.clone();
            wp[k][idx] += h;
            let mut wm = w.clone();
            wm[k][idx] -= h;
            g[idx] = -(j_at(stack, &wp, &x, target) - j_at(stack, &wm, &x, target)) / (2.0 * h);
        }
        fd.push(g);
    }
    let diff: f64 = exact
        .iter()
        .zip(&fd)
        .map(|(a, b)| (a - b).norm_squared())
        .sum::<f64>()
        .sqrt();
    let size: f64 = fd.iter().map(|g| g.norm_squared()).sum::<f64>().sqrt();
    assert!(size > 1e-4, "gradient too small to test: {size:e}");
    assert!(
        diff <= 1e-6 * size,
        "exact rule vs finite differences: |diff| = {diff:e}, |grad| = {size:e}"
    );
    assert!(
        s.sweeps > 3,
        "a deep net must need top-down settling sweeps (got {})",
        s.sweeps
    );
}

#[test]
fn exact_rule_is_minus_the_gradient_of_j_through_the_settled_state() {
    check_exact(
        &Stack::uniform(Activation::Logistic, 2),
        &[6, 4, 3],
        1,
        None,
    );
    check_exact(
        &Stack::uniform(Activation::Tanh { beta: 1.0 }, 3),
        &[5, 4, 3, 2],
        2,
        None,
    );
    let mixed = Stack {
        activations: vec![Activation::Logistic, Activation::Tanh { beta: 0.7 }],
    };
    check_exact(&mixed, &[6, 5, 3], 3, None);
}

#[test]
fn exact_rule_with_a_supervised_top_is_the_gradient_of_j_plus_the_label_error() {
    let target = DMatrix::from_fn(2, 5, |i, j| ((i + j) % 2) as f64);
    check_exact(
        &Stack::uniform(Activation::Logistic, 2),
        &[6, 4, 3],
        4,
        Some(&target),
    );
}

/// The settled batch equals the steady state of the neuron ODE of the perceptron kind
/// (integrated to t = 200 tau at rtol 1e-10) sample by sample; the fixed point is
/// unique for these small weights, so both must find it to ~1e-9.
#[test]
fn settled_state_is_the_steady_state_of_the_neuron_ode() {
    let sizes = [6, 4, 3];
    let stack = Stack::uniform(Activation::Logistic, 2);
    let (w, x) = net(&sizes, 1.5, 5);
    let s = settle(&stack, &w, &x, tight()).unwrap();
    for b in 0..x.ncols() {
        let network = Network::new(
            sizes.to_vec(),
            w.clone(),
            vec![Activation::Logistic; 2],
            vec![1.0; 2],
            Top::Free,
        )
        .unwrap();
        let neurons =
            NeuronDynamics::new(network, DVector::from_column_slice(x.column(b).as_slice()));
        let z0 = neurons.feedforward();
        let opts = SolverOptions::new(Method::Dop853, 200.0)
            .rtol(1e-10)
            .atol(1e-12);
        let (z, _) = integrate(&neurons, 0.0, &z0, &opts, &mut |_, _: &[f64], _: &[f64]| {
            Ok(())
        })
        .unwrap();
        let settled: Vec<f64> = s.z[1]
            .column(b)
            .iter()
            .chain(s.z[2].column(b).iter())
            .copied()
            .collect();
        let gap = z
            .iter()
            .zip(&settled)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            gap < 1e-9,
            "sample {b}: settled vs ODE steady state differ by {gap:e}"
        );
    }
}

/// K = 1, linear units: all three rules are today's one-layer LMSER rule
/// W (x - W^T W x) x^T + W x (x - W^T W x)^T averaged over the batch, i.e.
/// 2 W C - W W^T W C - W C W^T W with C = X X^T / B (equal up to rounding).
#[test]
fn one_linear_layer_reduces_to_the_one_layer_rule() {
    let (w, x) = net(&[7, 3], 1.0, 6);
    let stack = Stack::uniform(Activation::Linear, 1);
    let s = settle(&stack, &w, &x, tight()).unwrap();
    let c = &x * x.transpose() / x.ncols() as f64;
    let mut ws = Workspace::new(3, 7);
    let mut expected = DMatrix::zeros(3, 7);
    flow(
        &Rule::lmser(),
        &w[0],
        &Moment::Matrix(&c),
        &mut ws,
        &mut expected,
    );
    for rule in [
        MultiRule::Lmser,
        MultiRule::LmserDerived,
        MultiRule::LmserExact,
    ] {
        let got = &update(rule, &stack, &w, &s, None).unwrap().dw[0];
        let err = (got - &expected).amax();
        assert!(
            err < 1e-13 * expected.amax().max(1.0),
            "{rule:?}: differs from the one-layer rule by {err:e}"
        );
    }
}

/// Deeper nets: the printed and derived readings differ from the exact gradient (the
/// price of the approximation is measurable), yet point downhill here.
#[test]
fn slides_rules_differ_from_the_exact_gradient_in_deep_nets() {
    let stack = Stack::uniform(Activation::Logistic, 3);
    let (w, x) = net(&[8, 6, 4, 3], 2.0, 7);
    let s = settle(&stack, &w, &x, tight()).unwrap();
    let exact = update(MultiRule::LmserExact, &stack, &w, &s, None)
        .unwrap()
        .dw;
    for rule in [MultiRule::Lmser, MultiRule::LmserDerived] {
        let c = cosine(&update(rule, &stack, &w, &s, None).unwrap().dw, &exact);
        assert!(c < 1.0 - 1e-6, "{rule:?} equals the gradient (cos {c})");
        assert!(c > 0.0, "{rule:?} points uphill (cos {c})");
    }
}

/// With the weights frozen (tau_w = 1e12), the neuron part of the coupled system (with
/// different time constants per layer, which Theorem 1 allows) is
/// the neuron ODE: its energy never rises (Theorem 1; steps of Dop853 at rtol 1e-10
/// move E by far less than the 1e-10 allowed) and it ends at the settled state.
#[test]
fn coupled_neurons_lower_the_energy_and_end_settled() {
    use lmser::dynamics::multilayer::CoupledNet;
    let stack = Stack::uniform(Activation::Logistic, 2);
    let (w, x) = net(&[6, 4, 3], 2.0, 8);
    let sys = CoupledNet::new(
        &stack,
        MultiRule::Lmser,
        (vec![1.0, 0.4], 1e12),
        &w,
        x.clone(),
        None,
    );
    let mut y: Vec<f64> = vec![0.5; 4 * 5 + 3 * 5];
    y.extend(w.iter().flat_map(|m| m.iter().copied()));
    let opts = SolverOptions::new(Method::Dop853, 60.0)
        .rtol(1e-10)
        .atol(1e-12)
        .output_dt(0.5);
    let mut energies = Vec::new();
    let (end, _) = integrate(&sys, 0.0, &y, &opts, &mut |_, y: &[f64], _: &[f64]| {
        energies.push(sys.energy(y));
        Ok(())
    })
    .unwrap();
    for e in energies.windows(2) {
        assert!(e[1] <= e[0] + 1e-10, "E rose from {} to {}", e[0], e[1]);
    }
    let s = settle(&stack, &w, &x, tight()).unwrap();
    let (z, _) = sys.unpack(&end);
    let gap = (&z[1] - &s.z[1]).amax().max((&z[2] - &s.z[2]).amax());
    assert!(
        gap < 1e-8,
        "coupled neurons end {gap:e} from the settled state"
    );
}

/// K = 1 with logistic units, with and without a supervised top: the printed, derived
/// and exact rules are one formula (the adjoint has no feedback to sum with one free
/// layer), so they agree to rounding.
#[test]
fn one_logistic_layer_makes_all_three_rules_equal() {
    let (w, x) = net(&[7, 4], 1.5, 9);
    let stack = Stack::uniform(Activation::Logistic, 1);
    let s = settle(&stack, &w, &x, tight()).unwrap();
    let target = DMatrix::from_fn(3, 5, |i, j| ((i + j) % 3 == 0) as u8 as f64);
    for t in [None, Some(&target)] {
        let exact = &update(MultiRule::LmserExact, &stack, &w, &s, t).unwrap().dw[0];
        for rule in [MultiRule::Lmser, MultiRule::LmserDerived] {
            let got = &update(rule, &stack, &w, &s, t).unwrap().dw[0];
            let err = (got - exact).amax();
            assert!(
                err < 1e-14 * exact.amax().max(1.0),
                "{rule:?} ({}): {err:e}",
                t.is_some()
            );
        }
    }
}
