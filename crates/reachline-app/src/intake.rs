//! A help-seeker's first contact: a live chat or a secure-message thread opened with its
//! key, wrapped for staff and for the help-seeker, in one transaction (a conversation never
//! exists without its keys, nor a thread without its first message).

use crate::{App, Error};
use reachline_core::keys::Key;
use reachline_core::sealing::Context;
use reachline_core::vocabulary::Channel;
use reachline_core::vocabulary::Sender;
use reachline_store::{NewCallback, NewConversation, Tx};

/// What the help-seeker chose to tell us before a contact (all optional) and the version of
/// the confidentiality statement they read.
pub struct Intake<'a> {
    pub who: &'a str,
    pub age_group: &'a str,
    pub area: &'a str,
    pub statement_version: &'a str,
}

impl App {
    /// Wraps a new conversation key for staff and for the help-seeker; returns the key.
    async fn wrap_keys(&self, tx: &mut Tx, id: i64, seeker: &Key) -> Result<Key, Error> {
        let key = Key::random();
        let context = Context::ConversationKey { conversation: id };
        let staff_wrap = self.content_key.seal(context, key.as_bytes());
        let seeker_wrap = seeker.seal(context, key.as_bytes());
        tx.conversation_set_keys(id, &staff_wrap, Some(&seeker_wrap))
            .await?;
        Ok(key)
    }

    /// Opens a waiting chat. The help-seeker's copy of its key is wrapped by a random key
    /// that only their cookie holds; returns the chat's id and that key.
    pub async fn start_chat(
        &self,
        intake: &Intake<'_>,
        language: &str,
    ) -> Result<(i64, Key), Error> {
        let token = Key::random();
        let mut tx = self.store.begin().await?;
        let id = tx
            .chat_create(
                intake.who,
                intake.age_group,
                intake.area,
                intake.statement_version,
                language,
                self.clock.now_unix(),
            )
            .await?;
        self.wrap_keys(&mut tx, id, &token).await?;
        tx.commit().await?;
        Ok((id, token))
    }

    /// Opens a secure-message thread with its first message. The help-seeker's copy of the
    /// key is wrapped by the key derived from their return code (`seeker_key`), and `lookup`
    /// finds the thread from that code. Returns the thread's id.
    pub async fn start_thread(
        &self,
        intake: &Intake<'_>,
        lookup: &str,
        seeker_key: &Key,
        text: &str,
    ) -> Result<i64, Error> {
        let now = self.clock.now_unix();
        let mut tx = self.store.begin().await?;
        let id = tx
            .conversation_create(
                &NewConversation {
                    channel: Channel::Message,
                    who: intake.who,
                    age_group: intake.age_group,
                    area: intake.area,
                    statement_version: intake.statement_version,
                    lookup: Some(lookup),
                },
                now,
            )
            .await?;
        let key = self.wrap_keys(&mut tx, id, seeker_key).await?;
        let sealed = |seq: i64| {
            key.seal(
                Context::MessageBody {
                    conversation: id,
                    seq,
                },
                text.as_bytes(),
            )
        };
        tx.message_append(id, Sender::Seeker, None, sealed, now)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records a callback request: the times that suit (window ids) and the phone number,
    /// sealed for the new row in the same transaction. Returns the request's id.
    pub async fn request_callback(
        &self,
        intake: &Intake<'_>,
        windows: &[&str],
        phone: &str,
    ) -> Result<i64, Error> {
        let windows = windows.join(",");
        let seal = |id: i64| {
            self.content_key
                .seal(Context::CallbackPhone { callback: id }, phone.as_bytes())
        };
        let request = NewCallback {
            windows: &windows,
            who: intake.who,
            age_group: intake.age_group,
            area: intake.area,
            statement_version: intake.statement_version,
        };
        Ok(self
            .store
            .callback_create(&request, seal, self.clock.now_unix())
            .await?)
    }
}
