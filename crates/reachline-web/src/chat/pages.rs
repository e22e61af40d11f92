//! The help-seeker's chat pages: start, queue, form posts without JavaScript, the
//! self-reloading transcript frame, ending, continuing by secure message.

use super::*;
use reachline_core::vocabulary::ConversationStatus;

#[derive(Template)]
#[template(path = "chat.html")]
struct ChatPage<'a> {
    c: &'a Chrome,
    /// `None`: no chat yet.
    chat: Option<ChatView>,
    now: crate::site::HelplineNow,
    intake: crate::intake::IntakeForm,
    /// The queue is full: other ways to reach us are offered instead of the start form.
    full: bool,
    error: Option<String>,
    text: String,
    max: usize,
    hours: Vec<String>,
}

struct ChatView {
    status: StatusView,
    under_18: bool,
    client_id: String,
    writable: bool,
}

async fn chat_page(
    state: &AppState,
    ctx: &Ctx,
    chat: Option<&ConversationRow>,
    error: Option<String>,
    text: String,
) -> Response {
    let chat = match chat {
        Some(c) => Some(ChatView {
            status: seeker_status(state, &ctx.chrome.l, c).await,
            under_18: c.age_group == "under-18",
            client_id: new_client_id(),
            writable: c.status.chat_writable(),
        }),
        None => None,
    };
    let (_, spans) = state.live.hours();
    let has_error = error.is_some();
    let no_chat = chat.is_none();
    crate::site::render_form(
        &ChatPage {
            c: &ctx.chrome,
            chat,
            now: crate::site::helpline_now(state, &ctx.chrome).await,
            intake: crate::intake::IntakeForm::new(state, None, false, "chat-error").await,
            full: no_chat && queue_full(state).await,
            error,
            text,
            max: state.config.helpline.max_message_chars as usize,
            hours: crate::site::hours_lines(&ctx.chrome, &spans),
        },
        has_error,
    )
}

/// `/chat`: the start form (when open), the out-of-hours offer, or the chat itself.
pub async fn page(State(state): State<Shared>, ctx: Ctx, headers: HeaderMap) -> Response {
    match seeker_chat(&state, &headers).await {
        Some((c, _)) => {
            opened(&state, &c).await;
            chat_page(&state, &ctx, Some(&c), None, String::new()).await
        }
        None => chat_page(&state, &ctx, None, None, String::new()).await,
    }
}

/// The help-seeker has their waiting chat open (its page or its socket). The first time,
/// it joins the queue: a chat started but never opened does not count in anyone's place.
async fn opened(state: &AppState, c: &ConversationRow) {
    if c.status != ConversationStatus::Waiting {
        return;
    }
    if c.seeker_seen_at.is_none() {
        match state
            .store
            .chats_seen(&[c.id], state.clock.now_unix())
            .await
        {
            Ok(()) => {
                publish(state, Event::Queue).await;
                return;
            }
            Err(e) => tracing::warn!(error = %e, "could not put an opened chat in the queue"),
        }
    }
    state.chat.seen(c.id);
}

/// Whether as many help-seekers wait as the queue takes. A store failure says no (the
/// start itself then fails clearly if the store is down).
async fn queue_full(state: &AppState) -> bool {
    match state.store.chats_waiting_count().await {
        Ok(n) => n >= state.config.helpline.max_waiting_chats as i64,
        Err(e) => {
            tracing::warn!(error = %e, "could not count the chat queue");
            false
        }
    }
}

/// Starts a chat: statement read, optional questions; joins the queue.
pub async fn start(State(state): State<Shared>, ctx: Ctx, fields: Fields) -> Response {
    if !state.live.open_at(state.clock.now_unix()) {
        return chat_page(&state, &ctx, None, None, String::new()).await;
    }
    if queue_full(&state).await {
        let mut resp = chat_page(&state, &ctx, None, None, String::new()).await;
        *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        return resp;
    }
    if !crate::intake::statement_confirmed(&fields) {
        return chat_page(
            &state,
            &ctx,
            None,
            Some(ctx.chrome.t("contact-statement-needed")),
            String::new(),
        )
        .await;
    }
    let intake = crate::intake::posted(&state, &fields).await;
    let (id, token) = match state.start_chat(&intake, &ctx.chrome.l.tag).await {
        Ok(started) => started,
        Err(e) => {
            tracing::error!(error = %e, "chat not created");
            return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
        }
    };
    publish(&state, Event::Queue).await;
    let mut resp = http::redirect("/chat");
    chat_cookie(&mut resp, &ctx, Some((id, &token)));
    resp
}

