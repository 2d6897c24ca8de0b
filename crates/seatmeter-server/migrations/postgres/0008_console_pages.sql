-- The console's pages: a message for the next page a session shows (what
-- a form did, or why it was refused), prefixed `done:` or `error:`.
ALTER TABLE sessions ADD COLUMN flash TEXT;
