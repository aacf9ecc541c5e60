//! Every source, through `load_data`: image folders (classes, clutter, formats, mixed sizes
//! and modes), IDX files, NPY arrays, and the cache.

use std::path::{Path, PathBuf};

use wgan_data::{
    CacheStatus, DataSpec, ImageSet, LoadedData, Pixels, Preprocessing, ResizeMode, SourceKind, load_data,
};
use wgan_test_support::images::{Fill, pattern, save, solid, write_rgb_folder};
use wgan_test_support::npy::write_npy;

fn spec(source: SourceKind, path: &Path, size: usize, channels: usize) -> DataSpec {
    DataSpec::new(source, path, Preprocessing::new(size, channels))
}

fn load(spec: &DataSpec) -> LoadedData {
    load_data(spec, &()).unwrap()
}

fn bytes(set: &ImageSet) -> &[u8] {
    match set.pixels() {
        Pixels::Bytes(bytes) => bytes,
        Pixels::Unit(_) => panic!("image folders are stored as bytes"),
    }
}

#[test]
fn a_folder_of_class_folders_gives_labels_and_reports_its_clutter() {
    let dir = tempfile::tempdir().unwrap();
    write_rgb_folder(dir.path(), 12);
    let loaded = load(&spec(SourceKind::ImageFolder, dir.path(), 32, 3));
    let (images, report) = (&loaded.images, &loaded.report);
    assert_eq!((images.len(), images.channels(), images.size()), (12, 3, 32));
    assert_eq!(images.classes(), ["cats", "dogs"]);
    // Sorted paths: cats/000, 002, … then dogs/001, 003, …
    assert_eq!(images.labels(), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    assert_eq!(report.classes, [("cats".to_string(), 6), ("dogs".to_string(), 6)]);
    assert_eq!(report.skipped, 3, "{:?}", report.skipped_examples);
    assert_eq!(report.sizes.len(), 4, "{:?}", report.sizes);
    assert_eq!(report.modes.get("Rgb8"), Some(&12), "{:?}", report.modes);
    assert_eq!(bytes(images).len(), 12 * 3 * 32 * 32);
    let text = report.to_string();
    assert!(text.contains("classes    2: cats 6, dogs 6"), "{text}");
}

#[test]
fn a_flat_or_deeper_folder_has_no_classes() {
    let dir = tempfile::tempdir().unwrap();
    save(&pattern(10, 10, Fill::Gray, 0), &dir.path().join("a.png"));
    save(&pattern(10, 10, Fill::Gray, 1), &dir.path().join("x/y/b.png"));
    let loaded = load(&spec(SourceKind::ImageFolder, dir.path(), 8, 1));
    assert_eq!(loaded.images.len(), 2);
    assert!(loaded.images.classes().is_empty());
    assert_eq!(loaded.images.labels(), [0, 0]);
}

#[test]
fn every_format_decodes_to_the_same_pixels() {
    // A flat colour survives every codec, JPEG included, to within a grey level or two.
    let dir = tempfile::tempdir().unwrap();
    let formats = ["png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff", "webp"];
    for (index, extension) in formats.iter().enumerate() {
        save(
            &solid(20, 20, [200, 100, 50]),
            &dir.path().join(format!("{index}.{extension}")),
        );
    }
    let loaded = load(&spec(SourceKind::ImageFolder, dir.path(), 8, 3));
    assert_eq!(loaded.images.len(), formats.len());
    for (index, image) in bytes(&loaded.images).chunks_exact(3 * 64).enumerate() {
        for (plane, want) in image.chunks_exact(64).zip([200i32, 100, 50]) {
            for &value in plane {
                assert!(
                    (i32::from(value) - want).abs() <= 3,
                    "{}: {value} vs {want}",
                    formats[index]
                );
            }
        }
    }
}

#[test]
fn gray_rgb_and_rgba_convert_to_the_model_channels() {
    let dir = tempfile::tempdir().unwrap();
    save(&pattern(16, 16, Fill::Gray, 3), &dir.path().join("0-gray.png"));
    save(
        &pattern(16, 16, Fill::GrayAlpha, 3),
        &dir.path().join("1-gray-alpha.png"),
    );
    save(&solid(16, 16, [200, 100, 50]), &dir.path().join("2-rgb.png"));
    save(&pattern(16, 16, Fill::Rgba, 3), &dir.path().join("3-rgba.png"));
    let rgb = load(&spec(SourceKind::ImageFolder, dir.path(), 16, 3));
    let gray = load(&spec(SourceKind::ImageFolder, dir.path(), 16, 1));
    let plane = 16 * 16;
    let rgb_bytes = bytes(&rgb.images);
    let gray_bytes = bytes(&gray.images);
    // Gray replicated into three equal planes, unchanged at the same size.
    let expected_gray: Vec<u8> = pattern(16, 16, Fill::Gray, 3).to_luma8().into_raw();
    for c in 0..3 {
        assert_eq!(&rgb_bytes[c * plane..(c + 1) * plane], &expected_gray[..]);
    }
    assert_eq!(&gray_bytes[..plane], &expected_gray[..]);
    // RGB to gray by BT.601: 0.299·200 + 0.587·100 + 0.114·50 = 124.2.
    assert!(gray_bytes[2 * plane..3 * plane].iter().all(|&v| v == 124));
    // RGBA on black: column 0 has alpha 255/16 of full, the last column is opaque.
    let rgba = &rgb_bytes[3 * 3 * plane..];
    let source = pattern(16, 16, Fill::Rgba, 3).to_rgba8();
    let opaque = source.get_pixel(15, 0).0;
    assert_eq!(rgba[15], opaque[0]);
    let faint = source.get_pixel(0, 0).0;
    let flattened = (f32::from(faint[0]) * f32::from(faint[3]) / 255.0).round() as u8;
    assert_eq!(rgba[0], flattened);
    assert_eq!(rgb.report.modes.len(), 4, "{:?}", rgb.report.modes);
}

#[test]
fn mixed_sizes_are_cropped_or_stretched_to_square() {
    // A 30×10 image: black, with a white centre square 10×10. Centre-crop sees only white;
    // stretch sees the black sides too.
    let dir = tempfile::tempdir().unwrap();
    let image = image::GrayImage::from_fn(30, 10, |x, _| {
        image::Luma([if (10..20).contains(&x) { 255 } else { 0 }])
    });
    save(&image.into(), &dir.path().join("wide.png"));
    let mut cropped = spec(SourceKind::ImageFolder, dir.path(), 5, 1);
    let crop = load(&cropped);
    assert!(bytes(&crop.images).iter().all(|&v| v == 255));
    cropped.preprocessing.resize = ResizeMode::Stretch;
    let stretch = load(&cropped);
    let row = &bytes(&stretch.images)[..5];
    // The shrinking kernel spans 6 source columns each side: the white third blurs a little.
    assert!(row[0] == 0 && row[4] == 0 && row[2] > 240, "{row:?}");
}

#[test]
fn idx_files_of_any_size_with_their_sibling_labels() {
    let dir = tempfile::tempdir().unwrap();
    // 3 images of 20 rows × 30 columns.
    let (images, labels) = wgan_test_support::idx::image_pair(wgan_test_support::idx::Pattern::Ramp, 3, 20, 30);
    std::fs::write(dir.path().join("kmnist-train-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.path().join("kmnist-train-labels-idx1-ubyte"), labels).unwrap();
    let loaded = load(&spec(
        SourceKind::Idx,
        &dir.path().join("kmnist-train-images-idx3-ubyte"),
        16,
        3,
    ));
    assert_eq!(
        (loaded.images.len(), loaded.images.channels(), loaded.images.size()),
        (3, 3, 16)
    );
    assert_eq!(loaded.images.labels(), [0, 1, 2]);
    assert_eq!(loaded.report.sizes[0].width, 30);
    let pixels = loaded.images.unit_pixels();
    assert_eq!(&pixels[..256], &pixels[256..512], "gray replicated to RGB");
}

#[test]
fn npy_arrays_in_both_layouts_and_three_dtypes_agree() {
    let dir = tempfile::tempdir().unwrap();
    // Two 3×6×5 RGB images as bytes, NHWC and NCHW, and as floats in [0, 1] and [-1, 1].
    let nchw: Vec<u8> = (0..2 * 3 * 6 * 5).map(|i| i as u8).collect();
    let mut nhwc = vec![0u8; nchw.len()];
    for n in 0..2 {
        for c in 0..3 {
            for p in 0..30 {
                nhwc[n * 90 + p * 3 + c] = nchw[n * 90 + c * 30 + p];
            }
        }
    }
    let paths: Vec<PathBuf> = ["nchw.npy", "nhwc.npy", "unit.npy", "signed.npy"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    write_npy(&paths[0], &[2, 3, 6, 5], &nchw);
    write_npy(&paths[1], &[2, 6, 5, 3], &nhwc);
    let unit: Vec<f32> = nchw.iter().map(|&v| f32::from(v) / 255.0).collect();
    write_npy(&paths[2], &[2, 3, 6, 5], &unit);
    let signed: Vec<f64> = nchw.iter().map(|&v| f64::from(v) / 127.5 - 1.0).collect();
    write_npy(&paths[3], &[2, 3, 6, 5], &signed);
    let all: Vec<LoadedData> = paths.iter().map(|p| load(&spec(SourceKind::Npy, p, 5, 3))).collect();
    for loaded in &all[1..] {
        assert_eq!(bytes(&loaded.images), bytes(&all[0].images), "{}", loaded.report.source);
    }
    // A 6×5 image centre-cropped to 5×5 at its own size keeps rows 0..5 exactly.
    assert_eq!(&bytes(&all[0].images)[..25], &nchw[..25]);
}

#[test]
fn the_cache_is_written_then_read_and_rebuilt_when_anything_changes() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let folder = dir.path().join("images");
    write_rgb_folder(&folder, 6);
    let mut spec = spec(SourceKind::ImageFolder, &folder, 16, 3);
    spec.cache_dir = Some(cache.path().to_path_buf());
    let first = load(&spec);
    let CacheStatus::Written { path, .. } = &first.report.cache else {
        panic!("{:?}", first.report.cache)
    };
    let cache_file = PathBuf::from(path);
    let second = load(&spec);
    assert!(
        matches!(second.report.cache, CacheStatus::Hit { .. }),
        "{:?}",
        second.report.cache
    );
    assert_eq!(second.images, first.images);
    assert_eq!(second.report.classes, first.report.classes);

    // A changed file makes the cache stale.
    save(&pattern(33, 33, Fill::Rgb, 99), &folder.join("cats/000.png"));
    let third = load(&spec);
    let CacheStatus::Written { reason, .. } = &third.report.cache else {
        panic!("{:?}", third.report.cache)
    };
    assert!(reason.contains("changed"), "{reason}");
    assert_ne!(third.images, first.images);

    // A damaged payload fails its checksum, and a cut-off file its length: both rebuilt.
    let mut bytes = std::fs::read(&cache_file).unwrap();
    let last = bytes.len() - 100;
    bytes[last] ^= 0x55;
    std::fs::write(&cache_file, &bytes).unwrap();
    let fourth = load(&spec);
    let CacheStatus::Written { reason, .. } = &fourth.report.cache else {
        panic!("{:?}", fourth.report.cache)
    };
    assert!(reason.contains("checksum"), "{reason}");
    assert_eq!(fourth.images, third.images);
    std::fs::write(&cache_file, &bytes[..bytes.len() / 2]).unwrap();
    let fifth = load(&spec);
    let CacheStatus::Written { reason, .. } = &fifth.report.cache else {
        panic!("{:?}", fifth.report.cache)
    };
    assert!(reason.contains("damaged"), "{reason}");

    // Other preprocessing settings use another cache file.
    spec.preprocessing.resize = ResizeMode::Stretch;
    let stretched = load(&spec);
    assert!(
        matches!(stretched.report.cache, CacheStatus::Written { .. }),
        "{:?}",
        stretched.report.cache
    );
}

#[test]
fn an_unwritable_cache_directory_is_reported_and_the_load_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    write_rgb_folder(&dir.path().join("images"), 2);
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"a file where the cache directory should be").unwrap();
    let mut spec = spec(SourceKind::ImageFolder, &dir.path().join("images"), 8, 3);
    spec.cache_dir = Some(blocker.join("cache"));
    let loaded = load(&spec);
    assert_eq!(loaded.images.len(), 2);
    let CacheStatus::WriteFailed { reason } = &loaded.report.cache else {
        panic!("{:?}", loaded.report.cache)
    };
    assert!(reason.contains("not-a-dir"), "{reason}");
}
