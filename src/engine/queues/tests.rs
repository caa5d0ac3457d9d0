//! An unbounded queue past its memory threshold: nothing waits, items spill to disk and come
//! back in order, and every item is accounted for.

use super::*;

fn queue(maxsize: usize) -> Queue {
  let inbox = Inbox(async_channel::unbounded().0);
  let reports = Reports {
    inbox,
    index: 0,
    asked: Cell::new(false),
    changed: Cell::new(false),
    last: Cell::new(None),
  };
  Queue::new(maxsize, 1, 1, reports)
}

const ITEMS: usize = SPILL_ITEMS * 5 / 2;

#[test]
fn an_unbounded_queue_spills_past_its_threshold_and_gives_items_back_in_order() {
  crate::engine::reactor::block_on(async {
    let queue = queue(0);
    let (_stop, stopped) = async_channel::bounded::<()>(1);
    for i in 0..ITEMS {
      assert!(queue.put(i.to_string()).await);
      assert!(queue.rx.len() <= SPILL_ITEMS, "{} items in memory", queue.rx.len());
    }
    assert!(queue.spill.borrow().is_some(), "spilled");
    assert_eq!(queue.depth(), ITEMS);
    queue.producer_finished();
    for i in 0..ITEMS {
      assert_eq!(queue.take(&stopped).await, Some(i.to_string()));
      assert!(queue.rx.len() <= SPILL_ITEMS);
    }
    assert_eq!(queue.take(&stopped).await, None, "closed and drained");
    assert!(queue.spill.borrow().is_none(), "the file went with its last item");
    assert_eq!(queue.bytes.get(), 0);
  });
}

#[test]
fn items_put_while_the_queue_is_drained_keep_their_order() {
  crate::engine::reactor::block_on(async {
    let queue = queue(0);
    let (_stop, stopped) = async_channel::bounded::<()>(1);
    let (mut put, mut taken) = (0, 0);
    // Puts run ahead of takes, so the spill empties and fills again more than once.
    for round in 0..4 {
      for _ in 0..SPILL_ITEMS * 3 / 2 {
        assert!(queue.put(put.to_string()).await);
        put += 1;
      }
      let take = if round == 3 { put - taken } else { SPILL_ITEMS };
      for _ in 0..take {
        assert_eq!(queue.take(&stopped).await, Some(taken.to_string()));
        taken += 1;
      }
    }
    assert_eq!(queue.depth(), 0);
  });
}

#[test]
fn items_on_disk_that_nobody_takes_are_counted_as_left() {
  crate::engine::reactor::block_on(async {
    let queue = queue(0);
    for i in 0..ITEMS {
      queue.put(i.to_string()).await;
    }
    queue.producer_finished();
    queue.consumer_finished();
    let (left, total) = queue.left();
    assert_eq!((left.len(), total), (LEFT_LISTED, ITEMS as u64));
    assert_eq!(left[0], "0");
    assert_eq!(queue.put.get(), ITEMS as u64);
  });
}

#[test]
fn a_bounded_queue_never_spills() {
  crate::engine::reactor::block_on(async {
    let queue = queue(3);
    for i in 0..3 {
      queue.put(i.to_string()).await;
    }
    assert!(queue.spill.borrow().is_none());
    assert_eq!(queue.depth(), 3);
  });
}

#[test]
fn a_bounded_queue_gives_its_items_back() {
  crate::engine::reactor::block_on(async {
    let queue = queue(2);
    let (_stop, stopped) = async_channel::bounded::<()>(1);
    queue.put("a".into()).await;
    queue.put("b".into()).await;
    queue.producer_finished();
    assert_eq!(queue.take(&stopped).await.as_deref(), Some("a"));
    assert_eq!(queue.left(), (vec!["b".to_string()], 1));
  });
}
