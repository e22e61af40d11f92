//! PDQ index exactness, hash lists, image checks and input errors. Images are generated
//! here (gradients and stripes) or are the benign conformance images.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;

use reachline_matcher::index::MIH_MIN_HASHES;
use reachline_matcher::{
    Entry, Error, HashKind, Matcher, MatcherBuilder, MatcherConfig, PdqHash, PdqIndex, Signal,
};

fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn random_hash(state: &mut u64) -> PdqHash {
    PdqHash::from_words([next(state), next(state), next(state), next(state)])
}

/// Flips `bits` distinct random bits.
fn perturb(h: &PdqHash, bits: u32, state: &mut u64) -> PdqHash {
    let mut w = h.to_words();
    let mut flipped = std::collections::HashSet::new();
    while flipped.len() < bits as usize {
        let b = (next(state) % 256) as usize;
        if flipped.insert(b) {
            w[b / 64] ^= 1 << (b % 64);
        }
    }
    let p = PdqHash::from_words(w);
    assert_eq!(p.distance(h), bits);
    p
}

/// Random hashes with near neighbours planted around each query at distances spread
/// across and beyond the threshold, including exactly the threshold and one more.
#[test]
fn multi_index_returns_exactly_what_a_scan_returns() {
    let mut state = 42;
    // Every chunk radius the index uses (t / 8 = 0 to 5, half radius 0 to 2) and its edges.
    for threshold in [0u32, 7, 8, 15, 16, 23, 24, 31, 32, 39, 40, 47] {
        let queries: Vec<PdqHash> = (0..60).map(|_| random_hash(&mut state)).collect();
        let mut hashes: Vec<PdqHash> = (0..3000).map(|_| random_hash(&mut state)).collect();
        for q in &queries {
            for d in [
                0,
                1,
                threshold / 2,
                threshold.saturating_sub(1),
                threshold,
                threshold + 1,
                threshold + 5,
                64,
            ] {
                hashes.push(perturb(q, d.min(256), &mut state));
            }
        }
        // A near neighbour of a near neighbour, and an exact duplicate.
        let dup = hashes[3001];
        hashes.push(dup);
        let mih = PdqIndex::multi_index(&hashes, threshold);
        assert!(mih.uses_mih(), "threshold {threshold}");
        let scan = PdqIndex::brute_force(&hashes, threshold);
        assert!(!scan.uses_mih());
        let mut total = 0;
        for q in queries.iter().chain(hashes.iter().take(200)) {
            let a = mih.search(q);
            let b = scan.search(q);
            assert_eq!(a, b, "threshold {threshold}");
            assert!(a.iter().all(|(_, d)| *d <= threshold));
            total += a.len();
        }
        // The planted neighbours within the threshold were all found.
        assert!(
            total >= 60 * 4,
            "threshold {threshold}: only {total} matches"
        );
    }
}

#[test]
fn a_large_multi_index_agrees_with_a_scan() {
    // More hashes than buckets (65,536 per table), so every bucket is busy.
    let mut state = 1234;
    let n = 140_000;
    let mut hashes: Vec<PdqHash> = (0..n).map(|_| random_hash(&mut state)).collect();
    let queries: Vec<PdqHash> = (0..40).map(|_| random_hash(&mut state)).collect();
    for (i, q) in queries.iter().enumerate() {
        hashes[i * 997] = perturb(q, (i % 36) as u32, &mut state);
        hashes[i * 991 + 5] = perturb(q, 31, &mut state);
    }
    let mih = PdqIndex::new(&hashes, 31);
    assert!(mih.uses_mih());
    let scan = PdqIndex::brute_force(&hashes, 31);
    let mut total = 0;
    for q in &queries {
        let a = mih.search(q);
        assert_eq!(a, scan.search(q));
        total += a.len();
    }
    assert!(total >= 40 + 32, "{total}");
}

#[test]
fn index_kind_follows_list_size_and_threshold() {
    let mut state = 7;
    let small: Vec<PdqHash> = (0..100).map(|_| random_hash(&mut state)).collect();
    assert!(!PdqIndex::new(&small, 31).uses_mih());
    let big: Vec<PdqHash> = (0..MIH_MIN_HASHES)
        .map(|_| random_hash(&mut state))
        .collect();
    assert!(PdqIndex::new(&big, 31).uses_mih());
    // Past half radius 2 (t >= 48) probing is slower than scanning.
    assert!(PdqIndex::new(&big, 47).uses_mih());
    assert!(!PdqIndex::new(&big, 48).uses_mih());
    assert!(!PdqIndex::new(&big, 64).uses_mih());
    let q = perturb(&big[17], 20, &mut state);
    assert_eq!(
        PdqIndex::new(&big, 64).search(&q),
        PdqIndex::brute_force(&big, 64).search(&q)
    );
}

