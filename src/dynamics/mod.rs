//! Weight dynamics as mathematics: the learning rules as flows over a second moment
//! ([`rules`]) and the coupled neuron-weight systems ([`coupled`]; their fast/slow
//! splits for the IMEX method in [`split`]), each an
//! [`OdeSystem`](crate::solver::OdeSystem) or a plain function; running them is the
//! job of [`crate::experiment`].

pub mod averaged;
pub mod coupled;
pub mod multilayer;
pub mod rules;
pub mod split;
mod stacked;
