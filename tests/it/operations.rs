//! Operations: online backup and checked restore, keys export, readiness, metrics.

use crate::common::{free_port, post_form as post, postgres_url, TestResult, TestServer};
use reachline_store::Store;
use reqwest::StatusCode;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

const MARKER: &str = "amberlighthouse backup marker 5512";
const MARKER_UA: &str = "MarkerAgent/9.9 (quokka-ua-7731)";
const MARKER_IP: &str = "203.0.113.77";

/// Runs the real binary with `--data-dir` (and `--database-url` on the PostgreSQL pass).
fn reachline(args: &[&str], data_dir: &Path, database_url: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reachline"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("REACHLINE_DATABASE_URL")
        .env_remove("REACHLINE_CONFIG");
    if let Some(url) = database_url {
        cmd.arg("--database-url").arg(url);
    }
    cmd.output().expect("run reachline")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn restored_store(dir: &Path, database_url: Option<&str>) -> Store {
    match database_url {
        Some(url) => Store::open_postgres(url).await.unwrap(),
        None => Store::open_sqlite(&dir.join("reachline.db")).await.unwrap(),
    }
}

#[tokio::test]
async fn a_backup_taken_while_writing_restores_every_committed_record() -> TestResult {
    let s = TestServer::start().await;
    let data_dir = PathBuf::from(&s.state.config.storage.data_dir);
    let db_url = postgres_url().map(|_| s.state.config.storage.database_url.clone());
    let db_url = db_url.as_deref();
    let work = tempfile::tempdir()?;
    // Audit entries, so the restored chain has something to verify.
    for name in ["ada", "grace"] {
        reachline_web::ops::admin_create(&s.state.config, s.state.clock.clone(), name, "admin")
            .await?;
    }

    // Help-seekers keep writing secure messages throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, committed, url) = (stop.clone(), committed.clone(), s.url("/contact/message"));
        let client = s.browser();
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < 200 {
                let resp = post(
                    &client,
                    url.clone(),
                    &[
                        ("statement", "read"),
                        ("who", "self"),
                        ("age", "adult"),
                        ("area", "E23000015"),
                        ("message", &format!("{MARKER} number {i}")),
                    ],
                )
                .await;
                if resp.status() == StatusCode::OK {
                    committed.fetch_add(1, Ordering::SeqCst);
                }
                i += 1;
            }
        })
    };
    while committed.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let before = s.state.store.messages_count().await?;
    assert!(before >= 3);

    let identity = work.path().join("backup-identity.txt");
    let o = Command::new(env!("CARGO_BIN_EXE_reachline"))
        .args(["keys", "backup-identity", "--out"])
        .arg(&identity)
        .output()?;
    assert!(o.status.success(), "{}", text(&o));
    let public = text(&o)
        .lines()
        .find(|l| l.starts_with("age1"))
        .expect("public key")
        .to_string();

    let key_file = work.path().join("master.key.offline");
    let key_arg = key_file.display().to_string();
    let o = reachline(&["keys", "export", "--out", &key_arg], &data_dir, db_url);
    assert!(o.status.success(), "{}", text(&o));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_file)?.permissions().mode() & 0o777,
            0o600
        );
    }
    let o = reachline(&["keys", "export", "--out", &key_arg], &data_dir, db_url);
    assert!(!o.status.success() && text(&o).contains("already exists"));

    let backup = work.path().join("reachline.backup");
    let backup_arg = backup.display().to_string();
    let o = reachline(
        &["backup", "--out", &backup_arg, "--recipient", &public],
        &data_dir,
        db_url,
    );
    assert!(o.status.success(), "backup failed: {}", text(&o));
    let backend = if db_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    assert!(
        text(&o).contains(&format!("({backend} database")),
        "{}",
        text(&o)
    );
    while committed.load(Ordering::SeqCst) < before as usize + 2 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    writer.await?;
    let after = s.state.store.messages_count().await?;
    assert!(after > before);

    // No plaintext, no master key, no temporary copy left in the data directory.
    let bytes = std::fs::read(&backup)?;
    let master_hex = std::fs::read_to_string(&key_file)?.trim().to_string();
    assert!(!contains(&bytes, MARKER.as_bytes()), "marker in the backup");
    assert!(!contains(&bytes, master_hex.as_bytes()));
    assert!(!contains(&bytes, &hex::decode(&master_hex)?));
    assert!(!contains(&bytes, b"SQLite format"));
    assert!(std::fs::read_dir(&data_dir)?
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().starts_with(".backup")));
    let o = reachline(
        &["backup", "--out", &backup_arg, "--recipient", &public],
        &data_dir,
        db_url,
    );
    assert!(!o.status.success() && text(&o).contains("already exists"));

    // The original is lost (on PostgreSQL its schema is dropped); restore elsewhere.
    s.stop().await;
    let target = work.path().join("restored");
    let id_arg = identity.display().to_string();
    let restore = |extra: &[&str]| {
        let mut args = vec!["restore", "--from", &backup_arg, "--identity", &id_arg];
        args.extend_from_slice(extra);
        reachline(&args, &target, db_url)
    };

    let o = restore(&[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--master-key"), "{}", text(&o));
    assert!(!target.exists());

    let wrong = work.path().join("wrong.key");
    std::fs::write(&wrong, format!("{}\n", "ab".repeat(32)))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600))?;
    }
    let o = restore(&["--master-key", &wrong.display().to_string()]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("master key does not open"),
        "{}",
        text(&o)
    );
    assert!(!target.exists(), "a failed restore left files");
    assert!(std::fs::read_dir(work.path())?
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().contains("restoring")));
    if let Some(url) = db_url {
        assert_eq!(Store::postgres_table_count(url).await?, 0);
    }

    let other = work.path().join("other-identity.txt");
    let o = Command::new(env!("CARGO_BIN_EXE_reachline"))
        .args(["keys", "backup-identity", "--out"])
        .arg(&other)
        .output()?;
    assert!(o.status.success());
    let o = reachline(
        &[
            "restore",
            "--from",
            &backup_arg,
            "--identity",
            &other.display().to_string(),
            "--master-key",
            &key_arg,
        ],
        &target,
        db_url,
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("cannot be opened with that identity"),
        "{}",
        text(&o)
    );
    assert!(!target.exists());

    std::fs::create_dir(&target)?;
    std::fs::write(target.join("something"), "x")?;
    let o = restore(&["--master-key", &key_arg]);
    assert!(
        !o.status.success() && text(&o).contains("not empty"),
        "{}",
        text(&o)
    );
    std::fs::remove_file(target.join("something"))?;

    let o = restore(&["--master-key", &key_arg]);
    assert!(o.status.success(), "restore failed: {}", text(&o));
    assert!(text(&o).contains("audit log intact"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(target.join("master.key"))?
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    let o = reachline(&["audit", "verify"], &target, db_url);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("audit log intact"));
    let store = restored_store(&target, db_url).await;
    let restored = store.messages_count().await?;
    store.close().await;
    assert!(
        restored >= before && restored <= after,
        "restored {restored} messages; {before} were committed before the backup, {after} at the end"
    );
    // A second restore into the now-populated target is refused.
    let o = restore(&["--master-key", &key_arg]);
    assert!(!o.status.success() && text(&o).contains("not empty"));
    if let (Some(base), Some(url)) = (postgres_url(), db_url) {
        if let Some(schema) = url.split("options[search_path]=").nth(1) {
            let _ = Store::drop_postgres_schema(&base, schema).await;
        }
    }
    Ok(())
}

