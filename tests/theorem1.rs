//! Theorem 1 (docs/theory.md §1.4): along tau_k dz_k/dt = -z_k + s(h_k) the Lyapunov
//! energy E(z) = -sum_{k>=2} z_k^T W_k z_{k-1} - z_1^T W_1 x + sum int_0^z s^-1 never
//! increases; the slides' printed J_net does. (Equilibria and the stability of
//! linear nets: tests/theorem1_stability.rs.)
//!
//! The gradient of E is computed independently of the library (tests/common/nets.rs),
//! from the stacked form of docs/theory.md §1.3-§1.4: grad E = s^-1(z) - (T z + I),
//! with T assembled from the weight matrices (never `Network::coupling`, which one test
//! compares with it) and I = (W_1 x, 0, ..., W_K^T label when the top is clamped). It
//! is checked against central differences of `NeuronDynamics::energy` first.
//!
//! Tolerance of "E never increases" between consecutive outputs z_i -> z_{i+1}:
//! z_{i+1} = Phi(z_i) + d with Phi the exact flow (E(Phi(z_i)) <= E(z_i) by the
//! theorem) and d the local errors of the solver steps in that interval, so
//! E(z_{i+1}) - E(z_i) <= |grad E(z_{i+1})| |d| + O(|d|^2). Dopri5 keeps each step's
//! error estimate below rtol |z| + atol per component, i.e. below
//! sqrt(n) (rtol max|z| + atol) in the 2-norm, and an interval has at most
//! `accepted_steps` steps, so
//!     tol_i = accepted_steps sqrt(n) |grad E(z_{i+1})| (rtol max|z| + atol)
//!             + 1e-12 (1 + |E|)            (rounding of the sums in E),
//! with rtol = 1e-10, atol = 1e-12. This is generous but still ~1e-6 at most,
//! while the printed J_net rises by ~1e-3..1e-2 under the same test (part d).
//!
//! The tanh energy integral is evaluated as ((1+a) ln(1+a) + (1-a) ln(1-a)) / (2 beta)
//! (src/model/activation.rs), which has no cancellation as |z| -> 1, so the tolerance
//! above needs no allowance for it; `tanh_energy_integral_is_accurate_near_saturation`
//! checks that accuracy against independent series. (The earlier form
//! (a atanh a + ln(1 - a^2)/2) / beta cancelled: it was off by ~eps / (2 beta (1 - z^2)),
//! 1e-10 at |z| = 1 - 3e-7, where the true decrease of E per output was ~1e-15.)

mod common;

use common::nets::{ATOL, Kind, RTOL, coupling_from_weights, grad_energy, opts, random_net};
use lmser::model::activation::Activation;
use lmser::model::neurons::NeuronDynamics;
use lmser::solver::{Method, SolverOptions, integrate};

/// The 30 nets of parts (a)-(c): 3- and 4-layer, logistic, tanh and mixed, weight
/// scale 1.5..3, every third with a clamped top.
fn zoo() -> Vec<(String, NeuronDynamics, Vec<f64>)> {
    (0..30u64)
        .map(|seed| {
            let kind = [Kind::Logistic, Kind::Tanh, Kind::Mixed][(seed % 3) as usize];
            let depth = 3 + (seed / 3 % 2) as usize;
            let scale = 1.5 + 1.5 * (seed as f64 / 29.0);
            let clamp = seed % 4 == 3;
            let (d, z0) = random_net(seed, kind, scale, depth, clamp);
            let name = format!(
                "seed {seed} {kind:?} K={depth} scale {scale:.2} clamped {clamp} sizes {:?}",
                d.network().sizes()
            );
            (name, d, z0)
        })
        .collect()
}

/// Bound on the energy increase per output interval, see the module comment.
fn energy_tol(grad_norm: f64, n: usize, zmax: f64, e: f64, steps: u64) -> f64 {
    steps as f64 * (n as f64).sqrt() * grad_norm * (RTOL * zmax.max(1.0) + ATOL)
        + 1e-12 * (1.0 + e.abs())
}

/// What the observer records at one output time.
struct Sample {
    t: f64,
    z: Vec<f64>,
    e: f64,
    printed: f64,
    rate: f64,
    grad_norm: f64,
}

