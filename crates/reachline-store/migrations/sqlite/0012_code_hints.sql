-- A short keyed fingerprint of the return code beside what it opens (a saved workbook, a
-- secure-message thread), so a code that opens nothing is turned away without the slow
-- derivation. Rows from before have none and are still found the slow way.
ALTER TABLE workbooks ADD COLUMN hint TEXT;
ALTER TABLE conversations ADD COLUMN hint TEXT;
CREATE INDEX workbooks_hint ON workbooks (hint);
CREATE INDEX conversations_hint ON conversations (hint);
