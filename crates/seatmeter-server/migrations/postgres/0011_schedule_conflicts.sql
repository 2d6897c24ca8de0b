-- Refuse, at scheduling time, a meeting that would put its host over their
-- concurrency limit among their scheduled meetings (an account option).
ALTER TABLE accounts ADD COLUMN refuse_schedule_conflicts BIGINT NOT NULL DEFAULT 0;
