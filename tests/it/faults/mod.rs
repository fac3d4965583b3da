//! Faults: what the remote or a race does must not lose, stall or repeat an access decision.

mod adoption;
mod propagation;
