//! Charts drawn with plotters, as PNG or SVG (by the file's extension): raw values faint
//! with an exponential moving average on top (TensorBoard's smoothing, debiased), integer
//! steps on the axis, one colour and legend entry per curve. Text is rendered through
//! plotters' pure-Rust font path with the bundled DejaVu Sans ([`register_fonts`]).

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::PlotError;
use crate::{QualityPoint, RunDir, StepMetrics, TrainError};

/// Pixel size of `plots/losses.{png,svg}`.
const SIZE: (u32, u32) = (1000, 900);
/// Pixel size of `plots/quality.{png,svg}`.
const QUALITY_SIZE: (u32, u32) = (1000, 900);

/// DejaVu Sans (its licence is next to it in `assets/fonts/`).
static DEJAVU_SANS: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");

/// Curve colours, in order (Tableau 10).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Registers the bundled font as plotters' `sans-serif`, once per process.
fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font (checked by the plot tests); a failure here
        // would only mean labels without text.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, DEJAVU_SANS);
    });
}

/// One named series of `(x, y)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Legend entry (a run's name); empty for none.
    pub label: String,
    /// Points in x order.
    pub points: Vec<(f64, f64)>,
}

/// One chart: a title and its curves.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Caption above the chart.
    pub title: String,
    /// The curves, each in its own colour.
    pub curves: Vec<Curve>,
}

/// What the x axis counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XAxis {
    /// Generator steps (integer labels).
    Steps,
    /// Training wall time in seconds.
    WallTime,
}

impl XAxis {
    fn description(self) -> &'static str {
        match self {
            Self::Steps => "generator step",
            Self::WallTime => "wall time (s)",
        }
    }
}

/// TensorBoard's smoothing: an exponential moving average with weight `weight` on the past,
/// debiased so that the first values are not pulled towards 0.
pub fn smooth(values: &[f64], weight: f64) -> Vec<f64> {
    let mut last = 0.0;
    let mut debias = 1.0;
    values
        .iter()
        .map(|&value| {
            last = last * weight + (1.0 - weight) * value;
            debias *= weight;
            if weight > 0.0 { last / (1.0 - debias) } else { value }
        })
        .collect()
}

/// Draws `panels` in a `(rows, columns)` layout into a PNG or, for a `.svg` path, an SVG of
/// `size` pixels.
pub fn draw_panels(
    path: &Path,
    panels: &[Panel],
    layout: (usize, usize),
    size: (u32, u32),
    x_axis: XAxis,
    smoothing: f64,
) -> Result<(), TrainError> {
    register_fonts();
    let svg = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("svg"));
    let result = if svg {
        draw_on(
            SVGBackend::new(path, size).into_drawing_area(),
            panels,
            layout,
            x_axis,
            smoothing,
        )
    } else {
        draw_on(
            BitMapBackend::new(path, size).into_drawing_area(),
            panels,
            layout,
            x_axis,
            smoothing,
        )
    };
    result.map_err(|error| TrainError::Plot {
        path: path.to_path_buf(),
        error,
    })
}

