//! `wgan compare RUN...`: several runs on one chart per metric, and a table of their results.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use wgan_train::{AtStep, Curve, Panel, RunDir, RunSummary, StepMetrics, XAxis, draw_panels, read_metrics};

use crate::UserError;
use crate::args::{CompareArgs, CompareAxis, CompareMetric};
use crate::settings::load_config;

/// Pixel size of each chart.
const CHART_SIZE: (u32, u32) = (1000, 600);

/// One run as compared: its name, every logged step and its summary.
struct ComparedRun {
    name: String,
    history: Vec<StepMetrics>,
    summary: RunSummary,
}

impl CompareMetric {
    const ALL: [Self; 6] = [
        Self::Wasserstein,
        Self::CriticLoss,
        Self::GeneratorLoss,
        Self::Gp,
        Self::Fd,
        Self::Is,
    ];

    /// The name in chart file names, as in `metrics.jsonl`.
    fn key(self) -> &'static str {
        match self {
            Self::Wasserstein => "wasserstein_estimate",
            Self::CriticLoss => "critic_loss",
            Self::GeneratorLoss => "generator_loss",
            Self::Gp => "gradient_penalty",
            Self::Fd => "fd_fmnist",
            Self::Is => "inception_score",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Wasserstein => "Wasserstein estimate",
            Self::CriticLoss => "critic loss",
            Self::GeneratorLoss => "generator loss",
            Self::Gp => "gradient-norm penalty (unweighted)",
            Self::Fd => "FD-FMNIST (lower is better)",
            Self::Is => "Inception Score (classifier)",
        }
    }

    fn value(self, metrics: &StepMetrics) -> Option<f64> {
        match self {
            Self::Wasserstein => Some(metrics.wasserstein_estimate),
            Self::CriticLoss => Some(metrics.critic_loss),
            Self::GeneratorLoss => Some(metrics.generator_loss),
            Self::Gp => metrics.gradient_penalty,
            Self::Fd => metrics.quality.map(|q| q.fd_fmnist),
            Self::Is => metrics.quality.map(|q| q.inception_score),
        }
    }
}

/// Writes the charts (paths on stderr) and prints the table on stdout.
pub fn run(args: &CompareArgs) -> anyhow::Result<()> {
    if !(0.0..1.0).contains(&args.smooth) {
        return Err(UserError(format!("--smooth {}: must be in [0, 1)", args.smooth)).into());
    }
    let names = run_names(&args.runs);
    let runs = args
        .runs
        .iter()
        .zip(names)
        .map(|(path, name)| load_run(path, name))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let requested: Vec<CompareMetric> = if args.metric.is_empty() {
        CompareMetric::ALL.to_vec()
    } else {
        args.metric.clone()
    };
    let x_axis = match args.x {
        CompareAxis::Steps => XAxis::Steps,
        CompareAxis::Time => XAxis::WallTime,
    };
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    for metric in requested {
        let curves: Vec<Curve> = runs
            .iter()
            .map(|run| Curve {
                label: run.name.clone(),
                points: run
                    .history
                    .iter()
                    .filter_map(|m| {
                        let x = match x_axis {
                            XAxis::Steps => m.step as f64,
                            XAxis::WallTime => m.elapsed_s,
                        };
                        metric.value(m).map(|y| (x, y))
                    })
                    .collect(),
            })
            .collect();
        let logged = curves.iter().any(|curve| !curve.points.is_empty());
        if !logged {
            if !args.metric.is_empty() {
                eprintln!("warning: no run logged {}; no chart", metric.key());
            }
            continue;
        }
        let panel = Panel {
            title: metric.title().to_owned(),
            curves,
        };
        let path = chart_path(&args.out, metric.key());
        // Quality is measured every few thousand steps: too few points to smooth.
        let smoothing = if matches!(metric, CompareMetric::Fd | CompareMetric::Is) {
            0.0
        } else {
            args.smooth
        };
        draw_panels(&path, &[panel], (1, 1), CHART_SIZE, x_axis, smoothing)?;
        eprintln!("wrote {}", path.display());
    }
    let rows: Vec<TableRow> = runs.iter().map(TableRow::of).collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if args.csv {
        print!("{}", csv(&rows));
    } else {
        print!("{}", markdown(&rows));
    }
    Ok(())
}

/// `compare.png` and `fd_fmnist` -> `compare-fd_fmnist.png`.
fn chart_path(out: &Path, metric: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or("compare".into(), |s| s.to_string_lossy().into_owned());
    let extension = out
        .extension()
        .map_or("png".into(), |e| e.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}-{metric}.{extension}"))
}

/// Each run's directory name, or its whole path where two runs share a name.
fn run_names(runs: &[PathBuf]) -> Vec<String> {
    let short: Vec<String> = runs
        .iter()
        .map(|path| {
            path.file_name().map_or_else(
                || path.display().to_string(),
                |name| name.to_string_lossy().into_owned(),
            )
        })
        .collect();
    short
        .iter()
        .zip(runs)
        .map(|(name, path)| {
            if short.iter().filter(|other| *other == name).count() > 1 {
                path.display().to_string()
            } else {
                name.clone()
            }
        })
        .collect()
}

/// A run's metrics, and its `summary.json` (or a summary computed from the metrics, for a
/// run written before summaries existed).
fn load_run(path: &Path, name: String) -> anyhow::Result<ComparedRun> {
    let dir = RunDir::new(path);
    if !dir.metrics().is_file() {
        return Err(UserError(format!("{}: not a run directory (no metrics.jsonl)", path.display())).into());
    }
    let history = read_metrics(&dir.metrics()).with_context(|| format!("reading run {}", path.display()))?;
    let summary = if dir.summary().is_file() {
        RunSummary::read(&dir.summary())?
    } else {
        let config = load_config(&dir.config(), &[]).with_context(|| format!("reading run {}", path.display()))?;
        RunSummary::of(&history, &config, "unknown")
    };
    Ok(ComparedRun { name, history, summary })
}

