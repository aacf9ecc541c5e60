//! Spectral normalisation: the power iteration finds each critic weight's largest singular
//! value (checked against nalgebra's SVD), the normalised weights have spectral norm 1, and
//! vectors that do not fit the critic are refused.

use burn::backend::Flex;
use burn::tensor::{DType, Tensor};
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wgan_model::{Critic, ModelConfig, ModelError, SpectralVectors, Variant, cast_parameters};

/// A WGAN-GP critic at DIM 4 in f64: three convolutions and the linear layer.
fn critic() -> Critic<Flex> {
    let config = ModelConfig::preset(Variant::WganGp, 4);
    let critic = Critic::<Flex>::new(&config, &mut ChaCha8Rng::seed_from_u64(2), &Default::default()).unwrap();
    cast_parameters(critic, DType::F64)
}

/// The largest singular value of a `[rows, columns]` tensor, by SVD.
fn largest_singular_value(matrix: Tensor<Flex, 2>) -> f64 {
    let [rows, columns] = matrix.dims();
    let values = matrix.cast(DType::F64).into_data().to_vec::<f64>().unwrap();
    let matrix = DMatrix::from_row_slice(rows, columns, &values);
    matrix.singular_values().max()
}

fn scalars(tensors: Vec<Tensor<Flex, 1>>) -> Vec<f64> {
    tensors
        .into_iter()
        .map(|t| t.into_data().to_vec::<f64>().unwrap()[0])
        .collect()
}

#[test]
fn power_iteration_finds_each_weights_largest_singular_value() {
    let critic = critic();
    let shapes: Vec<[usize; 2]> = critic.weight_matrices().iter().map(|w| w.dims()).collect();
    assert_eq!(shapes, [[4, 25], [8, 100], [16, 200], [1, 256]]);
    let start = SpectralVectors::new(&critic, &mut ChaCha8Rng::seed_from_u64(9));
    let converged = start.iterate(&critic, 500);
    let estimates = scalars(converged.sigmas(&critic));
    let exact: Vec<f64> = critic
        .weight_matrices()
        .into_iter()
        .map(largest_singular_value)
        .collect();
    for (index, (estimate, exact)) in estimates.iter().zip(&exact).enumerate() {
        assert!(
            (estimate - exact).abs() < 1e-6 * exact,
            "weight {index}: power iteration {estimate}, SVD {exact}"
        );
    }
    // The linear layer is one row: one iteration gives σ = ‖w‖ exactly.
    let one = scalars(start.iterate(&critic, 1).sigmas(&critic));
    assert!((one[3] - exact[3]).abs() < 1e-12 * exact[3]);
    // One iteration from random vectors underestimates the convolutions' σ.
    assert!(one[..3].iter().zip(&exact).all(|(estimate, exact)| estimate < exact));
}

#[test]
fn normalised_weights_have_spectral_norm_one() {
    let critic = critic();
    let vectors = SpectralVectors::new(&critic, &mut ChaCha8Rng::seed_from_u64(9)).iterate(&critic, 500);
    let normalized = critic.spectrally_normalized(&vectors);
    for (index, weight) in normalized.weight_matrices().into_iter().enumerate() {
        let sigma = largest_singular_value(weight);
        assert!(
            (sigma - 1.0).abs() < 1e-6,
            "weight {index}: σ = {sigma} after normalising"
        );
    }
    // Biases are untouched, and the original critic too.
    assert_eq!(
        normalized.output.bias.as_ref().unwrap().val().into_data(),
        critic.output.bias.as_ref().unwrap().val().into_data()
    );
    assert!(largest_singular_value(critic.weight_matrices().remove(1)) != 1.0);
}

#[test]
fn vectors_round_trip_and_misfits_are_refused() {
    let critic = critic();
    let vectors = SpectralVectors::new(&critic, &mut ChaCha8Rng::seed_from_u64(1)).iterate(&critic, 2);
    let values = |tensors: &[Tensor<Flex, 1>]| -> Vec<Vec<f32>> {
        tensors
            .iter()
            .map(|t| t.clone().cast(DType::F32).into_data().to_vec::<f32>().unwrap())
            .collect()
    };
    let (u, v) = (values(&vectors.u), values(&vectors.v));
    let restored = SpectralVectors::from_values(&critic, u.clone(), v.clone()).unwrap();
    assert_eq!((values(&restored.u), values(&restored.v)), (u.clone(), v.clone()));
    let mut short = u.clone();
    short[1].pop();
    let err = SpectralVectors::from_values(&critic, short, v).unwrap_err();
    assert!(matches!(err, ModelError::SpectralVectors { .. }));
    assert!(err.to_string().contains("u [4, 7, 16, 1]"), "{err}");
}
