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
        Ok(self
            .telephony_key
            .open(Context::TelephonySecret { name: TWILIO_TOKEN }, &sealed)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Zeroizing::new))
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
        let number = Zeroizing::new(e164(from?)?);
        let year = reachline_core::clock::day_of(at)
            .get(..4)
            .unwrap_or_default()
            .to_string();
        let mut year_key =
            Hmac::<sha2::Sha256>::new_from_slice(self.telephony_key.as_bytes()).ok()?;
        year_key.update(format!("reachline callers {year}").as_bytes());
        let year_key = Zeroizing::new(year_key.finalize().into_bytes());
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&year_key).ok()?;
        mac.update(number.as_bytes());
        Some(hex::encode(mac.finalize().into_bytes()))
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
