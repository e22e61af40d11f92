-- Reporting: the calendar month of each contact (so both databases group alike) and a mark
-- on synthetic demo records so `reachline demo purge` removes exactly them.
ALTER TABLE contacts ADD COLUMN month TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN synthetic INTEGER NOT NULL DEFAULT 0;
UPDATE contacts SET month = strftime('%Y-%m', started_at, 'unixepoch');
CREATE INDEX contacts_month_area ON contacts (month, area);
