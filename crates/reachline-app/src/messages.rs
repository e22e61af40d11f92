//! Secure messages, the practitioner's side: claim a thread, reply (sealed with the
//! conversation's key), close it with its wrap-up (which becomes the contact record). Live
//! chats are wrapped up the same way. Each change commits with its audit entry.

use crate::accounts::Actor;
use crate::{App, Error};
use reachline_core::keys::Key;
use reachline_core::sealing::Context;
use reachline_core::vocabulary::Sender;
use reachline_store::{ConversationRow, StoreError, WrapUp};

impl App {
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
    pub async fn conversation_view(
        &self,
        actor: Actor<'_>,
        id: i64,
    ) -> Result<ConversationRow, Error> {
        let c = self
            .store
            .conversation_get(id)
            .await?
            .ok_or(Error::NotFound)?;
        self.audit(
            actor.username,
            "conversation.view",
            &format!("conversation:{id}"),
            "",
        )
        .await?;
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
