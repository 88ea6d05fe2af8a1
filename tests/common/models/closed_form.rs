//! Closed-form test problems:
//! * `linear_net`: a one-layer linear LMSER net, tau dz/dt = -z + W x, whose state
//!   relaxes as z(t) = W x + (z0 - W x) exp(-(t - t0)/tau);
//! * `relax`: y' = 1 - y, y(t) = 1 + (y0 - 1) exp(-(t - t0)) -- the problem on which
//!   ode_solvers' dense output is 2.4 % off at t_end = 10 with dx = 1 (docs/numerics.md §2);
//! * `oscillator`: y1' = y2, y2' = -w^2 y1 (norm preserving, so errors accumulate);
//! * `forced`: y' = cos t started at t0 = 1.5 (non-autonomous: checks the driver hands
//!   the right t to the right-hand side);
//! * `kaps(eps)`: Kaps' problem y1' = -(2 + 1/eps) y1 + y2^2/eps,
//!   y2' = y1 - y2 - y2^2, y(0) = (1, 1), solved by y1 = e^-2t, y2 = e^-t for every
//!   eps (a closed form at any stiffness; the fast eigenvalue is ~ -1/eps).

use super::{Class, Model, Span};
use lmser::model::activation::Activation;
use lmser::model::network::{Network, Top};
use lmser::model::neurons::NeuronDynamics;
use lmser::solver::{OdeSystem, SplitSystem};
use nalgebra::{DMatrix, DVector};

/// Tolerances of the closed-form problems' spans.
pub const CLOSED_FORM_RTOL: f64 = 1e-10;
pub const CLOSED_FORM_ATOL: f64 = 1e-12;
/// RK4's step on the closed-form problems.
pub const CLOSED_FORM_RK4_STEP: f64 = 0.01;

/// The three output grids every closed-form problem is run on: one where output_dt
/// divides the span, one where the last interval is shorter, and a long one.
fn closed_form_spans() -> Vec<Span> {
    [(2.0, 0.25), (2.55, 0.1), (10.0, 1.0)]
        .into_iter()
        .map(|(span, dt)| Span {
            class: Class::NonStiff,
            t_end: span,
            output_dt: dt,
            rtol: CLOSED_FORM_RTOL,
            atol: CLOSED_FORM_ATOL,
            rk4_step: CLOSED_FORM_RK4_STEP,
            references: Vec::new(),
        })
        .collect()
}

/// Shifts the spans of a model that starts at t0 (span lengths are relative).
fn shifted(mut spans: Vec<Span>, t0: f64) -> Vec<Span> {
    for s in &mut spans {
        s.t_end += t0;
    }
    spans
}

/// Deterministic pseudo-random numbers for the weights of the test nets.
fn normals(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = lmser::data::rng(seed, 99);
    (0..n).map(|_| lmser::data::normal(&mut rng)).collect()
}

/// The ODE of a one-layer linear net with the state of a plain `NeuronDynamics`.
pub fn linear_net(n0: usize, n1: usize, tau: f64, seed: u64) -> Model {
    let w = DMatrix::from_vec(n1, n0, normals(seed, n0 * n1));
    let x = DVector::from_vec(normals(seed + 1000, n0));
    let z0: Vec<f64> = normals(seed + 2000, n1);
    let wx = &w * &x;
    let net = Network::new(
        vec![n0, n1],
        vec![w],
        vec![Activation::Linear],
        vec![tau],
        Top::Free,
    )
    .unwrap();
    let sys = NeuronDynamics::new(net, x);
    let (a, b) = (wx.as_slice().to_vec(), z0.clone());
    let d0 = z0
        .iter()
        .zip(wx.as_slice())
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max);
    Model {
        name: "linear_net",
        sys: Box::new(sys),
        t0: 0.0,
        y0: z0,
        exact: Some(Box::new(move |t| {
            a.iter()
                .zip(&b)
                .map(|(w, z)| w + (z - w) * (-t / tau).exp())
                .collect()
        })),
        // Each component is the scalar problem y' = -(y - c)/tau. RK4 multiplies
        // y - c by R(x) = 1 - x + x^2/2 - x^3/6 + x^4/24, x = h/tau, per step; the
        // exact flow by e^-x. |e^-x - R(x)| <= x^5/120 (alternating series) and
        // 0 < R, e^-x <= 1 for 0 < x <= 1, so after n = t/h steps
        // |error| <= n x^5 / 120 |z0 - c| = (t/tau) x^4 / 120 |z0 - c|.
        rk4_bound: Some(Box::new(move |t, h| {
            (t / tau) * (h / tau).powi(4) / 120.0 * d0
        })),
        fixed_point: Some(wx.as_slice().to_vec()),
        error_scale: None,
        spans: closed_form_spans(),
    }
}

