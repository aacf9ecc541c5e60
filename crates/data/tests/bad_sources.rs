//! Bad data, each met with an error that names the file or folder: empty and image-less
//! folders, corrupt and truncated images, decompression bombs, symbolic-link loops,
//! unreadable files, wrong NPY arrays, and channel counts no image converts to.

use std::path::Path;

use wgan_data::{DataError, DataSpec, LoadedData, Preprocessing, SourceKind, UnreadablePolicy, load_data};
use wgan_test_support::images::{Fill, pattern, png_declaring, save, truncated_jpeg};
use wgan_test_support::npy::write_npy;

fn spec(source: SourceKind, path: &Path) -> DataSpec {
    DataSpec::new(source, path, Preprocessing::new(8, 3))
}

fn error(spec: &DataSpec) -> String {
    load_data(spec, &()).unwrap_err().to_string()
}

fn skipping(spec: DataSpec, max_fraction: f64) -> DataSpec {
    DataSpec {
        unreadable: UnreadablePolicy {
            skip: true,
            max_fraction,
        },
        ..spec
    }
}

/// Four good PNGs and `bad` written as `bad.jpg`.
fn folder_with(bad: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for index in 0..4 {
        save(
            &pattern(12, 12, Fill::Rgb, index),
            &dir.path().join(format!("good-{index}.png")),
        );
    }
    std::fs::write(dir.path().join("bad.jpg"), bad).unwrap();
    dir
}

#[test]
fn an_empty_folder_says_what_was_searched() {
    let dir = tempfile::tempdir().unwrap();
    let err = error(&spec(SourceKind::ImageFolder, dir.path()));
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
    assert!(
        err.contains("no images found") && err.contains(".png") && err.contains(".webp"),
        "{err}"
    );
}

#[test]
fn a_folder_of_non_images_counts_what_it_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".DS_Store"), b"x").unwrap();
    std::fs::write(dir.path().join("Thumbs.db"), b"x").unwrap();
    std::fs::write(dir.path().join("readme.txt"), b"x").unwrap();
    let err = error(&spec(SourceKind::ImageFolder, dir.path()));
    assert!(err.contains("3 other files skipped"), "{err}");
    assert!(err.contains("Thumbs.db"), "{err}");
}

#[test]
fn a_corrupt_jpeg_is_named_or_skipped_and_counted() {
    let dir = folder_with(&truncated_jpeg());
    let strict = spec(SourceKind::ImageFolder, dir.path());
    let err = error(&strict);
    assert!(err.contains("bad.jpg") && err.contains("unreadable image"), "{err}");

    let loaded: LoadedData = load_data(&skipping(strict.clone(), 0.25), &()).unwrap();
    assert_eq!(loaded.images.len(), 4);
    assert_eq!(loaded.report.unreadable.len(), 1);
    assert!(
        loaded.report.unreadable[0].contains("bad.jpg"),
        "{:?}",
        loaded.report.unreadable
    );

    // One in five is more than 10 %.
    let err = error(&skipping(strict, 0.1));
    assert!(err.contains("1 of 5 image files are unreadable (20.00%)"), "{err}");
    assert!(
        err.contains("max_unreadable_fraction = 0.1") && err.contains("bad.jpg"),
        "{err}"
    );
}

#[test]
fn text_with_an_image_extension_is_unreadable_not_a_panic() {
    let dir = folder_with(b"this is not a JPEG at all");
    let err = error(&spec(SourceKind::ImageFolder, dir.path()));
    assert!(err.contains("bad.jpg"), "{err}");
}

