//! The phone line. A telephony provider's webhooks (Twilio's published protocol; other
//! providers follow the same pattern) and an Asterisk PBX's `queue_log` become call records:
//! each call is decided once, answered (then waiting for the practitioner's wrap-up like any
//! other contact), abandoned in the queue or missed out of hours, which leave one missed
//! contact each.
//!
//! The caller's number is used only in memory while a request lasts. Where the operator
//! counts repeat callers, only an HMAC of the strictly normalised E.164 number is kept, with
//! a key derived from the `telephony` data key for the calendar year, so numbers cannot be
//! recovered by trying them all without the key and years cannot be linked.

use crate::App;
use base64::Engine;
use hmac::{Hmac, Mac};
use reachline_core::sealing::Context;
use reachline_store::{CallEvent, CallRow, StoreError};
use sha2::Digest;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Where the Twilio auth token is kept (sealed) in `telephony_secrets`.
pub const TWILIO_TOKEN: &str = "twilio";
/// The `source` of calls from Twilio-compatible webhooks.
pub const TWILIO: &str = "twilio";
/// How long a webhook signature is remembered against replays.
pub const REPLAY_WINDOW_SECONDS: i64 = 2 * 86_400;

#[derive(Debug, thiserror::Error)]
pub enum TelephonyError {
    /// Unsigned, wrongly signed, replayed, or no auth token set: refused, nothing changes.
    #[error("the request is not signed by the telephony provider")]
    Unsigned,
    #[error("the request lacks {0}")]
    Missing(&'static str),
    #[error("the auth token is 1 to 256 visible characters")]
    BadToken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Twilio's `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed by the auth token, over the
/// full URL the provider requested followed by every POST parameter's name and value,
/// sorted by name (and by value for a repeated name; a value repeated under one name counts
/// once, as the provider's own validators do).
pub fn twilio_signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted.dedup();
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()) else {
        return String::new();
    };
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A caller's number in strict E.164 (`+` then 8 to 15 digits, the first not 0), or `None`
/// for a withheld, anonymous, SIP or malformed one (counted as an unknown person).
pub fn e164(number: &str) -> Option<String> {
    let digits = number.trim().strip_prefix('+')?;
    let valid = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    // Twilio presents withheld numbers as these invented ones.
    const WITHHELD: [&str; 4] = ["266696687", "86282452253", "7378742833", "2562533"];
    (valid && !WITHHELD.contains(&digits)).then(|| format!("+{digits}"))
}

/// The keyed hash of a caller's strictly normalised E.164 number: HMAC-SHA256 with the
/// calendar year's key, itself an HMAC of the year under the `telephony` data key. `None`
/// for a withheld or malformed number (an unknown person).
pub fn caller_hash(key: &reachline_core::keys::Key, number: &str, at: i64) -> Option<String> {
    let number = Zeroizing::new(e164(number)?);
    let (year, _) = reachline_core::clock::year_month_of(at);
    // HMAC takes a key of any length, so `new_from_slice` cannot fail here.
    let mut year_key = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).ok()?;
    year_key.update(format!("reachline callers {year}").as_bytes());
    let year_key = Zeroizing::new(year_key.finalize().into_bytes());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&year_key).ok()?;
    mac.update(number.as_bytes());
    Some(hex::encode(mac.finalize().into_bytes()))
}

/// One line of an Asterisk `queue_log` that concerns a call:
/// `time|uniqueid|queue|agent|event|data1|data2|…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLogLine<'a> {
    pub at: i64,
    pub uniqueid: &'a str,
    pub queue: &'a str,
    pub agent: &'a str,
    pub event: QueueLogEvent<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueLogEvent<'a> {
    /// ENTERQUEUE|url|callerid|position (the caller id is used only to hash it).
    Enter { caller: &'a str },
    /// CONNECT|holdtime|bridged channel|ringtime
    Connect { hold: Option<i64> },
    /// COMPLETEAGENT / COMPLETECALLER |holdtime|calltime|position, TRANSFER …|holdtime|calltime
    Complete { talk: Option<i64> },
    /// ABANDON, EXITWITHTIMEOUT, EXITEMPTY, EXITWITHKEY: left the queue unanswered.
    Left { wait: Option<i64> },
}

