//! Desktop app for surveyors. Filled in by the desktop issue.
