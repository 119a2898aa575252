-- Cadastral objects (national database standard names in comments).
-- Every table: `county` CHAR(6) (tenant scope and Citus distribution column, first
-- in every primary key), and the versioning columns
--   state       现势 'current' / 历史 'historical' / 临时 'temporary'
--   valid_from  when this version became current
--   valid_to    when it stopped being current (NULL while current or temporary)
-- At most one current and one temporary version per business key.

CREATE TABLE districts (                       -- 地籍区 DJQ
    county      CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    version_id  BIGINT GENERATED ALWAYS AS IDENTITY,
    djqdm       CHAR(9) NOT NULL CHECK (djqdm ~ '^\d{9}$'),    -- 地籍区代码
    djqmc       TEXT NOT NULL DEFAULT '',                      -- 地籍区名称
    geom        geometry(MultiPolygon),
    state       TEXT NOT NULL DEFAULT 'current' CHECK (state IN ('current', 'historical', 'temporary')),
    valid_from  TIMESTAMPTZ NOT NULL DEFAULT now(),
    valid_to    TIMESTAMPTZ,
    PRIMARY KEY (county, version_id),
    CHECK (left(djqdm, 6) = county)
);

CREATE TABLE sub_districts (                   -- 地籍子区 DJZQ
    county      CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    version_id  BIGINT GENERATED ALWAYS AS IDENTITY,
    djzqdm      CHAR(12) NOT NULL CHECK (djzqdm ~ '^\d{12}$'), -- 地籍子区代码
    djzqmc      TEXT NOT NULL DEFAULT '',                      -- 地籍子区名称
    geom        geometry(MultiPolygon),
    state       TEXT NOT NULL DEFAULT 'current' CHECK (state IN ('current', 'historical', 'temporary')),
    valid_from  TIMESTAMPTZ NOT NULL DEFAULT now(),
    valid_to    TIMESTAMPTZ,
    PRIMARY KEY (county, version_id),
    CHECK (left(djzqdm, 6) = county)
);

CREATE TABLE parcels (                         -- 宗地 ZDJBXX
    county      CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    version_id  BIGINT GENERATED ALWAYS AS IDENTITY,
    zddm        CHAR(19) NOT NULL CHECK (zddm ~ '^\d{12}[GJZ][A-Z0]\d{5}$'), -- 宗地代码
    djzqdm      CHAR(12) GENERATED ALWAYS AS (left(zddm, 12)) STORED,   -- 地籍子区代码
    zl          TEXT NOT NULL DEFAULT '',      -- 坐落
    zdmj        NUMERIC(14, 2),                -- 宗地面积 m²
    yt          TEXT,                          -- 用途 (GB/T 21010)
    qllx        TEXT,                          -- 权利类型
    qlxz        TEXT,                          -- 权利性质
    geom        geometry(MultiPolygon),
    state       TEXT NOT NULL DEFAULT 'current' CHECK (state IN ('current', 'historical', 'temporary')),
    valid_from  TIMESTAMPTZ NOT NULL DEFAULT now(),
    valid_to    TIMESTAMPTZ,
    PRIMARY KEY (county, version_id),
    CHECK (left(zddm, 6) = county)
);

CREATE TABLE boundary_points (                 -- 界址点 JZD
    county      CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    version_id  BIGINT GENERATED ALWAYS AS IDENTITY,
    zddm        CHAR(19) NOT NULL,
    jzdh        TEXT NOT NULL,                 -- 界址点号
    jblx        TEXT,                          -- 界标类型
    geom        geometry(Point),
    state       TEXT NOT NULL DEFAULT 'current' CHECK (state IN ('current', 'historical', 'temporary')),
    valid_from  TIMESTAMPTZ NOT NULL DEFAULT now(),
    valid_to    TIMESTAMPTZ,
    PRIMARY KEY (county, version_id),
    CHECK (left(zddm, 6) = county)
);

CREATE TABLE boundary_lines (                  -- 界址线 JZX
    county      CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    version_id  BIGINT GENERATED ALWAYS AS IDENTITY,
    zddm        CHAR(19) NOT NULL,
    qsjzdh      TEXT NOT NULL,                 -- 起始界址点号
    zzjzdh      TEXT NOT NULL,                 -- 终止界址点号
    jzxlb       TEXT,                          -- 界址线类别
    geom        geometry(LineString),
    state       TEXT NOT NULL DEFAULT 'current' CHECK (state IN ('current', 'historical', 'temporary')),
    valid_from  TIMESTAMPTZ NOT NULL DEFAULT now(),
    valid_to    TIMESTAMPTZ,
    PRIMARY KEY (county, version_id),
    CHECK (left(zddm, 6) = county)
);

