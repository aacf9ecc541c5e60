//! Loss and quality curves drawn with plotters.

use std::path::Path;

use plotters::prelude::*;

use crate::error::PlotError;
use crate::{StepMetrics, TrainError};

/// Pixel size of `plots/losses.png`.
const SIZE: (u32, u32) = (1000, 900);
/// Pixel size of `plots/quality.png`.
const QUALITY_SIZE: (u32, u32) = (1000, 450);

/// Draws critic loss, generator loss, Wasserstein estimate and (if present) gradient penalty
/// against the generator step, one panel each, into a PNG at `path`.
pub fn plot_losses(path: &Path, records: &[StepMetrics]) -> Result<(), TrainError> {
    let series: [Series; 4] = [
        ("critic loss", |m| Some(m.critic_loss), BLUE),
        ("generator loss", |m| Some(m.generator_loss), RED),
        ("Wasserstein estimate", |m| Some(m.wasserstein_estimate), GREEN),
        ("gradient penalty (without λ)", |m| m.gradient_penalty, MAGENTA),
    ];
    draw(path, records, &series, (2, 2), SIZE).map_err(|error| TrainError::Plot {
        path: path.to_path_buf(),
        error,
    })
}

/// Draws FD-FMNIST and the Inception Score of the steps that measured them, into a PNG at
/// `path`.
pub fn plot_quality(path: &Path, records: &[StepMetrics]) -> Result<(), TrainError> {
    let series: [Series; 2] = [
        ("FD-FMNIST (lower is better)", |m| m.quality.map(|q| q.fd_fmnist), BLUE),
        (
            "Inception Score (classifier)",
            |m| m.quality.map(|q| q.inception_score),
            RED,
        ),
    ];
    draw(path, records, &series, (1, 2), QUALITY_SIZE).map_err(|error| TrainError::Plot {
        path: path.to_path_buf(),
        error,
    })
}

type Series = (&'static str, fn(&StepMetrics) -> Option<f64>, RGBColor);

fn draw(
    path: &Path,
    records: &[StepMetrics],
    series: &[Series],
    layout: (usize, usize),
    size: (u32, u32),
) -> Result<(), PlotError> {
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly(layout);
    let last_step = records.last().map_or(1, |m| m.step).max(1);
    for ((title, value, color), panel) in series.iter().zip(panels.iter()) {
        let points: Vec<(f64, f64)> = records
            .iter()
            .filter_map(|m| value(m).filter(|v| v.is_finite()).map(|v| (m.step as f64, v)))
            .collect();
        let (low, high) = points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, v)| {
                (lo.min(v), hi.max(v))
            });
        let (low, high) = if points.is_empty() {
            (0.0, 1.0)
        } else {
            let pad = ((high - low) * 0.05).max(1e-6);
            (low - pad, high + pad)
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(*title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..last_step as f64, low..high)?;
        chart
            .configure_mesh()
            .x_desc("generator step")
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        if points.is_empty() {
            continue;
        }
        chart.draw_series(LineSeries::new(points.iter().copied(), color))?;
        chart.draw_series(points.iter().map(|&point| Circle::new(point, 2, color.filled())))?;
    }
    Ok(root.present()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_is_a_png_of_the_documented_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("losses.png");
        let records: Vec<StepMetrics> = (1..=20)
            .map(|step| StepMetrics {
                step,
                critic_loss: -(step as f64).ln(),
                generator_loss: step as f64 * 0.1,
                wasserstein_estimate: (step as f64).ln(),
                gradient_penalty: Some(1.0 / step as f64),
                elapsed_s: step as f64,
                quality: (step % 5 == 0).then(|| crate::QualityPoint {
                    fd_fmnist: 100.0 / step as f64,
                    inception_score: 1.0 + step as f64 / 5.0,
                    inception_score_std: 0.1,
                }),
            })
            .collect();
        plot_losses(&path, &records).unwrap();
        assert_eq!(image::image_dimensions(&path).unwrap(), SIZE);
        let quality = dir.path().join("quality.png");
        plot_quality(&quality, &records).unwrap();
        assert_eq!(image::image_dimensions(&quality).unwrap(), QUALITY_SIZE);
    }
}
