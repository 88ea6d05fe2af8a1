//! The methods that take their own steps (Rodas4, IMEX, RK4) carried across
//! output times as the explicit pairs of [`super::carry`]: the state at the last step
//! end lives from the start to t_end, a step is never cut for an output (only the
//! last one, to end at t_end), the step size and controller memory run on, and an
//! output inside a step is the method's dense output ([`Stepper::interpolate`]) by
//! the same rule as the pairs' ([`super::carry::dense_at`]); docs/numerics.md §2.6.

use super::carry::dense_at;
use super::imex::Imex;
use super::rk4::Rk4Work;
use super::rosenbrock::Rosenbrock;
use super::{Method, OdeSystem, SolverOptions, SolverStats};
use crate::error::{Error, Result};

/// What a [`Stepper`]'s step needs besides the state: the end of the run, the
/// options, the counters, and the attempts made in the current output interval
/// (limited by `max_steps`).
pub(super) struct Ctx<'a> {
    pub t_end: f64,
    pub attempts: u32,
    pub opts: &'a SolverOptions,
    pub stats: &'a mut SolverStats,
}

/// One accepted step of a [`Stepper`].
pub(super) struct Taken {
    /// Its end time (t_end exactly for the last step).
    pub t: f64,
    /// Its size.
    pub h: f64,
    /// The step size to try next.
    pub h_next: f64,
}

/// A method with its own step (error control, rejections, Jacobians inside) and a
/// dense output of its last accepted step.
pub(super) trait Stepper<Sys: ?Sized> {
    /// One accepted step from (t, y), tried with h first (0: estimate it), ending at
    /// `cx.t_end` when it would reach it; writes the new state into y.
    fn step(&mut self, sys: &Sys, t: f64, y: &mut [f64], h: f64, cx: &mut Ctx) -> Result<Taken>;
    /// Prepares the dense output of the last step (t_old, t_old + h) ending at y.
    fn prepare_dense(&mut self, sys: &Sys, t_old: f64, h: f64, y: &[f64], stats: &mut SolverStats);
    /// The prepared dense output at t_old + theta h into `out`.
    fn interpolate(&self, theta: f64, h: f64, y: &[f64], out: &mut [f64]);
    /// Restores [`Memory::save`] at the step end (t, y); recomputes what is cheaper
    /// to redo than to store (the same bits, right-hand sides not counted).
    /// False when the saved values do not fit this method and dimension.
    fn load(&mut self, sys: &Sys, saved: &StepPoint, opts: &SolverOptions) -> bool;
}

/// Copies `src` into `dst` in order; false unless the counts and lengths agree.
pub(super) fn restore(dst: Vec<&mut [f64]>, src: &[Vec<f64>]) -> bool {
    let fits = dst.len() == src.len() && dst.iter().zip(src).all(|(d, s)| d.len() == s.len());
    if fits {
        for (d, s) in dst.into_iter().zip(src) {
            d.copy_from_slice(s);
        }
    }
    fits
}

/// What a [`Stepper`]'s next step and dense output need besides (t, y, h).
pub(super) trait Memory {
    /// Vectors (step start, stages or derivatives) and scalars (controller and
    /// Jacobian memory) for a [`StepPoint`].
    fn save(&self) -> (Vec<Vec<f64>>, Vec<f64>);
}

/// The last step of a carried Rodas4, IMEX or RK4 integration, saved in a
/// resume point: continuing from it gives the bits of the uninterrupted run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepPoint {
    /// Start time of the last accepted step.
    pub t_old: f64,
    /// Its size.
    pub h_last: f64,
    /// Its end time.
    pub t_step: f64,
    /// The state at `t_step`.
    pub y_step: Vec<f64>,
    /// The next step size.
    pub h: f64,
    /// The method's vectors (step start, stages or derivatives).
    pub vectors: Vec<Vec<f64>>,
    /// The method's scalars (controller and Jacobian memory).
    pub scalars: Vec<f64>,
}

/// An integration in progress over a [`Stepper`].
pub(super) struct Stepped<M> {
    m: M,
    t: f64,
    y: Vec<f64>,
    t_old: f64,
    h_last: f64,
    h: f64,
    dense: bool,
    /// The state at the last output time.
    out: Vec<f64>,
}

/// An output this close to a step end (relative to the step) is the step end: RK4's
/// step ends t0 + k h and the output times t0 + i output_dt differ by rounding.
const SNAP: f64 = 1e-12;

impl<M> Stepped<M> {
    fn new(m: M, t: f64, y: &[f64], h: f64) -> Self {
        Stepped {
            m,
            t,
            y: y.to_vec(),
            t_old: t,
            h_last: 0.0,
            h,
            dense: false,
            out: y.to_vec(),
        }
    }