/// A synthetic picture: a sum of sinusoids in each channel, so it has detail at many
/// scales as photos do. `tweak` brightens it a little and adds faint noise, which changes
/// the bytes but hardly the picture.
fn gradient_png(width: u32, height: u32, tweak: u32) -> Vec<u8> {
    // Frequencies up to 16 cycles with amplitude falling as 1/f, like natural images.
    let mut state = 11;
    let waves: Vec<(f32, f32, f32, f32)> = (0..48)
        .map(|_| {
            let fx = (next(&mut state) % 17) as f32 - 8.0;
            let fy = (next(&mut state) % 17) as f32;
            let phase = (next(&mut state) % 628) as f32 / 100.0;
            (fx, fy, phase, 1.0 / (1.0 + (fx * fx + fy * fy).sqrt()))
        })
        .collect();
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
        let channel = |shift: f32| {
            let sum: f32 = waves
                .iter()
                .map(|(fx, fy, p, a)| {
                    a * (std::f32::consts::TAU * (fx * u + fy * v) + p + shift).sin()
                })
                .sum();
            let noise = if tweak > 0 {
                ((x * 7 + y * 13) % 9) as f32 - 4.0
            } else {
                0.0
            };
            (128.0 + 40.0 * sum + tweak as f32 + noise).clamp(0.0, 255.0) as u8
        };
        image::Rgb([channel(0.0), channel(0.7), channel(1.9)])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn hex_md5(b: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(b))
}

fn hex_sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[test]
fn image_checks_match_exact_digests_and_near_pdq() {
    let listed = gradient_png(200, 150, 0);
    let other = gradient_png(200, 150, 6);
    let pdq = reachline_matcher::pdq::hash_image_bytes(&listed, 1 << 24).unwrap();
    assert!(pdq.quality >= 50, "synthetic image quality {}", pdq.quality);

    let mut b = MatcherBuilder::new();
    b.add_hash(
        Entry::new("m", "exact", "synthetic"),
        HashKind::Md5,
        &hex_md5(&listed),
    )
    .unwrap();
    b.add_hash(
        Entry::new("s", "exact", "synthetic"),
        HashKind::Sha256,
        &hex_sha256(&listed).to_uppercase(),
    )
    .unwrap();
    b.add_pdq(Entry::new("p", "perceptual", "synthetic"), pdq.hash);
    let m = b.build().unwrap();

    let check = m.check_image_bytes(&listed).unwrap();
    assert!(!check.low_quality);
    let signals: Vec<(String, Signal)> = check
        .matches
        .iter()
        .map(|x| (x.entry_id.clone(), x.signal))
        .collect();
    assert_eq!(
        signals,
        [
            ("m".to_owned(), Signal::Md5),
            ("s".to_owned(), Signal::Sha256),
            ("p".to_owned(), Signal::Pdq { distance: 0 })
        ]
    );

    // A slightly different picture: new bytes, so no exact match, but a near PDQ hash.
    let near = m.check_image_bytes(&other).unwrap();
    let d = near.pdq.hash.distance(&pdq.hash);
    assert!(d <= 31, "distance {d}");
    assert!(m.check_md5(&hex_md5(&other)).unwrap().is_empty());
    assert_eq!(near.matches.len(), 1);
    assert_eq!(near.matches[0].signal, Signal::Pdq { distance: d });
    // A different picture (the same one flipped) does not match.
    let flipped = image::load_from_memory(&listed).unwrap().fliph();
    let mut flipped_png = Vec::new();
    flipped
        .write_to(&mut Cursor::new(&mut flipped_png), image::ImageFormat::Png)
        .unwrap();
    assert!(m
        .check_image_bytes(&flipped_png)
        .unwrap()
        .matches
        .is_empty());

    assert_eq!(m.check_md5(&hex_md5(&listed)).unwrap()[0].entry_id, "m");
    assert_eq!(
        m.check_sha256(&hex_sha256(&listed)).unwrap()[0].entry_id,
        "s"
    );
    assert!(m.check_md5(&hex_md5(&other)).unwrap().is_empty());
    assert_eq!(m.check_file_bytes(&listed).len(), 2);
}

#[test]
fn pdq_thresholds_are_per_list_and_results_sorted_by_distance() {
    let mut state = 99;
    let base = random_hash(&mut state);
    let mut b = MatcherBuilder::new();
    b.add_pdq(
        Entry::new("far", "loose", "c"),
        perturb(&base, 40, &mut state),
    );
    b.add_pdq(
        Entry::new("mid", "default", "c"),
        perturb(&base, 31, &mut state),
    );
    b.add_pdq(
        Entry::new("too-far", "default", "c"),
        perturb(&base, 32, &mut state),
    );
    b.add_pdq(
        Entry::new("near", "strict", "c"),
        perturb(&base, 3, &mut state),
    );
    b.add_pdq(
        Entry::new("strict-miss", "strict", "c"),
        perturb(&base, 11, &mut state),
    );
    b.pdq_threshold("loose", 45).unwrap();
    b.pdq_threshold("strict", 10).unwrap();
    assert_eq!(
        b.pdq_threshold("x", 300).err(),
        Some(Error::BadThreshold(300))
    );
    let m = b.build().unwrap();
    let found: Vec<(String, Signal)> = m
        .check_pdq(&base)
        .into_iter()
        .map(|x| (x.entry_id, x.signal))
        .collect();
    assert_eq!(
        found,
        [
            ("near".to_owned(), Signal::Pdq { distance: 3 }),
            ("mid".to_owned(), Signal::Pdq { distance: 31 }),
            ("far".to_owned(), Signal::Pdq { distance: 40 }),
        ]
    );
    // The quality gate.
    assert_eq!(
        m.check_pdq_with_quality(&base, 49),
        Err(Error::LowQuality {
            quality: 49,
            min: 50
        })
    );
    assert_eq!(m.check_pdq_with_quality(&base, 50).unwrap().len(), 3);
}

