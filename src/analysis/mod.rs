//! Closed forms and analyses of the one-layer linear net: the spectrum of Sigma, the
//! critical sets of Theorem 2 with their Hessians, the gradient-flow identity, the
//! Theorem 4 projection, and the alignment of rows of W with eigenvectors
//! (docs/theory.md §2-§5).
//!
//! ```
//! use lmser::analysis::{CriticalKind, Spectrum, landscape, predicted_saddles};
//! use nalgebra::{DMatrix, DVector};
//! // Theorem 2 for n0 = 4, n1 = 2: one minimum (the top two eigenvectors), one
//! // maximum (W = 0), and every other critical set a saddle.
//! let sigma = DMatrix::from_diagonal(&DVector::from_vec(vec![4.0, 3.0, 2.0, 1.0]));
//! let points = landscape(&sigma, 2, 1e-6);
//! let count = |k| points.iter().filter(|p| p.kind == k).count() as u64;
//! assert_eq!(count(CriticalKind::Minimum), 1);
//! assert_eq!(count(CriticalKind::Maximum), 1);
//! assert_eq!(count(CriticalKind::Saddle), predicted_saddles(4, 2));
//! assert!((Spectrum::of(&sigma).plateau(&[0, 1]) - 1.5).abs() < 1e-12);
//! ```

mod alignment;
mod gradient;
mod landscape;
mod spectrum;
mod theorem4;

pub use alignment::{ALIGNED, alignment, rows_aligned_in_order, rows_on_eigenvectors};
pub use gradient::gradient_mismatch;
pub use landscape::{
    CriticalKind, CriticalPoint, HESSIAN_STEP, THEOREM2_TOL, Theorem2, binomial, critical_weights,
    hessian, landscape, landscape_until, predicted_saddles, subsets,
};
pub use spectrum::Spectrum;
pub use theorem4::{Theorem4, theorem4, theorem4_terms};
