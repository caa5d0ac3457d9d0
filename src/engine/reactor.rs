//! The loop thread's own reactor: one epoll set holding the children's pipes and pidfds, and the
//! `block_on` that runs the loop's futures on async-std's executor (async-executor) between
//! waits on that set.
//!
//! A child's exit or output wakes the loop thread directly from its own `epoll_wait`, with no
//! hand-off between threads; only timers (async-io) and signals arrive from other threads, through
//! an eventfd. Sources are level-triggered and registered once, so reading costs no `epoll_ctl`;
//! a source whose reader is busy elsewhere (a producer blocked on a full queue) is paused until
//! the reader comes back.

use async_executor::LocalExecutor;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

thread_local! {
  static CURRENT: RefCell<Option<(Rc<Reactor>, Rc<LocalExecutor<'static>>)>> =
    const { RefCell::new(None) };
}

/// Runs `future` to completion on this thread, together with every task spawned by
/// [`spawn_local`] meanwhile. Tasks still pending when it returns are dropped.
pub(crate) fn block_on<T>(future: impl Future<Output = T>) -> T {
  let reactor = Rc::new(Reactor::new().expect("an epoll set and an eventfd"));
  let executor = Rc::new(LocalExecutor::new());
  CURRENT.with(|c| *c.borrow_mut() = Some((reactor.clone(), executor.clone())));
  let waker = Waker::from(reactor.notify.clone());
  let mut cx = Context::from_waker(&waker);
  let mut main = pin!(future);
  let mut tasks = pin!(executor.run(std::future::pending::<()>()));
  let value = loop {
    reactor.notify.notified.store(false, Ordering::SeqCst);
    if let Poll::Ready(value) = main.as_mut().poll(&mut cx) {
      break value;
    }
    let _ = tasks.as_mut().poll(&mut cx);
    reactor.wait();
  };
  CURRENT.with(|c| c.borrow_mut().take());
  value
}

/// Spawns a task onto the loop of the enclosing [`block_on`]; it runs to its end.
pub(crate) fn spawn_local(future: impl Future<Output = ()> + 'static) {
  spawn(future).detach();
}

/// Spawns a task onto the loop of the enclosing [`block_on`]; dropping the handle cancels it.
pub(crate) fn spawn<T: 'static>(
  future: impl Future<Output = T> + 'static,
) -> async_executor::Task<T> {
  CURRENT.with(|c| {
    let current = c.borrow();
    let (_, executor) = current.as_ref().expect("spawn inside block_on");
    executor.spawn(future)
  })
}

struct Notify {
  /// Set by every wake; the loop does not sleep while it is set.
  notified: AtomicBool,
  /// Set while the loop may be blocked in `epoll_wait`: only then does a wake write the eventfd.
  sleeping: AtomicBool,
  eventfd: OwnedFd,
}

impl Wake for Notify {
  fn wake(self: Arc<Self>) {
    self.wake_by_ref();
  }

  fn wake_by_ref(self: &Arc<Self>) {
    self.notified.store(true, Ordering::SeqCst);
    if self.sleeping.load(Ordering::SeqCst) {
      let one = 1u64.to_ne_bytes();
      // SAFETY: writes 8 bytes from a live buffer to our eventfd.
      unsafe { libc::write(self.eventfd.as_raw_fd(), one.as_ptr().cast(), 8) };
    }
  }
}

/// What the reactor knows of one registered fd.
struct Slot {
  fd: RawFd,
  ready: Cell<bool>,
  /// Whether the fd is taken out of the set because nobody was waiting for it.
  paused: Cell<bool>,
  /// Whether it is reported once only (see [`Source::once`]).
  once: bool,
  waker: RefCell<Option<Waker>>,
}

struct Reactor {
  epoll: OwnedFd,
  notify: Arc<Notify>,
  /// Registered sources by token; a token's upper half is a generation, so a stale event for a
  /// reused slot is ignored.
  slots: RefCell<Vec<(u32, Option<Rc<Slot>>)>>,
  free: RefCell<Vec<u32>>,
  events: RefCell<Vec<libc::epoll_event>>,
  /// Rounds in a row that did not look at the fds because futures were ready.
  skipped: Cell<u32>,
}

