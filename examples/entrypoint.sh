#!/bin/sh
# Container entrypoint: proxysv as PID 1, supervising proxyd.
#
#   ENTRYPOINT ["/usr/local/share/proxyd/entrypoint.sh"]
#   STOPSIGNAL SIGTERM
#
# proxysv is exec'ed, so it is PID 1 of the container: it reaps every child
# (orphans included), turns SIGTERM/SIGINT into a graceful shutdown of all
# generations (shutdown-delay, then drain for shutdown-timeout, then
# SIGTERM and SIGKILL), and exits 0 when every generation drained in time,
# 2 when one had to be cut, 1 when it could not start. A reload is
# `docker kill -s HUP CONTAINER` or `proxyctl reload` inside it.
#
# Give the orchestrator's stop timeout more than shutdown-delay +
# shutdown-timeout + kill-grace, or it will SIGKILL the container first.
#
# Environment:
#   PROXYD_CONFIG   the configuration (default /etc/proxyd/proxyd.cfg)
#   PROXYSV_ARGS    more proxysv options (e.g. "--db none")
set -eu
CFG=${PROXYD_CONFIG:-/etc/proxyd/proxyd.cfg}

# Fail fast with the file:line messages when the configuration is wrong.
proxyd -c -f "$CFG"

# shellcheck disable=SC2086
exec proxysv -f "$CFG" ${PROXYSV_ARGS:-} "$@"
