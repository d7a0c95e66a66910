-- Table rebuild (SQLite cannot add CHECK constraints with ALTER TABLE): reflections gain
-- constraints on visibility and intensity and an updated_at column. The migrator runs this with
-- foreign_keys off (outside the transaction) and runs foreign_key_check before commit, as SQLite
-- documents for schema changes.

CREATE TABLE reflections_new (
    id            TEXT PRIMARY KEY,
    identity_id   TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    tz            TEXT,
    title         TEXT,
    content       TEXT NOT NULL,
    source        TEXT,
    source_id     TEXT,
    content_hash  TEXT NOT NULL,
    visibility    TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'shared', 'public')),
    intensity     REAL CHECK (intensity IS NULL OR intensity BETWEEN 0 AND 1),
    metadata      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    updated_at    TEXT NOT NULL
);

INSERT INTO reflections_new (id, identity_id, created_at, tz, title, content, source, source_id,
                             content_hash, visibility, intensity, metadata, updated_at)
SELECT id, identity_id, created_at, tz, title, content, source, source_id, content_hash,
       CASE WHEN visibility IN ('private', 'shared', 'public') THEN visibility ELSE 'private' END,
       CASE WHEN intensity BETWEEN 0 AND 1 THEN intensity ELSE NULL END,
       metadata, created_at
FROM reflections;

DROP TABLE reflections;
ALTER TABLE reflections_new RENAME TO reflections;

CREATE INDEX idx_reflections_identity_created ON reflections(identity_id, created_at);
CREATE INDEX idx_reflections_hash ON reflections(identity_id, content_hash);
CREATE UNIQUE INDEX idx_reflections_source ON reflections(identity_id, source, source_id)
    WHERE source IS NOT NULL AND source_id IS NOT NULL;
