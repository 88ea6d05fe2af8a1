//! The net and its neurons: activations s (with s', s^-1 and the energy integral),
//! the layered network with its weights, and the neuron dynamics with the Lyapunov
//! energy (docs/theory.md §1).

pub mod activation;
pub mod network;
pub mod neurons;

pub use activation::Activation;
pub use network::{Network, Top};
pub use neurons::NeuronDynamics;
