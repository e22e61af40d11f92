-- Contacts with the helpline. Issue-level detail (chat, messages, wrap-up) is added later;
-- today a practitioner logs phone contacts by hand. Notes are sealed.
CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel     TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    created_by  INTEGER NOT NULL REFERENCES staff (id),
    note_sealed BLOB,
    created_at  INTEGER NOT NULL
);

-- Safeguarding concerns and their timeline. A concern is decided by a supervisor who did
-- not raise it; every step is an event, and events outlive purged conversation content.
CREATE TABLE concerns (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id   INTEGER NOT NULL REFERENCES contacts (id),
    raised_by    INTEGER NOT NULL REFERENCES staff (id),
    category     TEXT    NOT NULL,
    facts_sealed BLOB    NOT NULL,
    status       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX concerns_status ON concerns (status);

CREATE TABLE concern_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    concern_id  INTEGER NOT NULL REFERENCES concerns (id),
    at          INTEGER NOT NULL,
    actor_id    INTEGER NOT NULL REFERENCES staff (id),
    kind        TEXT    NOT NULL,
    destination TEXT    NOT NULL DEFAULT '',
    text_sealed BLOB
);
CREATE INDEX concern_events_concern ON concern_events (concern_id);