/// Parses a `queue_log` line; `None` for the lines that are not about a call (agent logins,
/// reloads, ring-no-answer) and for malformed ones.
pub fn parse_queue_log(line: &str) -> Option<QueueLogLine<'_>> {
    let f: Vec<&str> = line.trim_end_matches(['\r', '\n']).split('|').collect();
    if f.len() < 5 {
        return None;
    }
    let at = f[0].trim().parse::<i64>().ok().filter(|t| *t > 0)?;
    let uniqueid = f[1].trim();
    if uniqueid.is_empty() || uniqueid == "NONE" || uniqueid.len() > 80 {
        return None;
    }
    // A data field the line does not have is empty, as Asterisk writes an unused one.
    let data = |i: usize| f.get(5 + i).copied().unwrap_or_default();
    let secs = |i: usize| {
        data(i)
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=7 * 86_400).contains(n))
    };
    let event = match f[4].trim() {
        "ENTERQUEUE" => QueueLogEvent::Enter { caller: data(1) },
        "CONNECT" => QueueLogEvent::Connect { hold: secs(0) },
        "COMPLETEAGENT" | "COMPLETECALLER" => QueueLogEvent::Complete { talk: secs(1) },
        "TRANSFER" => QueueLogEvent::Complete { talk: secs(3) },
        "ABANDON" | "EXITWITHTIMEOUT" | "EXITEMPTY" => QueueLogEvent::Left { wait: secs(2) },
        "EXITWITHKEY" => QueueLogEvent::Left { wait: secs(3) },
        _ => return None,
    };
    Some(QueueLogLine {
        at,
        uniqueid,
        queue: f[2].trim(),
        agent: f[3].trim(),
        event,
    })
}

/// The console username an Asterisk agent names (`SIP/alice`, `PJSIP/alice-0001`,
/// `Local/alice@agents`, `alice`).
pub fn agent_username(agent: &str) -> &str {
    let name = agent.rsplit_once('/').map_or(agent, |(_, n)| n);
    let name = name.split('@').next().unwrap_or(name);
    match name.rsplit_once('-') {
        Some((n, suffix))
            if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            n
        }
        _ => name,
    }
}

/// What an import did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub lines: usize,
    pub events: usize,
    pub skipped: usize,
}

/// Applies `queue_log` lines to the calls (idempotent: importing a file twice changes
/// nothing more). `queue`: only that queue's calls, when not empty.
pub async fn import_queue_log(
    store: &reachline_store::Store,
    key: &reachline_core::keys::Key,
    count_callers: bool,
    queue: &str,
    text: &str,
) -> Result<ImportSummary, StoreError> {
    let mut summary = ImportSummary::default();
    let mut staff: std::collections::HashMap<String, Option<i64>> = Default::default();
    for line in text.lines() {
        summary.lines += 1;
        let Some(l) = parse_queue_log(line) else {
            summary.skipped += usize::from(!line.trim().is_empty());
            continue;
        };
        if !queue.is_empty() && l.queue != queue {
            continue;
        }
        let hash;
        let event = match &l.event {
            QueueLogEvent::Enter { caller } => {
                hash = if count_callers {
                    caller_hash(key, caller, l.at)
                } else {
                    None
                };
                store
                    .call_event(
                        "asterisk",
                        l.uniqueid,
                        l.at,
                        CallEvent::Offered {
                            out_of_hours: false,
                            caller_hash: hash.as_deref(),
                        },
                    )
                    .await?;
                CallEvent::Enqueued
            }
            QueueLogEvent::Connect { hold } => {
                let name = agent_username(l.agent).to_string();
                let by = match staff.get(&name) {
                    Some(id) => *id,
                    None => {
                        let id = store.staff_by_username(&name).await?.map(|s| s.id);
                        staff.insert(name, id);
                        id
                    }
                };
                CallEvent::Answered {
                    by,
                    agent: l.agent,
                    wait: *hold,
                }
            }
            QueueLogEvent::Complete { talk } => CallEvent::Ended { talk: *talk },
            QueueLogEvent::Left { wait } => CallEvent::Abandoned { wait: *wait },
        };
        store
            .call_event("asterisk", l.uniqueid, l.at, event)
            .await?;
        summary.events += 1;
    }
    Ok(summary)
}

