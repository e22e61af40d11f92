//! Secure messages. The help-seeker's side: find their thread from a return code (guessing
//! is throttled, the derivation bounded), open it with the key from their cookie, reply.
//! The practitioner's side: claim a thread, reply (sealed with the conversation's key),
//! close it with its wrap-up (which becomes the contact record). Live chats are wrapped up
//! the same way. Each practitioner's change commits with its audit entry.

use crate::accounts::Actor;
use crate::workbook::WorkbookError;
use crate::{App, Error};
use reachline_core::keys::Key;
use reachline_core::return_code::ReturnCode;
use reachline_core::sealing::Context;
use reachline_core::vocabulary::{Channel, Sender};
use reachline_store::{ConversationRow, StoreError, WrapUp};

/// Why a message body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    Empty,
    TooLong,
}

impl BodyError {
    /// The message id that says so (`contact-` + it, with `max`).
    pub fn code(self) -> &'static str {
        match self {
            BodyError::Empty => "message-empty",
            BodyError::TooLong => "message-too-long",
        }
    }
}

/// A message body as stored, from either side and any channel: line endings made `\n`,
/// trimmed, not empty, at most `max` characters.
pub fn message_body(text: &str, max: usize) -> Result<String, BodyError> {
    let text = text.replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        Err(BodyError::Empty)
    } else if text.chars().count() > max {
        Err(BodyError::TooLong)
    } else {
        Ok(text.to_string())
    }
}

impl App {
    /// The help-seeker's thread from a return code: the newest thread that the code's key
    /// opens, with that key (for their cookie). A code with no thread spends from the
    /// failed-code budget, as a wrong code does in self-help.
    pub async fn seeker_find_thread(
        &self,
        code: ReturnCode,
    ) -> Result<Option<(i64, Key)>, WorkbookError> {
        let pepper = &self.workbooks.pepper;
        self.workbooks.guard.check(&code, pepper)?;
        let attempt = code.attempt_key(pepper);
        if !self
            .store
            .code_may_open(&code.hint(pepper), self.clock.now_unix())
            .await
            .map_err(WorkbookError::Store)?
        {
            self.workbooks.guard.failed(&code, pepper);
            return Ok(None);
        }
        let derived = self
            .workbooks
            .guard
            .derive(code, self.workbooks.pepper.clone())
            .await?;
        let threads = self
            .store
            .conversations_by_lookup(&hex::encode(derived.lookup))
            .await
            .map_err(WorkbookError::Store)?;
        for c in threads {
            if c.channel != Channel::Message {
                continue;
            }
            if let Some(wrapped) = c.key_seeker.as_deref() {
                if derived
                    .key
                    .open(Context::ConversationKey { conversation: c.id }, wrapped)
                    .is_ok()
                {
                    return Ok(Some((c.id, derived.key)));
                }
            }
        }
        self.workbooks.guard.failures_for(&attempt);
        Ok(None)
    }

    /// The help-seeker's thread and its key, from the id and key their cookie holds.
    /// `None` for anything that is not a thread this key opens.
    pub async fn seeker_thread(
        &self,
        id: i64,
        seeker_key: &Key,
    ) -> Result<Option<(ConversationRow, Key)>, Error> {
        self.seeker_conversation(id, seeker_key, Channel::Message)
            .await
    }

    /// A conversation of this channel and its own key, opened with the key the help-seeker
    /// holds (their cookie's, or the one derived from their code). `None` for anything else:
    /// another channel, a purged conversation, a key that does not open it.
    pub(crate) async fn seeker_conversation(
        &self,
        id: i64,
        seeker_key: &Key,
        channel: Channel,
    ) -> Result<Option<(ConversationRow, Key)>, Error> {
        let Some(c) = self.store.conversation_get(id).await? else {
            return Ok(None);
        };
        if c.channel != channel {
            return Ok(None);
        }
        let Some(wrapped) = c.key_seeker.as_deref() else {
            return Ok(None);
        };
        let Ok(raw) = seeker_key.open(Context::ConversationKey { conversation: id }, wrapped)
        else {
            return Ok(None);
        };
        Ok(Key::from_slice(&raw).map(|k| (c, k)))
    }

    /// The help-seeker writes in their thread (reopening it if it was closed but not yet
    /// purged). `Ok(None)` when the thread's content is gone (past retention): they start
    /// a new one.
    pub async fn seeker_reply(
        &self,
        c: &ConversationRow,
        key: &Key,
        text: &str,
    ) -> Result<Option<i64>, Error> {
        let text = message_body(text, self.config.helpline.max_message_chars as usize)
            .map_err(|e| Error::Invalid(e.code()))?;
        if c.closed_at.is_some() && c.key_staff.is_none() {
            return Ok(None);
        }
        let id = c.id;
        let sealed = |seq: i64| {
            key.seal(
                Context::MessageBody {
                    conversation: id,
                    seq,
                },
                text.as_bytes(),
            )
        };
        let seq = self
            .store
            .message_append(id, Sender::Seeker, None, sealed, self.clock.now_unix())
            .await?;
        Ok(Some(seq))
    }

