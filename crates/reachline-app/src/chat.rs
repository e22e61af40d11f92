//! Live chat: sending (either side: length, flood limit, sealed with the chat's key, stored
//! once per client id), reading a chat's messages, the help-seeker's chat from their key;
//! the practitioner's availability, take, transfer and end, each committed with its audit
//! entry and tried again when PostgreSQL breaks a deadlock. Telling the sockets is the web's
//! (it holds them).

use crate::accounts::Actor;
use crate::{App, Error};
use reachline_core::keys::Key;
use reachline_core::sealing::Context;
use reachline_core::vocabulary::{Channel, Sender};
use reachline_store::{Appended, ConversationRow, StoreError, Take, Tx};

/// Messages a sender may send in a burst, and how many a second after it.
pub const FLOOD_BURST: u64 = 6;
pub const FLOOD_PER_SECOND: u64 = 1;

/// One chat message, opened, as a socket frame or a page row shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub seq: i64,
    pub from_seeker: bool,
    pub staff_name: Option<String>,
    pub at: i64,
    pub text: String,
}

/// Why a chat message was not stored (what the sender is told).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    Empty,
    TooLong,
    /// More messages than the flood limit allows.
    Flood,
    /// The chat is not open for this sender.
    Closed,
    /// The store failed; nothing was stored.
    Server,
}

impl SendError {
    /// The message id that says so.
    pub fn code(&self) -> &'static str {
        match self {
            SendError::Empty => "message-empty",
            SendError::TooLong => "message-too-long",
            SendError::Flood => "chat-flood",
            SendError::Closed => "chat-closed",
            SendError::Server => "chat-server",
        }
    }
}

/// A message stored by [`App::chat_send`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Stored now: the line as it was stored (to hand to the sockets).
    New(Line),
    /// Stored before under the same client id (a re-send after a lost acknowledgement).
    Again(i64),
}

/// Who is sending: the help-seeker, or a practitioner (id, name).
#[derive(Debug, Clone, Copy)]
pub enum ChatSender<'a> {
    Seeker,
    Staff(Actor<'a>),
}

/// Which change to a chat.
enum Change {
    Take,
    Transfer { to: i64 },
    End,
}

impl App {
    /// The help-seeker's chat from the id and key their cookie holds, with the chat's own
    /// key. `None` for anything that is not a chat this key opens.
    pub async fn seeker_chat(
        &self,
        id: i64,
        seeker_key: &Key,
    ) -> Result<Option<(ConversationRow, Key)>, Error> {
        self.seeker_conversation(id, seeker_key, Channel::Chat)
            .await
    }

    /// Validates and stores one chat message from either side: trimmed, not empty, not
    /// longer than the limit, within the flood limit of this side of this chat, sealed with
    /// the chat's key, stored once per `client_id` and acknowledged only after commit.
    pub async fn chat_send(
        &self,
        c: i64,
        key: &Key,
        sender: ChatSender<'_>,
        client_id: &str,
        text: &str,
    ) -> Result<Sent, SendError> {
        let text = match crate::messages::message_body(
            text,
            self.config.helpline.max_message_chars as usize,
        ) {
            Ok(t) => t,
            Err(crate::messages::BodyError::Empty) => return Err(SendError::Empty),
            Err(crate::messages::BodyError::TooLong) => return Err(SendError::TooLong),
        };
        let text = text.as_str();
        let staff = match sender {
            ChatSender::Seeker => None,
            ChatSender::Staff(a) => Some(a),
        };
        if self.chat_flood.check(&(c, staff.is_none())).is_err() {
            return Err(SendError::Flood);
        }
        let (seal_key, plain) = (key.clone(), text.to_string());
        let sealed = move |seq: i64| {
            seal_key.seal(
                Context::MessageBody {
                    conversation: c,
                    seq,
                },
                plain.as_bytes(),
            )
        };
        let now = self.clock.now_unix();
        match self
            .store
            .chat_append(c, staff.map(|a| a.id), client_id, sealed, now)
            .await
        {
            Ok(Appended::New(seq)) => Ok(Sent::New(Line {
                seq,
                from_seeker: staff.is_none(),
                staff_name: staff.map(|a| a.username.to_string()),
                at: now,
                text: text.to_string(),
            })),
            Ok(Appended::Again(seq)) => Ok(Sent::Again(seq)),
            Ok(Appended::Closed) => Err(SendError::Closed),
            Err(e) => {
                tracing::error!(error = %e, "chat message not stored");
                Err(SendError::Server)
            }
        }
    }

