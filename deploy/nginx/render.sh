#!/bin/sh
# Render mvoting.conf.template for the web nodes given as arguments (host:port each):
#
#   NGINX_LISTEN=80 NGINX_SERVER_NAME=vote.example.org NGINX_STATIC_ROOT=/opt/mvoting/static \
#       deploy/nginx/render.sh 10.0.0.11:8000 10.0.0.12:8000 > /etc/nginx/conf.d/mvoting.conf
#   nginx -t && nginx -s reload
#
# Needs `envsubst` (Debian: gettext-base). Only our four variables are substituted.
set -eu
here=$(dirname "$0")
[ "$#" -ge 1 ] || { echo "usage: $0 HOST:PORT [HOST:PORT ...]" >&2; exit 2; }
: "${NGINX_LISTEN:=80}"
: "${NGINX_SERVER_NAME:=_}"
: "${NGINX_STATIC_ROOT:=/opt/mvoting/static}"
servers=""
sep=""
for node in "$@"; do
    servers="${servers}${sep}server ${node} max_fails=3 fail_timeout=10s;"
    sep="
    "
done
NGINX_UPSTREAM_SERVERS=$servers
export NGINX_LISTEN NGINX_SERVER_NAME NGINX_STATIC_ROOT NGINX_UPSTREAM_SERVERS
echo "# Rendered from mvoting.conf.template by render.sh for: $*. Edit the template."
# shellcheck disable=SC2016 # the list names the variables; envsubst expands them
envsubst '${NGINX_LISTEN} ${NGINX_SERVER_NAME} ${NGINX_UPSTREAM_SERVERS} ${NGINX_STATIC_ROOT}' \
    < "$here/mvoting.conf.template"
