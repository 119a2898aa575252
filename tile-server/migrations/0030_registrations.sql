-- Registration results (登簿) coming back from the extranet through the one-way gate
-- as share-sync packages, and the receiver state of that package chain.
-- Written only by `share-sync apply` (with an audit row per package); shown by the
-- unit endpoint beside the household. Not versioned with the household: the register
-- owns these fields, so they survive new survey versions of the unit.
CREATE TABLE unit_registrations (
    county          CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    bdcdyh          CHAR(28) NOT NULL CHECK (bdcdyh ~ '^\d{12}[GJZ][A-Z0]\d{5}[FLQW]\d{8}$'), -- 不动产单元号
    bdcqzh          TEXT,                      -- 不动产权证书号 (certificate number)
    djzt            TEXT NOT NULL,             -- 登记状态 (registration status)
    djsj            TIMESTAMPTZ,               -- 登簿时间 (registration time)
    revision        BIGINT NOT NULL,           -- the extranet's revision of this result
    source_sender   TEXT NOT NULL,             -- package that carried it
    source_sequence BIGINT NOT NULL,
    applied_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (county, bdcdyh),
    CHECK (left(bdcdyh, 6) = county)
);

-- share-sync receiver state (same layout as share-sync's receiving database).
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
CREATE TABLE sync_held (
    sender        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    sequence      BIGINT NOT NULL,
    manifest_sm3  TEXT NOT NULL,
    file          TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    PRIMARY KEY (sender, kind, sequence, manifest_sm3)
);
CREATE TABLE sync_quarantine (
    file          TEXT PRIMARY KEY,
    original      TEXT NOT NULL,
    reason        TEXT NOT NULL,
    received_at   TEXT NOT NULL
);
CREATE TABLE sync_keys (
    key_id               TEXT PRIMARY KEY,
    public_pem           TEXT NOT NULL,
    introduced_by        TEXT,
    introduced_at        BIGINT,
    retired_at_sequence  BIGINT
);

GRANT SELECT ON unit_registrations TO cadastre_app;
