//! `wgan data`: inspect a source as a run would see it, fill its cache, or write
//! Fashion-MNIST out as an image folder.

use std::path::Path;

use anyhow::Context;
use image::GrayImage;
use rayon::prelude::*;
use wgan_data::{
    CacheStatus, DatasetSources, FASHION_MNIST_CLASSES, LoadedData, SourceKind, Split, read_idx_images, read_idx_labels,
};
use wgan_train::RunConfig;

use crate::UserError;
use crate::args::{DataExportArgs, DataInspectArgs, DataSourceArgs};
use crate::dataset::load_spec;
use crate::settings::load_config;

/// Images on the contact sheet, and its columns.
const SHEET_IMAGES: usize = 64;
const SHEET_COLUMNS: usize = 8;

/// Prints the report and writes the contact sheet.
pub fn inspect(args: &DataInspectArgs) -> anyhow::Result<()> {
    let (config, loaded) = load_source(&args.source)?;
    let LoadedData { images, report } = loaded;
    let shown = images.len().min(SHEET_IMAGES);
    wgan_train::write_grid(
        &args.sheet,
        &images.unit_range(0..shown),
        images.channels(),
        images.size(),
        SHEET_COLUMNS,
    )
    .with_context(|| format!("writing the contact sheet {}", args.sheet.display()))?;
    if args.json {
        let mut json = serde_json::to_value(&report)?;
        json["contact_sheet"] = args.sheet.display().to_string().into();
        println!("{json}");
    } else {
        print!("{report}");
        println!(
            "sheet      {}: the first {shown} images as the critic sees them ({}×{}, {} channel{})",
            args.sheet.display(),
            images.size(),
            images.size(),
            images.channels(),
            if images.channels() == 1 { "" } else { "s" }
        );
    }
    if images.len() < config.data.batch_size {
        eprintln!(
            "warning: {} images are fewer than data.batch_size = {}; training would refuse them",
            images.len(),
            config.data.batch_size
        );
    }
    Ok(())
}

/// Loads the source through the cache and says whether it was read or written.
pub fn prepare(args: &DataSourceArgs) -> anyhow::Result<()> {
    let (config, loaded) = load_source(args)?;
    if config.data.source != SourceKind::ImageFolder {
        println!(
            "{}: {} images load directly in {:.2} s; only image folders are cached",
            loaded.report.source, loaded.report.count, loaded.report.seconds
        );
        return Ok(());
    }
    match &loaded.report.cache {
        CacheStatus::Off => Err(UserError("data.cache = false: nothing to prepare".into()).into()),
        CacheStatus::Hit { path } => {
            println!(
                "{}: the cache {path} is up to date ({:.2} s to read)",
                loaded.report.source, loaded.report.seconds
            );
            Ok(())
        }
        CacheStatus::Written { path, .. } => {
            println!(
                "{}: {} images decoded in {:.2} s, cache written to {path}",
                loaded.report.source, loaded.report.count, loaded.report.seconds
            );
            Ok(())
        }
        CacheStatus::WriteFailed { reason } => Err(UserError(format!("the cache was not written: {reason}")).into()),
    }
}

/// The configuration (a file or the wgan-gp preset, with `--set`) with `data.source` and
/// `data.path` set from the arguments, and its data loaded.
fn load_source(args: &DataSourceArgs) -> anyhow::Result<(RunConfig, LoadedData)> {
    let source = match &args.source {
        Some(name) => name.clone(),
        None => SourceKind::detect(&args.path)?.name().to_string(),
    };
    let mut overrides = args.overrides.clone();
    overrides.push(format!("data.source={}", toml::Value::String(source)));
    overrides.push(format!(
        "data.path={}",
        toml::Value::String(args.path.display().to_string())
    ));
    let config = match &args.config {
        Some(path) => load_config(path, &overrides)?,
        None => RunConfig::from_toml("preset = \"wgan-gp\"", &overrides).context("the data settings")?,
    };
    let loaded =
        load_spec(&config.data.spec(&config.model)).with_context(|| format!("loading {}", args.path.display()))?;
    Ok((config, loaded))
}

/// Writes the split as `OUT/<label>-<class>/<index>.png`, 8-bit gray, 28×28 as in the IDX files.
pub fn export(args: &DataExportArgs) -> anyhow::Result<()> {
    let split = if args.split == "test" {
        Split::Test
    } else {
        Split::Train
    };
    let files = DatasetSources::standard(args.data.clone())
        .locate(split)
        .context("finding Fashion-MNIST")?;
    let images = read_idx_images(&files.images)?;
    let labels = read_idx_labels(&files.labels)?.labels;
    let count = args.limit.unwrap_or(images.count).min(images.count).min(labels.len());
    ensure_empty_dir(&args.out)?;
    let folders: Vec<_> = FASHION_MNIST_CLASSES
        .iter()
        .enumerate()
        .map(|(label, name)| args.out.join(format!("{label}-{}", slug(name))))
        .collect();
    for folder in &folders {
        std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    }
    let image_len = images.rows * images.columns;
    (0..count).into_par_iter().try_for_each(|index| -> anyhow::Result<()> {
        let pixels = images.pixels[index * image_len..(index + 1) * image_len].to_vec();
        let image = GrayImage::from_raw(images.columns as u32, images.rows as u32, pixels)
            .context("image buffer of the wrong size")?;
        let folder = folders.get(labels[index] as usize).with_context(|| {
            format!(
                "{}: label {} is not a Fashion-MNIST class",
                files.labels.display(),
                labels[index]
            )
        })?;
        let path = folder.join(format!("{index:05}.png"));
        image
            .save(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    })?;
    println!("wrote {count} images to {}/<label>-<class>/", args.out.display());
    Ok(())
}

/// `T-shirt/top` → `t-shirt-top`.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn ensure_empty_dir(path: &Path) -> anyhow::Result<()> {
    let occupied = std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_some());
    if occupied {
        return Err(UserError(format!(
            "{}: exists and is not empty; export into a new folder",
            path.display()
        ))
        .into());
    }
    Ok(())
}
