//! The child between its clone and its exec. It shares the runner's memory and, on x86_64 and
//! aarch64, runs beside the runner's thread rather than holding it: so it makes raw system calls
//! only, which touch neither errno (the runner thread's own) nor anything else of the runner's.

use super::strings::{ExecStrs, RawStr};
use std::ffi::{c_int, c_long, c_void};
use std::os::fd::RawFd;
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

/// Whether the runner goes on while its child makes its way to the exec. Elsewhere the clone
/// holds the runner until then (as vfork does), and the child may use libc's wrappers.
pub(super) const RUNS_BESIDE: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// Added to the errno the child leaves when it could not enter its working directory.
pub(super) const CHDIR: i32 = 1 << 16;

/// Everything the child reads; it stays untouched until the child has exec'd or exited.
pub(super) struct ChildArgs {
  pub exec: ExecStrs,
  /// The child's stdin, stdout and stderr; all above 2, since std keeps 0-2 open.
  pub fds: [RawFd; 3],
  pub handled: *const c_int,
  pub handled_len: usize,
  /// Where the child leaves its errno when it cannot exec, before it exits.
  pub failed: *const AtomicI32,
  /// The open-files limit the runner found, given back to the child (null: left as it is).
  pub nofile: *const libc::rlimit,
  /// The runner's controlling terminal, which the child leaves (-1: none).
  pub tty: RawFd,
  /// The runner's pid when the child is to die with it (0: it is not).
  pub parent: i32,
}

impl ChildArgs {
  pub(super) const fn empty() -> Self {
    Self {
      exec: ExecStrs::empty(),
      fds: [-1; 3],
      handled: ptr::null(),
      handled_len: 0,
      failed: ptr::null(),
      nofile: ptr::null(),
      tty: -1,
      parent: 0,
    }
  }
}

/// The child's whole life before the exec: default handlers for the runner's signals, its own
/// process group, death with the runner, no controlling terminal, the open-files limit the runner started with, its
/// stdio, its directory, no blocked signal, then the exec.
///
/// Not an `unsafe fn` only because clone takes a plain `extern "C" fn`: it is for the clone of
/// [`super::Spawner`] alone, whose `arg` is a valid [`ChildArgs`] left alone until the exec.
pub(super) extern "C" fn child_main(arg: *mut c_void) -> c_int {
  // SAFETY: `arg` is a `ChildArgs` that its spawner leaves alone until this child has exec'd or
  // exited; every pointer in it is valid and every string NUL-terminated.
  unsafe {
    let args = &*arg.cast::<ChildArgs>();
    for i in 0..args.handled_len {
      reset(*args.handled.add(i));
    }
    let mut result = call(libc::SYS_setpgid, [0; 4]);
    if args.parent != 0 {
      // Killed with the runner, even by SIGKILL; and gone now if the runner died already.
      let death = [libc::PR_SET_PDEATHSIG as usize, libc::SIGKILL as usize, 0, 0];
      call(libc::SYS_prctl, death);
      if call(libc::SYS_getppid, [0; 4]) != args.parent as isize {
        call(libc::SYS_exit, [127, 0, 0, 0]);
      }
    }
    if args.tty >= 0 {
      // Off the runner's terminal: a task must not be stopped for touching it.
      call(libc::SYS_ioctl, [args.tty as usize, libc::TIOCNOTTY as usize, 0, 0]);
    }
    if result >= 0 && !args.nofile.is_null() {
      let resource = libc::RLIMIT_NOFILE as usize;
      result = call(libc::SYS_prlimit64, [0, resource, args.nofile as usize, 0]);
    }
    for (target, &fd) in args.fds.iter().enumerate() {
      if result >= 0 {
        // dup3, as aarch64 has no dup2; `fd` is above 2, so never equal to `target`.
        result = call(libc::SYS_dup3, [fd as usize, target, 0, 0]);
      }
    }
    let mut stage = 0;
    if result >= 0 {
      stage = CHDIR;
      result = call(libc::SYS_chdir, [args.exec.cwd as usize, 0, 0, 0]);
    }
    if result >= 0 {
      stage = 0;
      let none: u64 = 0;
      let set = ptr::from_ref(&none) as usize;
      call(libc::SYS_rt_sigprocmask, [libc::SIG_SETMASK as usize, set, 0, 8]);
      let strs = &args.exec;
      result = exec(strs.path, strs.argv, strs.envp);
      if !strs.fallback.is_null() {
        result = exec(strs.fallback, strs.fallback_argv, strs.envp);
      }
    }
    (*args.failed).store((-result).max(1) as i32 | stage, Ordering::Release);
    loop {
      call(libc::SYS_exit, [127, 0, 0, 0]);
    }
  }
}

