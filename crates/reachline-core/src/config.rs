//! Configuration: the single source of truth for every setting.
//!
//! Settings come from, in rising order of precedence: built-in defaults, a TOML file,
//! `REACHLINE_<SECTION>_<KEY>` environment variables, and command-line flags. Unknown keys
//! in the file are errors. `reachline config example` prints [`Config::example`], which is
//! generated from the defaults and [`DOCS`]; a test keeps the committed
//! `config.example.toml` identical to it.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: Server,
    pub storage: Storage,
    pub site: Site,
    pub helpline: Helpline,
    pub console: Console,
    pub deterrence: Deterrence,
    pub selfhelp: SelfHelp,
    pub reach: Reach,
    pub metrics: Metrics,
    pub log: Log,
    pub telephony: Telephony,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Telephony {
    pub queue_name: String,
    pub say_language: String,
    pub count_repeat_callers: bool,
    pub provider_api_url: String,
    pub account_sid: String,
    pub caller_id: String,
    pub practitioner_dial: String,
}

impl Default for Telephony {
    fn default() -> Self {
        Telephony {
            queue_name: "helpline".into(),
            say_language: "en-GB".into(),
            count_repeat_callers: false,
            provider_api_url: String::new(),
            account_sid: String::new(),
            caller_id: String::new(),
            practitioner_dial: "client:{username}".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    pub listen: String,
    pub public_url: String,
    pub trust_forwarded_proto: bool,
    pub shutdown_grace_seconds: u64,
    pub max_connections: u64,
    pub header_timeout_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    pub data_dir: String,
    pub database_url: String,
    pub master_key_file: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Site {
    pub quick_exit_url: String,
    pub default_locale: String,
    pub pseudo_locales: bool,
    pub content_dir: String,
    pub max_body_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Helpline {
    pub phone_number: String,
    pub opening_hours: Vec<String>,
    pub time_zone: String,
    pub message_reply_days: u64,
    pub max_message_chars: u64,
    pub conversation_retention_days: u64,
    pub chat_max_per_practitioner: u64,
    pub chat_queue_timeout_minutes: u64,
    pub max_waiting_chats: u64,
    pub max_pending_callbacks: u64,
    pub max_unanswered_threads: u64,
    pub chat_minutes_per_person: u64,
    pub callback_retention_days: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Console {
    pub session_idle_minutes: u64,
    pub session_max_hours: u64,
    pub enrolment_link_hours: u64,
    pub failures_before_lock: u64,
    pub lock_minutes: u64,
    pub sign_in_max_wait_seconds: u64,
    pub contact_note_retention_days: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Deterrence {
    pub requests_per_second: u64,
    pub burst: u64,
    pub batch_max: u64,
    pub talk_after_repeats: u64,
    pub key_cache_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SelfHelp {
    pub saved_retention_days: u64,
    pub unsaved_retention_hours: u64,
    pub failed_codes_per_minute: u64,
    pub max_answer_chars: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Reach {
    pub geoip_database: String,
    pub geoip_field: String,
    pub geoip_areas: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Metrics {
    pub listen: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    pub filter: String,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            trust_forwarded_proto: false,
            shutdown_grace_seconds: 10,
            max_connections: 0,
            header_timeout_seconds: 10,
        }
    }
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            data_dir: "./reachline-data".into(),
            database_url: String::new(),
            master_key_file: String::new(),
        }
    }
}

impl Default for Site {
    fn default() -> Self {
        Site {
            quick_exit_url: "https://www.bbc.co.uk/weather".into(),
            default_locale: "en-GB".into(),
            pseudo_locales: false,
            content_dir: String::new(),
            max_body_bytes: 64 * 1024,
        }
    }
}

impl Default for Helpline {
    fn default() -> Self {
        Helpline {
            phone_number: String::new(),
            opening_hours: vec!["mon-thu 09:00-21:00".into(), "fri 09:00-17:00".into()],
            time_zone: "Europe/London".into(),
            message_reply_days: 3,
            max_message_chars: 4000,
            conversation_retention_days: 30,
            chat_max_per_practitioner: 2,
            chat_queue_timeout_minutes: 30,
            max_waiting_chats: 100,
            max_pending_callbacks: 500,
            max_unanswered_threads: 2000,
            chat_minutes_per_person: 10,
            callback_retention_days: 7,
        }
    }
}

impl Default for Console {
    fn default() -> Self {
        Console {
            session_idle_minutes: 30,
            session_max_hours: 12,
            enrolment_link_hours: 72,
            failures_before_lock: 5,
            lock_minutes: 15,
            sign_in_max_wait_seconds: 8,
            contact_note_retention_days: 365,
        }
    }
}

impl Default for Deterrence {
    fn default() -> Self {
        Deterrence {
            requests_per_second: 200,
            burst: 400,
            batch_max: 100,
            talk_after_repeats: 3,
            key_cache_seconds: 10,
        }
    }
}

impl Default for SelfHelp {
    fn default() -> Self {
        SelfHelp {
            saved_retention_days: 365,
            unsaved_retention_hours: 24,
            failed_codes_per_minute: 30,
            max_answer_chars: 8000,
        }
    }
}

impl Default for Reach {
    fn default() -> Self {
        Reach {
            geoip_database: String::new(),
            geoip_field: "subdivisions.1.iso_code".into(),
            geoip_areas: Vec::new(),
        }
    }
}

impl Default for Log {
    fn default() -> Self {
        Log {
            filter: "info".into(),
        }
    }
}

/// One line of documentation for every setting, in the order the example shows them.
pub const DOCS: &[(&str, &str)] = &[
    ("server", "The HTTP listener."),
    ("server.listen", "Address and port to listen on."),
    ("server.public_url", "The address people use to reach this service, e.g. https://help.example.org; used in enrolment links. Empty: http:// and the listen address."),
    ("server.trust_forwarded_proto", "Trust the X-Forwarded-Proto header from a reverse proxy that terminates TLS (marks cookies Secure). Nothing else from the proxy is trusted."),
    ("server.shutdown_grace_seconds", "On SIGTERM or Ctrl-C, how long in-flight requests may take to finish."),
    ("server.max_connections", "Connections served at once (WebSockets not counted). When full, a connection waiting for a request is closed to make room; only if all are busy does a new one get 503. 0: three quarters of the open-file limit."),
    ("server.header_timeout_seconds", "How long a client may take to send a request's headers, and how long a kept-alive connection may wait for its next request."),
    ("storage", "Where records are kept."),
    ("storage.data_dir", "Data directory: the SQLite database and the master key file live here. Created if missing."),
    ("storage.database_url", "Use PostgreSQL instead of SQLite, e.g. postgres://user@host/db. Empty: SQLite in data_dir. Also REACHLINE_DATABASE_URL."),
    ("storage.master_key_file", "The master key file (created with mode 0600 if missing). Empty: master.key in data_dir. Keep a copy offline."),
    ("site", "The public self-help website."),
    ("site.quick_exit_url", "Where the quick exit button goes: a neutral, everyday site."),
    ("site.default_locale", "Language used when the browser asks for none we have."),
    ("site.pseudo_locales", "Offer the pseudo-locales en-XA (accented, longer) and ar-XB (right-to-left) for checking translations and layout."),
    ("site.content_dir", "A folder laid out like content/ in the source tree; its modules and pages replace or add to the built-in ones. Empty: built-in content only."),
    ("site.max_body_bytes", "Largest request body accepted, in bytes; larger requests get 413."),
    ("helpline", "How people reach the helpline, as shown on the Get help now page."),
    ("helpline.phone_number", "The helpline's phone number as it should be shown. Empty: no phone line is shown."),
    ("helpline.opening_hours", "When chat and phone are open, as \"DAYS HH:MM-HH:MM\" in local time, e.g. \"mon-thu 09:00-21:00\", \"sat 10:00-14:00\"."),
    ("helpline.time_zone", "The time zone the opening hours are in, shown to help-seekers (IANA name)."),
    ("helpline.message_reply_days", "How many days a secure message usually waits for a reply (shown to help-seekers)."),
    ("console", "The practitioner console: staff sign-in and sessions."),
    ("console.session_idle_minutes", "A console session ends after this many minutes without activity."),
    ("console.session_max_hours", "A console session ends this many hours after sign-in, active or not."),
    ("console.enrolment_link_hours", "How long a one-time enrolment link works."),
    ("console.failures_before_lock", "Wrong tries allowed before slowing down: wrong passwords against one username (known or not) before each further try on it waits before it is checked; wrong codes after a right password before the account's codes are paused."),
    ("console.lock_minutes", "How long an account's codes are paused after too many wrong codes following a right password (doubling with each further pause, at most 16 times this)."),
    ("console.sign_in_max_wait_seconds", "The longest a sign-in waits before it is checked after repeated wrong passwords against its username (the wait doubles from 1 second). A right password and code still get in after the wait, so nobody can lock an account by guessing."),
    ("console.contact_note_retention_days", "Practitioners' notes on contacts are deleted this many days after the contact was recorded (the contact's figures and any safeguarding timeline stay). Changeable in the console."),
    ("deterrence", "The deterrence gateway partner platforms call (/api/v1/check)."),
    ("deterrence.requests_per_second", "Checks per second each partner may make (sustained); more get 429."),
    ("deterrence.burst", "Checks a partner may make at once before the per-second rate applies."),
    ("deterrence.batch_max", "Most items in one /api/v1/check/batch request."),
    ("deterrence.talk_after_repeats", "When a partner reports this many repeats, the warning steps up to an offer to talk."),
    ("deterrence.key_cache_seconds", "How long a partner key's lookup is remembered; a revoked key stops working within this time."),
    ("helpline.max_message_chars", "Longest message a help-seeker or practitioner can send, in characters."),
    ("helpline.conversation_retention_days", "Message text is deleted this many days after a conversation closes; the contact record and any safeguarding timeline remain."),
    ("helpline.chat_max_per_practitioner", "How many chats one practitioner can hold at once."),
    ("helpline.chat_queue_timeout_minutes", "A chat still waiting after this many minutes leaves the queue as a missed contact, and the help-seeker is offered a secure message or a callback."),
    ("helpline.max_pending_callbacks", "At most this many callback requests wait to be made; beyond it, the callback form keeps what was typed and kindly offers a secure message or the chat instead (a bound on what strangers can pile up)."),
    ("helpline.max_unanswered_threads", "At most this many new secure-message threads wait for a practitioner to take them; beyond it, the message form keeps what was typed and kindly offers the chat or a callback instead. Replies in existing threads are never refused."),
    ("helpline.max_waiting_chats", "At most this many help-seekers wait in the chat queue; beyond it, the chat page kindly offers a secure message or a callback instead. Chats started but never opened do not count, and are dropped after a minute."),
    ("helpline.chat_minutes_per_person", "For the expected wait shown in the queue: minutes per person ahead, divided among the practitioners available."),
    ("helpline.callback_retention_days", "A callback request still waiting after this many days is marked expired and its phone number deleted; a done callback's number is deleted at once."),
    ("selfhelp", "Exercises and saved progress."),
    ("selfhelp.saved_retention_days", "Saved answers are deleted after this many days without use."),
    ("selfhelp.unsaved_retention_hours", "Answers never saved under a return code are deleted after this many hours."),
    ("selfhelp.failed_codes_per_minute", "Tries of one return code per minute that open nothing before that code is refused for a while (per code, never per address; a code that opens nothing is turned away without the slow derivation, so guessing cannot slow the service for others)."),
    ("selfhelp.max_answer_chars", "Longest answer to one exercise, in characters."),
    ("reach", "Counting reach without identifiers."),
    ("reach.geoip_database", "Optional GeoIP database (.mmdb) used to find a visitor's police force area on their first visit of the year; the address is discarded straight after. Empty: areas come only from what people choose."),
    ("reach.geoip_field", "Dotted path of the field to read from a GeoIP record, e.g. subdivisions.1.iso_code."),
    ("reach.geoip_areas", "Map GeoIP field values to police force area codes, as \"VALUE=CODE\" (e.g. \"STS=E23000015\"). A value that is itself an area code needs no entry."),
    ("metrics", "Prometheus metrics: counts only, never an address, user agent, return code or text."),
    ("metrics.listen", "Address and port of a separate listener that serves /metrics (Prometheus text format), e.g. 127.0.0.1:9090. Keep it private: bind to localhost or an internal network. Empty: no metrics listener."),
    ("log", "Logging. Log lines never carry an IP address, user agent, return code or content."),
    ("log.filter", "tracing filter, e.g. info or reachline=debug,info."),
    ("telephony", "The phone line: calls from a telephony provider (Twilio-compatible webhooks at /telephony/twilio/voice, /status and /queue, signed with the auth token set by `reachline telephony twilio-token`) or an Asterisk PBX (`reachline telephony import-queue-log`). No caller number is ever stored or logged."),
    ("telephony.queue_name", "The provider's queue that callers wait in (TwiML <Enqueue>)."),
    ("telephony.say_language", "The language of what callers hear (TwiML <Say language>)."),
    ("telephony.provider_api_url", "The provider's REST API base for \"take call\" in the console, e.g. http://127.0.0.1:8443 for a local proxy that forwards over TLS to https://api.twilio.com (Reachline itself speaks plain HTTP: TLS is a proxy's job). Empty: calls are answered however the provider routes them, and the console shows the queue only."),
    ("telephony.account_sid", "The provider account the REST API calls are made for (Twilio: AC…)."),
    ("telephony.caller_id", "The number the practitioner's phone sees when the console rings it to take a call."),
    ("telephony.practitioner_dial", "Where \"take call\" rings the practitioner: {username} is replaced by their console username, e.g. client:{username} (the provider's browser client) or sip:{username}@pbx.example."),
    ("telephony.count_repeat_callers", "Count people as well as calls: keep a keyed hash of each caller's E.164 number (HMAC with a key that changes each calendar year), never the number. Withheld numbers count as unknown people."),
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
    #[error("the environment variable {name} is not valid: {message}")]
    Env { name: String, message: String },
}

/// Overrides given on the command line.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<String>,
    pub listen: Option<String>,
    pub database_url: Option<String>,
}

impl Config {
    /// Loads defaults, then `file` (if any), then the environment, then `overrides`.
    pub fn load(
        file: Option<&Path>,
        env: &[(String, String)],
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut table = default_table();
        let source = file.map(|p| p.display().to_string()).unwrap_or_default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
                path: source.clone(),
                source: e,
            })?;
            let from_file: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::Invalid {
                        path: source.clone(),
                        message: e.to_string(),
                    })?;
            merge(&mut table, from_file);
            // Deserialise before the environment is applied so unknown keys name the file.
            Config::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
                ConfigError::Invalid {
                    path: source.clone(),
                    message: e.to_string(),
                }
            })?;
        }
        apply_env(&mut table, env)?;
        let mut config =
            Config::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Invalid {
                path: source,
                message: e.to_string(),
            })?;
        if let Some(d) = &overrides.data_dir {
            config.storage.data_dir = d.clone();
        }
        if let Some(l) = &overrides.listen {
            config.server.listen = l.clone();
        }
        if let Some(u) = &overrides.database_url {
            config.storage.database_url = u.clone();
        }
        Ok(config)
    }

    pub fn data_dir(&self) -> PathBuf {
        PathBuf::from(&self.storage.data_dir)
    }

    pub fn master_key_path(&self) -> PathBuf {
        if self.storage.master_key_file.is_empty() {
            self.data_dir().join("master.key")
        } else {
            PathBuf::from(&self.storage.master_key_file)
        }
    }

    /// The complete, commented example configuration (`reachline config example`).
    pub fn example() -> String {
        let table = default_table();
        let mut out = String::from(
            "# Reachline configuration: every setting, with its default.\n\
             # Generated by `reachline config example`; unknown keys are errors.\n\
             # Each setting can also be given as an environment variable\n\
             # REACHLINE_<SECTION>_<KEY>, e.g. REACHLINE_SERVER_LISTEN.\n",
        );
        for (section, doc) in DOCS.iter().filter(|(k, _)| !k.contains('.')) {
            out.push_str(&format!("\n# {doc}\n[{section}]\n"));
            let Some(toml::Value::Table(values)) = table.get(*section) else {
                continue;
            };
            for (key, kdoc) in DOCS
                .iter()
                .filter_map(|(k, d)| k.strip_prefix(&format!("{section}.")).map(|rest| (rest, d)))
            {
                for line in wrap(kdoc, 90) {
                    out.push_str(&format!("# {line}\n"));
                }
                if let Some(v) = values.get(key) {
                    out.push_str(&format!("{key} = {v}\n"));
                }
            }
        }
        out
    }
}

