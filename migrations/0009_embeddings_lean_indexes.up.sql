-- Drop the covering index (reflection_id, model, content_hash): it repeated the unique key's columns
-- plus the 64-character hash for every vector (0.10x of the raw vectors on disk). "Which reflections
-- lack a current vector" is answered through the unique key instead: each lookup reads the row's
-- hash, which precedes the vector in the row, from the leaf page that holds the row. Measured at
-- 100,000 vectors (bench/bench_vectors.py): 0.25 CPU s either way when vectors are stored in time
-- order, 0.29 against 0.23 in an order unrelated to time.
-- The unique key (INSERT OR REPLACE, the reflections cascade) and the model index (one pass over a
-- model's vectors in storage order) stay.

DROP INDEX idx_embeddings_current;
