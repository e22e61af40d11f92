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

use crate::http::{self, CookieSpec};
use crate::i18n::Locale;
use crate::site::{Chrome, Ctx, Fields, Shared};
use crate::AppState;
use askama::Template;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fluent_bundle::FluentValue;
use reachline_core::areas::{self, Area};
use reachline_core::keys::Key;
use reachline_core::return_code::ReturnCode;
use reachline_core::sealing::Context;
use reachline_store::{Appended, ConversationRow};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

pub const CHAT_COOKIE: &str = "rl_chat";
/// Messages a sender may send in a burst, and how fast the allowance refills.
const FLOOD_BURST: f64 = 6.0;
const FLOOD_PER_SECOND: f64 = 1.0;
/// How often a socket tells the store the help-seeker is still there.
const SEEN_EVERY: Duration = Duration::from_secs(20);
/// A waiting help-seeker not seen for this long (page closed) has left the queue.
pub const GONE_AFTER_SECONDS: i64 = 120;

/// A chat event. Carries no content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum Event {
    /// A message with this sequence number was committed.
    Message { c: i64, seq: i64 },
    /// Someone in the chat is typing (`seeker` says which side).
    Typing { c: i64, seeker: bool },
    /// The `seeker` side (or the practitioner side) has received messages up to `seq`.
    Delivered { c: i64, seeker: bool, seq: i64 },
    /// The chat changed state (taken, transferred, ended, missed).
    Status { c: i64 },
    /// The queue changed.
    Queue,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    i: String,
    e: Event,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Fans chat events out to the sockets of this instance and to other instances.
pub struct Hub {
    instance: String,
    rooms: Mutex<HashMap<i64, broadcast::Sender<Event>>>,
    /// Bumped whenever the queue may have changed. A watch keeps only the latest, so a
    /// waiting socket that was busy sees one change, not a backlog of them.
    queue: watch::Sender<u64>,
    closing: watch::Sender<bool>,
    buckets: Mutex<HashMap<(i64, bool), Bucket>>,
    /// Waiting chats whose help-seeker was seen since the last flush.
    seen: Mutex<std::collections::HashSet<i64>>,
    /// The last few messages of each chat with a socket here, as sent through this instance,
    /// so that delivering one does not make every socket in the room read it back from the
    /// database. Dropped with the room (see [`Hub::tidy`]); never written anywhere.
    recent: Mutex<HashMap<i64, std::collections::VecDeque<Line>>>,
    /// The queue as last read, shared by every waiting socket (see [`queue_snapshot`]).
    snapshot: tokio::sync::Mutex<Option<Arc<QueueSnapshot>>>,
}

/// The queue order and the practitioners available, read once for all waiting sockets.
pub struct QueueSnapshot {
    /// How many chats are ahead of each waiting chat.
    pub ahead: HashMap<i64, i64>,
    pub available: i64,
    at: Instant,
}

/// How many of a chat's latest messages [`Hub`] keeps for delivery.
const RECENT_PER_CHAT: usize = 32;

