//! See `benches/suite.rs`.
