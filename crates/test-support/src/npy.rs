//! NPY arrays for the data tests, written as `numpy.save` would.

use std::path::Path;

use npyz::WriterBuilder;

/// Writes `data` as a C-order array of `shape` with `T`'s default dtype (`|u1`, `<f4`, …).
pub fn write_npy<T: npyz::Serialize + npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], data: &[T]) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(shape)
        .writer(std::io::BufWriter::new(file))
        .begin_nd()
        .unwrap();
    writer.extend(data.iter().copied()).unwrap();
    writer.finish().unwrap();
}