fn draw_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panels: &[Panel],
    layout: (usize, usize),
    x_axis: XAxis,
    smoothing: f64,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let areas = root.split_evenly(layout);
    for (panel, area) in panels.iter().zip(areas.iter()) {
        draw_panel(area, panel, x_axis, smoothing)?;
    }
    Ok(root.present()?)
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    x_axis: XAxis,
    smoothing: f64,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let finite = |curve: &Curve| -> Vec<(f64, f64)> {
        curve
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect()
    };
    let curves: Vec<(String, Vec<(f64, f64)>)> = panel.curves.iter().map(|c| (c.label.clone(), finite(c))).collect();
    let all = curves.iter().flat_map(|(_, points)| points.iter().copied());
    let (x_max, low, high) = all.fold(
        (0.0f64, f64::INFINITY, f64::NEG_INFINITY),
        |(x_max, low, high), (x, y)| (x_max.max(x), low.min(y), high.max(y)),
    );
    let (low, high) = if low.is_finite() {
        let pad = ((high - low) * 0.05).max(1e-6);
        (low - pad, high + pad)
    } else {
        (0.0, 1.0)
    };
    let x_max = if x_max > 0.0 { x_max } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, low..high)?;
    let integer_label = |x: &f64| {
        if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            String::new()
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_axis.description()).light_line_style(WHITE.mix(0.0));
    if x_axis == XAxis::Steps {
        mesh.x_label_formatter(&integer_label);
    }
    mesh.draw()?;
    let labelled = curves.iter().filter(|(label, _)| !label.is_empty()).count();
    for (index, (label, points)) in curves.iter().enumerate() {
        if points.is_empty() {
            continue;
        }
        let color = PALETTE[index % PALETTE.len()];
        let ys: Vec<f64> = points.iter().map(|&(_, y)| y).collect();
        if points.len() < 3 {
            // Too few points to smooth: markers and a plain line.
            chart.draw_series(points.iter().map(|&point| Circle::new(point, 3, color.filled())))?;
        }
        if smoothing > 0.0 && points.len() >= 3 {
            chart.draw_series(LineSeries::new(points.iter().copied(), color.mix(0.25)))?;
        }
        let smoothed = if points.len() >= 3 { smooth(&ys, smoothing) } else { ys };
        let line = points.iter().zip(smoothed).map(|(&(x, _), y)| (x, y));
        let series = chart.draw_series(LineSeries::new(line, color.stroke_width(2)))?;
        if !label.is_empty() {
            series
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        }
    }
    if labelled > 0 {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 15))
            .draw()?;
    }
    Ok(())
}

/// The `(step, value)` points of one quantity over `records`.
fn series(records: &[StepMetrics], value: fn(&StepMetrics) -> Option<f64>) -> Vec<(f64, f64)> {
    records
        .iter()
        .filter_map(|m| value(m).map(|v| (m.step as f64, v)))
        .collect()
}

/// The loss panels of one run: critic loss, generator loss, Wasserstein estimate and (if
/// present) gradient penalty.
fn loss_panels(records: &[StepMetrics]) -> Vec<(&'static str, Vec<(f64, f64)>)> {
    vec![
        ("critic loss", series(records, |m| Some(m.critic_loss))),
        ("generator loss", series(records, |m| Some(m.generator_loss))),
        (
            "Wasserstein estimate",
            series(records, |m| Some(m.wasserstein_estimate)),
        ),
        (
            "gradient-norm penalty (unweighted)",
            series(records, |m| m.gradient_penalty),
        ),
    ]
}

/// Draws one run's loss panels against the generator step, smoothed with weight
/// `smoothing`, into `path` (PNG, or SVG for a `.svg` path).
pub fn plot_losses(path: &Path, records: &[StepMetrics], smoothing: f64) -> Result<(), TrainError> {
    let panels = one_curve_panels(loss_panels(records));
    draw_panels(path, &panels, (2, 2), SIZE, XAxis::Steps, smoothing)
}

/// Draws the quality of the steps that measured it into `path`: FD-FMNIST, the Inception
/// Score, KID, and precision and recall; G_ema's beside the trained generator's.
pub fn plot_quality(path: &Path, records: &[StepMetrics]) -> Result<(), TrainError> {
    type Pick = fn(&QualityPoint) -> Option<f64>;
    let ema = records.iter().any(|m| m.quality_ema.is_some());
    let curves = |label: &str, pick: Pick| {
        let mut curves = vec![Curve {
            label: if ema { format!("{label}G") } else { String::new() },
            points: quality_series(records, |m| m.quality.as_ref(), pick),
        }];
        if ema {
            curves.push(Curve {
                label: format!("{label}G_ema"),
                points: quality_series(records, |m| m.quality_ema.as_ref(), pick),
            });
        }
        curves
    };
    let panel = |title: &str, curves: Vec<Curve>| Panel {
        title: title.to_owned(),
        curves,
    };
    let mut precision_recall = curves("precision, ", |q| q.precision);
    precision_recall.extend(curves("recall, ", |q| q.recall));
    if !ema {
        precision_recall[0].label = "precision".into();
        precision_recall[1].label = "recall".into();
    }
    let panels = vec![
        panel("FD-FMNIST (lower is better)", curves("", |q| Some(q.fd_fmnist))),
        panel("Inception Score (classifier)", curves("", |q| Some(q.inception_score))),
        panel("KID (lower is better)", curves("", |q| q.kid)),
        panel("precision and recall (k = 3)", precision_recall),
    ];
    draw_panels(path, &panels, (2, 2), QUALITY_SIZE, XAxis::Steps, 0.0)
}

