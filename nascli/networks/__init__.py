"""Networks that are not drawn from a search space (RMI-NAS teachers), behind one registry."""

from nascli.networks.resnet import NETWORKS, NetworkSpec, build_network, network_spec

__all__ = ["NETWORKS", "NetworkSpec", "build_network", "network_spec"]
