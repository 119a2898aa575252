//! Printed outputs.
