//! conftest output formats.
