//! Test problems of the integrators, after diffsol's `test_models`: each model is an
//! [`OdeSystem`] with its start and its reference solution -- a closed form, or
//! reference values at stated times -- and the spans (output grids and tolerances)
//! on which the methods are run. The harness that runs them is in
//! tests/integrators.rs.
//!
//! Closed forms:
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
//!
//! The standard stiff test set (IVP test set, Mazzia & Magherini, Bari 2008, after
//! Hairer & Wanner, Solving ODEs II): ROBER, VDPOL (eps = 1e-6, Hairer's scaling),
//! HIRES and OREGO, each with the published reference value at the end time of the
//! test set. Shorter spans (for the explicit methods) and intermediate times carry
//! values computed with SciPy 1.17 Radau (analytic Jacobian) at rtol = 1e-12,
//! integrated to each time as a step end point; tests/common/reference_values.py
//! recomputes all of them and prints how far Radau, LSODA and (on the short spans)
//! DOP853 agree. Radau reproduces every published end value to 12.4 - 14.5
//! significant digits and agrees with LSODA to >= 9.4 and with DOP853 to >= 11.8
//! digits, so computed values are trusted to [`COMPUTED_REF_RTOL`] and published
//! ones to [`PUBLISHED_REF_RTOL`] (relative, per component); the harness adds that
//! uncertainty to its bound. Values quoted in other solvers' test suites agree with
//! Radau's to their printed digits: ROBER y(40) = 0.7158270687, 9.185534764e-6,
//! 0.2841637457, and OREGO every 30 time units (e.g. y(30) = 1.000661467180497,
//! 1512.778937348249, 10358.54312767229).

// Reference values are typed exactly as published or as printed (%.16e) by
// reference_values.py, so they can be compared digit by digit with their sources.
#![allow(clippy::excessive_precision)]

use lmser::model::activation::Activation;
use lmser::model::network::{Network, Top};
use lmser::model::neurons::NeuronDynamics;
use lmser::solver::OdeSystem;
use nalgebra::{DMatrix, DVector};

/// Relative uncertainty of a published IVP-test-set value (computed in extended
/// precision; SciPy's Radau at rtol 1e-12 reproduces them to >= 12.4 digits).
pub const PUBLISHED_REF_RTOL: f64 = 1e-12;
/// Relative uncertainty of a value computed with SciPy's Radau at rtol 1e-12: it
/// reproduces the published values to >= 12.4 digits and DOP853's values to >= 11.8;
/// LSODA, the least accurate of the three, agrees to >= 9.4 digits. 1e-10 is 100
/// times Radau's error against the published values (and 1e-2 of the smallest
/// bound the harness derives from it, K rtol = 1e-8).
pub const COMPUTED_REF_RTOL: f64 = 1e-10;

/// y(t) in closed form.
pub type Exact = Box<dyn Fn(f64) -> Vec<f64>>;
/// A rigorous bound on max_i |y_i(t) - exact_i(t)| for RK4 with step <= h: (t, h).
pub type Rk4Bound = Box<dyn Fn(f64, f64) -> f64>;

/// Which methods a span is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Every method (explicit ones included): not stiff over this span.
    NonStiff,
    /// Only the implicit (Rosenbrock) methods.
    Stiff,
}

/// A reference value y(t), with its relative uncertainty per component.
#[derive(Debug, Clone)]
pub struct RefPoint {
    pub t: f64,
    pub y: Vec<f64>,
    pub rel_uncertainty: f64,
}

/// One run of a model: from its start to `t_end` with outputs every `output_dt`.
pub struct Span {
    pub class: Class,
    pub t_end: f64,
    pub output_dt: f64,
    /// Tolerances of the adaptive methods.
    pub rtol: f64,
    pub atol: f64,
    /// RK4's fixed step on this span.
    pub rk4_step: f64,
    /// Reference values at output times (models without a closed form).
    pub references: Vec<RefPoint>,
}

/// A test problem.
pub struct Model {
    pub name: &'static str,
    pub sys: Box<dyn OdeSystem>,
    pub t0: f64,
    pub y0: Vec<f64>,
    /// The exact solution, when there is one (checked at every output time).
    pub exact: Option<Exact>,
    /// A rigorous RK4 error bound, when one is derived (else the harness bounds
    /// RK4's error by Richardson extrapolation).
    pub rk4_bound: Option<Rk4Bound>,
    /// The limit of the discrete map after one sweep, when the system has one.
    pub fixed_point: Option<Vec<f64>>,
    /// Amplitudes of the components, for a flow that rotates errors from one
    /// component into another (a conservative oscillator): a local error controlled
    /// relative to |y_j| is later seen in y_i, also where y_i passes through 0, so
    /// the harness measures component i relative to max(|y_i|, scale_i). None:
    /// relative to |y_i| itself.
    pub error_scale: Option<Vec<f64>>,
    pub spans: Vec<Span>,
}

