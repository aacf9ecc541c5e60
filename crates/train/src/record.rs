//! Decoding burn records from checkpoint bytes without letting bad bytes panic.

use std::panic::{AssertUnwindSafe, catch_unwind};

use burn::record::{BinBytesRecorder, FullPrecisionSettings, Record, Recorder};
use burn::tensor::backend::Backend;

/// The recorder of every network and optimizer file in a checkpoint.
pub(crate) type CheckpointRecorder = BinBytesRecorder<FullPrecisionSettings, Vec<u8>>;

/// Decodes a record from `bytes`.
///
/// burn 0.21's byte recorder unwraps some decoding errors (invalid UTF-8 in a name, for
/// example) instead of returning them. Checksums keep damaged files away from here, so this
/// only matters for bytes that were wrong when written; they become an error, not a panic.
/// The panic message is silenced while decoding.
pub(crate) fn decode_record<B: Backend, R: Record<B>>(bytes: Vec<u8>, device: &B::Device) -> Result<R, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let decoded = catch_unwind(AssertUnwindSafe(|| CheckpointRecorder::default().load(bytes, device)));
    std::panic::set_hook(hook);
    match decoded {
        Ok(record) => record.map_err(|err| err.to_string()),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("not a valid record ({reason})"))
        }
    }
}