/// Applies a CSV of call records from any other system: a header
/// `call_id,offered_at,outcome,wait_seconds,talk_seconds,agent` (offered_at in Unix seconds
/// or `YYYY-MM-DDTHH:MM:SSZ`; outcome answered, abandoned or out-of-hours). There is no
/// column for a number: a file with any other column is refused, so none can slip in.
pub async fn import_calls_csv(
    store: &reachline_store::Store,
    text: &str,
) -> Result<ImportSummary, String> {
    const HEADER: [&str; 6] = [
        "call_id",
        "offered_at",
        "outcome",
        "wait_seconds",
        "talk_seconds",
        "agent",
    ];
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the header could not be read: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    if header != HEADER {
        return Err(format!("the header must be exactly: {}", HEADER.join(",")));
    }
    let mut rows = Vec::new();
    // The reader refuses a record with another number of fields than the header, so every
    // `r.get(0..6)` below is there; `unwrap_or_default` only satisfies the type.
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let r = record.map_err(|e| format!("line {line}: {e}"))?;
        let id = r.get(0).unwrap_or_default();
        if id.is_empty() || id.len() > 80 {
            return Err(format!("line {line}: call_id is 1 to 80 characters"));
        }
        let at_text = r.get(1).unwrap_or_default();
        let at = at_text
            .parse::<i64>()
            .ok()
            .or_else(|| {
                time::OffsetDateTime::parse(at_text, &time::format_description::well_known::Rfc3339)
                    .ok()
                    .map(|t| t.unix_timestamp())
            })
            .filter(|t| *t > 0)
            .ok_or_else(|| {
                format!("line {line}: offered_at is Unix seconds or an RFC 3339 time")
            })?;
        let secs = |i: usize, name: &str| -> Result<Option<i64>, String> {
            match r.get(i).unwrap_or_default() {
                "" => Ok(None),
                v => v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (0..=7 * 86_400).contains(n))
                    .map(Some)
                    .ok_or_else(|| format!("line {line}: {name} is a number of seconds")),
            }
        };
        let wait = secs(3, "wait_seconds")?;
        let talk = secs(4, "talk_seconds")?;
        let outcome = r.get(2).unwrap_or_default().to_string();
        if !["answered", "abandoned", "out-of-hours"].contains(&outcome.as_str()) {
            return Err(format!(
                "line {line}: outcome is answered, abandoned or out-of-hours"
            ));
        }
        rows.push((
            id.to_string(),
            at,
            outcome,
            wait,
            talk,
            r.get(5).unwrap_or_default().to_string(),
        ));
    }
    // Every line is checked before any is applied: a bad file changes nothing.
    let mut summary = ImportSummary::default();
    for (id, at, outcome, wait, talk, agent) in rows {
        summary.lines += 1;
        let e = |e: StoreError| e.to_string();
        store
            .call_event(
                "csv",
                &id,
                at,
                CallEvent::Offered {
                    out_of_hours: outcome == "out-of-hours",
                    caller_hash: None,
                },
            )
            .await
            .map_err(e)?;
        match outcome.as_str() {
            // Records from another system are history: the agent is kept as a name, and no
            // practitioner is asked to wrap these calls up.
            "answered" => {
                store
                    .call_event(
                        "csv",
                        &id,
                        at,
                        CallEvent::Answered {
                            by: None,
                            agent: &agent,
                            wait,
                        },
                    )
                    .await
                    .map_err(e)?;
                // When the call ended, as near as the record tells (an unknown part counts 0);
                // only the event's time, the figures stay unknown.
                let end = at + wait.unwrap_or(0) + talk.unwrap_or(0);
                store
                    .call_event("csv", &id, end, CallEvent::Ended { talk })
                    .await
                    .map_err(e)?;
            }
            "abandoned" => {
                store
                    .call_event(
                        "csv",
                        &id,
                        at + wait.unwrap_or(0),
                        CallEvent::Abandoned { wait },
                    )
                    .await
                    .map_err(e)?;
            }
            _ => {}
        }
        summary.events += 1;
    }
    Ok(summary)
}

/// The parameters of a webhook, by name.
pub struct Params<'a>(pub &'a [(String, String)]);

impl Params<'_> {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn seconds(&self, name: &str) -> Option<i64> {
        self.get(name)
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|n| (0..=7 * 86_400).contains(n))
    }

    fn call_sid(&self) -> Result<&str, TelephonyError> {
        self.get("CallSid")
            .filter(|s| s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
            .ok_or(TelephonyError::Missing("CallSid"))
    }
}

/// A request to the provider's REST API, made by the web layer (which holds the HTTP
/// client): a form POST with HTTP basic authentication.
pub struct ProviderRequest {
    pub url: String,
    pub user: String,
    pub password: Zeroizing<String>,
    pub form: Vec<(String, String)>,
}

/// What to tell a caller who has just rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceAnswer {
    /// The helpline is closed: say so, and point to the website.
    Closed,
    /// Put the caller in the queue.
    Queue,
}

