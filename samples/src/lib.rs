//! Synthetic cadastral districts: the committed sample district and a
//! generator for districts of any size with injected, known defects.
