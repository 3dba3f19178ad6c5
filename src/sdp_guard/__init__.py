"""sdp-guard: keeps calls between MikoPBX exchanges two-way over Tailscale.

Units, highest first; a unit imports only units to its right (tests/core/test_layers.py):
``__main__`` > ``cli`` > ``commands`` > ``demo`` > ``daemon`` > ``sync`` > ``adapters`` > ``config`` > ``files`` > ``schemas`` > ``core`` > ``errors`` > ``__init__``.
``core`` is pure: it never touches files, sockets or the clock, and imports nothing of ours but
``errors``.
"""

__version__ = "0.1.0"
