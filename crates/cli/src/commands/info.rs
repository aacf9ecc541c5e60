//! `wgan info`: the resolved configuration and both networks, layer by layer.

use std::fmt::Write;

use burn::backend::Flex;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wgan_model::{Critic, Generator, NetworkSummary};

use crate::args::InfoArgs;
use crate::settings::load_config;

/// Prints the summary as text or JSON.
pub fn run(args: &InfoArgs) -> anyhow::Result<()> {
    let config = load_config(&args.config.config, &args.config.overrides)?;
    let device = Default::default();
    // The summary depends on shapes only; any weights will do.
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let generator = Generator::<Flex>::new(&config.model, &mut rng, &device)?.summary();
    let critic = Critic::<Flex>::new(&config.model, &mut rng, &device)?.summary();
    if args.json {
        let report = serde_json::json!({
            "config": config,
            "generator": generator,
            "critic": critic,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", config.to_toml());
        println!();
        print!("{}", render("generator", &generator));
        println!();
        print!("{}", render("critic", &critic));
    }
    Ok(())
}

fn render(name: &str, summary: &NetworkSummary) -> String {
    let mut out = String::new();
    let width = summary
        .layers
        .iter()
        .map(|l| l.layer.chars().count())
        .max()
        .unwrap_or(0);
    let _ = writeln!(out, "{name}:");
    for layer in &summary.layers {
        let shape = format!("{:?}", layer.output_shape);
        let flops = match layer.forward_flops {
            0 => String::new(),
            flops => format!("{:.1} MFLOP", flops as f64 / 1e6),
        };
        let _ = writeln!(
            out,
            "  {:<width$}  {:<16} {:>12} {:>14}",
            layer.layer,
            shape,
            thousands(layer.trainable_params),
            flops
        );
    }
    let _ = writeln!(
        out,
        "  {name} trainable parameters: {}; forward {:.1} MFLOP per sample",
        thousands(summary.trainable_params),
        summary.forward_flops as f64 / 1e6
    );
    out
}

/// `1234567` -> `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
