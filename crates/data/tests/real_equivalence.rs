//! Fashion-MNIST written out as PNG files and read back through the image-folder source
//! gives the IDX path's tensors: to the last bit at the files' own 28×28, and within half a
//! grey level (0.5 / 127.5, the rounding to bytes the folder path stores) after the 28 → 32
//! resize, which is the same bilinear filter on both paths.

use std::path::PathBuf;

use wgan_data::{
    DataSpec, DatasetSources, Preprocessing, SYSTEM_DATASET_DIR, SourceKind, Split, load_data, load_image_set,
    read_idx_images, read_idx_labels, to_unit_range,
};

/// Images written and compared; enough for every class and a real mix of pictures.
const COUNT: usize = 3_000;

#[test]
fn fashion_mnist_as_png_files_equals_the_idx_path() {
    let sources = DatasetSources {
        explicit: Some(PathBuf::from(SYSTEM_DATASET_DIR)),
        search_dirs: vec![],
        download: None,
    };
    let Ok(files) = sources.locate(Split::Train) else {
        println!("SKIPPED: Fashion-MNIST not found in {SYSTEM_DATASET_DIR} (apt-get install dataset-fashion-mnist)");
        return;
    };
    let images = read_idx_images(&files.images).unwrap();
    let labels = read_idx_labels(&files.labels).unwrap().labels;
    let dir = tempfile::tempdir().unwrap();
    let pixels = 28 * 28;
    for (index, label) in labels.iter().enumerate().take(COUNT) {
        let raw = images.pixels[index * pixels..(index + 1) * pixels].to_vec();
        let path = dir
            .path()
            .join(format!("{label}-class"))
            .join(format!("{index:05}.png"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::GrayImage::from_raw(28, 28, raw).unwrap().save(&path).unwrap();
    }
    let folder = |size| {
        let spec = DataSpec::new(SourceKind::ImageFolder, dir.path(), Preprocessing::new(size, 1));
        load_data(&spec, &()).unwrap().images
    };
    // The folder is sorted by class folder, then file name: map back to IDX order.
    let at_28 = folder(28);
    let mut order: Vec<usize> = (0..COUNT).collect();
    order.sort_by_key(|&i| (labels[i], i));
    assert_eq!(at_28.len(), COUNT);
    let folder_labels: Vec<u32> = order.iter().map(|&i| u32::from(labels[i])).collect();
    assert_eq!(at_28.labels(), &folder_labels[..], "labels from the class folders");

    let exact = at_28.unit_pixels();
    for (position, &index) in order.iter().enumerate() {
        let idx: Vec<f32> = images.pixels[index * pixels..(index + 1) * pixels]
            .iter()
            .map(|&v| to_unit_range(f32::from(v)))
            .collect();
        assert_eq!(
            &exact[position * pixels..(position + 1) * pixels],
            &idx[..],
            "image {index} at 28×28"
        );
    }

    let at_32 = folder(32);
    let folder_32 = at_32.unit_pixels();
    let idx_32 = load_image_set(&files, Some([28, 28]), 32).unwrap();
    let idx_32 = idx_32.unit_range(0..COUNT);
    let plane = 32 * 32;
    let mut worst = 0.0f32;
    for (position, &index) in order.iter().enumerate() {
        let a = &folder_32[position * plane..(position + 1) * plane];
        let b = &idx_32[index * plane..(index + 1) * plane];
        worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(worst, f32::max);
    }
    println!(
        "28 → 32: largest difference {worst} (tolerance 0.5 / 127.5 = {})",
        0.5 / 127.5
    );
    assert!(worst <= 0.5 / 127.5 + 1e-6, "{worst}");
}
