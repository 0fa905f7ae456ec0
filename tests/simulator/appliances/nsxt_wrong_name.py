"""An NSX-T Manager whose certificate names another host (for the TLS hostname check).

Signed by the simulator's CA like the others, so only the name is wrong: a client that checks
certificates properly must refuse it even with ca_path set.
"""

from simulator.appliances.nsxt import NsxtManager


class WrongNameNsxtManager(NsxtManager):
    name = "nsxt_wrong_name"
    tls_identities = ("nsx.wrong-name.example",)


def build(sim):
    return [WrongNameNsxtManager(sim)]
