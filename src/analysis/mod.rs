//! Closed forms and analyses of the one-layer linear net: the spectrum of Sigma, the
//! critical sets of Theorem 2 with their Hessians, the gradient-flow identity, the
//! Theorem 4 projection, and the alignment of rows of W with eigenvectors
//! (docs/theory.md §2-§5).

mod alignment;
mod gradient;
mod landscape;
mod spectrum;
mod theorem4;

pub use alignment::{ALIGNED, alignment, rows_aligned_in_order, rows_on_eigenvectors};
pub use gradient::gradient_mismatch;
pub use landscape::{
    CriticalKind, CriticalPoint, HESSIAN_STEP, binomial, critical_weights, hessian, landscape,
    landscape_until, predicted_saddles, subsets,
};
pub use spectrum::Spectrum;
pub use theorem4::theorem4;