#[test]
fn low_quality_images_are_not_compared_unless_configured() {
    // small.jpg: almost black, reference quality 0.
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pdq/small.jpg"
    ))
    .unwrap();
    let pdq = reachline_matcher::pdq::hash_image_bytes(&bytes, 1 << 24).unwrap();
    let build = |min_quality| {
        let mut config = MatcherConfig::default();
        config.pdq_min_quality = min_quality;
        let mut b = MatcherBuilder::with_config(config);
        b.add_pdq(Entry::new("dark", "l", "c"), pdq.hash);
        b.build().unwrap()
    };
    let gated = build(50).check_image_bytes(&bytes).unwrap();
    assert!(gated.low_quality);
    assert!(gated.matches.is_empty());
    let ungated = build(0).check_image_bytes(&bytes).unwrap();
    assert!(!ungated.low_quality);
    assert_eq!(ungated.matches.len(), 1);
}

#[test]
fn bad_input_gets_clear_errors() {
    let m = Matcher::empty();
    assert!(matches!(
        m.check_md5("abc"),
        Err(Error::BadHex {
            what: "MD5",
            expected: 32
        })
    ));
    assert!(matches!(
        m.check_sha256(&"g".repeat(64)),
        Err(Error::BadHex {
            what: "SHA-256",
            expected: 64
        })
    ));
    assert!(matches!(
        m.check_pdq_hex("1234"),
        Err(Error::BadHex {
            what: "PDQ hash",
            expected: 64
        })
    ));
    assert!(matches!(
        m.check_image_bytes(b"definitely not an image"),
        Err(Error::UndecodableImage(_))
    ));
    let mut broken = gradient_png(64, 64, 0);
    broken.truncate(60);
    assert!(matches!(
        m.check_image_bytes(&broken),
        Err(Error::UndecodableImage(_))
    ));
    assert!(matches!(
        m.check_image_bytes(&[]),
        Err(Error::UndecodableImage(_))
    ));

    let mut config = MatcherConfig::default();
    config.max_image_pixels = 10_000;
    let small_limit = MatcherBuilder::with_config(config).build().unwrap();
    let err = small_limit
        .check_image_bytes(&gradient_png(101, 100, 0))
        .unwrap_err();
    assert_eq!(
        err,
        Error::OversizeImage {
            width: 101,
            height: 100,
            limit: 10_000
        }
    );
    assert!(small_limit
        .check_image_bytes(&gradient_png(100, 100, 0))
        .is_ok());

    let mut b = MatcherBuilder::new();
    assert!(matches!(
        b.add_hash(Entry::new("x", "l", "c"), HashKind::Pdq, "xyz"),
        Err(Error::BadHex { .. })
    ));
}

#[test]
fn hashes_csv_format() {
    let listed = gradient_png(200, 150, 0);
    let pdq = reachline_matcher::pdq::hash_image_bytes(&listed, 1 << 24).unwrap();
    let csv = format!(
        "# synthetic\nkind,hash,category\npdq,{},synthetic\nmd5,{},synthetic\nsha256,{},synthetic\n",
        pdq.hash,
        hex_md5(&listed),
        hex_sha256(&listed)
    );
    let mut b = MatcherBuilder::new();
    b.add_hashes_csv("daily", &csv).unwrap();
    let m = b.build().unwrap();
    let stats = m.stats();
    assert_eq!((stats.pdq_hashes, stats.md5, stats.sha256), (1, 1, 1));
    let ids: Vec<String> = m
        .check_image_bytes(&listed)
        .unwrap()
        .matches
        .into_iter()
        .map(|x| x.entry_id)
        .collect();
    assert_eq!(ids, ["daily:4", "daily:5", "daily:3"]);

    let mut b = MatcherBuilder::new();
    let err = b.add_hashes_csv("daily", "phash,00,c\n").unwrap_err();
    assert!(matches!(err, Error::BadLine { line: 1, .. }));
    let err = b.add_hashes_csv("daily", "md5,0011,c\n").unwrap_err();
    assert!(matches!(err, Error::BadLine { line: 1, .. }));
}

#[test]
fn matches_serialise_for_the_api() {
    let mut b = MatcherBuilder::new();
    b.add_pdq(Entry::new("p1", "lst", "cat"), PdqHash::default());
    let m = b.build().unwrap();
    let json = serde_json::to_value(m.check_pdq(&PdqHash::default())).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{"entry_id": "p1", "list": "lst", "category": "cat", "kind": "pdq", "distance": 0}])
    );
}
