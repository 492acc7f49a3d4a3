-- Schema version 3: credentials (values encrypted by the server before they reach the database) and API tokens
-- (only a SHA-256 of each token is kept; the token itself is shown once).

CREATE TABLE credentials (
    project    text NOT NULL,
    name       text NOT NULL,
    adaptor    text NOT NULL,
    envelope   text NOT NULL,
    updated_at {{time}} NOT NULL,
    PRIMARY KEY (project, name)
);

CREATE TABLE api_tokens (
    id         text PRIMARY KEY,
    hash       text NOT NULL,
    name       text NOT NULL,
    role       text NOT NULL,
    created_at {{time}} NOT NULL,
    revoked_at {{time}} NULL
);
