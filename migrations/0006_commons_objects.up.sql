-- The journal's replica of its Commons: signed, content-addressed records (proposals, votes, members,
-- the genesis) exactly as they travel. `pushed` marks records already copied to the shared folder.
CREATE TABLE commons_objects (
    hash       TEXT PRIMARY KEY,
    body       BLOB NOT NULL,
    pushed     INTEGER NOT NULL DEFAULT 0 CHECK (pushed IN (0, 1)),
    added_at   TEXT NOT NULL
);
