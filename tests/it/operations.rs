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
        reachline_app::ops::admin_create(&s.state.config, s.state.clock.clone(), name, "admin")
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
    s.state.metrics.chat_messages.inc_by(2);
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
        "reachline_http_request_duration_seconds_bucket{le=\"+Inf\",route=\"/\"} 1",
        "reachline_db_pool_connections ",
        "reachline_db_pool_idle_connections ",
        "reachline_deterrence_lists 0",
        "reachline_housekeeping_runs_total ",
        "reachline_uptime_seconds ",
        "reachline_chats_waiting ",
        "reachline_chat_messages_total 2",
        "# EOF",
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

const ROTATE_MARKER: &str = "copperkettle rotation marker 6620";
const ANSWER_MARKER: &str = "I keep a plan by the kettle (tealmarmot 3318).";

fn private_file(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// The help-seeker's side: a secure message (its return code) and self-help answers saved
/// under a return code (the chapter, the code).
async fn write_content(s: &TestServer) -> (String, String, String) {
    let seeker = s.browser();
    let resp = post(
        &seeker,
        s.url("/contact/message"),
        &[
            ("statement", "read"),
            ("who", "self"),
            ("age", "adult"),
            ("area", "E23000015"),
            ("message", ROTATE_MARKER),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    let message_code = crate::common::return_code(&html)
        .expect("a return code")
        .to_string();
    let (chapter, action, field) = crate::site::first_exercise(s).await;
    let a = s.browser();
    let resp = post(&a, s.url(&action), &[(&field, ANSWER_MARKER)]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = post(&a, s.url("/progress/save"), &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    let answers_code = crate::common::return_code(&html)
        .expect("code shown")
        .to_string();
    (message_code, chapter, answers_code)
}

/// Opens both with their codes in fresh browsers.
async fn content_opens(s: &TestServer, message_code: &str, chapter: &str, answers_code: &str) {
    let resp = post(
        &s.browser(),
        s.url("/contact/continue"),
        &[("code", message_code)],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains(ROTATE_MARKER));
    let b = s.browser();
    let resp = post(&b, s.url("/progress/resume"), &[("code", answers_code)]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = b
        .get(s.url(chapter))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("tealmarmot 3318"), "answers do not open");
}

fn no_leftover_keys(data_dir: &Path) {
    for leftover in ["master.key.new", "master.key.old"] {
        assert!(!data_dir.join(leftover).exists(), "{leftover} left behind");
    }
}

#[tokio::test]
async fn rotating_the_master_key_keeps_every_record_readable_and_retires_the_old_key() -> TestResult
{
    use reachline_core::keys::MasterKey;
    let s = TestServer::start().await;
    let data_dir = PathBuf::from(&s.state.config.storage.data_dir);
    let db_url = postgres_url().map(|_| s.state.config.storage.database_url.clone());
    let db_url = db_url.as_deref();
    let work = tempfile::tempdir()?;
    reachline_app::ops::admin_create(&s.state.config, s.state.clock.clone(), "ada", "admin")
        .await?;
    let (message_code, chapter, answers_code) = write_content(&s).await;
    let old_key = work.path().join("old.key");
    let o = reachline(
        &["keys", "export", "--out", &old_key.display().to_string()],
        &data_dir,
        db_url,
    );
    assert!(o.status.success(), "{}", text(&o));
    let before = std::fs::read_to_string(data_dir.join("master.key"))?;

    // Rotate while the server runs: it keeps reading and writing with the data keys it holds.
    let o = reachline(&["keys", "rotate"], &data_dir, db_url);
    assert!(o.status.success(), "rotate failed: {}", text(&o));
    assert!(text(&o).contains("re-wrapped and checked"), "{}", text(&o));
    let after = std::fs::read_to_string(data_dir.join("master.key"))?;
    assert_ne!(before, after);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(data_dir.join("master.key"))?
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    no_leftover_keys(&data_dir);
    content_opens(&s, &message_code, &chapter, &answers_code).await;

    // The old key opens no data key any more; the new one opens them all.
    let old = MasterKey::load(&old_key)?;
    let new = MasterKey::load(&data_dir.join("master.key"))?;
    let rows = s.state.store.keyring_all().await?;
    assert!(rows.len() >= 4, "{} data keys", rows.len());
    for r in &rows {
        assert!(old.unwrap_key(&r.purpose, r.version, &r.wrapped).is_err());
        assert!(new.unwrap_key(&r.purpose, r.version, &r.wrapped).is_ok());
    }
    let entries = s.state.store.audit_all().await?;
    assert_eq!(
        entries.last().map(|e| e.action.as_str()),
        Some("keys.rotate")
    );

    // After a restart (the server reads the new key) every record still opens.
    let s = s.restart().await;
    content_opens(&s, &message_code, &chapter, &answers_code).await;
    let o = reachline(&["audit", "verify"], &data_dir, db_url);
    assert!(o.status.success(), "{}", text(&o));

    // Interrupted after the database committed, before the new key was installed: the new
    // key waits in master.key.new, master.key still holds the previous one. Running the
    // command again finishes the rotation.
    let current = std::fs::read_to_string(data_dir.join("master.key"))?;
    std::fs::rename(data_dir.join("master.key"), data_dir.join("master.key.new"))?;
    private_file(
        &data_dir.join("master.key"),
        &std::fs::read_to_string(&old_key)?,
    );
    let o = reachline(&["doctor"], &data_dir, db_url);
    assert!(text(&o).contains("interrupted"), "{}", text(&o));
    let o = reachline(&["keys", "rotate"], &data_dir, db_url);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("finished an interrupted rotation"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(data_dir.join("master.key"))?,
        current
    );
    no_leftover_keys(&data_dir);

    // Interrupted before the database changed (a new key that opens nothing, or a torn
    // write): it is removed and a fresh rotation runs.
    private_file(
        &data_dir.join("master.key.new"),
        &format!("{}\n", "cd".repeat(32)),
    );
    private_file(&data_dir.join("master.key.old"), "torn");
    let o = reachline(&["keys", "rotate"], &data_dir, db_url);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("had not reached the database"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("re-wrapped and checked"), "{}", text(&o));
    assert_ne!(
        std::fs::read_to_string(data_dir.join("master.key"))?,
        current
    );
    no_leftover_keys(&data_dir);

    // A key that opens nothing is refused and changes nothing.
    let wrong = work.path().join("wrong.key");
    private_file(&wrong, &format!("{}\n", "ef".repeat(32)));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reachline"));
    cmd.args(["keys", "rotate", "--data-dir"])
        .arg(&data_dir)
        .env_remove("REACHLINE_DATABASE_URL")
        .env_remove("REACHLINE_CONFIG")
        .env("REACHLINE_STORAGE_MASTER_KEY_FILE", &wrong);
    if let Some(url) = db_url {
        cmd.arg("--database-url").arg(url);
    }
    let o = cmd.output()?;
    assert!(!o.status.success());
    assert!(text(&o).contains("opens with none"), "{}", text(&o));
    assert!(!work.path().join("wrong.key.new").exists());
    assert!(!work.path().join("wrong.key.old").exists());

    let s = s.restart().await;
    content_opens(&s, &message_code, &chapter, &answers_code).await;
    let o = reachline(&["audit", "verify"], &data_dir, db_url);
    assert!(o.status.success(), "{}", text(&o));
    let rotations = s
        .state
        .store
        .audit_all()
        .await?
        .iter()
        .filter(|e| e.action == "keys.rotate")
        .count();
    assert_eq!(rotations, 3);
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_database_made_by_an_older_release_upgrades_with_every_record_readable() -> TestResult {
    use crate::common::{schema_url, T0};
    use reachline_app::deterrence::lists;
    use reachline_core::clock::{ManualClock, SharedClock};
    use reachline_core::config::Config;
    use reachline_core::keys::MasterKey;
    use reachline_web::AppState;
    // Schema 0005: staff, audit, settings and deterrence lists, before conversations.
    const OLD: i64 = 5;
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.storage.data_dir = dir.path().join("data").display().to_string();
    reachline_app::prepare_data_dir(&config)?;
    let schema = postgres_url().map(|_| reachline_store::random_schema_name("upgrade"));
    let old_store = match (postgres_url(), &schema) {
        (Some(url), Some(schema)) => {
            config.storage.database_url = schema_url(&url, schema);
            Store::open_postgres_in_schema_at_migration(&url, schema, OLD).await?
        }
        _ => Store::open_sqlite_at_migration(&config.data_dir().join("reachline.db"), OLD).await?,
    };
    let latest = reachline_store::latest_migration();
    assert!(latest > OLD);
    assert_eq!(
        old_store.pending_migrations().await?,
        (OLD + 1..=latest).collect::<Vec<_>>()
    );
    let (master, _) = MasterKey::load_or_create(&config.master_key_path())?;
    let clock: SharedClock = Arc::new(Arc::new(ManualClock::new(T0)));

    // Populate the old schema with the project's own code, as that release's service did.
    let old = AppState::with_store(config.clone(), clock.clone(), old_store, &master).await?;
    let now = T0;
    let id = old
        .store
        .staff_create("ada", reachline_core::staff::Role::Administrator, "", now)
        .await?;
    let token = reachline_core::staff::token_hash("enrol-token");
    old.store.enrolment_create(&token, id, now + 3600).await?;
    let totp = old.content_key.seal(
        reachline_core::sealing::Context::StaffTotp { staff: id },
        b"JBSWY3DPEHPK3PXP",
    );
    let mut tx = old.store.begin().await?;
    assert!(
        tx.staff_enrol(
            &token,
            id,
            &reachline_core::staff::hash_password("a long passphrase for ada"),
            &totp,
            &[],
            now
        )
        .await?
    );
    tx.commit().await?;
    old.audit("cli", "staff.create", &format!("staff:{id}"), "admin")
        .await?;
    let (handle, _) = old
        .workbooks
        .update(None, now, |a| {
            a.answers.insert(
                "m/e".into(),
                reachline_app::workbook::Answer {
                    text: ANSWER_MARKER.into(),
                    ..Default::default()
                },
            );
            true
        })
        .await?;
    let (code, _) = old.workbooks.save(Some(&handle), now).await?;
    let csv = "term,category,match,language\nbluepineapple,test-terms,word,en\n";
    let prepared = lists::prepare(lists::ListKind::Keywords, "neutral", "listed", csv)?;
    let lists_key = reachline_app::data_key(&old.store, &master, "lists", now).await?;
    let mut tx = old.store.begin().await?;
    tx.list_import(
        "keywords",
        "neutral",
        "listed",
        prepared.entries as i64,
        |v| lists::seal(&lists_key, "keywords", "neutral", v, &prepared.text),
        now,
        "cli",
    )
    .await?;
    old.commit_audited(
        tx,
        "cli",
        "lists.import",
        "list:keywords:neutral",
        "version 1",
    )
    .await?;
    let mut tx = old.store.begin().await?;
    tx.statement_add("Statement, first version.", now, "ada")
        .await?;
    tx.commit().await?;
    old.store.close().await;
    drop(old);

    // The current release opens it: the remaining migrations apply, everything still reads.
    let store = reachline_app::open_store(&config).await?;
    assert!(store.pending_migrations().await?.is_empty());
    let new = AppState::with_store(config.clone(), clock.clone(), store, &master).await?;
    assert_eq!(
        reachline_app::ops::audit_verify_store(&new.store, &master, now).await?,
        2
    );
    let opened = new.workbooks.resume(code, now).await?.expect("answers");
    assert_eq!(
        opened.answers.get("m", "e").map(|a| a.text.as_str()),
        Some(ANSWER_MARKER)
    );
    let ada = new.store.staff_by_username("ada").await?.expect("staff");
    assert!(ada.enrolled());
    let secret = new.content_key.open(
        reachline_core::sealing::Context::StaffTotp { staff: ada.id },
        ada.totp_sealed.as_deref().expect("totp"),
    )?;
    assert_eq!(secret, b"JBSWY3DPEHPK3PXP");
    assert!(new.gateway.is_loaded());
    let verdict = reachline_app::ops::deterrence_check(
        &config,
        clock.clone(),
        reachline_app::ops::CheckInput::Query("a bluepineapple search".into()),
        false,
    )
    .await?;
    assert_eq!(verdict["match"], true, "{verdict}");
    assert_eq!(
        new.store.statement_latest().await?.map(|s| s.body),
        Some("Statement, first version.".into())
    );
    // A new record of the new era goes in beside the old ones; the chain still verifies.
    new.audit("cli", "upgrade.check", "-", "").await?;
    assert_eq!(
        reachline_app::ops::audit_verify_store(&new.store, &master, now).await?,
        3
    );
    new.store.close().await;
    let o = reachline(
        &["audit", "verify"],
        &config.data_dir(),
        postgres_url().map(|_| config.storage.database_url.as_str()),
    );
    assert!(o.status.success(), "{}", text(&o));
    if let (Some(url), Some(schema)) = (postgres_url(), schema) {
        Store::drop_postgres_schema(&url, &schema).await?;
    }
    Ok(())
}

#[tokio::test]
async fn doctor_passes_a_fresh_deployment_and_fails_what_is_unsafe() -> TestResult {
    use reachline_app::doctor::{self, Level};
    let s = TestServer::start().await;
    for _ in 0..100 {
        if s.state.store.heartbeat_get("housekeeping").await?.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let level = |checks: &[doctor::Check], name: &str| {
        checks
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.level)
            .unwrap_or_else(|| panic!("no {name} check in {checks:?}"))
    };
    let checks = doctor::run(&s.state.config, s.state.clock.clone()).await;
    assert!(doctor::passed(&checks), "{checks:#?}");
    for name in [
        "key file",
        "data directory",
        "database",
        "migrations",
        "keyring",
        "clock",
        "retention job",
        "metrics",
    ] {
        assert_eq!(level(&checks, name), Level::Ok, "{checks:#?}");
    }
    assert_eq!(level(&checks, "https"), Level::Warn);

    // A clock running behind what the database holds; a stale retention job.
    let at = |t: i64| -> reachline_core::clock::SharedClock {
        Arc::new(Arc::new(reachline_core::clock::ManualClock::new(t)))
    };
    let checks = doctor::run(&s.state.config, at(crate::common::T0 - 3_600)).await;
    assert_eq!(level(&checks, "clock"), Level::Fail);
    let checks = doctor::run(&s.state.config, at(crate::common::T0 + 3 * 86_400)).await;
    assert_eq!(level(&checks, "clock"), Level::Ok);
    assert_eq!(level(&checks, "retention job"), Level::Fail);

    // A TLS proxy deployment, and the ways to get it wrong.
    let mut c = s.state.config.clone();
    c.server.public_url = "https://help.example.org".into();
    c.server.trust_forwarded_proto = true;
    c.metrics.listen = "127.0.0.1:9090".into();
    let checks = doctor::run(&c, s.state.clock.clone()).await;
    assert!(doctor::passed(&checks), "{checks:#?}");
    assert_eq!(level(&checks, "https"), Level::Ok);
    assert_eq!(level(&checks, "secure cookies"), Level::Ok);
    c.server.trust_forwarded_proto = false;
    c.metrics.listen = "0.0.0.0:9090".into();
    let checks = doctor::run(&c, s.state.clock.clone()).await;
    assert_eq!(level(&checks, "secure cookies"), Level::Fail);
    assert_eq!(level(&checks, "metrics"), Level::Fail);
    c.server.public_url = "http://help.example.org".into();
    let checks = doctor::run(&c, s.state.clock.clone()).await;
    assert_eq!(level(&checks, "https"), Level::Fail);

    // A key file others can read fails, through the binary too (exit code 1).
    let data_dir = PathBuf::from(&s.state.config.storage.data_dir);
    let db_url = postgres_url().map(|_| s.state.config.storage.database_url.clone());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = data_dir.join("master.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644))?;
        let checks = doctor::run(&s.state.config, s.state.clock.clone()).await;
        assert_eq!(level(&checks, "key file"), Level::Fail);
        let o = reachline(&["doctor"], &data_dir, db_url.as_deref());
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let line = String::from_utf8_lossy(&o.stdout)
            .lines()
            .find(|l| l.contains("key file"))
            .map(str::to_string)
            .unwrap_or_default();
        assert!(
            line.starts_with("fail") && line.contains("chmod 600"),
            "{line}"
        );
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
        std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755))?;
        let checks = doctor::run(&s.state.config, s.state.clock.clone()).await;
        assert_eq!(level(&checks, "data directory"), Level::Fail);
        std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o700))?;
    }
    s.stop().await;

    // The binary on a fresh deployment made by the binary (the system clock on both sides).
    let mut b = crate::common::BinaryServer::start(&[]);
    let mut out = None;
    for _ in 0..100 {
        let o = reachline(&["doctor"], &b.data_dir, None);
        if text(&o).contains("housekeeping ran") {
            out = Some(o);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let o = out.expect("doctor saw the heartbeat");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        assert!(
            line.starts_with("ok ") || line.starts_with("warn "),
            "{line}"
        );
    }
    b.terminate();
    Ok(())
}

#[cfg(unix)]
#[tokio::test]
async fn data_files_are_owner_only_whatever_existed_before() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    // A data directory made by hand (0755) holding a database file made under a loose
    // umask (0644), as an operator or a package might leave them.
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    std::fs::create_dir(&data)?;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755))?;
    let db = data.join("reachline.db");
    std::fs::write(&db, b"")?;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644))?;
    let mut server = crate::common::BinaryServer::start_in(dir, &[]);
    let resp = reqwest::get(server.url("/")).await?;
    assert!(resp.status().is_success());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&server.data_dir), 0o700, "the data directory");
    let files = crate::common::walk_files(&server.data_dir);
    assert!(
        files.iter().any(|f| f.ends_with("reachline.db-wal")),
        "{files:?}"
    );
    for f in &files {
        assert_eq!(mode(f) & 0o077, 0, "{} is readable by others", f.display());
    }
    server.terminate();
    Ok(())
}

