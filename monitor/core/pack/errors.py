"""The one error type a broken probe pack raises."""


class ProbePackError(ValueError):
    """A probe pack is missing, malformed or inconsistent; the message names the exact problem."""
