//! The layering the code map promises, checked on the code itself: the application crate
//! pulls in no HTTP or template crate, the binary uses the web crate only to serve, and no
//! call site throws away the result of an audit append.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The packages in a crate's normal (not dev, not build) dependency tree.
fn normal_dependencies(package: &str) -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .current_dir(root())
        .output()
        .expect("cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_application_layer_depends_on_no_http_or_template_crate() {
    let deps = normal_dependencies("reachline-app");
    assert!(deps.iter().any(|d| d == "reachline-store"), "{deps:?}");
    for banned in [
        "axum",
        "axum-core",
        "hyper",
        "tower",
        "tower-http",
        "askama",
        "reachline-web",
    ] {
        assert!(
            !deps.iter().any(|d| d == banned),
            "reachline-app depends on {banned}: {deps:?}"
        );
    }
}

#[test]
fn the_binary_uses_the_web_crate_only_to_serve() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let main: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let uses: Vec<&str> = main
        .match_indices("reachline_web::")
        .map(|(i, _)| {
            let rest = &main[i + "reachline_web::".len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    assert!(!uses.is_empty());
    for u in uses {
        assert!(
            matches!(u, "serve" | "AppState::open" | "AppState"),
            "the binary uses reachline_web::{u}; commands belong in reachline-app"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The statement around byte `at`: from the previous `;`, `{` or `}` to the next `;`.
fn statement(text: &str, at: usize) -> &str {
    let start = text[..at]
        .rfind([';', '{', '}'])
        .map(|i| i + 1)
        .unwrap_or(0);
    let end = text[at..].find(';').map(|i| at + i).unwrap_or(text.len());
    &text[start..end]
}

#[test]
fn no_call_site_discards_an_audit_append() {
    let mut files = Vec::new();
    for dir in ["crates", "src"] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut checked = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for call in [
            ".audit(",
            "commit_audited(",
            "audit_append(",
            "commit_entry(",
        ] {
            for (at, _) in text.match_indices(call) {
                let s = statement(&text, at);
                if s.trim_start().starts_with("pub ") || s.contains("async fn") || s.contains("///")
                {
                    continue;
                }
                checked += 1;
                let compact: String = s.split_whitespace().collect();
                assert!(
                    !compact.starts_with("let_=")
                        && !compact.contains(".ok()")
                        && !compact.contains("unwrap_or"),
                    "{} discards an audit result: {}",
                    f.display(),
                    s.trim()
                );
            }
        }
    }
    assert!(
        checked > 40,
        "only {checked} audit call sites found: is the scan still right?"
    );
}