/// Integrates and records every output.
fn trajectory(d: &NeuronDynamics, z0: &[f64], o: &SolverOptions) -> (Vec<Sample>, u64) {
    let mut out = Vec::new();
    let mut obs = |t: f64, z: &[f64], _: &[f64]| -> lmser::Result<()> {
        out.push(Sample {
            t,
            z: z.to_vec(),
            e: d.energy(z),
            printed: d.printed_energy(z),
            rate: d.energy_rate(z),
            grad_norm: grad_energy(d, z).norm(),
        });
        Ok(())
    };
    let (_, stats) = integrate(d, 0.0, z0, o, &mut obs).unwrap();
    (out, stats.accepted_steps)
}

/// The largest increase of `f` between consecutive samples, relative to
/// [`energy_tol`] at the later sample (> 1 means a violation).
fn worst_increase(s: &[Sample], steps: u64, f: impl Fn(&Sample) -> f64) -> (f64, f64, f64) {
    let mut worst = (f64::NEG_INFINITY, 0.0, 0.0); // (ratio, increase, t)
    for w in s.windows(2) {
        let zmax = w[1].z.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let tol = energy_tol(w[1].grad_norm, w[1].z.len(), zmax, f(&w[1]), steps);
        let inc = f(&w[1]) - f(&w[0]);
        if inc / tol > worst.0 {
            worst = (inc / tol, inc, w[1].t);
        }
    }
    worst
}

// ------------------------------------------------------------------ the tests

/// Sanity of the independent gradient used for the tolerances and bounds: central
/// differences of `energy` with step 1e-6 have truncation error
/// h^2/6 |d^3E/dz^3| <= 1e-12 * 1e3 (third derivative of the logistic/tanh
/// integrals <= ~1e3 for states in the middle 90 % of the range) and rounding
/// ~1e-16 |E| / h ~ 1e-9, so 1e-6 absolute is safe.
#[test]
fn gradient_matches_finite_differences_of_energy() {
    for (name, d, z0) in zoo() {
        let g = grad_energy(&d, &z0);
        let h = 1e-6;
        for i in 0..z0.len() {
            let (mut zp, mut zm) = (z0.clone(), z0.clone());
            zp[i] += h;
            zm[i] -= h;
            let fd = (d.energy(&zp) - d.energy(&zm)) / (2.0 * h);
            assert!(
                (fd - g[i]).abs() < 1e-6 * (1.0 + g[i].abs()),
                "{name}: dE/dz_{i} = {} by differences, {} from s^-1(z) - (Tz + I)",
                fd,
                g[i]
            );
        }
    }
}

/// `Network::coupling` is the T of docs/theory.md §1.3 that the test builds from the
/// weights, on every net of the zoo (3 and 4 layers, free and clamped tops). Exact:
/// both only copy the weights' entries into place.
#[test]
fn coupling_is_the_block_tridiagonal_matrix_of_the_weights() {
    for (name, d, _) in zoo() {
        let net = d.network();
        let t = coupling_from_weights(net);
        assert!(t.amax() > 0.0, "{name}: T is zero");
        assert_eq!(net.coupling(), t, "{name}");
    }
}

/// (a) E never increases (tolerance: module comment), and falls overall. Also
/// (b) energy_rate <= 0 at every observed state: each term
/// (s^-1(z_j) - h_j)(z_j - s(h_j)) / tau_j is a product of two numbers of the same
/// sign (s increasing) that can only disagree when both are at rounding level,
/// ~1e-16 / s' and ~1e-16, so the sum is <= 1e-24.
#[test]
fn lyapunov_energy_never_increases_with_dopri5() {
    for (name, d, z0) in zoo() {
        let (s, steps) = trajectory(&d, &z0, &opts(Method::Dopri5, 20.0, 0.05));
        let (ratio, inc, t) = worst_increase(&s, steps, |x| x.e);
        assert!(
            ratio <= 1.0,
            "{name}: E rose by {inc:e} at t = {t} ({ratio:.2} x tolerance)"
        );
        for x in &s {
            assert!(
                x.rate <= 1e-24,
                "{name}: dE/dt = {:e} > 0 at t = {}",
                x.rate,
                x.t
            );
        }
        let (e0, e1) = (s[0].e, s.last().unwrap().e);
        assert!(e1 < e0, "{name}: E went from {e0} to {e1}");
    }
}

