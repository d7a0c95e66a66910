-- Reading an identity's tension observations walks its reflections and looks each one's observations
-- up by reflection_id; with position and intensity in the index that lookup never visits the table
-- (500k observations: 7.6 s -> 2.3 s).
DROP INDEX idx_tension_observations_reflection;
CREATE INDEX idx_tension_observations_reflection
    ON tension_observations(reflection_id, tension_id, position, intensity);

-- The same for pattern occurrences and every per-identity listing: with the id in the index, walking an
-- identity's reflections in time order reads only the index (100k occurrences: 1.7 s -> 0.3 s).
DROP INDEX idx_reflections_identity_created;
CREATE INDEX idx_reflections_identity_created ON reflections(identity_id, created_at, id);
