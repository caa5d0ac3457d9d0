//! A run served by `runner serve`, on the daemon's loop: the daemon's orders and the shared
//! slots' turns come to the run's inbox, as signals do to a local run's.

use super::Served;
use super::inbox::{Inbox, Msg};
use crate::scheduler::Scheduler;
use crate::scheduler::slots::Slots;

/// Forwards the daemon's orders and the pool's wake-ups to `inbox`, and makes `scheduler` take
/// its slots from the pool; returns the run's tag.
pub(super) fn forward(served: Served, inbox: &Inbox, scheduler: &mut Scheduler) -> String {
  // Unbounded: a wake-up must never be lost to a full inbox, and there is at most one for
  // each slot given back.
  let (wake_tx, wake_rx) = async_channel::unbounded::<()>();
  let slots = Slots::join(&served.slots, served.serial, move || {
    let _ = wake_tx.try_send(());
  });
  scheduler.share_slots(slots);
  let to = inbox.clone();
  super::reactor::spawn_local(async move {
    while wake_rx.recv().await.is_ok() {
      // Turns that came together are one.
      while wake_rx.try_recv().is_ok() {}
      to.send(Msg::Slots).await;
    }
  });
  let (to, orders) = (inbox.clone(), served.orders);
  super::reactor::spawn_local(async move {
    while let Ok(order) = orders.recv().await {
      to.send(Msg::Order(order)).await;
    }
  });
  served.tag
}
