-- The audit chain's recorded head: the newest entry's sequence number and hash, with an HMAC
-- under the audit key, written in the same transaction as each entry. Deleting the newest
-- entries leaves a chain that ends before its head, which `audit verify` reports.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL,
    mac  BLOB    NOT NULL
);
