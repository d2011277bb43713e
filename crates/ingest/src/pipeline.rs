//! Work spread over every core, results kept in order: one thread produces items, one
//! worker per core transforms them, and the calling thread takes the results in the order
//! the items were produced. File imports (blocks of lines → events) and replays (log
//! records → events) both run this way.

use crate::IngestError;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::mpsc::sync_channel;

/// Runs `produce` on its own thread (it hands items to the function it is given, which
/// answers false once nobody listens any more), `work` on one thread per core, and `take`
/// on this thread with each result, in production order. Every result is taken, so no
/// thread ever waits for nothing; `take` ignores what it no longer wants. Returns the
/// producer's error, if any.
pub(crate) fn in_order<I: Send, O: Send>(
    produce: impl FnOnce(&mut dyn FnMut(I) -> bool) -> Result<(), IngestError> + Send,
    work: impl Fn(I) -> O + Sync,
    mut take: impl FnMut(O),
) -> Result<(), IngestError> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
    let (item_sender, item_receiver) = sync_channel::<(u64, I)>(workers * 2);
    let item_receiver = Mutex::new(item_receiver);
    let (done_sender, done_receiver) = sync_channel::<(u64, O)>(workers * 2);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (done_sender, item_receiver, work) = (done_sender.clone(), &item_receiver, &work);
            scope.spawn(move || {
                loop {
                    let next = match item_receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => break,
                    };
                    let Ok((index, item)) = next else { break };
                    if done_sender.send((index, work(item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_sender);
        let producer = scope.spawn(move || {
            let mut index = 0u64;
            produce(&mut |item| {
                let sent = item_sender.send((index, item)).is_ok();
                index += 1;
                sent
            })
        });
        let mut waiting = BTreeMap::new();
        let mut next = 0u64;
        for (index, result) in done_receiver {
            waiting.insert(index, result);
            while let Some(result) = waiting.remove(&next) {
                next += 1;
                take(result);
            }
        }
        producer.join().map_err(|_| IngestError::Stopped)?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_production_order() {
        let mut seen = Vec::new();
        let produced = in_order(
            |send| {
                for n in 0..10_000u64 {
                    if !send(n) {
                        break;
                    }
                }
                Ok(())
            },
            // Uneven work, so workers finish out of order.
            |n| {
                if n % 7 == 0 {
                    std::thread::yield_now();
                }
                n * 2
            },
            |doubled| seen.push(doubled),
        );
        assert!(produced.is_ok());
        assert_eq!(seen, (0..10_000u64).map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn the_producers_error_is_returned_after_its_items() {
        let mut seen = 0;
        let produced = in_order(
            |send| {
                send(1u8);
                Err(IngestError::Import("disk gone".into()))
            },
            |n| n,
            |_| seen += 1,
        );
        assert!(matches!(produced, Err(IngestError::Import(_))));
        assert_eq!(seen, 1);
    }
}
