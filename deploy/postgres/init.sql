-- Runs once, on an empty data volume, as the postgres superuser.
-- `keel` holds Keel's schema (applied by the migrate service); `temporal` is
-- Temporal's persistence (auto-setup adds `temporal_visibility` itself).
CREATE DATABASE keel;
CREATE DATABASE temporal;

-- The application role. migrations/0001_initial.sql also creates it when
-- missing (tolerating existence); only here does it get a password.
CREATE ROLE keel_app LOGIN PASSWORD 'keel';
