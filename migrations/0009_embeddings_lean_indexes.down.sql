-- Back to 0008: the covering index on (reflection_id, model, content_hash), rebuilt from the table.

CREATE INDEX idx_embeddings_current ON embeddings(reflection_id, model, content_hash);