CREATE TABLE buildings (                       -- 自然幢 ZRZ
    county      CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    version_id  BIGINT GENERATED ALWAYS AS IDENTITY,
    zrzh        CHAR(24) NOT NULL CHECK (zrzh ~ '^\d{12}[GJZ][A-Z0]\d{5}F\d{4}$'), -- 自然幢号
    zddm        CHAR(19) GENERATED ALWAYS AS (left(zrzh, 19)) STORED,
    jzwmc       TEXT NOT NULL DEFAULT '',      -- 建筑物名称
    zl          TEXT NOT NULL DEFAULT '',      -- 坐落
    jgrq        DATE,                          -- 竣工日期
    dscs        INTEGER,                       -- 地上层数
    dxcs        INTEGER,                       -- 地下层数
    fwjg        TEXT,                          -- 房屋结构
    ghyt        TEXT,                          -- 规划用途
    ycjzmj      NUMERIC(14, 2),                -- 预测建筑面积
    scjzmj      NUMERIC(14, 2),                -- 实测建筑面积
    geom        geometry(MultiPolygon),        -- footprint
    state       TEXT NOT NULL DEFAULT 'current' CHECK (state IN ('current', 'historical', 'temporary')),
    valid_from  TIMESTAMPTZ NOT NULL DEFAULT now(),
    valid_to    TIMESTAMPTZ,
    PRIMARY KEY (county, version_id),
    CHECK (left(zrzh, 6) = county)
);

CREATE TABLE logical_buildings (               -- 逻辑幢 LJZ
    county      CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    version_id  BIGINT GENERATED ALWAYS AS IDENTITY,
    zrzh        CHAR(24) NOT NULL,
    ljzh        TEXT NOT NULL,                 -- 逻辑幢号
    mph         TEXT,                          -- 门牌号
    fwyt        TEXT,                          -- 房屋用途
    state       TEXT NOT NULL DEFAULT 'current' CHECK (state IN ('current', 'historical', 'temporary')),
    valid_from  TIMESTAMPTZ NOT NULL DEFAULT now(),
    valid_to    TIMESTAMPTZ,
    PRIMARY KEY (county, version_id),
    CHECK (left(zrzh, 6) = county)
);

CREATE TABLE floors (                          -- 层 C
    county      CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    version_id  BIGINT GENERATED ALWAYS AS IDENTITY,
    zrzh        CHAR(24) NOT NULL,
    sjc         INTEGER NOT NULL,              -- 实际层 (physical floor; basements negative)
    myc         TEXT NOT NULL,                 -- 名义层 (nominal floor)
    cmc         TEXT NOT NULL DEFAULT '',      -- 层名称 e.g. 第6层 / 负1层
    state       TEXT NOT NULL DEFAULT 'current' CHECK (state IN ('current', 'historical', 'temporary')),
    valid_from  TIMESTAMPTZ NOT NULL DEFAULT now(),
    valid_to    TIMESTAMPTZ,
    PRIMARY KEY (county, version_id),
    CHECK (left(zrzh, 6) = county)
);

CREATE TABLE households (                      -- 户 H
    county      CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    version_id  BIGINT GENERATED ALWAYS AS IDENTITY,
    bdcdyh      CHAR(28) NOT NULL CHECK (bdcdyh ~ '^\d{12}[GJZ][A-Z0]\d{5}[FLQW]\d{8}$'), -- 不动产单元号
    zrzh        CHAR(24) NOT NULL,
    fwbm        CHAR(26),                      -- 房屋编码 (JGJ/T 246)
    ljzh        TEXT,                          -- 逻辑幢号
    sjc         INTEGER NOT NULL,              -- 实际层
    myc         TEXT NOT NULL,                 -- 名义层
    dyh         TEXT NOT NULL DEFAULT '',      -- 单元号 (stair unit)
    shbw        TEXT NOT NULL DEFAULT '',      -- 室号部位 / 户号
    hx          TEXT,                          -- 户型
    fwyt        TEXT,                          -- 房屋用途
    zl          TEXT NOT NULL DEFAULT '',      -- 坐落
    yctnjzmj    NUMERIC(12, 2),                -- 预测套内建筑面积
    ycftjzmj    NUMERIC(12, 2),                -- 预测分摊建筑面积
    ycjzmj      NUMERIC(12, 2),                -- 预测建筑面积
    sctnjzmj    NUMERIC(12, 2),                -- 实测套内建筑面积
    scftjzmj    NUMERIC(12, 2),                -- 实测分摊建筑面积
    scjzmj      NUMERIC(12, 2),                -- 实测建筑面积
    ftxs        NUMERIC(12, 8),                -- 分摊系数
    gytdmj      NUMERIC(12, 2),                -- 共有土地面积
    fttdmj      NUMERIC(12, 2),                -- 分摊土地面积
    dytdmj      NUMERIC(12, 2),                -- 独用土地面积
    mortgaged   BOOLEAN NOT NULL DEFAULT FALSE, -- 抵押
    sealed      BOOLEAN NOT NULL DEFAULT FALSE, -- 查封
    -- Owner (权利人) name and ID number: AES-256-GCM, nonce || ciphertext; the key
    -- lives outside the database (server config), never in it.
    qlr_enc     BYTEA,
    zjh_enc     BYTEA,
    state       TEXT NOT NULL DEFAULT 'current' CHECK (state IN ('current', 'historical', 'temporary')),
    valid_from  TIMESTAMPTZ NOT NULL DEFAULT now(),
    valid_to    TIMESTAMPTZ,
    PRIMARY KEY (county, version_id),
    CHECK (left(bdcdyh, 6) = county),
    CHECK (left(bdcdyh, 19) = left(zrzh, 19))
);

