-- Never-warn lists and shadow versions (issue 17).
-- A list's role: 'warn' (a match warns) or 'never' (a never-warn list: known innocent terms,
-- URL expressions or images whose match on an input overrides every match on that input).
ALTER TABLE deterrence_lists ADD COLUMN role TEXT NOT NULL DEFAULT 'warn';
-- A version loaded in shadow is matched and counted but never warns, until it is promoted.
ALTER TABLE deterrence_lists ADD COLUMN shadow BIGINT NOT NULL DEFAULT 0;
-- When the version last went live (import without --shadow, or promote); a rollback goes back
-- to the newest earlier version that was live.
ALTER TABLE deterrence_lists ADD COLUMN live_at BIGINT;
UPDATE deterrence_lists SET live_at = created_at;
-- The PDQ distance within which this list's hashes match (none: the service's default).
ALTER TABLE deterrence_lists ADD COLUMN pdq_distance BIGINT;

-- Matches per list entry per day, by outcome: warned, suppressed (a never-warn entry
-- overrode it), shadow, shadow-suppressed, never (a never-warn entry that fired) and
-- reported (a partner said the warning was wrong). Never an input.
CREATE TABLE deterrence_entry_daily (
    day      TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    version  BIGINT  NOT NULL,
    entry_id TEXT    NOT NULL,
    category TEXT    NOT NULL,
    outcome  TEXT    NOT NULL,
    n        BIGINT  NOT NULL,
    PRIMARY KEY (day, kind, name, version, entry_id, outcome)
);

-- Match identifiers already reported wrong (a SHA-256 of the identifier, which is random and
-- holds no input), so a report counts once; kept 40 days, past the identifier's lifetime.
CREATE TABLE deterrence_feedback_seen (
    id_hash TEXT NOT NULL PRIMARY KEY,
    day     TEXT NOT NULL
);
