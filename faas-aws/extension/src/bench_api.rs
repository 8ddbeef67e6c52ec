//! The extension's internal receive → hold → encode path, for its criterion benchmark
//! (`benches/held_bytes.rs`); not a stable API.

use bytes::Bytes;

use crate::buffer::{Buffer, Held, Signal};
use crate::forward::batches;
use crate::receive::invocation_spans;

/// What the receiver and the forwarder do with OTLP/HTTP protobuf trace request `bodies`:
/// each is checked, its item count and invocation spans read, and held in a buffer; then
/// everything held is batched and each batch's upstream body made (protobuf, uncompressed).
/// Returns the bytes of the upstream bodies (0 when a body is refused).
pub fn receive_hold_encode(bodies: &[Bytes]) -> usize {
    let mut buffer = Buffer::new(usize::MAX);
    for body in bodies {
        let Ok(held) = Held::from_protobuf(Signal::Traces, body.clone()) else {
            return 0;
        };
        std::hint::black_box(invocation_spans(&held));
        buffer.push(Signal::Traces, held);
    }
    let taken = buffer.take();
    batches(Signal::Traces, taken.traces)
        .iter()
        .map(|batch| batch.body().len())
        .sum()
}
