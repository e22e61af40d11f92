//! Callback requests, the practitioner's side: the worklist, one request with its number
//! (shown only to whoever claimed the call, and audited), claim, a failed attempt, and the
//! call done with its wrap-up (the number is deleted in the same transaction). Each change
//! commits with its audit entry.

use crate::accounts::Actor;
use crate::{App, Error};
use reachline_core::sealing::Context;
use reachline_core::vocabulary::CallbackStatus;
use reachline_store::{CallbackRow, Tx, WrapUp};

/// One request as a practitioner sees it.
pub struct CallbackView {
    pub row: CallbackRow,
    /// The number, for the practitioner holding the claim only.
    pub phone: Option<String>,
}

impl App {
    /// The pending requests, oldest first (the view is audited).
    pub async fn callbacks_worklist(&self, actor: Actor<'_>) -> Result<Vec<CallbackRow>, Error> {
        self.audit(actor.username, "callback.list", "", "").await?;
        Ok(self.store.callbacks_pending().await?)
    }

    /// One request; its number is opened only for the practitioner who claimed it, and the
    /// view says whether it was shown.
    pub async fn callback_view(&self, actor: Actor<'_>, id: i64) -> Result<CallbackView, Error> {
        let row = self.store.callback_get(id).await?.ok_or(Error::NotFound)?;
        let phone = if row.status == CallbackStatus::Pending && row.claimed_by == Some(actor.id) {
            row.phone_sealed.as_deref().and_then(|s| {
                self.content_key
                    .open(Context::CallbackPhone { callback: id }, s)
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
            })
        } else {
            None
        };
        let detail = if phone.is_some() { "number shown" } else { "" };
        self.audit(
            actor.username,
            "callback.view",
            &format!("callback:{id}"),
            detail,
        )
        .await?;
        Ok(CallbackView { row, phone })
    }

    /// Takes a request to call. Refused (`Invalid`, with the reason) if it is closed or
    /// someone else holds it.
    pub async fn callback_claim(&self, actor: Actor<'_>, id: i64) -> Result<(), Error> {
        let mut tx = self.store.begin().await?;
        let claimed = tx.callback_claim(id, actor.id).await?;
        self.callback_change(tx, actor, id, claimed, "callback.claim", "")
            .await
    }

    /// A call that did not get through: counted, the claim released, the request stays.
    pub async fn callback_attempt(&self, actor: Actor<'_>, id: i64) -> Result<(), Error> {
        let mut tx = self.store.begin().await?;
        let recorded = tx
            .callback_attempt(id, actor.id, self.clock.now_unix())
            .await?;
        self.callback_change(tx, actor, id, recorded, "callback.attempt", "no answer")
            .await
    }

    /// The call happened: the wrap-up becomes the contact record and the number is deleted,
    /// in one transaction with the audit entry. Returns the contact's id.
    pub async fn callback_done(
        &self,
        actor: Actor<'_>,
        id: i64,
        wrap: &WrapUp,
    ) -> Result<i64, Error> {
        let mut tx = self.store.begin().await?;
        let Some(contact) = tx
            .callback_done(id, actor.id, wrap, self.clock.now_unix())
            .await?
        else {
            return Err(self.callback_refusal(id).await);
        };
        self.commit_audited(
            tx,
            actor.username,
            "callback.done",
            &format!("callback:{id}"),
            &format!("contact:{contact}"),
        )
        .await?;
        Ok(contact)
    }

    /// The request if this practitioner may wrap it up (pending, claimed by them).
    pub async fn callback_held(&self, actor: Actor<'_>, id: i64) -> Result<CallbackRow, Error> {
        let row = self.store.callback_get(id).await?.ok_or(Error::NotFound)?;
        if row.status != CallbackStatus::Pending || row.claimed_by != Some(actor.id) {
            return Err(self.callback_refusal(id).await);
        }
        Ok(row)
    }

    async fn callback_change(
        &self,
        tx: Tx,
        actor: Actor<'_>,
        id: i64,
        applied: bool,
        action: &str,
        detail: &str,
    ) -> Result<(), Error> {
        if !applied {
            drop(tx);
            return Err(self.callback_refusal(id).await);
        }
        self.commit_audited(
            tx,
            actor.username,
            action,
            &format!("callback:{id}"),
            detail,
        )
        .await?;
        Ok(())
    }

    /// Why a change to a callback did not apply.
    async fn callback_refusal(&self, id: i64) -> Error {
        match self.store.callback_get(id).await {
            Ok(None) => Error::NotFound,
            Ok(Some(c)) if c.status != CallbackStatus::Pending => {
                Error::Invalid("console-callback-closed")
            }
            Ok(Some(c)) if c.claimed_by.is_none() => Error::Invalid("console-callback-claim-first"),
            Ok(Some(_)) => Error::Invalid("console-callback-taken"),
            Err(e) => Error::from(e),
        }
    }
}
