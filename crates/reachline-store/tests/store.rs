//! The storage suite: every test runs on SQLite, and again on PostgreSQL when
//! `REACHLINE_TEST_POSTGRES_URL` is set (CI sets it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reachline_core::staff::Role;
use reachline_core::vocabulary::{CallbackStatus, Channel, ConcernStatus, Sender};
use reachline_store::{Backend, Store};

struct Db {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

impl Db {
    async fn cleanup(self) {
        self.store.close().await;
        if let Some((url, schema)) = self.schema {
            Store::drop_postgres_schema(&url, &schema).await.unwrap();
        }
    }
}

async fn backends() -> Vec<Db> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open_sqlite(&dir.path().join("t.db")).await.unwrap();
    let mut out = vec![Db {
        store: sqlite,
        _dir: Some(dir),
        schema: None,
    }];
    if let Ok(url) = std::env::var("REACHLINE_TEST_POSTGRES_URL") {
        if !url.is_empty() {
            let schema = reachline_store::random_schema_name("store");
            let store = Store::open_postgres_in_schema(&url, &schema).await.unwrap();
            out.push(Db {
                store,
                _dir: None,
                schema: Some((url, schema)),
            });
        }
    }
    out
}

#[tokio::test]
async fn migrations_are_idempotent_and_the_database_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let a = Store::open_sqlite(&path).await.unwrap();
    a.workbook_create("00000000000000000000000000000001", b"x", 1, 100)
        .await
        .unwrap();
    a.close().await;
    let b = Store::open_sqlite(&path).await.unwrap();
    assert!(b.ping().await);
    assert_eq!(b.workbooks_count().await.unwrap(), 1);
    for db in backends().await {
        assert!(db.store.ping().await);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_secure_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("t.db")).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    let (wal, secure) = store.sqlite_pragmas().await.unwrap();
    assert_eq!(wal, "wal");
    assert_eq!(secure, 1);
}