impl App {
    /// The Twilio auth token, if one is set.
    async fn twilio_token(&self) -> Result<Option<Zeroizing<String>>, StoreError> {
        let Some(sealed) = self.store.telephony_secret(TWILIO_TOKEN).await? else {
            return Ok(None);
        };
        let token = self
            .telephony_key
            .open(Context::TelephonySecret { name: TWILIO_TOKEN }, &sealed)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Zeroizing::new);
        // Fails closed (every webhook is refused), and says so: a token that does not open
        // means another master key or a damaged row, which only setting it again mends.
        if token.is_none() {
            tracing::error!("the Twilio auth token does not open with this master key; set it again with `reachline telephony twilio-token`");
        }
        Ok(token)
    }

    /// Checks a webhook's signature against the URL the provider requested (the configured
    /// public URL, the path and the query) and its parameters, in constant time, and that
    /// this exact request was not taken before. Nothing is changed when it fails.
    pub async fn twilio_verify(
        &self,
        url: &str,
        params: &[(String, String)],
        signature: Option<&str>,
    ) -> Result<String, TelephonyError> {
        let Some(signature) = signature.filter(|s| !s.is_empty() && s.len() <= 128) else {
            return Err(TelephonyError::Unsigned);
        };
        let Some(token) = self.twilio_token().await? else {
            return Err(TelephonyError::Unsigned);
        };
        let expected = twilio_signature(&token, url, params);
        if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
            return Err(TelephonyError::Unsigned);
        }
        let seen = hex::encode(sha2::Sha256::digest(format!("{url}\n{signature}")));
        if self.store.telephony_was_seen(&seen).await? {
            return Err(TelephonyError::Unsigned);
        }
        Ok(seen)
    }

    /// Remembers a verified request once it has been acted on (see [`Self::twilio_verify`]).
    pub async fn twilio_taken(&self, seen: &str) -> Result<(), StoreError> {
        let now = self.clock.now_unix();
        self.store
            .telephony_seen(seen, now, now - REPLAY_WINDOW_SECONDS)
            .await
            .map(|_| ())
    }

    /// A keyed hash of the caller's number for counting repeat callers, when enabled.
    fn caller_hash(&self, from: Option<&str>, at: i64) -> Option<String> {
        if !self.config.telephony.count_repeat_callers {
            return None;
        }
        caller_hash(&self.telephony_key, from?, at)
    }

    /// An incoming call: out of hours it is recorded as missed and the caller told where to
    /// find help; in hours it joins the queue.
    pub async fn twilio_voice(
        &self,
        params: &[(String, String)],
    ) -> Result<VoiceAnswer, TelephonyError> {
        let p = Params(params);
        let sid = p.call_sid()?;
        let now = self.clock.now_unix();
        let open = self.live.open_at(now);
        let caller_hash = self.caller_hash(p.get("From"), now);
        self.store
            .call_event(
                TWILIO,
                sid,
                now,
                CallEvent::Offered {
                    out_of_hours: !open,
                    caller_hash: caller_hash.as_deref(),
                },
            )
            .await?;
        if !open {
            return Ok(VoiceAnswer::Closed);
        }
        self.store
            .call_event(TWILIO, sid, now, CallEvent::Enqueued)
            .await?;
        Ok(VoiceAnswer::Queue)
    }

    /// The `<Enqueue>` action: how the caller left the queue (`QueueResult`, `QueueTime`).
    pub async fn twilio_queue_result(
        &self,
        params: &[(String, String)],
    ) -> Result<CallRow, TelephonyError> {
        let p = Params(params);
        let sid = p.call_sid()?;
        let now = self.clock.now_unix();
        let wait = p.seconds("QueueTime");
        let event = match p.get("QueueResult") {
            Some("bridged") | Some("redirected") => CallEvent::Answered {
                by: None,
                agent: "",
                wait,
            },
            Some("hangup" | "leave" | "error" | "system-error" | "queue-full") => {
                CallEvent::Abandoned { wait }
            }
            _ => return Err(TelephonyError::Missing("QueueResult")),
        };
        Ok(self.store.call_event(TWILIO, sid, now, event).await?)
    }

    /// A status callback: the call ended (`CallStatus`, `CallDuration`).
    pub async fn twilio_status(
        &self,
        params: &[(String, String)],
    ) -> Result<CallRow, TelephonyError> {
        let p = Params(params);
        let sid = p.call_sid()?;
        let now = self.clock.now_unix();
        let status = p
            .get("CallStatus")
            .ok_or(TelephonyError::Missing("CallStatus"))?;
        let event = match status {
            "completed" | "busy" | "failed" | "no-answer" | "canceled" => CallEvent::Ended {
                talk: p.seconds("CallDuration"),
            },
            "in-progress" | "ringing" | "queued" | "initiated" => CallEvent::Enqueued,
            _ => return Err(TelephonyError::Missing("CallStatus")),
        };
        let row = self.store.call_event(TWILIO, sid, now, event).await?;
        // A call that ended without ever reaching the queue (the caller hung up during the
        // greeting) is abandoned at once; one that did waits for its queue result, which
        // housekeeping settles if it never comes.
        if row.outcome == "pending" && row.enqueued_at.is_none() && row.ended_at.is_some() {
            return Ok(self
                .store
                .call_event(TWILIO, sid, now, CallEvent::Abandoned { wait: Some(0) })
                .await?);
        }
        Ok(row)
    }

    /// A practitioner's answer reached the caller: the provider dequeued the call
    /// (`<Dial><Queue url>` names the practitioner in the URL it signs).
    pub async fn twilio_answered(
        &self,
        params: &[(String, String)],
        staff: i64,
    ) -> Result<CallRow, TelephonyError> {
        let p = Params(params);
        let sid = p.call_sid()?;
        let now = self.clock.now_unix();
        let wait = p.seconds("QueueTime");
        Ok(self
            .store
            .call_event(
                TWILIO,
                sid,
                now,
                CallEvent::Answered {
                    by: Some(staff),
                    agent: "",
                    wait,
                },
            )
            .await?)
    }

    /// What "take call" asks the provider's REST API: ring the practitioner, and when they
    /// answer, bridge them to the caller at the front of the queue (`<Dial><Queue>`).
    /// Audited before it is sent.
    pub async fn take_call_request(
        &self,
        actor: crate::accounts::Actor<'_>,
    ) -> Result<ProviderRequest, crate::Error> {
        let t = &self.config.telephony;
        if t.provider_api_url.is_empty() || t.account_sid.is_empty() || t.caller_id.is_empty() {
            return Err(crate::Error::Invalid("console-calls-not-configured"));
        }
        let Some(token) = self.twilio_token().await? else {
            return Err(crate::Error::Invalid("console-calls-not-configured"));
        };
        if self.store.calls_waiting().await?.is_empty() {
            return Err(crate::Error::Invalid("console-calls-none-waiting"));
        }
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let answered = format!(
            "{}/telephony/twilio/queue?answered_by={}",
            self.public_url(),
            actor.id
        );
        let twiml = format!(
            "<Response><Dial><Queue url=\"{}\">{}</Queue></Dial></Response>",
            esc(&answered),
            esc(&t.queue_name)
        );
        self.audit(actor.username, "call.take", "", "").await?;
        Ok(ProviderRequest {
            url: format!(
                "{}/2010-04-01/Accounts/{}/Calls.json",
                t.provider_api_url.trim_end_matches('/'),
                t.account_sid
            ),
            user: t.account_sid.clone(),
            password: token,
            form: vec![
                (
                    "To".into(),
                    t.practitioner_dial.replace("{username}", actor.username),
                ),
                ("From".into(), t.caller_id.clone()),
                ("Twiml".into(), twiml),
            ],
        })
    }

    /// Calls waiting in the queue now.
    pub async fn calls_waiting(&self) -> Result<Vec<CallRow>, StoreError> {
        self.store.calls_waiting().await
    }

    /// Decides calls whose queue result never came (housekeeping).
    pub async fn calls_settle(&self) -> Result<usize, StoreError> {
        let now = self.clock.now_unix();
        self.store.calls_settle(now - 10 * 60, now - 6 * 3600).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The vectors Twilio's own helper libraries test their validators with.
    #[test]
    fn signatures_match_the_providers_published_vectors() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        // Out of alphabetical order on purpose: the signature sorts them.
        let p = params(&[
            ("From", "+14158675309"),
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ]);
        assert_eq!(
            twilio_signature("12345", url, &p),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        // The URL as the provider requested it, its case kept.
        assert_eq!(
            twilio_signature("12345", "https://MyCompany.com/myapp.php?foo=1&bar=2", &p),
            "g9IN/x4Cft2g517EjYvEvM/W7LU="
        );
        // A repeated parameter: each distinct value, sorted (twilio-python's vector).
        let repeated = params(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            twilio_signature("12345", url, &repeated),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
        assert_ne!(
            twilio_signature("12345", &format!("{url}&extra=1"), &p),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
    }

    #[test]
    fn only_strict_e164_numbers_are_counted() {
        assert_eq!(e164("+447700900123").as_deref(), Some("+447700900123"));
        assert_eq!(e164(" +14158675309 ").as_deref(), Some("+14158675309"));
        for withheld in [
            "",
            "anonymous",
            "+266696687",
            "07700900123",
            "+0447700900",
            "client:alice",
            "+44 7700 900123",
            "+1234567",
        ] {
            assert_eq!(e164(withheld), None, "{withheld}");
        }
    }
}
