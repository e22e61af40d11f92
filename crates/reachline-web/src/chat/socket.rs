//! The socket both sides share: acknowledgement after commit, resume after a sequence
//! number, typing and delivery state, flood limits, text only.

use super::*;
use reachline_app::accounts::Actor;
use reachline_core::vocabulary::ConversationStatus;

/// Who is on this end of a socket.
#[derive(Clone)]
pub struct Peer {
    /// `None` for the help-seeker.
    pub staff: Option<(i64, String)>,
    /// The practitioner's session (its hash), re-checked while the socket is open.
    pub session: Option<String>,
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
    // what bounds how many people can wait at once (bench/chat.sh measures it). The read
    // buffer is zero-filled to its size on the first read and grows to fit a longer frame.
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(512)
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
        let text = match row.status {
            ConversationStatus::Active => peer.locale.text(
                "console-chat-status-active",
                &[(
                    "name",
                    FluentValue::from(row.claimed_by_name.clone().unwrap_or_default()),
                )],
            ),
            ConversationStatus::Waiting => peer.locale.text("console-chat-status-waiting", &[]),
            ConversationStatus::Missed => peer.locale.text("console-chat-status-missed", &[]),
            _ => peer.locale.text("console-chat-status-ended", &[]),
        };
        StatusView {
            status: row.status.to_string(),
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
            waiting_view(state, &peer.locale, *ahead, &snap),
            true,
        )),
        None => status_frame(state, peer, c).await,
    }
}

/// How often a practitioner's socket re-checks that it may still act (it also checks,
/// reading afresh, before each message it sends): sign-out, expiry, a disabled account, a
/// role change or a transfer close it within this long and the age of the session's shared
/// reading (`sessions::SOCKET_ACCESS_FRESH`).
const ACCESS_EVERY: Duration = Duration::from_secs(1);

/// Why a practitioner's socket may no longer act, if it may not. A store failure closes the
/// socket too (fails closed); the client's reconnect is checked afresh.
async fn revoked(state: &AppState, peer: &Peer, c: i64, fresh: bool) -> Option<&'static str> {
    let ((id, _), Some(session)) = (peer.staff.as_ref()?, peer.session.as_deref()) else {
        return Some("signed-out");
    };
    match state.chat_socket_revoked(session, *id, c, fresh).await {
        Ok(None) => None,
        Ok(Some(why)) => Some(why.code()),
        Err(e) => {
            tracing::warn!(error = %e, "could not re-check a practitioner's socket; closing it");
            Some("server")
        }
    }
}

/// Tells the practitioner why their socket closes, and closes it.
async fn close_revoked(socket: &mut WebSocket, peer: &Peer, why: &'static str) {
    let text = peer.locale.text(&format!("chat-revoked-{why}"), &[]);
    // The socket is closed either way: a peer that has already gone misses only the reason,
    // and nothing more is read from it.
    let _ = frame(
        socket,
        serde_json::json!({"t": "revoked", "code": why, "text": text}),
    )
    .await;
    let _ = socket
        .send(Message::Close(Some(axum::extract::ws::CloseFrame {
            code: 4001,
            reason: why.into(),
        })))
        .await;
}