/// An [`OdeSystem`] behind a reference to a trait object (the driver takes a sized
/// type); every method delegates.
pub struct Dyn<'a>(pub &'a dyn OdeSystem);

impl OdeSystem for Dyn<'_> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn rhs(&self, t: f64, y: &[f64], dy: &mut [f64]) {
        self.0.rhs(t, y, dy)
    }
    fn discrete_step(&self, y: &mut [f64]) -> bool {
        self.0.discrete_step(y)
    }
    fn autonomous(&self) -> bool {
        self.0.autonomous()
    }
    fn state_name(&self, i: usize) -> String {
        self.0.state_name(i)
    }
    fn divergence_hint(&self) -> String {
        self.0.divergence_hint()
    }
}

impl Model {
    /// The system as a sized [`OdeSystem`] for the driver.
    pub fn system(&self) -> Dyn<'_> {
        Dyn(&*self.sys)
    }
}

// ------------------------------------------------------------ closed-form problems

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
    fn autonomous(&self) -> bool {
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

// ------------------------------------------------------------ the stiff test set

fn computed(t: f64, y: &[f64]) -> RefPoint {
    RefPoint {
        t,
        y: y.to_vec(),
        rel_uncertainty: COMPUTED_REF_RTOL,
    }
}

fn published(t: f64, y: &[f64]) -> RefPoint {
    RefPoint {
        t,
        y: y.to_vec(),
        rel_uncertainty: PUBLISHED_REF_RTOL,
    }
}

/// ROBER (Robertson's chemical kinetics):
/// y1' = -0.04 y1 + 1e4 y2 y3, y2' = 0.04 y1 - 1e4 y2 y3 - 3e7 y2^2, y3' = 3e7 y2^2,
/// y(0) = (1, 0, 0) over [0, 1e11].
pub struct Rober;
impl OdeSystem for Rober {
    fn dim(&self) -> usize {
        3
    }
    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let (a, b, c) = (0.04 * y[0], 1e4 * y[1] * y[2], 3e7 * y[1] * y[1]);
        dy[0] = -a + b;
        dy[1] = a - b - c;
        dy[2] = c;
    }
    fn autonomous(&self) -> bool {
        true
    }
}

pub fn rober() -> Model {
    Model {
        name: "ROBER",
        sys: Box::new(Rober),
        t0: 0.0,
        y0: vec![1.0, 0.0, 0.0],
        exact: None,
        rk4_bound: None,
        fixed_point: None,
        error_scale: None,
        spans: vec![
            // [0, 40]: the classical span; y2 peaks at 3.6e-5 near t = 4e-3 and the
            // fast eigenvalue grows to ~ -3.4e3, so explicit steps are held near
            // 1e-3: ~4e4 steps, cheap. atol 1e-14 resolves y2 to ~1e-9 relative.
            Span {
                class: Class::NonStiff,
                t_end: 40.0,
                output_dt: 0.4,
                rtol: 1e-10,
                atol: 1e-14,
                rk4_step: 5e-4,
                references: vec![
                    computed(
                        0.4,
                        &[
                            9.8517211386098968e-01,
                            3.3863953789749096e-05,
                            1.4794022185220372e-02,
                        ],
                    ),
                    computed(
                        4.0,
                        &[
                            9.0551867858425406e-01,
                            2.2404756875602334e-05,
                            9.4458916658869990e-02,
                        ],
                    ),
                    computed(
                        40.0,
                        &[
                            7.1582706871940405e-01,
                            9.1855347645577643e-06,
                            2.8416374574582987e-01,
                        ],
                    ),
                ],
            },
            // [0, 1e11] in ONE output interval, as in the test set (y2 ends at 8e-14,
            // so atol must be below it: 1e-20). Before the Rosenbrock driver's
            // underflow test scaled with |t| (Hairer's form), this run failed with a
            // false "step size underflow" at t = 7e-5.
            Span {
                class: Class::Stiff,
                t_end: 1e11,
                output_dt: 1e11,
                rtol: 1e-8,
                atol: 1e-20,
                rk4_step: f64::NAN,
                references: vec![published(
                    1e11,
                    &[
                        0.2083340149701255e-07,
                        0.8333360770334713e-13,
                        0.9999999791665050,
                    ],
                )],
            },
        ],
    }
}

/// VDPOL, van der Pol's equation in Hairer's scaling: y1' = y2,
/// y2' = ((1 - y1^2) y2 - y1) / eps, eps = 1e-6, y(0) = (2, 0) over [0, 2].
pub struct Vdpol {
    pub eps: f64,
}
impl OdeSystem for Vdpol {
    fn dim(&self) -> usize {
        2
    }
    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        dy[0] = y[1];
        dy[1] = ((1.0 - y[0] * y[0]) * y[1] - y[0]) / self.eps;
    }
    fn autonomous(&self) -> bool {
        true
    }
}