/// How long one reading of the queue serves every socket that asks.
const SNAPSHOT_FOR: Duration = Duration::from_secs(2);

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        let mut id = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
        Hub {
            instance: hex::encode(id),
            rooms: Mutex::new(HashMap::new()),
            queue: watch::channel(0).0,
            closing: watch::channel(false).0,
            buckets: Mutex::new(HashMap::new()),
            seen: Mutex::new(std::collections::HashSet::new()),
            recent: Mutex::new(HashMap::new()),
            snapshot: tokio::sync::Mutex::new(None),
        }
    }

    /// Notes that a help-seeker is still there; written in batches by [`Hub::flush_seen`].
    pub fn seen(&self, c: i64) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(c);
    }

    /// Writes the batch of "still there" marks (one statement for all of them).
    pub async fn flush_seen(&self, store: &reachline_store::Store, now: i64) {
        let ids: Vec<i64> = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.drain().collect()
        };
        if !ids.is_empty() {
            if let Err(e) = store.chats_seen(&ids, now).await {
                tracing::warn!(error = %e, "could not note waiting help-seekers as present");
            }
        }
    }

    fn room(&self, c: i64) -> broadcast::Receiver<Event> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms
            .entry(c)
            .or_insert_with(|| broadcast::channel(32).0)
            .subscribe()
    }

    fn deliver(&self, e: Event) {
        match e {
            Event::Queue => self.queue_changed(),
            Event::Message { c, .. }
            | Event::Typing { c, .. }
            | Event::Delivered { c, .. }
            | Event::Status { c } => {
                let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(tx) = rooms.get(&c) {
                    let _ = tx.send(e);
                }
                if matches!(e, Event::Status { .. }) {
                    self.queue_changed();
                }
            }
        }
    }

    fn queue_changed(&self) {
        self.queue.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Keeps a message just stored, for delivery to the sockets of its chat.
    fn remember(&self, c: i64, m: Line) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let q = recent.entry(c).or_default();
        // Messages stored together may arrive here out of order: keep them sorted.
        let at = q.partition_point(|r| r.seq < m.seq);
        if q.get(at).is_some_and(|r| r.seq == m.seq) {
            return;
        }
        q.insert(at, m);
        while q.len() > RECENT_PER_CHAT {
            q.pop_front();
        }
    }

    /// Every message after `after` up to `upto`, if all of them are at hand; `None` means
    /// read the database.
    fn recent(&self, c: i64, after: i64, upto: i64) -> Option<Vec<Line>> {
        if upto <= after {
            return Some(Vec::new());
        }
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let q = recent.get(&c)?;
        let from = q.partition_point(|r| r.seq <= after);
        let run: Vec<Line> = q
            .range(from..)
            .take_while(|r| r.seq <= upto)
            .cloned()
            .collect();
        let complete = run.len() as i64 == upto - after
            && run.iter().zip(after + 1..).all(|(r, n)| r.seq == n);
        complete.then_some(run)
    }

    /// Forgets rooms nobody listens to.
    pub fn tidy(&self) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.retain(|_, tx| tx.receiver_count() > 0);
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.retain(|c, _| rooms.contains_key(c));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.retain(|_, b| b.at.elapsed() < Duration::from_secs(60));
    }

    /// Sockets open on this instance (for metrics and tests).
    pub fn listeners(&self) -> usize {
        let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.values().map(|tx| tx.receiver_count()).sum()
    }

    /// Whether one more message from this side of this chat is within the flood limit.
    pub fn allow(&self, c: i64, seeker: bool) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets.entry((c, seeker)).or_insert(Bucket {
            tokens: FLOOD_BURST,
            at: Instant::now(),
        });
        let now = Instant::now();
        b.tokens =
            (b.tokens + now.duration_since(b.at).as_secs_f64() * FLOOD_PER_SECOND).min(FLOOD_BURST);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Tells every socket on this instance to reconnect (shutdown), and closes them.
    pub fn close_all(&self) {
        let _ = self.closing.send(true);
    }
}

/// Publishes an event here and to other instances.
pub async fn publish(state: &AppState, e: Event) {
    state.chat.deliver(e);
    if let Ok(payload) = serde_json::to_string(&Wire {
        i: state.chat.instance.clone(),
        e,
    }) {
        if let Err(err) = state.store.chat_notify(&payload).await {
            tracing::warn!(error = %err, "could not tell other instances about a chat event");
        }
    }
}