/// y' = 1 - y.
pub struct Relax;
impl OdeSystem for Relax {
    fn dim(&self) -> usize {
        1
    }
    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        dy[0] = 1.0 - y[0];
    }
}

pub fn relax() -> Model {
    let y0 = -2.0;
    Model {
        name: "relax",
        sys: Box::new(Relax),
        t0: 0.0,
        y0: vec![y0],
        exact: Some(Box::new(move |t| vec![1.0 + (y0 - 1.0) * (-t).exp()])),
        // The linear_net bound with tau = 1.
        rk4_bound: Some(Box::new(move |t, h| {
            t * h.powi(4) / 120.0 * (y0 - 1.0f64).abs()
        })),
        fixed_point: None,
        error_scale: None,
        spans: closed_form_spans(),
    }
}

/// y1' = y2, y2' = -w^2 y1.
pub struct Oscillator {
    w: f64,
}
impl OdeSystem for Oscillator {
    fn dim(&self) -> usize {
        2
    }
    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        dy[0] = y[1];
        dy[1] = -self.w * self.w * y[0];
    }
}

pub fn oscillator() -> Model {
    let w = 2.0;
    let (a, b) = (0.7, -1.3); // y1(0), y2(0)
    Model {
        name: "oscillator",
        sys: Box::new(Oscillator { w }),
        t0: 0.0,
        y0: vec![a, b],
        exact: Some(Box::new(move |t| {
            vec![
                a * (w * t).cos() + b / w * (w * t).sin(),
                -a * w * (w * t).sin() + b * (w * t).cos(),
            ]
        })),
        // In u = y1 + i y2 / w the flow is u -> e^{-i theta} u per step (theta = w h)
        // and RK4 is u -> R(-i theta) u; |R(i theta)| <= 1 for theta <= 2.8 and
        // |e^{i theta} - R(i theta)| = |sum_{k>=5} (i theta)^k / k!|
        //   <= theta^5 / 120 / (1 - theta / 6) <= theta^5 / 100 for theta <= 1.
        // After n = t/h steps |du| <= n theta^5 / 100 |u0|; |dy1| <= |du|,
        // |dy2| <= w |du|.
        rk4_bound: Some(Box::new(move |t, h| {
            let theta = w * h;
            let u0 = (a * a + b * b / (w * w)).sqrt();
            w.max(1.0) * (t / h).ceil() * theta.powi(5) / 100.0 * u0
        })),
        fixed_point: None,
        // y1 = u0 cos(w t + phi), y2 = -w u0 sin(w t + phi), u0 = |y1 + i y2 / w|.
        error_scale: Some({
            let u0 = (a * a + b * b / (w * w)).sqrt();
            vec![u0, w * u0]
        }),
        spans: closed_form_spans(),
    }
}

/// y' = cos t.
pub struct Forced;
impl OdeSystem for Forced {
    fn dim(&self) -> usize {
        1
    }
    fn rhs(&self, t: f64, _y: &[f64], dy: &mut [f64]) {
        dy[0] = t.cos();
    }
}

