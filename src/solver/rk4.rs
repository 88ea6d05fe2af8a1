//! The classical fourth-order Runge-Kutta method with a fixed step, carried across
//! output times ([`super::stepped`]): N equal steps h = (t_end - t0) / N <= `step`
//! fill the whole run, independent of the output grid. Its dense output of order 3
//! (Hairer, Nørsett & Wanner, Solving ODEs I, §II.6, from the stages, no extra
//! right-hand side): y(t0 + theta h) = y0 + h sum_i b_i(theta) k_i with
//! b1 = theta - 3 theta^2 / 2 + 2 theta^3 / 3, b2 = b3 = theta^2 - 2 theta^3 / 3,
//! b4 = -theta^2 / 2 + 2 theta^3 / 3 (b_i(1) are the weights 1/6, 1/3, 1/3, 1/6).

use super::options::check_step;
use super::stepped::{Ctx, Memory, StepPoint, Stepper, Taken, restore};
use super::{OdeSystem, SolverOptions, SolverStats};
use crate::error::Result;

/// Work arrays and the step grid of the fixed-step RK4.
pub(super) struct Rk4Work {
    k: [Vec<f64>; 4],
    tmp: Vec<f64>,
    y_old: Vec<f64>,
    /// Start of the grid: step k ends at t0 + (k + 1) h.
    t0: f64,
    h: f64,
    /// Steps of the whole run and steps taken.
    n_steps: f64,
    taken: f64,
}

impl Rk4Work {
    /// The grid from t0 to t_end in equal steps of at most `step`.
    pub(super) fn new(n: usize, t0: f64, t_end: f64, step: f64) -> Self {
        let n_steps = ((t_end - t0) / step - 1e-9).ceil().max(1.0);
        Rk4Work {
            k: std::array::from_fn(|_| vec![0.0; n]),
            tmp: vec![0.0; n],
            y_old: vec![0.0; n],
            t0,
            h: (t_end - t0) / n_steps,
            n_steps,
            taken: 0.0,
        }
    }
}

impl<S: OdeSystem> Stepper<S> for Rk4Work {
    /// One classical RK4 step of the grid's h (`h` unused: no error control); the
    /// last step of the grid ends at t_end exactly.
    fn step(&mut self, sys: &S, t: f64, y: &mut [f64], _h: f64, cx: &mut Ctx) -> Result<Taken> {
        let h = self.h;
        let [k1, k2, k3, k4] = &mut self.k;
        let tmp = &mut self.tmp;
        sys.rhs(t, y, k1);
        axpy_into(tmp, y, 0.5 * h, k1);
        sys.rhs(t + 0.5 * h, tmp, k2);
        axpy_into(tmp, y, 0.5 * h, k2);
        sys.rhs(t + 0.5 * h, tmp, k3);
        axpy_into(tmp, y, h, k3);
        sys.rhs(t + h, tmp, k4);
        self.y_old.copy_from_slice(y);
        for i in 0..y.len() {
            y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        cx.stats.rhs_evals += 4;
        cx.stats.accepted_steps += 1;
        self.taken += 1.0;
        let t_new = if self.taken >= self.n_steps {
            cx.t_end
        } else {
            self.t0 + self.taken * h
        };
        check_step(sys, t_new, y, cx.opts)?;
        Ok(Taken {
            t: t_new,
            h,
            h_next: h,
        })
    }

    fn prepare_dense(&mut self, _: &S, _: f64, _: f64, _: &[f64], _: &mut SolverStats) {}

    fn interpolate(&self, theta: f64, h: f64, _y: &[f64], out: &mut [f64]) {
        let (t2, t3) = (theta * theta, theta * theta * theta);
        let b1 = theta - 1.5 * t2 + 2.0 / 3.0 * t3;
        let b23 = t2 - 2.0 / 3.0 * t3;
        let b4 = -0.5 * t2 + 2.0 / 3.0 * t3;
        let [k1, k2, k3, k4] = &self.k;
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.y_old[i] + h * (b1 * k1[i] + b23 * (k2[i] + k3[i]) + b4 * k4[i]);
        }
    }

    fn load(&mut self, _: &S, p: &StepPoint, _: &SolverOptions) -> bool {
        let [t0, h, n_steps, taken] = *p.scalars else {
            return false;
        };
        (self.t0, self.h, self.n_steps, self.taken) = (t0, h, n_steps, taken);
        let dst = std::iter::once(&mut self.y_old).chain(self.k.iter_mut());
        restore(dst.map(|v| v.as_mut_slice()).collect(), &p.vectors)
    }
}

impl Memory for Rk4Work {
    fn save(&self) -> (Vec<Vec<f64>>, Vec<f64>) {
        let vectors = std::iter::once(&self.y_old)
            .chain(self.k.iter())
            .cloned()
            .collect();
        (vectors, vec![self.t0, self.h, self.n_steps, self.taken])
    }
}

/// out = y + a x.
fn axpy_into(out: &mut [f64], y: &[f64], a: f64, x: &[f64]) {
    for ((o, yi), xi) in out.iter_mut().zip(y).zip(x) {
        *o = yi + a * xi;
    }
}