pub fn vdpol() -> Model {
    Model {
        name: "VDPOL",
        sys: Box::new(Vdpol { eps: 1e-6 }),
        t0: 0.0,
        y0: vec![2.0, 0.0],
        exact: None,
        rk4_bound: None,
        fixed_point: None,
        error_scale: None,
        spans: vec![
            // [0, 0.002]: the initial layer (y2 falls to -2/3 within ~1e-6) and the
            // start of the slow branch; the fast eigenvalue -(y1^2 - 1)/eps ~ -3e6
            // holds explicit steps near 1e-6, ~500 per output interval (Dopri5's
            // stiffness test, every 1000 steps of an interval, stays quiet).
            Span {
                class: Class::NonStiff,
                t_end: 0.002,
                output_dt: 0.0005,
                rtol: 1e-10,
                atol: 1e-12,
                rk4_step: 5e-7,
                references: vec![
                    computed(0.001, &[1.9993333705063068e+00, -6.6703712317325770e-01]),
                    computed(0.002, &[1.9986661477528807e+00, -6.6740849530093982e-01]),
                ],
            },
            // [0, 2]: two jumps of the relaxation oscillation (near t = 0.81, 1.62).
            Span {
                class: Class::Stiff,
                t_end: 2.0,
                output_dt: 0.5,
                rtol: 1e-8,
                atol: 1e-8,
                rk4_step: f64::NAN,
                references: vec![
                    computed(0.5, &[1.5967689510526575e+00, -1.0303911878393652e+00]),
                    computed(1.0, &[-1.8636462548081365e+00, 7.5354308654354152e-01]),
                    computed(1.5, &[-1.3547459194866081e+00, 1.6217887275973872e+00]),
                    published(2.0, &[0.1706167732170483e+01, -0.8928097010247975e+00]),
                ],
            },
        ],
    }
}

/// HIRES (Schaefer's high irradiance responses of photomorphogenesis), 8 equations,
/// y(0) = (1, 0, 0, 0, 0, 0, 0, 0.0057) over [0, 321.8122].
pub struct Hires;
impl OdeSystem for Hires {
    fn dim(&self) -> usize {
        8
    }
    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        dy[0] = -1.71 * y[0] + 0.43 * y[1] + 8.32 * y[2] + 0.0007;
        dy[1] = 1.71 * y[0] - 8.75 * y[1];
        dy[2] = -10.03 * y[2] + 0.43 * y[3] + 0.035 * y[4];
        dy[3] = 8.32 * y[1] + 1.71 * y[2] - 1.12 * y[3];
        dy[4] = -1.745 * y[4] + 0.43 * y[5] + 0.43 * y[6];
        dy[5] = -280.0 * y[5] * y[7] + 0.69 * y[3] + 1.71 * y[4] - 0.43 * y[5] + 0.69 * y[6];
        dy[6] = 280.0 * y[5] * y[7] - 1.81 * y[6];
        dy[7] = -dy[6];
    }
    fn autonomous(&self) -> bool {
        true
    }
}

pub fn hires() -> Model {
    Model {
        name: "HIRES",
        sys: Box::new(Hires),
        t0: 0.0,
        y0: vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0057],
        exact: None,
        rk4_bound: None,
        fixed_point: None,
        error_scale: None,
        spans: vec![
            Span {
                class: Class::NonStiff,
                t_end: 10.0,
                output_dt: 1.0,
                rtol: 1e-10,
                atol: 1e-14,
                rk4_step: 1e-3,
                references: vec![
                    computed(
                        1.0,
                        &[
                            2.5549269297154442e-01,
                            5.6908789086531887e-02,
                            1.9458074977094834e-02,
                            4.5851946967112317e-01,
                            2.0147739125070393e-02,
                            1.8228795775951992e-01,
                            5.4990812724203929e-03,
                            2.0091872757959842e-04,
                        ],
                    ),
                    computed(
                        5.0,
                        &[
                            3.1651675704569310e-02,
                            6.4815495310581702e-03,
                            4.5834510647472845e-03,
                            8.9743232735180270e-02,
                            1.6245145375265585e-01,
                            6.8504389614443306e-01,
                            5.6467003419205363e-03,
                            5.3299658079452306e-05,
                        ],
                    ),
                    computed(
                        10.0,
                        &[
                            8.3247354692365834e-03,
                            1.6526725080012960e-03,
                            1.4103426593078507e-03,
                            1.7433224297452286e-02,
                            1.8572046406524503e-01,
                            7.4941662215535887e-01,
                            5.6512533418250910e-03,
                            4.8746658174894425e-05,
                        ],
                    ),
                ],
            },
            Span {
                class: Class::Stiff,
                t_end: 321.8122,
                output_dt: 321.8122,
                rtol: 1e-10,
                atol: 1e-14,
                rk4_step: f64::NAN,
                references: vec![published(
                    321.8122,
                    &[
                        0.7371312573325668e-3,
                        0.1442485726316185e-3,
                        0.5888729740967575e-4,
                        0.1175651343283149e-2,
                        0.2386356198831331e-2,
                        0.6238968252742796e-2,
                        0.2849998395185769e-2,
                        0.2850001604814231e-2,
                    ],
                )],
            },
        ],
    }
}

