//! Reach without identifiers: counts buffered in memory and flushed to the store.
//!
//! Module views and exercise completions are counted per day. First visits of the year are
//! counted per area, recognised by a cookie that holds only the year. A visitor's area is
//! what they choose, or what an operator-supplied GeoIP database says for their address,
//! which is looked up and dropped at once: the address is never stored or logged.

use maxminddb::{PathElement, Reader};
use reachline_core::areas;
use reachline_store::{Store, StoreError};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

pub const YEAR_COOKIE: &str = "rl_year";
pub const AREA_COOKIE: &str = "rl_area";

pub const MODULE_VIEW: &str = "module_view";
pub const EXERCISE_COMPLETION: &str = "exercise_completion";

#[derive(Default)]
struct Pending {
    daily: HashMap<(String, String, String), i64>,
    visits: HashMap<(i64, String), i64>,
}

pub struct Reach {
    pending: Mutex<Pending>,
    /// Held while writing, so a flush returns only once earlier counts are in the store.
    flushing: tokio::sync::Mutex<()>,
    geoip: Option<GeoIp>,
}

impl Reach {
    pub fn new(geoip: Option<GeoIp>) -> Self {
        Reach {
            pending: Mutex::new(Pending::default()),
            flushing: tokio::sync::Mutex::new(()),
            geoip,
        }
    }

    /// The counts waiting to be written. They are plain numbers, so a lock poisoned by a
    /// panic elsewhere is used as it is rather than losing counts.
    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn count_daily(&self, day: String, metric: &str, subject: &str) {
        let mut p = self.pending();
        *p.daily
            .entry((day, metric.to_string(), subject.to_string()))
            .or_default() += 1;
    }

    pub fn count_first_visit(&self, year: i64, area: &str) {
        let mut p = self.pending();
        *p.visits.entry((year, area.to_string())).or_default() += 1;
    }

    pub fn move_first_visit(&self, year: i64, from: &str, to: &str) {
        let mut p = self.pending();
        *p.visits.entry((year, from.to_string())).or_default() -= 1;
        *p.visits.entry((year, to.to_string())).or_default() += 1;
    }

    /// The area for an address, if a GeoIP database is configured and knows it.
    pub fn area_for(&self, ip: Option<IpAddr>) -> String {
        match (&self.geoip, ip) {
            (Some(g), Some(ip)) => g.area(ip),
            _ => areas::UNKNOWN.to_string(),
        }
    }

    /// Writes buffered counts to the store. On failure the counts are put back.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let _writing = self.flushing.lock().await;
        let taken = std::mem::take(&mut *self.pending());
        let mut result = Ok(());
        let mut failed = Pending::default();
        for ((day, metric, subject), n) in taken.daily {
            if result.is_ok() {
                if let Err(e) = store.reach_add_daily(&day, &metric, &subject, n).await {
                    result = Err(e);
                } else {
                    continue;
                }
            }
            failed.daily.insert((day, metric, subject), n);
        }
        for ((year, area), n) in taken.visits {
            if n == 0 {
                continue;
            }
            if result.is_ok() {
                if let Err(e) = store.reach_add_first_visits(year, &area, n).await {
                    result = Err(e);
                } else {
                    continue;
                }
            }
            failed.visits.insert((year, area), n);
        }
        let mut p = self.pending();
        for (k, n) in failed.daily {
            *p.daily.entry(k).or_default() += n;
        }
        for (k, n) in failed.visits {
            *p.visits.entry(k).or_default() += n;
        }
        result
    }
}

/// An operator-supplied GeoIP database and how to read a police force area from it.
pub struct GeoIp {
    reader: Reader<Vec<u8>>,
    path: Vec<String>,
    map: HashMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
#[error("GeoIP database {path}: {message}")]
pub struct GeoIpError {
    pub path: String,
    pub message: String,
}

impl GeoIp {
    pub fn open(file: &str, field: &str, map: &[String]) -> Result<GeoIp, GeoIpError> {
        let reader = Reader::open_readfile(file).map_err(|e| GeoIpError {
            path: file.to_string(),
            message: e.to_string(),
        })?;
        let mut table = HashMap::new();
        for entry in map {
            let Some((value, code)) = entry.split_once('=') else {
                return Err(GeoIpError {
                    path: file.to_string(),
                    message: format!("geoip_areas entry {entry:?} is not VALUE=CODE"),
                });
            };
            if areas::find(code.trim()).is_none() {
                return Err(GeoIpError {
                    path: file.to_string(),
                    message: format!(
                        "geoip_areas entry {entry:?}: {code} is not a police force area code"
                    ),
                });
            }
            table.insert(value.trim().to_string(), code.trim().to_string());
        }
        Ok(GeoIp {
            reader,
            path: field.split('.').map(str::to_string).collect(),
            map: table,
        })
    }

    pub fn area(&self, ip: IpAddr) -> String {
        let path: Vec<PathElement<'_>> = self
            .path
            .iter()
            .map(|p| match p.parse::<usize>() {
                Ok(i) => PathElement::Index(i),
                Err(_) => PathElement::Key(p.as_str()),
            })
            .collect();
        let value: Option<String> = self
            .reader
            .lookup(ip)
            .ok()
            .and_then(|r| r.decode_path(&path).ok().flatten());
        match value {
            Some(v) if areas::find(&v).is_some() => v,
            Some(v) => self
                .map
                .get(&v)
                .cloned()
                .unwrap_or_else(|| areas::UNKNOWN.to_string()),
            None => areas::UNKNOWN.to_string(),
        }
    }
}
