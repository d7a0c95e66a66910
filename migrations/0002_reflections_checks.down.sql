-- Rebuild back to the 0001 shape: constraints dropped, updated_at removed.
CREATE TABLE reflections_old (
    id            TEXT PRIMARY KEY,
    identity_id   TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    tz            TEXT,
    title         TEXT,
    content       TEXT NOT NULL,
    source        TEXT,
    source_id     TEXT,
    content_hash  TEXT NOT NULL,
    visibility    TEXT NOT NULL DEFAULT 'private',
    intensity     REAL,
    metadata      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata))
);

INSERT INTO reflections_old (id, identity_id, created_at, tz, title, content, source, source_id,
                             content_hash, visibility, intensity, metadata)
SELECT id, identity_id, created_at, tz, title, content, source, source_id, content_hash,
       visibility, intensity, metadata
FROM reflections;

DROP TABLE reflections;
ALTER TABLE reflections_old RENAME TO reflections;

CREATE INDEX idx_reflections_identity_created ON reflections(identity_id, created_at);
CREATE INDEX idx_reflections_hash ON reflections(identity_id, content_hash);
CREATE UNIQUE INDEX idx_reflections_source ON reflections(identity_id, source, source_id)
    WHERE source IS NOT NULL AND source_id IS NOT NULL;
