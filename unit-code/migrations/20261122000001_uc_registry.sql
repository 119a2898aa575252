-- Unit-code registry (不动产单元代码登记): counters, issued codes, lifecycle events and lineage.
--
-- Every table carries `county` CHAR(6) (the GB/T 2260 county code, the first six
-- characters of every code) as the tenant / distribution key, and every primary
-- key starts with it, so the tables can later be partitioned or distributed by county.
-- Tables are prefixed `uc_` because the server's store shares this database.

-- Allocation counters, one row per scope:
--   kind 'P': parcel sequence (宗地顺序号) per sub-district + parcel feature code,
--             scope = 12-digit sub-district code || 2-char feature code, e.g. '330106001001GB'
--   kind 'B': building number (自然幢号) per parcel, scope = 19-char parcel code (ZDDM)
--   kind 'U': household number (户号) per building, scope = 24-char building code (ZRZH)
-- `last_issued` is the highest number handed out (0 = none yet). Allocation is
-- `INSERT .. ON CONFLICT DO UPDATE SET last_issued = last_issued + n RETURNING`,
-- in the same transaction that records the issued codes: the row lock serialises
-- allocations per scope, and a rolled-back transaction rolls the counter back
-- with it, so numbers are dense (no gaps) and unique.
CREATE TABLE uc_counter (
    county      CHAR(6)  NOT NULL,
    scope       TEXT     NOT NULL,
    kind        CHAR(1)  NOT NULL CHECK (kind IN ('P', 'B', 'U')),
    last_issued INTEGER  NOT NULL CHECK (last_issued >= 0),
    PRIMARY KEY (county, scope),
    CHECK (substr(scope, 1, 6) = county),
    -- 99999 parcels per sub-district+feature, 9999 buildings per parcel, 9999 households per building.
    CONSTRAINT uc_counter_limit CHECK (last_issued <= CASE kind WHEN 'P' THEN 99999 ELSE 9999 END)
);

-- Every code ever issued or registered. A code is never deleted: retired codes
-- stay as 'historical' so they are never reissued (one code per unit, ever).
--   level 'P' parcel code 宗地代码 (19), 'B' building code 自然幢号 ZRZH (24),
--   'U' real-estate unit code 不动产单元代码 BDCDYH (28).
--   status 'current' 现势 / 'historical' 历史 (retired: extinguished, split away, renumbered).
CREATE TABLE uc_unit (
    county     CHAR(6)     NOT NULL,
    code       VARCHAR(28) NOT NULL,
    level      CHAR(1)     NOT NULL CHECK (level IN ('P', 'B', 'U')),
    -- The scope the code was allocated in (see uc_counter.scope); for a parcel
    -- the sub-district + feature, for a building its parcel, for a unit its building
    -- (or its parcel for a land-only unit).
    parent     TEXT        NOT NULL,
    status     TEXT        NOT NULL DEFAULT 'current' CHECK (status IN ('current', 'historical')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    retired_at TIMESTAMPTZ,
    PRIMARY KEY (county, code),
    CHECK (substr(code, 1, 6) = county),
    CHECK (length(code) = CASE level WHEN 'P' THEN 19 WHEN 'B' THEN 24 ELSE 28 END),
    CHECK ((status = 'historical') = (retired_at IS NOT NULL))
);
CREATE INDEX uc_unit_parent_idx ON uc_unit (county, parent);

-- Lifecycle events: 设立 create, 变更 change, 分割 split, 合并 merge, 灭失 extinguish.
CREATE TABLE uc_event (
    county    CHAR(6)     NOT NULL,
    event_id  BIGINT      GENERATED ALWAYS AS IDENTITY,
    kind      TEXT        NOT NULL CHECK (kind IN ('create', 'change', 'split', 'merge', 'extinguish')),
    at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor     TEXT        NOT NULL,
    note      TEXT        NOT NULL DEFAULT '',
    old_codes TEXT[]      NOT NULL,
    new_codes TEXT[]      NOT NULL,
    PRIMARY KEY (county, event_id)
);

-- Lineage (新旧单元谱系): one edge per (old code -> new code) of an event.
CREATE TABLE uc_lineage (
    county   CHAR(6)     NOT NULL,
    event_id BIGINT      NOT NULL,
    old_code VARCHAR(28) NOT NULL,
    new_code VARCHAR(28) NOT NULL,
    kind     TEXT        NOT NULL,
    PRIMARY KEY (county, old_code, new_code, event_id),
    CHECK (old_code <> new_code),
    FOREIGN KEY (county, event_id) REFERENCES uc_event (county, event_id),
    FOREIGN KEY (county, old_code) REFERENCES uc_unit (county, code),
    FOREIGN KEY (county, new_code) REFERENCES uc_unit (county, code)
);
-- ancestors() walks new_code -> old_code; descendants() uses the primary key.
CREATE INDEX uc_lineage_new_idx ON uc_lineage (county, new_code);
