//! `[distributed]`: data-parallel training on several devices, one replica per device.

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// `[distributed]`: how many replicas share each batch, and how their BatchNorm layers see
/// it. Absent: one replica. A run's result is a function of its config, replicas included.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DistributedConfig {
    /// Replicas, one per device; each trains on `data.batch_size / replicas` samples of every
    /// batch, and their gradients are averaged before each optimizer step. At least 1, and a
    /// divisor of `data.batch_size`.
    pub replicas: usize,
    /// BatchNorm statistics over the whole batch, summed across replicas in the forward and
    /// backward passes (synchronised BatchNorm, CPU backend only), rather than over each
    /// replica's share. Without it each replica normalises its share with its own statistics,
    /// and the running averages are averaged across replicas after every generator step.
    pub sync_batch_norm: bool,
    /// Seconds the nodes of a multi-node run (`wgan train --nodes`) wait for each other to
    /// join before they give up, naming what is missing.
    pub join_timeout_s: f64,
    /// Seconds any one exchange between nodes may take before the run stops. A node whose
    /// process ends is noticed at once (its connection closes); this bounds the rest, such
    /// as a machine that vanished from the network. It must cover the longest pause of one
    /// node, such as node 0's quality measurements, which the others wait out.
    pub timeout_s: f64,
}

impl Default for DistributedConfig {
    fn default() -> Self {
        Self {
            replicas: 1,
            sync_batch_norm: true,
            join_timeout_s: 300.0,
            timeout_s: 1800.0,
        }
    }
}

impl DistributedConfig {
    /// Checks the replica count against the batch size.
    pub fn validate(&self, batch_size: usize) -> Result<(), ConfigError> {
        if self.replicas == 0 || !batch_size.is_multiple_of(self.replicas) {
            return Err(ConfigError::Range {
                field: "distributed.replicas".into(),
                reason: format!(
                    "must be at least 1 and divide data.batch_size ({batch_size}), got {}",
                    self.replicas
                ),
            });
        }
        for (field, value) in [("join_timeout_s", self.join_timeout_s), ("timeout_s", self.timeout_s)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(ConfigError::Range {
                    field: format!("distributed.{field}"),
                    reason: format!("must be a positive number of seconds, got {value}"),
                });
            }
        }
        Ok(())
    }

    /// Whether more than one replica trains.
    pub fn is_parallel(&self) -> bool {
        self.replicas > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_must_divide_the_batch() {
        let config = |replicas| DistributedConfig {
            replicas,
            ..DistributedConfig::default()
        };
        assert!(config(4).validate(64).is_ok());
        for bad in [0, 3] {
            let err = config(bad).validate(64).unwrap_err().to_string();
            assert!(err.starts_with("distributed.replicas:"), "{err}");
        }
    }

    #[test]
    fn timeouts_must_be_positive_seconds() {
        for bad in [0.0, -1.0, f64::NAN] {
            for (field, config) in [
                (
                    "distributed.join_timeout_s",
                    DistributedConfig {
                        join_timeout_s: bad,
                        ..DistributedConfig::default()
                    },
                ),
                (
                    "distributed.timeout_s",
                    DistributedConfig {
                        timeout_s: bad,
                        ..DistributedConfig::default()
                    },
                ),
            ] {
                let err = config.validate(64).unwrap_err().to_string();
                assert!(err.starts_with(field), "{err}");
            }
        }
    }
}
