-- Where each audited event came from (issue #14, 等保三级: who, when, from where):
-- the peer address of the request; NULL for the command line and the importer,
-- whose actor names the operator (`cli:<name>`, `import:<name>`). The index serves
-- "what did this actor do" reviews.
ALTER TABLE audit ADD COLUMN source INET;
CREATE INDEX audit_actor ON audit (actor, at);