    /// A conversation's messages (a chat or a thread) after `after`, opened. A message that
    /// does not open with the conversation's key (damaged data) is logged and comes with an
    /// empty text, so the others still show.
    pub async fn conversation_lines(
        &self,
        c: i64,
        key: &Key,
        after: i64,
    ) -> Result<Vec<Line>, Error> {
        Ok(self
            .store
            .messages(c, after)
            .await?
            .into_iter()
            .map(|m| Line {
                seq: m.seq,
                from_seeker: m.sender == Sender::Seeker,
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
                    .unwrap_or_else(|e| {
                        tracing::error!(error = %e, chat = c, seq = m.seq, "a chat message does not open");
                        String::new()
                    }),
            })
            .collect())
    }

    /// Forgets flood allowances that are full again (housekeeping).
    pub fn chat_tidy(&self) {
        self.chat_flood.tidy();
    }

    /// Sets whether this practitioner takes chats.
    pub async fn set_available(&self, actor: Actor<'_>, available: bool) -> Result<(), Error> {
        let action = if available {
            "chat.available"
        } else {
            "chat.away"
        };
        let mut tx = self.store.begin().await?;
        tx.staff_set_available(actor.id, available).await?;
        self.commit_audited(tx, actor.username, action, "", "")
            .await?;
        Ok(())
    }

    /// Takes a waiting chat, unless this practitioner already holds the most they may.
    pub async fn chat_take(&self, actor: Actor<'_>, id: i64) -> Result<Take, Error> {
        self.chat_change(actor, id, Change::Take).await
    }

    /// Hands an active chat to a colleague who has room for it.
    pub async fn chat_transfer(&self, actor: Actor<'_>, id: i64, to: i64) -> Result<Take, Error> {
        self.chat_change(actor, id, Change::Transfer { to }).await
    }

    /// Ends a chat this practitioner holds; `Take::Gone` if it had ended already.
    pub async fn chat_end(&self, actor: Actor<'_>, id: i64) -> Result<Take, Error> {
        self.chat_change(actor, id, Change::End).await
    }

    async fn chat_change(&self, actor: Actor<'_>, id: i64, change: Change) -> Result<Take, Error> {
        for _ in 0..5 {
            match self.chat_change_once(actor, id, &change).await {
                Err(e) if e.is_deadlock() => continue,
                other => return Ok(other?),
            }
        }
        Err(Error::Store(StoreError::Conflict))
    }

    async fn chat_change_once(
        &self,
        actor: Actor<'_>,
        id: i64,
        change: &Change,
    ) -> Result<Take, StoreError> {
        let limit = self.config.helpline.chat_max_per_practitioner as i64;
        let now = self.clock.now_unix();
        let mut tx: Tx = self.store.begin().await?;
        let (take, action, detail) = match change {
            Change::Take => (
                tx.chat_take(id, actor.id, limit, now).await?,
                "chat.take",
                String::new(),
            ),
            Change::Transfer { to } => (
                tx.chat_transfer(id, actor.id, *to, limit).await?,
                "chat.transfer",
                format!("staff:{to}"),
            ),
            Change::End => {
                let ended = tx.chat_end(id, "ended-by-practitioner", now).await?;
                let take = if ended.is_some() {
                    Take::Taken
                } else {
                    Take::Gone
                };
                (take, "chat.end", String::new())
            }
        };
        if take == Take::Taken {
            self.commit_audited(
                tx,
                actor.username,
                action,
                &format!("conversation:{id}"),
                &detail,
            )
            .await?;
        }
        Ok(take)
    }
}