/// Sends a message with a plain form post.
pub async fn send_form(
    State(state): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
    fields: Fields,
) -> Response {
    let Some((c, key)) = seeker_chat(&state, &headers).await else {
        return http::redirect("/chat");
    };
    let typed = fields.get("message").unwrap_or_default().to_string();
    let cid = fields
        .get("cid")
        .filter(|c| valid_client_id(c))
        .map(str::to_string)
        .unwrap_or_else(new_client_id);
    match send(&state, c.id, &key, ChatSender::Seeker, &cid, &typed).await {
        Ok(_) => http::redirect("/chat#compose"),
        Err(e) => {
            let msg = send_error_text(e, &state, &ctx.chrome.l);
            let mut resp = chat_page(&state, &ctx, Some(&c), Some(msg), typed).await;
            if matches!(e, SendError::Flood) {
                *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            }
            resp
        }
    }
}

/// Ends the chat (or, once it has ended, forgets it in this browser).
pub async fn end(State(state): State<Shared>, ctx: Ctx, headers: HeaderMap) -> Response {
    let Some((c, _)) = seeker_chat(&state, &headers).await else {
        let mut resp = http::redirect("/chat");
        chat_cookie(&mut resp, &ctx, None);
        return resp;
    };
    if c.status.chat_writable() {
        let reason = "left-queue";
        if let Ok(Some(_)) = state
            .store
            .chat_end(c.id, reason, state.clock.now_unix())
            .await
        {
            publish(&state, Event::Status { c: c.id }).await;
        }
        http::redirect("/chat")
    } else {
        let mut resp = http::redirect("/chat");
        chat_cookie(&mut resp, &ctx, None);
        resp
    }
}

#[derive(Template)]
#[template(path = "chat_transcript.html")]
struct TranscriptPage<'a> {
    c: &'a Chrome,
    lines: Vec<crate::conversations::MessageView>,
    status: String,
    live: bool,
}

/// The transcript frame for browsers without JavaScript: reloads itself while the chat is on.
pub async fn transcript(
    State(state): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some((c, key)) = seeker_chat(&state, &headers).await else {
        return state.message(&ctx, StatusCode::NOT_FOUND, "not-found");
    };
    if c.status == ConversationStatus::Waiting {
        state.chat.seen(c.id);
    }
    let you = ctx.chrome.t("contact-you");
    let them = ctx.chrome.t("contact-practitioner");
    let messages = match lines(&state, c.id, &key, 0).await {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "chat transcript could not be read");
            return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
        }
    };
    let view = messages
        .into_iter()
        .map(|m| crate::conversations::MessageView {
            seq: m.seq,
            from_seeker: m.from_seeker,
            who: if m.from_seeker {
                you.clone()
            } else {
                them.clone()
            },
            when: ctx.chrome.zone.clock(m.at),
            text: m.text,
        })
        .collect();
    let live = (c.status.chat_writable()) && !q.contains_key("still");
    let status = seeker_status(&state, &ctx.chrome.l, &c).await.text;
    transcript_response(
        &TranscriptPage {
            c: &ctx.chrome,
            lines: view,
            status,
            live,
        },
        live,
        "/chat/transcript",
    )
}

/// A transcript frame: framable by this site only, reloading every few seconds when live.
pub fn transcript_response<T: Template>(t: &T, live: bool, path: &str) -> Response {
    let mut resp = crate::site::render(t);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
        ),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    if live {
        // A fresh query each time: a reload to the same URL with only a fragment would be a
        // scroll, not a reload.
        let url = format!("4; url={path}?r={}#latest", new_client_id());
        if let Ok(v) = HeaderValue::from_str(&url) {
            h.insert(header::REFRESH, v);
        }
    }
    resp
}

/// The socket for the help-seeker's chat.
pub async fn socket(
    State(state): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(after): Query<After>,
    ws: WebSocketUpgrade,
) -> Response {
    if http::foreign_socket(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site").into_response();
    }
    let Some((c, key)) = seeker_chat(&state, &headers).await else {
        return (StatusCode::FORBIDDEN, "no chat").into_response();
    };
    opened(&state, &c).await;
    let peer = Peer {
        staff: None,
        session: None,
        locale: ctx.chrome.l.clone(),
    };
    upgrade(state.clone(), ws, c.id, key, peer, after.after)
}

/// After a chat: a return code to continue by secure message.
pub async fn continue_by_message(
    State(state): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
) -> Response {
    let Some((c, _)) = seeker_chat(&state, &headers).await else {
        return http::redirect("/contact/message");
    };
    let code = ReturnCode::generate();
    let shown = code.display();
    let derived = match state
        .workbooks
        .guard
        .derive(code, state.workbooks.pepper.clone())
        .await
    {
        Ok(d) => d,
        Err(_) => return state.message(&ctx, StatusCode::SERVICE_UNAVAILABLE, "busy"),
    };
    // The chat now belongs to this code too, so a later contact is recognised as a return.
    // If that cannot be written, the secure message still works (it has its own link to the
    // code); the operator is told.
    if let Err(e) = state
        .store
        .conversation_set_lookup(c.id, &hex::encode(derived.lookup))
        .await
    {
        tracing::warn!(error = %e, "could not link a chat to its return code");
    }
    crate::conversations::write_page_with_code(&state, &ctx, shown).await
}
