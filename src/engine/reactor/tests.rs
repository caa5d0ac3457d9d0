//! The reactor driven by hand: sources, pauses, wakes from other threads, closed fds.

use super::*;
use std::io::Write;
use std::time::Duration;

fn pipe() -> (OwnedFd, std::fs::File) {
  let (read, write) = crate::engine::pipes::pipe().unwrap();
  (read, std::fs::File::from(write))
}

#[test]
fn spawned_tasks_run_and_pending_ones_are_dropped_at_the_end() {
  let (tx, rx) = async_channel::unbounded();
  let got = block_on(async move {
    for i in 0..3 {
      let tx = tx.clone();
      spawn_local(async move { tx.send(i).await.unwrap() });
    }
    spawn_local(std::future::pending());
    let mut got = vec![];
    for _ in 0..3 {
      got.push(rx.recv().await.unwrap());
    }
    got
  });
  assert_eq!(got, vec![0, 1, 2]);
}

#[test]
fn a_source_reads_what_is_written_then_the_end() {
  let (read, mut write) = pipe();
  let text = block_on(async move {
    let source = Source::new(read).unwrap();
    spawn_local(async move {
      async_std::task::sleep(Duration::from_millis(20)).await;
      write.write_all(b"hello ").unwrap();
      async_std::task::sleep(Duration::from_millis(20)).await;
      write.write_all(b"world").unwrap();
    });
    let (mut text, mut buf) = (Vec::new(), [0u8; 3]);
    loop {
      match source.read(&mut buf).await.unwrap() {
        0 => break text,
        n => text.extend_from_slice(&buf[..n]),
      }
    }
  });
  assert_eq!(text, b"hello world");
}

fn thread_cpu() -> Duration {
  let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
  // SAFETY: writes the calling thread's CPU time into `t`.
  unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
  Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

#[test]
fn a_closed_source_whose_fd_lives_on_elsewhere_reports_nothing() {
  // A child between its clone and its exec holds a copy of every fd: closing ours then does
  // not end the epoll registration. A readable one left there would keep the loop spinning.
  for once in [false, true] {
    let (read, mut write) = pipe();
    let (copy, cpu) = block_on(async move {
      let source = if once { Source::once(read) } else { Source::new(read) }.unwrap();
      // SAFETY: duplicates a descriptor we own; the copy is owned by the result.
      let copy = owned(unsafe { libc::fcntl(source.fd(), libc::F_DUPFD_CLOEXEC, 0) }).unwrap();
      write.write_all(b"readable").unwrap();
      source.readable().await;
      drop(source);
      let cpu = thread_cpu();
      async_std::task::sleep(Duration::from_millis(80)).await;
      (copy, thread_cpu() - cpu)
    });
    drop(copy);
    assert!(cpu < Duration::from_millis(30), "once: {once}: the loop spun for {cpu:?}");
  }
}

#[test]
fn a_source_nobody_reads_is_paused_and_resumes_when_read_again() {
  let (read, mut write) = pipe();
  write.write_all(b"early").unwrap();
  let cpu = thread_cpu();
  let (text, waits) = block_on(async move {
    let source = Source::new(read).unwrap();
    // Level-triggered and unread for a while: the loop must not spin meanwhile.
    let waits = Rc::new(Cell::new(0u32));
    let counter = waits.clone();
    spawn_local(async move {
      for _ in 0..5 {
        counter.set(counter.get() + 1);
        async_std::task::sleep(Duration::from_millis(10)).await;
      }
    });
    async_std::task::sleep(Duration::from_millis(80)).await;
    drop(write);
    let (mut text, mut buf) = (Vec::new(), [0u8; 16]);
    loop {
      match source.read(&mut buf).await.unwrap() {
        0 => break (text, waits.get()),
        n => text.extend_from_slice(&buf[..n]),
      }
    }
  });
  assert_eq!(text, b"early");
  assert_eq!(waits, 5);
  // Spinning on the unread pipe for those 80 ms would have cost about as much CPU.
  assert!(thread_cpu() - cpu < Duration::from_millis(30), "the loop spun");
}

#[test]
fn another_thread_wakes_the_loop_out_of_its_wait() {
  let (tx, rx) = async_channel::bounded(1);
  let value = block_on(async move {
    std::thread::spawn(move || {
      std::thread::sleep(Duration::from_millis(30));
      tx.send_blocking(7).unwrap();
    });
    rx.recv().await.unwrap()
  });
  assert_eq!(value, 7);
}
