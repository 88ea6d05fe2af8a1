//! The IMEX method as a [`Stepper`]: one accepted step at a time (PI control, the
//! first stage reused), and the cubic Hermite interpolant of the last one.
//!
//! Its derivative at a step end is f_E(y_{n+1}) (the next first stage) plus, in the
//! fast block, the last stage's F^I_6 = (z_6 - base_6) / (gamma h), the stage
//! equation's derivative (the implicit part is stiffly accurate and f_E vanishes in
//! the fast block, so z_6 is y_{n+1}'s fast block). g(y_{n+1}) evaluated instead is
//! the derivative of the boundary layer through y_{n+1}: h g carries the fast
//! block's deviation from the slow manifold times h |lambda| (and rounding times
//! h |lambda|); with it the outputs on Kaps' problem at eps = 1e-10 were 26 times the
//! harness bound. A step's start derivative is the previous step's end derivative
//! (f(y0) for the first step).

use super::super::carry::hermite;
use super::super::options::{check_step, too_many};
use super::super::stepped::{Ctx, Memory, StepPoint, Stepper, Taken, restore};
use super::tableau::ERR_ORDER;
use super::{Attempt, Imex};
use crate::error::{Error, Result};
use crate::solver::{SolverOptions, SolverStats, SplitSystem};

impl<Y: SplitSystem + ?Sized> Stepper<Y> for Imex {
    fn step(&mut self, sys: &Y, t: f64, y: &mut [f64], h: f64, cx: &mut Ctx) -> Result<Taken> {
        let (t_end, opts, stats) = (cx.t_end, cx.opts, &mut *cx.stats);
        self.first_stage(sys, t, y, stats);
        let mut h = if h <= 0.0 {
            self.initial_step(sys, t, y, opts, stats)
        } else {
            h
        };
        let mut rejected = false;
        loop {
            too_many(cx.attempts, t, opts)?;
            cx.attempts += 1;
            let remaining = t_end - t;
            let landing = h >= remaining - 1e-12 * remaining.abs();
            let h_step = if landing { remaining } else { h };
            let attempt = self.attempt(sys, t, y, h_step, opts, stats);
            if let Attempt::Error(err) = attempt
                && err <= 1.0
            {
                // PI control (Gustafsson 1991; Hairer & Wanner, Solving ODEs II,
                // §IV.2): once the explicit part's stability bounds the step, the
                // plain err^(-1/4) rule alternates accepted and rejected steps.
                let mut fac = (0.9
                    * err.max(1e-10).powf(-0.7 / ERR_ORDER)
                    * self.err_prev.powf(0.4 / ERR_ORDER))
                .clamp(0.2, 5.0);
                self.err_prev = err.max(1e-4);
                if rejected {
                    fac = fac.min(1.0);
                }
                self.y_old.copy_from_slice(y);
                y.copy_from_slice(&self.y_new);
                let t_new = if landing { t_end } else { t + h_step };
                self.end_derivatives(sys, t_new, y, stats);
                stats.accepted_steps += 1;
                check_step(sys, t_new, y, opts)?;
                return Ok(Taken {
                    t: t_new,
                    h: h_step,
                    h_next: h_step * fac,
                });
            }
            stats.rejected_steps += 1;
            rejected = true;
            let fac = match attempt {
                Attempt::Error(err) if err.is_finite() => {
                    (0.9 * err.powf(-1.0 / ERR_ORDER)).clamp(0.2, 1.0)
                }
                _ => 0.25,
            };
            h = h_step * fac;
            if 0.1 * h.abs() <= t.abs() * f64::EPSILON {
                return Err(Error::SolverFailed {
                    time: t,
                    reason: "step size underflow".into(),
                    hint: "the solution may blow up here; loosen solver.rtol/atol or \
                           choose rodas4"
                        .into(),
                });
            }
        }
    }

    fn prepare_dense(&mut self, _: &Y, _: f64, _: f64, _: &[f64], _: &mut SolverStats) {}

    fn interpolate(&self, theta: f64, h: f64, y: &[f64], out: &mut [f64]) {
        let (f0, f1) = (&self.f_start, &self.f_end);
        hermite(theta, h, &self.y_old, y, |k| f0[k], |k| f1[k], out);
    }

    /// Recomputes the first stage at the step end (the same bits, not counted).
    fn load(&mut self, sys: &Y, p: &StepPoint, _: &SolverOptions) -> bool {
        let [err_prev] = *p.scalars else {
            return false;
        };
        let dst = vec![
            self.y_old.as_mut_slice(),
            self.f_start.as_mut_slice(),
            self.f_end.as_mut_slice(),
        ];
        if !restore(dst, &p.vectors) {
            return false;
        }
        (self.err_prev, self.has_end) = (err_prev, true);
        self.fresh = false;
        self.first_stage(sys, p.t_step, &p.y_step, &mut SolverStats::start(p.t_step));
        true
    }
}

impl Imex {
    /// After an accepted step to (t, y): the start derivative (the previous step's
    /// end one, or f at the start of the first step), the first stage at (t, y), and
    /// the end derivative f_E(t, y) + (F^I_6, 0) (module docs).
    fn end_derivatives<Y: SplitSystem + ?Sized>(
        &mut self,
        sys: &Y,
        t: f64,
        y: &[f64],
        stats: &mut SolverStats,
    ) {
        let nf = self.nf;
        if self.has_end {
            std::mem::swap(&mut self.f_start, &mut self.f_end);
        } else {
            for (k, f) in self.f_start.iter_mut().enumerate() {
                *f = self.fe[0][k] + if k < nf { self.fi[0][k] } else { 0.0 };
            }
            self.has_end = true;
        }
        self.fresh = false;
        self.first_stage(sys, t, y, stats);
        self.f_end.copy_from_slice(&self.fe[0]);
        for (f, g) in self.f_end.iter_mut().zip(&self.fi[super::S - 1]) {
            *f += g;
        }
    }
}

impl Memory for Imex {
    fn save(&self) -> (Vec<Vec<f64>>, Vec<f64>) {
        let v = vec![self.y_old.clone(), self.f_start.clone(), self.f_end.clone()];
        (v, vec![self.err_prev])
    }
}
