-- Full-text index of reflections (title and content) for search. `search_docs` gives each reflection a
-- stable integer key (an INTEGER PRIMARY KEY survives VACUUM, the implicit rowid of `reflections` may
-- not); `reflections_fts` is an FTS5 table keyed by it. Triggers keep both in step with every write
-- to `reflections`, whichever code path makes it. Porter stemming lets "training" find "trained".

CREATE TABLE search_docs (
    rowid          INTEGER PRIMARY KEY,
    reflection_id  TEXT NOT NULL UNIQUE
);

CREATE VIRTUAL TABLE reflections_fts USING fts5(
    title, content, tokenize = 'porter unicode61 remove_diacritics 2'
);

INSERT INTO search_docs (reflection_id) SELECT id FROM reflections ORDER BY created_at, id;
INSERT INTO reflections_fts (rowid, title, content)
SELECT d.rowid, coalesce(r.title, ''), r.content FROM search_docs d JOIN reflections r ON r.id = d.reflection_id;

CREATE TRIGGER reflections_search_ai AFTER INSERT ON reflections BEGIN
    INSERT INTO search_docs (reflection_id) VALUES (new.id);
    INSERT INTO reflections_fts (rowid, title, content)
    VALUES ((SELECT rowid FROM search_docs WHERE reflection_id = new.id), coalesce(new.title, ''), new.content);
END;

CREATE TRIGGER reflections_search_ad AFTER DELETE ON reflections BEGIN
    DELETE FROM reflections_fts WHERE rowid = (SELECT rowid FROM search_docs WHERE reflection_id = old.id);
    DELETE FROM search_docs WHERE reflection_id = old.id;
END;

CREATE TRIGGER reflections_search_au AFTER UPDATE OF id, title, content ON reflections BEGIN
    UPDATE search_docs SET reflection_id = new.id WHERE reflection_id = old.id;
    UPDATE reflections_fts SET title = coalesce(new.title, ''), content = new.content
    WHERE rowid = (SELECT rowid FROM search_docs WHERE reflection_id = new.id);
END;
