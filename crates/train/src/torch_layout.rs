//! Networks written out in PyTorch's names and layouts, as safetensors files that
//! `safetensors.torch.load_file` reads: the generator export and the FD-FMNIST classifier.

use std::collections::HashMap;

use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// One tensor of a state dict: its name, its shape and its row-major f32 values.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// Row-major f32 values of a tensor.
pub fn tensor_values<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    tensor.into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default()
}

/// `tensor` under `name`, in burn's shape and layout.
pub fn named<B: Backend, const D: usize>(name: String, tensor: Tensor<B, D>) -> NamedTensor {
    (name, tensor.dims().to_vec(), tensor_values(tensor))
}

/// `[rows, columns]` row-major values transposed to `[columns, rows]` row-major.
pub fn transposed(values: &[f32], rows: usize, columns: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..columns {
            out[c * rows + r] = values[r * columns + c];
        }
    }
    out
}

/// `prefix.weight` (`[out, in, kh, kw]`, the same layout in burn and PyTorch) and, if the
/// convolution has one, `prefix.bias` (`[out]`).
pub fn conv_tensors<B: Backend>(prefix: &str, conv: &Conv2d<B>) -> Vec<NamedTensor> {
    let mut out = vec![named(format!("{prefix}.weight"), conv.weight.val())];
    out.extend(
        conv.bias
            .as_ref()
            .map(|bias| named(format!("{prefix}.bias"), bias.val())),
    );
    out
}

/// `prefix.weight` as `torch.nn.Linear` holds it, `[out, in]` (burn's is `[in, out]`), and,
/// if the layer has one, `prefix.bias` (`[out]`).
pub fn linear_tensors<B: Backend>(prefix: &str, linear: &Linear<B>) -> Vec<NamedTensor> {
    let [input, output] = linear.weight.dims();
    let weight = transposed(&tensor_values(linear.weight.val()), input, output);
    let mut out = vec![(format!("{prefix}.weight"), vec![output, input], weight)];
    out.extend(
        linear
            .bias
            .as_ref()
            .map(|bias| named(format!("{prefix}.bias"), bias.val())),
    );
    out
}

/// The bytes of a safetensors file holding `tensors` as little-endian f32, with `metadata` in
/// its header.
pub fn safetensors_bytes(
    tensors: &[NamedTensor],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>, safetensors::SafeTensorError> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, values)| values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), data)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                .map(|view| (name.clone(), view))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, Some(metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposing_swaps_rows_and_columns() {
        // [[1, 2, 3], [4, 5, 6]] -> [[1, 4], [2, 5], [3, 6]]
        assert_eq!(
            transposed(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3),
            [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
    }

    #[test]
    fn safetensors_bytes_read_back_with_names_shapes_and_values() {
        let tensors = vec![
            ("a.weight".to_string(), vec![2, 2], vec![1.0, -2.0, 3.5, 0.0]),
            ("a.bias".to_string(), vec![2], vec![0.25, f32::MIN_POSITIVE]),
        ];
        let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
        let bytes = safetensors_bytes(&tensors, metadata.clone()).unwrap();
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        assert_eq!(header.metadata().as_ref(), Some(&metadata));
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        for (name, shape, values) in &tensors {
            let view = file.tensor(name).unwrap();
            assert_eq!(view.shape(), shape.as_slice());
            let read: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            assert_eq!(&read, values);
        }
    }
}
