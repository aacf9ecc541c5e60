//! `wgan export`: the generator as safetensors for PyTorch.

use anyhow::Context;
use burn::backend::Flex;
use wgan_train::{export_safetensors, load_generator};

use crate::args::ExportArgs;

/// Writes the generator's weights with PyTorch names and layouts.
pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    let loaded = load_generator::<Flex>(&args.from, args.weights.into(), &Default::default())
        .with_context(|| format!("loading the generator from {}", args.from.display()))?;
    export_safetensors(&loaded.generator, &loaded.model, &args.out)?;
    eprintln!("generator: {}", loaded.describe());
    println!("{}", args.out.display());
    Ok(())
}