#[test]
fn decompression_bombs_are_refused_by_the_limits() {
    for (width, height) in [(100_000, 100_000), (16_000, 16_000)] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bomb.png"), png_declaring(width, height)).unwrap();
        let err = error(&spec(SourceKind::ImageFolder, dir.path()));
        assert!(
            err.contains("bomb.png") && err.contains("decoder limits"),
            "{width}×{height}: {err}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_named() {
    let dir = tempfile::tempdir().unwrap();
    save(&pattern(8, 8, Fill::Gray, 0), &dir.path().join("a/one.png"));
    std::os::unix::fs::symlink(dir.path(), dir.path().join("a/back-up")).unwrap();
    let err = error(&spec(SourceKind::ImageFolder, dir.path()));
    assert!(err.contains("symbolic link loop") && err.contains("back-up"), "{err}");
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.png");
    save(&pattern(8, 8, Fill::Gray, 0), &path);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&path).is_ok() {
        println!("SKIPPED: running as root, file permissions are not enforced");
        return;
    }
    let err = error(&spec(SourceKind::ImageFolder, dir.path()));
    assert!(err.contains("locked.png") && err.contains("ermission denied"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_fifo_with_an_image_name_is_skipped_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    save(&pattern(8, 8, Fill::Gray, 0), &dir.path().join("real.png"));
    let fifo = dir.path().join("pipe.png");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        println!("SKIPPED: mkfifo unavailable");
        return;
    }
    let loaded = load_data(&spec(SourceKind::ImageFolder, dir.path()), &()).unwrap();
    assert_eq!((loaded.images.len(), loaded.report.skipped), (1, 1));
}

#[test]
fn wrong_npy_arrays_say_what_was_found_and_what_is_needed() {
    let dir = tempfile::tempdir().unwrap();
    type Writer = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Writer, &str)> = vec![
        (
            "ints.npy",
            Box::new(|p| write_npy(p, &[2, 1, 4, 4], &[0i64; 32])),
            "dtype '<i8'; expected dtype uint8, float32 or float64",
        ),
        (
            "rank2.npy",
            Box::new(|p| write_npy(p, &[4, 4], &[0u8; 16])),
            "shape [4, 4] (rank 2)",
        ),
        (
            "axes.npy",
            Box::new(|p| write_npy(p, &[2, 5, 4, 7], &[0u8; 280])),
            "neither axis 1 nor axis 3",
        ),
        (
            "range.npy",
            Box::new(|p| write_npy(p, &[1, 1, 2, 2], &[0.0f32, 2.0, 3.0, 255.0])),
            "float values spanning [0, 255]",
        ),
        (
            "nan.npy",
            Box::new(|p| write_npy(p, &[1, 1, 1, 2], &[0.5f32, f32::NAN])),
            "non-finite",
        ),
        (
            "text.npy",
            Box::new(|p| std::fs::write(p, b"not numpy").unwrap()),
            "not an NPY file",
        ),
    ];
    for (name, write, expected) in cases {
        let path = dir.path().join(name);
        write(&path);
        let err = error(&spec(SourceKind::Npy, &path));
        assert!(err.contains(name) && err.contains(expected), "{name}: {err}");
    }
    // Cut short after the header: the data cannot be read.
    let path = dir.path().join("short.npy");
    write_npy(&path, &[4, 1, 8, 8], &[7u8; 256]);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let err = error(&spec(SourceKind::Npy, &path));
    assert!(err.contains("short.npy") && err.contains("cannot be read"), "{err}");
}

#[test]
fn channels_no_image_converts_to_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    save(&pattern(8, 8, Fill::Gray, 0), &dir.path().join("a.png"));
    let mut four = spec(SourceKind::ImageFolder, dir.path());
    four.preprocessing.channels = 4;
    assert!(matches!(
        load_data(&four, &()),
        Err(DataError::Channels { requested: 4 })
    ));
}

#[test]
fn a_source_without_its_path_names_the_field() {
    let mut missing = spec(SourceKind::ImageFolder, Path::new("."));
    missing.path = None;
    assert!(error(&missing).starts_with("data.path: data.source = \"image-folder\" needs"));
    let err = error(&spec(SourceKind::ImageFolder, Path::new("/no/such/folder")));
    assert!(err.contains("/no/such/folder"), "{err}");
}

#[test]
fn fashion_mnist_files_of_another_size_are_the_wrong_files() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = wgan_test_support::idx::image_pair(wgan_test_support::idx::Pattern::Ramp, 3, 20, 30);
    std::fs::write(dir.path().join("train-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.path().join("train-labels-idx1-ubyte"), labels).unwrap();
    let err = error(&spec(SourceKind::FashionMnist, dir.path()));
    assert!(
        err.contains("train-images-idx3-ubyte") && err.contains("[20, 30]") && err.contains("[28, 28]"),
        "{err}"
    );
    // The same file through the idx source is just an IDX file.
    let loaded = load_data(&spec(SourceKind::Idx, &dir.path().join("train-images-idx3-ubyte")), &()).unwrap();
    assert_eq!(loaded.images.len(), 3);
}
