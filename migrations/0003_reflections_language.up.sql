-- A plain column add: the language a reflection is written in (BCP-47, e.g. 'en'), when known.
ALTER TABLE reflections ADD COLUMN language TEXT;
