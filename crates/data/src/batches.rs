//! Seeded shuffling into fixed-size batches, repeating forever, with a restorable position.

use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::DataError;

/// Where the batch stream stands: enough to continue it exactly after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShuffleState {
    /// Epochs completed so far (0 during the first pass).
    pub epoch: u64,
    /// The current epoch's order of item indices.
    pub permutation: Vec<u32>,
    /// Index into `permutation` of the next batch's first item.
    pub position: usize,
}

/// An endless stream of index batches: every epoch is a fresh seeded shuffle of all items,
/// cut into batches of `batch_size`; the remainder is dropped.
///
/// Epoch `e`'s permutation depends only on `(seed, e)`, so a stream restored from a
/// [`ShuffleState`] continues exactly as the original would have.
#[derive(Debug, Clone)]
pub struct ShuffledBatches {
    seed: u64,
    batch_size: usize,
    state: ShuffleState,
}

impl ShuffledBatches {
    /// A stream over `len` items, starting at epoch 0.
    pub fn new(len: usize, batch_size: usize, seed: u64) -> Result<Self, DataError> {
        if batch_size == 0 || batch_size > len {
            return Err(DataError::BatchSize {
                batch_size,
                available: len,
            });
        }
        let permutation = epoch_permutation(len, seed, 0);
        Ok(Self {
            seed,
            batch_size,
            state: ShuffleState {
                epoch: 0,
                permutation,
                position: 0,
            },
        })
    }

    /// Continues a stream from a saved state. Fails if the state cannot belong to a stream of
    /// `len` items with this seed (a different dataset or seed).
    pub fn restore(len: usize, batch_size: usize, seed: u64, state: ShuffleState) -> Result<Self, DataError> {
        let fresh = Self::new(len, batch_size, seed)?;
        let mismatch = |reason: String| Err(DataError::ShuffleState { reason });
        if state.permutation.len() != len {
            return mismatch(format!(
                "saved order has {} items, the dataset {len}",
                state.permutation.len()
            ));
        }
        if state.position > len {
            return mismatch(format!("position {} is past the {len} items", state.position));
        }
        if state.permutation != epoch_permutation(len, seed, state.epoch) {
            return mismatch(format!("saved order is not epoch {} of seed {seed}", state.epoch));
        }
        Ok(Self { state, ..fresh })
    }

    /// The state to save for an exact restart.
    pub fn state(&self) -> &ShuffleState {
        &self.state
    }

    /// Items per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Full batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.state.permutation.len() / self.batch_size
    }

    /// The next batch's item indices, reshuffling at the start of each epoch.
    pub fn next_batch(&mut self) -> Vec<u32> {
        let len = self.state.permutation.len();
        if self.state.position + self.batch_size > len {
            self.state.epoch += 1;
            self.state.permutation = epoch_permutation(len, self.seed, self.state.epoch);
            self.state.position = 0;
        }
        let start = self.state.position;
        self.state.position += self.batch_size;
        self.state.permutation[start..start + self.batch_size].to_vec()
    }

    /// The next batch's item indices and, for each, whether to mirror it left–right (drawn
    /// from the seed, the epoch and the position, so they need no saved state of their own).
    pub fn next_batch_with_flips(&mut self) -> (Vec<u32>, Vec<bool>) {
        let indices = self.next_batch();
        let start = self.state.position - self.batch_size;
        (
            indices,
            epoch_flips(self.seed, self.state.epoch, start, self.batch_size),
        )
    }
}

/// ChaCha8 streams from this one on hold the flip bits (stream `FLIP_STREAMS + epoch`); the
/// permutations use streams `0, 1, 2, …`, so neither ever meets the other.
const FLIP_STREAMS: u64 = 1 << 63;

/// Whether the items at positions `start..start + count` of epoch `epoch` are mirrored: bit 0
/// of word `position` of ChaCha8 stream `FLIP_STREAMS + epoch` of `seed`. A pure function of
/// its arguments, so a restored stream draws the same flips.
fn epoch_flips(seed: u64, epoch: u64, start: usize, count: usize) -> Vec<bool> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(FLIP_STREAMS | epoch);
    rng.set_word_pos(start as u128);
    (0..count).map(|_| rng.next_u32() & 1 == 1).collect()
}

