//! PDQ hashes of the ThreatExchange conformance images (tests/data/pdq, see SOURCE.md)
//! against the C++ reference's values, with the reference's own tolerance: within 10 bits
//! where its quality is at least 80; images it rates below 50 rated below 50 here too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::OnceLock;

use reachline_matcher::pdq::hash_image_bytes;
use reachline_matcher::{PdqDigest, PdqHash};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/pdq")
}

struct Row {
    file: String,
    hash: PdqHash,
    quality: u8,
}

fn expected() -> Vec<Row> {
    let csv = std::fs::read_to_string(data_dir().join("expected.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..3], ["file", "pdq_hex", "quality"]);
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Row {
                file: f[0].to_owned(),
                hash: PdqHash::from_hex(f[1]).unwrap(),
                quality: f[2].parse().unwrap(),
            }
        })
        .collect()
}

/// Our digest of every conformance image, computed once for all tests (debug builds
/// decode slowly).
fn ours() -> &'static [(Row, PdqDigest)] {
    static OURS: OnceLock<Vec<(Row, PdqDigest)>> = OnceLock::new();
    OURS.get_or_init(|| {
        expected()
            .into_iter()
            .map(|row| {
                let bytes = std::fs::read(data_dir().join(&row.file)).unwrap();
                let got = hash_image_bytes(&bytes, 50_000_000)
                    .unwrap_or_else(|e| panic!("{}: {e}", row.file));
                (row, got)
            })
            .collect()
    })
}

#[test]
fn conformance_images_agree_with_the_reference() {
    let all = ours();
    assert_eq!(all.len(), 15);
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (row, got) in all {
        let distance = got.hash.distance(&row.hash);
        report.push(format!(
            "{:<26} ref q={:>3}  ours q={:>3}  distance {:>3}",
            row.file, row.quality, got.quality, distance
        ));
        if row.quality >= 80 && distance > 10 {
            failures.push(format!("{}: {distance} bits from the reference", row.file));
        }
        if row.quality >= 80 && got.quality < 80 {
            failures.push(format!(
                "{}: quality {} where the reference has {}",
                row.file, got.quality, row.quality
            ));
        }
        if row.quality < 50 && got.quality >= 50 {
            failures.push(format!(
                "{}: quality {} but the reference rates it {}",
                row.file, got.quality, row.quality
            ));
        }
    }
    println!("{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "{}\n\n{}",
        failures.join("\n"),
        report.join("\n")
    );
}

#[test]
fn progressive_and_tiny_jpegs_are_hashed() {
    // wee.jpg is 34x42 and progressive; small.jpg is progressive and almost black.
    for file in ["wee.jpg", "small.jpg", "bridge-2-rotate-90.jpg"] {
        let (_, got) = ours().iter().find(|(r, _)| r.file == file).unwrap();
        assert_ne!(got.hash, PdqHash::default(), "{file}");
    }
}

#[test]
fn different_pictures_are_far_apart() {
    // The eight dihedral transforms of one photo and the other pictures are all further
    // apart than the match threshold.
    let good: Vec<&(Row, PdqDigest)> = ours().iter().filter(|(r, _)| r.quality >= 80).collect();
    for i in 0..good.len() {
        for j in i + 1..good.len() {
            let d = good[i].1.hash.distance(&good[j].1.hash);
            assert!(d > 31, "{} vs {}: {d}", good[i].0.file, good[j].0.file);
        }
    }
}

#[test]
fn a_recompressed_or_resized_copy_stays_near() {
    let bytes = std::fs::read(data_dir().join("q1050.jpg")).unwrap();
    let original = hash_image_bytes(&bytes, 50_000_000).unwrap();
    let img = image::load_from_memory(&bytes).unwrap();

    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let lossless = hash_image_bytes(&png, 50_000_000).unwrap();
    assert_eq!(lossless.hash, original.hash, "same pixels, same hash");

    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 40)
        .encode_image(&img)
        .unwrap();
    let recompressed = hash_image_bytes(&jpeg, 50_000_000).unwrap();
    assert!(
        recompressed.hash.distance(&original.hash) <= 16,
        "{}",
        recompressed.hash.distance(&original.hash)
    );

    let half = img.resize(128, 128, image::imageops::FilterType::Triangle);
    let mut small = Vec::new();
    half.write_to(&mut Cursor::new(&mut small), image::ImageFormat::Png)
        .unwrap();
    let resized = hash_image_bytes(&small, 50_000_000).unwrap();
    assert!(
        resized.hash.distance(&original.hash) <= 16,
        "{}",
        resized.hash.distance(&original.hash)
    );
}
