DROP TRIGGER IF EXISTS reflections_search_au;
DROP TRIGGER IF EXISTS reflections_search_ad;
DROP TRIGGER IF EXISTS reflections_search_ai;
DROP TABLE IF EXISTS reflections_fts;
DROP TABLE IF EXISTS search_docs;