/// One line of the table.
#[derive(Debug, Serialize)]
struct TableRow {
    run: String,
    steps: u64,
    final_fd_fmnist: Option<AtStep>,
    best_fd_fmnist: Option<AtStep>,
    final_inception_score: Option<AtStep>,
    best_inception_score: Option<AtStep>,
    steps_per_s: f64,
    wall_time_s: f64,
    device: String,
}

impl TableRow {
    fn of(run: &ComparedRun) -> Self {
        let summary = &run.summary;
        Self {
            run: run.name.clone(),
            steps: summary.final_step,
            final_fd_fmnist: summary.final_fd_fmnist,
            best_fd_fmnist: summary.best_fd_fmnist,
            final_inception_score: summary.final_inception_score,
            best_inception_score: summary.best_inception_score,
            steps_per_s: summary.mean_steps_per_s,
            wall_time_s: summary.wall_time_s,
            device: summary.device.clone(),
        }
    }

    /// The cells, formatted: quality as `value (step N)`, `–` where not measured.
    fn cells(&self) -> Vec<String> {
        let at = |point: Option<AtStep>, digits: usize| {
            point.map_or("–".to_owned(), |p| format!("{:.digits$} (step {})", p.value, p.step))
        };
        vec![
            self.run.clone(),
            self.steps.to_string(),
            at(self.final_fd_fmnist, 3),
            at(self.best_fd_fmnist, 3),
            at(self.final_inception_score, 3),
            at(self.best_inception_score, 3),
            format!("{:.3}", self.steps_per_s),
            format!("{:.1}", self.wall_time_s),
            self.device.clone(),
        ]
    }
}

const HEADER: [&str; 9] = [
    "run",
    "steps",
    "final FD",
    "best FD",
    "final IS",
    "best IS",
    "steps/s",
    "wall time (s)",
    "device",
];

fn markdown(rows: &[TableRow]) -> String {
    let mut text = format!("| {} |\n|{}\n", HEADER.join(" | "), "---|".repeat(HEADER.len()));
    for row in rows {
        text.push_str(&format!("| {} |\n", row.cells().join(" | ")));
    }
    text
}

/// CSV for scripts: one number per cell, quality values and their steps in separate
/// columns, empty where not measured.
fn csv(rows: &[TableRow]) -> String {
    let quote = |cell: &str| {
        if cell.contains([',', '"', '\n']) {
            format!("\"{}\"", cell.replace('"', "\"\""))
        } else {
            cell.to_owned()
        }
    };
    let pair = |point: Option<AtStep>| {
        point.map_or([String::new(), String::new()], |p| {
            [p.value.to_string(), p.step.to_string()]
        })
    };
    let mut text = String::from(
        "run,steps,final_fd_fmnist,final_fd_fmnist_step,best_fd_fmnist,best_fd_fmnist_step,\
         final_inception_score,final_inception_score_step,best_inception_score,best_inception_score_step,\
         steps_per_s,wall_time_s,device\n",
    );
    for row in rows {
        let mut cells = vec![quote(&row.run), row.steps.to_string()];
        for point in [
            row.final_fd_fmnist,
            row.best_fd_fmnist,
            row.final_inception_score,
            row.best_inception_score,
        ] {
            cells.extend(pair(point));
        }
        cells.extend([
            row.steps_per_s.to_string(),
            row.wall_time_s.to_string(),
            quote(&row.device),
        ]);
        text.push_str(&(cells.join(",") + "\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> TableRow {
        TableRow {
            run: "lambda-10".into(),
            steps: 600,
            final_fd_fmnist: Some(AtStep { step: 600, value: 12.5 }),
            best_fd_fmnist: Some(AtStep {
                step: 500,
                value: 11.25,
            }),
            final_inception_score: Some(AtStep { step: 600, value: 6.0 }),
            best_inception_score: Some(AtStep { step: 600, value: 6.0 }),
            steps_per_s: 0.5,
            wall_time_s: 1200.0,
            device: "cpu (flex)".into(),
        }
    }

    #[test]
    fn tables_show_each_value_with_its_step() {
        let markdown = markdown(&[row()]);
        let line = markdown.lines().nth(2).unwrap();
        assert_eq!(
            line,
            "| lambda-10 | 600 | 12.500 (step 600) | 11.250 (step 500) | 6.000 (step 600) | 6.000 (step 600) | 0.500 | 1200.0 | cpu (flex) |"
        );
        let csv = csv(&[row()]);
        let (header, line) = (csv.lines().next().unwrap(), csv.lines().nth(1).unwrap());
        assert_eq!(header.split(',').count(), line.split(',').count());
        assert_eq!(line, "lambda-10,600,12.5,600,11.25,500,6,600,6,600,0.5,1200,cpu (flex)");
    }

    #[test]
    fn chart_paths_and_run_names() {
        assert_eq!(
            chart_path(Path::new("out/ab.svg"), "fd_fmnist"),
            Path::new("out/ab-fd_fmnist.svg")
        );
        assert_eq!(chart_path(Path::new("ab"), "gp"), Path::new("ab-gp.png"));
        let names = run_names(&["a/run".into(), "b/run".into(), "c/other".into()]);
        assert_eq!(names, ["a/run", "b/run", "other"]);
    }
}
