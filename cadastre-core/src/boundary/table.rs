//! Boundary-point tables (界址点成果表) as CSV.
