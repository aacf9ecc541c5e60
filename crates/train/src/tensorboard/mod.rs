//! TensorBoard event files, written and read without TensorFlow.
//!
//! An event file is a sequence of TFRecord frames ([`record`]) around `tensorflow.Event`
//! protobufs ([`proto`]). Every event is written with one `write` call and is on disk when
//! the call returns, so a killed process leaves at most one torn record at the end, which
//! readers (TensorBoard's and [`read_events`]) stop at.

mod proto;
mod record;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

pub use proto::{
    Event, EventKind, HParamsData, HParamsPluginData, PluginData, SessionEndInfo, SessionLog, SessionStartInfo,
    Summary, SummaryImage, SummaryKind, SummaryMetadata, SummaryValue, TensorProto, TensorShapeProto,
};
pub use record::{Record, frame, masked_crc32c, parse};

use crate::TrainError;

/// Every event file's name starts with this (TensorBoard looks for `tfevents` in the name).
pub const EVENT_FILE_PREFIX: &str = "events.out.tfevents.";

/// The first record of every event file.
const FILE_VERSION: &str = "brain.Event:2";

/// A hyperparameter's value, as the hparams plugin shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum HParam {
    /// A number (sortable, filterable as an interval).
    Number(f64),
    /// A string.
    Text(String),
    /// A flag.
    Bool(bool),
}

/// One open event file, appended to.
#[derive(Debug)]
pub struct EventWriter {
    path: PathBuf,
    file: File,
}

