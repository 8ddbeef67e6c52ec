//! How a fake carries out one scripted [`Reply`].

use super::{Action, Reply, respond};

/// The action that answers `reply`. `success` builds the 200 answer of [`Reply::Accept`]
/// (`None`) and of [`Reply::PartialSuccess`] (`Some` rejected count and message), which
/// depends on the fake; every other reply is answered the same by every fake.
pub(crate) fn answer(
    reply: &Reply,
    success: impl FnOnce(Option<(i64, String)>) -> Action,
) -> Action {
    match reply {
        Reply::Accept => success(None),
        Reply::PartialSuccess { rejected, message } => success(Some((*rejected, message.clone()))),
        Reply::Status {
            status,
            headers,
            body,
        } => {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            respond(*status, &headers, body.clone())
        }
        Reply::Close => Action::Close,
        Reply::Stall => Action::Stall,
    }
}
