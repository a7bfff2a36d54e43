-- Up Migration

-- jsonb refuses "\u0000" and lone surrogate escapes ("\ud800"), which signed events may carry
-- (a program's output is data, NULs included): one such event stopped a projection for good.
-- json keeps the text exactly as written and checks only its syntax, and rows' state is only
-- ever read whole or by simple paths, never indexed by content.
ALTER TABLE tasks ALTER COLUMN state TYPE json USING state::json;
ALTER TABLE subtasks ALTER COLUMN state TYPE json USING state::json;
ALTER TABLE agents ALTER COLUMN state TYPE json USING state::json;
ALTER TABLE agents ALTER COLUMN capabilities TYPE json USING capabilities::json;

-- Down Migration
ALTER TABLE agents ALTER COLUMN capabilities TYPE jsonb USING capabilities::jsonb;
ALTER TABLE agents ALTER COLUMN state TYPE jsonb USING state::jsonb;
ALTER TABLE subtasks ALTER COLUMN state TYPE jsonb USING state::jsonb;
ALTER TABLE tasks ALTER COLUMN state TYPE jsonb USING state::jsonb;
