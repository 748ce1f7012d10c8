//! The store's one integration-test binary.
