//! The sizes of one convolution the host kernels run, and how its work is cut: images
//! grouped into one product, input channels into chunks of unrolled rows.

use std::ops::Range;

/// Columns a matrix product should have at least; smaller outputs are grouped over images.
pub(super) const MIN_COLUMNS: usize = 512;

/// Rows of an unrolled matrix made at a time, at most (unless one channel has more): a
/// chunk of it stays in cache from being written to being read, where the whole matrix
/// (13 MB for the input gradient of a 256-channel 5×5 layer) would not. gemm blocks its
/// inner dimension by about this much anyway.
const CHUNK_ROWS: usize = 512;

/// Sizes of one convolution with one group and no dilation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Images in the batch.
    pub batch: usize,
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Output height and width.
    pub output: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Zero rows (columns) before the first input row (column); trailing padding is implied
    /// by `output`.
    pub padding: [usize; 2],
}

impl Geometry {
    /// `K = C_in·k_h·k_w`, the length of one unrolled patch.
    pub fn patch_len(&self) -> usize {
        self.channels_in * self.kernel[0] * self.kernel[1]
    }

    /// `L = H_out·W_out`.
    pub fn output_len(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// Elements of one input image, `C_in·H·W`.
    pub fn image_len(&self) -> usize {
        self.channels_in * self.input[0] * self.input[1]
    }

    /// Elements of one output image, `C_out·L`.
    pub fn output_image_len(&self) -> usize {
        self.channels_out * self.output_len()
    }

    /// Kernel taps per channel, `k_h·k_w`.
    pub(super) fn kernel_area(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// Input channels split into runs of about equal length with at most [`CHUNK_ROWS`]
    /// unrolled rows each (at least one channel), for `rows_per_channel` rows per channel.
    pub(super) fn channel_chunks(&self, rows_per_channel: usize) -> impl Iterator<Item = Range<usize>> + use<> {
        let channels = self.channels_in;
        let chunks = (channels * rows_per_channel)
            .div_ceil(CHUNK_ROWS)
            .clamp(1, channels.max(1));
        let per_chunk = channels.div_ceil(chunks).max(1);
        (0..channels)
            .step_by(per_chunk)
            .map(move |start| start..(start + per_chunk).min(channels))
    }

    /// Images unrolled together into one column matrix.
    pub(super) fn group(&self) -> usize {
        MIN_COLUMNS
            .div_ceil(self.output_len().max(1))
            .clamp(1, self.batch.max(1))
    }
}

/// Output positions `o < out` whose input coordinate `o·stride + offset − padding` lies in
/// `0..size`.
pub(super) fn valid_range(out: usize, size: usize, stride: usize, offset: usize, padding: usize) -> Range<usize> {
    let end = match (size + padding).checked_sub(offset + 1) {
        Some(last) => (last / stride + 1).min(out),
        None => 0,
    };
    let start = padding.saturating_sub(offset).div_ceil(stride).min(end);
    start..end
}
