//! Internal-zone server (业务内网): PostGIS store, batch import, review,
//! vector tiles and the unit-table API. Filled in by the server issue.
