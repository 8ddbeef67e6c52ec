//! cold_start (in progress).