/// Relays other instances' events to this one's sockets (PostgreSQL only). Runs until the
/// task is aborted; reconnects after errors.
pub async fn relay(state: Shared) {
    loop {
        let mut listener = match state.store.chat_listener().await {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "chat relay cannot listen; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        loop {
            match listener.recv().await {
                Ok(Some(payload)) => {
                    if let Ok(w) = serde_json::from_str::<Wire>(&payload) {
                        if w.i != state.chat.instance {
                            state.chat.deliver(w.e);
                        }
                    }
                }
                Ok(None) => {
                    // The connection dropped and came back: events may have been missed,
                    // so every socket here re-reads its chat.
                    let ids: Vec<i64> = {
                        let rooms = state.chat.rooms.lock().unwrap_or_else(|e| e.into_inner());
                        rooms.keys().copied().collect()
                    };
                    for c in ids {
                        state.chat.deliver(Event::Status { c });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "chat relay lost its connection; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}

fn chat_cookie(resp: &mut Response, ctx: &Ctx, value: Option<(i64, &Key)>) {
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

/// The help-seeker's chat and its key, from the cookie.
pub async fn seeker_chat(state: &AppState, headers: &HeaderMap) -> Option<(ConversationRow, Key)> {
    let (id, token) = http::cookie(headers, CHAT_COOKIE)?.split_once('.')?;
    let id: i64 = id.parse().ok()?;
    let token = Key::from_slice(&URL_SAFE_NO_PAD.decode(token).ok()?)?;
    let c = state.store.conversation_get(id).await.ok().flatten()?;
    if c.channel != "chat" {
        return None;
    }
    let key = token
        .open(
            Context::ConversationKey { conversation: id },
            c.key_seeker.as_deref()?,
        )
        .ok()?;
    Some((c, Key::from_slice(&key)?))
}

/// The conversation key as staff open it (any channel).
pub fn staff_key(state: &AppState, c: &ConversationRow) -> Option<Key> {
    let raw = state
        .content_key
        .open(
            Context::ConversationKey { conversation: c.id },
            c.key_staff.as_deref()?,
        )
        .ok()?;
    Key::from_slice(&raw)
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

/// The queue, read at most once every two seconds however many sockets ask.
pub async fn queue_snapshot(state: &AppState) -> Arc<QueueSnapshot> {
    let mut slot = state.chat.snapshot.lock().await;
    if let Some(s) = slot.as_ref() {
        if s.at.elapsed() < SNAPSHOT_FOR {
            return s.clone();
        }
    }
    let ahead = state
        .store
        .chat_queue()
        .await
        .map(|q| q.into_iter().zip(0..).map(|(c, i)| (c.id, i)).collect())
        .unwrap_or_default();
    let available = state
        .store
        .staff_availability()
        .await
        .map(|v| v.iter().filter(|s| s.available).count() as i64)
        .unwrap_or(0);
    let fresh = Arc::new(QueueSnapshot {
        ahead,
        available,
        at: Instant::now(),
    });
    *slot = Some(fresh.clone());
    fresh
}

pub async fn seeker_status(state: &AppState, l: &Locale, c: &ConversationRow) -> StatusView {
    let (text, ahead) = match c.status.as_str() {
        "waiting" => {
            let snap = queue_snapshot(state).await;
            let ahead = match snap.ahead.get(&c.id) {
                Some(i) => *i,
                // Newer than the snapshot: count it exactly.
                None => state.store.chat_ahead(c.id).await.unwrap_or(0),
            };
            return waiting_view(state, l, ahead, snap.available);
        }
        "active" => (l.text("chat-status-active", &[]), 0),
        "missed" => (l.text("chat-status-missed", &[]), 0),
        _ => (l.text("chat-status-ended", &[]), 0),
    };
    StatusView {
        status: c.status.clone(),
        text,
        ahead,
    }
}

/// A waiting help-seeker's place and expected wait.
fn waiting_view(state: &AppState, l: &Locale, ahead: i64, available: i64) -> StatusView {
    let available = available.max(1);
    let per = state.config.helpline.chat_minutes_per_person as i64;
    let minutes = ((ahead + 1) * per + available - 1) / available;
    StatusView {
        status: "waiting".to_string(),
        text: l.text(
            "chat-status-waiting",
            &[
                ("place", FluentValue::from(ahead + 1)),
                ("minutes", FluentValue::from(minutes.max(1))),
            ],
        ),
        ahead,
    }
}

/// One message, opened, as a socket frame or a page row.
#[derive(Clone)]
pub struct Line {
    pub seq: i64,
    pub from_seeker: bool,
    pub staff_name: Option<String>,
    pub at: i64,
    pub text: String,
}

pub async fn lines(state: &AppState, c: i64, key: &Key, after: i64) -> Vec<Line> {
    state
        .store
        .messages(c, after)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|m| Line {
            seq: m.seq,
            from_seeker: m.sender == "seeker",
            staff_name: m.staff_name,
            at: m.created_at,
            text: key
                .open(
                    Context::MessageBody {
                        conversation: c,
                        seq: m.seq,
                    },
                    &m.body_sealed,
                )
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default(),
        })
        .collect()
}

pub fn clock_text(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!("[hour]:[minute] UTC"))
                .ok()
        })
        .unwrap_or_default()
}

/// Validates and stores one chat message; shared by the socket and the form.
pub enum SendError {
    Empty,
    TooLong,
    Flood,
    Closed,
    Server,
}

impl SendError {
    pub fn code(&self) -> &'static str {
        match self {
            SendError::Empty => "message-empty",
            SendError::TooLong => "message-too-long",
            SendError::Flood => "chat-flood",
            SendError::Closed => "chat-closed",
            SendError::Server => "chat-server",
        }
    }
    pub fn text(&self, state: &AppState, l: &Locale) -> String {
        let max = state.config.helpline.max_message_chars as usize;
        match self {
            SendError::Empty | SendError::TooLong => l.text(
                &format!("contact-{}", self.code()),
                &[("max", FluentValue::from(max))],
            ),
            _ => l.text(self.code(), &[]),
        }
    }
}

pub async fn send(
    state: &AppState,
    c: i64,
    key: &Key,
    staff: Option<(i64, &str)>,
    client_id: &str,
    text: &str,
) -> Result<i64, SendError> {
    let staff_id = staff.map(|s| s.0);
    let text = text.replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        return Err(SendError::Empty);
    }
    if text.chars().count() > state.config.helpline.max_message_chars as usize {
        return Err(SendError::TooLong);
    }
    if !state.chat.allow(c, staff_id.is_none()) {
        return Err(SendError::Flood);
    }
    let (key, plain) = (key.clone(), text.to_string());
    let sealed = move |seq: i64| {
        key.seal(
            Context::MessageBody {
                conversation: c,
                seq,
            },
            plain.as_bytes(),
        )
    };
    let now = state.clock.now_unix();
    match state
        .store
        .chat_append(c, staff_id, client_id, sealed, now)
        .await
    {
        Ok(Appended::New(seq)) => {
            state.chat.remember(
                c,
                Line {
                    seq,
                    from_seeker: staff.is_none(),
                    staff_name: staff.map(|s| s.1.to_string()),
                    at: now,
                    text: text.to_string(),
                },
            );
            state.metrics.add_counter(
                "reachline_chat_messages_total",
                "Chat messages stored (both sides).",
                1,
            );
            publish(state, Event::Message { c, seq }).await;
            Ok(seq)
        }
        Ok(Appended::Again(seq)) => Ok(seq),
        Ok(Appended::Closed) => Err(SendError::Closed),
        Err(e) => {
            tracing::error!(error = %e, "chat message not stored");
            Err(SendError::Server)
        }
    }
}

// ---------------------------------------------------------------------------------------
// The socket, for both sides.

/// Who is on this end of a socket.
#[derive(Clone)]
pub struct Peer {
    /// `None` for the help-seeker.
    pub staff: Option<(i64, String)>,
    pub locale: Arc<Locale>,
}

impl Peer {
    fn is_seeker(&self) -> bool {
        self.staff.is_none()
    }
}

#[derive(Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum ClientFrame {
    Send { cid: String, text: String },
    Typing,
    Seen { seq: i64 },
}

#[derive(Deserialize)]
pub struct After {
    #[serde(default)]
    pub after: i64,
}

/// Upper bound for one frame from a client: the longest message, as JSON-escaped UTF-8.
fn max_frame(state: &AppState) -> usize {
    state.config.helpline.max_message_chars as usize * 12 + 1024
}

/// Refuses a WebSocket opened from another site (the browser always sends Origin).
pub fn foreign_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        host,
    ) {
        (Some(origin), Some(host)) => {
            origin.split_once("://").map(|(_, h)| h).unwrap_or(origin) != host
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}

pub fn upgrade(
    state: Shared,
    ws: WebSocketUpgrade,
    c: i64,
    key: Key,
    peer: Peer,
    after: i64,
) -> Response {
    let limit = max_frame(&state);
    // Small buffers: most sockets sit idle in the queue, and memory per idle connection is
    // what bounds how many people can wait at once (bench/chat.sh measures it).
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .on_upgrade(move |socket| run(state, socket, c, key, peer, after))
}

async fn frame(socket: &mut WebSocket, v: serde_json::Value) -> bool {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .is_ok()
}

async fn status_frame(state: &AppState, peer: &Peer, c: i64) -> Option<serde_json::Value> {
    let row = state.store.conversation_get(c).await.ok().flatten()?;
    let view = if peer.is_seeker() {
        seeker_status(state, &peer.locale, &row).await
    } else {
        let text = match row.status.as_str() {
            "active" => peer.locale.text(
                "console-chat-status-active",
                &[(
                    "name",
                    FluentValue::from(row.claimed_by_name.clone().unwrap_or_default()),
                )],
            ),
            "waiting" => peer.locale.text("console-chat-status-waiting", &[]),
            "missed" => peer.locale.text("console-chat-status-missed", &[]),
            _ => peer.locale.text("console-chat-status-ended", &[]),
        };
        StatusView {
            status: row.status.clone(),
            text,
            ahead: 0,
        }
    };
    // A practitioner whose chat was transferred away is told so by the status: the socket
    // stays read-only for them (the store refuses their messages).
    let mine = match &peer.staff {
        Some((id, _)) => row.claimed_by == Some(*id),
        None => true,
    };
    Some(status_json(view, mine))
}

fn status_json(view: StatusView, mine: bool) -> serde_json::Value {
    serde_json::json!({
        "t": "status", "status": view.status, "text": view.text, "ahead": view.ahead, "mine": mine,
    })
}

/// A waiting help-seeker's status from the shared queue snapshot, without reading their
/// chat: thousands of waiting sockets re-check their place whenever the queue moves. A chat
/// no longer in the queue reads its own row (it was taken or ended; its room hears that too).
async fn waiting_frame(state: &AppState, peer: &Peer, c: i64) -> Option<serde_json::Value> {
    let snap = queue_snapshot(state).await;
    match snap.ahead.get(&c) {
        Some(ahead) => Some(status_json(
            waiting_view(state, &peer.locale, *ahead, snap.available),
            true,
        )),
        None => status_frame(state, peer, c).await,
    }
}

async fn run(state: Shared, mut socket: WebSocket, c: i64, key: Key, peer: Peer, after: i64) {
    let mut room = state.chat.room(c);
    let mut queue = state.chat.queue.subscribe();
    let mut closing = state.chat.closing.subscribe();
    let mut last = after.max(0);
    let mut last_typing: Option<Instant> = None;
    // Each socket's keep-alive at its own moment, so thousands opened together do not all
    // ping at once.
    let offset = SEEN_EVERY.mul_f64(rand::Rng::gen_range(&mut rand::thread_rng(), 0.5..1.5));
    let mut seen_tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, SEEN_EVERY);
    let mut queue_dirty = false;
    let mut queue_tick = tokio::time::interval(SNAPSHOT_FOR);
    queue_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let you = peer.locale.text("contact-you", &[]);
    let them = if peer.is_seeker() {
        peer.locale.text("contact-practitioner", &[])
    } else {
        peer.locale.text("console-thread-help-seeker", &[])
    };
    // Sends every message after `last`: up to a known number from the messages just stored
    // here when they are all at hand, otherwise (and with no number) from the database.
    macro_rules! catch_up {
        () => {
            catch_up!(None)
        };
        ($upto:expr) => {{
            let upto: Option<i64> = $upto;
            let batch = match upto.and_then(|u| state.chat.recent(c, last, u)) {
                Some(run) => run,
                None => lines(&state, c, &key, last).await,
            };
            let mut ok = true;
            for m in batch {
                last = last.max(m.seq);
                let mine = m.from_seeker == peer.is_seeker();
                let who = if mine { you.clone() } else { them.clone() };
                ok = frame(
                    &mut socket,
                    serde_json::json!({
                        "t": "msg", "seq": m.seq, "mine": mine, "who": who,
                        "at": clock_text(m.at), "text": m.text,
                    }),
                )
                .await;
                if !ok {
                    break;
                }
            }
            ok
        }};
    }
    if *closing.borrow() {
        let _ = frame(&mut socket, serde_json::json!({"t": "reconnect"})).await;
        return;
    }
    let mut status = status_frame(&state, &peer, c).await;
    if let Some(s) = &status {
        if !frame(&mut socket, s.clone()).await {
            return;
        }
    }
    if !catch_up!() {
        return;
    }
    if peer.is_seeker() {
        state.chat.seen(c);
    }
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(msg)) = incoming else { break };
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Close(_) => break,
                    Message::Binary(_) => {
                        // Text only: nothing else is accepted, ever.
                        if !frame(&mut socket, serde_json::json!({
                            "t": "error", "code": "text-only",
                            "text": peer.locale.text("chat-text-only", &[]),
                        })).await { break }
                        continue;
                    }
                    _ => continue,
                };
                match serde_json::from_str::<ClientFrame>(text.as_str()) {
                    Ok(ClientFrame::Send { cid, text }) => {
                        if !valid_client_id(&cid) {
                            if !frame(&mut socket, serde_json::json!({"t": "error", "code": "bad-frame"})).await { break }
                            continue;
                        }
                        let staff = peer.staff.as_ref().map(|(id, name)| (*id, name.as_str()));
                        let sent = send(&state, c, &key, staff, &cid, &text).await;
                        let reply = match &sent {
                            Ok(seq) => serde_json::json!({"t": "ack", "cid": cid, "seq": seq}),
                            Err(e) => serde_json::json!({
                                "t": "error", "cid": cid, "code": e.code(), "text": e.text(&state, &peer.locale),
                            }),
                        };
                        if !frame(&mut socket, reply).await { break }
                        if !catch_up!(sent.ok()) { break }
                    }
                    Ok(ClientFrame::Typing) => {
                        let now = Instant::now();
                        if last_typing.is_none_or(|t| now.duration_since(t) >= Duration::from_millis(1500)) {
                            last_typing = Some(now);
                            publish(&state, Event::Typing { c, seeker: peer.is_seeker() }).await;
                        }
                    }
                    Ok(ClientFrame::Seen { seq }) => {
                        if seq > 0 && seq <= last {
                            publish(&state, Event::Delivered { c, seeker: peer.is_seeker(), seq }).await;
                        }
                    }
                    Err(_) => {
                        if !frame(&mut socket, serde_json::json!({"t": "error", "code": "bad-frame"})).await { break }
                    }
                }
            }
            event = room.recv() => {
                match event {
                    Ok(Event::Message { seq, .. }) => {
                        if seq > last && !catch_up!(Some(seq)) { break }
                    }
                    Ok(Event::Typing { seeker, .. }) => {
                        if seeker != peer.is_seeker()
                            && !frame(&mut socket, serde_json::json!({"t": "typing"})).await { break }
                    }
                    Ok(Event::Delivered { seeker, seq, .. }) => {
                        if seeker != peer.is_seeker()
                            && !frame(&mut socket, serde_json::json!({"t": "delivered", "seq": seq})).await { break }
                    }
                    Ok(Event::Status { .. }) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        status = status_frame(&state, &peer, c).await;
                        if let Some(s) = &status {
                            if !frame(&mut socket, s.clone()).await { break }
                        }
                        if !catch_up!() { break }
                    }
                    Ok(Event::Queue) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
            q = queue.changed(), if !queue_dirty => {
                // A waiting help-seeker's place in the queue moves as others are taken; the
                // new place is worked out on the next queue tick, from the shared snapshot.
                let waiting = status.as_ref().is_some_and(|s| s["status"] == "waiting");
                if q.is_err() {
                    break;
                }
                queue_dirty = peer.is_seeker() && waiting;
            }
            _ = queue_tick.tick(), if queue_dirty => {
                queue_dirty = false;
                let fresh = waiting_frame(&state, &peer, c).await;
                if fresh != status {
                    status = fresh;
                    if let Some(s) = &status {
                        if !frame(&mut socket, s.clone()).await { break }
                    }
                }
            }
            _ = seen_tick.tick() => {
                // Only a waiting chat is given up on when its help-seeker goes quiet.
                if peer.is_seeker() && status.as_ref().is_some_and(|s| s["status"] == "waiting") {
                    state.chat.seen(c);
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() { break }
            }
            _ = closing.changed() => {
                let _ = frame(&mut socket, serde_json::json!({"t": "reconnect"})).await;
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The help-seeker's pages.

#[derive(Template)]
#[template(path = "chat.html")]
struct ChatPage<'a> {
    c: &'a Chrome,
    /// `None`: no chat yet.
    chat: Option<ChatView>,
    now: crate::site::HelplineNow,
    areas: Vec<Area>,
    error: Option<String>,
    text: String,
    max: usize,
    version: String,
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
            writable: c.status == "waiting" || c.status == "active",
        }),
        None => None,
    };
    let (_, spans) = state.live.hours();
    let has_error = error.is_some();
    crate::site::render_form_page(
        &ChatPage {
            c: &ctx.chrome,
            chat,
            now: crate::site::helpline_now(state, &ctx.chrome),
            areas: areas::all(),
            error,
            text,
            max: state.config.helpline.max_message_chars as usize,
            version: crate::conversations::statement_version(state).await,
            hours: crate::site::hours_lines(&ctx.chrome, &spans),
        },
        has_error,
    )
}

