//! The averaged weight ODE of a one-layer net, tau_w dW/dt = F(W; C) (docs/theory.md
//! §2), as an [`OdeSystem`] over vec(W).

use crate::dynamics::rules::{Moment, Rule, Workspace, flow};
use crate::dynamics::stacked::Stacked;
use crate::solver::OdeSystem;
use nalgebra::{DMatrix, DVector};
use std::cell::RefCell;

/// The averaged weight ODE tau_w dW/dt = F(W; C) over vec(W) (column-major), with C
/// = Sigma or the mean over a fixed sample set; or, in Sigma's eigenbasis, the same
/// ODE for V = W Phi over vec(V) with C = diag(lambda).
#[derive(Debug)]
pub struct AveragedLearning {
    rule: Rule,
    moment: Source,
    n0: usize,
    tau_w: f64,
    work: RefCell<(Workspace, DMatrix<f64>, DMatrix<f64>)>,
    /// Plain LMSER (no gains): the two-product form on the state itself.
    stacked: Option<RefCell<Stacked>>,
}

/// The second moment the ODE owns.
#[derive(Debug)]
enum Source {
    Matrix(DMatrix<f64>),
    Samples(DMatrix<f64>),
    Diagonal(DVector<f64>),
}

impl AveragedLearning {
    /// The ODE of `rule` for an n1 x n0 net on Sigma.
    pub fn new(rule: Rule, sigma: DMatrix<f64>, tau_w: f64, n1: usize) -> Self {
        let n0 = sigma.ncols();
        Self::build(rule, Source::Matrix(sigma), n0, tau_w, n1)
    }

    /// The ODE of `rule` averaged over the rows of `x` (samples x n0).
    pub fn over_samples(rule: Rule, x: DMatrix<f64>, tau_w: f64, n1: usize) -> Self {
        let n0 = x.ncols();
        Self::build(rule, Source::Samples(x), n0, tau_w, n1)
    }

    /// The ODE of `rule` in the eigenbasis Phi of Sigma = Phi diag(`eigenvalues`)
    /// Phi^T: the state is vec(V), V = W Phi (n1 x n0), and each right-hand side
    /// costs O(n1^2 n0) instead of O(n1 n0^2). Linear rules only (the tanh rule has
    /// no closed form over Sigma: its right-hand side is NaN).
    pub fn in_eigenbasis(rule: Rule, eigenvalues: DVector<f64>, tau_w: f64, n1: usize) -> Self {
        let n0 = eigenvalues.len();
        Self::build(rule, Source::Diagonal(eigenvalues), n0, tau_w, n1)
    }

    fn build(rule: Rule, moment: Source, n0: usize, tau_w: f64, n1: usize) -> Self {
        let plain = matches!(rule, Rule::Lmser { gains: None, .. });
        AveragedLearning {
            stacked: plain.then(|| RefCell::new(Stacked::new(n1, n0))),
            rule,
            moment,
            n0,
            tau_w,
            work: RefCell::new((
                Workspace::new(n1, n0),
                DMatrix::zeros(n1, n0),
                DMatrix::zeros(n1, n0),
            )),
        }
    }
}

impl OdeSystem for AveragedLearning {
    fn dim(&self) -> usize {
        self.n0 * self.work.borrow().1.nrows()
    }

    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let c = match &self.moment {
            Source::Matrix(m) => Moment::Matrix(m),
            Source::Samples(x) => Moment::Samples(x),
            Source::Diagonal(d) => Moment::Diagonal(d),
        };
        if let Some(st) = &self.stacked {
            st.borrow_mut().flow(y, &c, self.tau_w, dy);
            return;
        }
        let mut guard = self.work.borrow_mut();
        let (ws, w, out) = &mut *guard;
        w.as_mut_slice().copy_from_slice(y);
        flow(&self.rule, w, &c, ws, out);
        // Over slices, so the division vectorises (a scalar loop over nalgebra's
        // iterator cost ~20% of a 784 x 32 solve); f / 1 = f exactly, so tau_w = 1
        // is a copy.
        let tau_w = self.tau_w;
        if tau_w == 1.0 {
            dy.copy_from_slice(out.as_slice());
        } else {
            for (d, f) in dy.iter_mut().zip(out.as_slice()) {
                *d = f / tau_w;
            }
        }
    }

    fn autonomous(&self) -> bool {
        true
    }

    fn state_name(&self, i: usize) -> String {
        let n1 = self.work.borrow().1.nrows();
        let name = match self.moment {
            Source::Diagonal(_) => "(W Phi)",
            _ => "W",
        };
        format!("{name}[{},{}]", i % n1 + 1, i / n1 + 1)
    }

    fn divergence_hint(&self) -> String {
        "the weights blew up; start from smaller weights or check the rule".into()
    }
}