fn default_table() -> toml::Table {
    match toml::Value::try_from(Config::default()) {
        Ok(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    }
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

fn env_name(section: &str, key: &str) -> String {
    format!(
        "REACHLINE_{}_{}",
        section.to_uppercase(),
        key.to_uppercase()
    )
}

fn apply_env(table: &mut toml::Table, env: &[(String, String)]) -> Result<(), ConfigError> {
    let aliases = [
        ("REACHLINE_DATABASE_URL", "storage", "database_url"),
        ("REACHLINE_DATA_DIR", "storage", "data_dir"),
        ("REACHLINE_LISTEN", "server", "listen"),
    ];
    let defaults = default_table();
    for (section, values) in &defaults {
        let toml::Value::Table(values) = values else {
            continue;
        };
        for (key, default) in values {
            let mut names = vec![env_name(section, key)];
            names.extend(
                aliases
                    .iter()
                    .filter(|(_, s, k)| s == section && k == key)
                    .map(|(n, _, _)| n.to_string()),
            );
            for name in names {
                let Some((_, raw)) = env.iter().find(|(n, _)| *n == name) else {
                    continue;
                };
                let value = parse_like(default, raw).map_err(|message| ConfigError::Env {
                    name: name.clone(),
                    message,
                })?;
                if let Some(toml::Value::Table(t)) = table.get_mut(section) {
                    t.insert(key.clone(), value);
                }
            }
        }
    }
    Ok(())
}

fn parse_like(default: &toml::Value, raw: &str) -> Result<toml::Value, String> {
    match default {
        toml::Value::Boolean(_) => match raw.trim() {
            "true" | "1" | "yes" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" => Ok(toml::Value::Boolean(false)),
            _ => Err("expected true or false".into()),
        },
        toml::Value::Integer(_) => raw
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| "expected a whole number".into()),
        toml::Value::Array(_) => Ok(toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        )),
        _ => Ok(toml::Value::String(raw.to_string())),
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_example_matches_the_generated_one() {
        let committed = include_str!("../../../config.example.toml");
        assert_eq!(
            committed,
            Config::example(),
            "config.example.toml has drifted: run `cargo run -- config example > config.example.toml`"
        );
    }

    #[test]
    fn every_setting_is_documented_and_the_example_parses_to_the_defaults() {
        let table = default_table();
        for (section, values) in &table {
            assert!(
                DOCS.iter().any(|(k, _)| k == section),
                "no doc for [{section}]"
            );
            if let toml::Value::Table(values) = values {
                for key in values.keys() {
                    let full = format!("{section}.{key}");
                    assert!(DOCS.iter().any(|(k, _)| *k == full), "no doc for {full}");
                }
            }
        }
        let parsed: Result<Config, _> = toml::from_str(&Config::example());
        assert_eq!(parsed.ok(), Some(Config::default()));
    }

    #[test]
    fn unknown_keys_are_errors() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[server]\nlisen = \"127.0.0.1:1\"\n")?;
        let err = Config::load(Some(&path), &[], &Overrides::default());
        assert!(matches!(err, Err(ConfigError::Invalid { .. })));
        assert!(err
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("lisen"));
        std::fs::write(&path, "[nosuch]\n")?;
        assert!(Config::load(Some(&path), &[], &Overrides::default()).is_err());
        Ok(())
    }

    #[test]
    fn precedence_is_defaults_file_env_flags() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[server]\nlisten = \"127.0.0.1:1\"\n[selfhelp]\nmax_answer_chars = 10\n",
        )?;
        let env = vec![
            (
                "REACHLINE_SELFHELP_MAX_ANSWER_CHARS".to_string(),
                "20".to_string(),
            ),
            (
                "REACHLINE_DATABASE_URL".to_string(),
                "postgres://x/y".to_string(),
            ),
            (
                "REACHLINE_REACH_GEOIP_AREAS".to_string(),
                "STS=E23000015, X=Y".to_string(),
            ),
            (
                "REACHLINE_TEST_SOMETHING".to_string(),
                "ignored".to_string(),
            ),
        ];
        let c = Config::load(Some(&path), &env, &Overrides::default())?;
        assert_eq!(c.server.listen, "127.0.0.1:1");
        assert_eq!(c.selfhelp.max_answer_chars, 20);
        assert_eq!(c.storage.database_url, "postgres://x/y");
        assert_eq!(c.reach.geoip_areas, vec!["STS=E23000015", "X=Y"]);
        let flags = Overrides {
            listen: Some("127.0.0.1:2".into()),
            ..Overrides::default()
        };
        assert_eq!(
            Config::load(Some(&path), &env, &flags)?.server.listen,
            "127.0.0.1:2"
        );
        let bad = vec![(
            "REACHLINE_SITE_MAX_BODY_BYTES".to_string(),
            "lots".to_string(),
        )];
        assert!(matches!(
            Config::load(None, &bad, &Overrides::default()),
            Err(ConfigError::Env { .. })
        ));
        Ok(())
    }
}
