-- Up Migration

-- The event that made a movement happen (a subtask's result, a task's end), as the movement names it.
ALTER TABLE credit_transactions ADD COLUMN cause_subject text, ADD COLUMN cause_event_id uuid;

-- Down Migration
ALTER TABLE credit_transactions DROP COLUMN cause_subject, DROP COLUMN cause_event_id;
