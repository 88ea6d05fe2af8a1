//! The classical fourth-order Runge-Kutta method with a fixed step.

use super::options::check_step;
use super::{OdeSystem, SolverOptions, SolverStats};
use crate::error::Result;

/// Work arrays of the fixed-step RK4.
pub(super) struct Rk4Work {
    k: [Vec<f64>; 4],
    tmp: Vec<f64>,
}

impl Rk4Work {
    pub(super) fn new(n: usize) -> Self {
        Rk4Work {
            k: std::array::from_fn(|_| vec![0.0; n]),
            tmp: vec![0.0; n],
        }
    }

    /// Classical RK4 from t to t_next in equal steps of at most `opts.step`.
    pub(super) fn interval<S: OdeSystem>(
        &mut self,
        sys: &S,
        t: f64,
        t_next: f64,
        y: &mut [f64],
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) -> Result<()> {
        let steps = ((t_next - t) / opts.step - 1e-9).ceil().max(1.0) as u64;
        let h = (t_next - t) / steps as f64;
        let [k1, k2, k3, k4] = &mut self.k;
        let tmp = &mut self.tmp;
        for s in 0..steps {
            let ts = t + s as f64 * h;
            sys.rhs(ts, y, k1);
            axpy_into(tmp, y, 0.5 * h, k1);
            sys.rhs(ts + 0.5 * h, tmp, k2);
            axpy_into(tmp, y, 0.5 * h, k2);
            sys.rhs(ts + 0.5 * h, tmp, k3);
            axpy_into(tmp, y, h, k3);
            sys.rhs(ts + h, tmp, k4);
            for i in 0..y.len() {
                y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
            }
            stats.rhs_evals += 4;
            stats.accepted_steps += 1;
            check_step(sys, ts + h, y, opts)?;
        }
        Ok(())
    }
}

/// out = y + a x.
fn axpy_into(out: &mut [f64], y: &[f64], a: f64, x: &[f64]) {
    for ((o, yi), xi) in out.iter_mut().zip(y).zip(x) {
        *o = yi + a * xi;
    }
}
