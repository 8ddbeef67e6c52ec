//! environment (in progress).
