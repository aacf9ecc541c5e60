//! The host kernels as burn tensors: plain ops on flex, and operations with their own
//! backward pass on `Autodiff<Flex>`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{DType, Tensor, TensorData, TensorMetadata, backend::Backend};

use super::geometry::Geometry;
use super::{backward, forward};
use crate::dispatch::{primitive_as, record_host_call, tensor_from};
use crate::host::{Real, host_values, same_dtype};

type Ad = Autodiff<Flex>;

/// Which kernel to run.
#[derive(Debug, Clone, Copy)]
enum Kernel {
    /// inputs `[x, weight]` or `[x, weight, bias]`, output `[N, C_out, H_out, W_out]`
    Forward,
    /// inputs `[grad, weight]`, output `[N, C_in, H, W]`
    InputGrad,
    /// inputs `[x, grad]`, output `[C_out, C_in, k_h, k_w]`
    WeightGrad,
    /// inputs `[grad]`, output `[C_out]`
    BiasGrad,
}

impl Kernel {
    fn output_shape(self, g: &Geometry) -> Vec<usize> {
        match self {
            Kernel::Forward => vec![g.batch, g.channels_out, g.output[0], g.output[1]],
            Kernel::InputGrad => vec![g.batch, g.channels_in, g.input[0], g.input[1]],
            Kernel::WeightGrad => vec![g.channels_out, g.channels_in, g.kernel[0], g.kernel[1]],
            Kernel::BiasGrad => vec![g.channels_out],
        }
    }
}

/// Runs `kernel` on the values of `inputs`, which share one dtype, f32 or f64 (checked by
/// the callers before any kernel runs).
fn run(kernel: Kernel, g: &Geometry, inputs: &[FlexTensor]) -> FlexTensor {
    record_host_call();
    match inputs[0].dtype() {
        DType::F64 => run_typed::<f64>(kernel, g, inputs),
        _ => run_typed::<f32>(kernel, g, inputs),
    }
}

fn run_typed<T: Real>(kernel: Kernel, g: &Geometry, inputs: &[FlexTensor]) -> FlexTensor {
    let contiguous: Vec<FlexTensor> = inputs.iter().map(FlexTensor::to_contiguous).collect();
    let host: Vec<&[T]> = contiguous.iter().map(host_values).collect();
    let values = match kernel {
        Kernel::Forward => forward::forward(g, host[0], host[1], host.get(2).copied()),
        Kernel::InputGrad => backward::input_grad(g, host[0], host[1]),
        Kernel::WeightGrad => backward::weight_grad(g, host[0], host[1]),
        Kernel::BiasGrad => backward::bias_grad(g, host[0]),
    };
    FlexTensor::from_data(TensorData::new(values, kernel.output_shape(g)))
}

/// `conv(x, weight) + bias` on flex without autodiff.
pub fn conv_inner<B: Backend>(
    g: Geometry,
    x: &Tensor<B, 4>,
    weight: &Tensor<B, 4>,
    bias: Option<&Tensor<B, 1>>,
) -> Option<Tensor<B, 4>> {
    let mut inputs = vec![primitive_as::<B, Flex, 4>(x)?, primitive_as::<B, Flex, 4>(weight)?];
    if let Some(bias) = bias {
        inputs.push(primitive_as::<B, Flex, 1>(bias)?);
    }
    if !same_dtype(&inputs.iter().collect::<Vec<_>>()) {
        return None;
    }
    tensor_from::<Flex, B, 4>(run(Kernel::Forward, &g, &inputs))
}

/// The adjoint of the convolution applied to `grad`, on flex without autodiff.
pub fn adjoint_inner<B: Backend>(g: Geometry, grad: &Tensor<B, 4>, weight: &Tensor<B, 4>) -> Option<Tensor<B, 4>> {
    let inputs = [primitive_as::<B, Flex, 4>(grad)?, primitive_as::<B, Flex, 4>(weight)?];
    if !same_dtype(&[&inputs[0], &inputs[1]]) {
        return None;
    }
    tensor_from::<Flex, B, 4>(run(Kernel::InputGrad, &g, &inputs))
}

