//! Equilibria and stability of the neuron dynamics (docs/theory.md §1.4, §1.6): where
//! Theorem 1's energy E is strongly convex the ODE settles at the fixed-point
//! iteration's limit, its unique minimiser; linear nets converge iff I - T is
//! positive definite and diverge (with an error that says why) otherwise. T, the
//! drive I and grad E are written out from the weights in tests/common/nets.rs,
//! independently of the library.

mod common;

use common::nets::{
    Kind, coupling_from_weights, grad_energy, input_vector, normal, offsets, opts, random_net, rng,
};
use lmser::Error;
use lmser::model::activation::Activation;
use lmser::model::network::{Network, Top};
use lmser::model::neurons::NeuronDynamics;
use lmser::solver::{Method, OdeSystem, StopReason, integrate};
use nalgebra::{DMatrix, DVector};

/// (c) The ODE's steady state is the fixed-point iteration's limit. On nets where
/// E is mu-strongly convex (the Hessian diag(1 / s'(s^-1(z))) - T is at least
/// diag(d_min) - T with d_min = 4 for logistic and 1/beta for tanh, so
/// mu = lambda_min(diag(d_min) - T) > 0) the minimiser z* is unique and
/// |z - z*| <= |grad E(z)| / mu for any z. Both end states are compared through that
/// bound: |z_ode - z_fp| <= (|grad E(z_ode)| + |grad E(z_fp)|) / mu + 1e-12, and the
/// bound itself must be small (< 1e-8) so the comparison has teeth.
#[test]
fn ode_steady_state_equals_fixed_point_limit() {
    let mut compared = 0;
    for seed in 0..60u64 {
        let kind = [Kind::Logistic, Kind::Tanh, Kind::Mixed][(seed % 3) as usize];
        let depth = 3 + (seed / 3 % 2) as usize;
        let (d, z0) = random_net(1000 + seed, kind, 1.2, depth, seed % 4 == 3);
        let net = d.network();
        let off = offsets(net);
        let mut m = -coupling_from_weights(net);
        for (k, &o) in off.iter().enumerate().skip(1) {
            let dmin = match net.activation(k) {
                Activation::Logistic => 4.0,
                Activation::Tanh { beta } => 1.0 / beta,
                a => panic!("unexpected {a:?}"),
            };
            for j in 0..net.sizes()[k] {
                let i = o + j;
                m[(i, i)] += dmin;
            }
        }
        let mu = m.symmetric_eigenvalues().min();
        if mu < 0.05 {
            continue; // not certifiably convex: several equilibria are possible
        }
        compared += 1;
        let mut o = opts(Method::Dopri5, 400.0, 1.0);
        o.steady_tol = 1e-12;
        let (z_ode, st) =
            integrate(&d, 0.0, &z0, &o, &mut |_: f64, _: &[f64], _: &[f64]| Ok(())).unwrap();
        assert_eq!(
            st.stop,
            StopReason::SteadyState,
            "seed {seed}: ODE not settled"
        );
        let mut o = opts(Method::FixedPoint, 5000.0, 1.0);
        o.steady_tol = 1e-13;
        let (z_fp, st) =
            integrate(&d, 0.0, &z0, &o, &mut |_: f64, _: &[f64], _: &[f64]| Ok(())).unwrap();
        assert_eq!(
            st.stop,
            StopReason::SteadyState,
            "seed {seed}: FP not settled"
        );
        let bound = (grad_energy(&d, &z_ode).norm() + grad_energy(&d, &z_fp).norm()) / mu;
        assert!(bound < 1e-8, "seed {seed}: bound {bound:e} too loose");
        let diff = DVector::from_vec(z_ode.clone()) - DVector::from_vec(z_fp.clone());
        assert!(
            diff.norm() <= bound + 1e-12,
            "seed {seed}: |z_ode - z_fp| = {:e} > {bound:e}",
            diff.norm()
        );
    }
    assert!(compared >= 20, "only {compared} strongly convex nets found");
}

/// The stacked linear system of a linear net: M = I - T and I_vec = (W_1 x, 0, ...).
fn linear_net(seed: u64, scale: f64, sizes: &[usize], tau: f64) -> NeuronDynamics {
    let mut r = rng(seed);
    let weights: Vec<DMatrix<f64>> = sizes
        .windows(2)
        .map(|w| {
            let sd = scale / (w[0] as f64).sqrt();
            DMatrix::from_fn(w[1], w[0], |_, _| sd * normal(&mut r))
        })
        .collect();
    let k = sizes.len() - 1;
    let x = DVector::from_fn(sizes[0], |_, _| normal(&mut r));
    let net = Network::new(
        sizes.to_vec(),
        weights,
        vec![Activation::Linear; k],
        vec![tau; k],
        Top::Free,
    )
    .unwrap();
    NeuronDynamics::new(net, x)
}

