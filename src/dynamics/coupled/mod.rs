//! The `coupled` and `two-phase` learning modes of a one-layer net (layers [n0, n1])
//! with linear units, optionally amplified (z = A y, A = diag(a_1, ..., a_n1)), and a
//! stiff integrator for them.
//!
//! Neurons and weights evolve together (docs/theory.md §6):
//!
//!   tau   dz/dt = -z + A W x,
//!   tau_w dW/dt = G(W, x, z) = z e^T + S (W e) x^T,   e = x - W^T z,
//!
//! the slides' k = 1 rule tau_w dw_pq/dt = eps_q0 z_p + s'_p eps_p1 x_q with the
//! current activity z: eps_0 = x - u_0, u_0 = W^T z, eps_1 = y - y' = W e, and
//! S = diag(s') = A for amplified linear units (I for plain ones). At the settled
//! activity z = A W x its average over x is the exact gradient flow of
//! 1/2 E||x - W^T A W x||^2 (placement (a) `gradient` of [`crate::dynamics::rules`]); with
//! A = I it is the LMSER rule y (x - u)^T + (y - y') x^T.
//!
//! - [`CoupledSamples`]: the ODE over (z, vec W) with x held piecewise constant, one
//!   sample per presentation time T_p (run by
//!   [`run_samples`](crate::experiment::learning::run_samples)).
//! - [`two_phase`](crate::experiment::learning::two_phase) (the slides' procedure,
//!   not an ODE): per sample, settle z (closed form z* = A W x, or the neuron ODE of
//!   [`NeuronDynamics`](crate::model::NeuronDynamics) run to a steady-state tolerance), then
//!   W += (T_p / tau_w) G(W, x, z*): the adiabatic limit tau << T_p << tau_w of the
//!   coupled system.
//! - [`CoupledAveraged`]: the average over x of the coupled system in Z = E[z x^T].
//!   With z = M x (linear in the current input), Z = M Sigma and
//!   E[z z^T] = M Sigma M^T = Z Sigma^+ Z^T, so
//!
//!   tau   dZ/dt = -Z + A W Sigma,
//!   tau_w dW/dt = Z - Z Sigma^+ Z^T W + S (W Sigma - W W^T Z).
//!
//!   Sigma^+ is the pseudo-inverse (Sigma may be singular: Z = M Sigma stays in its
//!   row space when Z(0) does). At Z = A W Sigma the W equation is
//!   A [2 W Sigma - W Sigma W^T A W - W W^T A W Sigma], the averaged LMSER ODE
//!   (gradient placement) and with A = I 2 W Sigma - W Sigma W^T W - W W^T W Sigma.
//!
//! For tau_w / tau >> 1 the coupled forms are stiff: Dopri5's steps are held to ~3 tau
//! by stability; the solver driver's Rosenbrock method ([`Method::Rodas4`](crate::solver::Method::Rodas4))
//! take steps set by accuracy instead, and so does the IMEX method
//! ([`Method::Imex`](crate::solver::Method::Imex)) with the split of
//! [`crate::dynamics::split`]: the neuron block implicit (Jacobian -I / tau), the
//! weights explicit.
//! Both systems give the Rosenbrock methods closed-form Jacobians
//! ([`OdeSystem::jacobian`], module `jacobian`), the averaged one on a general Sigma
//! and in Sigma's eigenbasis alike.

use crate::model::activation::Activation;
use crate::solver::OdeSystem;
use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut, DVector, DVectorView};
use std::cell::RefCell;

mod averaged;
mod jacobian;
pub use averaged::CoupledAveraged;

// ---------------------------------------------------------------------------------
// Parameters and the sample rule
// ---------------------------------------------------------------------------------

/// Time constants and gains shared by the coupled forms.
#[derive(Debug, Clone, PartialEq)]
pub struct CoupledParams {
    /// Neuron time constant tau.
    pub tau: f64,
    /// Weight time constant tau_w.
    pub tau_w: f64,
    /// Gains a_1..a_n1 of amplified units (None: plain linear units, A = I).
    pub gains: Option<DVector<f64>>,
}

impl CoupledParams {
    /// Plain linear units.
    pub fn new(tau: f64, tau_w: f64) -> Self {
        assert!(tau > 0.0 && tau_w > 0.0, "tau and tau_w must be > 0");
        CoupledParams {
            tau,
            tau_w,
            gains: None,
        }
    }