/// One socket's life. The awaits that reach the database are boxed: this future is held for
/// as long as the socket is open, mostly idle, and inline they would make it as large as
/// the largest of them (3.6 KiB a socket; 2.0 KiB with them boxed, and each box lives only
/// while its call runs).
async fn run(state: Shared, mut socket: WebSocket, c: i64, key: Key, peer: Peer, after: i64) {
    let mut room = state.chat.room(c);
    let mut queue = state.chat.queue.subscribe();
    let mut closing = state.chat.closing.subscribe();
    let mut last = after.max(0);
    let mut last_typing: Option<Instant> = None;
    let mut seen_upto = 0i64;
    // Anything from the client (a frame, a pong) shows it is still there.
    let mut last_heard = Instant::now();
    // Each socket's keep-alive at its own moment, so thousands opened together do not all
    // ping at once.
    let offset = SEEN_EVERY.mul_f64(rand::Rng::gen_range(&mut rand::thread_rng(), 0.5..1.5));
    let mut seen_tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, SEEN_EVERY);
    let mut queue_dirty = false;
    let mut access_tick = tokio::time::interval(ACCESS_EVERY);
    access_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut queue_tick = tokio::time::interval(SNAPSHOT_FOR);
    queue_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let you = peer.locale.text("contact-you", &[]);
    // Times in the helpline's zone (as the settings were when the socket opened).
    let zone = state.live.zone();
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
                None => match Box::pin(lines(&state, c, &key, last)).await {
                    Ok(batch) => batch,
                    // Nothing is sent and `last` stays where it was, so the next catch-up
                    // (the next event, or the client's reconnect) asks again.
                    Err(e) => {
                        tracing::warn!(error = %e, "chat catch-up could not read messages; will retry");
                        Vec::new()
                    }
                },
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
                        "at": zone.clock(m.at), "text": m.text,
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
    let mut status = Box::pin(status_frame(&state, &peer, c)).await;
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
                last_heard = Instant::now();
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
                        if !peer.is_seeker() {
                            if let Some(why) = Box::pin(revoked(&state, &peer, c, true)).await {
                                close_revoked(&mut socket, &peer, why).await;
                                break;
                            }
                        }
                        let sender = match peer.staff.as_ref() {
                            Some((id, name)) => ChatSender::Staff(Actor { id: *id, username: name }),
                            None => ChatSender::Seeker,
                        };
                        let sent = Box::pin(send(&state, c, &key, sender, &cid, &text)).await;
                        let reply = match &sent {
                            // The time it was stored, for the sender's own line.
                            Ok(seq) => serde_json::json!({"t": "ack", "cid": cid, "seq": seq, "at": zone.clock(state.clock.now_unix())}),
                            Err(e) => serde_json::json!({
                                "t": "error", "cid": cid, "code": e.code(), "text": send_error_text(*e, &state, &peer.locale),
                            }),
                        };
                        if !frame(&mut socket, reply).await { break }
                        if !catch_up!(sent.ok()) { break }
                    }
                    Ok(ClientFrame::Typing) => {
                        let now = Instant::now();
                        if last_typing.is_none_or(|t| now.duration_since(t) >= Duration::from_millis(1500)) {
                            last_typing = Some(now);
                            Box::pin(publish(&state, Event::Typing { c, seeker: peer.is_seeker() })).await;
                        }
                    }
                    Ok(ClientFrame::Seen { seq }) => {
                        // Only a frame that moves "seen" forward is passed on: repeats and
                        // older numbers cost nothing, so a client cannot flood the room.
                        if seq > seen_upto && seq <= last {
                            seen_upto = seq;
                            Box::pin(publish(&state, Event::Delivered { c, seeker: peer.is_seeker(), seq })).await;
                            // The practitioner's list of chats marks what they have not read.
                            if let Some((staff_id, _)) = peer.staff.as_ref() {
                                if let Err(e) = Box::pin(state.store.chat_staff_read(c, *staff_id, seq)).await {
                                    tracing::warn!(error = %e, "could not note a chat as read; its unread count stays");
                                }
                            }
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
                        status = Box::pin(status_frame(&state, &peer, c)).await;
                        // Read from the chat's own row: a queue snapshot taken before the
                        // take must not turn it back into "waiting" on the next tick.
                        queue_dirty &= status.as_ref().is_some_and(|s| s["status"] == "waiting");
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
                if !status.as_ref().is_some_and(|s| s["status"] == "waiting") {
                    continue;
                }
                let fresh = Box::pin(waiting_frame(&state, &peer, c)).await;
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
                // A peer that answered no ping for three rounds is gone (a dead connection
                // that never closed): its socket is closed.
                if last_heard.elapsed() > SEEN_EVERY * 3 { break }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() { break }
            }
            _ = access_tick.tick(), if !peer.is_seeker() => {
                if let Some(why) = Box::pin(revoked(&state, &peer, c, false)).await {
                    close_revoked(&mut socket, &peer, why).await;
                    break;
                }
            }
            _ = closing.changed() => {
                let _ = frame(&mut socket, serde_json::json!({"t": "reconnect"})).await;
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
        }
    }
}
