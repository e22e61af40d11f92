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

/// The module a source file is, as a path below its crate root (`""` for the root).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The modules each module of one crate names (by `crate::…` or `super::…`), from the
/// source text with its unit-test modules left out.
fn module_graph(
    src: &Path,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let files: Vec<(String, String)> = files
        .iter()
        .filter(|f| !f.components().any(|c| c.as_os_str() == "bin"))
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let text = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            (module_of(src, f), text)
        })
        .collect();
    let modules: std::collections::BTreeSet<String> =
        files.iter().map(|(m, _)| m.clone()).collect();
    let resolve = |segments: &[&str]| -> String {
        let mut best = String::new();
        for n in 1..=segments.len() {
            let candidate = segments[..n].join("::");
            if modules.contains(&candidate) {
                best = candidate;
            }
        }
        best
    };
    let ident = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|p| {
                p.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|p| !p.is_empty())
            .collect()
    };
    let mut graph = std::collections::BTreeMap::new();
    for (module, text) in &files {
        let mut uses = std::collections::BTreeSet::new();
        let code: String = text
            .lines()
            .filter(|l| {
                let t = l.trim_start();
                !t.starts_with("//") && !t.starts_with("mod ") && !t.starts_with("pub mod ")
            })
            .collect::<Vec<_>>()
            .join("\n");
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            // `crate::{a, b::c}` names each of its parts.
            let paths: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group[..group.find('}').unwrap_or(group.len())]
                    .split(',')
                    .map(str::trim)
                    .collect(),
                None => vec![rest],
            };
            for path in paths {
                let segs = ident(path);
                let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
                uses.insert(resolve(&segs));
            }
        }
        for (i, _) in code.match_indices("super::") {
            if i > 0 && code[..i].ends_with("::") {
                continue;
            }
            let parent = module.rsplit_once("::").map(|p| p.0).unwrap_or("");
            let rest = &code[i + "super::".len()..];
            let mut segs: Vec<String> = parent
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            segs.extend(ident(rest));
            let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
            let target = resolve(&segs);
            uses.insert(if target.len() < parent.len() {
                parent.to_string()
            } else {
                target
            });
        }
        // A module is made of its children and may use them freely; what counts is a
        // module leaning on a sibling or on an ancestor's own items.
        uses.retain(|t| {
            !(t == module || module.is_empty() || t.starts_with(&format!("{module}::")))
        });
        graph.insert(module.clone(), uses);
    }
    graph
}

/// A cycle through `start`, if there is one.
fn cycle_from(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    start: &str,
) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = std::collections::BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_string());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn no_module_imports_in_a_circle() {
    let mut crates = vec![root().join("src")];
    for entry in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        crates.push(entry.path().join("src"));
    }
    let mut cycles = Vec::new();
    for src in crates {
        let graph = module_graph(&src);
        for module in graph.keys() {
            if let Some(c) = cycle_from(&graph, module) {
                let shown = c
                    .iter()
                    .map(|m| if m.is_empty() { "(root)" } else { m.as_str() })
                    .collect::<Vec<_>>()
                    .join(" -> ");
                cycles.push(format!("{}: {shown}", src.display()));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules that import each other in a circle (a module's parts are one thing only \
         when each can be read without the others; move what both need to where it belongs):\n{}",
        cycles.join("\n")
    );
}
