//! Statements for operations: online backups, readiness and integrity checks, pool figures,
//! master-key rotation (re-wrapping the keyring in one transaction), the housekeeping
//! heartbeat and the figures `reachline doctor` reads.

use crate::{on_pool, Pool, Result, Store, StoreError, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};
use std::path::Path;
use std::str::FromStr;

/// How many connections the pool holds, and how many of them are idle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
}

/// One wrapped data key as stored in `keyring` (retired versions included).
#[derive(Debug, Clone)]
pub struct KeyringRow {
    pub purpose: String,
    pub version: i64,
    pub wrapped: Vec<u8>,
}

/// One data key to re-wrap: the row is changed only if it still holds `old`.
#[derive(Debug, Clone)]
pub struct Rewrap {
    pub purpose: String,
    pub version: i64,
    pub old: Vec<u8>,
    pub new: Vec<u8>,
}

/// The `settings` key under which a heartbeat is kept.
fn heartbeat_key(name: &str) -> String {
    format!("heartbeat.{name}")
}

impl Store {
    /// Re-wraps data keys in one transaction (master-key rotation). `expected_rows` is how
    /// many rows the caller saw in `keyring`; if the keyring changed since (a row added, or
    /// one no longer holding its `old` value), nothing is written and false is returned so
    /// the caller can read it again. Writers of `keyring` wait for the transaction (SQLite:
    /// the write lock; PostgreSQL: a lock that still lets others read the table).
    pub async fn keyring_rewrap(&self, rows: &[Rewrap], expected_rows: usize) -> Result<bool> {
        let done = on_pool!(self, |pool| {
            let mut tx = pool.begin_with(crate::begin_sql(pool)).await?;
            if self.backend() == crate::Backend::Postgres {
                sqlx::query("LOCK TABLE keyring IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
            }
            let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM keyring")
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            let mut ok = usize::try_from(n).ok() == Some(expected_rows);
            for r in rows {
                if !ok {
                    break;
                }
                let changed = sqlx::query(
                    "UPDATE keyring SET wrapped = $1 \
                     WHERE purpose = $2 AND version = $3 AND wrapped = $4",
                )
                .bind(&r.new)
                .bind(&r.purpose)
                .bind(r.version)
                .bind(&r.old)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                ok = changed == 1;
            }
            if ok {
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            ok
        });
        Ok(done)
    }

    /// Records that a periodic job (e.g. `housekeeping`) ran at `now`.
    pub async fn heartbeat_put(&self, name: &str, now: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.setting_put(&heartbeat_key(name), &now.to_string(), now, "service")
            .await?;
        tx.commit().await
    }

    /// When a periodic job last recorded a heartbeat, if ever.
    pub async fn heartbeat_get(&self, name: &str) -> Result<Option<i64>> {
        Ok(self
            .setting_get(&heartbeat_key(name))
            .await?
            .and_then(|v| v.trim().parse().ok()))
    }

    /// The newest timestamp the service has written (audit entries, keys, settings,
    /// sessions, answers, conversations), for a clock check: none should lie in the future.
    pub async fn newest_timestamp(&self) -> Result<Option<i64>> {
        let t = on_pool!(self, |pool| {
            sqlx::query(
                "SELECT MAX(t) AS t FROM ( \
                   SELECT MAX(at) AS t FROM audit_log \
                   UNION ALL SELECT MAX(created_at) FROM keyring \
                   UNION ALL SELECT MAX(updated_at) FROM settings \
                   UNION ALL SELECT MAX(last_seen) FROM staff_sessions \
                   UNION ALL SELECT MAX(updated_at) FROM workbooks \
                   UNION ALL SELECT MAX(created_at) FROM conversations \
                 ) AS x",
            )
            .fetch_one(pool)
            .await?
            .try_get::<Option<i64>, _>("t")?
        });
        Ok(t)
    }

    /// Writes a consistent copy of the SQLite database to `path` (`VACUUM INTO`) while other
    /// connections keep reading and writing. `path` must not exist.
    pub async fn sqlite_backup_into(&self, path: &Path) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                sqlx::query("VACUUM INTO $1")
                    .bind(path.display().to_string())
                    .execute(pool)
                    .await?;
                Ok(())
            }
            Pool::Postgres(_) => Err(StoreError::Url(
                "VACUUM INTO is for the embedded SQLite database".into(),
            )),
        }
    }

    /// Versions of the migrations this build embeds that the database has not applied
    /// successfully (or applied with different contents). Empty when the schema is current.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        let migrator = match &self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        let applied = on_pool!(self, |pool| {
            sqlx::query("SELECT version, checksum FROM _sqlx_migrations WHERE success")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get::<i64, _>("version")?,
                        r.try_get::<Vec<u8>, _>("checksum")?,
                    ))
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .filter(|m| {
                !applied
                    .iter()
                    .any(|(v, c)| *v == m.version && c.as_slice() == m.checksum.as_ref())
            })
            .map(|m| m.version)
            .collect())
    }

    /// Every wrapped data key, retired versions included.
    pub async fn keyring_all(&self) -> Result<Vec<KeyringRow>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query("SELECT purpose, version, wrapped FROM keyring ORDER BY purpose, version")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(KeyringRow {
                        purpose: r.try_get("purpose")?,
                        version: r.try_get("version")?,
                        wrapped: r.try_get("wrapped")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// Connections in the pool and how many are idle.
    pub fn pool_stats(&self) -> PoolStats {
        on_pool!(self, |pool| PoolStats {
            size: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
        })
    }

    /// How many tables the PostgreSQL database at `url` has in its current schema (the one
    /// its `search_path` names first; none if that schema does not exist). Does not migrate.
    pub async fn postgres_table_count(url: &str) -> Result<i64> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(e.to_string()))?
            .disable_statement_logging();
        let mut conn = sqlx::PgConnection::connect_with(&options).await?;
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema()",
        )
        .fetch_one(&mut conn)
        .await?
        .try_get("n")?;
        conn.close().await?;
        Ok(n)
    }
}

