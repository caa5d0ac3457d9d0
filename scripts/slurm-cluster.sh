#!/usr/bin/env bash
# slurm-cluster.sh: a throw-away 3-node Slurm cluster on this machine, for CI and for developing the
# Slurm backend. Debian 12 (Slurm 22.05), run as root, no systemd needed.
#
#   eval "$(scripts/slurm-cluster.sh start /tmp/slurm)"   # prints: export SLURM_CONF=/tmp/slurm/slurm.conf
#   sinfo; srun -N1 hostname; sbatch --wrap true           # ... use it ...
#   scripts/slurm-cluster.sh stop /tmp/slurm               # stops exactly what start started
#
# start DIR [CPUS_PER_NODE (default 2)]
#   Installs slurmctld slurmd slurm-client munge with apt (--no-install-recommends; `apt-get update`
#   only if one of them is missing), starts munged if no munged answers, writes DIR/slurm.conf and
#   starts slurmctld and three `slurmd -N n1|n2|n3`, all on 127.0.0.1, then waits (at most 15 s) for
#   `sinfo` to show the three nodes idle. Only the export line goes to stdout; the rest to stderr.
#   Controller state is wiped on every start (a fresh cluster, job ids from 1). If DIR holds a cluster
#   that is still running, it is stopped first. 0.4-1.5 s (median 0.6) once the packages are
#   installed; about 8 s when it has to install them.
# stop DIR
#   Kills (SIGKILL) what the cluster's jobs still run and the clients still waiting on it:
#   slurmstepd, srun, sbatch, salloc and sattach processes and job processes whose environment has
#   SLURM_CONF=DIR/slurm.conf (job processes: those with SLURMD_NODENAME set too),
#   then stops the daemons listed in DIR/started.pids (slurmds, slurmctld, munged only if start
#   started it) all at once: SIGTERM, SIGKILL after 10 s. About 0.2 s. A listed pid is signalled only
#   if it still runs the program start recorded. Removes nothing; DIR (state, logs, spools) stays.
#
# Configuration (see DIR/slurm.conf):
#   ports           SLURM_CLUSTER_PORT (env, default 17817) for slurmctld, +4..+6 for n1..n3's slurmd
#                   (17821-17823), so it does not collide with a cluster on Slurm's default ports.
#   nodes           n1 n2 n3, CPUS_PER_NODE CPUs and RealMemory=1000 (MB) each, partition `debug`
#                   (default) with all three; proctrack/linuxproc, task/none, no cgroups, no
#                   accounting (no slurmdbd: `sacct` does not work), select/cons_tres + CR_Core, so
#                   several 1-CPU jobs share a node.
#   MinJobAge=10    seconds a finished job stays in slurmctld's memory (and so in `squeue`, the only
#                   place its end state and exit code can be read: there is no accounting) at least;
#                   the record goes at a later purge pass, measured 10-16 s after the end. Slurm's default
#                   is 300. At 2 (the smallest the manual recommends) `sbatch --wait` sometimes missed the
#                   end: "Job N no longer found and exit code not found", exit 0 for a job that exited 3.
#   SlurmdTimeout=30 (default 300): a dead slurmd's node is "not responding" after 30 s, DOWN after
#                   ~43 s (measured), when its jobs end (NODE_FAIL; batch jobs are requeued).
#   KillWait=5      (default 30): seconds between SIGTERM and SIGKILL at a time limit or cancel.
#   MessageTimeout, TCPTimeout and the rest: Slurm's defaults.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR [CPUS_PER_NODE] | stop DIR" >&2
  exit 2
}
log() { echo "slurm-cluster: $*" >&2; }

NODES=(n1 n2 n3)
PACKAGES=(slurmctld slurmd slurm-client munge)

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# pid_matches PID NAME: is PID alive and running the program NAME (guards against a reused pid)?
pid_matches() {
  local comm
  comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
  [ "$comm" = "$2" ]
}

# running PID: PID exists and is not a zombie. (Exited daemons can stay zombies for a while where
# PID 1 is slow to reap, as in some containers and VMs; they count as stopped.)
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# wait_gone SECONDS PID...: wait until none of the pids is alive; false if some still are.
wait_gone() {
  local tries=$(($1 * 10)) p alive
  shift
  while :; do
    alive=0
    for p in "$@"; do running "$p" && alive=1; done
    [ "$alive" = 0 ] && return 0
    tries=$((tries - 1))
    [ "$tries" -le 0 ] && return 1
    sleep 0.1
  done
}

# wait_pidfile FILE: wait (at most 5 s) for a daemon to write its pid file, print the pid.
wait_pidfile() {
  local i
  for i in $(seq 1 50); do
    if [ -s "$1" ]; then cat "$1"; return 0; fi
    sleep 0.1
  done
  log "no pid file $1 after 5 s"
  return 1
}

