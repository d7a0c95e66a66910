DROP TABLE commons_objects;
