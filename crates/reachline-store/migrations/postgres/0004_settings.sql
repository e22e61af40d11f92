-- Settings changed in the console (opening hours, retention). Values are JSON.
CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT    NOT NULL
);

-- The confidentiality statement, versioned: contacts record the version acknowledged.
CREATE TABLE confidentiality_statements (
    version    BIGINT PRIMARY KEY,
    body       TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT    NOT NULL
);

-- Canned responses, managed by supervisors.
CREATE TABLE canned_responses (
    id         BIGSERIAL PRIMARY KEY,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT    NOT NULL
);