    /// Continues after the step saved in `p` (a state of n components).
    fn resume<Sys: ?Sized>(
        m: M,
        sys: &Sys,
        p: &StepPoint,
        n: usize,
        o: &SolverOptions,
    ) -> Result<Self>
    where
        M: Stepper<Sys>,
    {
        let mut m = m;
        if p.y_step.len() != n || !m.load(sys, p, o) {
            return Err(Error::Resume {
                dir: ".".into(),
                message: "the saved step does not fit this method and system".into(),
            });
        }
        let mut s = Stepped::new(m, p.t_step, &p.y_step, p.h);
        (s.t_old, s.h_last) = (p.t_old, p.h_last);
        Ok(s)
    }

    fn point(&self) -> Option<StepPoint>
    where
        M: Memory,
    {
        (self.h_last != 0.0).then(|| {
            let (vectors, scalars) = self.m.save();
            StepPoint {
                t_old: self.t_old,
                h_last: self.h_last,
                t_step: self.t,
                y_step: self.y.clone(),
                h: self.h,
                vectors,
                scalars,
            }
        })
    }

    /// Steps until the last step ends at or past t_next; returns the state at t_next.
    fn interval<Sys: ?Sized>(
        &mut self,
        sys: &Sys,
        t_next: f64,
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) -> Result<&[f64]>
    where
        M: Stepper<Sys>,
    {
        let mut cx = Ctx {
            t_end: opts.t_end,
            attempts: 0,
            opts,
            stats,
        };
        while self.t < t_next {
            let (t, h) = (self.t, self.h);
            let s = self.m.step(sys, t, &mut self.y, h, &mut cx)?;
            (self.t_old, self.h_last, self.t, self.h) = (t, s.h, s.t, s.h_next);
            self.dense = false;
        }
        let stats = cx.stats;
        let (t_old, t_step, h) = (self.t_old, self.t, self.h_last);
        let Stepped {
            m, y, dense, out, ..
        } = self;
        dense_at(t_next, t_old, t_step, h, SNAP, y, out, |theta, o| {
            if !*dense {
                m.prepare_dense(sys, t_old, h, y, stats);
                *dense = true;
            }
            m.interpolate(theta, h, y, o);
        });
        Ok(out)
    }
}

/// A Rodas4, IMEX or RK4 integration carried from output to output.
pub(super) enum Stepping {
    Rk4(Stepped<Rk4Work>),
    Rosenbrock(Box<Stepped<Rosenbrock>>),
    Imex(Stepped<Imex>),
}

/// The error of an IMEX run on a system without a split.
fn no_split(t: f64) -> Error {
    Error::SolverFailed {
        time: t,
        reason: "imex needs a fast/slow split, which this system does not have".into(),
        hint: "choose rodas4 (stiff) or dopri5".into(),
    }
}

impl Stepping {
    /// Starts `opts.method` at (t, y) with step h (0: estimate it), or continues
    /// after `point` (a [`Stepping::point`] of the same system and options).
    pub(super) fn new<S: OdeSystem>(
        sys: &S,
        t: f64,
        y: &[f64],
        h: f64,
        point: Option<&StepPoint>,
        opts: &SolverOptions,
    ) -> Result<Self> {
        let n = y.len();
        Ok(match opts.method {
            Method::Imex => {
                let split = sys.as_split().ok_or_else(|| no_split(t))?;
                let m = Imex::new(split.dim(), split.n_fast());
                Stepping::Imex(match point {
                    Some(p) => Stepped::resume(m, split, p, n, opts)?,
                    None => Stepped::new(m, t, y, h),
                })
            }
            Method::Rodas4 => {
                let m = Rosenbrock::new(n);
                Stepping::Rosenbrock(Box::new(match point {
                    Some(p) => Stepped::resume(m, sys, p, n, opts)?,
                    None => Stepped::new(m, t, y, h),
                }))
            }
            _ => {
                let m = Rk4Work::new(n, t, opts.t_end, opts.step);
                Stepping::Rk4(match point {
                    Some(p) => Stepped::resume(m, sys, p, n, opts)?,
                    None => Stepped::new(m, t, y, opts.step),
                })
            }
        })
    }

    /// Integrates to t_next; returns the state there.
    pub(super) fn interval<S: OdeSystem>(
        &mut self,
        sys: &S,
        t_next: f64,
        opts: &SolverOptions,
        stats: &mut SolverStats,
    ) -> Result<&[f64]> {
        match self {
            Stepping::Rk4(c) => c.interval(sys, t_next, opts, stats),
            Stepping::Rosenbrock(c) => c.interval(sys, t_next, opts, stats),
            Stepping::Imex(c) => {
                let split = sys.as_split().ok_or_else(|| no_split(t_next))?;
                c.interval(split, t_next, opts, stats)
            }
        }
    }

    /// The step size carried on.
    pub(super) fn h(&self) -> f64 {
        match self {
            Stepping::Rk4(c) => c.h,
            Stepping::Rosenbrock(c) => c.h,
            Stepping::Imex(c) => c.h,
        }
    }

    /// What [`Stepping::new`] needs to continue; None before the first step.
    pub(super) fn point(&self) -> Option<StepPoint> {
        match self {
            Stepping::Rk4(c) => c.point(),
            Stepping::Rosenbrock(c) => c.point(),
            Stepping::Imex(c) => c.point(),
        }
    }
}
