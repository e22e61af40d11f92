-- Reporting at scale: two indexes that hold every column a report groups contacts by, in the
-- order it groups them, so a report is read from an index alone with no sort: by area, then
-- month, for an area's report; by month for national figures. contacts_report begins with
-- (month, area), so it replaces contacts_month_area.
CREATE INDEX contacts_report_area ON contacts
    (area, month, channel, who, age_group, first_this_year, concerns, actions, signposting);
CREATE INDEX contacts_report ON contacts
    (month, area, channel, who, age_group, first_this_year, concerns, actions, signposting);
DROP INDEX contacts_month_area;
