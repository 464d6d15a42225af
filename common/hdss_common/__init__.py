"""Shared parts at the bottom of the layers: every other hdss package may import these.

Nothing here imports another hdss package. The layers, bottom to top:

1. ``hdss_common``: the dataset catalogue, database plumbing, access rules, naming of
   servers and volumes, container hardening, the permission protocol, the error base;
2. ``hdss_registers`` (generator), ``hdss_data`` (notebook helper);
3. ``hdss_spawner`` and the hub's services (``hdss_hub.audit``, ``hdss_hub.ledger``,
   ``hdss_hub.promotion``), which never import each other's packages;
4. the hub's configuration (``hdss_hub.configure`` and friends), which wires them together.

``tests/test_layers.py`` parses every import and fails when one points the wrong way.
"""
