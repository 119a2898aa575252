-- The receiver's state of the package chain (the same tables live in the internal
-- store, tile-server migration 0030, for registration packages coming back).
-- Applied packages are recorded in the transaction that applies their data.
CREATE TABLE sync_applied (
    sender        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    sequence      BIGINT NOT NULL,
    manifest_sm3  TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    rows_applied  BIGINT NOT NULL,
    applied_at    TEXT NOT NULL,
    PRIMARY KEY (sender, kind, sequence)
);

-- Packages that arrived ahead of a gap, kept (a copy in the inbox) until it is filled.
CREATE TABLE sync_held (
    sender        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    sequence      BIGINT NOT NULL,
    manifest_sm3  TEXT NOT NULL,
    file          TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    PRIMARY KEY (sender, kind, sequence, manifest_sm3)
);

-- Refused packages (a copy in the inbox) and why.
CREATE TABLE sync_quarantine (
    file          TEXT PRIMARY KEY,
    original      TEXT NOT NULL,
    reason        TEXT NOT NULL,
    received_at   TEXT NOT NULL
);

-- Keys learnt from rotations, and keys rotated out (from `retired_at_sequence` on).
CREATE TABLE sync_keys (
    key_id               TEXT PRIMARY KEY,
    public_pem           TEXT NOT NULL,
    introduced_by        TEXT,
    introduced_at        BIGINT,
    retired_at_sequence  BIGINT
);
