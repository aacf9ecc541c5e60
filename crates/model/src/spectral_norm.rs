//! Spectral normalisation of the critic (Miyato et al. 2018).
//!
//! Every critic weight is read as a matrix `W` of shape `[out, in]`: a convolution's kernel
//! `[out, in, k, k]` reshaped to `[out, in·k·k]` (the paper's treatment of convolutions),
//! the linear layer's burn weight `[in, out]` transposed. Its largest singular value is
//! estimated by power iteration, `v ← Wᵀu/‖Wᵀu‖`, `u ← Wv/‖Wv‖`, `σ = uᵀWv`, and the critic
//! uses `W/σ`. The vectors persist from step to step, so one iteration per step tracks σ as
//! `W` moves. The gradient of `W/σ` treats `u` and `v` as constants (`∂σ/∂W = u vᵀ`), as the
//! paper and PyTorch's `spectral_norm` do.

use burn::tensor::{Tensor, TensorData, backend::Backend};
use rand::Rng;
use rand_distr::StandardNormal;

use crate::{Critic, ModelError};

/// Keeps a normalisation from dividing by zero (PyTorch's `F.normalize` uses the same).
const NORM_EPSILON: f64 = 1e-12;

/// The power-iteration vectors of every critic weight, in the order of
/// [`Critic::weight_matrices`]: `u` of length `out`, `v` of length `in`.
#[derive(Debug, Clone)]
pub struct SpectralVectors<B: Backend> {
    /// Left singular vector estimates, one per weight, shape `[out]`.
    pub u: Vec<Tensor<B, 1>>,
    /// Right singular vector estimates, one per weight, shape `[in]`.
    pub v: Vec<Tensor<B, 1>>,
}

impl<B: Backend> SpectralVectors<B> {
    /// Random unit vectors `u`, `v` ~ N(0, I) normalised, drawn from `rng` weight by weight.
    pub fn new(critic: &Critic<B>, rng: &mut impl Rng) -> Self {
        let shapes = critic.weight_shapes();
        let mut draw = |len: usize| -> Vec<f32> {
            let values: Vec<f32> = (0..len).map(|_| rng.sample(StandardNormal)).collect();
            let norm = values.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            values
                .iter()
                .map(|x| (f64::from(*x) / norm.max(NORM_EPSILON)) as f32)
                .collect()
        };
        let mut u = Vec::with_capacity(shapes.len());
        let mut v = Vec::with_capacity(shapes.len());
        for [rows, columns] in shapes {
            u.push(draw(rows));
            v.push(draw(columns));
        }
        Self::upload(critic, u, v)
    }

    /// Vectors from host values (a checkpoint's), checked against `critic`'s weights and
    /// placed on its device in its dtype.
    pub fn from_values(critic: &Critic<B>, u: Vec<Vec<f32>>, v: Vec<Vec<f32>>) -> Result<Self, ModelError> {
        let shapes = critic.weight_shapes();
        let lengths = |vectors: &[Vec<f32>]| vectors.iter().map(Vec::len).collect::<Vec<_>>();
        let expected_u: Vec<usize> = shapes.iter().map(|[rows, _]| *rows).collect();
        let expected_v: Vec<usize> = shapes.iter().map(|[_, columns]| *columns).collect();
        if lengths(&u) != expected_u || lengths(&v) != expected_v {
            return Err(ModelError::SpectralVectors {
                expected: shapes,
                u: lengths(&u),
                v: lengths(&v),
            });
        }
        Ok(Self::upload(critic, u, v))
    }

    /// Host vectors onto `critic`'s device, in its dtype.
    fn upload(critic: &Critic<B>, u: Vec<Vec<f32>>, v: Vec<Vec<f32>>) -> Self {
        let weight = critic.output.weight.val();
        let (device, dtype) = (weight.device(), weight.dtype());
        let upload = |values: Vec<f32>| {
            let len = values.len();
            Tensor::<B, 1>::from_data(TensorData::new(values, [len]), &device).cast(dtype)
        };
        Self {
            u: u.into_iter().map(upload).collect(),
            v: v.into_iter().map(upload).collect(),
        }
    }