#[tokio::test]
async fn readyz_answers_and_metrics_count_routes_without_addresses_or_agents() -> TestResult {
    let port = free_port();
    let s = TestServer::start_with(|c| c.metrics.listen = format!("127.0.0.1:{port}")).await;
    let c = s.client();
    let resp = c.get(s.url("/readyz")).send().await?;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await?, "ready\n");
    for path in [
        "/",
        "/modules",
        "/modules/zebraslug9931",
        "/no/such/qqzz8812",
        "/healthz",
    ] {
        c.get(s.url(path))
            .header("x-forwarded-for", MARKER_IP)
            .header("user-agent", MARKER_UA)
            .send()
            .await?;
    }
    s.state
        .metrics
        .set_gauge("reachline_test_chats_waiting", "Chats waiting (test).", 4.0);
    s.state
        .metrics
        .add_counter("reachline_test_messages_total", "Messages (test).", 2);
    let metrics = c
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await?;
    assert_eq!(metrics.status(), StatusCode::OK);
    let body = metrics.text().await?;
    for want in [
        "reachline_http_requests_total{route=\"/\",method=\"GET\",status=\"200\"} 1",
        "route=\"/modules/{slug}\"",
        "route=\"unmatched\",method=\"GET\",status=\"404\"",
        "route=\"/readyz\"",
        "reachline_http_request_duration_seconds_bucket{route=\"/\",le=\"+Inf\"} 1",
        "reachline_db_pool_connections ",
        "reachline_db_pool_idle_connections ",
        "reachline_deterrence_lists 0",
        "reachline_housekeeping_runs_total ",
        "reachline_uptime_seconds ",
        "reachline_test_chats_waiting 4",
        "reachline_test_messages_total 2",
    ] {
        assert!(body.contains(want), "metrics lack {want:?}:\n{body}");
    }
    for never in [
        MARKER_IP,
        "quokka-ua-7731",
        "MarkerAgent",
        "zebraslug9931",
        "qqzz8812",
    ] {
        assert!(!body.contains(never), "metrics hold {never:?}");
    }
    // /metrics is not on the public listener.
    assert_eq!(
        c.get(s.url("/metrics")).send().await?.status(),
        StatusCode::NOT_FOUND
    );
    // With the database gone, /readyz says so.
    s.state.store.close().await;
    let resp = c.get(s.url("/readyz")).send().await?;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.text().await?, "database unreachable\n");
    s.stop().await;
    Ok(())
}