/// `reachline admin create` beside a service started with `serve --listen`: the enrolment
/// link carries the address the service serves on (not the configured default, where nothing
/// listens), and says plainly that `server.public_url` is the setting to use; an analyst
/// needs areas, as in the console.
#[tokio::test]
async fn enrolment_links_from_the_command_line_carry_the_served_address() -> TestResult {
    let mut server = crate::common::BinaryServer::start(&[]);
    let create = |name: &str, extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_reachline"))
            .args(["admin", "create", "--data-dir"])
            .arg(&server.data_dir)
            .args(["--username", name])
            .args(extra)
            .env_remove("REACHLINE_DATABASE_URL")
            .env_remove("REACHLINE_CONFIG")
            .output()
            .expect("run admin create");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    // The service notes its address as it starts serving, before it answers a request.
    assert!(reqwest::get(server.url("/healthz"))
        .await?
        .status()
        .is_success());
    let (ok, stdout, stderr) = create("ada", &[]);
    assert!(ok, "{stderr}");
    // No output at all gives "", which the assertion below refuses.
    let link = stdout.lines().last().unwrap_or_default();
    assert!(
        link.starts_with(&format!("{}/console/enrol/", server.base)),
        "the link {link:?} is not on {}",
        server.base
    );
    assert!(stderr.contains("server.public_url"), "{stderr}");
    // The link opens the enrolment page on the running service.
    assert_eq!(reqwest::get(link).await?.status(), StatusCode::OK);

    let (ok, _, stderr) = create("ana", &["--role", "analyst"]);
    assert!(!ok && stderr.contains("--areas"), "{stderr}");
    let (ok, _, stderr) = create("ana", &["--role", "analyst", "--areas", "E99999999"]);
    assert!(
        !ok && stderr.contains("not a police force area"),
        "{stderr}"
    );
    let (ok, _, stderr) = create("ana", &["--role", "analyst", "--areas", "E23000015"]);
    assert!(ok, "{stderr}");
    server.terminate();
    Ok(())
}
