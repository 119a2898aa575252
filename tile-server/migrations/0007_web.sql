-- The summary endpoint (/api/summary) asks for the last write per county; logins
-- (object_type 'token') are not writes to the cadastre.
CREATE INDEX audit_county_at ON audit (county, at) WHERE object_type <> 'token';
