//! One generator step of WGAN / WGAN-GP: `n_critic` critic updates, then one generator
//! update, each returning what it measured on the device.

use std::time::Instant;

use burn::module::{AutodiffModule, Module};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};

use super::Engine;
use super::clip::clip_parameters;
use super::ema::{blend_generator, detached_copy};
use super::losses::{PenaltyTerm, critic_loss};
use super::spectral::on_autodiff;
use crate::TrainError;
use crate::distributed::Replica;

/// What one critic step measured, still on the device: one-element tensors, detached from
/// the autodiff graph. Nothing is read back until [`Engine::train_step`] reads a whole
/// generator step's values at once.
#[derive(Debug, Clone)]
pub struct CriticStepValues<B: Backend> {
    /// The loss minimised: `mean D(fake) − mean D(real) [+ weight·penalty] [+ drift]`,
    /// shape `[1]`.
    pub loss: Tensor<B, 1>,
    /// `mean D(real) − mean D(fake)`, shape `[1]`.
    pub wasserstein_estimate: Tensor<B, 1>,
    /// The gradient-norm penalty without its weight, with one, shape `[1]`.
    pub gradient_penalty: Option<Tensor<B, 1>>,
}

impl<B: Backend> CriticStepValues<B> {
    /// Element-wise sums with `other`'s values, on the device.
    fn add(self, other: Self) -> Self {
        Self {
            loss: self.loss.add(other.loss),
            wasserstein_estimate: self.wasserstein_estimate.add(other.wasserstein_estimate),
            gradient_penalty: match (self.gradient_penalty, other.gradient_penalty) {
                (Some(a), Some(b)) => Some(a.add(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

/// What one generator step (its critic steps included) measured. Critic quantities are
/// means over the `n_critic` critic steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainStepMetrics {
    /// Generator steps completed, this one included.
    pub step: u64,
    /// Mean critic loss.
    pub critic_loss: f64,
    /// The generator loss.
    pub generator_loss: f64,
    /// Mean Wasserstein estimate.
    pub wasserstein_estimate: f64,
    /// Mean gradient-norm penalty (without its weight), with one.
    pub gradient_penalty: Option<f64>,
    /// Critic steps this generator step took (`n_critic`, or more under the `wgan_paper`
    /// critic schedule).
    pub critic_steps: u32,
}

impl<B: AutodiffBackend> Engine<B> {
    /// One generator step: `n_critic` critic steps, then one generator step. Fails, after
    /// counting the step, if a loss is NaN or infinite.
    ///
    /// The critic steps' values are summed on the device, and the whole step's metrics come
    /// back in one device→host read: the only one a step makes, so that a GPU never waits
    /// for the host inside a step.
    pub fn train_step(&mut self) -> Result<TrainStepMetrics, TrainError> {
        let schedule = &self.config.schedule;
        let n_critic = schedule
            .n_critic_schedule
            .critic_steps(self.state.step, schedule.n_critic);
        if let Some(replica) = &self.replica {
            replica.announce_step()?;
        }
        let mut sums: Option<CriticStepValues<B::InnerBackend>> = None;
        for _ in 0..n_critic {
            let values = self.critic_step()?;
            sums = Some(match sums {
                Some(sums) => sums.add(values),
                None => values,
            });
        }
        let generator_loss = self.generator_step()?;
        self.state.step += 1;
        let mut parts = vec![generator_loss];
        if let Some(sums) = sums {
            parts.extend([sums.loss, sums.wasserstein_estimate]);
            parts.extend(sums.gradient_penalty);
        }
        let mut values = Tensor::cat(parts, 0);
        if let Some(replica) = &self.replica {
            // Each replica's losses are means over its share: their mean is the batch's.
            values = replica.mean(values)?;
            if replica.batch_norm_per_replica() {
                replica.mean_running_statistics(&mut self.state.generator, &mut self.state.critic)?;
            }
        }
        let values = self.read_to_host(values);
        let value = |index: usize| values.get(index).copied().unwrap_or(f64::NAN);
        let mean = |index: usize| value(index) / f64::from(n_critic);
        let generator_loss = value(0);
        let (loss, wasserstein) = (mean(1), mean(2));
        let penalty = (values.len() > 3).then(|| mean(3));
        let checks = [
            ("critic_loss", loss),
            ("generator_loss", generator_loss),
            ("gradient_penalty", penalty.unwrap_or(0.0)),
        ];
        if let Some((name, value)) = checks.into_iter().find(|(_, v)| !v.is_finite()) {
            return Err(TrainError::NonFinite {
                step: self.state.step,
                loss: name,
                value,
            });
        }
        Ok(TrainStepMetrics {
            step: self.state.step,
            critic_loss: loss,
            generator_loss,
            wasserstein_estimate: wasserstein,
            gradient_penalty: penalty,
            critic_steps: n_critic,
        })
    }

    /// One critic update on a fresh real batch and a fresh fake batch; with weight clipping,
    /// the critic's parameters are clamped afterwards.
    pub fn critic_step(&mut self) -> Result<CriticStepValues<B::InnerBackend>, TrainError> {
        let started = Instant::now();
        let _synchronised = self.replica.as_ref().and_then(Replica::synchronise_batch_norm);
        let batch_size = self.config.data.batch_size;
        let shard = self.shard();
        let state = &mut self.state;
        let real = if self.config.data.horizontal_flip {
            let (indices, flips) = state.batches.next_batch_with_flips();
            self.data
                .batch::<B>(&indices[shard.clone()], Some(&flips[shard.clone()]), &self.device)
        } else {
            self.data
                .batch::<B>(&state.batches.next_batch()[shard.clone()], None, &self.device)
        };
        let noise = state.training_noise.normal_rows::<B>(
            batch_size,
            self.config.model.latent_dim,
            shard.clone(),
            &self.device,
        );
        let penalty = self.config.lipschitz.penalty().map(|penalty| {
            PenaltyTerm::new(penalty, || {
                state
                    .interpolation
                    .uniform_rows::<B>(batch_size, shard.clone(), &self.device)
            })
        });
        let data_ready = Instant::now();
        self.timings.data += data_ready - started;
        // The fake batch trains the critic only: generated with the generator's parameters
        // untracked, so autodiff records nothing (BatchNorm still uses and updates batch
        // statistics, as in training).
        let fake = state.generator.clone().no_grad().forward(noise);
        // Under spectral normalisation the vectors take their power iterations on the current
        // weights, and the loss sees W/σ(W), differentiable in W.
        let critic = match (
            self.config.lipschitz.spectral_norm_iterations(),
            &mut state.spectral_vectors,
        ) {
            (Some(iterations), Some(vectors)) => {
                *vectors = vectors.iterate(&state.critic.valid(), iterations);
                state.critic.spectrally_normalized(&on_autodiff::<B>(vectors))
            }
            _ => state.critic.clone(),
        };
        let loss = critic_loss(&critic, real, fake, penalty, self.config.drift)?;
        let values = CriticStepValues {
            loss: loss.total.clone().inner(),
            wasserstein_estimate: loss.wasserstein.inner(),
            gradient_penalty: loss.gradient_penalty.map(|penalty| penalty.inner()),
        };
        let mut grads = GradientsParams::from_grads(loss.total.backward(), &state.critic);
        if let Some(replica) = &self.replica {
            grads = replica.mean_gradients(&state.critic, grads)?;
            replica.check_exchanges()?;
        }
        let [learning_rate, _] = self
            .config
            .optimizer
            .learning_rates(state.step, self.config.schedule.steps);
        state.critic = state.critic_optimizer.step(learning_rate, state.critic.clone(), grads);
        if let Some(clip_value) = self.config.lipschitz.clip_value() {
            state.critic = clip_parameters(state.critic.clone(), clip_value);
        }
        self.timings.critic += data_ready.elapsed();
        Ok(values)
    }

    /// One generator update with `L_G = −mean D(G(z))`; only the generator is stepped. G_ema,
    /// if kept, follows it. Returns the loss, shape `[1]`, on the device.
    pub fn generator_step(&mut self) -> Result<Tensor<B::InnerBackend, 1>, TrainError> {
        let started = Instant::now();
        let _synchronised = self.replica.as_ref().and_then(Replica::synchronise_batch_norm);
        let shard = self.shard();
        let state = &mut self.state;
        let noise = state.training_noise.normal_rows::<B>(
            self.config.data.batch_size,
            self.config.model.latent_dim,
            shard,
            &self.device,
        );
        let data_ready = Instant::now();
        self.timings.data += data_ready - started;
        let fake = state.generator.forward(noise);
        // The critic's parameters are untracked here: the backward pass computes no weight
        // gradients for them, only the gradient through the critic to the fake images.
        // Under spectral normalisation it is the critic of the last critic step, W/σ(W).
        let critic = state.critic.clone().no_grad();
        let critic = match &state.spectral_vectors {
            Some(vectors) => critic.spectrally_normalized(&on_autodiff::<B>(vectors)),
            None => critic,
        };
        let loss = critic.try_forward(fake)?.mean().neg();
        let value = loss.clone().inner();
        let mut grads = GradientsParams::from_grads(loss.backward(), &state.generator);
        if let Some(replica) = &self.replica {
            grads = replica.mean_gradients(&state.generator, grads)?;
            replica.check_exchanges()?;
        }
        let [_, learning_rate] = self
            .config
            .optimizer
            .learning_rates(state.step, self.config.schedule.steps);
        state.generator = state
            .generator_optimizer
            .step(learning_rate, state.generator.clone(), grads);
        if let (Some(ema_config), Some(ema)) = (&self.config.ema, state.generator_ema.take()) {
            let beta = ema_config.beta(state.step + 1);
            state.generator_ema = Some(blend_generator(ema, &detached_copy(&state.generator), beta));
        }
        self.timings.generator += data_ready.elapsed();
        Ok(value)
    }

    /// Reads `tensor` back to the host, as f64, and counts the read.
    fn read_to_host<const D: usize>(&mut self, tensor: Tensor<B::InnerBackend, D>) -> Vec<f64> {
        self.host_reads += 1;
        tensor.into_data().convert::<f64>().to_vec::<f64>().unwrap_or_default()
    }
}