-- Result packages handed in by surveyors, and the reviewer's decision.
-- Not versioned: status moves received -> accepted | returned, each move audited.
CREATE TABLE submissions (
    county         CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    submission_id  BIGINT GENERATED ALWAYS AS IDENTITY,
    title          TEXT NOT NULL DEFAULT '',
    submitted_by   BIGINT NOT NULL REFERENCES users (user_id),
    submitted_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    package        JSONB NOT NULL,
    status         TEXT NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'accepted', 'returned')),
    decided_by     BIGINT REFERENCES users (user_id),
    decided_at     TIMESTAMPTZ,
    decision_note  TEXT,
    PRIMARY KEY (county, submission_id)
);

-- One current and one temporary version per key; history is unbounded.
CREATE UNIQUE INDEX districts_current ON districts (county, djqdm) WHERE state = 'current';
CREATE UNIQUE INDEX districts_temporary ON districts (county, djqdm) WHERE state = 'temporary';
CREATE UNIQUE INDEX sub_districts_current ON sub_districts (county, djzqdm) WHERE state = 'current';
CREATE UNIQUE INDEX sub_districts_temporary ON sub_districts (county, djzqdm) WHERE state = 'temporary';
CREATE UNIQUE INDEX parcels_current ON parcels (county, zddm) WHERE state = 'current';
CREATE UNIQUE INDEX parcels_temporary ON parcels (county, zddm) WHERE state = 'temporary';
CREATE UNIQUE INDEX boundary_points_current ON boundary_points (county, zddm, jzdh) WHERE state = 'current';
CREATE UNIQUE INDEX boundary_lines_current ON boundary_lines (county, zddm, qsjzdh, zzjzdh) WHERE state = 'current';
CREATE UNIQUE INDEX buildings_current ON buildings (county, zrzh) WHERE state = 'current';
CREATE UNIQUE INDEX buildings_temporary ON buildings (county, zrzh) WHERE state = 'temporary';
CREATE UNIQUE INDEX logical_buildings_current ON logical_buildings (county, zrzh, ljzh) WHERE state = 'current';
CREATE UNIQUE INDEX floors_current ON floors (county, zrzh, sjc) WHERE state = 'current';
CREATE UNIQUE INDEX households_current ON households (county, bdcdyh) WHERE state = 'current';
CREATE UNIQUE INDEX households_temporary ON households (county, bdcdyh) WHERE state = 'temporary';

CREATE INDEX parcels_key ON parcels (county, zddm);
CREATE INDEX parcels_sub_district ON parcels (county, djzqdm) WHERE state = 'current';
CREATE INDEX parcels_geom ON parcels USING gist (geom);
CREATE INDEX parcels_zl ON parcels (county, zl text_pattern_ops) WHERE state = 'current';
CREATE INDEX sub_districts_geom ON sub_districts USING gist (geom);
CREATE INDEX districts_geom ON districts USING gist (geom);
CREATE INDEX boundary_points_geom ON boundary_points USING gist (geom);
CREATE INDEX boundary_lines_geom ON boundary_lines USING gist (geom);
CREATE INDEX buildings_geom ON buildings USING gist (geom);
CREATE INDEX buildings_parcel ON buildings (county, zddm) WHERE state = 'current';
CREATE INDEX households_key ON households (county, bdcdyh);
CREATE INDEX households_building ON households (county, zrzh) WHERE state = 'current';
CREATE INDEX households_zl ON households (county, zl text_pattern_ops) WHERE state = 'current';
CREATE INDEX floors_building ON floors (county, zrzh) WHERE state = 'current';

DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['districts', 'sub_districts', 'parcels', 'boundary_points',
                             'boundary_lines', 'buildings', 'logical_buildings', 'floors', 'households']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I
                        FOR EACH ROW EXECUTE FUNCTION guard_versioned_row()', t || '_versioned', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['districts', 'sub_districts', 'parcels', 'boundary_points',
                             'boundary_lines', 'buildings']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OF geom ON %I
                        FOR EACH ROW EXECUTE FUNCTION enforce_store_srid()', t || '_srid', t);
    END LOOP;
END $$;
