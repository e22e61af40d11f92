//! The chat hub: events to rooms on this instance and, through PostgreSQL NOTIFY, on the
//! others; the latest messages of each room with a socket; the queue as one snapshot.

use reachline_app::chat::Line;
use reachline_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// A waiting help-seeker not seen for this long (page closed) has left the queue.
pub const GONE_AFTER_SECONDS: i64 = 120;
/// A chat started but never opened (no page, no socket) for this long is dropped.
pub const UNOPENED_AFTER_SECONDS: i64 = 60;

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

/// One event as an earlier release sends it to other instances (still understood).
#[derive(Serialize, Deserialize)]
struct Wire {
    i: String,
    e: Event,
}

/// Events of one instance, in the order they happened, in one NOTIFY.
#[derive(Serialize, Deserialize)]
struct WireBatch {
    i: String,
    es: Vec<Event>,
}

/// Events in one NOTIFY at most: the longest event is under 90 bytes as JSON, so a batch
/// stays well under PostgreSQL's 8,000-byte payload limit.
const EVENTS_PER_NOTIFY: usize = 64;

/// Events waiting to be passed on to other instances at most; beyond it (the database
/// unreachable for a while) new ones are dropped and counted.
const OUTBOX_MAX: usize = 100_000;

/// The payloads that pass `events` on to other instances.
fn wire_payloads(instance: &str, events: &[Event]) -> Vec<String> {
    events
        .chunks(EVENTS_PER_NOTIFY)
        // Serialising these plain structs cannot fail; no audit entry or store write is
        // involved, and a lost event only delays another instance's sockets until they re-read.
        .filter_map(|es| {
            serde_json::to_string(&WireBatch {
                i: instance.to_string(),
                es: es.to_vec(),
            })
            .ok()
        })
        .collect()
}

/// The instance and events a payload carries, in either form.
fn read_payload(payload: &str) -> Option<(String, Vec<Event>)> {
    if let Ok(b) = serde_json::from_str::<WireBatch>(payload) {
        return Some((b.i, b.es));
    }
    serde_json::from_str::<Wire>(payload)
        .ok()
        .map(|w| (w.i, vec![w.e]))
}

/// Fans chat events out to the sockets of this instance and to other instances.
pub struct Hub {
    instance: String,
    rooms: Mutex<HashMap<i64, broadcast::Sender<Event>>>,
    /// Bumped whenever the queue may have changed. A watch keeps only the latest, so a
    /// waiting socket that was busy sees one change, not a backlog of them.
    pub(crate) queue: watch::Sender<u64>,
    pub(crate) closing: watch::Sender<bool>,
    /// Waiting chats whose help-seeker was seen since the last flush.
    seen: Mutex<std::collections::HashSet<i64>>,
    /// The last few messages of each chat with a socket here, as sent through this instance,
    /// so that delivering one does not make every socket in the room read it back from the
    /// database. Dropped with the room (see [`Hub::tidy`]); never written anywhere.
    recent: Mutex<HashMap<i64, std::collections::VecDeque<Line>>>,
    /// The queue as last read, shared by every waiting socket (see [`queue_snapshot`]).
    snapshot: tokio::sync::Mutex<Option<Arc<QueueSnapshot>>>,
    /// Events for other instances, passed on in batches by [`Hub::relay`] (PostgreSQL only):
    /// one NOTIFY for many events instead of one each.
    outbox: Mutex<Vec<Event>>,
    outbox_ready: tokio::sync::Notify,
    /// Events dropped because the outbox was full, not yet reported.
    outbox_dropped: std::sync::atomic::AtomicU64,
}

/// The queue order and the practitioners available, read once for all waiting sockets.
pub struct QueueSnapshot {
    /// How many chats are ahead of each waiting chat.
    pub ahead: HashMap<i64, i64>,
    /// Practitioners available for chats.
    pub available: i64,
    /// Chats the available practitioners can still take (each up to the per-practitioner
    /// limit): the first `free` in the queue will be taken shortly.
    pub free: i64,
    pub(crate) at: Instant,
}