/// (b) energy_rate agrees with the time derivative of E along the trajectory. The
/// derivative is taken by the fourth-order central difference
///     D_h(t) = (-E(t+2h) + 8E(t+h) - 8E(t-h) + E(t-2h)) / 12h
/// over outputs h = 5e-3 apart. Its truncation error is h^4 |E^(5)| / 30, estimated
/// from the data by Richardson extrapolation: D_2h - D_h = 15 x (that error) to
/// leading order, so |D_h - dE/dt| <= 4 |D_2h - D_h| / 15 with a safety factor 4.
/// Noise on each E value (the solver's, energy_tol, plus rounding, see the module
/// comment) enters D_h with weight 18 / 12h and D_2h with 18 / 24h; 3 noise / h
/// covers both. The tolerance is the sum plus 1e-9 (rounding of energy_rate).
#[test]
fn energy_rate_matches_time_differences_of_energy() {
    let h = 5e-3;
    let d_h = |e: &dyn Fn(usize) -> f64, i: usize, m: usize| {
        (-e(i + 2 * m) + 8.0 * e(i + m) - 8.0 * e(i - m) + e(i - 2 * m)) / (12.0 * m as f64 * h)
    };
    for (name, d, z0) in zoo() {
        let (s, steps) = trajectory(&d, &z0, &opts(Method::Dopri5, 2.0, h));
        let max_rate = s.iter().fold(0.0f64, |m, x| m.max(x.rate.abs()));
        assert!(max_rate > 1e-3, "{name}: the trajectory does not move");
        let e = |i: usize| s[i].e;
        let noise: Vec<f64> = s
            .iter()
            .map(|x| {
                let zmax = x.z.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                energy_tol(x.grad_norm, x.z.len(), zmax, x.e, steps)
            })
            .collect();
        for i in 4..s.len() - 4 {
            let fd = d_h(&e, i, 1);
            let fd2 = d_h(&e, i, 2);
            let noise = noise[i - 4..=i + 4].iter().fold(0.0f64, |m, v| m.max(*v));
            let tol = 4.0 * (fd2 - fd).abs() / 15.0 + 3.0 * noise / h + 1e-9;
            assert!(
                (fd - s[i].rate).abs() <= tol,
                "{name}: at t = {} dE/dt = {} but differences of E give {fd} (tol {tol:e})",
                s[i].t,
                s[i].rate
            );
        }
    }
}

/// (c) The odd-even fixed-point iteration is exact block-coordinate descent on E
/// (odd layers are not coupled to each other, and E is strictly convex in each
/// z_kj with minimiser z_kj = s(h_kj)), so E never increases from sweep to sweep;
/// the only slack is rounding in E, 1e-12 (1 + |E|).
#[test]
fn fixed_point_sweeps_never_increase_energy() {
    for (name, d, z0) in zoo() {
        let mut es: Vec<f64> = Vec::new();
        let mut obs = |_: f64, z: &[f64], _: &[f64]| -> lmser::Result<()> {
            es.push(d.energy(z));
            Ok(())
        };
        integrate(
            &d,
            0.0,
            &z0,
            &opts(Method::FixedPoint, 200.0, 1.0),
            &mut obs,
        )
        .unwrap();
        assert_eq!(es.len(), 201);
        for (i, w) in es.windows(2).enumerate() {
            let (e0, e1) = (w[0], w[1]);
            assert!(
                e1 <= e0 + 1e-12 * (1.0 + e0.abs()),
                "{name}: E rose from {e0} to {e1} in sweep {}",
                i + 1
            );
        }
    }
}

