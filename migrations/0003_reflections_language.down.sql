ALTER TABLE reflections DROP COLUMN language;
