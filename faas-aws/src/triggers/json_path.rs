//! Reading the raw JSON event: the value at a path of object keys, the value all records share.

use serde_json::Value;

/// The string at `path` (object keys) in `value`.
pub(super) fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path)?.as_str()
}

/// The value at `path` (object keys) in `value`.
pub(super) fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| value.get(key))
}

/// The value shared by every item, `None` when items disagree or one has none.
pub(super) fn common<'a, T: PartialEq>(
    items: &'a [Value],
    get: impl Fn(&'a Value) -> Option<T>,
) -> Option<T> {
    let mut values = items.iter().map(get);
    let first = values.next()??;
    values.all(|v| v.as_ref() == Some(&first)).then_some(first)
}
