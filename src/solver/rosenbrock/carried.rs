//! Rodas4 as a [`Stepper`]: one accepted step at a time (a Jacobian at each), and
//! the dense output of the last one from its stages (rodas.f's).

use super::super::options::check_step;
use super::super::options::too_many;
use super::super::stepped::{Ctx, Memory, StepPoint, Stepper, Taken, restore};
use super::Rosenbrock;
use crate::error::Result;
use crate::solver::{OdeSystem, SolverOptions, SolverStats};

impl<S: OdeSystem> Stepper<S> for Rosenbrock {
    fn step(&mut self, sys: &S, t: f64, y: &mut [f64], h: f64, cx: &mut Ctx) -> Result<Taken> {
        let (opts, stats) = (cx.opts, &mut *cx.stats);
        too_many(cx.attempts, t, opts)?;
        sys.rhs(t, y, &mut self.f0);
        stats.rhs_evals += 1;
        let mut h = h;
        if h <= 0.0 {
            h = self.initial_step(sys, t, y, opts, stats);
        }
        self.jw.evaluate(sys, t, y, &self.f0, h, opts, stats);
        let (t_new, h_step, h_next) =
            self.accept_step(sys, t, cx.t_end, y, h, &mut cx.attempts, opts, stats)?;
        check_step(sys, t_new, y, opts)?;
        Ok(Taken {
            t: t_new,
            h: h_step,
            h_next,
        })
    }

    /// r2, r3 from the stages.
    fn prepare_dense(&mut self, _: &S, _: f64, _: f64, _: &[f64], _: &mut SolverStats) {
        for (r, dk) in self.r.iter_mut().zip(self.tab.dense) {
            r.fill(0.0);
            for (u, di) in self.u.iter().zip(dk) {
                for (rj, uj) in r.iter_mut().zip(u.iter()) {
                    *rj += di * uj;
                }
            }
        }
    }

    fn interpolate(&self, theta: f64, _h: f64, y: &[f64], out: &mut [f64]) {
        let [r2, r3] = &self.r;
        let s = 1.0 - theta;
        for (i, o) in out.iter_mut().enumerate() {
            *o = s * self.y_old[i] + theta * (y[i] + s * (r2[i] + theta * r3[i]));
        }
    }

    /// Restores the step start and the stages. Resume points of earlier versions
    /// also carry four scalars of Jacobian-reuse memory, ignored: Rodas4 evaluates a
    /// Jacobian at every step.
    fn load(&mut self, _: &S, p: &StepPoint, _: &SolverOptions) -> bool {
        if !matches!(p.scalars.len(), 0 | 4) {
            return false;
        }
        let mut dst = vec![self.y_old.as_mut_slice()];
        dst.extend(self.u.iter_mut().map(|u| u.as_mut_slice()));
        restore(dst, &p.vectors)
    }
}

impl Memory for Rosenbrock {
    fn save(&self) -> (Vec<Vec<f64>>, Vec<f64>) {
        let mut v = vec![self.y_old.clone()];
        v.extend(self.u.iter().map(|u| u.as_slice().to_vec()));
        (v, Vec::new())
    }
}
