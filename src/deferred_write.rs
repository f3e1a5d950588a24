//! Connections that send a response only after the thread's other ready
//! tasks have had their turn, so that the responses of one round go out
//! close together.
//!
//! Each HTTP thread serves its ready connections one after another. Written
//! as soon as each handler finished, responses left one per handler, ~15 µs
//! apart, and the load generator on the other core woke for nearly each:
//! under wrk at c=32 against hello-world it slept 0.61–0.67 times per
//! request and spent 22–27 µs of CPU per request (behind the native server
//! 0.05 times and 10 µs), and each wake-up preempted an HTTP thread. A
//! response's first write now yields once: the task goes to the back of the
//! thread's run queue and writes after the other connections ready in this
//! round have run their handlers. In alternating runs that took wrk's sleeps
//! to 0.55–0.66 per request and served ~7 % more requests; no more, because
//! a woken reader preempts the writing thread at once, cutting the round's
//! burst of writes short.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream whose first write after each read waits for one turn of the
/// scheduler; reads, later writes, flushes and shutdown pass through.
pub struct DeferredWrite<S> {
    inner: S,
    /// Set once the current response's first write has yielded.
    yielded: bool,
}

impl<S> DeferredWrite<S> {
    /// Wraps `inner`; its first write waits for a turn.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            yielded: false,
        }
    }

    /// Pending (with the task woken, so it is polled again after the tasks
    /// already queued) for the first write of a response, ready after.
    fn wait_for_turn(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for DeferredWrite<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            // A request arrived: its response's first write waits again.
            self.yielded = false;
        }
        read
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DeferredWrite<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.wait_for_turn(cx));
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.wait_for_turn(cx));
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};
    use tokio::io::AsyncWriteExt;

    /// Counts how often the task was woken.
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn write(
        stream: &mut DeferredWrite<tokio::io::DuplexStream>,
        cx: &mut Context<'_>,
    ) -> Poll<usize> {
        match Pin::new(stream).poll_write(cx, b"answer") {
            Poll::Ready(written) => Poll::Ready(written.unwrap_or(0)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn read(stream: &mut DeferredWrite<tokio::io::DuplexStream>, cx: &mut Context<'_>) -> usize {
        let mut bytes = [0u8; 64];
        let mut buf = ReadBuf::new(&mut bytes);
        match Pin::new(stream).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => buf.filled().len(),
            _ => 0,
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_first_write_after_each_request_waits_one_turn_and_the_rest_pass()
    -> anyhow::Result<()> {
        let (server, mut client) = tokio::io::duplex(1024);
        let mut stream = DeferredWrite::new(server);
        let wakes = Arc::new(Wakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);

        assert_eq!(write(&mut stream, &mut cx), Poll::Pending);
        assert_eq!(
            wakes.0.load(Ordering::Relaxed),
            1,
            "the task is queued again"
        );
        assert_eq!(write(&mut stream, &mut cx), Poll::Ready(6));
        assert_eq!(
            write(&mut stream, &mut cx),
            Poll::Ready(6),
            "later writes pass"
        );

        // Nothing read: a read that finds no bytes does not re-arm the wait.
        assert_eq!(read(&mut stream, &mut cx), 0);
        assert_eq!(write(&mut stream, &mut cx), Poll::Ready(6));

        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await?;
        assert!(read(&mut stream, &mut cx) > 0);
        // The empty read left the waker with the stream, and the request woke it.
        let woken = wakes.0.load(Ordering::Relaxed);
        assert_eq!(
            write(&mut stream, &mut cx),
            Poll::Pending,
            "a new request waits again"
        );
        assert_eq!(wakes.0.load(Ordering::Relaxed), woken + 1);
        assert_eq!(write(&mut stream, &mut cx), Poll::Ready(6));
        Ok(())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn what_was_written_arrives_whole_and_in_order() -> anyhow::Result<()> {
        use tokio::io::AsyncReadExt;
        let (server, mut client) = tokio::io::duplex(1024);
        let mut stream = DeferredWrite::new(server);
        stream.write_all(b"HTTP/1.1 200 OK\r\n").await?;
        stream.write_all(b"\r\nhello").await?;
        stream.shutdown().await?;
        let mut received = String::new();
        client.read_to_string(&mut received).await?;
        assert_eq!(received, "HTTP/1.1 200 OK\r\n\r\nhello");
        Ok(())
    }
}
