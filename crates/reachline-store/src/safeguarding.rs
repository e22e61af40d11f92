//! Contacts (as far as the console needs them today) and safeguarding concerns.

use crate::conversations::insert_contact;
use crate::tx::on_tx;
use crate::{on_pool, Result, Store, Tx, WrapUp};
use reachline_core::vocabulary::{Channel, ConcernStatus};
use sqlx::{FromRow, Row};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContactRow {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub created_by: i64,
    #[sqlx(rename = "username")]
    pub created_by_name: String,
    pub note_sealed: Option<Vec<u8>>,
    /// The wrap-up (empty for contacts logged before it existed).
    pub who: String,
    pub age_group: String,
    pub area: String,
    pub concerns: String,
    pub arrested: String,
    pub actions: String,
    pub signposting: String,
    pub first_this_year: bool,
    pub wrapped_up: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConcernRow {
    pub id: i64,
    pub contact_id: i64,
    pub raised_by: i64,
    #[sqlx(rename = "username")]
    pub raised_by_name: String,
    pub category: String,
    pub facts_sealed: Vec<u8>,
    #[sqlx(try_from = "String")]
    pub status: ConcernStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcernEventRow {
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub destination: String,
    pub text_sealed: Option<Vec<u8>>,
}

/// An event to add to a concern's timeline.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewConcernEvent<'a> {
    pub kind: &'a str,
    pub destination: &'a str,
    pub text_sealed: Option<&'a [u8]>,
    /// Move the concern to this status (only while it awaits a decision).
    pub new_status: Option<ConcernStatus>,
}

const CONTACT_SELECT: &str = "SELECT c.id, c.channel, c.started_at, c.ended_at, c.created_by, \
     c.note_sealed, c.who, c.age_group, c.area, c.concerns, c.arrested, c.actions, c.signposting, \
     (c.first_this_year <> 0) AS first_this_year, (c.wrapped_up <> 0) AS wrapped_up, s.username FROM contacts c JOIN staff s ON s.id = c.created_by";
const CONCERN_SELECT: &str = "SELECT c.id, c.contact_id, c.raised_by, c.category, c.facts_sealed, \
     c.status, c.created_at, c.updated_at, s.username FROM concerns c JOIN staff s ON s.id = c.raised_by";

impl Store {
    /// Creates a contact; the note is sealed by the caller with the row's id in its context,
    /// so it is written in a second step.
    pub async fn contact_create(
        &self,
        channel: Channel,
        started_at: i64,
        ended_at: Option<i64>,
        created_by: i64,
        now: i64,
    ) -> Result<i64> {
        let id = on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO contacts (channel, started_at, ended_at, created_by, created_at, month) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
        )
        .bind(channel.as_str())
        .bind(started_at)
        .bind(ended_at)
        .bind(created_by)
        .bind(now)
        .bind(crate::month_of(started_at))
        .fetch_one(pool)
        .await?
        .try_get::<i64, _>("id")?
        });
        Ok(id)
    }

    pub async fn contact_set_note(&self, id: i64, sealed: &[u8]) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE contacts SET note_sealed = $1 WHERE id = $2")
                .bind(sealed)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn contact_get(&self, id: i64) -> Result<Option<ContactRow>> {
        let row = on_pool!(self, |pool| {
            match sqlx::query(&format!("{CONTACT_SELECT} WHERE c.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
            {
                Some(r) => Some(ContactRow::from_row(&r)?),
                None => None,
            }
        });
        Ok(row)
    }

    pub async fn contacts_recent(&self, limit: i64) -> Result<Vec<ContactRow>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(&format!(
                "{CONTACT_SELECT} ORDER BY c.started_at DESC, c.id DESC LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(pool)
            .await?
            {
                out.push(ContactRow::from_row(&r)?);
            }
            out
        });
        Ok(rows)
    }

    pub async fn concern_get(&self, id: i64) -> Result<Option<ConcernRow>> {
        let row = on_pool!(self, |pool| {
            match sqlx::query(&format!("{CONCERN_SELECT} WHERE c.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
            {
                Some(r) => Some(ConcernRow::from_row(&r)?),
                None => None,
            }
        });
        Ok(row)
    }

    /// Concerns, undecided first, newest first within each group.
    pub async fn concerns_list(&self, contact_id: Option<i64>) -> Result<Vec<ConcernRow>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(&format!(
                "{CONCERN_SELECT} WHERE ($1 = 0 OR c.contact_id = $1) \
                 ORDER BY CASE WHEN c.status IN ('open', 'more-information') THEN 0 ELSE 1 END, c.created_at DESC"
            ))
            .bind(contact_id.unwrap_or(0))
            .fetch_all(pool)
            .await?
            {
                out.push(ConcernRow::from_row(&r)?);
            }
            out
        });
        Ok(rows)
    }

    pub async fn concerns_open_count(&self) -> Result<i64> {
        let n = on_pool!(self, |pool| sqlx::query(
            "SELECT COUNT(*) AS n FROM concerns WHERE status IN ('open', 'more-information')"
        )
        .fetch_one(pool)
        .await?
        .try_get::<i64, _>("n")?);
        Ok(n)
    }

    pub async fn concern_events(&self, concern_id: i64) -> Result<Vec<ConcernEventRow>> {
        let rows = on_pool!(self, |pool| {
            let mut out = Vec::new();
            for r in sqlx::query(
                "SELECT e.at, s.username, e.kind, e.destination, e.text_sealed FROM concern_events e \
                 JOIN staff s ON s.id = e.actor_id WHERE e.concern_id = $1 ORDER BY e.id",
            )
            .bind(concern_id)
            .fetch_all(pool)
            .await?
            {
                out.push(ConcernEventRow {
                    at: r.try_get("at")?,
                    actor: r.try_get("username")?,
                    kind: r.try_get("kind")?,
                    destination: r.try_get("destination")?,
                    text_sealed: r.try_get("text_sealed")?,
                });
            }
            out
        });
        Ok(rows)
    }
}

