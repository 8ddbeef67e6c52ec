//! The HTTP stack of the fakes: each fake is served by hyper on a thread and runtime of its
//! own, so it works the same under any tokio flavour of the test and in plain `#[test]`s.

mod answer;
mod background;
mod endpoint;
mod listener;
mod refused;
mod reply;

pub(crate) use answer::answer;
pub(crate) use background::{Action, Background, Handler, Incoming, respond};
pub use endpoint::Endpoint;
pub use listener::Listener;
pub use refused::RefusedPort;
pub use reply::Reply;
pub(crate) use reply::Script;