impl Store {
    /// Drops a PostgreSQL schema only if it holds nothing (no `CASCADE`), so a restore can
    /// recreate it from a dump.
    pub async fn postgres_drop_empty_schema(url: &str, schema: &str) -> Result<()> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(e.to_string()))?
            .disable_statement_logging();
        let mut conn = sqlx::PgConnection::connect_with(&options).await?;
        sqlx::query(&format!(
            "DROP SCHEMA IF EXISTS \"{}\"",
            schema.replace('"', "")
        ))
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        Ok(())
    }
}

/// Where libpq's command-line tools (`pg_dump`, `psql`) find the database Reachline uses,
/// from the same address the store connects with, parsed by sqlx: libpq's environment
/// variables (the password among them, so it is never on a command line) and the schema
/// named by `options[search_path]=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgClientTarget {
    pub env: Vec<(&'static str, String)>,
    /// The database name (`--dbname`); libpq's default, the user name, when none is given.
    pub database: String,
    pub schema: Option<String>,
}

impl PgClientTarget {
    pub fn from_url(url: &str) -> Result<PgClientTarget> {
        use sqlx::postgres::PgSslMode;
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::Url("not a postgres:// address".into()));
        }
        let opts = PgConnectOptions::from_str(url).map_err(|e| StoreError::Url(e.to_string()))?;
        let host = match opts.get_socket() {
            Some(dir) => dir.display().to_string(),
            None => opts.get_host().to_string(),
        };
        let mut env = vec![
            ("PGHOST", host),
            ("PGPORT", opts.get_port().to_string()),
            ("PGUSER", opts.get_username().to_string()),
        ];
        let database = opts
            .get_database()
            .unwrap_or(opts.get_username())
            .to_string();
        env.push(("PGDATABASE", database.clone()));
        let ssl = match opts.get_ssl_mode() {
            PgSslMode::Disable => "disable",
            PgSslMode::Allow => "allow",
            PgSslMode::Prefer => "prefer",
            PgSslMode::Require => "require",
            PgSslMode::VerifyCa => "verify-ca",
            PgSslMode::VerifyFull => "verify-full",
        };
        env.push(("PGSSLMODE", ssl.to_string()));
        // sqlx keeps the password to itself; the URL parser reads it the same way.
        if let Some(p) = url::Url::parse(url)
            .ok()
            .as_ref()
            .and_then(|u| u.password())
        {
            let p = percent_encoding::percent_decode_str(p).decode_utf8_lossy();
            env.push(("PGPASSWORD", p.into_owned()));
        }
        // `options[search_path]=x` arrives as `-c search_path=x`.
        let schema = opts.get_options().and_then(|o| {
            o.split_whitespace()
                .find_map(|part| part.strip_prefix("search_path="))
                .map(str::to_string)
        });
        Ok(PgClientTarget {
            env,
            database,
            schema,
        })
    }
}

#[cfg(test)]
mod pg_client_tests {
    #![allow(clippy::unwrap_used)]
    use super::PgClientTarget;

    #[test]
    fn postgres_addresses_become_libpq_settings() {
        let t = PgClientTarget::from_url(
            "postgres://u:p%40ss@h:5433/db?sslmode=disable&options[search_path]=t_1",
        )
        .unwrap();
        let get = |k: &str| t.env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PGHOST"), Some("h"));
        assert_eq!(get("PGPORT"), Some("5433"));
        assert_eq!(get("PGUSER"), Some("u"));
        assert_eq!(get("PGDATABASE"), Some("db"));
        assert_eq!(get("PGSSLMODE"), Some("disable"));
        assert_eq!(get("PGPASSWORD"), Some("p@ss"));
        assert_eq!(t.schema.as_deref(), Some("t_1"));
        assert_eq!(t.database, "db");
        let t = PgClientTarget::from_url("postgres://postgres@127.0.0.1/test").unwrap();
        assert!(t.env.iter().all(|(n, _)| *n != "PGPASSWORD"));
        assert!(t.schema.is_none());
        assert!(PgClientTarget::from_url("mysql://x").is_err());
    }
}