#[tokio::test]
async fn keyring_keeps_the_first_key_when_two_instances_race() {
    for db in backends().await {
        let s = &db.store;
        assert!(s.keyring_versions("pepper").await.unwrap().is_empty());
        assert!(s.keyring_insert("pepper", 1, b"first", 10).await.unwrap());
        assert!(!s.keyring_insert("pepper", 1, b"second", 11).await.unwrap());
        let v = s.keyring_versions("pepper").await.unwrap();
        assert_eq!(v, vec![(1, b"first".to_vec())]);
        assert!(s.keyring_versions("other").await.unwrap().is_empty());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn workbooks_update_only_from_the_revision_read() {
    for db in backends().await {
        let s = &db.store;
        let id = "0123456789abcdef0123456789abcdef";
        s.workbook_create(id, b"v1", 100, 1000).await.unwrap();
        let row = s.workbook_get(id, 100).await.unwrap().unwrap();
        assert_eq!((row.revision, row.lookup.clone()), (1, None));
        assert!(s
            .workbook_update(id, 1, Some("look"), b"v2", 101, 2000)
            .await
            .unwrap());
        // A second writer that read revision 1 loses and must retry.
        assert!(!s
            .workbook_update(id, 1, None, b"stale", 102, 2000)
            .await
            .unwrap());
        let row = s.workbook_find("look", 103).await.unwrap().unwrap();
        assert_eq!((row.sealed.as_slice(), row.revision), (&b"v2"[..], 2));
        assert!(s.workbook_find("nope", 103).await.unwrap().is_none());
        // Expired rows are invisible, then purged.
        assert!(s.workbook_get(id, 2000).await.unwrap().is_none());
        assert!(s.workbook_find("look", 2000).await.unwrap().is_none());
        s.workbook_create("ffffffffffffffffffffffffffffffff", b"x", 100, 5000)
            .await
            .unwrap();
        assert_eq!(s.workbooks_purge(2000).await.unwrap(), 1);
        assert_eq!(s.workbooks_count().await.unwrap(), 1);
        assert!(s
            .workbook_delete("ffffffffffffffffffffffffffffffff")
            .await
            .unwrap());
        assert!(!s
            .workbook_delete("ffffffffffffffffffffffffffffffff")
            .await
            .unwrap());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn lookups_are_unique() {
    for db in backends().await {
        let s = &db.store;
        s.workbook_create("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", b"a", 1, 100)
            .await
            .unwrap();
        s.workbook_create("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", b"b", 1, 100)
            .await
            .unwrap();
        assert!(s
            .workbook_update(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                1,
                Some("same"),
                b"a",
                2,
                100
            )
            .await
            .unwrap());
        assert!(s
            .workbook_update(
                "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                1,
                Some("same"),
                b"b",
                2,
                100
            )
            .await
            .is_err());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn reach_counters_add_up_and_never_go_negative() {
    for db in backends().await {
        let s = &db.store;
        s.reach_count_daily("2026-01-02", "module_view", "a")
            .await
            .unwrap();
        s.reach_add_daily("2026-01-02", "module_view", "a", 4)
            .await
            .unwrap();
        s.reach_add_daily("2026-01-03", "module_view", "a", 1)
            .await
            .unwrap();
        s.reach_add_daily("2026-02-01", "module_view", "a", 1)
            .await
            .unwrap();
        let d = s.reach_daily("2026-01-01", "2026-01-31").await.unwrap();
        assert_eq!(d.iter().map(|c| c.n).collect::<Vec<_>>(), vec![5, 1]);
        s.reach_count_first_visit(2026, "unknown").await.unwrap();
        s.reach_add_first_visits(2026, "unknown", 2).await.unwrap();
        s.reach_add_first_visits(2026, "E23000015", -1)
            .await
            .unwrap();
        s.reach_add_first_visits(2026, "unknown", -5).await.unwrap();
        s.reach_move_first_visit(2026, "unknown", "E23000015")
            .await
            .unwrap();
        s.reach_add_first_visits(2026, "E23000002", 3)
            .await
            .unwrap();
        s.reach_move_first_visit(2026, "E23000002", "E23000015")
            .await
            .unwrap();
        let v = s.reach_first_visits(2026).await.unwrap();
        let get = |a: &str| v.iter().find(|c| c.area == a).map(|c| c.n);
        assert_eq!(get("unknown"), Some(0));
        assert_eq!(get("E23000015"), Some(1));
        assert_eq!(get("E23000002"), Some(2));
        assert!(s.reach_first_visits(2025).await.unwrap().is_empty());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_counting_loses_nothing() {
    for db in backends().await {
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let s = db.store.clone();
            tasks.push(tokio::spawn(async move {
                s.reach_add_daily("2026-05-05", "exercise_completion", "m/e", 1)
                    .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let d = db
            .store
            .reach_daily("2026-05-05", "2026-05-05")
            .await
            .unwrap();
        assert_eq!(d[0].n, 40);
        db.cleanup().await;
    }
}

/// Chat messages from many senders at once, through two stores on one database (two
/// instances): each client id is stored once, every chat's numbers run 1, 2, 3… without gaps,
/// each body is sealed for the number it was stored under, and a closed chat refuses while
/// the rest of the same batch goes in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_chat_appends_are_stored_once_and_numbered_in_order() {
    use reachline_store::{Appended, Take};
    for db in backends().await {
        let a = db.store.clone();
        let b = match &db.schema {
            Some((url, schema)) => Store::open_postgres_in_schema(url, schema).await.unwrap(),
            None => {
                let dir = db._dir.as_ref().unwrap();
                Store::open_sqlite(&dir.path().join("t.db")).await.unwrap()
            }
        };
        let staff = a
            .staff_create("appender", Role::Practitioner, "", 1)
            .await
            .unwrap();
        let active = a.chat_create("self", "", "", "1", "en", 1).await.unwrap();
        let waiting = a.chat_create("self", "", "", "1", "en", 2).await.unwrap();
        let ended = a.chat_create("self", "", "", "1", "en", 3).await.unwrap();
        assert_eq!(a.chat_take(active, staff, 5, 4).await.unwrap(), Take::Taken);
        assert_eq!(
            a.chat_end(ended, "left", 5).await.unwrap().as_deref(),
            Some("missed")
        );

        // (chat, staff sender, client id, store): every message twice, once per instance.
        let mut sends = Vec::new();
        for i in 0..60 {
            sends.push((active, None, format!("s{i}")));
            sends.push((active, Some(staff), format!("p{i}")));
            sends.push((waiting, None, format!("w{i}")));
        }
        sends.push((waiting, Some(staff), "not-theirs".to_string()));
        sends.push((ended, None, "too-late".to_string()));
        let mut tasks = Vec::new();
        for (n, (chat, sender, cid)) in sends.iter().cloned().enumerate() {
            for store in [a.clone(), b.clone()] {
                let cid = cid.clone();
                tasks.push(tokio::spawn(async move {
                    let body = format!("{chat}/{cid}");
                    let r = store
                        .chat_append(
                            chat,
                            sender,
                            &cid,
                            move |seq| format!("{body}@{seq}").into_bytes(),
                            10 + n as i64,
                        )
                        .await
                        .unwrap();
                    (chat, cid, r)
                }));
            }
        }
        let mut seq_of: std::collections::HashMap<(i64, String), Vec<Appended>> =
            std::collections::HashMap::new();
        for t in tasks {
            let (chat, cid, r) = t.await.unwrap();
            seq_of.entry((chat, cid)).or_default().push(r);
        }
        for ((chat, cid), results) in &seq_of {
            let refused = cid == "not-theirs" || cid == "too-late";
            if refused {
                assert!(
                    results.iter().all(|r| *r == Appended::Closed),
                    "{cid}: {results:?}"
                );
                continue;
            }
            // One of the two sends stored it; the other was told it was there already,
            // under the number it was stored with.
            let stored_once = matches!(
                results.as_slice(),
                [Appended::New(a), Appended::Again(b)] | [Appended::Again(b), Appended::New(a)]
                    if a == b
            );
            assert!(stored_once, "{chat}/{cid}: {results:?}");
        }
        for (chat, expected) in [(active, 120), (waiting, 60), (ended, 0)] {
            let rows = a.messages(chat, 0).await.unwrap();
            assert_eq!(rows.len(), expected, "chat {chat}");
            for (i, m) in rows.iter().enumerate() {
                assert_eq!(m.seq, i as i64 + 1, "chat {chat}: numbers without gaps");
                let body = String::from_utf8(m.body_sealed.clone()).unwrap();
                assert!(body.starts_with(&format!("{chat}/")), "{body}");
                assert!(
                    body.ends_with(&format!("@{}", m.seq)),
                    "{body} sealed for its number"
                );
                let cid = body.split_once('/').unwrap().1.split('@').next().unwrap();
                assert_eq!(m.sender == Sender::Staff, cid.starts_with('p'), "{body}");
            }
            // The chat's reply state is its last message's: awaiting a reply when the
            // help-seeker wrote last, and the help-seeker's last message's time.
            let c = a.conversation_get(chat).await.unwrap().unwrap();
            if let Some(last) = rows.last() {
                assert_eq!(
                    c.awaiting_reply,
                    last.sender == Sender::Seeker,
                    "chat {chat}"
                );
                let seeker_last = rows.iter().rev().find(|m| m.sender == Sender::Seeker);
                assert_eq!(
                    c.last_seeker_at,
                    seeker_last.unwrap().created_at,
                    "chat {chat}"
                );
            }
        }
        b.close().await;
        db.cleanup().await;
    }
}

/// Runs statements on the test database from outside the store, as an operator would.
async fn by_hand(db: &Db, sqlite: &str, postgres: impl Fn(&str) -> String) {
    match &db.schema {
        None => {
            let path = db._dir.as_ref().unwrap().path().join("t.db");
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            sqlx::raw_sql(sqlite).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Some((url, schema)) => {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
                .await
                .unwrap();
            sqlx::raw_sql(&postgres(schema))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_help_seekers_place_counts_the_present_waiting_chats_ahead_in_queue_order() {
    use reachline_store::Take;
    for db in backends().await {
        let s = &db.store;
        let staff = s
            .staff_create("pat", Role::Practitioner, "", 1)
            .await
            .unwrap();
        // Two chats opened in the same second (the id breaks the tie), one later, one earlier
        // whose help-seeker never arrived, and one already taken.
        let first = s.chat_create("self", "", "", "1", "en", 10).await.unwrap();
        let tied = s.chat_create("self", "", "", "1", "en", 10).await.unwrap();
        let later = s.chat_create("self", "", "", "1", "en", 20).await.unwrap();
        let absent = s.chat_create("self", "", "", "1", "en", 5).await.unwrap();
        let taken = s.chat_create("self", "", "", "1", "en", 1).await.unwrap();
        s.chats_seen(&[first, tied, later, taken], 30)
            .await
            .unwrap();
        assert_eq!(s.chat_take(taken, staff, 5, 31).await.unwrap(), Take::Taken);

        for (chat, ahead) in [(first, 0), (tied, 1), (later, 2), (absent, 0)] {
            assert_eq!(s.chat_ahead(chat).await.unwrap(), ahead, "chat {chat}");
        }
        assert_eq!(s.chat_ahead(i64::MAX).await.unwrap(), 0, "no such chat");
        let queue: Vec<i64> = s.chat_queue().await.unwrap().iter().map(|c| c.id).collect();
        assert_eq!(queue, [first, tied, later]);
        assert_eq!(s.chats_waiting_count().await.unwrap(), 3);

        // Taking the first moves everyone behind it up one place.
        assert_eq!(s.chat_take(first, staff, 5, 32).await.unwrap(), Take::Taken);
        assert_eq!(s.chat_ahead(tied).await.unwrap(), 0);
        assert_eq!(s.chat_ahead(later).await.unwrap(), 1);
        db.cleanup().await;
    }
}

/// A message the database refuses (here a trigger's error, as a full disk or a broken
/// constraint would be) fails alone: the other messages written in the same batch are
/// stored, numbered without a gap, and their senders told so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_message_the_database_refuses_fails_alone_in_its_batch() {
    use reachline_store::{Appended, Take};
    for db in backends().await {
        by_hand(
            &db,
            "CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.client_id = 'refused' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            |schema| {
                format!(
                    "CREATE FUNCTION \"{schema}\".refuse() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN IF NEW.client_id = 'refused' THEN RAISE EXCEPTION 'refused by the test'; \
                     END IF; RETURN NEW; END $$; \
                     CREATE TRIGGER refuse BEFORE INSERT ON \"{schema}\".messages FOR EACH ROW \
                     EXECUTE FUNCTION \"{schema}\".refuse();"
                )
            },
        )
        .await;
        let s = db.store.clone();
        let staff = s
            .staff_create("refusals", Role::Practitioner, "", 1)
            .await
            .unwrap();
        let chat = s.chat_create("self", "", "", "1", "en", 1).await.unwrap();
        assert_eq!(s.chat_take(chat, staff, 5, 2).await.unwrap(), Take::Taken);
        let mut tasks = Vec::new();
        for round in 0..5 {
            for i in 0..20 {
                let cid = if i == 10 {
                    "refused".to_string()
                } else {
                    format!("m{round}-{i}")
                };
                let store = s.clone();
                tasks.push(tokio::spawn(async move {
                    let r = store
                        .chat_append(chat, None, &cid, |seq| seq.to_string().into_bytes(), 10)
                        .await;
                    (cid, r)
                }));
            }
        }
        let mut stored = 0;
        for t in tasks {
            let (cid, r) = t.await.unwrap();
            if cid == "refused" {
                assert!(r.is_err(), "the refused message: {r:?}");
            } else {
                assert!(matches!(r, Ok(Appended::New(_))), "{cid}: {r:?}");
                stored += 1;
            }
        }
        assert_eq!(stored, 95);
        let rows = s.messages(chat, 0).await.unwrap();
        assert_eq!(rows.len(), 95);
        for (i, m) in rows.iter().enumerate() {
            assert_eq!(m.seq, i as i64 + 1, "numbers without gaps");
            assert_eq!(m.body_sealed, m.seq.to_string().into_bytes());
        }
        db.cleanup().await;
    }
}

/// Opens a second store on the same database (another instance).
async fn beside(db: &Db) -> Store {
    match &db.schema {
        Some((url, schema)) => Store::open_postgres_in_schema(url, schema).await.unwrap(),
        None => {
            let dir = db._dir.as_ref().unwrap();
            Store::open_sqlite(&dir.path().join("t.db")).await.unwrap()
        }
    }
}

#[tokio::test]
async fn audited_actions_from_two_instances_form_one_chain_and_a_dropped_one_leaves_nothing() {
    use reachline_core::keys::Key;
    use reachline_store::NewAudit;
    let key = Key::random();
    for db in backends().await {
        let a = db.store.clone();
        let b = beside(&db).await;
        // 2 instances × 20 accounts, each created with its audit entry in one transaction.
        let mut tasks = Vec::new();
        for (n, store) in [a.clone(), b.clone()].into_iter().enumerate() {
            for i in 0..20 {
                let (store, key) = (store.clone(), key.clone());
                tasks.push(tokio::spawn(async move {
                    let name = format!("staff{n}x{i}");
                    let mut tx = store.begin().await?;
                    let id = tx.staff_create(&name, Role::Practitioner, "", 10).await?;
                    let object = format!("staff:{id}");
                    let entry = NewAudit {
                        at: 10,
                        actor: "test",
                        action: "staff.invite",
                        object: &object,
                        detail: &name,
                    };
                    tx.commit_audited(&key, entry).await
                }));
            }
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        // An action whose transaction is dropped before its entry: neither is stored.
        let mut tx = a.begin().await.unwrap();
        tx.staff_create("rolled-back", Role::Practitioner, "", 11)
            .await
            .unwrap();
        drop(tx);
        assert!(a.staff_by_username("rolled-back").await.unwrap().is_none());

        let log = a.audit_all().await.unwrap();
        assert_eq!(log.len(), 40);
        assert_eq!(reachline_core::audit::verify(&key, &log).unwrap(), 40);
        assert_eq!(a.staff_list().await.unwrap().len(), 40);
        b.close().await;
        db.cleanup().await;
    }
}

// ---- Operation groups, each on both databases ----------------------------------------

fn wrap_up(channel: &str) -> reachline_store::WrapUp {
    reachline_store::WrapUp {
        channel: channel.parse().unwrap(),
        started_at: 100,
        ended_at: 200,
        who: "self".into(),
        age_group: "adult".into(),
        area: "E23000015".into(),
        concerns: "viewing-images".into(),
        arrested: "no".into(),
        actions: "safety-plan".into(),
        signposting: String::new(),
        first_this_year: true,
        statement_version: "1".into(),
        synthetic: false,
    }
}

#[tokio::test]
async fn staff_accounts_sessions_codes_and_enrolment_links() {
    use reachline_store::StoreError;
    for db in backends().await {
        let s = &db.store;
        let id = s
            .staff_create("ada", Role::Administrator, "", 1)
            .await
            .unwrap();
        assert!(matches!(
            s.staff_create("ada", Role::Practitioner, "", 2).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(s.staff_by_username("ada").await.unwrap().unwrap().id, id);
        assert!(s.staff_by_username("nobody").await.unwrap().is_none());

        // An enrolment link works once and not after it expires.
        s.enrolment_create("link-a", id, 1_000).await.unwrap();
        assert_eq!(
            s.enrolment_get("link-a", 999).await.unwrap().map(|l| l.0),
            Some(id)
        );
        assert!(s.enrolment_get("link-a", 1_000).await.unwrap().is_none());
        s.enrolment_create("link-b", id, 1_000).await.unwrap();
        let mut tx = s.begin().await.unwrap();
        let codes = ["code-1".to_string(), "code-2".to_string()];
        assert!(tx
            .staff_enrol("link-b", id, "phc", b"totp", &codes, 10)
            .await
            .unwrap());
        assert!(!tx
            .staff_enrol("link-b", id, "phc", b"totp", &codes, 11)
            .await
            .unwrap());
        // TOTP steps only move forward; a recovery code works once.
        assert!(tx.staff_accept_totp_step(id, 5).await.unwrap());
        assert!(!tx.staff_accept_totp_step(id, 5).await.unwrap());
        assert!(tx.staff_use_recovery_code(id, "code-1", 12).await.unwrap());
        assert!(!tx.staff_use_recovery_code(id, "code-1", 13).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(s.staff_recovery_codes_left(id).await.unwrap(), 1);

        // Failures count up and lock; success clears them.
        let mut tx = s.begin().await.unwrap();
        assert_eq!(tx.staff_login_failed(id, None).await.unwrap(), 1);
        assert_eq!(tx.staff_login_failed(id, Some(500)).await.unwrap(), 2);
        tx.commit().await.unwrap();
        let row = s.staff_by_id(id).await.unwrap().unwrap();
        assert_eq!((row.failed_logins, row.locked_until), (2, 500));
        let mut tx = s.begin().await.unwrap();
        tx.staff_login_succeeded(id).await.unwrap();
        tx.commit().await.unwrap();
        let row = s.staff_by_id(id).await.unwrap().unwrap();
        assert_eq!((row.failed_logins, row.locked_until), (0, 0));

        // Sessions: touched, purged when idle or old, ended by a role change or disabling.
        s.session_create("sess-1", id, "csrf", 100).await.unwrap();
        s.session_touch("sess-1", 150).await.unwrap();
        assert_eq!(
            s.session_get("sess-1").await.unwrap().unwrap().last_seen,
            150
        );
        assert_eq!(s.sessions_purge(149, 0).await.unwrap(), 0);
        assert_eq!(s.sessions_purge(151, 0).await.unwrap(), 1);
        s.session_create("sess-2", id, "csrf", 200).await.unwrap();
        let mut tx = s.begin().await.unwrap();
        assert!(tx.staff_set_role(id, Role::Supervisor, "").await.unwrap());
        tx.commit().await.unwrap();
        assert!(s.session_get("sess-2").await.unwrap().is_none());
        s.session_create("sess-3", id, "csrf", 300).await.unwrap();
        let mut tx = s.begin().await.unwrap();
        assert!(tx.staff_set_disabled(id, true).await.unwrap());
        assert!(!tx.staff_set_disabled(id + 1000, true).await.unwrap());
        tx.commit().await.unwrap();
        assert!(s.session_get("sess-3").await.unwrap().is_none());
        assert!(s.staff_by_id(id).await.unwrap().unwrap().disabled);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn settings_statements_and_canned_responses() {
    for db in backends().await {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        tx.setting_put("k", "one", 1, "ada").await.unwrap();
        tx.setting_put("k", "two", 2, "ada").await.unwrap();
        assert_eq!(tx.statement_add("first", 3, "ada").await.unwrap(), 1);
        assert_eq!(tx.statement_add("second", 4, "ada").await.unwrap(), 2);
        let id = tx
            .canned_save(None, "Hello", "Welcome", 5, "sup")
            .await
            .unwrap();
        assert_eq!(
            tx.canned_save(Some(id), "Hello", "Welcome back", 6, "sup")
                .await
                .unwrap(),
            id
        );
        let gone = tx
            .canned_save(None, "Old", "Remove me", 7, "sup")
            .await
            .unwrap();
        assert!(tx.canned_delete(gone).await.unwrap());
        assert!(!tx.canned_delete(gone).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(s.setting_get("k").await.unwrap().as_deref(), Some("two"));
        assert_eq!(s.statement_latest().await.unwrap().unwrap().body, "second");
        assert_eq!(s.statement_versions().await.unwrap().len(), 2);
        let found = s.canned_search("welcome").await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].body, "Welcome back");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn threads_number_messages_claim_once_close_into_a_contact_and_purge_content() {
    use reachline_store::NewConversation;
    for db in backends().await {
        let s = &db.store;
        let staff = s
            .staff_create("pat", Role::Practitioner, "", 1)
            .await
            .unwrap();
        let other = s
            .staff_create("sam", Role::Practitioner, "", 1)
            .await
            .unwrap();
        let thread = NewConversation {
            channel: Channel::Message,
            who: "self",
            age_group: "adult",
            area: "",
            statement_version: "1",
            lookup: Some("lookup-1"),
        };
        let id = s.conversation_create(&thread, 10).await.unwrap();
        for i in 1..=3 {
            let seq = s
                .message_append(id, Sender::Seeker, None, |seq| vec![seq as u8], 10 + i)
                .await
                .unwrap();
            assert_eq!(seq, i);
        }
        assert_eq!(
            s.messages(id, 1)
                .await
                .unwrap()
                .iter()
                .map(|m| m.seq)
                .collect::<Vec<_>>(),
            [2, 3]
        );
        assert!(
            s.conversation_get(id)
                .await
                .unwrap()
                .unwrap()
                .awaiting_reply
        );
        let mut tx = s.begin().await.unwrap();
        assert!(tx.conversation_claim(id, staff).await.unwrap());
        assert!(!tx.conversation_claim(id, other).await.unwrap());
        assert_eq!(
            tx.message_append(id, Sender::Staff, Some(staff), |seq| vec![seq as u8], 20)
                .await
                .unwrap(),
            4
        );
        let contact = tx
            .conversation_close(id, staff, &wrap_up("message"), 30)
            .await
            .unwrap();
        assert!(contact.is_some());
        assert!(tx
            .conversation_close(id, staff, &wrap_up("message"), 31)
            .await
            .unwrap()
            .is_none());
        tx.commit().await.unwrap();
        let c = s.conversation_get(id).await.unwrap().unwrap();
        assert_eq!((c.status.as_str(), c.claimed_by), ("closed", Some(staff)));
        assert!(!c.awaiting_reply);
        // Content goes after retention; the conversation row stays.
        assert_eq!(s.conversations_purge(29, 40).await.unwrap(), 0);
        assert!(s.conversations_purge(31, 40).await.unwrap() >= 1);
        assert!(s.messages(id, 0).await.unwrap().is_empty());
        assert!(s.conversation_get(id).await.unwrap().is_some());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn callbacks_claim_once_record_attempts_and_lose_the_number_when_done_or_expired() {
    use reachline_store::NewCallback;
    for db in backends().await {
        let s = &db.store;
        let staff = s
            .staff_create("pat", Role::Practitioner, "", 1)
            .await
            .unwrap();
        let other = s
            .staff_create("sam", Role::Practitioner, "", 1)
            .await
            .unwrap();
        let request = NewCallback {
            windows: "weekday-morning",
            who: "self",
            age_group: "adult",
            area: "",
            statement_version: "1",
        };
        let done = s
            .callback_create(&request, |_| b"sealed".to_vec(), 10)
            .await
            .unwrap();
        let expiring = s
            .callback_create(&request, |_| b"sealed".to_vec(), 11)
            .await
            .unwrap();
        assert_eq!(s.callbacks_pending().await.unwrap().len(), 2);
        let mut tx = s.begin().await.unwrap();
        assert!(tx.callback_claim(done, staff).await.unwrap());
        assert!(!tx.callback_claim(done, other).await.unwrap());
        assert!(tx.callback_attempt(done, staff, 20).await.unwrap());
        assert!(!tx.callback_attempt(done, other, 21).await.unwrap());
        // An attempt releases the claim: claim again, then it is done.
        assert!(tx.callback_claim(done, staff).await.unwrap());
        assert!(tx
            .callback_done(done, staff, &wrap_up("callback"), 30)
            .await
            .unwrap()
            .is_some());
        assert!(tx
            .callback_done(done, staff, &wrap_up("callback"), 31)
            .await
            .unwrap()
            .is_none());
        tx.commit().await.unwrap();
        let row = s.callback_get(done).await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.attempts), ("done", 1));
        assert!(row.phone_sealed.is_none());
        assert_eq!(s.callbacks_purge(12, 40).await.unwrap(), 1);
        let row = s.callback_get(expiring).await.unwrap().unwrap();
        assert_eq!(row.status, CallbackStatus::Expired);
        assert!(row.phone_sealed.is_none());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn list_versions_tombstones_and_partners() {
    for db in backends().await {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        let seal = |v: i64| format!("sealed v{v}").into_bytes();
        for expected in 1..=2 {
            let v = tx
                .list_import("keywords", "neutral", "listed", 3, seal, 10, "cli")
                .await
                .unwrap();
            assert_eq!(v, expected);
        }
        assert!(tx
            .tombstone_add("keywords", "neutral", "neutral:2", 11, "cli")
            .await
            .unwrap());
        assert!(!tx
            .tombstone_add("keywords", "neutral", "neutral:2", 12, "cli")
            .await
            .unwrap());
        let p = tx
            .partner_create("searchco", "key-hash", "", 13)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // A name taken: refused, and that transaction cannot be committed after it.
        let mut tx = s.begin().await.unwrap();
        assert!(tx
            .partner_create("searchco", "other-hash", "", 14)
            .await
            .is_err());
        // (SQLite keeps a transaction usable after a failed statement, and nothing was
        // written; PostgreSQL would report a silent rollback as a commit.)
        let committed = tx.commit().await;
        if s.backend() == Backend::Postgres {
            assert!(committed.is_err(), "a failed transaction was committed");
        }
        // Only the newest version is active; both are kept.
        let all = s.lists_all().await.unwrap();
        assert_eq!(all.len(), 2);
        let active = s.lists_active().await.unwrap();
        assert_eq!(active.len(), 1);
        assert_eq!(
            (active[0].0.version, active[0].1.clone()),
            (2, b"sealed v2".to_vec())
        );
        assert_eq!(s.tombstones().await.unwrap(), ["neutral:2"]);
        assert_eq!(
            s.partner_by_key("key-hash").await.unwrap().map(|r| r.id),
            Some(p)
        );
        let mut tx = s.begin().await.unwrap();
        assert!(tx.partner_revoke("searchco", 15).await.unwrap());
        assert!(!tx.partner_revoke("searchco", 16).await.unwrap());
        tx.commit().await.unwrap();
        // The key still names the partner, now revoked (the gateway refuses it).
        let revoked = s.partner_by_key("key-hash").await.unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(15));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn concerns_keep_a_timeline_and_are_decided_once() {
    use reachline_store::NewConcernEvent;
    for db in backends().await {
        let s = &db.store;
        let staff = s
            .staff_create("pat", Role::Practitioner, "", 1)
            .await
            .unwrap();
        let sup = s
            .staff_create("sue", Role::Supervisor, "", 1)
            .await
            .unwrap();
        let mut tx = s.begin().await.unwrap();
        let sealed_note = |id: i64| format!("note {id}").into_bytes();
        let contact = tx
            .contact_log(&wrap_up("phone"), staff, Some(&sealed_note), 10)
            .await
            .unwrap();
        let concern = tx
            .concern_create(contact, staff, "child-at-risk", b"pending", 11)
            .await
            .unwrap();
        tx.concern_set_facts(concern, b"sealed facts")
            .await
            .unwrap();
        let decide = |status| NewConcernEvent {
            kind: "decided",
            destination: "police",
            text_sealed: Some(b"why"),
            new_status: Some(status),
        };
        assert!(tx
            .concern_event(concern, sup, decide(ConcernStatus::Referred), 12)
            .await
            .unwrap());
        // A second decision does not overwrite the first.
        assert!(!tx
            .concern_event(concern, sup, decide(ConcernStatus::NoReferral), 13)
            .await
            .unwrap());
        tx.commit().await.unwrap();
        assert_eq!(
            s.contact_get(contact)
                .await
                .unwrap()
                .unwrap()
                .note_sealed
                .as_deref(),
            Some(format!("note {contact}").as_bytes())
        );
        let c = s.concern_get(concern).await.unwrap().unwrap();
        assert_eq!(
            (c.status.as_str(), c.facts_sealed.as_slice()),
            ("referred", &b"sealed facts"[..])
        );
        let kinds: Vec<String> = s
            .concern_events(concern)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["raised", "decided"]);
        db.cleanup().await;
    }
}

// ---- The contacts' rollup for reports ----------------------------------------------------

/// Wrap-ups in two areas over three months, with every grouped column varying.
fn varied_wrap_ups(n: usize, synthetic: bool) -> Vec<reachline_store::WrapUp> {
    let channels = ["phone", "chat", "message", "callback"];
    let areas = ["E23000015", "W15000004"];
    let concerns = ["viewing-images", "other", "viewing-images,other", ""];
    let actions = ["safety-plan", "", "safety-plan,therapy"];
    (0..n)
        .map(|i| {
            let started_at = 1_704_067_200 + (i as i64 % 3) * 31 * 86_400 + i as i64;
            reachline_store::WrapUp {
                channel: channels[i % 4].parse().unwrap(),
                started_at,
                ended_at: started_at + 600,
                who: ["self", "someone-else", "professional"][i % 3].into(),
                age_group: if i % 5 == 0 { "under-18" } else { "adult" }.into(),
                area: areas[(i / 3) % 2].into(),
                concerns: concerns[(i / 2) % 4].into(),
                arrested: "no".into(),
                actions: actions[(i / 7) % 3].into(),
                signposting: if i % 2 == 0 { "samaritans" } else { "" }.into(),
                first_this_year: i % 4 != 1,
                statement_version: "1".into(),
                synthetic,
            }
        })
        .collect()
}

/// Every report query over the rollup against the same groups counted from the contacts.
async fn assert_rollup_matches(s: &Store, what: &str) {
    let sorted = |mut v: Vec<reachline_store::ContactGroup>| {
        v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        v
    };
    for (from, to) in [
        ("2024-01", "2024-03"),
        ("2024-02", "2024-02"),
        ("2023-01", "2023-12"),
    ] {
        for area in [
            None,
            Some("E23000015"),
            Some("W15000004"),
            Some("E23000001"),
        ] {
            let rolled = sorted(s.report_contacts(from, to, area).await.unwrap());
            let counted = sorted(s.report_contacts_counted(from, to, area).await.unwrap());
            assert_eq!(rolled, counted, "{what}: {from}..{to} in {area:?}");
        }
    }
}

#[tokio::test]
async fn the_report_rollup_counts_exactly_what_grouping_the_contacts_gives() {
    for db in backends().await {
        let s = &db.store;
        assert!(s.has_contact_rollup());
        let staff = s
            .staff_create("pat", Role::Practitioner, "", 1)
            .await
            .unwrap();
        // Contacts as the helpline writes them, one transaction each, and demo data in bulk.
        for w in varied_wrap_ups(40, false) {
            let mut tx = s.begin().await.unwrap();
            tx.contact_log(&w, staff, None, 10).await.unwrap();
            tx.commit().await.unwrap();
        }
        s.demo_contacts(staff, &varied_wrap_ups(500, true), 10)
            .await
            .unwrap();
        let all = s.report_contacts("2024-01", "2024-03", None).await.unwrap();
        assert_eq!(all.iter().map(|g| g.n).sum::<i64>(), 540);
        assert!(
            all.iter().any(|g| g.n > 1),
            "groups were counted, not listed"
        );
        assert_rollup_matches(s, "after inserts").await;

        // A correction made by hand in the database moves a contact between groups.
        let changed = match s.backend() {
            reachline_store::Backend::Sqlite => {
                let path = db._dir.as_ref().unwrap().path().join("t.db");
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap();
                let n = sqlx::query(
                    "UPDATE contacts SET area = 'W15000004', who = 'self' WHERE id % 3 = 0",
                )
                .execute(&pool)
                .await
                .unwrap()
                .rows_affected();
                pool.close().await;
                n
            }
            reachline_store::Backend::Postgres => {
                let (url, schema) = db.schema.as_ref().unwrap();
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
                    .await
                    .unwrap();
                sqlx::query(&format!(
                    "UPDATE \"{schema}\".contacts SET area = 'W15000004', who = 'self' WHERE id % 3 = 0"
                ))
                .execute(&mut conn)
                .await
                .unwrap()
                .rows_affected()
            }
        };
        assert!(changed > 100);
        assert_rollup_matches(s, "after a correction").await;

        // Removing the demo data takes its counts with it, and no empty group is left.
        assert_eq!(s.demo_purge().await.unwrap(), 500);
        assert_rollup_matches(s, "after the demo purge").await;
        let left = s.report_contacts("2024-01", "2024-03", None).await.unwrap();
        assert_eq!(left.iter().map(|g| g.n).sum::<i64>(), 40);
        assert!(left.iter().all(|g| g.n > 0));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_report_rollup_is_filled_from_the_contacts_of_an_older_release() {
    const BEFORE_ROLLUP: i64 = 15;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut stores = vec![(
        Store::open_sqlite_at_migration(&path, BEFORE_ROLLUP)
            .await
            .unwrap(),
        None,
    )];
    if let Ok(url) = std::env::var("REACHLINE_TEST_POSTGRES_URL") {
        if !url.is_empty() {
            let schema = reachline_store::random_schema_name("rollup");
            let old = Store::open_postgres_in_schema_at_migration(&url, &schema, BEFORE_ROLLUP)
                .await
                .unwrap();
            stores.push((old, Some((url, schema))));
        }
    }
    for (old, pg) in stores {
        assert!(!old.has_contact_rollup());
        let staff = old
            .staff_create("pat", Role::Practitioner, "", 1)
            .await
            .unwrap();
        old.demo_contacts(staff, &varied_wrap_ups(300, true), 10)
            .await
            .unwrap();
        let before = old
            .report_contacts("2024-01", "2024-03", None)
            .await
            .unwrap();
        old.close().await;
        let new = match &pg {
            None => Store::open_sqlite(&path).await.unwrap(),
            Some((url, schema)) => Store::open_postgres_in_schema(url, schema).await.unwrap(),
        };
        assert!(new.has_contact_rollup());
        let mut after = new
            .report_contacts("2024-01", "2024-03", None)
            .await
            .unwrap();
        let mut before = before;
        for v in [&mut after, &mut before] {
            v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        }
        assert_eq!(after, before);
        assert_rollup_matches(&new, "after the upgrade").await;
        new.close().await;
        if let Some((url, schema)) = pg {
            Store::drop_postgres_schema(&url, &schema).await.unwrap();
        }
    }
}