/// (d) The printed J_net is not a Lyapunov function: among seeded random 4-layer
/// logistic nets (weight scale 3) one shows an increase of J_net between outputs
/// larger than the same tolerance that E always satisfies (and by a factor 100, so
/// no solver noise can explain it).
#[test]
fn printed_energy_rises_on_some_net() {
    let mut found = None;
    for seed in 0..40u64 {
        let (d, z0) = random_net(5000 + seed, Kind::Logistic, 3.0, 4, false);
        let (s, steps) = trajectory(&d, &z0, &opts(Method::Dopri5, 20.0, 0.05));
        let (ratio, inc, t) = worst_increase(&s, steps, |x| x.printed);
        // E is still monotone on the same trajectory.
        assert!(worst_increase(&s, steps, |x| x.e).0 <= 1.0);
        if ratio > 100.0 {
            found = Some((seed, inc, t));
            break;
        }
    }
    let (seed, inc, t) = found.expect("no net where the printed J_net rises");
    eprintln!(
        "printed J_net rises by {inc:e} at t = {t} on net seed {}",
        5000 + seed
    );
}

/// The library's tanh energy integral
/// I(a) = int_0^a atanh(v)/beta dv, a = |z|, against two independent series (not
/// the closed form the library evaluates), derived by hand:
/// * near a = 1, with d = 1 - a (exact in floating point for a >= 1/2, Sterbenz):
///   beta I = ((2 - d) ln(2 - d) + d ln d) / 2 and ln(2 - d) = ln 2 - S,
///   S = sum_{k>=1} (d/2)^k / k, so
///   beta I = ln 2 - (d/2) ln 2 - (1 - d/2) S + (d/2) ln d;
///   for d <= 1e-2 the terms after ln 2 are small corrections (no cancellation)
///   and S converges like 0.005^k;
/// * for a <= 0.9, integrating atanh v = sum_k v^(2k+1) / (2k+1) termwise:
///   beta I = sum_{k>=0} a^(2k+2) / ((2k+1)(2k+2)), positive terms decaying like
///   0.81^k / (4 k^2), summed smallest first.
///
/// Both are accurate to a few ulps (a handful of roundings on the leading terms), so
/// a library accurate near saturation agrees to 1e-13 relative, while the
/// cancelling form a atanh a + ln(1 - a^2)/2 is off by 8e-12 .. 4e-11 relative at
/// 1 - a = 1e-6 .. 1e-10 (measured in double precision against the same series).
/// The two series also check each other where both converge (a = 0.9, 0.95).
/// Tolerance 1e-13 relative: the series' few ulps with a margin, and 80 times below
/// the cancelling form's smallest error here (8e-12), so that form fails.
#[test]
fn tanh_energy_integral_is_accurate_near_saturation() {
    let beta = 1.3;
    let act = Activation::Tanh { beta };
    let near_one = |a: f64| {
        let d = 1.0 - a;
        let s: f64 = (1..=40).rev().map(|k| (0.5 * d).powi(k) / k as f64).sum();
        let ln2 = std::f64::consts::LN_2;
        (ln2 - 0.5 * d * ln2 - (1.0 - 0.5 * d) * s + 0.5 * d * d.ln()) / beta
    };
    let taylor = |a: f64| {
        let s: f64 = (0..2000)
            .rev()
            .map(|k| {
                let k = k as f64;
                a.powf(2.0 * k + 2.0) / ((2.0 * k + 1.0) * (2.0 * k + 2.0))
            })
            .sum();
        s / beta
    };
    // The two series agree where both converge well (a check of the derivations).
    for a in [0.9, 0.95] {
        let (x, y) = (near_one(a), taylor(a));
        assert!(
            ((x - y) / y).abs() < 1e-13,
            "series disagree at {a}: {x} vs {y}"
        );
    }
    let mut cases: Vec<(f64, f64)> = [2, 4, 6, 8, 10, 12, 14]
        .iter()
        .map(|&p| {
            let a = 1.0 - 10f64.powi(-p);
            (a, near_one(a))
        })
        .collect();
    cases.extend([0.1, 0.3, 0.6, 0.9].map(|a| (a, taylor(a))));
    let mut worst: f64 = 0.0;
    for (a, want) in cases {
        for sign in [1.0, -1.0] {
            let got = act.energy_integral(0, sign * a);
            worst = worst.max(((got - want) / want).abs());
        }
    }
    assert!(
        worst < 1e-13,
        "tanh energy integral: largest relative error {worst:e} (cancellation near |z| = 1?)"
    );
}
