//! The C ABI from C: compiles `tests/c/smoke.c` with the system C compiler (`cc`, or `$CC`)
//! against the static library and against the shared one, runs both, and checks every line
//! they print. Also checks that the header declares every exported function.
//!
//! The libraries are the ones cargo built for this very test run: an integration test
//! depends on its package's library target, which for this crate is built with all three
//! crate types at once, into the `deps` directory next to this test's executable
//! (`target/<profile>/deps/libreachline_matcher_ffi.{a,so}`; names without a hash,
//! because the crate builds a cdylib). Looking there, rather than at a fixed
//! `target/debug`, follows `CARGO_TARGET_DIR`, `--release` and `--target-dir`. The test
//! never runs cargo itself (it would wait on the build lock held by the cargo running it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// `target/<profile>/deps`, where this executable and the freshly built library live.
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_path_buf()
}

fn library(file: &str) -> PathBuf {
    let deps = deps_dir();
    let candidates = [deps.join(file), deps.parent().unwrap().join(file)];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{file} not found in {} or its parent: the library should have been built \
                 with this test (crate-type includes staticlib and cdylib)",
                deps.display()
            )
        })
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn image_path() -> PathBuf {
    manifest_dir().join("../reachline-matcher/tests/data/pdq/bridge-1-original.jpg")
}

fn compiler() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_owned())
}

/// Compiles smoke.c; `link` are the arguments that bring in the library.
fn compile(out: &Path, link: &[String]) {
    let src = manifest_dir().join("tests/c/smoke.c");
    let include = manifest_dir().join("include");
    let status = Command::new(compiler())
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-O1",
            "-o",
        ])
        .arg(out)
        .arg("-I")
        .arg(&include)
        .arg(&src)
        .args(link)
        .args(["-lpthread", "-ldl", "-lm"])
        .status()
        .expect("the C compiler (cc, or $CC) should run");
    assert!(status.success(), "compiling smoke.c failed: {status}");
}

