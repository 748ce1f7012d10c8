//! Storage engine (being written).
