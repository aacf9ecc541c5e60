//! Where a training step's wall-clock time goes, for `wgan bench`.

use std::time::Duration;

/// Time accumulated since the last [`crate::Engine::take_timings`].
///
/// The CPU backend computes eagerly and every step reads its losses back, so each phase's
/// time is the time of its work, not of queueing it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepTimings {
    /// Building batches: copying real images, drawing z and ε on the host, uploading them.
    pub data: Duration,
    /// Critic steps without their data: generating the fake batch, the loss (and penalty),
    /// backward, the optimizer step, clipping.
    pub critic: Duration,
    /// Generator steps without their data: forward through both networks, backward, step.
    pub generator: Duration,
}
