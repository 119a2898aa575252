-- The extranet receiving database (SQLite or PostgreSQL: this file is valid in both).
-- A mirror of the internal store's non-spatial results, the applied chain of packages,
-- and the registration results the registration system records here.
-- Times are RFC 3339 text (UTC), exactly as the packages carry them.

CREATE TABLE land_units (                      -- 宗地 as land unit (ZDDM + W00000000)
    zddm        TEXT PRIMARY KEY,              -- 宗地代码
    zl          TEXT NOT NULL,                 -- 坐落
    zdmj        DOUBLE PRECISION,              -- 宗地面积
    yt          TEXT,                          -- 用途
    qllx        TEXT,                          -- 权利类型
    qlxz        TEXT,                          -- 权利性质
    state       TEXT NOT NULL,
    version_id  BIGINT NOT NULL,
    seq         BIGINT NOT NULL                -- package that last wrote the row
);

CREATE TABLE buildings (                       -- 自然幢 ZRZ, attributes only
    zrzh        TEXT PRIMARY KEY,              -- 自然幢号
    zddm        TEXT NOT NULL,
    county      TEXT NOT NULL,
    jzwmc       TEXT NOT NULL,                 -- 建筑物名称
    zl          TEXT NOT NULL,
    jgrq        TEXT,                          -- 竣工日期 (YYYY-MM-DD)
    dscs        BIGINT,                        -- 地上层数
    dxcs        BIGINT,                        -- 地下层数
    fwjg        TEXT,                          -- 房屋结构
    ghyt        TEXT,                          -- 规划用途
    ycjzmj      DOUBLE PRECISION,
    scjzmj      DOUBLE PRECISION,
    state       TEXT NOT NULL,
    version_id  BIGINT NOT NULL,
    valid_from  TEXT NOT NULL,
    seq         BIGINT NOT NULL
);

CREATE TABLE floors (                          -- 层 C: the current floor list of a building
    zrzh        TEXT NOT NULL,
    sjc         BIGINT NOT NULL,               -- 实际层
    myc         TEXT NOT NULL,                 -- 名义层
    cmc         TEXT NOT NULL,                 -- 层名称
    PRIMARY KEY (zrzh, sjc)
);

CREATE TABLE units (                           -- 户 H (no owner data)
    bdcdyh      TEXT PRIMARY KEY,              -- 不动产单元号
    zrzh        TEXT NOT NULL,
    fwbm        TEXT,
    ljzh        TEXT,
    sjc         BIGINT NOT NULL,
    myc         TEXT NOT NULL,
    dyh         TEXT NOT NULL,
    shbw        TEXT NOT NULL,
    hx          TEXT,
    fwyt        TEXT,
    zl          TEXT NOT NULL,
    yctnjzmj    DOUBLE PRECISION,
    ycftjzmj    DOUBLE PRECISION,
    ycjzmj      DOUBLE PRECISION,
    sctnjzmj    DOUBLE PRECISION,
    scftjzmj    DOUBLE PRECISION,
    scjzmj      DOUBLE PRECISION,
    ftxs        DOUBLE PRECISION,              -- 分摊系数 K
    gytdmj      DOUBLE PRECISION,
    fttdmj      DOUBLE PRECISION,
    dytdmj      DOUBLE PRECISION,
    mortgaged   BIGINT NOT NULL,               -- 抵押 0/1 (sqlx Any reads no SQLite BOOLEAN)
    sealed      BIGINT NOT NULL,               -- 查封 0/1
    state       TEXT NOT NULL,
    version_id  BIGINT NOT NULL,
    valid_from  TEXT NOT NULL,
    seq         BIGINT NOT NULL
);
CREATE INDEX units_building ON units (zrzh);

CREATE TABLE lineage (                         -- 新旧单元谱系
    county      TEXT NOT NULL,
    event_id    BIGINT NOT NULL,
    old_code    TEXT NOT NULL,
    new_code    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (county, old_code, new_code, event_id)
);

-- Registration results (登簿) recorded on the extranet; `revision` grows with every
-- change, `exported_revision` is what the last registrations package carried.
CREATE TABLE registrations (
    bdcdyh             TEXT PRIMARY KEY,
    bdcqzh             TEXT,                   -- 不动产权证书号
    djzt               TEXT NOT NULL,          -- 登记状态
    djsj               TEXT,                   -- 登簿时间
    revision           BIGINT NOT NULL,
    exported_revision  BIGINT NOT NULL DEFAULT 0
);

-- Clients of `share-sync serve` (tokens stored as SHA-256; tokens are random).
CREATE TABLE api_clients (
    client        TEXT PRIMARY KEY,
    token_sha256  TEXT NOT NULL UNIQUE,
    per_minute    BIGINT NOT NULL,
    may_register  BIGINT NOT NULL,
    created_at    TEXT NOT NULL
);
