#!/bin/sh
# lab-net.sh - lab 10's experiments: a private chain of routers, and a shell at its start.
#
#   labs/10-traceroute/lab-net.sh [ROUTERS]     (1 to 5 routers, default 2)
#
# Needs no privileges: it re-runs itself in a new user, network and mount
# namespace, where you are root of a network that exists only for this shell.
#
#   you (10.0.1.1) -- r1 -- r2 -- ... -- far (10.0.N.2)
#
# Link k is 10.0.k.0/24 (its left end .1, its right end .2), so router k answers
# from 10.0.k.2. In the shell you are the prober; reach the others with
# `ip netns exec r2 COMMAND` (or far). Leave with `exit`: everything disappears.
set -eu

routers=${1:-2}
case $routers in
1 | 2 | 3 | 4 | 5) ;;
*) echo "usage: lab-net.sh [ROUTERS]  (1 to 5)" >&2; exit 2 ;;
esac

if [ "${LAB_NET_INSIDE:-}" != 1 ]; then
	LAB_NET_INSIDE=1 exec unshare --user --map-root-user --net --mount "$0" "$routers"
fi

# `ip netns` keeps its names in /run/netns: a private /run keeps them ours.
mount -t tmpfs lab-net /run
ip link set lo up
hosts=""
for k in $(seq 1 "$routers"); do hosts="$hosts r$k"; done
hosts="$hosts far"
for h in $hosts; do
	ip netns add "$h"
	ip -n "$h" link set lo up
done

# Link k joins the host on its left (you, or router k-1) to the one on its right.
left=""
k=1
for right in $hosts; do
	if [ -z "$left" ]; then
		ip link add eth0 type veth peer name left netns "$right"
		ip addr add 10.0.1.1/24 dev eth0
		ip link set eth0 up
		ip route add default via 10.0.1.2
	else
		ip -n "$left" link add right type veth peer name left netns "$right"
		ip -n "$left" addr add "10.0.$k.1/24" dev right
		ip -n "$left" link set right up
		# A router sends on towards far, and back towards you by way of its left.
		ip -n "$left" route add default via "10.0.$k.2"
		[ "$k" -gt 2 ] && ip -n "$left" route add 10.0.1.0/24 via "10.0.$((k - 1)).1"
	fi
	ip -n "$right" addr add "10.0.$k.2/24" dev left
	ip -n "$right" link set left up
	left=$right
	k=$((k + 1))
done
ip -n far route add default via "10.0.$((k - 1)).1"
for h in $hosts; do
	[ "$h" = far ] || ip netns exec "$h" sysctl -qw net.ipv4.ip_forward=1
done

echo "lab-net: you are 10.0.1.1;$(for h in $hosts; do printf ' %s' "$h"; done), far is 10.0.$((k - 1)).2"
echo "lab-net: try  build/labs/10-traceroute/traceroute 10.0.$((k - 1)).2   (exit to leave)"
PS1='lab-net# ' exec "${SHELL:-/bin/sh}" -i
