//! Rodas4 and ROS2 as a [`Stepper`]: one accepted step at a time, and the dense
//! output of the last one from its stages (Rodas4's own, ROS2's [`ros2_weights`]).

use super::super::options::check_step;
use super::super::stepped::{Ctx, Memory, StepPoint, Stepper, Taken, restore};
use super::{Rosenbrock, ros2_weights, too_many};
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
            self.jac_age = None;
        }
        match self.jac_age {
            Some(age)
                if self.smooth
                    && age < self.tab.jac_max_age
                    && (h / self.jac_h - 1.0).abs() <= 0.2 => {}
            _ => self.refresh(sys, t, y, h, opts, stats),
        }
        let (t_new, h_step, h_next, tries) =
            self.accept_step(sys, t, cx.t_end, y, h, &mut cx.attempts, opts, stats)?;
        self.smooth = tries == 1;
        check_step(sys, t_new, y, opts)?;
        Ok(Taken {
            t: t_new,
            h: h_step,
            h_next,
        })
    }

    /// Rodas4: r2, r3 from the stages (ROS2 needs nothing prepared).
    fn prepare_dense(&mut self, _: &S, _: f64, _: f64, _: &[f64], _: &mut SolverStats) {
        let Some(d) = self.tab.dense else {
            return;
        };
        for (r, dk) in self.r.iter_mut().zip(d) {
            r.fill(0.0);
            for (u, di) in self.u.iter().zip(dk) {
                for (rj, uj) in r.iter_mut().zip(u.iter()) {
                    *rj += di * uj;
                }
            }
        }
    }

    fn interpolate(&self, theta: f64, _h: f64, y: &[f64], out: &mut [f64]) {
        if self.tab.dense.is_none() {
            let [b1, b2] = ros2_weights(theta, self.tab.gamma);
            let (u1, u2, g) = (&self.u[0], &self.u[1], self.tab.gamma);
            for (i, o) in out.iter_mut().enumerate() {
                *o = self.y_old[i] + (b1 * u1[i] + b2 * u2[i]) / g;
            }
            return;
        }
        let [r2, r3] = &self.r;
        let s = 1.0 - theta;
        for (i, o) in out.iter_mut().enumerate() {
            *o = s * self.y_old[i] + theta * (y[i] + s * (r2[i] + theta * r3[i]));
        }
    }

    /// Recomputes the Jacobian a later step would reuse (ROS2) from the saved point
    /// where it was evaluated: the same bits, not counted.
    fn load(&mut self, sys: &S, p: &StepPoint, opts: &SolverOptions) -> bool {
        let [age, jac_h, t_jac, smooth] = *p.scalars else {
            return false;
        };
        let reuse = self.tab.jac_max_age > 1;
        let mut dst = vec![self.y_old.as_mut_slice()];
        if reuse {
            dst.push(self.y_jac.as_mut_slice());
        }
        dst.extend(self.u.iter_mut().map(|u| u.as_mut_slice()));
        if !restore(dst, &p.vectors) {
            return false;
        }
        (self.jac_h, self.t_jac, self.smooth) = (jac_h, t_jac, smooth != 0.0);
        self.jac_age = (age >= 0.0).then_some(age as u32);
        if reuse && self.jac_age.is_some() {
            let mut spare = SolverStats::start(t_jac);
            sys.rhs(t_jac, &self.y_jac, &mut self.fi);
            self.jw
                .evaluate(sys, t_jac, &self.y_jac, &self.fi, jac_h, opts, &mut spare);
        }
        true
    }
}

impl Memory for Rosenbrock {
    fn save(&self) -> (Vec<Vec<f64>>, Vec<f64>) {
        let mut v = vec![self.y_old.clone()];
        if self.tab.jac_max_age > 1 {
            v.push(self.y_jac.clone());
        }
        v.extend(self.u.iter().map(|u| u.as_slice().to_vec()));
        let age = self.jac_age.map_or(-1.0, f64::from);
        let smooth = f64::from(u8::from(self.smooth));
        (v, vec![age, self.jac_h, self.t_jac, smooth])
    }
}
