//! Discovery order, verified downloads from a loopback server, and batches as tensors.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use burn::backend::Flex;
use sha2::{Digest, Sha256};
use wgan_data::{DataError, DatasetSources, Mirror, ShuffledBatches, Split, load_image_set};

fn sources(explicit: Option<PathBuf>, search_dirs: Vec<PathBuf>) -> DatasetSources {
    DatasetSources {
        explicit,
        search_dirs,
        download: None,
    }
}

#[test]
fn first_directory_holding_the_file_wins() {
    let root = tempfile::tempdir().unwrap();
    let (first, second) = (root.path().join("a"), root.path().join("b"));
    common::write_split(&second, "train", 2);
    common::write_split(&first, "t10k", 2);
    common::write_split(&second, "t10k", 2);
    let sources = sources(None, vec![first.clone(), second.clone()]);
    assert!(sources.locate(Split::Train).unwrap().images.starts_with(&second));
    assert!(sources.locate(Split::Test).unwrap().labels.starts_with(&first));
}

#[test]
fn explicit_directory_is_the_only_place_searched() {
    let root = tempfile::tempdir().unwrap();
    let fallback = root.path().join("fallback");
    common::write_split(&fallback, "train", 2);
    let explicit = root.path().join("explicit");
    std::fs::create_dir_all(&explicit).unwrap();
    let err = sources(Some(explicit.clone()), vec![fallback])
        .locate(Split::Train)
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, DataError::NotFound { .. }));
    assert!(message.contains("train-images-idx3-ubyte.gz not found"), "{message}");
    assert!(message.contains(&explicit.display().to_string()), "{message}");
    assert!(message.contains("apt-get install dataset-fashion-mnist"), "{message}");
}

#[test]
fn uncompressed_files_are_found_too() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = common::image_pair(2, 28, 28);
    std::fs::write(dir.path().join("train-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.path().join("train-labels-idx1-ubyte"), labels).unwrap();
    let files = sources(None, vec![dir.path().into()]).locate(Split::Train).unwrap();
    assert_eq!(files.images, dir.path().join("train-images-idx3-ubyte"));
}

/// Serves `body` for every request on a loopback port, for `requests` requests.
fn serve(body: Vec<u8>, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let header = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(header.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
        }
    });
    format!("http://{address}/")
}

fn mirror(base_url: String, sha256: String) -> Mirror {
    Mirror {
        base_url,
        checksums: vec![("train-images-idx3-ubyte".into(), sha256)],
        connect_timeout: Duration::from_secs(2),
        transfer_timeout: Duration::from_secs(10),
    }
}

#[test]
fn download_is_verified_and_kept() {
    let (images, _) = common::image_pair(2, 28, 28);
    let sha: String = Sha256::digest(&images).iter().map(|b| format!("{b:02x}")).collect();
    let url = serve(common::gzip(&images), 1);
    let target = tempfile::tempdir().unwrap();
    let sources = DatasetSources {
        explicit: None,
        search_dirs: vec![],
        download: Some((mirror(url, sha), target.path().into())),
    };
    // Labels are not on this mirror's list, so locating the split fails on them, after the
    // images were fetched and verified.
    let err = sources.locate(Split::Train).unwrap_err().to_string();
    assert!(err.contains("train-labels-idx1-ubyte.gz not found"), "{err}");
    assert!(err.contains("no published checksum"), "{err}");
    let kept = target.path().join("train-images-idx3-ubyte.gz");
    assert_eq!(wgan_data::read_idx_images(&kept).unwrap().count, 2);
}

#[test]
fn download_with_wrong_checksum_is_rejected_and_removed() {
    let (images, _) = common::image_pair(2, 28, 28);
    let url = serve(common::gzip(&images), 1);
    let target = tempfile::tempdir().unwrap();
    let sources = DatasetSources {
        explicit: None,
        search_dirs: vec![],
        download: Some((mirror(url, "00".repeat(32)), target.path().into())),
    };
    let err = sources.locate(Split::Train).unwrap_err().to_string();
    assert!(err.contains("SHA-256 of the decompressed data is"), "{err}");
    assert_eq!(
        std::fs::read_dir(target.path()).unwrap().count(),
        0,
        "nothing unverified is kept"
    );
}

#[test]
fn unreachable_mirror_fails_fast_with_the_places_searched() {
    // Port 9 (discard) on loopback: nothing listens, so the connection is refused at once.
    let sources = DatasetSources {
        explicit: None,
        search_dirs: vec![PathBuf::from("/nonexistent/dir")],
        download: Some((
            mirror("http://127.0.0.1:9/".into(), "00".into()),
            tempfile::tempdir().unwrap().keep(),
        )),
    };
    let started = std::time::Instant::now();
    let err = sources.locate(Split::Train).unwrap_err().to_string();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(err.contains("/nonexistent/dir"), "{err}");
    assert!(err.contains("download failed"), "{err}");
}

#[test]
fn batches_arrive_as_tensors_in_unit_range() {
    let dir = tempfile::tempdir().unwrap();
    common::write_split(dir.path(), "train", 10);
    let files = sources(None, vec![dir.path().into()]).locate(Split::Train).unwrap();
    let set = load_image_set(&files, Some([28, 28]), 32).unwrap();
    assert_eq!((set.len(), set.size()), (10, 32));
    let mut batches = ShuffledBatches::new(set.len(), 4, 0).unwrap();
    let batch = set.batch::<Flex>(&batches.next_batch(), None, &Default::default());
    assert_eq!(batch.dims(), [4, 1, 32, 32]);
    let (min, max) = (batch.clone().min().into_scalar(), batch.max().into_scalar());
    assert!(
        (-1.0..=1.0).contains(&min) && (-1.0..=1.0).contains(&max),
        "{min}..{max}"
    );
}

/// The real Fashion-MNIST, when Debian's package is installed.
#[test]
fn real_fashion_mnist_loads_when_installed() {
    let dir = PathBuf::from(wgan_data::SYSTEM_DATASET_DIR);
    if !dir.join("train-images-idx3-ubyte.gz").exists() {
        eprintln!(
            "SKIPPED: {} absent (apt-get install dataset-fashion-mnist)",
            dir.display()
        );
        return;
    }
    let files = sources(Some(dir), vec![]).locate(Split::Test).unwrap();
    let set = load_image_set(&files, Some([28, 28]), 32).unwrap();
    assert_eq!(set.len(), 10_000);
    let mut counts = [0usize; 10];
    set.labels().iter().for_each(|&l| counts[l as usize] += 1);
    assert_eq!(counts, [1000; 10], "t10k has 1000 images per class");
    let pixels = set.unit_pixels();
    let mean = pixels.iter().map(|&p| p as f64).sum::<f64>() / pixels.len() as f64;
    // Fashion-MNIST's mean pixel is about 0.286 of 255, i.e. about -0.43 in [-1, 1].
    assert!((-0.5..-0.35).contains(&mean), "mean pixel {mean}");
}
