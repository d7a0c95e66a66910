-- Table rebuild: `embeddings` becomes a plain rowid table. As a WITHOUT ROWID table each ~1.5 KB
-- vector exceeded the index b-tree's in-page payload limit (~1 KB on 4 KB pages) and spilled onto an
-- overflow page of its own (2.8x the payload on disk, reads 11x slower); a rowid table keeps up to
-- ~4 KB of a row in its leaf page, so vectors sit side by side and are read in one sequential pass.
-- The unique index keeps one vector per (reflection, model) and serves ON CONFLICT upserts.
-- The old table is renamed aside first so the new one is stored under its plain name (the schema
-- text then matches a journal created at this version). The migrator runs this with foreign_keys
-- off and runs foreign_key_check before commit.

ALTER TABLE embeddings RENAME TO embeddings_without_rowid;

CREATE TABLE embeddings (
    reflection_id  TEXT NOT NULL REFERENCES reflections(id) ON DELETE CASCADE,
    model          TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    dim            INTEGER NOT NULL,
    vector         BLOB NOT NULL,
    created_at     TEXT NOT NULL
);

INSERT INTO embeddings (reflection_id, model, content_hash, dim, vector, created_at)
SELECT reflection_id, model, content_hash, dim, vector, created_at FROM embeddings_without_rowid;

DROP TABLE embeddings_without_rowid;

CREATE UNIQUE INDEX idx_embeddings_key ON embeddings(reflection_id, model);
CREATE INDEX idx_embeddings_model ON embeddings(model);
-- Covering index for "which reflections lack a current vector for this model": answers from the
-- index alone, without reading any vector.
CREATE INDEX idx_embeddings_current ON embeddings(reflection_id, model, content_hash);
