-- Bearer tokens of the local HTTP API (`mirror-kit serve`). Only a SHA-256 hash of each token is kept;
-- a token belongs to one identity, or to every identity when identity_id is NULL (the journal's owner).
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL,
    identity_id  TEXT REFERENCES identities(id) ON DELETE CASCADE,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    label        TEXT,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT
);
CREATE INDEX idx_api_tokens_identity ON api_tokens(identity_id);
