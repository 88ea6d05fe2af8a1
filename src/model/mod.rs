//! The net and its neurons: activations s (with s', s^-1 and the energy integral),
//! the layered network with its weights, and the neuron dynamics with the Lyapunov
//! energy (docs/theory.md §1).
//!
//! ```
//! use lmser::model::{Activation, Network, NeuronDynamics, Top};
//! use lmser::solver::{Method, SolverOptions, integrate};
//! use nalgebra::{DMatrix, DVector};
//! // A 3-2-2 logistic net with the input clamped: E never rises along the dynamics
//! // (Theorem 1).
//! let w1 = DMatrix::from_row_slice(2, 3, &[0.5, -1.0, 0.3, 1.2, 0.4, -0.7]);
//! let w2 = DMatrix::from_row_slice(2, 2, &[0.8, -0.5, 0.2, 1.1]);
//! let net = Network::new(vec![3, 2, 2], vec![w1, w2], vec![Activation::Logistic; 2],
//!                        vec![1.0; 2], Top::Free)?;
//! let dynamics = NeuronDynamics::new(net, DVector::from_vec(vec![1.0, -0.5, 0.25]));
//! let opts = SolverOptions::new(Method::Dopri5, 10.0).rtol(1e-10).atol(1e-12);
//! let mut last = f64::INFINITY;
//! integrate(&dynamics, 0.0, &[0.5; 4], &opts, &mut |_t: f64, z: &[f64], _dz: &[f64]| {
//!     let e = dynamics.energy(z);
//!     assert!(e <= last + 1e-12, "E rose");
//!     last = e;
//!     Ok(())
//! })?;
//! # Ok::<(), lmser::Error>(())
//! ```

pub mod activation;
pub mod network;
pub mod neurons;

pub use activation::Activation;
pub use network::{Network, Top};
pub use neurons::NeuronDynamics;
