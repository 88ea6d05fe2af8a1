//! Test problems of the integrators, after diffsol's `test_models`: each model is an
//! [`OdeSystem`] with its start and its reference solution -- a closed form, or
//! reference values at stated times -- and the spans (output grids and tolerances)
//! on which the methods are run. The harness that runs them is in
//! tests/integrators.rs. The problems: closed forms in models/closed_form.rs, the
//! standard stiff test set with reference values in models/stiff.rs.

use lmser::solver::OdeSystem;

mod closed_form;
mod stiff;

pub use closed_form::*;
pub use stiff::*;

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
    /// The stiff test set's end point at rtol 1e-6 or 1e-9, implicit methods only,
    /// with the bound [`TEST_SET_K`] sc: accuracy within one digit of the tolerance.
    TestSet,
}

/// Error bound factor of [`Class::TestSet`] spans: |y_i - ref_i| <= 10 sc_i.
pub const TEST_SET_K: f64 = 10.0;

/// The tolerances the stiff test set is run at ([`Class::TestSet`]).
pub const TEST_SET_RTOLS: [f64; 2] = [1e-6, 1e-9];

/// The [`Class::TestSet`] spans of a model: one per rtol of [`TEST_SET_RTOLS`], atol =
/// `atol_ratio` rtol, over the grid and with the references of `like`.
pub fn test_set_spans(like: &Span, atol_ratio: f64) -> Vec<Span> {
    TEST_SET_RTOLS
        .iter()
        .map(|&rtol| Span {
            class: Class::TestSet,
            t_end: like.t_end,
            output_dt: like.output_dt,
            rtol,
            atol: atol_ratio * rtol,
            rk4_step: f64::NAN,
            references: like.references.clone(),
        })
        .collect()
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
    fn jacobian(&self, t: f64, y: &[f64], jac: &mut nalgebra::DMatrix<f64>) -> bool {
        self.0.jacobian(t, y, jac)
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
    fn as_split(&self) -> Option<&dyn lmser::solver::SplitSystem> {
        self.0.as_split()
    }
}

impl Model {
    /// The system as a sized [`OdeSystem`] for the driver.
    pub fn system(&self) -> Dyn<'_> {
        Dyn(&*self.sys)
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
