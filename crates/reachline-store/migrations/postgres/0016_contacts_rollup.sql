-- Reporting at scale: contacts counted by every column a report groups them by (one row a
-- group and month), kept by a trigger in the same transaction as each contact's insert,
-- change or removal. A year's area report reads these tens of thousands of counts instead
-- of millions of contacts; the counts are exactly what grouping the contacts gives (the
-- storage suite compares the two). A group whose count reaches nought is removed.
-- Contacts are locked first, so no contact written by another instance falls between the
-- counting below and the trigger.
LOCK TABLE contacts IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE contacts_rollup (
    area            TEXT   NOT NULL,
    month           TEXT   NOT NULL,
    channel         TEXT   NOT NULL,
    who             TEXT   NOT NULL,
    age_group       TEXT   NOT NULL,
    first_this_year BIGINT NOT NULL,
    concerns        TEXT   NOT NULL,
    actions         TEXT   NOT NULL,
    signposting     TEXT   NOT NULL,
    n               BIGINT NOT NULL,
    PRIMARY KEY (area, month, channel, who, age_group, first_this_year, concerns, actions, signposting)
);
CREATE INDEX contacts_rollup_month ON contacts_rollup (month);

INSERT INTO contacts_rollup
    SELECT area, month, channel, who, age_group, first_this_year, concerns, actions, signposting, COUNT(*)
    FROM contacts
    GROUP BY area, month, channel, who, age_group, first_this_year, concerns, actions, signposting;

CREATE FUNCTION contacts_rollup_apply() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE contacts_rollup SET n = n - 1
            WHERE area = OLD.area AND month = OLD.month AND channel = OLD.channel AND who = OLD.who
              AND age_group = OLD.age_group AND first_this_year = OLD.first_this_year
              AND concerns = OLD.concerns AND actions = OLD.actions AND signposting = OLD.signposting;
        DELETE FROM contacts_rollup
            WHERE area = OLD.area AND month = OLD.month AND channel = OLD.channel AND who = OLD.who
              AND age_group = OLD.age_group AND first_this_year = OLD.first_this_year
              AND concerns = OLD.concerns AND actions = OLD.actions AND signposting = OLD.signposting
              AND n <= 0;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO contacts_rollup
            VALUES (NEW.area, NEW.month, NEW.channel, NEW.who, NEW.age_group, NEW.first_this_year,
                    NEW.concerns, NEW.actions, NEW.signposting, 1)
            ON CONFLICT (area, month, channel, who, age_group, first_this_year, concerns, actions, signposting)
            DO UPDATE SET n = contacts_rollup.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER contacts_rollup
AFTER INSERT OR DELETE OR UPDATE OF area, month, channel, who, age_group, first_this_year, concerns, actions, signposting
ON contacts FOR EACH ROW EXECUTE FUNCTION contacts_rollup_apply();
