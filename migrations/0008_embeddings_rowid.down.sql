-- Back to the WITHOUT ROWID layout of 0001 (primary key on reflection and model), every row copied.

ALTER TABLE embeddings RENAME TO embeddings_rowid;

CREATE TABLE embeddings (
    reflection_id  TEXT NOT NULL REFERENCES reflections(id) ON DELETE CASCADE,
    model          TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    dim            INTEGER NOT NULL,
    vector         BLOB NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (reflection_id, model)
) WITHOUT ROWID;

INSERT INTO embeddings (reflection_id, model, content_hash, dim, vector, created_at)
SELECT reflection_id, model, content_hash, dim, vector, created_at FROM embeddings_rowid;

DROP TABLE embeddings_rowid;

CREATE INDEX idx_embeddings_model ON embeddings(model);
CREATE INDEX idx_embeddings_current ON embeddings(reflection_id, model, content_hash);