fn i_minus_t(d: &NeuronDynamics) -> DMatrix<f64> {
    DMatrix::identity(d.dim(), d.dim()) - coupling_from_weights(d.network())
}

/// (e) With I - T positive definite (smallest eigenvalue lambda > 0) the linear
/// net converges to z* = (I - T)^-1 I_vec: z(t) - z* = exp(-(I - T) t / tau)(z0 - z*),
/// so |z(t) - z*| <= exp(-lambda t / tau) |z0 - z*|. t_end is chosen to make that
/// <= 1e-11; with the solver error (1e-8 relative, see tests/integrators.rs) the
/// tolerance is 1e-8 (1 + |z*|). Also `linear_stability_margin` is lambda, with I - T
/// built here from the weights: up to 1e-12, as a symmetric eigensolver is backward
/// stable (eigenvalue error ~ n eps ||I - T|| ~ 1e-14 for n = 10, ||T|| ~ 1).
#[test]
fn stable_linear_net_converges_to_closed_form() {
    let mut tested = 0;
    for seed in 0..10u64 {
        let d = linear_net(300 + seed, 0.4, &[4, 5, 3, 2], 0.8);
        let m = i_minus_t(&d);
        let lambda = m.clone().symmetric_eigenvalues().min();
        assert!(lambda > 0.0, "seed {seed}: scale 0.4 should be stable");
        assert!(
            (d.linear_stability_margin().unwrap() - lambda).abs() < 1e-12,
            "linear_stability_margin disagrees with lambda_min(I - T)"
        );
        let i_vec = input_vector(&d);
        let z_star = m.clone().lu().solve(&i_vec).unwrap();
        let z0 = vec![0.3; d.dim()];
        let d0 = (DVector::from_vec(z0.clone()) - &z_star).norm();
        let t_end = 0.8 * (d0 / 1e-11).ln() / lambda;
        let mut o = opts(Method::Dopri5, t_end, t_end / 50.0);
        o.max_steps = 100_000;
        let (z, _) =
            integrate(&d, 0.0, &z0, &o, &mut |_: f64, _: &[f64], _: &[f64]| Ok(())).unwrap();
        let err = (DVector::from_vec(z) - &z_star).norm();
        assert!(
            err <= 1e-8 * (1.0 + z_star.norm()),
            "seed {seed}: |z - z*| = {err:e}"
        );
        tested += 1;
    }
    assert_eq!(tested, 10);
}

/// (e) With I - T not positive definite the state grows like exp(-lambda t / tau)
/// along the eigenvector of lambda < 0, passes the divergence bound, and
/// integrate returns Error::Diverged (never NaN), whose hint says why.
#[test]
fn unstable_linear_net_diverges() {
    let mut tested = 0;
    for seed in 0..10u64 {
        let d = linear_net(400 + seed, 3.0, &[4, 5, 3, 2], 0.8);
        let lambda = i_minus_t(&d).symmetric_eigenvalues().min();
        if lambda >= -0.05 {
            continue;
        }
        tested += 1;
        let z0 = vec![0.3; d.dim()];
        for method in [Method::Dopri5, Method::Dop853, Method::Rk4] {
            let mut o = opts(method, 2000.0, 1.0);
            o.rtol = 1e-8;
            o.step = 0.01;
            let mut last_ok = true;
            let r = integrate(&d, 0.0, &z0, &o, &mut |_: f64, z: &[f64], _: &[f64]| {
                last_ok &= z.iter().all(|v| v.is_finite());
                Ok(())
            });
            assert!(
                last_ok,
                "seed {seed} {method:?}: a non-finite state was observed"
            );
            match r {
                Err(Error::Diverged {
                    value, ref hint, ..
                }) => {
                    assert!(lmser::solver::beyond(value, o.divergence_bound), "{value}");
                    assert!(hint.contains("positive definite"), "{hint}");
                }
                other => panic!(
                    "seed {seed} {method:?}: expected Diverged, got {:?}",
                    other.map(|x| x.1)
                ),
            }
        }
    }
    assert!(tested >= 5, "only {tested} unstable nets");
}
