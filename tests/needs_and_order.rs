//! Order of a run: needs run before their dependents, tasks that are ready together start in
//! declared order, and a task waiting out its `delay` holds no slot.

use crate::support::{Test, lines_of};

#[test]
fn needs_run_before_their_dependents() {
  // Declared backwards, so declared order and needs order disagree.
  let test = Test::with_job(
    r#"
    tasks:
      deploy:
        run: echo deploy >> order.txt
        needs: [test, lint]
      test:
        run: echo test >> order.txt
        needs: [build]
      lint:
        run: echo lint >> order.txt
        needs: [build]
      build:
        run: echo build >> order.txt
    "#,
  );
  test.run(&["run", "job.yaml"]).code(0);
  let order = lines_of(&test, "order.txt");
  assert_eq!(order.len(), 4, "{order:?}");
  let at = |name: &str| order.iter().position(|l| l == name).expect(name);
  assert_eq!(order[0], "build", "{order:?}");
  assert!(at("test") < at("deploy") && at("lint") < at("deploy"), "{order:?}");
  assert_eq!(order[3], "deploy", "{order:?}");
}

#[test]
fn tasks_ready_together_start_in_declared_order_at_j1() {
  let test = Test::with_job(
    r#"
    tasks:
      zulu:   {run: echo zulu >> order.txt}
      alpha:  {run: echo alpha >> order.txt}
      mike:   {run: echo mike >> order.txt}
      root:   {run: echo root >> order.txt}
      yankee: {run: echo yankee >> order.txt, needs: [root]}
      bravo:  {run: echo bravo >> order.txt, needs: [root]}
      xray:   {run: echo xray >> order.txt, needs: [root]}
    "#,
  );
  test.run(&["run", "job.yaml", "-j", "1"]).code(0);
  assert_eq!(
    lines_of(&test, "order.txt"),
    ["zulu", "alpha", "mike", "root", "yankee", "bravo", "xray"]
  );
}

#[test]
fn a_shorter_delay_finishes_first() {
  let test = Test::with_job(
    r#"
    tasks:
      slow:
        delay: 1s
        run: echo slow >> finished.txt
      fast:
        delay: 200ms
        run: echo fast >> finished.txt
    "#,
  );
  test.run(&["run", "job.yaml"]).code(0);
  assert_eq!(lines_of(&test, "finished.txt"), ["fast", "slow"]);
}

#[test]
fn a_task_waiting_out_its_delay_holds_no_slot() {
  // At -j 1, if `slow` held the only slot during its delay, `fast` would finish after it.
  let test = Test::with_job(
    r#"
    tasks:
      slow:
        delay: 1s
        run: echo slow >> finished.txt
      fast:
        delay: 200ms
        run: echo fast >> finished.txt
      now:
        run: echo now >> finished.txt
    "#,
  );
  test.run(&["run", "job.yaml", "-j", "1"]).code(0);
  assert_eq!(lines_of(&test, "finished.txt"), ["now", "fast", "slow"]);
}