    /// The conversation key as staff open it (any channel); `None` once the content has
    /// been purged.
    pub fn staff_conversation_key(&self, c: &ConversationRow) -> Option<Key> {
        let raw = self
            .content_key
            .open(
                Context::ConversationKey { conversation: c.id },
                c.key_staff.as_deref()?,
            )
            .ok()?;
        Key::from_slice(&raw)
    }

    /// A thread or chat as a practitioner opens it (audited).
    ///
    /// Only the practitioner it is assigned to may open a chat or a claimed thread; a thread
    /// nobody holds is open to any practitioner (to claim it). A supervisor may open any,
    /// and that view is recorded as supervision (`conversation.supervise`). Anyone else is
    /// refused, and the refusal is recorded.
    pub async fn conversation_view(
        &self,
        actor: Actor<'_>,
        supervisor: bool,
        id: i64,
    ) -> Result<ConversationRow, Error> {
        let c = self
            .store
            .conversation_get(id)
            .await?
            .ok_or(Error::NotFound)?;
        let object = format!("conversation:{id}");
        let assigned = c.claimed_by == Some(actor.id);
        let open_to_claim = c.channel == Channel::Message && c.claimed_by.is_none();
        let action = if assigned || open_to_claim {
            "conversation.view"
        } else if supervisor {
            "conversation.supervise"
        } else {
            self.audit(
                actor.username,
                "conversation.view.refused",
                &object,
                "not assigned",
            )
            .await?;
            return Err(Error::Forbidden("not-assigned"));
        };
        self.audit(actor.username, action, &object, "").await?;
        Ok(c)
    }

    /// Claims a thread nobody holds; `Invalid("console-thread-taken")` if someone does.
    pub async fn thread_claim(&self, actor: Actor<'_>, id: i64) -> Result<(), Error> {
        if self.claim_audited(actor, id).await? {
            Ok(())
        } else {
            Err(Error::Invalid("console-thread-taken"))
        }
    }

    async fn claim_audited(&self, actor: Actor<'_>, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.store.begin().await?;
        if !tx.conversation_claim(id, actor.id).await? {
            return Ok(false);
        }
        self.commit_audited(
            tx,
            actor.username,
            "conversation.claim",
            &format!("conversation:{id}"),
            "",
        )
        .await?;
        Ok(true)
    }

    /// The conversation if this practitioner may write in it, claiming it first if nobody
    /// holds it. Refusals name why: `console-thread-gone`, `-closed` or `-taken`.
    pub async fn thread_writable(
        &self,
        actor: Actor<'_>,
        id: i64,
    ) -> Result<ConversationRow, Error> {
        let gone = Error::Invalid("console-thread-gone");
        let c = self.store.conversation_get(id).await?.ok_or(gone)?;
        if !c.status.not_closed() {
            return Err(Error::Invalid("console-thread-closed"));
        }
        if c.claimed_by.is_none() && self.claim_audited(actor, id).await? {
            return self
                .store
                .conversation_get(id)
                .await?
                .ok_or(Error::Invalid("console-thread-gone"));
        }
        if c.claimed_by != Some(actor.id) {
            return Err(Error::Invalid("console-thread-taken"));
        }
        Ok(c)
    }

    /// A practitioner's reply in a secure-message thread, sealed with the thread's key for
    /// its sequence number. Returns the sequence number.
    pub async fn thread_reply(
        &self,
        actor: Actor<'_>,
        c: &ConversationRow,
        text: &str,
    ) -> Result<i64, Error> {
        let key = self
            .staff_conversation_key(c)
            .ok_or(Error::Invalid("console-thread-gone"))?;
        let id = c.id;
        let sealed = |seq: i64| {
            key.seal(
                Context::MessageBody {
                    conversation: id,
                    seq,
                },
                text.as_bytes(),
            )
        };
        let mut tx = self.store.begin().await?;
        let seq = tx
            .message_append(
                id,
                Sender::Staff,
                Some(actor.id),
                sealed,
                self.clock.now_unix(),
            )
            .await?;
        self.commit_audited(
            tx,
            actor.username,
            "conversation.reply",
            &format!("conversation:{id}"),
            &format!("message {seq}"),
        )
        .await?;
        Ok(seq)
    }

    /// Closes a thread (or an ended chat) with its wrap-up, which becomes the contact record.
    /// Returns the contact's id; `Invalid("console-thread-closed")` if it was closed already.
    pub async fn thread_close(
        &self,
        actor: Actor<'_>,
        id: i64,
        wrap: &WrapUp,
    ) -> Result<i64, Error> {
        let mut tx = self.store.begin().await?;
        let Some(contact) = tx
            .conversation_close(id, actor.id, wrap, self.clock.now_unix())
            .await?
        else {
            return Err(Error::Invalid("console-thread-closed"));
        };
        self.commit_audited(
            tx,
            actor.username,
            "conversation.close",
            &format!("conversation:{id}"),
            &format!("contact:{contact}"),
        )
        .await?;
        Ok(contact)
    }
}
