//! Matrix products over strided views of host slices: the one place gemm is called.

use crate::host::Real;

/// A read-only matrix view: element `(r, c)` at `data[r·row_stride + c·col_stride]`.
#[derive(Clone, Copy)]
pub(super) struct View<'a, T> {
    pub(super) data: &'a [T],
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) row_stride: usize,
    pub(super) col_stride: usize,
}

impl<T> View<'_, T> {
    /// The transpose, over the same data.
    pub(super) fn transposed(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride < self.data.len()
    }
}

/// `dst = lhs·rhs`, or `dst += lhs·rhs` with `accumulate`; `dst` is row-major with rows of
/// `dst_row_len`.
pub(super) fn matmul<T: Real>(dst: &mut [T], dst_row_len: usize, lhs: View<T>, rhs: View<T>, accumulate: bool) {
    let [m, n] = [lhs.rows, rhs.cols];
    assert!(
        m == 0 || n == 0 || (m - 1) * dst_row_len + n <= dst.len(),
        "matmul: output too small"
    );
    // SAFETY: `dst` holds every element of the `m × n` product at rows of `dst_row_len`
    // (asserted above), and is borrowed mutably, so it aliases neither input.
    unsafe { gemm_into(dst.as_mut_ptr(), dst_row_len, lhs, rhs, accumulate) }
}

/// `dst = lhs·rhs` into a reused buffer, `[m, n]` row-major, replacing its contents
/// without zeroing them first.
pub(super) fn matmul_new<T: Real>(dst: &mut Vec<T>, lhs: View<T>, rhs: View<T>) {
    let len = lhs.rows * rhs.cols;
    dst.clear();
    dst.reserve(len);
    // SAFETY: the reserved capacity holds all `len` elements of the product, which gemm
    // writes without reading (`accumulate` is false); after it every element up to `len` is
    // initialised.
    unsafe {
        gemm_into(dst.as_mut_ptr(), rhs.cols, lhs, rhs, false);
        dst.set_len(len);
    }
}

/// The one call into gemm, with both views checked against their data.
///
/// # Safety
/// `dst` must be valid for writes (and reads, with `accumulate`) of every element
/// `r·dst_row_len + c` for `r < lhs.rows`, `c < rhs.cols`, and overlap neither view.
unsafe fn gemm_into<T: Real>(dst: *mut T, dst_row_len: usize, lhs: View<T>, rhs: View<T>, accumulate: bool) {
    let [m, k, n] = [lhs.rows, lhs.cols, rhs.cols];
    assert_eq!(rhs.rows, k, "matmul: inner sizes differ");
    assert!(lhs.fits() && rhs.fits(), "matmul: view exceeds its data");
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the asserts keep every element gemm reads inside the views' slices; the
    // caller vouches for `dst`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_row_len as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
