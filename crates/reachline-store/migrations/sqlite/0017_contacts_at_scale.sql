-- Contacts at scale (10 million records), now that reports read the rollup (0016):
-- * the two indexes that held every grouped column for reports (0010) are read by nothing
--   and written with every contact: removed (at 10 million contacts, two wide indexes of the
--   whole table);
-- * the console's recent contacts (newest first) and its shift figures and the note
--   retention (by creation time) read an index instead of every contact.
-- The rollup's triggers stay a row at a time here: SQLite has no statement triggers, and in
-- the process a row trigger costs no round trip (PostgreSQL's 0017 makes its own a statement
-- at a time).
DROP INDEX contacts_report_area;
DROP INDEX contacts_report;
CREATE INDEX contacts_created ON contacts (created_at);
CREATE INDEX contacts_started ON contacts (started_at, id);