impl QueueSnapshot {
    /// The expected wait in minutes of someone with `ahead` chats before them: `None` when
    /// a practitioner has room for them now (they will be taken shortly). Otherwise those
    /// ahead beyond the free places are answered, at `minutes_per_chat` each, by the
    /// available practitioners (at least one).
    pub fn expected_wait(&self, ahead: i64, minutes_per_chat: i64) -> Option<i64> {
        if ahead < self.free {
            return None;
        }
        let available = self.available.max(1);
        let before_me = ahead + 1 - self.free;
        Some(((before_me * minutes_per_chat + available - 1) / available).max(1))
    }
}

/// How many of a chat's latest messages [`Hub`] keeps for delivery.
const RECENT_PER_CHAT: usize = 32;

/// How long one reading of the queue serves every socket that asks.
pub(crate) const SNAPSHOT_FOR: Duration = Duration::from_secs(2);

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
            seen: Mutex::new(std::collections::HashSet::new()),
            recent: Mutex::new(HashMap::new()),
            snapshot: tokio::sync::Mutex::new(None),
            outbox: Mutex::new(Vec::new()),
            outbox_ready: tokio::sync::Notify::new(),
            outbox_dropped: std::sync::atomic::AtomicU64::new(0),
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

    pub(crate) fn room(&self, c: i64) -> broadcast::Receiver<Event> {
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
                    // Fails only when no socket listens in this room any more: nobody to tell.
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
    pub(crate) fn remember(&self, c: i64, m: Line) {
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
    pub(crate) fn recent(&self, c: i64, after: i64, upto: i64) -> Option<Vec<Line>> {
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
    }

    /// Sockets open on this instance (for metrics and tests).
    pub fn listeners(&self) -> usize {
        let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.values().map(|tx| tx.receiver_count()).sum()
    }

    /// Tells every socket on this instance to reconnect (shutdown), and closes them.
    pub fn close_all(&self) {
        // Fails only when no socket is open: nothing to close.
        let _ = self.closing.send(true);
    }
}

impl Hub {
    /// Publishes an event here and, on PostgreSQL, to other instances: the event joins the
    /// outbox that [`Hub::relay`] passes on.
    pub async fn publish(&self, store: &Store, e: Event) {
        self.deliver(e);
        if store.backend() == reachline_store::Backend::Postgres {
            {
                let mut outbox = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
                if outbox.len() < OUTBOX_MAX {
                    outbox.push(e);
                } else {
                    self.outbox_dropped
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            self.outbox_ready.notify_one();
        }
    }

    /// Passes this instance's events on to the others and theirs to this one's sockets
    /// (PostgreSQL only; returns at once on SQLite). Runs until the task is aborted;
    /// reconnects after errors.
    pub async fn relay(&self, store: &Store) {
        if store.backend() != reachline_store::Backend::Postgres {
            return;
        }
        tokio::join!(self.pass_on(store), self.listen(store));
    }

    /// Sends what gathered in the outbox, a batch to a NOTIFY, whenever something did: while
    /// one NOTIFY is under way the next events gather for the one after it.
    async fn pass_on(&self, store: &Store) {
        loop {
            self.outbox_ready.notified().await;
            let events =
                std::mem::take(&mut *self.outbox.lock().unwrap_or_else(|e| e.into_inner()));
            let dropped = self
                .outbox_dropped
                .swap(0, std::sync::atomic::Ordering::Relaxed);
            if dropped > 0 {
                tracing::warn!(
                    dropped,
                    "chat events were not passed on to other instances: too many were waiting"
                );
            }
            for payload in wire_payloads(&self.instance, &events) {
                if let Err(err) = store.chat_notify(&payload).await {
                    tracing::warn!(error = %err, "could not tell other instances about chat events");
                }
            }
        }
    }

    /// Delivers other instances' events to this one's sockets.
    async fn listen(&self, store: &Store) {
        loop {
            let mut listener = match store.chat_listener().await {
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
                        if let Some((instance, events)) = read_payload(&payload) {
                            if instance != self.instance {
                                for e in events {
                                    self.deliver(e);
                                }
                            }
                        }
                    }
                    Ok(None) => {
                        // The connection dropped and came back: events may have been missed,
                        // so every socket here re-reads its chat.
                        let ids: Vec<i64> = {
                            let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
                            rooms.keys().copied().collect()
                        };
                        for c in ids {
                            self.deliver(Event::Status { c });
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

    /// The queue, read at most once every two seconds however many sockets ask.
    pub async fn queue_snapshot(&self, store: &Store, per_practitioner: i64) -> Arc<QueueSnapshot> {
        let mut slot = self.snapshot.lock().await;
        if let Some(s) = slot.as_ref() {
            if s.at.elapsed() < SNAPSHOT_FOR {
                return s.clone();
            }
        }
        let read = async {
            let queue = store.chat_queue().await?;
            let staff = store.staff_availability().await?;
            Ok::<_, reachline_store::StoreError>((queue, staff))
        };
        let (queue, staff) = match read.await {
            Ok(read) => read,
            Err(e) => {
                // Waiting help-seekers keep the last reading (a place, a wait) rather than being
                // told the queue is empty; the next ask tries again.
                tracing::warn!(error = %e, "could not read the chat queue; keeping the last reading");
                if let Some(s) = slot.as_ref() {
                    return s.clone();
                }
                (Vec::new(), Vec::new())
            }
        };
        let ahead = queue.into_iter().zip(0..).map(|(c, i)| (c.id, i)).collect();
        let available = staff.iter().filter(|s| s.available).count() as i64;
        let free = staff
            .iter()
            .filter(|s| s.available)
            .map(|s| (per_practitioner - s.active_chats).max(0))
            .sum();
        let fresh = Arc::new(QueueSnapshot {
            ahead,
            available,
            free,
            at: Instant::now(),
        });
        *slot = Some(fresh.clone());
        fresh
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_wait_counts_free_places_and_available_practitioners() {
        let snap = |available, free| QueueSnapshot {
            ahead: HashMap::new(),
            available,
            free,
            at: Instant::now(),
        };
        // Two practitioners with room for three more chats: the first three are taken now.
        let s = snap(2, 3);
        assert_eq!(s.expected_wait(0, 10), None);
        assert_eq!(s.expected_wait(2, 10), None);
        assert_eq!(
            s.expected_wait(3, 10),
            Some(5),
            "one ahead of the free places, two answering"
        );
        assert_eq!(s.expected_wait(6, 10), Some(20));
        // Nobody available: counted as one practitioner, never zero minutes.
        assert_eq!(snap(0, 0).expected_wait(0, 10), Some(10));
        assert_eq!(snap(0, 0).expected_wait(0, 0), Some(1));
    }

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
    fn events_pass_between_instances_in_batches_under_the_notify_limit() {
        // The longest events there are.
        let events: Vec<Event> = (0..1000)
            .map(|n| Event::Delivered {
                c: i64::MIN + n,
                seeker: false,
                seq: i64::MIN,
            })
            .collect();
        let payloads = wire_payloads("0123456789abcdef", &events);
        assert_eq!(payloads.len(), 1000_usize.div_ceil(EVENTS_PER_NOTIFY));
        let mut back = Vec::new();
        for p in &payloads {
            assert!(p.len() < 8000, "{} bytes", p.len());
            let (instance, es) = read_payload(p).unwrap();
            assert_eq!(instance, "0123456789abcdef");
            back.extend(es);
        }
        assert_eq!(back, events, "every event, in order");
        // What an earlier release sends is still understood.
        let single = serde_json::to_string(&Wire {
            i: "fedcba9876543210".into(),
            e: Event::Message { c: 4, seq: 9 },
        })
        .unwrap();
        assert_eq!(
            read_payload(&single),
            Some((
                "fedcba9876543210".into(),
                vec![Event::Message { c: 4, seq: 9 }]
            ))
        );
        assert_eq!(read_payload("{\"i\":\"x\"}"), None);
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
