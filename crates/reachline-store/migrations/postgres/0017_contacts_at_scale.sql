-- Contacts at scale (10 million records), now that reports read the rollup (0016):
-- * the two indexes that held every grouped column for reports (0010) are read by nothing
--   and written with every contact: removed (at 10 million contacts, two wide indexes of the
--   whole table);
-- * the console's recent contacts (newest first) and its shift figures and the note
--   retention (by creation time) read an index instead of every contact;
-- * the rollup is kept a statement at a time on inserts and removals: one grouped upsert for
--   all the rows a statement inserts (a hundred rows of demo data, an import) instead of one
--   upsert a row, and one grouped decrement for all the rows it removes (the demo purge). A
--   change to a contact's grouped columns is rare (a correction by hand) and stays a row at a
--   time (PostgreSQL allows no column list on a trigger with transition tables). Rollup rows
--   are locked in key order, as a single-row trigger locked them, so two statements that
--   touch the same groups wait for each other instead of deadlocking.
DROP INDEX contacts_report_area;
DROP INDEX contacts_report;
CREATE INDEX contacts_created ON contacts (created_at);
CREATE INDEX contacts_started ON contacts (started_at, id);

DROP TRIGGER contacts_rollup ON contacts;

CREATE FUNCTION contacts_rollup_added() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO contacts_rollup
        SELECT area, month, channel, who, age_group, first_this_year, concerns, actions, signposting, COUNT(*)
        FROM added
        GROUP BY area, month, channel, who, age_group, first_this_year, concerns, actions, signposting
        ORDER BY area, month, channel, who, age_group, first_this_year, concerns, actions, signposting
        ON CONFLICT (area, month, channel, who, age_group, first_this_year, concerns, actions, signposting)
        DO UPDATE SET n = contacts_rollup.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION contacts_rollup_removed() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM 1 FROM contacts_rollup r
        WHERE (r.area, r.month, r.channel, r.who, r.age_group, r.first_this_year, r.concerns, r.actions, r.signposting)
           IN (SELECT area, month, channel, who, age_group, first_this_year, concerns, actions, signposting FROM removed)
        ORDER BY r.area, r.month, r.channel, r.who, r.age_group, r.first_this_year, r.concerns, r.actions, r.signposting
        FOR UPDATE;
    UPDATE contacts_rollup r SET n = r.n - g.n
        FROM (SELECT area, month, channel, who, age_group, first_this_year, concerns, actions, signposting, COUNT(*) AS n
              FROM removed
              GROUP BY area, month, channel, who, age_group, first_this_year, concerns, actions, signposting) g
        WHERE r.area = g.area AND r.month = g.month AND r.channel = g.channel AND r.who = g.who
          AND r.age_group = g.age_group AND r.first_this_year = g.first_this_year
          AND r.concerns = g.concerns AND r.actions = g.actions AND r.signposting = g.signposting;
    DELETE FROM contacts_rollup r
        WHERE (r.area, r.month, r.channel, r.who, r.age_group, r.first_this_year, r.concerns, r.actions, r.signposting)
           IN (SELECT area, month, channel, who, age_group, first_this_year, concerns, actions, signposting FROM removed)
          AND r.n <= 0;
    RETURN NULL;
END
$$;

CREATE TRIGGER contacts_rollup_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_rollup_added();
CREATE TRIGGER contacts_rollup_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_rollup_removed();
CREATE TRIGGER contacts_rollup_update
    AFTER UPDATE OF area, month, channel, who, age_group, first_this_year, concerns, actions, signposting
    ON contacts FOR EACH ROW EXECUTE FUNCTION contacts_rollup_apply();