/// OREGO (the Oregonator, Field-Noyes model of the Belousov-Zhabotinskii reaction):
/// y1' = 77.27 (y2 + y1 (1 - 8.375e-6 y1 - y2)), y2' = (y3 - (1 + y1) y2) / 77.27,
/// y3' = 0.161 (y1 - y3), y(0) = (1, 2, 3) over [0, 360].
pub struct Orego;
impl OdeSystem for Orego {
    fn dim(&self) -> usize {
        3
    }
    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        dy[0] = 77.27 * (y[1] + y[0] * (1.0 - 8.375e-6 * y[0] - y[1]));
        dy[1] = (y[2] - (1.0 + y[0]) * y[1]) / 77.27;
        dy[2] = 0.161 * (y[0] - y[2]);
    }
    fn autonomous(&self) -> bool {
        true
    }
}

pub fn orego() -> Model {
    let every_30 = [
        [
            1.0006614671804968e+00,
            1.5127789373482372e+03,
            1.0358543127672396e+04,
        ],
        [
            1.0008746251996257e+00,
            1.1443369723844946e+03,
            8.3721499666247595e+01,
        ],
        [
            1.0018903684387506e+00,
            5.2999262322955246e+02,
            1.6622795790424332e+00,
        ],
        [
            1.0041180226126456e+00,
            2.4383260799103351e+02,
            1.0088222240486471e+00,
        ],
        [
            1.0089954166340611e+00,
            1.1216643886625377e+02,
            1.0077832290653188e+00,
        ],
        [
            1.0197634725372979e+00,
            5.1597613229475357e+01,
            1.0169857789563714e+00,
        ],
        [
            1.0439850885274740e+00,
            2.3734420275315266e+01,
            1.0376918435445133e+00,
        ],
        [
            1.1008490716679222e+00,
            1.0915338054690205e+01,
            1.0858319698108565e+00,
        ],
        [
            1.2491021300206193e+00,
            5.0139451786054456e+00,
            1.2083266262378742e+00,
        ],
        [
            1.7797247519371016e+00,
            2.2818523855424040e+00,
            1.6137540236717232e+00,
        ],
        [
            1.0008893269035111e+00,
            1.1254385857465679e+03,
            1.6410494837772028e+04,
        ],
    ];
    let mut long: Vec<RefPoint> = every_30
        .iter()
        .enumerate()
        .map(|(k, y)| computed(30.0 * (k + 1) as f64, y))
        .collect();
    long.push(published(
        360.0,
        &[
            0.1000814870318523e+01,
            0.1228178521549917e+04,
            0.1320554942846706e+03,
        ],
    ));
    Model {
        name: "OREGO",
        sys: Box::new(Orego),
        t0: 0.0,
        y0: vec![1.0, 2.0, 3.0],
        exact: None,
        rk4_bound: None,
        fixed_point: None,
        error_scale: None,
        spans: vec![
            Span {
                class: Class::NonStiff,
                t_end: 0.5,
                output_dt: 0.25,
                rtol: 1e-10,
                atol: 1e-12,
                rk4_step: 1e-4,
                references: vec![
                    computed(
                        0.25,
                        &[
                            2.0089580734417498e+00,
                            1.9905762999529784e+00,
                            2.9587053898770121e+00,
                        ],
                    ),
                    computed(
                        0.5,
                        &[
                            2.0190771046670561e+00,
                            1.9807250019540352e+00,
                            2.9214371405409825e+00,
                        ],
                    ),
                ],
            },
            Span {
                class: Class::Stiff,
                t_end: 360.0,
                output_dt: 30.0,
                rtol: 1e-8,
                atol: 1e-8,
                rk4_step: f64::NAN,
                references: long,
            },
        ],
    }
}

/// Every model, in the order the harness runs them.
pub fn all() -> Vec<Model> {
    let mut v: Vec<Model> = (0..3).map(|seed| linear_net(5, 3, 0.7, seed)).collect();
    v.push(linear_net(12, 8, 1.9, 7));
    v.extend([
        relax(),
        oscillator(),
        forced(),
        kaps(1.0),
        kaps(1e-6),
        kaps(1e-10),
        rober(),
        vdpol(),
        hires(),
        orego(),
    ]);
    v
}