    /// Amplified linear units z = A y.
    pub fn amplified(tau: f64, tau_w: f64, gains: DVector<f64>) -> Self {
        CoupledParams {
            gains: Some(gains),
            ..CoupledParams::new(tau, tau_w)
        }
    }

    /// The activation of the units, for [`NeuronDynamics`](crate::model::NeuronDynamics).
    pub fn activation(&self) -> Activation {
        match &self.gains {
            None => Activation::Linear,
            Some(a) => Activation::Amplified {
                gains: a.iter().copied().collect(),
            },
        }
    }

    /// The settled activity z* = A W x.
    pub fn settled(&self, w: &DMatrix<f64>, x: &DVector<f64>) -> DVector<f64> {
        let mut z = w * x;
        if let Some(a) = &self.gains {
            z.component_mul_assign(a);
        }
        z
    }
}

/// Scales entry i of v by a_i (when there are gains).
pub(crate) fn scale_vec(v: &mut DVector<f64>, gains: Option<&DVector<f64>>) {
    if let Some(a) = gains {
        v.component_mul_assign(a);
    }
}

/// Scales row i of m by a_i (when there are gains).
fn scale_rows<S: nalgebra::StorageMut<f64, nalgebra::Dyn, nalgebra::Dyn>>(
    m: &mut nalgebra::Matrix<f64, nalgebra::Dyn, nalgebra::Dyn, S>,
    gains: Option<&DVector<f64>>,
) {
    if let Some(a) = gains {
        crate::dynamics::rules::scale_rows(m, a);
    }
}

/// Work vectors of [`rule_into`].
#[derive(Debug, Clone)]
pub(crate) struct RuleWork {
    e: DVector<f64>,    // x - W^T z      n0
    eps1: DVector<f64>, // S W e          n1
}

impl RuleWork {
    pub(crate) fn new(n1: usize, n0: usize) -> Self {
        RuleWork {
            e: DVector::zeros(n0),
            eps1: DVector::zeros(n1),
        }
    }
}

/// out = scale G(W, x, z) = scale [z e^T + S (W e) x^T], e = x - W^T z. No allocation.
pub(crate) fn rule_into(
    w: &DMatrixView<f64>,
    x: &DVector<f64>,
    z: &DVectorView<f64>,
    gains: Option<&DVector<f64>>,
    scale: f64,
    work: &mut RuleWork,
    out: &mut DMatrixViewMut<f64>,
) {
    let RuleWork { e, eps1 } = work;
    e.copy_from(x);
    e.gemv_tr(-1.0, w, z, 1.0); // x - W^T z
    eps1.gemv(1.0, w, e, 0.0); // W e
    scale_vec(eps1, gains);
    out.ger(scale, z, e, 0.0);
    out.ger(scale, eps1, x, 1.0);
}

/// The slides' k = 1 rule G(W, x, z) = z e^T + S (W e) x^T with e = x - W^T z and
/// S = A (or I): at z = W x (A = I) the LMSER rule y (x - u)^T + (y - y') x^T.
pub fn sample_rule(
    w: &DMatrix<f64>,
    x: &DVector<f64>,
    z: &DVector<f64>,
    gains: Option<&DVector<f64>>,
) -> DMatrix<f64> {
    let (n1, n0) = w.shape();
    let mut out = DMatrix::zeros(n1, n0);
    let mut work = RuleWork::new(n1, n0);
    rule_into(
        &w.as_view(),
        x,
        &z.as_view(),
        gains,
        1.0,
        &mut work,
        &mut out.as_view_mut(),
    );
    out
}

/// Packs (z, vec W) (W column-major) into the flat state of [`CoupledSamples`].
pub fn pack_state(z: &[f64], w: &DMatrix<f64>) -> Vec<f64> {
    assert_eq!(z.len(), w.nrows(), "z must have n1 values");
    let mut y = z.to_vec();
    y.extend_from_slice(w.as_slice());
    y
}

/// Splits a flat (z, vec W) state into z and the n1 x n0 matrix W.
pub fn unpack_state(y: &[f64], n1: usize) -> (DVector<f64>, DMatrix<f64>) {
    assert!(
        n1 > 0 && y.len().is_multiple_of(n1) && y.len() > n1,
        "bad state length"
    );
    let n0 = y.len() / n1 - 1;
    (
        DVector::from_column_slice(&y[..n1]),
        DMatrix::from_column_slice(n1, n0, &y[n1..]),
    )
}

