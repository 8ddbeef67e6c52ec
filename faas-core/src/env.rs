//! Where configuration is read from: `Env`, the environment *variables* of the process or a
//! fixed map in tests (the platform itself is [`crate::faas_environment`]).

use std::collections::HashMap;

/// A source of environment variables.
///
/// Configuration is always read through an `Env` so that detection and parsing are pure
/// functions of their input: production code uses [`Env::process`], tests use
/// [`Env::from_pairs`] and never touch the real environment.
///
/// As the OpenTelemetry specification requires, a variable set to an empty (or all-blank)
/// string is treated as unset.
#[derive(Debug, Clone, Default)]
pub struct Env {
    fixed: Option<HashMap<String, String>>,
}

impl Env {
    /// Reads the variables of the running process.
    pub fn process() -> Self {
        Self { fixed: None }
    }

    /// A fixed set of variables; nothing else is visible.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            fixed: Some(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// The value of `key`, or `None` when it is unset, empty or not valid Unicode.
    pub fn get(&self, key: &str) -> Option<String> {
        let value = match &self.fixed {
            Some(map) => map.get(key).cloned(),
            None => std::env::var(key).ok(),
        }?;
        if value.trim().is_empty() {
            None
        } else {
            Some(value)
        }
    }

    /// Whether `key` is set to a non-empty value.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_unset() {
        let env = Env::from_pairs([("A", ""), ("B", "  "), ("C", "x")]);
        assert_eq!(env.get("A"), None);
        assert_eq!(env.get("B"), None);
        assert_eq!(env.get("C").as_deref(), Some("x"));
        assert!(!env.contains("D"));
    }
}
