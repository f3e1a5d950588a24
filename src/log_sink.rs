//! The log's writer. Lines go into a buffer that a thread of their own writes
//! to stderr, so the line logged for every request costs its worker no system
//! call: written in place, the request log took a tenth of a hello-world
//! component's throughput at concurrency 32.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long a line may wait in the buffer before it is written.
const FLUSH_INTERVAL: Duration = Duration::from_millis(10);

/// A buffer this large is written at once rather than at the next interval.
const FLUSH_BYTES: usize = 64 << 10;

/// The most the buffer holds while stderr does not take it (a full pipe
/// nobody reads); lines beyond are dropped and counted, not queued without end.
const MAX_BYTES: usize = 16 << 20;

/// A cloneable writer for `tracing_subscriber`, and the handle that flushes it.
#[derive(Clone)]
pub struct LogSink {
    shared: Arc<Shared>,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    dropped: u64,
}

impl LogSink {
    /// Starts the thread that writes the buffer to stderr.
    pub fn start() -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
        });
        let writer = shared.clone();
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || {
                loop {
                    let pending = writer.lock();
                    let (mut pending, _) = writer
                        .wake
                        .wait_timeout(pending, FLUSH_INTERVAL)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    let taken = std::mem::take(&mut *pending);
                    drop(pending);
                    write_out(taken);
                }
            })?;
        Ok(Self { shared })
    }

    /// Writes what is buffered now (before the process exits or prints an error).
    pub fn flush(&self) {
        let taken = std::mem::take(&mut *self.shared.lock());
        write_out(taken);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves only bytes behind: keep them.
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn write_out(pending: Pending) {
    let mut stderr = std::io::stderr().lock();
    if pending.dropped > 0 {
        let _ = writeln!(
            stderr,
            "{} log line(s) dropped: stderr did not keep up",
            pending.dropped
        );
    }
    let _ = stderr.write_all(&pending.bytes);
    let _ = stderr.flush();
}

impl Write for &LogSink {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.shared.lock();
        if pending.bytes.len() + line.len() > MAX_BYTES {
            pending.dropped += 1;
        } else {
            pending.bytes.extend_from_slice(line);
            if pending.bytes.len() >= FLUSH_BYTES {
                self.shared.wake.notify_one();
            }
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogSink {
    type Writer = &'a LogSink;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_beyond_the_cap_are_counted_not_kept() {
        let sink = LogSink {
            shared: Arc::new(Shared {
                pending: Mutex::new(Pending::default()),
                wake: Condvar::new(),
            }),
        };
        let line = vec![b'x'; 1 << 20];
        for _ in 0..20 {
            (&sink)
                .write_all(&line)
                .expect("the sink takes every write");
        }
        let pending = sink.shared.lock();
        assert_eq!(pending.bytes.len(), MAX_BYTES);
        assert_eq!(pending.dropped, 4);
    }
}
