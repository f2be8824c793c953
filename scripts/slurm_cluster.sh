#!/usr/bin/env bash
# A single-node SLURM cluster on localhost, for testing the workflow on a real scheduler.
#
#   scripts/slurm_cluster.sh up   STATE_DIR   # install (Debian, root), configure, start, wait idle
#   scripts/slurm_cluster.sh down STATE_DIR   # stop only the daemons that `up` started
#
# The cluster's spool, state, logs and PID files live in STATE_DIR. Its slurm.conf must be the
# default /etc/slurm/slurm.conf: Snakemake's slurm job steps drop SLURM_CONF before calling srun.
# `up` refuses to run where a slurmctld already runs; a slurm.conf already there is kept in
# STATE_DIR and put back by `down`. No systemd is needed: the daemons are started directly.
# Accounting is off (no slurmdbd), so job status comes from squeue: see profiles/slurm.
set -euo pipefail

CTLD_PORT=6917
SLURMD_PORT=6918
PACKAGES=(slurmctld slurmd slurm-client munge)
CONF=/etc/slurm/slurm.conf
MARK="# written by mpralens scripts/slurm_cluster.sh"

die() { echo "slurm_cluster: $*" >&2; exit 1; }

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sbatch >/dev/null && command -v munged >/dev/null; then
        return
    fi
    [[ $(id -u) -eq 0 ]] || die "SLURM is not installed and installing it needs root (apt-get)"
    command -v apt-get >/dev/null || die "SLURM is not installed and this is not a Debian system"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${PACKAGES[@]}" >/dev/null 2>&1; then
        apt-get update -qq >/dev/null
        apt-get install -y --no-install-recommends "${PACKAGES[@]}" >/dev/null
    fi
}

# munge authenticates every SLURM message. Reuse a running munged; otherwise start one and
# remember its PID so that `down` stops it.
start_munge() {
    local state=$1
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        mkdir -p /etc/munge
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile /etc/munge/munge.key
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        fi
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do
        if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
            cat /run/munge/munged.pid > "$state/munged.pid"
            return
        fi
        sleep 0.2
    done
    die "munged did not come up"
}

write_conf() {
    local state=$1 node
    # The node line as slurmd measures this machine, reachable on localhost.
    node=$(slurmd -C | head -n 1)
    [[ $node == NodeName=* ]] || die "slurmd -C did not describe this node: $node"
    mkdir -p "$(dirname "$CONF")"
    if [[ -e $CONF ]] && ! grep -qF "$MARK" "$CONF"; then
        mv "$CONF" "$state/slurm.conf.orig"
    fi
    cat > "$CONF" <<EOF
$MARK (state in $state)
ClusterName=mpralens-test
SlurmctldHost=$(hostname)(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# squeue must still see finished jobs when the executor plugin asks (>= 3 x its first check).
MinJobAge=300
StateSaveLocation=$state/state
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

wait_idle() {
    local state
    for _ in $(seq 150); do
        state=$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)
        if [[ $state == idle ]]; then
            return
        fi
        sleep 0.2
    done
    die "the node did not become idle (last state: '${state:-none}'); see $1/log"
}

up() {
    local state
    mkdir -p "$1"
    state=$(cd "$1" && pwd)
    [[ ! -s $state/slurmctld.pid ]] || die "$state already holds a running cluster; run 'down' first"
    if pgrep -x slurmctld >/dev/null; then
        die "a slurmctld already runs on this machine; not starting a second cluster"
    fi
    install_packages
    mkdir -p "$state/state" "$state/spool" "$state/log"
    start_munge "$state"
    write_conf "$state"
    /usr/sbin/slurmctld
    /usr/sbin/slurmd
    wait_idle "$state"
    echo "cluster up: $(sinfo -h -o '%P %D %c %m %T' | head -n 1) (logs: $state/log)"
}

stop_pidfile() {
    local pidfile=$1 pid
    [[ -s $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

down() {
    [[ -d $1 ]] || return 0
    local state
    state=$(cd "$1" && pwd)
    # Jobs first (they would otherwise outlive slurmd), then the daemons this script started.
    if [[ -s $state/slurmctld.pid ]]; then
        scancel --quiet --full --user "$(id -un)" 2>/dev/null || true
    fi
    stop_pidfile "$state/slurmd.pid"
    stop_pidfile "$state/slurmctld.pid"
    stop_pidfile "$state/munged.pid"
    if [[ -e $CONF ]] && grep -qF "$MARK (state in $state)" "$CONF"; then
        rm -f "$CONF"
        if [[ -e $state/slurm.conf.orig ]]; then
            mv "$state/slurm.conf.orig" "$CONF"
        fi
    fi
}

case "${1:-}" in
    up) [[ $# -eq 2 ]] || die "usage: $0 up STATE_DIR"; up "$2" ;;
    down) [[ $# -eq 2 ]] || die "usage: $0 down STATE_DIR"; down "$2" ;;
    *) die "usage: $0 up|down STATE_DIR" ;;
esac
