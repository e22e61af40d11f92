//! Live chat, the practitioner's side: availability, take, transfer and end, each committed
//! with its audit entry and tried again when PostgreSQL breaks a deadlock. Telling the
//! sockets is the web's (it holds them).

use crate::accounts::Actor;
use crate::{App, Error};
use reachline_store::{StoreError, Take, Tx};

/// Which change to a chat.
enum Change {
    Take,
    Transfer { to: i64 },
    End,
}

impl App {
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
