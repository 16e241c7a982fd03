"""One topology (vagrant/topology.toml), two labs: the namespace lab CI runs and the Vagrantfile.

Both run the same role scripts (vagrant/roles/<role>.sh) with the same OASIS_LAB_* settings.
In a namespace each network is a bridge in a namespace of its own (the lab's "switch") and a
host's links are veths named eth1, eth2... in the topology's order, as VirtualBox names a VM's
private networks after its NAT eth0.

    python -m tests.lab.topology vagrantfile > vagrant/Vagrantfile
    python -m tests.lab.topology env HOST      # the variables a host's role script gets
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab.netns import Lab, Namespace

REPO = Path(__file__).resolve().parents[2]
TOPOLOGY = REPO / "vagrant" / "topology.toml"
ROLES = REPO / "vagrant" / "roles"


@dataclass(frozen=True)
class Link:
    net: str
    address: str | None
    prefix: int


@dataclass(frozen=True)
class Host:
    name: str
    role: str
    links: list[Link]
    routes: list[str] = field(default_factory=list)
    loopback: str | None = None
    memory: int = 384


@dataclass(frozen=True)
class Topology:
    box: str
    networks: dict[str, str]
    settings: dict[str, object]
    hosts: dict[str, Host]

    def env(self, host: str) -> dict[str, str]:
        """The OASIS_LAB_* variables of ``host``'s role script."""
        out = {f"OASIS_LAB_{key.upper()}": str(value) for key, value in self.settings.items()}
        out["OASIS_LAB_HOST"] = host
        return out


def load(path: Path = TOPOLOGY) -> Topology:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    networks = dict(data["networks"])
    hosts = {}
    for name, raw in data["hosts"].items():
        links = []
        for link in raw["links"]:
            if link["net"] not in networks:
                raise ValueError(f"{path}: hosts.{name}: unknown network {link['net']!r}")
            net = ipaddress.ip_network(networks[link["net"]])
            address = link.get("address")
            if address is not None and ipaddress.ip_address(address) not in net:
                raise ValueError(f"{path}: hosts.{name}: {address} is not in {net}")
            links.append(Link(link["net"], address, net.prefixlen))
        hosts[name] = Host(name, raw["role"], links, list(raw.get("routes", [])),
                           raw.get("loopback"), int(raw.get("memory", 384)))
    return Topology(data["box"], networks, dict(data["settings"]), hosts)


