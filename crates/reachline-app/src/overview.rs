//! The console home: what each role needs to see first. A practitioner sees their state and
//! their work (chats waiting and their own, secure messages, callbacks, wrap-ups, concerns);
//! a supervisor also the shift (who is on, what the day has brought); an administrator the
//! service's health (the doctor's checks through the running service's own database, the
//! lists in force); an analyst the areas their reports cover. Counts only: nothing about
//! any help-seeker.

use crate::doctor::{self, Check};
use crate::{App, Error};
use reachline_core::staff::Role;
use reachline_store::{ShiftCounts, StaffAvailability, WorkCounts};

/// Casework: practitioners and supervisors.
#[derive(Debug, Clone)]
pub struct Casework {
    /// Whether this person takes chats now.
    pub available: bool,
    /// Whether the helpline is open now (chats are offered to help-seekers).
    pub open_now: bool,
    /// How many chats one practitioner may hold at once.
    pub limit: i64,
    /// Whether this person may decide concerns (supervisors).
    pub decides: bool,
    pub counts: WorkCounts,
}

/// The shift: supervisors.
#[derive(Debug, Clone)]
pub struct Shift {
    /// Practitioners and supervisors, available first, with how many chats each holds.
    pub team: Vec<StaffAvailability>,
    /// Since the start of the helpline's day.
    pub since: i64,
    pub counts: ShiftCounts,
}

/// The service's health: administrators.
#[derive(Debug, Clone)]
pub struct Health {
    /// The database checks `reachline doctor` makes, through the running service.
    pub checks: Vec<Check>,
    /// (kind, name, version) of each deterrence list in force.
    pub lists: Vec<(String, String, i64)>,
    /// Entries in force across them.
    pub entries: i64,
    /// How long content is kept.
    pub retention: crate::settings::Retention,
}

/// What one staff member's console home shows.
#[derive(Debug, Clone)]
pub struct Home {
    pub casework: Option<Casework>,
    pub shift: Option<Shift>,
    pub health: Option<Health>,
    /// Analysts: the areas their reports may cover (ONS codes).
    pub report_areas: Option<Vec<String>>,
    /// Unused recovery codes left on this account.
    pub recovery_left: i64,
}

impl App {
    /// The console home for staff member `id` with `role` (analysts: `areas`).
    pub async fn home(&self, id: i64, role: Role, areas: &[String]) -> Result<Home, Error> {
        let now = self.clock.now_unix();
        let casework = matches!(role, Role::Practitioner | Role::Supervisor);
        let casework = if casework {
            let available = self
                .store
                .staff_availability()
                .await?
                .iter()
                .any(|s| s.id == id && s.available);
            Some(Casework {
                available,
                open_now: self.live.open_at(now),
                limit: self.config.helpline.chat_max_per_practitioner as i64,
                decides: role == Role::Supervisor,
                counts: self.store.work_counts(id).await?,
            })
        } else {
            None
        };
        let shift = if role == Role::Supervisor {
            let mut team = self.store.staff_availability().await?;
            team.retain(|s| s.username != crate::ops::DEMO_ACCOUNT);
            // Available first, then the busiest, then by name (the store's order).
            team.sort_by_key(|s| (!s.available, -s.active_chats));
            let since = self.live.zone().day_start(now);
            Some(Shift {
                team,
                since,
                counts: self.store.shift_counts(since).await?,
            })
        } else {
            None
        };
        let health = if role == Role::Administrator {
            let mut checks = Vec::new();
            doctor::on_store(&self.config, &self.store, now, &mut checks).await;
            let loaded = self.gateway.loaded();
            Some(Health {
                checks,
                lists: loaded.versions.clone(),
                entries: loaded.entries,
                retention: self.live.retention(),
            })
        } else {
            None
        };
        let report_areas = (role == Role::Analyst).then(|| areas.to_vec());
        Ok(Home {
            casework,
            shift,
            health,
            report_areas,
            recovery_left: self.store.staff_recovery_codes_left(id).await?,
        })
    }
}
