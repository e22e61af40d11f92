-- Contacts with the helpline. Issue-level detail (chat, messages, wrap-up) is added later;
-- today a practitioner logs phone contacts by hand. Notes are sealed.
CREATE TABLE contacts (
    id          BIGSERIAL PRIMARY KEY,
    channel     TEXT    NOT NULL,
    started_at  BIGINT NOT NULL,
    ended_at    BIGINT,
    created_by  BIGINT NOT NULL REFERENCES staff (id),
    note_sealed BYTEA,
    created_at  BIGINT NOT NULL
);

-- Safeguarding concerns and their timeline. A concern is decided by a supervisor who did
-- not raise it; every step is an event, and events outlive purged conversation content.
CREATE TABLE concerns (
    id           BIGSERIAL PRIMARY KEY,
    contact_id   BIGINT NOT NULL REFERENCES contacts (id),
    raised_by    BIGINT NOT NULL REFERENCES staff (id),
    category     TEXT    NOT NULL,
    facts_sealed BYTEA    NOT NULL,
    status       TEXT    NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX concerns_status ON concerns (status);

CREATE TABLE concern_events (
    id          BIGSERIAL PRIMARY KEY,
    concern_id  BIGINT NOT NULL REFERENCES concerns (id),
    at          BIGINT NOT NULL,
    actor_id    BIGINT NOT NULL REFERENCES staff (id),
    kind        TEXT    NOT NULL,
    destination TEXT    NOT NULL DEFAULT '',
    text_sealed BYTEA
);
CREATE INDEX concern_events_concern ON concern_events (concern_id);
