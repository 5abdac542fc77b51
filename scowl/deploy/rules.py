"""Pure builders of the fault commands (nft, iptables, tc), shared by the namespace backend and
the Emulab plan so both apply the same rules. Nothing here runs anything.

A `Cmd` is an argv plus whether a failure is expected and harmless (deleting what may not exist).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

NFT_TABLE = "scowl"  # bridge table in the switch namespace
NFT_CHAIN = "scowlcut"  # 'fwd', 'in', 'out' are nft keywords: never name a chain like that
IPT_CHAIN = "SCOWL-CUT"  # host-side partition chain (Emulab, and its local test on namespaces)
DELAY_QUEUE = 7  # NFQUEUE number used by the delayer inside each host namespace


@dataclass(frozen=True)
class Cmd:
    argv: tuple[str, ...]
    may_fail: bool = False

    def shell(self) -> str:
        """One shell line; tokens that are shell variables ("$X") stay unquoted."""
        text = " ".join(a if a.startswith('"$') else shlex.quote(a) for a in self.argv)
        return f"{text} 2>/dev/null || true" if self.may_fail else text


def cmd(*argv: str, may_fail: bool = False) -> Cmd:
    return Cmd(tuple(argv), may_fail)


# -- partitions on a bridge (namespaces: the switch sees every frame) --------------------------
def nft_bridge_script(pairs: list[tuple[str, str]], exempt: Sequence[tuple[str, int]] = ()) -> str:
    """An nft script that atomically replaces the drop table with drops for `pairs` (both ways);
    with no pairs it just removes the table. tcp to and from the `exempt` (address, port)
    endpoints passes (the metronome: the experiment's clock, not a grid link)."""
    lines = [f"table bridge {NFT_TABLE}", f"delete table bridge {NFT_TABLE}"]
    if pairs:
        lines.append(f"table bridge {NFT_TABLE} {{")
        lines.append(f"  chain {NFT_CHAIN} {{ type filter hook forward priority 0; policy accept;")
        for addr, port in exempt:
            lines.append(f"    ip saddr {addr} tcp sport {port} accept")
            lines.append(f"    ip daddr {addr} tcp dport {port} accept")
        for a, b in pairs:
            lines.append(f"    ip saddr {a} ip daddr {b} drop")
            lines.append(f"    ip saddr {b} ip daddr {a} drop")
        lines.append("  }")
        lines.append("}")
    return "\n".join(lines) + "\n"


# -- partitions on the hosts themselves (Emulab: no switch of ours) ---------------------------
def iptables_cut_init() -> list[Cmd]:
    return [cmd("iptables", "-N", IPT_CHAIN, may_fail=True),
            cmd("iptables", "-D", "INPUT", "-j", IPT_CHAIN, may_fail=True),
            cmd("iptables", "-I", "INPUT", "-j", IPT_CHAIN)]


def iptables_cut_set(peers: list[str], exempt_ports: tuple[int, ...] = ()) -> list[Cmd]:
    """Replace this host's drops: every packet from `peers` is dropped silently at INPUT. Applied
    on both hosts of a pair, the cut holds both ways and each side's own stack stays untouched.
    tcp from or to `exempt_ports` (the metronome's) passes first."""
    out = [cmd("iptables", "-F", IPT_CHAIN)]
    if peers and exempt_ports:
        out.append(cmd("iptables", "-A", IPT_CHAIN, "-p", "tcp", "-m", "multiport", "--ports",
                       ",".join(str(p) for p in exempt_ports), "-j", "RETURN"))
    return out + [cmd("iptables", "-A", IPT_CHAIN, "-s", p, "-j", "DROP") for p in peers]


def iptables_cut_cleanup() -> list[Cmd]:
    return [cmd("iptables", "-D", "INPUT", "-j", IPT_CHAIN, may_fail=True),
            cmd("iptables", "-F", IPT_CHAIN, may_fail=True),
            cmd("iptables", "-X", IPT_CHAIN, may_fail=True)]


# -- latency with netem (Emulab, or a kernel that has it) ------------------------------------
def netem_set(iface: str, delays: dict[str, tuple[float, float]]) -> list[Cmd]:
    """Replace the egress qdisc of `iface`: one htb class with a netem child per peer address
    (delay ms, jitter ms); everything else goes through the undelayed default class."""
    out = [cmd("tc", "qdisc", "del", "dev", iface, "root", may_fail=True)]
    if not delays:
        return out
    out += [cmd("tc", "qdisc", "add", "dev", iface, "root", "handle", "1:", "htb", "default", "1"),
            cmd("tc", "class", "add", "dev", iface, "parent", "1:", "classid", "1:1", "htb", "rate", "10gbit")]
    for i, (addr, (ms, jitter)) in enumerate(sorted(delays.items()), start=10):
        delay = ["delay", f"{ms:g}ms"] + ([f"{jitter:g}ms"] if jitter else [])
        out += [cmd("tc", "class", "add", "dev", iface, "parent", "1:", "classid", f"1:{i}", "htb", "rate", "10gbit"),
                cmd("tc", "qdisc", "add", "dev", iface, "parent", f"1:{i}", "handle", f"{i}:", "netem", *delay),
                cmd("tc", "filter", "add", "dev", iface, "protocol", "ip", "parent", "1:", "prio", "1", "u32",
                    "match", "ip", "dst", f"{addr}/32", "flowid", f"1:{i}")]
    return out


def netem_cleanup(iface: str) -> list[Cmd]:
    return [cmd("tc", "qdisc", "del", "dev", iface, "root", may_fail=True)]


# -- latency without netem: the NFQUEUE delayer at ingress -----------------------------------
def nfqueue_rule(action: str, src: str, exempt_ports: tuple[int, ...] = ()) -> Cmd:
    """`action` is -A (add) or -D (delete): queue packets from `src` to the delayer; with
    --queue-bypass they pass untouched whenever no delayer listens. tcp from or to one of
    `exempt_ports` is never queued (the metronome's fixed ports)."""
    match: tuple[str, ...] = ()
    if exempt_ports:
        ports = ",".join(str(p) for p in exempt_ports)
        match = ("-p", "tcp", "-m", "multiport", "!", "--sports", ports, "-m", "multiport", "!", "--dports", ports)
    return cmd("iptables", "-t", "mangle", action, "PREROUTING", "-s", src, *match, "-j", "NFQUEUE",
               "--queue-num", str(DELAY_QUEUE), "--queue-bypass", may_fail=action == "-D")