fn run(exe: &Path, env: &[(&str, &Path)]) -> String {
    let mut cmd = Command::new(exe);
    cmd.arg(image_path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "smoke failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `label -> (status, rest)`.
fn lines(stdout: &str) -> std::collections::HashMap<String, (i32, String)> {
    stdout
        .lines()
        .map(|l| {
            let mut parts = l.splitn(3, ' ');
            let label = parts.next().unwrap().to_owned();
            let second = parts.next().unwrap_or_default();
            let rest = parts.next().unwrap_or_default().to_owned();
            match second.parse::<i32>() {
                Ok(status) => (label, (status, rest)),
                Err(_) => (label, (0, format!("{second} {rest}").trim().to_owned())),
            }
        })
        .collect()
}

fn json(v: &str) -> Value {
    serde_json::from_str(v).unwrap_or_else(|e| panic!("not JSON ({e}): {v}"))
}

fn check_output(stdout: &str) {
    let got = lines(stdout);
    let get = |label: &str| -> (i32, String) {
        got.get(label)
            .cloned()
            .unwrap_or_else(|| panic!("no line {label:?} in:\n{stdout}"))
    };
    let ok = |label: &str| -> Value {
        let (status, rest) = get(label);
        assert_eq!(status, 0, "{label}: {rest}");
        json(&rest)
    };
    let fails = |label: &str, status: i32, needle: &str| {
        let (s, message) = get(label);
        assert_eq!(s, status, "{label}: {message}");
        assert!(
            message.contains(needle),
            "{label}: {message:?} lacks {needle:?}"
        );
        assert!(
            !message.contains("secret") && !message.contains("f8f8"),
            "{label}: the message repeats the input: {message}"
        );
    };

    assert_eq!(get("version").1, env!("CARGO_PKG_VERSION"));
    for label in [
        "add_keywords",
        "add_urls",
        "add_hashes",
        "threshold",
        "build",
    ] {
        assert_eq!(get(label), (0, "(null)".to_owned()), "{label}");
    }
    fails("bad_hashes", 2, "line 1");
    fails("bad_threshold", 2, "between 0 and 256");

    let stats = ok("stats");
    assert_eq!(stats["keywords"], 2);
    assert_eq!(stats["url_digests"], 1);
    assert_eq!(stats["pdq_hashes"], 1);
    assert_eq!(stats["md5"], 1);
    assert_eq!(stats["sha256"], 1);

    assert_eq!(
        ok("query_evasive"),
        json(
            r#"[{"entry_id":"terms:2","list":"terms","category":"test","kind":"keyword","mode":"word"}]"#
        )
    );
    assert_eq!(ok("query_longer_word"), json("[]"));
    assert_eq!(ok("query_phrase")[0]["entry_id"], "terms:3");
    assert_eq!(ok("query_phrase")[0]["mode"], "phrase");
    fails("query_bad_utf8", 1, "query is not valid UTF-8");
    fails("query_null_matcher", 1, "matcher is NULL");
    fails("query_null_out", 1, "json_out is NULL");
    assert_eq!(get("query_null_input_no_error").0, 1);

    assert_eq!(
        ok("url_listed"),
        json(r#"[{"entry_id":"urls:2","list":"urls","category":"test","kind":"url"}]"#)
    );
    assert_eq!(ok("url_unlisted"), json("[]"));
    fails("url_malformed", 2, "malformed URL");

    assert_eq!(
        ok("pdq_near"),
        json(
            r#"[{"entry_id":"hashes:2","list":"hashes","category":"test","kind":"pdq","distance":1}]"#
        )
    );
    assert_eq!(ok("pdq_far"), json("[]"));
    fails("pdq_bad", 2, "64 hexadecimal digits");
    assert_eq!(ok("md5")[0]["entry_id"], "hashes:3");
    assert_eq!(ok("md5")[0]["kind"], "md5");
    assert_eq!(ok("sha256")[0]["entry_id"], "hashes:4");
    assert_eq!(ok("sha256")[0]["kind"], "sha256");
    fails("sha256_bad", 2, "64 hexadecimal digits");

    // The image's hash is the library's own, computed here through the Rust API.
    let bytes = std::fs::read(image_path()).unwrap();
    let expected = reachline_matcher::pdq::hash_image_bytes(&bytes, 25_000_000).unwrap();
    let image = ok("image");
    assert_eq!(image["pdq"], expected.hash.to_hex());
    assert_eq!(image["quality"], expected.quality);
    assert_eq!(image["low_quality"], false);
    // The listed PDQ hash is this conformance image's (a photo of a bridge).
    assert_eq!(
        image["matches"],
        json(
            r#"[{"entry_id":"hashes:2","list":"hashes","category":"test","kind":"pdq","distance":0}]"#
        )
    );
    fails("image_bad", 2, "image could not be decoded");
    fails("image_empty", 2, "image could not be decoded");

    // 4 threads × 250 matching queries each, against one matcher at once.
    assert_eq!(get("threads").0, 1000);
    assert!(got.contains_key("done"), "{stdout}");
}

#[test]
fn a_c_program_uses_the_static_library() {
    let lib = library("libreachline_matcher_ffi.a");
    let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reachline_smoke_static");
    compile(&exe, &[lib.display().to_string()]);
    check_output(&run(&exe, &[]));
}

#[test]
fn a_c_program_uses_the_shared_library() {
    let lib = library("libreachline_matcher_ffi.so");
    let dir = lib.parent().unwrap().to_path_buf();
    let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reachline_smoke_shared");
    compile(
        &exe,
        &[
            lib.display().to_string(),
            format!("-Wl,-rpath,{}", dir.display()),
        ],
    );
    check_output(&run(&exe, &[("LD_LIBRARY_PATH", &dir)]));
}

/// Every `extern "C" fn` in the library is declared in the header, and nothing else is.
#[test]
fn the_header_declares_every_exported_function() {
    let source = std::fs::read_to_string(manifest_dir().join("src/lib.rs")).unwrap();
    let header =
        std::fs::read_to_string(manifest_dir().join("include/reachline_matcher.h")).unwrap();
    let exported: Vec<&str> = source
        .split("extern \"C\" fn ")
        .skip(1)
        .map(|rest| rest.split('(').next().unwrap().trim())
        .collect();
    assert!(exported.len() >= 15, "{exported:?}");
    for name in &exported {
        assert!(
            header.contains(&format!("{name}(")),
            "{name} is exported but not declared in the header"
        );
    }
    let declared: Vec<&str> = header
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("reachline_") && header.contains(&format!("{w}(")))
        .collect();
    for name in declared {
        assert!(
            exported.contains(&name),
            "{name} is declared in the header but not exported"
        );
    }
    // The status codes agree.
    for (name, value) in [
        ("REACHLINE_OK", reachline_matcher_ffi::REACHLINE_OK),
        (
            "REACHLINE_INVALID_ARGUMENT",
            reachline_matcher_ffi::REACHLINE_INVALID_ARGUMENT,
        ),
        (
            "REACHLINE_BAD_INPUT",
            reachline_matcher_ffi::REACHLINE_BAD_INPUT,
        ),
        ("REACHLINE_PANIC", reachline_matcher_ffi::REACHLINE_PANIC),
    ] {
        assert!(
            header.contains(&format!("#define {name} {value}\n")),
            "{name} should be {value} in the header"
        );
    }
}
