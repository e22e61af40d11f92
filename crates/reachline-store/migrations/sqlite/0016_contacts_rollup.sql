-- Reporting at scale: contacts counted by every column a report groups them by (one row a
-- group and month), kept by triggers in the same transaction as each contact's insert,
-- change or removal. A year's area report reads these tens of thousands of counts instead
-- of millions of contacts; the counts are exactly what grouping the contacts gives (the
-- storage suite compares the two). A group whose count reaches nought is removed.
CREATE TABLE contacts_rollup (
    area            TEXT    NOT NULL,
    month           TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    who             TEXT    NOT NULL,
    age_group       TEXT    NOT NULL,
    first_this_year INTEGER NOT NULL,
    concerns        TEXT    NOT NULL,
    actions         TEXT    NOT NULL,
    signposting     TEXT    NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (area, month, channel, who, age_group, first_this_year, concerns, actions, signposting)
) WITHOUT ROWID;
CREATE INDEX contacts_rollup_month ON contacts_rollup (month);

INSERT INTO contacts_rollup
    SELECT area, month, channel, who, age_group, first_this_year, concerns, actions, signposting, COUNT(*)
    FROM contacts
    GROUP BY area, month, channel, who, age_group, first_this_year, concerns, actions, signposting;

CREATE TRIGGER contacts_rollup_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_rollup
        VALUES (NEW.area, NEW.month, NEW.channel, NEW.who, NEW.age_group, NEW.first_this_year,
                NEW.concerns, NEW.actions, NEW.signposting, 1)
        ON CONFLICT (area, month, channel, who, age_group, first_this_year, concerns, actions, signposting)
        DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER contacts_rollup_delete AFTER DELETE ON contacts BEGIN
    UPDATE contacts_rollup SET n = n - 1
        WHERE area = OLD.area AND month = OLD.month AND channel = OLD.channel AND who = OLD.who
          AND age_group = OLD.age_group AND first_this_year = OLD.first_this_year
          AND concerns = OLD.concerns AND actions = OLD.actions AND signposting = OLD.signposting;
    DELETE FROM contacts_rollup
        WHERE area = OLD.area AND month = OLD.month AND channel = OLD.channel AND who = OLD.who
          AND age_group = OLD.age_group AND first_this_year = OLD.first_this_year
          AND concerns = OLD.concerns AND actions = OLD.actions AND signposting = OLD.signposting
          AND n <= 0;
END;

CREATE TRIGGER contacts_rollup_update
AFTER UPDATE OF area, month, channel, who, age_group, first_this_year, concerns, actions, signposting ON contacts
BEGIN
    UPDATE contacts_rollup SET n = n - 1
        WHERE area = OLD.area AND month = OLD.month AND channel = OLD.channel AND who = OLD.who
          AND age_group = OLD.age_group AND first_this_year = OLD.first_this_year
          AND concerns = OLD.concerns AND actions = OLD.actions AND signposting = OLD.signposting;
    DELETE FROM contacts_rollup
        WHERE area = OLD.area AND month = OLD.month AND channel = OLD.channel AND who = OLD.who
          AND age_group = OLD.age_group AND first_this_year = OLD.first_this_year
          AND concerns = OLD.concerns AND actions = OLD.actions AND signposting = OLD.signposting
          AND n <= 0;
    INSERT INTO contacts_rollup
        VALUES (NEW.area, NEW.month, NEW.channel, NEW.who, NEW.age_group, NEW.first_this_year,
                NEW.concerns, NEW.actions, NEW.signposting, 1)
        ON CONFLICT (area, month, channel, who, age_group, first_this_year, concerns, actions, signposting)
        DO UPDATE SET n = n + 1;
END;
