-- PostgresML, where the server has it (the PostgresML image in docker-compose). Plain PostgreSQL and PGlite
-- lack the extension, and then this does nothing, so every install runs the same migration history.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgml') THEN
    CREATE EXTENSION IF NOT EXISTS pgml;
  END IF;
END
$$;
