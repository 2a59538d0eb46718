CREATE TABLE core_session (
    session_key TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX core_session_expires_at ON core_session (expires_at);
