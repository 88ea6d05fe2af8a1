//! Fast-slow systems for the IMEX method ([`Method::Imex`](super::Method::Imex)): the
//! state's leading n_f components are fast (the neurons), the rest slow (the weights),
//! and the right-hand side splits as
//!
//!   f(t, y) = f_I(t, y) + f_E(t, y),   f_I(t, y) = (g(t, y), 0),
//!
//! with g (n_f values: the fast block's whole right-hand side, e.g. the neuron
//! equation (-z + s(T z + drive)) / tau) integrated implicitly and f_E (every
//! component, zero in the fast block for the nets here) explicitly. Because f_I
//! vanishes in the slow block, a stage's slow components are explicit and only the
//! fast block is solved: z = base + gamma h g(t, (z, w)) with w known, by (simplified)
//! Newton with the n_f x n_f matrix I - gamma h J_I, J_I = d g / d z.
//!
//! The split here puts the whole neuron equation into g, not only -z / tau: the
//! coupling term (A W Sigma / tau in the averaged form) has a Lipschitz constant
//! ~ |W Sigma| / tau, as stiff as -z / tau itself, and left explicit it would hold the
//! steps to ~tau; inside g it costs nothing extra, since g's dependence on the slow
//! components is through known stage values (docs/numerics.md, "IMEX").

use super::OdeSystem;

/// A system with a fast block (leading [`SplitSystem::n_fast`] components) to be
/// integrated implicitly and a slow remainder integrated explicitly (module docs).
///
/// The solver calls [`prepare_implicit`](SplitSystem::prepare_implicit) once per step
/// attempt and then [`solve_implicit`](SplitSystem::solve_implicit) any number of
/// times with the same hg; implementations keep a factorisation in interior
/// mutability, like the work arrays of their right-hand sides.
pub trait SplitSystem: OdeSystem {
    /// n_f: the number of fast (implicit) leading state components.
    fn n_fast(&self) -> usize;
    /// Writes g(t, y), the fast block's implicit right-hand side (n_f values).
    fn rhs_implicit(&self, t: f64, y: &[f64], g: &mut [f64]);
    /// Writes f_E(t, y) = f(t, y) - (g(t, y), 0) (all `dim` values).
    fn rhs_explicit(&self, t: f64, y: &[f64], fe: &mut [f64]);
    /// Prepares solves with I - hg J_I, J_I = d g / d z at (t, y) (e.g. factors it);
    /// returns false when the matrix is singular. Nothing to do by default (a
    /// constant J_I that [`solve_implicit`](SplitSystem::solve_implicit) applies).
    fn prepare_implicit(&self, _t: f64, _y: &[f64], _hg: f64) -> bool {
        true
    }
    /// Overwrites r (n_f values) with (I - hg J_I)^-1 r, hg as prepared.
    fn solve_implicit(&self, hg: f64, r: &mut [f64]);
    /// True when g is affine in the fast components with the J_I of
    /// [`prepare_implicit`](SplitSystem::prepare_implicit) exact: one Newton
    /// iteration then solves a stage exactly (the one-layer linear nets, Kaps).
    fn implicit_is_linear(&self) -> bool {
        false
    }
}
