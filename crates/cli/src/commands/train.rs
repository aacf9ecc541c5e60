//! `wgan train`: load the data, build the trainer, run it.

use anyhow::Context;
use burn::backend::{Autodiff, Flex};
use wgan_data::{DatasetSources, Split, load_image_set};
use wgan_train::{RunDir, Trainer};

use crate::args::TrainArgs;
use crate::progress::Progress;
use crate::settings::{DeviceChoice, load_config, parse_device, run_directory};

/// Fashion-MNIST's image size in its IDX files.
const SOURCE_SIZE: [usize; 2] = [28, 28];

/// Trains as configured and writes the run directory.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let mut extra = Vec::new();
    if let Some(steps) = args.steps {
        extra.push(format!("schedule.steps={steps}"));
    }
    if let Some(seed) = args.seed {
        extra.push(format!("seed={seed}"));
    }
    let config = load_config(&args.config, &extra)?;
    let device = parse_device(&args.device)?;
    let out = run_directory(args.out.as_deref(), &args.config.config);

    let sources = DatasetSources::standard(config.data.path.clone());
    let files = sources.locate(Split::Train).context("finding the training data")?;
    eprintln!("data: {}", files.images.display());
    let data = load_image_set(&files, Some(SOURCE_SIZE), config.model.image_size).context("loading the training data")?;
    anyhow::ensure!(
        config.model.channels == 1,
        crate::UserError(format!("model.channels: Fashion-MNIST has 1 channel, the config says {}", config.model.channels))
    );

    let run_dir = RunDir::create(&out)?;
    eprintln!("run directory: {}", run_dir.root().display());
    let mut progress = Progress::new(config.schedule.log_interval);
    match device {
        DeviceChoice::Cpu => {
            eprintln!("device: cpu (flex)");
            let mut trainer = Trainer::<Autodiff<Flex>>::new(config, data, run_dir, Default::default())?;
            trainer.run(&mut progress)?;
        }
    }
    Ok(())
}