def _ruby(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def vagrantfile(topology: Topology) -> str:
    """The Vagrantfile for ``topology`` (VirtualBox internal networks, or libvirt's)."""
    lines = [
        "# -*- mode: ruby -*-",
        "# Made by `python -m tests.lab.topology vagrantfile` from vagrant/topology.toml: edit",
        "# that file, not this one (tests/lab/test_topology_lab.py checks they agree).",
        "# Each VM is provisioned by vagrant/provision.sh (packages, the project) and then by",
        "# vagrant/roles/<role>.sh, the script the namespace lab runs in CI.",
        "",
        f"BOX = {_ruby(topology.box)}",
        "",
        "SETTINGS = {",
        *(f"  {_ruby(k)} => {_ruby(v)}," for k, v in topology.env("").items()
          if k != "OASIS_LAB_HOST"),
        "}",
        "",
        "HOSTS = {",
    ]
    for host in topology.hosts.values():
        nets = ", ".join(f"[{_ruby(link.net)}, {_ruby(link.address) if link.address else 'nil'},"
                         f" {_ruby(str(ipaddress.ip_network(f'0.0.0.0/{link.prefix}').netmask))}]"
                         for link in host.links)
        routes = ", ".join(_ruby(route) for route in host.routes)
        lines.append(f"  {_ruby(host.name)} => {{ role: {_ruby(host.role)}, memory: "
                     f"{host.memory},")
        lines.append(f"    nets: [{nets}],")
        lines.append(f"    routes: [{routes}], "
                     f"loopback: {_ruby(host.loopback) if host.loopback else 'nil'} }},")
    lines += [
        "}",
        "",
        'Vagrant.configure("2") do |config|',
        "  config.vm.box = BOX",
        '  config.vm.synced_folder "..", "/opt/oasis-edge"',
        "  HOSTS.each do |name, spec|",
        "    config.vm.define name do |host|",
        "      host.vm.hostname = name",
        "      spec[:nets].each do |net, ip, netmask|",
        "        if ip",
        '          host.vm.network "private_network", ip: ip, netmask: netmask, auto_config: true,',
        "                          virtualbox__intnet: net, libvirt__network_name: \"oasis-#{net}\",",
        "                          libvirt__dhcp_enabled: false, libvirt__forward_mode: \"none\"",
        "        else",
        '          host.vm.network "private_network", auto_config: false, virtualbox__intnet: net,',
        "                          libvirt__network_name: \"oasis-#{net}\", libvirt__dhcp_enabled: false,",
        '                          libvirt__forward_mode: "none"',
        "        end",
        "      end",
        '      host.vm.provider "virtualbox" do |vb|',
        "        vb.memory = spec[:memory]",
        "        vb.cpus = 1",
        "      end",
        '      host.vm.provider "libvirt" do |lv|',
        "        lv.memory = spec[:memory]",
        "        lv.cpus = 1",
        "      end",
        '      host.vm.provision "packages", type: "shell", path: "provision.sh", args: [spec[:role]]',
        "      routes = spec[:routes].map { |r| \"ip route replace #{r}\" }",
        "      routes << \"ip addr replace #{spec[:loopback]}/32 dev lo\" if spec[:loopback]",
        '      host.vm.provision "routes", type: "shell", run: "always", inline: routes.join("\\n")',
        '      host.vm.provision "role", type: "shell", run: "always",',
        '                        path: "roles/#{spec[:role]}.sh",',
        '                        env: SETTINGS.merge("OASIS_LAB_HOST" => name)',
        "    end",
        "  end",
        "end",
    ]
    return "\n".join(lines) + "\n"


class NamespaceLab:
    """``topology`` built in network namespaces: one per host, one bridge namespace per network."""

    def __init__(self, lab: Lab, topology: Topology, folder: Path):
        self.lab = lab
        self.topology = topology
        self.folder = folder
        self.hosts: dict[str, Namespace] = {}

    def build(self, only: set[str] | None = None) -> None:
        chosen = {name: host for name, host in self.topology.hosts.items()
                  if only is None or name in only}
        switches: dict[str, Namespace] = {}
        for net in sorted({link.net for host in chosen.values() for link in host.links}):
            switches[net] = self.lab.namespace(f"sw-{net}")
            switches[net].ip("link", "add", "br0", "type", "bridge")
            switches[net].ip("link", "set", "br0", "up")
        for name, host in chosen.items():
            ns = self.hosts[name] = self.lab.namespace(name)
            for index, link in enumerate(host.links, start=1):
                port = f"p{index}{name[:9]}"
                self.lab.veth(ns, f"eth{index}", switches[link.net], port)
                switches[link.net].ip("link", "set", port, "master", "br0")
                switches[link.net].ip("link", "set", port, "up")
                if link.address:
                    ns.address(f"eth{index}", f"{link.address}/{link.prefix}")
                else:
                    ns.ip("link", "set", f"eth{index}", "up")
            if host.loopback:
                ns.ip("addr", "add", f"{host.loopback}/32", "dev", "lo")
            for route in host.routes:
                ns.ip("route", "replace", *route.split())

    def state(self, host: str) -> Path:
        return self.folder / host

    def run_role(self, host: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run ``host``'s role script in its namespace as CI does; fails with its output."""
        role = self.topology.hosts[host].role
        state = self.state(host)
        env = {**os.environ, **self.topology.env(host), "OASIS_LAB_MODE": "netns",
               "OASIS_LAB_ETC": str(state / "etc"), "OASIS_LAB_STATE": str(state),
               "OASIS_LAB_REPO": str(REPO), "PYTHON": sys.executable,
               "CLIENT_PYTHON": sys.executable, "PYTHONPATH": str(REPO),
               "OASIS": str(Path(sys.executable).with_name("oasis"))}
        result = subprocess.run(self.hosts[host].argv(["bash", str(ROLES / f"{role}.sh")]),
                                capture_output=True, text=True, env=env, timeout=timeout,
                                check=False)
        if result.returncode != 0:
            logs = "".join(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}"
                           for log in sorted(self.folder.glob("*/log/*.log")))
            raise AssertionError(f"role {role} on {host} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}\n{logs}")
        return result

    def stop(self) -> None:
        """Stop what the role scripts started (their recorded pids), newest first."""
        pids = [int(pid) for pids in self.folder.glob("*/pids")
                for pid in pids.read_text().split()]
        for pid in reversed(pids):
            try:
                os.killpg(pid, 15)
            except ProcessLookupError:
                pass


def main(argv: list[str]) -> None:
    topology = load()
    if argv[:1] == ["vagrantfile"]:
        sys.stdout.write(vagrantfile(topology))
    elif argv[:1] == ["env"] and len(argv) == 2:
        for key, value in topology.env(argv[1]).items():
            print(f"{key}={value}")
    else:
        raise SystemExit("usage: python -m tests.lab.topology vagrantfile | env HOST")


if __name__ == "__main__":
    main(sys.argv[1:])
