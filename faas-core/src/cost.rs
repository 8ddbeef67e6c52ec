//! cost (in progress).