/// `/chat`: the start form (when open), the out-of-hours offer, or the chat itself.
pub async fn page(State(state): State<Shared>, ctx: Ctx, headers: HeaderMap) -> Response {
    match seeker_chat(&state, &headers).await {
        Some((c, _)) => {
            if c.status == "waiting" {
                state.chat.seen(c.id);
            }
            chat_page(&state, &ctx, Some(&c), None, String::new()).await
        }
        None => chat_page(&state, &ctx, None, None, String::new()).await,
    }
}

/// Starts a chat: statement read, optional questions; joins the queue.
pub async fn start(State(state): State<Shared>, ctx: Ctx, fields: Fields) -> Response {
    if !state.live.open_at(state.clock.now_unix()) {
        return chat_page(&state, &ctx, None, None, String::new()).await;
    }
    if fields.get("statement") != Some("read") {
        return chat_page(
            &state,
            &ctx,
            None,
            Some(ctx.chrome.t("contact-statement-needed")),
            String::new(),
        )
        .await;
    }
    let pick = |name: &str, allowed: &[&str]| {
        fields
            .get(name)
            .filter(|v| allowed.contains(v))
            .unwrap_or_default()
            .to_string()
    };
    let who = pick("who", reachline_app::vocabulary::WHO);
    let age = pick("age", reachline_app::vocabulary::AGE_GROUPS);
    let area = fields
        .get("area")
        .filter(|a| areas::find(a).is_some())
        .unwrap_or_default()
        .to_string();
    let now = state.clock.now_unix();
    let version = crate::conversations::statement_version(&state).await;
    let id = match state
        .store
        .chat_create(&who, &age, &area, &version, &ctx.chrome.l.tag, now)
        .await
    {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, "chat not created");
            return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
        }
    };
    let conversation_key = Key::random();
    let token = Key::random();
    let context = Context::ConversationKey { conversation: id };
    let staff_wrap = state.content_key.seal(context, conversation_key.as_bytes());
    let seeker_wrap = token.seal(context, conversation_key.as_bytes());
    if let Err(e) = state
        .store
        .conversation_set_keys(id, &staff_wrap, Some(&seeker_wrap))
        .await
    {
        tracing::error!(error = %e, "chat keys not stored");
        return state.message(&ctx, StatusCode::INTERNAL_SERVER_ERROR, "server");
    }
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
    match send(&state, c.id, &key, None, &cid, &typed).await {
        Ok(_) => http::redirect("/chat#compose"),
        Err(e) => {
            let msg = e.text(&state, &ctx.chrome.l);
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
    if c.status == "waiting" || c.status == "active" {
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
    if c.status == "waiting" {
        state.chat.seen(c.id);
    }
    let you = ctx.chrome.t("contact-you");
    let them = ctx.chrome.t("contact-practitioner");
    let view = lines(&state, c.id, &key, 0)
        .await
        .into_iter()
        .map(|m| crate::conversations::MessageView {
            seq: m.seq,
            from_seeker: m.from_seeker,
            who: if m.from_seeker {
                you.clone()
            } else {
                them.clone()
            },
            when: clock_text(m.at),
            text: m.text,
        })
        .collect();
    let live = (c.status == "waiting" || c.status == "active") && !q.contains_key("still");
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
    let mut resp = crate::site::render_page(t);
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
    if foreign_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site").into_response();
    }
    let Some((c, key)) = seeker_chat(&state, &headers).await else {
        return (StatusCode::FORBIDDEN, "no chat").into_response();
    };
    let peer = Peer {
        staff: None,
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
    let _ = state
        .store
        .conversation_set_lookup(c.id, &hex::encode(derived.lookup))
        .await;
    crate::conversations::write_page_with_code(&state, &ctx, shown).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn line(seq: i64) -> Line {
        Line {
            seq,
            from_seeker: seq % 2 == 1,
            staff_name: None,
            at: 1_000 + seq,
            text: format!("message {seq}"),
        }
    }

    fn seqs(v: Option<Vec<Line>>) -> Option<Vec<i64>> {
        v.map(|v| v.iter().map(|r| r.seq).collect())
    }

    #[test]
    fn recent_messages_are_used_only_when_none_is_missing() {
        let hub = Hub::new();
        assert_eq!(
            seqs(hub.recent(7, 0, 1)),
            None,
            "nothing at hand: read the database"
        );
        assert_eq!(
            seqs(hub.recent(7, 3, 3)),
            Some(vec![]),
            "nothing newer is wanted"
        );
        // Stored together, remembered out of order.
        hub.remember(7, line(2));
        hub.remember(7, line(1));
        hub.remember(7, line(3));
        hub.remember(7, line(3));
        assert_eq!(seqs(hub.recent(7, 0, 3)), Some(vec![1, 2, 3]));
        assert_eq!(seqs(hub.recent(7, 1, 2)), Some(vec![2]));
        // 4 went through another instance: 5 alone is not enough.
        hub.remember(7, line(5));
        assert_eq!(seqs(hub.recent(7, 3, 5)), None);
        assert_eq!(seqs(hub.recent(7, 2, 3)), Some(vec![3]));
        // Another chat is separate.
        assert_eq!(seqs(hub.recent(8, 0, 1)), None);
        let first = hub.recent(7, 0, 1).unwrap();
        assert_eq!(first[0].text, "message 1");
        assert!(first[0].from_seeker);
    }

    #[test]
    fn recent_messages_are_bounded_and_go_with_the_room() {
        let hub = Hub::new();
        for seq in 1..=100 {
            hub.remember(3, line(seq));
        }
        let kept = RECENT_PER_CHAT as i64;
        assert_eq!(seqs(hub.recent(3, 0, 100)), None, "the oldest were let go");
        assert_eq!(
            seqs(hub.recent(3, 100 - kept, 100)).map(|v| v.len()),
            Some(RECENT_PER_CHAT)
        );
        // A room with a socket keeps its messages; one without loses them.
        let _listener = hub.room(4);
        hub.remember(4, line(1));
        hub.tidy();
        assert_eq!(seqs(hub.recent(4, 0, 1)), Some(vec![1]));
        assert_eq!(seqs(hub.recent(3, 99, 100)), None);
    }
}
