//! TensorBoard event files: the framing and protobufs read back, and a resumed run whose
//! killed process had logged past its checkpoint shows every step exactly once.

mod common;

use std::collections::BTreeMap;

use burn::backend::{Autodiff, Flex};
use common::distinct_images;
use wgan_model::Variant;
use wgan_train::tensorboard::{EventKind, EventWriter, SummaryKind, event_files, frame, read_events};
use wgan_train::{Run, RunConfig, RunDir, SAMPLES_TAG, Silent, read_metrics};

type Ad = Autodiff<Flex>;

#[test]
fn written_events_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = EventWriter::create(dir.path()).unwrap();
    writer.scalar("loss/critic", 3, 1.5).unwrap();
    writer.text("config", 0, "seed = 1").unwrap();
    writer.image("samples", 3, vec![1, 2, 3], [4, 2], 1).unwrap();
    writer.session_start(4).unwrap();
    let path = writer.path().to_path_buf();
    drop(writer);
    let events = read_events(&path).unwrap();
    assert_eq!(events.len(), 5);
    assert_eq!(events[0].what, Some(EventKind::FileVersion("brain.Event:2".into())));
    let value = |index: usize| match &events[index].what {
        Some(EventKind::Summary(summary)) => summary.value[0].clone(),
        other => panic!("event {index} is not a summary: {other:?}"),
    };
    assert_eq!((events[1].step, value(1).tag.as_str()), (3, "loss/critic"));
    assert_eq!(value(1).value, Some(SummaryKind::SimpleValue(1.5)));
    match value(2).value {
        Some(SummaryKind::Tensor(tensor)) => assert_eq!(tensor.string_val, [b"seed = 1".to_vec()]),
        other => panic!("text is a string tensor: {other:?}"),
    }
    assert_eq!(value(2).metadata.unwrap().plugin_data.unwrap().plugin_name, "text");
    match value(3).value {
        Some(SummaryKind::Image(image)) => {
            assert_eq!((image.width, image.height, image.colorspace), (4, 2, 1));
            assert_eq!(image.encoded_image_string, [1, 2, 3]);
        }
        other => panic!("an image: {other:?}"),
    }
    match &events[4].what {
        Some(EventKind::SessionLog(log)) => assert_eq!((log.status, events[4].step), (1, 4)),
        other => panic!("a session log: {other:?}"),
    }
    // A second writer's file sorts after the first (TensorBoard reads in name order).
    let second = EventWriter::create(dir.path()).unwrap();
    assert_eq!(event_files(dir.path()).unwrap(), [path, second.path().to_path_buf()]);
}

fn config() -> RunConfig {
    let mut config = common::small_config(Variant::WganGp, 3, 4, 8, 8);
    config.schedule.steps = 8;
    config.schedule.checkpoint_interval = 4;
    config.schedule.sample_interval = 2;
    config.logging.grid_scale = 2;
    config
}

/// `tag -> [(step, value)]` over every event file of the run, in TensorBoard's order.
fn scalars(dir: &RunDir) -> BTreeMap<String, Vec<(i64, f32)>> {
    let mut tags: BTreeMap<String, Vec<(i64, f32)>> = BTreeMap::new();
    for path in event_files(&dir.tensorboard_dir()).unwrap() {
        for event in read_events(&path).unwrap() {
            if let Some(EventKind::Summary(summary)) = event.what {
                for value in summary.value {
                    if let Some(SummaryKind::SimpleValue(scalar)) = value.value {
                        tags.entry(value.tag).or_default().push((event.step, scalar));
                    }
                }
            }
        }
    }
    tags
}

#[test]
fn a_resumed_run_logs_every_step_once() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = RunDir::create(dir.path().join("run")).unwrap();
    let mut run = Run::<Ad>::create(config(), distinct_images(), run_dir.clone(), Default::default()).unwrap();
    run.run(&mut Silent).unwrap();
    drop(run);
    // As if killed after logging steps 5–8 but before the checkpoint of step 8, mid-record.
    std::fs::remove_dir_all(run_dir.checkpoints_dir().join("step-000008")).unwrap();
    let first_file = event_files(&run_dir.tensorboard_dir()).unwrap().remove(0);
    let mut torn = Vec::new();
    frame(b"a record cut short by the kill", &mut torn);
    let mut bytes = std::fs::read(&first_file).unwrap();
    bytes.extend_from_slice(&torn[..torn.len() - 5]);
    std::fs::write(&first_file, bytes).unwrap();

    let resumed = Run::<Ad>::resume(config(), distinct_images(), run_dir.clone(), Default::default()).unwrap();
    assert_eq!(resumed.run.step(), 4);
    let mut run = resumed.run;
    run.run(&mut Silent).unwrap();

    let metrics = read_metrics(&run_dir.metrics()).unwrap();
    let tags = scalars(&run_dir);
    assert_eq!(event_files(&run_dir.tensorboard_dir()).unwrap().len(), 2);
    for (tag, column) in [
        ("loss/critic", metrics.iter().map(|m| m.critic_loss).collect::<Vec<_>>()),
        ("loss/generator", metrics.iter().map(|m| m.generator_loss).collect()),
        (
            "loss/wasserstein_estimate",
            metrics.iter().map(|m| m.wasserstein_estimate).collect(),
        ),
        (
            "loss/gradient_penalty",
            metrics.iter().filter_map(|m| m.gradient_penalty).collect(),
        ),
        ("time/elapsed_s", metrics.iter().map(|m| m.elapsed_s).collect()),
    ] {
        let expected: Vec<(i64, f32)> = (1..=8).zip(column).map(|(step, value)| (step, value as f32)).collect();
        assert_eq!(tags[tag], expected, "{tag}: one value per step, as in metrics.jsonl");
    }
    // The grids, every 2 steps, at twice the 8×8 grid of 16 px tiles: once each.
    let mut grids = Vec::new();
    for path in event_files(&run_dir.tensorboard_dir()).unwrap() {
        for event in read_events(&path).unwrap() {
            if let Some(EventKind::Summary(summary)) = event.what {
                for value in summary.value.into_iter().filter(|v| v.tag == SAMPLES_TAG) {
                    let Some(SummaryKind::Image(image)) = value.value else {
                        panic!("{SAMPLES_TAG} is an image")
                    };
                    let decoded = image::load_from_memory(&image.encoded_image_string).unwrap();
                    let side = 2 * (8 * 18 + 2);
                    assert_eq!((decoded.width(), decoded.height()), (side, side));
                    assert_eq!((image.width, image.height), (side as i32, side as i32));
                    grids.push(event.step);
                }
            }
        }
    }
    assert_eq!(grids, [2, 4, 6, 8]);
    // summary.json tells the end of the run.
    let summary = wgan_train::RunSummary::read(&run_dir.summary()).unwrap();
    assert_eq!((summary.final_step, summary.finished), (8, true));
    assert_eq!(summary.config_sha256, wgan_train::config_sha256(&config()));
}