# port_free PORT: nothing accepts connections on 127.0.0.1:PORT.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  local dir=${1:?} ncpus=${2:-2} port=${SLURM_CLUSTER_PORT:-17817} host pid n i p idle
  install_packages
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -s "$dir/started.pids" ]; then
    log "stopping the cluster already running from $dir"
    stop "$dir"
  fi
  for p in "$port" $((port + 4)) $((port + 5)) $((port + 6)); do
    port_free "$p" || { log "port $p on 127.0.0.1 is in use (set SLURM_CLUSTER_PORT)"; exit 1; }
  done
  : > "$dir/started.pids"

  # munge: the key (the package's postinst normally makes it), then the daemon, unless one answers.
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key
  chmod 600 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  if ! munge -n >/dev/null 2>&1; then
    rm -f /run/munge/munged.pid
    runuser -u munge -- /usr/sbin/munged
    pid=$(wait_pidfile /run/munge/munged.pid)
    echo "$pid munged" >> "$dir/started.pids"
    for i in $(seq 1 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n >/dev/null 2>&1 || { log "munged does not answer"; exit 1; }
  fi

  host=$(hostname -s)
  rm -rf "$dir"/state "$dir"/spool-* "$dir"/log "$dir"/*.pid
  mkdir -p "$dir"/state "$dir"/log
  for n in "${NODES[@]}"; do mkdir -p "$dir/spool-$n"; done
  {
    cat <<CONF
# Written by scripts/slurm-cluster.sh; see its header.
ClusterName=runner-ci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool-%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,default_queue_depth=1000,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=10
SlurmdTimeout=30
KillWait=5
MaxJobCount=100000
CONF
    i=4
    for n in "${NODES[@]}"; do
      echo "NodeName=$n NodeHostname=$host NodeAddr=127.0.0.1 Port=$((port + i)) CPUs=$ncpus RealMemory=1000 State=UNKNOWN"
      i=$((i + 1))
    done
    echo "PartitionName=debug Nodes=$(IFS=,; echo "${NODES[*]}") Default=YES MaxTime=INFINITE State=UP"
  } > "$dir/slurm.conf"
  export SLURM_CONF="$dir/slurm.conf"

  slurmctld
  pid=$(wait_pidfile "$dir/slurmctld.pid")
  echo "$pid slurmctld" >> "$dir/started.pids"
  for n in "${NODES[@]}"; do
    slurmd -N "$n"
    pid=$(wait_pidfile "$dir/slurmd-$n.pid")
    echo "$pid slurmd" >> "$dir/started.pids"
  done

  for i in $(seq 1 75); do
    idle=$(sinfo -h -N -o '%N %T' 2>/dev/null | grep -c ' idle$' || true)
    if [ "$idle" = "${#NODES[@]}" ]; then
      log "ready: ${#NODES[*]} nodes idle ($dir)"
      printf 'export SLURM_CONF=%q\n' "$SLURM_CONF"
      return 0
    fi
    sleep 0.2
  done
  log "the nodes are not idle after 15 s; sinfo and the logs follow. Stop with: $0 stop $dir"
  sinfo -N >&2 || true
  tail -n 20 "$dir"/log/*.log >&2 || true
  exit 1
}

# term_all PID...: SIGTERM, then SIGKILL to those still alive after 10 s.
term_all() {
  [ $# -gt 0 ] || return 0
  kill "$@" 2>/dev/null || true
  wait_gone 10 "$@" && return 0
  log "SIGKILL to $*"
  kill -9 "$@" 2>/dev/null || true
  wait_gone 2 "$@" || true
}

stop() {
  local dir=${1:?} p pid name slurmds=() ctld=() munged=()
  [ -s "$dir/started.pids" ] || { log "nothing started from $dir"; return 0; }
  dir=$(cd "$dir" && pwd)
  while read -r pid name; do
    if ! pid_matches "$pid" "$name"; then
      log "pid $pid ($name) is gone already"
      continue
    fi
    case $name in
      slurmd) slurmds+=("$pid") ;;
      slurmctld) ctld+=("$pid") ;;
      munged) munged+=("$pid") ;;
    esac
  done < "$dir/started.pids"

  # What the cluster's jobs run: the slurmstepds our slurmds started, and the job processes under
  # them (tasks have SLURMD_NODENAME set; clients such as srun or this script do not). Both carry our
  # SLURM_CONF. proctrack/linuxproc loses a job's process once its parent exits, and slurmstepd
  # outlives slurmd (it retries its completion message): without this they would stay, and report to
  # the next cluster started on the same ports. The same goes for the Slurm clients a failed test
  # may leave waiting on the cluster: an srun whose step is gone ignores SIGTERM and stays.
  local conf="$dir/slurm.conf" env leftovers=()
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = $$ ] && continue
    env=$( { tr '\0' '\n' < "$p/environ"; } 2>/dev/null) || continue
    grep -qxF "SLURM_CONF=$conf" <<< "$env" || continue
    case $(cat "$p/comm" 2>/dev/null) in
      slurmstepd | srun | sbatch | salloc | sattach) leftovers+=("$pid") ;;
      *) grep -q '^SLURMD_NODENAME=' <<< "$env" && leftovers+=("$pid") ;;
    esac
  done
  if [ "${#leftovers[@]}" -gt 0 ]; then
    log "killing ${#leftovers[@]} slurmstepd/client/job process(es): ${leftovers[*]}"
    kill -9 "${leftovers[@]}" 2>/dev/null || true
  fi

  # All together: each takes up to ~1 s to exit on SIGTERM.
  term_all "${slurmds[@]}" "${ctld[@]}" "${munged[@]}"
  [ "${#leftovers[@]}" -eq 0 ] || wait_gone 2 "${leftovers[@]}" || log "still alive: ${leftovers[*]}"
  : > "$dir/started.pids"
  log "stopped $((${#slurmds[@]} + ${#ctld[@]} + ${#munged[@]})) daemon(s) from $dir"
}

case ${1:-} in
  start) { [ $# -ge 2 ] && [ $# -le 3 ]; } || usage; start "$2" "${3:-2}" ;;
  stop) [ $# -eq 2 ] || usage; stop "$2" ;;
  *) usage ;;
esac
