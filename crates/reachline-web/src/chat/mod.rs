//! Live chat, the help-seeker's side, and the socket both sides share.
//!
//! A chat is a conversation (channel `chat`) with its own key, wrapped for staff by the
//! content data key and for the help-seeker by a random key that lives only in their
//! `rl_chat` cookie. Messages are sealed with the conversation key and acknowledged only
//! after commit; each carries the sender's client id, so a message re-sent after a lost
//! acknowledgement is stored once. Sequence numbers let a reconnecting client ask for
//! everything after the last message it has: nothing lost, nothing twice.
//!
//! Without JavaScript the page is a form that posts, and a transcript frame that reloads
//! itself (`Refresh` header). With JavaScript, `static/chat.js` uses the WebSocket at
//! `/chat/ws` for messages, typing and delivery state, and reconnects on its own.
//!
//! Events between instances go through the [`Hub`]: locally by broadcast channels, across
//! instances by PostgreSQL NOTIFY. Events name a conversation and a sequence number, never
//! content; every socket reads and opens the message itself.
//!
//! Three rooms: `hub` (events, rooms, recent messages, the queue snapshot), `socket` (the
//! protocol both sides speak), `pages` (the help-seeker's pages and forms). This file keeps
//! what they share: the chat cookie and keys, status views, message lines and sending.

pub mod hub;
mod pages;
mod socket;

pub use hub::*;
pub use pages::*;
pub use reachline_app::chat::{ChatSender, Line, SendError, Sent};
pub use socket::*;

use crate::http::{self, CookieSpec};
use crate::i18n::Locale;
use crate::site::{Chrome, Ctx, Fields, Shared};
use crate::state::AppState;
use askama::Template;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fluent_bundle::FluentValue;
use reachline_core::keys::Key;
use reachline_core::return_code::ReturnCode;
use reachline_core::vocabulary::ConversationStatus;
use reachline_store::ConversationRow;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

pub const CHAT_COOKIE: &str = "rl_chat";
/// How often a socket tells the store the help-seeker is still there.
const SEEN_EVERY: Duration = Duration::from_secs(20);

fn chat_cookie(resp: &mut Response, ctx: &Ctx, value: Option<(i64, &Key)>) {
    // No value: an empty cookie that expires at once (the chat is forgotten).
    let v = value
        .map(|(id, k)| format!("{id}.{}", URL_SAFE_NO_PAD.encode(k.as_bytes())))
        .unwrap_or_default();
    http::set_cookie(
        resp,
        CookieSpec {
            name: CHAT_COOKIE,
            value: &v,
            max_age: if value.is_some() { None } else { Some(0) },
            same_site_strict: true,
            http_only: true,
            secure: ctx.https,
        },
    );
}

/// The help-seeker's chat and its key, from the cookie. A store failure is logged and
/// treated as no chat (the page offers to start one; nothing is lost).
pub async fn seeker_chat(state: &AppState, headers: &HeaderMap) -> Option<(ConversationRow, Key)> {
    let (id, token) = http::cookie(headers, CHAT_COOKIE)?.split_once('.')?;
    let id: i64 = id.parse().ok()?;
    let token = Key::from_slice(&URL_SAFE_NO_PAD.decode(token).ok()?)?;
    match state.seeker_chat(id, &token).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "could not read the help-seeker's chat");
            None
        }
    }
}

/// Publishes a chat event here and to the other instances.
pub async fn publish(state: &AppState, e: Event) {
    state.chat.publish(&state.store, e).await
}

/// The queue as every waiting socket sees it (read at most once every two seconds).
pub async fn queue_snapshot(state: &AppState) -> Arc<QueueSnapshot> {
    state
        .chat
        .queue_snapshot(
            &state.store,
            state.config.helpline.chat_max_per_practitioner as i64,
        )
        .await
}

/// A fresh client id for a form (so a form posted twice stores one message).
pub fn new_client_id() -> String {
    let mut b = [0u8; 12];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    format!("f{}", hex::encode(b))
}

fn valid_client_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the help-seeker is told about their chat's state.
pub struct StatusView {
    pub status: String,
    pub text: String,
    pub ahead: i64,
}

pub async fn seeker_status(state: &AppState, l: &Locale, c: &ConversationRow) -> StatusView {
    let (text, ahead) = match c.status {
        ConversationStatus::Waiting => {
            let snap = queue_snapshot(state).await;
            let ahead = match snap.ahead.get(&c.id) {
                Some(i) => *i,
                // Newer than the snapshot: count it exactly.
                None => state.store.chat_ahead(c.id).await.unwrap_or(0),
            };
            return waiting_view(state, l, ahead, &snap);
        }
        ConversationStatus::Active => (l.text("chat-status-active", &[]), 0),
        ConversationStatus::Missed => (l.text("chat-status-missed", &[]), 0),
        _ => (l.text("chat-status-ended", &[]), 0),
    };
    StatusView {
        status: c.status.to_string(),
        text,
        ahead,
    }
}

/// A waiting help-seeker's place and expected wait.
fn waiting_view(state: &AppState, l: &Locale, ahead: i64, snap: &QueueSnapshot) -> StatusView {
    let place = ("place", FluentValue::from(ahead + 1));
    let per = state.config.helpline.chat_minutes_per_person as i64;
    let text = match snap.expected_wait(ahead, per) {
        None => l.text("chat-status-waiting-shortly", &[place]),
        Some(minutes) => l.text(
            "chat-status-waiting",
            &[place, ("minutes", FluentValue::from(minutes))],
        ),
    };
    StatusView {
        status: ConversationStatus::Waiting.to_string(),
        text,
        ahead,
    }
}

/// The messages of a chat after `after`, opened (see [`reachline_app::App::chat_lines`]).
pub async fn lines(
    state: &AppState,
    c: i64,
    key: &Key,
    after: i64,
) -> Result<Vec<Line>, reachline_app::Error> {
    state.conversation_lines(c, key, after).await
}

/// What a sender is told when a message was not stored.
pub fn send_error_text(e: SendError, state: &AppState, l: &Locale) -> String {
    let max = state.config.helpline.max_message_chars as usize;
    match e {
        SendError::Empty | SendError::TooLong => l.text(
            &format!("contact-{}", e.code()),
            &[("max", FluentValue::from(max))],
        ),
        _ => l.text(e.code(), &[]),
    }
}

/// Stores one chat message (the application checks and seals it), then hands it to this
/// instance's sockets and tells the others; shared by the socket and the form.
pub async fn send(
    state: &AppState,
    c: i64,
    key: &Key,
    sender: ChatSender<'_>,
    client_id: &str,
    text: &str,
) -> Result<i64, SendError> {
    match state.chat_send(c, key, sender, client_id, text).await? {
        Sent::New(line) => {
            let seq = line.seq;
            state.chat.remember(c, line);
            state.metrics.chat_messages.inc();
            publish(state, Event::Message { c, seq }).await;
            Ok(seq)
        }
        Sent::Again(seq) => Ok(seq),
    }
}