/// Execs `path`; returns only when that failed, with minus the error number.
///
/// # Safety
///
/// `path` must be a NUL-terminated string, `argv` and `envp` null-ended arrays of them. Only
/// for the child: on success, the process is the program's.
unsafe fn exec(path: RawStr, argv: *const RawStr, envp: *const RawStr) -> isize {
  // SAFETY: valid NUL-terminated strings and null-ended pointer arrays, from the caller.
  unsafe { call(libc::SYS_execve, [path as usize, argv as usize, envp as usize, 0]) }
}

/// The kernel's `struct sigaction`, as rt_sigaction takes it on x86_64 and aarch64.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[repr(C)]
struct KernelSigaction {
  handler: usize,
  flags: u64,
  restorer: usize,
  mask: u64,
}

/// Sets the default action for `signal`.
///
/// # Safety
///
/// Only for the child, whose signal actions are its own (the clone has no CLONE_SIGHAND): in
/// the runner, a handler that some code relies on would be gone.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
unsafe fn reset(signal: c_int) {
  let default = KernelSigaction { handler: libc::SIG_DFL, flags: 0, restorer: 0, mask: 0 };
  let action = ptr::from_ref(&default) as usize;
  // SAFETY: a valid action for a signal number the runner found in use.
  unsafe { call(libc::SYS_rt_sigaction, [signal as usize, action, 0, 8]) };
}

/// Sets the default action for `signal`, through libc.
///
/// # Safety
///
/// As above; and only while the runner is held until the exec, since libc's wrapper may set
/// errno, which the child shares with the runner's thread.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn reset(signal: c_int) {
  // SAFETY: the runner is held until the exec here, so libc's wrapper may set its errno.
  unsafe {
    let mut default: libc::sigaction = std::mem::zeroed();
    default.sa_sigaction = libc::SIG_DFL;
    libc::sigaction(signal, &default, ptr::null_mut());
  }
}

/// A system call with up to four arguments: its result, or minus the error number.
///
/// # Safety
///
/// `a` must be what system call `number` takes: each pointer valid for what the call reads or
/// writes there. A call that changes the whole process (exec, exit, limits, signal actions) is
/// for the child only.
#[cfg(target_arch = "x86_64")]
unsafe fn call(number: c_long, a: [usize; 4]) -> isize {
  let result: isize;
  // SAFETY: the caller passes what the call takes; `syscall` clobbers rcx and r11 only.
  unsafe {
    std::arch::asm!(
      "syscall",
      inlateout("rax") number as isize => result,
      in("rdi") a[0], in("rsi") a[1], in("rdx") a[2], in("r10") a[3],
      lateout("rcx") _, lateout("r11") _,
      options(nostack),
    );
  }
  result
}

/// As on x86_64.
///
/// # Safety
///
/// As on x86_64.
#[cfg(target_arch = "aarch64")]
unsafe fn call(number: c_long, a: [usize; 4]) -> isize {
  let result: isize;
  // SAFETY: the caller passes what the call takes.
  unsafe {
    std::arch::asm!(
      "svc 0",
      in("x8") number,
      inlateout("x0") a[0] as isize => result,
      in("x1") a[1], in("x2") a[2], in("x3") a[3],
      options(nostack),
    );
  }
  result
}

/// Through libc's `syscall`.
///
/// # Safety
///
/// As on x86_64; and only while the runner is held until the exec, since `syscall` sets errno,
/// which the child shares with the runner's thread.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn call(number: c_long, a: [usize; 4]) -> isize {
  // SAFETY: as above; the runner is held until the exec, so errno is free to use.
  unsafe {
    match libc::syscall(number, a[0], a[1], a[2], a[3]) {
      r if r < 0 => -(*libc::__errno_location() as isize),
      r => r as isize,
    }
  }
}