    /// `iterations` power iterations on each of `critic`'s weights, starting from these
    /// vectors; no autodiff history.
    pub fn iterate(&self, critic: &Critic<B>, iterations: u32) -> Self {
        let mut u = Vec::with_capacity(self.u.len());
        let mut v = Vec::with_capacity(self.v.len());
        for ((weight, u0), v0) in critic.weight_matrices().into_iter().zip(&self.u).zip(&self.v) {
            let weight = weight.detach();
            let (mut left, mut right) = (u0.clone(), v0.clone());
            for _ in 0..iterations {
                right = normalized(matrix_vector(weight.clone().transpose(), left));
                left = normalized(matrix_vector(weight.clone(), right.clone()));
            }
            u.push(left);
            v.push(right);
        }
        Self { u, v }
    }

    /// `σ = uᵀWv` of every weight of `critic`, differentiable in `W` (the vectors are
    /// constants), each of shape `[1]`.
    pub fn sigmas(&self, critic: &Critic<B>) -> Vec<Tensor<B, 1>> {
        critic
            .weight_matrices()
            .into_iter()
            .zip(&self.u)
            .zip(&self.v)
            .map(|((weight, u), v)| matrix_vector(weight, v.clone().detach()).mul(u.clone().detach()).sum())
            .collect()
    }
}

impl<B: Backend> Critic<B> {
    /// This critic with every weight `W` replaced by `W/σ(W)`, σ from `vectors`
    /// ([`SpectralVectors::sigmas`]); differentiable with respect to the original weights.
    /// Biases and BatchNorm are unchanged.
    pub fn spectrally_normalized(&self, vectors: &SpectralVectors<B>) -> Self {
        let sigmas = vectors.sigmas(self);
        let mut normalized = self.clone();
        let (blocks, output) = sigmas.split_at(self.blocks.len());
        for (block, sigma) in normalized.blocks.iter_mut().zip(blocks) {
            let sigma = sigma.clone().reshape([1, 1, 1, 1]);
            block.conv.weight = block.conv.weight.clone().map(|w| w.div(sigma));
        }
        if let Some(sigma) = output.first() {
            let sigma = sigma.clone().reshape([1, 1]);
            normalized.output.weight = normalized.output.weight.clone().map(|w| w.div(sigma));
        }
        normalized
    }

    /// Every weight as the matrix spectral normalisation sees, `[out, in]`: the blocks'
    /// convolution kernels `[out, in·k·k]`, then the linear layer's weight transposed.
    pub fn weight_matrices(&self) -> Vec<Tensor<B, 2>> {
        let mut matrices: Vec<Tensor<B, 2>> = self
            .blocks
            .iter()
            .map(|block| block.conv.weight.val().flatten::<2>(1, 3))
            .collect();
        matrices.push(self.output.weight.val().transpose());
        matrices
    }

    /// `[out, in]` of every matrix in [`Critic::weight_matrices`], without touching the data.
    fn weight_shapes(&self) -> Vec<[usize; 2]> {
        let mut shapes: Vec<[usize; 2]> = self
            .blocks
            .iter()
            .map(|block| {
                let [out, input, kh, kw] = block.conv.weight.val().dims();
                [out, input * kh * kw]
            })
            .collect();
        let [input, out] = self.output.weight.val().dims();
        shapes.push([out, input]);
        shapes
    }
}

/// `W·x` for `W: [m, n]`, `x: [n]`; output `[m]`.
fn matrix_vector<B: Backend>(weight: Tensor<B, 2>, x: Tensor<B, 1>) -> Tensor<B, 1> {
    let [rows, columns] = weight.dims();
    weight.matmul(x.reshape([columns, 1])).reshape([rows])
}

/// `x/max(‖x‖, ε)`.
fn normalized<B: Backend>(x: Tensor<B, 1>) -> Tensor<B, 1> {
    let norm = x.clone().square().sum().sqrt().clamp_min(NORM_EPSILON);
    x.div(norm)
}