impl EventWriter {
    /// Starts a new event file in `dir` (created if needed), named so that it sorts after
    /// every event file already there: TensorBoard reads a directory's files in name order
    /// and never goes back to an earlier one.
    pub fn create(dir: &Path) -> Result<Self, TrainError> {
        std::fs::create_dir_all(dir).map_err(|source| TrainError::io(dir, source))?;
        let existing = event_files(dir)?;
        let now = unix_seconds() as u64;
        let latest = existing
            .iter()
            .filter_map(|path| file_timestamp(path))
            .max()
            .unwrap_or(0);
        let host = gethostname::gethostname()
            .to_string_lossy()
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
        let name = format!(
            "{EVENT_FILE_PREFIX}{:010}.{host}.{:03}.wgan",
            now.max(latest),
            existing.len()
        );
        let path = dir.join(name);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|source| TrainError::io(&path, source))?;
        let mut writer = Self { path, file };
        writer.write(0, EventKind::FileVersion(FILE_VERSION.into()))?;
        Ok(writer)
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A scalar `value` under `tag` at `step` (stored as f32, as TensorBoard's scalars are).
    pub fn scalar(&mut self, tag: &str, step: u64, value: f64) -> Result<(), TrainError> {
        self.summary(step, tag, None, SummaryKind::SimpleValue(value as f32))
    }

    /// A PNG image of `width × height` pixels with `channels` (1 gray, 3 RGB).
    pub fn image(
        &mut self,
        tag: &str,
        step: u64,
        png: Vec<u8>,
        size: [u32; 2],
        channels: u32,
    ) -> Result<(), TrainError> {
        let image = SummaryImage {
            width: size[0] as i32,
            height: size[1] as i32,
            colorspace: channels as i32,
            encoded_image_string: png,
        };
        self.summary(step, tag, None, SummaryKind::Image(image))
    }

    /// A text (Markdown) value, for the text plugin.
    pub fn text(&mut self, tag: &str, step: u64, text: &str) -> Result<(), TrainError> {
        let tensor = TensorProto {
            dtype: TensorProto::STRING,
            tensor_shape: Some(TensorShapeProto::default()),
            float_val: Vec::new(),
            string_val: vec![text.as_bytes().to_vec()],
        };
        self.summary(
            step,
            tag,
            Some(plugin_metadata("text", Vec::new())),
            SummaryKind::Tensor(tensor),
        )
    }

    /// A `SessionLog` START at `step`: a reader that already read events at `step` or later
    /// (from a process that was killed) drops them.
    pub fn session_start(&mut self, step: u64) -> Result<(), TrainError> {
        let log = SessionLog {
            status: SessionLog::START,
            checkpoint_path: String::new(),
            msg: format!("resumed at step {step}"),
        };
        self.write(step, EventKind::SessionLog(log))
    }

    /// The run's hyperparameters for the hparams plugin, which pairs them with the run's
    /// scalars (its metrics).
    pub fn hparams(&mut self, hparams: &[(String, HParam)]) -> Result<(), TrainError> {
        let hparams = hparams
            .iter()
            .map(|(name, value)| {
                let kind = match value {
                    HParam::Number(number) => prost_types::value::Kind::NumberValue(*number),
                    HParam::Text(text) => prost_types::value::Kind::StringValue(text.clone()),
                    HParam::Bool(flag) => prost_types::value::Kind::BoolValue(*flag),
                };
                (name.clone(), prost_types::Value { kind: Some(kind) })
            })
            .collect();
        let start = SessionStartInfo {
            hparams,
            group_name: String::new(),
            start_time_secs: unix_seconds(),
        };
        self.hparams_data("_hparams_/session_start_info", 0, HParamsData::SessionStartInfo(start))
    }

    /// The hparams plugin's end-of-session marker, for a run that finished at `step`.
    pub fn hparams_end(&mut self, step: u64) -> Result<(), TrainError> {
        let end = SessionEndInfo {
            status: 1,
            end_time_secs: unix_seconds(),
        };
        self.hparams_data("_hparams_/session_end_info", step, HParamsData::SessionEndInfo(end))
    }

    fn hparams_data(&mut self, tag: &str, step: u64, data: HParamsData) -> Result<(), TrainError> {
        let content = HParamsPluginData {
            version: 0,
            data: Some(data),
        }
        .encode_to_vec();
        // The plugin's summaries carry an empty float tensor, as TensorBoard's own writer does.
        let tensor = TensorProto {
            dtype: TensorProto::FLOAT,
            tensor_shape: Some(TensorShapeProto::default()),
            float_val: vec![0.0],
            string_val: Vec::new(),
        };
        self.summary(
            step,
            tag,
            Some(plugin_metadata("hparams", content)),
            SummaryKind::Tensor(tensor),
        )
    }

    fn summary(
        &mut self,
        step: u64,
        tag: &str,
        metadata: Option<SummaryMetadata>,
        value: SummaryKind,
    ) -> Result<(), TrainError> {
        let summary = Summary {
            value: vec![SummaryValue {
                tag: tag.to_owned(),
                metadata,
                value: Some(value),
            }],
        };
        self.write(step, EventKind::Summary(summary))
    }

    fn write(&mut self, step: u64, what: EventKind) -> Result<(), TrainError> {
        let event = Event {
            wall_time: unix_seconds(),
            step: step as i64,
            what: Some(what),
        };
        let mut bytes = Vec::new();
        frame(&event.encode_to_vec(), &mut bytes);
        self.file
            .write_all(&bytes)
            .map_err(|source| TrainError::io(&self.path, source))
    }
}

/// Metadata naming the plugin that reads a tensor summary.
fn plugin_metadata(plugin: &str, content: Vec<u8>) -> SummaryMetadata {
    SummaryMetadata {
        plugin_data: Some(PluginData {
            plugin_name: plugin.to_owned(),
            content,
        }),
        display_name: String::new(),
        summary_description: String::new(),
        // DATA_CLASS_TENSOR
        data_class: 2,
    }
}

fn unix_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

/// The Unix time in an event file's name.
fn file_timestamp(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix(EVENT_FILE_PREFIX)?.split('.').next()?.parse().ok()
}

/// The event files in `dir`, in name order (TensorBoard's reading order); none if `dir` does
/// not exist.
pub fn event_files(dir: &Path) -> Result<Vec<PathBuf>, TrainError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(TrainError::io(dir, source)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| TrainError::io(dir, source))?;
        if entry.file_name().to_string_lossy().starts_with(EVENT_FILE_PREFIX) {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Every event of an event file, up to a torn or damaged record.
pub fn read_events(path: &Path) -> Result<Vec<Event>, TrainError> {
    let bytes = std::fs::read(path).map_err(|source| TrainError::io(path, source))?;
    let (records, _) = parse(&bytes);
    records
        .iter()
        .map(|record| {
            Event::decode(record.data).map_err(|error| TrainError::EventFile {
                path: path.to_path_buf(),
                offset: record.offset,
                reason: error.to_string(),
            })
        })
        .collect()
}

/// Cuts every event file in `dir` back to the events a run resumed at `step` keeps: those
/// up to `step` (`None`: only each file's version record, for a run that starts over). The
/// events a killed process logged after its last checkpoint, and a torn last record, are
/// removed, so that the resumed process logs each later step exactly once.
pub fn keep_events_through(dir: &Path, step: Option<u64>) -> Result<(), TrainError> {
    for path in event_files(dir)? {
        let bytes = std::fs::read(&path).map_err(|source| TrainError::io(&path, source))?;
        let (records, end) = parse(&bytes);
        // Kept: each file's version record, and events up to `step`; the first record
        // that is neither (or does not decode) is where the file is cut.
        let kept = |data: &[u8]| match Event::decode(data) {
            Err(_) => false,
            Ok(event) if matches!(event.what, Some(EventKind::FileVersion(_))) => true,
            Ok(event) => step.is_some_and(|step| event.step <= step as i64),
        };
        let keep = records
            .iter()
            .find(|record| !kept(record.data))
            .map_or(end, |record| record.offset);
        if keep < bytes.len() {
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|source| TrainError::io(&path, source))?;
            file.set_len(keep as u64)
                .and_then(|()| file.sync_all())
                .map_err(|source| TrainError::io(&path, source))?;
        }
    }
    Ok(())
}
