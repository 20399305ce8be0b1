"""emwatch's library: the pure scoring core and the trainer-side integration.

The pure core (``probe``, ``wire``, ``scoring``, ``latents``, ``detect``) imports no web
framework; the service imports it, never the other way round.
"""

__version__ = "0.1.0"
