//! Twilio-compatible telephony webhooks: `/telephony/twilio/voice` (an incoming call),
//! `/telephony/twilio/queue` (the `<Enqueue>` action and wait URLs) and
//! `/telephony/twilio/status` (status callbacks). Every request's `X-Twilio-Signature` is
//! checked before anything else: an unsigned, wrongly signed or replayed request gets 403 and
//! changes nothing. The caller's number is read only to hash it (when repeat callers are
//! counted) and is never stored or logged.

use crate::site::Shared;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use fluent_bundle::FluentValue;
use reachline_app::telephony::{TelephonyError, VoiceAnswer};

fn twiml(body: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{body}</Response>"),
    )
        .into_response()
}

fn xml(text: &str) -> String {
    html_escape::encode_quoted_attribute(text).into_owned()
}

fn refused(e: TelephonyError) -> Response {
    match e {
        TelephonyError::Unsigned => {
            (StatusCode::FORBIDDEN, "not signed by the provider\n").into_response()
        }
        TelephonyError::Missing(what) => (
            StatusCode::BAD_REQUEST,
            format!("missing or malformed {what}\n"),
        )
            .into_response(),
        TelephonyError::BadToken => (StatusCode::BAD_REQUEST, "bad token\n").into_response(),
        TelephonyError::Store(e) => {
            tracing::error!(error = %e, "a telephony event could not be recorded; the provider will retry");
            (StatusCode::SERVICE_UNAVAILABLE, "try again\n").into_response()
        }
    }
}

/// The form parameters, checked against the signature. `Err` is the response to give.
async fn verified(
    state: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Vec<(String, String)>, String), Response> {
    let params: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let url = format!(
        "{}{}",
        state.public_url(),
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok());
    match state.twilio_verify(&url, &params, signature).await {
        Ok(seen) => Ok((params, seen)),
        Err(e) => Err(refused(e)),
    }
}

/// Remembers a request that was acted on, so the same request again is refused. That write
/// is the replay protection: if it fails, the answer is 503 so the provider sends the request
/// again (acting on it again changes nothing: every call event is idempotent) and it is
/// remembered then.
async fn taken(state: &Shared, seen: &str, response: Response) -> Response {
    match state.twilio_taken(seen).await {
        Ok(()) => response,
        Err(e) => refused(TelephonyError::Store(e)),
    }
}

/// The locale callers hear (`telephony.say_language`).
fn caller_locale(state: &Shared) -> std::sync::Arc<crate::i18n::Locale> {
    state
        .i18n
        .choose(Some(&state.config.telephony.say_language), None)
}

fn say(state: &Shared, text: &str) -> String {
    format!(
        "<Say language=\"{}\">{}</Say>",
        xml(&state.config.telephony.say_language),
        xml(text)
    )
}

pub async fn voice(
    State(state): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (params, seen) = match verified(&state, &uri, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let l = caller_locale(&state);
    let answer = match state.twilio_voice(&params).await {
        Ok(a) => a,
        Err(e) => return refused(e),
    };
    let site = state.public_url();
    let response = match answer {
        VoiceAnswer::Closed => {
            let next = crate::site::next_opening_text(&state, &l, state.clock.now_unix());
            let text = l.text(
                "phone-closed",
                &[
                    ("next", FluentValue::from(next)),
                    ("site", FluentValue::from(site.clone())),
                ],
            );
            twiml(&format!("{}<Hangup/>", say(&state, &text)))
        }
        VoiceAnswer::Queue => {
            let url = format!("{site}/telephony/twilio/queue");
            twiml(&format!(
                "{}<Enqueue action=\"{u}\" method=\"POST\" waitUrl=\"{u}\" waitUrlMethod=\"POST\">{q}</Enqueue>",
                say(&state, &l.text("phone-welcome", &[])),
                u = xml(&url),
                q = xml(&state.config.telephony.queue_name),
            ))
        }
    };
    taken(&state, &seen, response).await
}

/// The `<Enqueue>` wait URL (no `QueueResult`: the caller's place and expected wait, from
/// the same queue model as chat) and its action URL (`QueueResult`: how the caller left).
pub async fn queue(
    State(state): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (params, seen) = match verified(&state, &uri, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let p = reachline_app::telephony::Params(&params);
    // The practitioner's leg dequeued this caller (the URL, signed with the rest, names them).
    let answered_by = uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "answered_by")
            .and_then(|(_, v)| v.parse::<i64>().ok())
    });
    if let Some(staff) = answered_by {
        let l = caller_locale(&state);
        return match state.twilio_answered(&params, staff).await {
            Ok(_) => {
                let text = l.text("phone-connected", &[]);
                taken(&state, &seen, twiml(&say(&state, &text))).await
            }
            Err(e) => refused(e),
        };
    }
    if p.get("QueueResult").is_some() {
        return match state.twilio_queue_result(&params).await {
            Ok(_) => taken(&state, &seen, twiml("")).await,
            Err(e) => refused(e),
        };
    }
    let l = caller_locale(&state);
    let position = p
        .get("QueuePosition")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|n| (1..=10_000).contains(n))
        .unwrap_or(1);
    let snap = crate::chat::queue_snapshot(&state).await;
    let per = state.config.helpline.chat_minutes_per_person as i64;
    let place = ("place", FluentValue::from(position));
    let text = match snap.expected_wait(position - 1, per) {
        None => l.text("phone-waiting-shortly", &[place]),
        Some(minutes) => l.text(
            "phone-waiting",
            &[place, ("minutes", FluentValue::from(minutes))],
        ),
    };
    // The wait URL is asked again when this ends: a short pause, then the place again.
    twiml(&format!("{}<Pause length=\"20\"/>", say(&state, &text)))
}

/// Sends a request to the provider's REST API (plain HTTP: TLS is a local proxy's job, as for
/// everything Reachline serves). The status code, or why it could not be sent.
pub async fn provider_post(req: &reachline_app::telephony::ProviderRequest) -> Result<u16, String> {
    use http_body_util::BodyExt;
    let uri: Uri = req
        .url
        .parse()
        .map_err(|_| "the provider URL is not valid".to_string())?;
    if uri.scheme_str() != Some("http") {
        return Err("telephony.provider_api_url must be http:// (a local proxy adds TLS)".into());
    }
    let host = uri
        .host()
        .ok_or("the provider URL has no host")?
        .to_string();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    .map_err(|_| "the provider did not answer in time".to_string())?
    .map_err(|e| format!("could not reach the provider: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("could not talk to the provider: {e}"))?;
    tokio::spawn(conn);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&req.form)
        .finish();
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", req.user, req.password.as_str()),
    );
    let request =
        axum::http::Request::post(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
            .header(header::HOST, format!("{host}:{port}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, format!("Basic {auth}"))
            .body(http_body_util::Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        sender.send_request(request),
    )
    .await
    .map_err(|_| "the provider did not answer in time".to_string())?
    .map_err(|e| format!("the provider's answer could not be read: {e}"))?;
    let status = resp.status().as_u16();
    // The body (the new call's description) is read only to finish the exchange; the status
    // is the answer, so a body that cannot be read changes nothing.
    let _ = resp.into_body().collect().await;
    Ok(status)
}

pub async fn status(
    State(state): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (params, seen) = match verified(&state, &uri, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state.twilio_status(&params).await {
        Ok(_) => taken(&state, &seen, StatusCode::NO_CONTENT.into_response()).await,
        Err(e) => refused(e),
    }
}