pub(crate) fn check_samples(samples: &DMatrix<f64>, n0: usize, t_p: f64) {
    assert_eq!(samples.ncols(), n0, "samples must be rows of n0 values");
    assert!(t_p > 0.0, "the presentation time must be > 0");
}

// ---------------------------------------------------------------------------------
// 1. The coupled system driven by samples
// ---------------------------------------------------------------------------------

/// tau dz/dt = -z + A W x, tau_w dW/dt = G(W, x, z) over the flat state
/// (z (n1 values), vec W column-major n1 x n0) with the input x held fixed
/// ([`CoupledSamples::set_input`]). The right-hand side does not allocate.
#[derive(Debug)]
pub struct CoupledSamples {
    params: CoupledParams,
    n1: usize,
    n0: usize,
    x: DVector<f64>,
    work: RefCell<(RuleWork, DVector<f64>)>,
}

impl CoupledSamples {
    /// The coupled system of an n1 x n0 net (input x = 0 until set).
    pub fn new(params: CoupledParams, n1: usize, n0: usize) -> Self {
        if let Some(a) = &params.gains {
            assert_eq!(a.len(), n1, "one gain per unit");
        }
        CoupledSamples {
            params,
            n1,
            n0,
            x: DVector::zeros(n0),
            work: RefCell::new((RuleWork::new(n1, n0), DVector::zeros(n1))),
        }
    }

    /// Holds the input x (n0 values) fixed from now on.
    pub fn set_input(&mut self, x: &[f64]) {
        self.x.copy_from_slice(x);
    }

    /// The current input.
    pub fn input(&self) -> &DVector<f64> {
        &self.x
    }

    /// The parameters.
    pub fn params(&self) -> &CoupledParams {
        &self.params
    }

    /// (n1, n0).
    pub fn shape(&self) -> (usize, usize) {
        (self.n1, self.n0)
    }
}

impl CoupledSamples {
    /// dz = (-z + A W x) / tau: the neuron block (n1 values).
    pub(crate) fn neuron_rhs(&self, y: &[f64], dz: &mut [f64]) {
        let (n1, n0) = (self.n1, self.n0);
        let mut guard = self.work.borrow_mut();
        let ay = &mut guard.1;
        let w = DMatrixView::from_slice(&y[n1..], n1, n0);
        ay.gemv(1.0, &w, &self.x, 0.0);
        scale_vec(ay, self.params.gains.as_ref());
        for ((d, a), z) in dz.iter_mut().zip(ay.iter()).zip(&y[..n1]) {
            *d = (a - z) / self.params.tau;
        }
    }

    /// dW = G(W, x, z) / tau_w: the weight block (n1 n0 values).
    pub(crate) fn weight_rhs(&self, y: &[f64], dw: &mut [f64]) {
        let (n1, n0) = (self.n1, self.n0);
        let rw = &mut self.work.borrow_mut().0;
        let z = DVectorView::from_slice(&y[..n1], n1);
        let w = DMatrixView::from_slice(&y[n1..], n1, n0);
        let mut dw = DMatrixViewMut::from_slice(dw, n1, n0);
        let (gains, scale) = (self.params.gains.as_ref(), 1.0 / self.params.tau_w);
        rule_into(&w, &self.x, &z, gains, scale, rw, &mut dw);
    }
}

impl OdeSystem for CoupledSamples {
    fn dim(&self) -> usize {
        self.n1 * (1 + self.n0)
    }

    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let (dz, dw) = dy.split_at_mut(self.n1);
        self.neuron_rhs(y, dz);
        self.weight_rhs(y, dw);
    }

    fn as_split(&self) -> Option<&dyn crate::solver::SplitSystem> {
        Some(self)
    }

    fn jacobian(&self, _t: f64, y: &[f64], jac: &mut DMatrix<f64>) -> bool {
        self.jacobian_into(y, jac);
        true
    }

    fn state_name(&self, i: usize) -> String {
        if i < self.n1 {
            format!("z{}", i + 1)
        } else {
            let k = i - self.n1;
            format!("W[{},{}]", k % self.n1 + 1, k / self.n1 + 1)
        }
    }

    fn divergence_hint(&self) -> String {
        "the weights blew up; start from smaller weights or raise tau_w".into()
    }
}
