//! Faults (issue 13): what the engine does when a run panics, hangs or loses its worker, and
//! how its scheduled jobs keep going when one of them fails.

mod bounded;
mod faulty_remote;
mod scheduler;
mod supervise;
