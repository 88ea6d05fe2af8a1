//! The optimizer shared by every model of the table, so each gets the same budget:
//! plain SGD or Adam applied to parameter matrices given an update DIRECTION per
//! matrix (minus the gradient, or any descent-like rule such as a CD-k estimate or an
//! LMSER rule).
//!
//! SGD: `theta += eta d`. Adam (Kingma & Ba, "Adam: a method for stochastic
//! optimization", ICLR 2015), with the direction `d = -g`:
//! `m = b1 m + (1 - b1) d`, `v = b2 v + (1 - b2) d^2`,
//! `theta += eta (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)`, where `t` counts the
//! updates of that parameter. Moments and `t` are kept per SLOT (the index a model
//! gives each of its parameter matrices), so a layer first updated late (greedy RBM
//! stacks) starts with its own bias correction.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

/// The update rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Method {
    /// Plain stochastic gradient descent: `theta += eta d`.
    Sgd,
    /// Adam with its decay rates and denominator offset.
    Adam {
        /// Decay of the first moment (0.9).
        beta1: f64,
        /// Decay of the second moment (0.999).
        beta2: f64,
        /// Offset of the denominator (1e-8).
        eps: f64,
    },
}

/// The optimizer settings of a table: the rule and its step size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimizerSpec {
    /// SGD or Adam.
    pub method: Method,
    /// Step size eta.
    pub eta: f64,
}

impl OptimizerSpec {
    /// Plain SGD with step `eta`.
    pub fn sgd(eta: f64) -> Self {
        OptimizerSpec {
            method: Method::Sgd,
            eta,
        }
    }

    /// Adam with step `eta` and the defaults beta1 = 0.9, beta2 = 0.999, eps = 1e-8.
    pub fn adam(eta: f64) -> Self {
        OptimizerSpec {
            method: Method::Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            eta,
        }
    }
}

impl Default for OptimizerSpec {
    /// Adam with eta = 1e-3.
    fn default() -> Self {
        Self::adam(1e-3)
    }
}

/// Adam's state of one slot.
#[derive(Debug, Clone)]
struct Moments {
    m: DMatrix<f64>,
    v: DMatrix<f64>,
    t: i32,
}

/// One optimizer per run: the spec plus Adam's moments per slot.
#[derive(Debug, Clone)]
pub struct Optimizer {
    spec: OptimizerSpec,
    slots: Vec<Option<Moments>>,
}

impl Optimizer {
    /// A fresh optimizer (no moments yet).
    pub fn new(spec: OptimizerSpec) -> Self {
        Optimizer {
            spec,
            slots: Vec::new(),
        }
    }

    /// The settings.
    pub fn spec(&self) -> OptimizerSpec {
        self.spec
    }

    /// Updates the parameter of slot `slot` along `direction` (same shape; minus the
    /// gradient for a descent). Call once per slot per iteration: each call is one
    /// Adam time step of that slot.
    pub fn update(&mut self, slot: usize, param: &mut DMatrix<f64>, direction: &DMatrix<f64>) {
        assert_eq!(
            param.shape(),
            direction.shape(),
            "slot {slot}: shapes differ"
        );
        let eta = self.spec.eta;
        let Method::Adam { beta1, beta2, eps } = self.spec.method else {
            *param += direction * eta;
            return;
        };
        if self.slots.len() <= slot {
            self.slots.resize(slot + 1, None);
        }
        let (r, c) = param.shape();
        let s = self.slots[slot].get_or_insert_with(|| Moments {
            m: DMatrix::zeros(r, c),
            v: DMatrix::zeros(r, c),
            t: 0,
        });
        assert_eq!(s.m.shape(), (r, c), "slot {slot} changed shape");
        s.t += 1;
        let c1 = 1.0 - beta1.powi(s.t);
        let c2 = 1.0 - beta2.powi(s.t);
        for ((p, d), (m, v)) in param
            .iter_mut()
            .zip(direction.iter())
            .zip(s.m.iter_mut().zip(s.v.iter_mut()))
        {
            *m = beta1 * *m + (1.0 - beta1) * d;
            *v = beta2 * *v + (1.0 - beta2) * d * d;
            *p += eta * (*m / c1) / ((*v / c2).sqrt() + eps);
        }
    }

    /// Updates `params[i]` along `directions[i]` as slot `first + i`.
    pub fn apply(
        &mut self,
        first: usize,
        params: &mut [&mut DMatrix<f64>],
        directions: &[DMatrix<f64>],
    ) {
        assert_eq!(
            params.len(),
            directions.len(),
            "one direction per parameter"
        );
        for (i, (p, d)) in params.iter_mut().zip(directions).enumerate() {
            self.update(first + i, p, d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> DMatrix<f64> {
        DMatrix::from_row_slice(2, 3, &[0.5, -0.02, 3.0, -1.5, 0.01, -7.0])
    }

    /// Adam's first step is eta * m1 / (sqrt(v1) + eps) with m1 = d, v1 = d^2 after
    /// bias correction: eta * d / (|d| + eps) = eta sign(d) up to eta eps / |d| <= 1e-6
    /// eta for |d| >= 0.01.
    #[test]
    fn adam_first_step_is_eta_sign() {
        let eta = 0.01;
        let mut opt = Optimizer::new(OptimizerSpec::adam(eta));
        let mut p = DMatrix::from_element(2, 3, 1.0);
        let d = dir();
        opt.update(0, &mut p, &d);
        for (p, d) in p.iter().zip(d.iter()) {
            let want = 1.0 + eta * d.signum();
            assert!((p - want).abs() < 1e-6 * eta, "{p} vs {want}");
        }
        // A second slot starts its own time step.
        let mut q = DMatrix::zeros(2, 3);
        opt.update(3, &mut q, &(-d.clone()));
        for (q, d) in q.iter().zip(d.iter()) {
            assert!((q + eta * d.signum()).abs() < 1e-6 * eta);
        }
    }

    #[test]
    fn sgd_step_is_exact() {
        let mut opt = Optimizer::new(OptimizerSpec::sgd(0.25));
        let mut p = DMatrix::from_element(2, 3, 1.0);
        let mut q = DMatrix::from_element(1, 1, 2.0);
        let d = dir();
        opt.apply(
            0,
            &mut [&mut p, &mut q],
            &[d.clone(), DMatrix::from_element(1, 1, 4.0)],
        );
        assert_eq!(p, DMatrix::from_element(2, 3, 1.0) + d * 0.25);
        assert_eq!(q[(0, 0)], 3.0);
    }
}
