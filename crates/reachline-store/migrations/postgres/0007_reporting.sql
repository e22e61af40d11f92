-- Reporting: the calendar month of each contact (so both databases group alike) and a mark
-- on synthetic demo records so `reachline demo purge` removes exactly them.
ALTER TABLE contacts ADD COLUMN month TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN synthetic BIGINT NOT NULL DEFAULT 0;
UPDATE contacts SET month = to_char(to_timestamp(started_at) AT TIME ZONE 'UTC', 'YYYY-MM');
CREATE INDEX contacts_month_area ON contacts (month, area);
