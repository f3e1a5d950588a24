//! Spinning briefly before an HTTP thread sleeps.
//!
//! On the virtual machines we run on, a sleeping vCPU halts and leaves the
//! guest; waking it for the next request costs tens of microseconds, which
//! at concurrency 1 is more than the request itself (everything pinned to
//! one core served a no-op at 50 µs p50, spread over two at 110–120 µs).
//! So before a thread's runtime blocks in `epoll_wait`, it polls its own
//! epoll instance for a short while: a request that arrives meanwhile is
//! taken without a wake-up. The spin yields the core between polls, so a
//! busy neighbour (PostgreSQL, the client) loses little, and it costs at
//! most the budget per idle period, never while the server is idle for long.
//! A spin also ends as soon as a yield shows another task wanted the core.
//! Only a thread serving at most one open connection spins: with more, the
//! thread is rarely idle for long and the cores are shared with its
//! clients and PostgreSQL, which need them more (spinning there raised
//! database hits' p99 at c=32 by about a third and cost hello-world under
//! wrk at c=32 up to a fifth of its throughput, even with that yield check).

use std::cell::Cell;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

thread_local! {
    /// Connections open on this thread.
    static OPEN: Cell<usize> = const { Cell::new(0) };
}

/// Most connections a thread may serve and still spin before it sleeps.
const MAX_OPEN_TO_SPIN: usize = 1;

/// Marks a connection open on this thread for as long as it lives; a
/// thread spins before it sleeps only while at most
/// [`MAX_OPEN_TO_SPIN`] are.
#[derive(Debug)]
pub struct OpenConnection(());

impl OpenConnection {
    /// Counts a connection this thread starts to serve.
    pub fn begin() -> Self {
        OPEN.with(|n| n.set(n.get() + 1));
        OpenConnection(())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        OPEN.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// Builds a single-threaded runtime that spins up to `budget` before it
/// parks. A zero budget, or a runtime whose epoll instance cannot be found,
/// parks at once as usual.
pub fn current_thread_runtime(budget: Duration) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_all();
    if budget.is_zero() {
        return builder.build();
    }
    let epolls: Arc<OnceLock<Vec<OwnedFd>>> = Arc::default();
    let seen = epolls.clone();
    builder.on_thread_park(move || {
        if let Some(fds) = seen.get()
            && OPEN.with(Cell::get) <= MAX_OPEN_TO_SPIN
        {
            spin_until_ready(fds, budget, CONTENDED);
        }
    });
    let before = epoll_fds();
    let runtime = builder.build()?;
    // The runtime's driver made an epoll instance and a duplicate of its
    // descriptor; polling every new one is right even if another thread
    // made one meanwhile (that one only never ends a spin early).
    let created: Result<Vec<OwnedFd>, _> = epoll_fds()
        .into_iter()
        .filter(|fd| !before.contains(fd))
        .map(duplicate)
        .collect();
    match created {
        Ok(fds) if !fds.is_empty() => {
            let _ = epolls.set(fds);
        }
        Ok(_) => tracing::debug!("no idle spin: the runtime's epoll instance was not found"),
        Err(e) => tracing::debug!("no idle spin: cannot duplicate an epoll descriptor: {e}"),
    }
    Ok(runtime)
}

/// A yield that takes this long ran another task: the core is not idle.
const CONTENDED: Duration = Duration::from_micros(10);

/// Polls `epolls` without blocking until one has an event ready, `budget`
/// has passed, or a yield took `contended` or more (another task wanted
/// the core).
fn spin_until_ready(epolls: &[OwnedFd], budget: Duration, contended: Duration) {
    let started = Instant::now();
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let mut fds: Vec<PollFd<'_>> = epolls
        .iter()
        .map(|fd| PollFd::new(fd, PollFlags::IN))
        .collect();
    loop {
        match rustix::event::poll(&mut fds, Some(&now)) {
            Ok(0) => {}
            // Ready, or polling fails: either way, let the runtime park.
            _ => return,
        }
        if started.elapsed() >= budget {
            return;
        }
        // A yield that let something else run means the core is wanted (the
        // client or PostgreSQL on it): spinning on would take from it.
        let yielded = Instant::now();
        std::thread::yield_now();
        if yielded.elapsed() >= contended {
            return;
        }
    }
}

/// The process's open epoll instances, by descriptor number.
fn epoll_fds() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            std::fs::read_link(entry.path())
                .is_ok_and(|target| target.as_os_str() == "anon_inode:[eventpoll]")
        })
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect()
}

/// A descriptor of our own for the runtime's epoll instance, so a spin
/// never polls a number the runtime has closed and something else reused.
#[allow(unsafe_code)]
fn duplicate(fd: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: `fd` was just listed as an open epoll instance, made by the
    // runtime built a moment ago and open as long as it lives; the borrow
    // ends with this call.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    Ok(rustix::io::fcntl_dupfd_cloexec(borrowed, 0)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spinning_runtime_still_serves_timers_and_io() -> anyhow::Result<()> {
        let runtime = current_thread_runtime(Duration::from_micros(200))?;
        runtime.block_on(async {
            // One open connection: the thread spins whenever it parks.
            let _open = OpenConnection::begin();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let address = listener.local_addr()?;
            let client = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                tokio::net::TcpStream::connect(address).await
            });
            let (_stream, _) = listener.accept().await?;
            client.await??;
            anyhow::Ok(())
        })
    }

    #[test]
    fn lists_the_epoll_instances_the_process_has_open() -> anyhow::Result<()> {
        use rustix::event::epoll;
        use std::os::fd::AsRawFd;
        let instance = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        assert!(epoll_fds().contains(&instance.as_raw_fd()));
        let copy = duplicate(instance.as_raw_fd())?;
        assert!(epoll_fds().contains(&copy.as_raw_fd()));
        Ok(())
    }

    #[test]
    fn a_spin_ends_when_the_budget_is_spent_or_an_event_is_ready() -> anyhow::Result<()> {
        use rustix::event::epoll;
        let instance = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let started = Instant::now();
        // Never cut short by other tests' threads taking the core.
        spin_until_ready(
            std::slice::from_ref(&instance),
            Duration::from_millis(2),
            Duration::MAX,
        );
        assert!(started.elapsed() >= Duration::from_millis(2));

        let (mut writer, reader) = std::os::unix::net::UnixStream::pair()?;
        epoll::add(
            &instance,
            &reader,
            epoll::EventData::new_u64(1),
            epoll::EventFlags::IN,
        )?;
        std::io::Write::write_all(&mut writer, b"x")?;
        let started = Instant::now();
        spin_until_ready(
            std::slice::from_ref(&instance),
            Duration::from_secs(60),
            Duration::MAX,
        );
        assert!(started.elapsed() < Duration::from_secs(60));
        Ok(())
    }
}