const WAKE_TOKEN: u64 = u64::MAX;
/// While futures keep waking each other, the fds are still looked at every this many rounds.
const MAX_SKIPS: u32 = 8;
const READ: u32 = (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
const PAUSED: u32 = libc::EPOLLET as u32;

impl Reactor {
  fn new() -> io::Result<Self> {
    // SAFETY: creates a descriptor from flags alone; the result is checked.
    let epoll = owned(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
    // SAFETY: as above.
    let eventfd = owned(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
    ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, eventfd.as_raw_fd(), READ, WAKE_TOKEN)?;
    let notify = Notify { notified: false.into(), sleeping: false.into(), eventfd };
    Ok(Self {
      epoll,
      notify: Arc::new(notify),
      slots: RefCell::default(),
      free: RefCell::default(),
      events: RefCell::new(vec![libc::epoll_event { events: 0, u64: 0 }; 256]),
      skipped: Cell::new(0),
    })
  }

  /// Waits for events (not at all when a wake is pending) and wakes their readers.
  fn wait(&self) {
    let notify = &self.notify;
    if notify.notified.load(Ordering::SeqCst) && self.skipped.get() < MAX_SKIPS {
      // Futures are ready to go on: poll them first, and the fds on one of the next rounds.
      self.skipped.set(self.skipped.get() + 1);
      return;
    }
    self.skipped.set(0);
    notify.sleeping.store(true, Ordering::SeqCst);
    let timeout = if notify.notified.load(Ordering::SeqCst) { 0 } else { -1 };
    let mut events = self.events.borrow_mut();
    // SAFETY: the buffer holds `len` events and outlives the call.
    let n = unsafe {
      libc::epoll_wait(self.epoll.as_raw_fd(), events.as_mut_ptr(), events.len() as i32, timeout)
    };
    notify.sleeping.store(false, Ordering::SeqCst);
    for event in events.iter().take(n.max(0) as usize) {
      let token = event.u64;
      if token == WAKE_TOKEN {
        let mut buf = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a live buffer; the eventfd is non-blocking.
        unsafe { libc::read(notify.eventfd.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
        continue;
      }
      self.ready(token);
    }
  }

  fn ready(&self, token: u64) {
    let (index, generation) = ((token & 0xffff_ffff) as usize, (token >> 32) as u32);
    let slot = match self.slots.borrow().get(index) {
      Some((g, Some(slot))) if *g == generation => slot.clone(),
      _ => return,
    };
    slot.ready.set(true);
    match slot.waker.borrow_mut().take() {
      Some(waker) => waker.wake(),
      None if !slot.once && !slot.paused.replace(true) => {
        // Nobody is reading now: stop reporting this fd until somebody is. A hang-up is
        // reported whatever the mask, so the fd turns edge-triggered: one more report, if any.
        let _ = ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_MOD, slot.fd, PAUSED, token);
      }
      None => {}
    }
  }

  fn register(&self, fd: RawFd, once: bool) -> io::Result<(u64, Rc<Slot>)> {
    let (ready, paused, waker) = (false.into(), false.into(), None.into());
    let slot = Rc::new(Slot { fd, ready, paused, once, waker });
    let mut slots = self.slots.borrow_mut();
    let index = match self.free.borrow_mut().pop() {
      Some(index) => index as usize,
      None => {
        slots.push((0, None));
        slots.len() - 1
      }
    };
    let generation = slots[index].0.wrapping_add(1);
    slots[index] = (generation, Some(slot.clone()));
    let token = (u64::from(generation) << 32) | index as u64;
    let events = if once { READ | libc::EPOLLONESHOT as u32 } else { READ };
    if let Err(err) = ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, events, token) {
      slots[index].1 = None;
      self.free.borrow_mut().push(index as u32);
      return Err(err);
    }
    Ok((token, slot))
  }

  fn deregister(&self, token: u64) {
    let index = (token & 0xffff_ffff) as usize;
    if let Some(entry) = self.slots.borrow_mut().get_mut(index) {
      entry.1 = None;
      self.free.borrow_mut().push(index as u32);
    }
  }
}

/// A readable fd (a pipe's read end or a pidfd) registered with the loop's reactor. Dropping it
/// closes the fd, which also takes it out of the epoll set.
pub(crate) struct Source {
  fd: OwnedFd,
  token: u64,
  slot: Rc<Slot>,
  reactor: Rc<Reactor>,
}

impl Source {
  /// Registers `fd` with the reactor of the enclosing [`block_on`].
  pub(crate) fn new(fd: OwnedFd) -> io::Result<Self> {
    Self::register(fd, false)
  }

  /// Registers `fd`, to be reported readable once only: for a pidfd, which is read once and
  /// then stays readable. Closing an fd ends its registration only once no process holds it,
  /// and a child between its clone and its exec holds a copy of every fd; a registration that
  /// outlived its source this way must not keep reporting.
  pub(crate) fn once(fd: OwnedFd) -> io::Result<Self> {
    Self::register(fd, true)
  }

  fn register(fd: OwnedFd, once: bool) -> io::Result<Self> {
    let reactor = CURRENT.with(|c| c.borrow().as_ref().map(|(r, _)| r.clone()));
    let reactor = reactor.ok_or_else(|| io::Error::other("no reactor on this thread"))?;
    let (token, slot) = reactor.register(fd.as_raw_fd(), once)?;
    Ok(Self { fd, token, slot, reactor })
  }

  pub(crate) fn fd(&self) -> RawFd {
    self.fd.as_raw_fd()
  }

  /// A handle that makes the next read try the fd at once, without waiting for the reactor.
  pub(crate) fn poke(&self) -> Poke {
    Poke(self.slot.clone())
  }

  /// Forgets what readiness was seen so far, for a pipe that starts over with a new writer.
  pub(crate) fn reset(&self) {
    self.slot.ready.set(false);
    self.slot.waker.borrow_mut().take();
  }

  /// Whether a read would try the fd at once, without waiting for the reactor.
  #[cfg(test)]
  pub(crate) fn marked_ready(&self) -> bool {
    self.slot.ready.get()
  }

  /// Waits until the fd is readable (or at its end).
  pub(crate) async fn readable(&self) {
    std::future::poll_fn(|cx| {
      if self.slot.ready.get() {
        return Poll::Ready(());
      }
      if self.slot.paused.replace(false) {
        let epoll = self.reactor.epoll.as_raw_fd();
        let _ = ctl(epoll, libc::EPOLL_CTL_MOD, self.fd.as_raw_fd(), READ, self.token);
      }
      *self.slot.waker.borrow_mut() = Some(cx.waker().clone());
      Poll::Pending
    })
    .await
  }

  /// Reads what is there once the fd is readable; Ok(0) at the end.
  pub(crate) async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
    loop {
      self.readable().await;
      self.slot.ready.set(false);
      // SAFETY: reads at most `buf.len()` bytes into `buf`.
      let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
      if n >= 0 {
        return Ok(n as usize);
      }
      let err = io::Error::last_os_error();
      if !matches!(err.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock) {
        return Err(err);
      }
    }
  }
}

/// See [`Source::poke`].
pub(crate) struct Poke(Rc<Slot>);

impl Poke {
  /// For a source that is known to be readable (or at its end) now.
  pub(crate) fn poke(self) {
    self.0.ready.set(true);
    if let Some(waker) = self.0.waker.borrow_mut().take() {
      waker.wake();
    }
  }
}

impl Drop for Source {
  fn drop(&mut self) {
    if !self.slot.once {
      // Taken out of the set before the close: a copy held by a child that has not exec'd yet
      // would otherwise keep a registration that reports for nobody.
      let epoll = self.reactor.epoll.as_raw_fd();
      let _ = ctl(epoll, libc::EPOLL_CTL_DEL, self.fd.as_raw_fd(), 0, self.token);
    }
    self.reactor.deregister(self.token);
  }
}

/// Takes ownership of a descriptor a system call just returned, or of its error when negative.
pub(crate) fn owned(fd: RawFd) -> io::Result<OwnedFd> {
  if fd < 0 {
    return Err(io::Error::last_os_error());
  }
  // SAFETY: a fresh descriptor that nothing else owns.
  Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ctl(epoll: RawFd, op: i32, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
  let mut event = libc::epoll_event { events, u64: token };
  // SAFETY: `event` is a live epoll_event for the duration of the call.
  if unsafe { libc::epoll_ctl(epoll, op, fd, &mut event) } < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(())
}

#[cfg(test)]
mod tests;