/// Epoch `epoch`'s order of `0..len`: a Fisher–Yates shuffle driven by ChaCha8 on stream
/// `epoch` of `seed`.
fn epoch_permutation(len: usize, seed: u64, epoch: u64) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch);
    let mut order: Vec<u32> = (0..len as u32).collect();
    order.shuffle(&mut rng);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_cover_every_item_once_and_drop_the_remainder() {
        let mut batches = ShuffledBatches::new(10, 3, 1).unwrap();
        assert_eq!(batches.batches_per_epoch(), 3);
        for epoch in 0..3 {
            let mut seen: Vec<u32> = (0..3).flat_map(|_| batches.next_batch()).collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), 9, "epoch {epoch}: 9 distinct items, one dropped");
            assert_eq!(batches.state().epoch, epoch);
        }
    }

    #[test]
    fn epochs_are_reshuffled() {
        let mut batches = ShuffledBatches::new(100, 50, 3).unwrap();
        let first: Vec<u32> = (0..2).flat_map(|_| batches.next_batch()).collect();
        let second: Vec<u32> = (0..2).flat_map(|_| batches.next_batch()).collect();
        assert_ne!(first, second);
        assert_ne!(first, (0..100).collect::<Vec<u32>>(), "order must be shuffled");
    }

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let take = |seed| {
            let mut b = ShuffledBatches::new(50, 8, seed).unwrap();
            (0..20).flat_map(|_| b.next_batch()).collect::<Vec<_>>()
        };
        assert_eq!(take(5), take(5));
        assert_ne!(take(5), take(6));
    }

    #[test]
    fn restored_stream_continues_exactly_through_json() {
        let mut original = ShuffledBatches::new(37, 5, 9).unwrap();
        for _ in 0..11 {
            original.next_batch();
        }
        let saved = serde_json::to_string(original.state()).unwrap();
        let state: ShuffleState = serde_json::from_str(&saved).unwrap();
        let mut restored = ShuffledBatches::restore(37, 5, 9, state).unwrap();
        for _ in 0..30 {
            assert_eq!(original.next_batch(), restored.next_batch());
        }
    }

    #[test]
    fn flips_are_fair_and_continue_exactly_after_a_restore() {
        let mut original = ShuffledBatches::new(100, 10, 4).unwrap();
        let mut flipped = 0;
        for _ in 0..25 {
            flipped += original.next_batch_with_flips().1.iter().filter(|&&f| f).count();
        }
        assert!((100..150).contains(&flipped), "{flipped} of 250 flipped");
        let mut restored = ShuffledBatches::restore(100, 10, 4, original.state().clone()).unwrap();
        for _ in 0..30 {
            assert_eq!(original.next_batch_with_flips(), restored.next_batch_with_flips());
        }
        // Drawing flips does not change the order itself.
        let mut plain = ShuffledBatches::new(100, 10, 4).unwrap();
        let mut with_flips = ShuffledBatches::new(100, 10, 4).unwrap();
        for _ in 0..25 {
            assert_eq!(plain.next_batch(), with_flips.next_batch_with_flips().0);
        }
    }

    #[test]
    fn foreign_state_is_rejected() {
        let mut other = ShuffledBatches::new(37, 5, 9).unwrap();
        other.next_batch();
        let err = ShuffledBatches::restore(37, 5, 10, other.state().clone()).unwrap_err();
        assert!(err.to_string().contains("not epoch 0 of seed 10"), "{err}");
        let err = ShuffledBatches::restore(40, 5, 9, other.state().clone()).unwrap_err();
        assert!(err.to_string().contains("37 items, the dataset 40"), "{err}");
    }

    #[test]
    fn impossible_batch_sizes_are_errors() {
        assert!(ShuffledBatches::new(10, 0, 0).is_err());
        assert!(ShuffledBatches::new(10, 11, 0).is_err());
    }
}