/// Backward of `y = conv(x, weight) + bias`: input, weight and bias gradients.
#[derive(Debug)]
struct ConvBackward;

impl Backward<Flex, 3> for ConvBackward {
    /// The input, the weight, and the sizes.
    type State = (FlexTensor, FlexTensor, Geometry);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, weight, g) = ops.state;
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, run(Kernel::InputGrad, &g, &[grad.clone(), weight]));
        }
        if let Some(node) = node_weight {
            grads.register::<Flex>(node.id, run(Kernel::WeightGrad, &g, &[x, grad.clone()]));
        }
        if let Some(node) = node_bias {
            grads.register::<Flex>(node.id, run(Kernel::BiasGrad, &g, &[grad]));
        }
    }
}

/// `conv(x, weight) + bias` on `Autodiff<Flex>`, recorded with [`ConvBackward`].
pub fn conv_ad<B: Backend>(
    g: Geometry,
    x: &Tensor<B, 4>,
    weight: &Tensor<B, 4>,
    bias: Option<&Tensor<B, 1>>,
) -> Option<Tensor<B, 4>> {
    let x = primitive_as::<B, Ad, 4>(x)?;
    let weight = primitive_as::<B, Ad, 4>(weight)?;
    // Without a bias, an untracked zero vector stands in as the third parent, for the
    // graph only: it asks for no gradient and is not added to the output.
    let has_bias = bias.is_some();
    let bias = match bias {
        Some(bias) => primitive_as::<B, Ad, 1>(bias)?,
        None => Tensor::<Ad, 1>::zeros([g.channels_out], (&Default::default(), x.dtype()))
            .into_primitive()
            .tensor(),
    };
    if !same_dtype(&[&x.primitive, &weight.primitive, &bias.primitive]) {
        return None;
    }
    let mut inputs = vec![x.primitive.clone(), weight.primitive.clone()];
    if has_bias {
        inputs.push(bias.primitive.clone());
    }
    let output = run(Kernel::Forward, &g, &inputs);
    let nodes = [x.node.clone(), weight.node.clone(), bias.node.clone()];
    let result = match ConvBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((x.primitive, weight.primitive, g), output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    tensor_from::<Ad, B, 4>(result)
}

/// Backward of `x̄ = Aᵀ(ȳ, weight)`, the convolution's adjoint: both arguments enter
/// linearly, so the gradient for `ȳ` is the convolution of the upstream gradient and the
/// gradient for the weight is the weight gradient of a convolution of the upstream
/// gradient whose output gradient is `ȳ`.
#[derive(Debug)]
struct AdjointBackward;

impl Backward<Flex, 2> for AdjointBackward {
    /// `ȳ`, the weight, and the sizes of the forward convolution.
    type State = (FlexTensor, FlexTensor, Geometry);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_grad, node_weight] = ops.parents;
        let upstream = grads.consume::<Flex>(&ops.node);
        let (grad, weight, g) = ops.state;
        if let Some(node) = node_grad {
            grads.register::<Flex>(node.id, run(Kernel::Forward, &g, &[upstream.clone(), weight]));
        }
        if let Some(node) = node_weight {
            grads.register::<Flex>(node.id, run(Kernel::WeightGrad, &g, &[upstream, grad]));
        }
    }
}

/// The adjoint of the convolution applied to `grad` on `Autodiff<Flex>`, recorded with
/// [`AdjointBackward`].
pub fn adjoint_ad<B: Backend>(g: Geometry, grad: &Tensor<B, 4>, weight: &Tensor<B, 4>) -> Option<Tensor<B, 4>> {
    let grad = primitive_as::<B, Ad, 4>(grad)?;
    let weight = primitive_as::<B, Ad, 4>(weight)?;
    if !same_dtype(&[&grad.primitive, &weight.primitive]) {
        return None;
    }
    let output = run(
        Kernel::InputGrad,
        &g,
        &[grad.primitive.clone(), weight.primitive.clone()],
    );
    let nodes = [grad.node.clone(), weight.node.clone()];
    let result = match AdjointBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((grad.primitive, weight.primitive, g), output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    tensor_from::<Ad, B, 4>(result)
}
