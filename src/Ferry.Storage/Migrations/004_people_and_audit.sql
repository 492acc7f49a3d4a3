-- Schema version 4: people and access. Users (password hashed with PBKDF2 by the server; null = token-only user),
-- per-project roles, tokens that belong to a user (API tokens and 12-hour console sessions, both kept as SHA-256
-- hashes only, with an expiry) and the audit log of every change (never a secret value: see docs/access.md).

CREATE TABLE users (
    username      text PRIMARY KEY,
    password_hash text NULL,
    is_admin      integer NOT NULL DEFAULT 0,
    disabled      integer NOT NULL DEFAULT 0,
    created_at    {{time}} NOT NULL,
    updated_at    {{time}} NOT NULL
);

CREATE TABLE project_members (
    project    text NOT NULL,
    username   text NOT NULL REFERENCES users (username),
    role       text NOT NULL,
    created_at {{time}} NOT NULL,
    updated_at {{time}} NOT NULL,
    PRIMARY KEY (project, username)
);
CREATE INDEX project_members_user ON project_members (username);

-- Tokens made before users existed were the first start's admin token: they now belong to the server admin 'admin'.
ALTER TABLE api_tokens ADD COLUMN username text NULL;
ALTER TABLE api_tokens ADD COLUMN kind text NOT NULL DEFAULT 'api';
ALTER TABLE api_tokens ADD COLUMN expires_at {{time}} NULL;
INSERT INTO users (username, password_hash, is_admin, disabled, created_at, updated_at)
    SELECT 'admin', NULL, 1, 0, MIN(created_at), MIN(created_at) FROM api_tokens HAVING COUNT(*) > 0;
UPDATE api_tokens SET username = 'admin' WHERE username IS NULL;
CREATE INDEX api_tokens_user ON api_tokens (username);

CREATE TABLE audit_log (
    seq         {{seq_pk}},
    time        {{time}} NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    project     text NULL,
    target      text NOT NULL,
    before_json text NULL,
    after_json  text NULL
);
CREATE INDEX audit_log_project ON audit_log (project, seq);
