-- Accounts: people (users) and systems (api_clients) and their bearer tokens.
-- These are small reference tables on Citus; `county` is the home county and
-- `counties` the full scope (a principal never sees data outside it).

CREATE TABLE users (
    user_id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    county         CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    counties       CHAR(6)[] NOT NULL,
    username       TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
    display_name   TEXT NOT NULL DEFAULT '',
    -- argon2id PHC string; never the password.
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('surveyor', 'reviewer', 'importer', 'admin')),
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (county = ANY (counties))
);

-- The registration system (登记系统) and other machine clients: read-only.
CREATE TABLE api_clients (
    client_pk              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    county                 CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    counties               CHAR(6)[] NOT NULL,
    client_id              TEXT NOT NULL UNIQUE CHECK (length(client_id) BETWEEN 1 AND 64),
    name                   TEXT NOT NULL DEFAULT '',
    secret_hash            TEXT NOT NULL,
    -- Requests per minute (token bucket); NULL = the server default.
    rate_limit_per_minute  INTEGER CHECK (rate_limit_per_minute > 0),
    -- CIDR blocks the client may call from; empty = any address.
    allowed_ips            TEXT[] NOT NULL DEFAULT '{}',
    disabled               BOOLEAN NOT NULL DEFAULT FALSE,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (county = ANY (counties))
);

-- Bearer tokens: 256 random bits given to the caller once; only SHA-256 is stored.
CREATE TABLE tokens (
    token_hash  BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
    county      CHAR(6) NOT NULL,
    user_id     BIGINT REFERENCES users (user_id),
    client_pk   BIGINT REFERENCES api_clients (client_pk),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ,
    CHECK ((user_id IS NULL) <> (client_pk IS NULL))
);
CREATE INDEX tokens_expires_at ON tokens (expires_at);