impl Store {}

impl Tx {
    /// Records a contact logged by hand with its wrap-up and, optionally, a note sealed by
    /// the caller for the new row's id, all in one transaction.
    pub async fn contact_log(
        &mut self,
        w: &WrapUp,
        created_by: i64,
        seal_note: Option<&(dyn Fn(i64) -> Vec<u8> + Sync)>,
        now: i64,
    ) -> Result<i64> {
        let id = on_tx!(self, |c| {
            let id: i64 = insert_contact!(&mut *c, w, created_by, now, None::<i64>);
            if let Some(seal) = seal_note {
                sqlx::query("UPDATE contacts SET note_sealed = $1 WHERE id = $2")
                    .bind(seal(id))
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
            }
            id
        });
        Ok(id)
    }

    /// Raises a concern and records the `raised` event, atomically.
    pub async fn concern_create(
        &mut self,
        contact_id: i64,
        raised_by: i64,
        category: &str,
        facts_sealed: &[u8],
        now: i64,
    ) -> Result<i64> {
        let id = on_tx!(self, |c| {
            let id: i64 = sqlx::query(
                "INSERT INTO concerns (contact_id, raised_by, category, facts_sealed, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'open', $5, $5) RETURNING id",
            )
            .bind(contact_id)
            .bind(raised_by)
            .bind(category)
            .bind(facts_sealed)
            .bind(now)
            .fetch_one(&mut *c)
            .await?
            .try_get("id")?;
            sqlx::query("INSERT INTO concern_events (concern_id, at, actor_id, kind) VALUES ($1, $2, $3, 'raised')")
                .bind(id)
                .bind(now)
                .bind(raised_by)
                .execute(&mut *c)
                .await?;
            id
        });
        Ok(id)
    }

    pub async fn concern_set_facts(&mut self, id: i64, sealed: &[u8]) -> Result<()> {
        on_tx!(self, |c| {
            sqlx::query("UPDATE concerns SET facts_sealed = $1 WHERE id = $2")
                .bind(sealed)
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Appends an event; when `new_status` is given, moves the concern to it — but only a
    /// concern still awaiting a decision can be decided (no decision overwrites another).
    pub async fn concern_event(
        &mut self,
        concern_id: i64,
        actor_id: i64,
        event: NewConcernEvent<'_>,
        now: i64,
    ) -> Result<bool> {
        let NewConcernEvent {
            kind,
            destination,
            text_sealed,
            new_status,
        } = event;
        let ok = on_tx!(self, |c| {
            let moved = match new_status {
                Some(status) => {
                    sqlx::query(
                        "UPDATE concerns SET status = $1, updated_at = $2 \
                         WHERE id = $3 AND status IN ('open', 'more-information')",
                    )
                    .bind(status.as_str())
                    .bind(now)
                    .bind(concern_id)
                    .execute(&mut *c)
                    .await?
                    .rows_affected()
                        == 1
                }
                None => true,
            };
            if moved {
                sqlx::query(
                    "INSERT INTO concern_events (concern_id, at, actor_id, kind, destination, text_sealed) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(concern_id)
                .bind(now)
                .bind(actor_id)
                .bind(kind)
                .bind(destination)
                .bind(text_sealed)
                .execute(&mut *c)
                .await?;
            }
            moved
        });
        Ok(ok)
    }
}