/// The `(step, value)` points of one quality number of one generator over `records`.
fn quality_series(
    records: &[StepMetrics],
    which: fn(&StepMetrics) -> Option<&QualityPoint>,
    pick: fn(&QualityPoint) -> Option<f64>,
) -> Vec<(f64, f64)> {
    records
        .iter()
        .filter_map(|m| which(m).and_then(pick).map(|v| (m.step as f64, v)))
        .collect()
}

/// Draws a run's plots into `dir`'s `plots/` as PNG and SVG: the losses (smoothed with
/// weight `smoothing`) and, if any record measured quality, FD-FMNIST and IS. Returns each
/// file's path with whether it could be drawn.
pub fn plot_run(dir: &RunDir, records: &[StepMetrics], smoothing: f64) -> Vec<(PathBuf, Result<(), TrainError>)> {
    let quality = records.iter().any(|m| m.quality.is_some());
    let mut drawn = Vec::new();
    for extension in ["png", "svg"] {
        let losses = dir.loss_plot().with_extension(extension);
        let result = plot_losses(&losses, records, smoothing);
        drawn.push((losses, result));
        if quality {
            let path = dir.quality_plot().with_extension(extension);
            let result = plot_quality(&path, records);
            drawn.push((path, result));
        }
    }
    drawn
}

fn one_curve_panels(panels: Vec<(&'static str, Vec<(f64, f64)>)>) -> Vec<Panel> {
    panels
        .into_iter()
        .map(|(title, points)| Panel {
            title: title.to_owned(),
            curves: vec![Curve {
                label: String::new(),
                points,
            }],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records() -> Vec<StepMetrics> {
        (1..=20)
            .map(|step| StepMetrics {
                step,
                critic_loss: -(step as f64).ln(),
                generator_loss: step as f64 * 0.1,
                wasserstein_estimate: (step as f64).ln(),
                gradient_penalty: Some(1.0 / step as f64),
                elapsed_s: step as f64,
                steps_per_s: Some(1.0),
                quality: (step % 5 == 0).then(|| crate::QualityPoint {
                    fd_fmnist: 100.0 / step as f64,
                    inception_score: 1.0 + step as f64 / 5.0,
                    inception_score_std: 0.1,
                    kid: Some(1.0 / step as f64),
                    kid_std: Some(0.01),
                    precision: Some(0.5),
                    recall: Some(0.2),
                }),
                quality_ema: None,
            })
            .collect()
    }

    #[test]
    fn plots_are_pngs_of_the_documented_size_with_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("losses.png");
        plot_losses(&path, &records(), 0.6).unwrap();
        assert_eq!(image::image_dimensions(&path).unwrap(), SIZE);
        let quality = dir.path().join("quality.png");
        plot_quality(&quality, &records()).unwrap();
        assert_eq!(image::image_dimensions(&quality).unwrap(), QUALITY_SIZE);
        // The caption strip above the first panel holds dark text pixels: the bundled font
        // rendered (without a font there would be only the white background there).
        let image = image::open(&path).unwrap().to_rgb8();
        let dark = (0..500)
            .flat_map(|x| (0..40).map(move |y| (x, y)))
            .filter(|&(x, y)| image.get_pixel(x, y).0.iter().all(|&c| c < 100))
            .count();
        assert!(dark > 50, "{dark} dark pixels in the caption strip");
    }

    #[test]
    fn svg_plots_hold_their_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("losses.svg");
        plot_losses(&path, &records(), 0.6).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("Wasserstein estimate") && svg.contains("generator step"));
    }

    #[test]
    fn smoothing_is_tensorboards_debiased_moving_average() {
        // weight 0.5 on [2, 4]: last = 1, debias 0.5 -> 2; last = 0.5 + 2 = 2.5, debias 0.75 -> 10/3.
        let smoothed = smooth(&[2.0, 4.0], 0.5);
        assert!((smoothed[0] - 2.0).abs() < 1e-12 && (smoothed[1] - 10.0 / 3.0).abs() < 1e-12);
        assert_eq!(smooth(&[1.0, 5.0], 0.0), [1.0, 5.0]);
    }
}
