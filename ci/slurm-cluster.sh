#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for CI and for trying the slurm profile locally.
#
#   ci/slurm-cluster.sh install   apt-get install slurm-wlm + munge (the only step that installs)
#   ci/slurm-cluster.sh start     write /etc/slurm/{slurm,gres}.conf, start munged, slurmctld, slurmd;
#                                 wait until the node is idle (no-op when already up)
#   ci/slurm-cluster.sh stop      stop the daemons by their pid files (TERM, then KILL)
#   ci/slurm-cluster.sh status    print the node state; exit 0 only when the cluster answers
#
# Needs root (daemons, /etc/slurm). Every step is idempotent. The node is this host
# (`hostname -s`, reached at 127.0.0.1) with its real CPUs and memory, one partition `debug`, and one fake GPU
# (gres.conf: File=/dev/null) so that jobs asking for `--gpus=1` schedule; they still run
# on the CPU. Accounting is off (no slurmdbd): the slurm profile therefore asks the
# executor plugin to poll `squeue` instead of `sacct`.
#
# The config must live at /etc/slurm/slurm.conf: the jobstep plugin drops SLURM_CONF before
# its nested srun. A slurm.conf this script did not write is never overwritten.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
GRES=$CONF_DIR/gres.conf
MARKER="# written by lmdeck ci/slurm-cluster.sh"
STATE=/var/lib/slurm
LOGS=/var/log/slurm
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=/run/munge/munged.pid
START_TIMEOUT_S=${SLURM_START_TIMEOUT_S:-60}
CONFIG_CHANGED=0

log() { echo "slurm-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (daemons and /etc/slurm)"; }

need_binaries() {
  local missing=()
  for b in munged slurmctld slurmd sinfo sbatch squeue; do
    command -v "$b" >/dev/null 2>&1 || [[ -x /usr/sbin/$b ]] || missing+=("$b")
  done
  ((${#missing[@]} == 0)) || die "missing ${missing[*]}; run: $0 install (apt-get install slurm-wlm munge)"
}

alive() {  # alive PIDFILE: the process named in the pid file is running
  [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

cmd_install() {
  need_root
  if command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 \
     && command -v sbatch >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; then
    log "slurm and munge already installed"
    return
  fi
  log "installing slurm-wlm and munge with apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

write_config() {
  local node cpus_line
  if [[ -e $CONF ]] && ! grep -qF "$MARKER" "$CONF"; then
    die "$CONF exists and was not written by this script; not touching a real cluster's config"
  fi
  node=$(hostname -s)
  # The machine's own topology and memory, as slurmd sees it (CPUs, sockets, cores, RealMemory).
  cpus_line=$(slurmd -C | head -n1 | sed -E 's/^NodeName=[^ ]+ //')
  local mem cpus
  mem=$(sed -nE 's/.*RealMemory=([0-9]+).*/\1/p' <<<"$cpus_line")
  cpus=$(sed -nE 's/.*CPUs=([0-9]+).*/\1/p' <<<"$cpus_line")
  mkdir -p "$CONF_DIR" "$STATE/slurmctld" "$STATE/slurmd" "$LOGS"
  local tmp
  tmp=$(mktemp)
  cat >"$tmp" <<EOF
$MARKER
# A one-node test cluster (lmdeck CI). Do not use on a real cluster.
ClusterName=lmdeck
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((mem / cpus))
GresTypes=gpu
ReturnToService=2
MinJobAge=600
KillWait=10
InactiveLimit=0
Waittime=0
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$node NodeAddr=127.0.0.1 $cpus_line Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  if ! cmp -s "$tmp" "$CONF"; then
    install -m 0644 "$tmp" "$CONF"
    log "wrote $CONF"
    CONFIG_CHANGED=1
  fi
  printf '%s\n# A fake GPU: jobs asking for --gpus=1 schedule, and run on the CPU.\nNodeName=%s Name=gpu File=/dev/null\n' \
    "$MARKER" "$node" >"$tmp"
  if ! cmp -s "$tmp" "$GRES"; then
    install -m 0644 "$tmp" "$GRES"
    CONFIG_CHANGED=1
  fi
  rm -f "$tmp"
}

start_munge() {
  if alive "$MUNGE_PID"; then return; fi
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge /etc/munge
  if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null 2>&1; then
      runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do alive "$MUNGE_PID" && return; sleep 0.1; done
  die "munged did not start (see /var/log/munge/munged.log)"
}

node_state() {  # the node's state as sinfo reports it, empty while slurmctld does not answer
  timeout 10 sinfo -h -N -n "$(hostname -s)" -o '%T' 2>/dev/null | head -n1 || true
}

cmd_start() {
  need_root
  need_binaries
  write_config
  start_munge
  if ! alive "$CTLD_PID"; then
    log "starting slurmctld"
    /usr/sbin/slurmctld
  elif ((CONFIG_CHANGED)); then
    log "config changed: scontrol reconfigure"
    scontrol reconfigure
  fi
  if ! alive "$SLURMD_PID"; then
    log "starting slurmd"
    /usr/sbin/slurmd
  fi
  local state="" deadline=$((SECONDS + START_TIMEOUT_S)) resumed=0
  while ((SECONDS < deadline)); do
    state=$(node_state)
    case $state in
      idle | mixed | allocated | completing) log "node $(hostname -s) is $state"; return 0 ;;
      down* | drain* | fail*)
        if ((!resumed)); then
          scontrol update NodeName="$(hostname -s)" State=RESUME >/dev/null 2>&1 || true
          resumed=1
        fi ;;
    esac
    sleep 1
  done
  log "node not idle after ${START_TIMEOUT_S}s (state: ${state:-no answer}); last log lines:"
  tail -n 20 "$LOGS/slurmctld.log" "$LOGS/slurmd.log" >&2 || true
  exit 1
}

stop_pidfile() {  # stop_pidfile NAME PIDFILE: TERM, wait, then KILL
  local name=$1 file=$2 pid
  alive "$file" || return 0
  pid=$(cat "$file")
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || { rm -f "$file"; return 0; }; sleep 0.1; done
  log "$name did not stop on TERM; sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$file"
}

cmd_stop() {
  need_root
  stop_pidfile slurmd "$SLURMD_PID"
  stop_pidfile slurmctld "$CTLD_PID"
  stop_pidfile munged "$MUNGE_PID"
  # Take our config away with the daemons: with a slurm.conf but no controller, every
  # `scontrol` waits out its 10 s message timeout, and Snakemake's SLURM plugin runs
  # `scontrol show config` each time Snakemake starts, SLURM run or not. (start rewrites it.)
  local f
  for f in "$CONF" "$GRES"; do
    if [[ -f $f ]] && grep -qF "$MARKER" "$f"; then rm -f "$f"; fi
  done
}

cmd_status() {
  local ok=0
  for pair in "munged:$MUNGE_PID" "slurmctld:$CTLD_PID" "slurmd:$SLURMD_PID"; do
    if alive "${pair#*:}"; then echo "${pair%%:*}: running (pid $(cat "${pair#*:}"))"; else echo "${pair%%:*}: stopped"; ok=1; fi
  done
  if command -v sinfo >/dev/null 2>&1 && ((ok == 0)); then
    timeout 10 sinfo -N -o '%N %P %T %c %m %G' || ok=1
  fi
  return $ok
}

case ${1:-} in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