pub fn forced() -> Model {
    let (t0, y0) = (1.5, 0.25);
    Model {
        name: "forced",
        sys: Box::new(Forced),
        t0,
        y0: vec![y0],
        exact: Some(Box::new(move |t| vec![y0 + t.sin() - t0.sin()])),
        // For y' = f(t) RK4 is Simpson's rule on each step: error
        // h^5 / 2880 |f''''| <= h^5 / 2880 per step, (t - t0) h^4 / 2880 in all.
        rk4_bound: Some(Box::new(move |t, h| (t - t0) * h.powi(4) / 2880.0)),
        fixed_point: None,
        error_scale: None,
        spans: shifted(closed_form_spans(), t0),
    }
}

/// Kaps' problem with stiffness parameter eps.
pub struct Kaps {
    pub eps: f64,
}
impl OdeSystem for Kaps {
    fn dim(&self) -> usize {
        2
    }
    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        dy[0] = -(2.0 + 1.0 / self.eps) * y[0] + y[1] * y[1] / self.eps;
        dy[1] = y[0] - y[1] - y[1] * y[1];
    }
    fn jacobian(&self, _t: f64, y: &[f64], j: &mut nalgebra::DMatrix<f64>) -> bool {
        j[(0, 0)] = -(2.0 + 1.0 / self.eps);
        j[(0, 1)] = 2.0 * y[1] / self.eps;
        j[(1, 0)] = 1.0;
        j[(1, 1)] = -1.0 - 2.0 * y[1];
        true
    }
    fn autonomous(&self) -> bool {
        true
    }
    fn as_split(&self) -> Option<&dyn SplitSystem> {
        Some(self)
    }
}

/// Kaps' problem split for the IMEX method: y1 (the stiff one) fast with its whole
/// right-hand side g = -(2 + 1/eps) y1 + y2^2 / eps, affine in y1 with
/// J_I = -(2 + 1/eps); y2 slow.
impl SplitSystem for Kaps {
    fn n_fast(&self) -> usize {
        1
    }
    fn rhs_implicit(&self, _t: f64, y: &[f64], g: &mut [f64]) {
        g[0] = -(2.0 + 1.0 / self.eps) * y[0] + y[1] * y[1] / self.eps;
    }
    fn rhs_explicit(&self, _t: f64, y: &[f64], fe: &mut [f64]) {
        fe[0] = 0.0;
        fe[1] = y[0] - y[1] - y[1] * y[1];
    }
    fn solve_implicit(&self, hg: f64, r: &mut [f64]) {
        r[0] /= 1.0 + hg * (2.0 + 1.0 / self.eps);
    }
    fn implicit_is_linear(&self) -> bool {
        true
    }
}

/// Kaps' problem: non-stiff (eps = 1, every method on the closed-form grids) or
/// stiff (eps = 1e-6 and 1e-10, implicit methods over [0, 10] with outputs every 1).
pub fn kaps(eps: f64) -> Model {
    let spans = if eps >= 0.1 {
        closed_form_spans()
    } else {
        vec![Span {
            class: Class::Stiff,
            t_end: 10.0,
            output_dt: 1.0,
            rtol: CLOSED_FORM_RTOL,
            atol: CLOSED_FORM_ATOL,
            rk4_step: f64::NAN,
            references: Vec::new(),
        }]
    };
    Model {
        name: if eps >= 0.1 {
            "kaps(eps=1)"
        } else if eps >= 1e-8 {
            "kaps(eps=1e-6)"
        } else {
            "kaps(eps=1e-10)"
        },
        sys: Box::new(Kaps { eps }),
        t0: 0.0,
        y0: vec![1.0, 1.0],
        exact: Some(Box::new(|t| vec![(-2.0 * t).exp(), (-t).exp()])),
        rk4_bound: None,
        fixed_point: None,
        error_scale: None,
        spans,
    }
}
