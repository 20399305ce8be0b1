"""The pure core: everything both ends of the wire agree on.

Probe packs (``pack``), SAE latent encoders (``sae``), the wire format (``wire``), scoring
(``scoring``), drift detection and alerts (``detect``), canary prompt sets (``canaries``) and
run names (``naming``). The service imports only this package; nothing here imports the
service, the trainer side, the organism or the CLI, and nothing here opens a socket.
"""
