"""sdp-guard: keeps calls between MikoPBX exchanges two-way over Tailscale.

Layers (imports only go downwards): ``cli`` > ``commands`` > ``daemon`` > ``adapters`` > ``core``.
``core`` is pure: it never touches files, sockets or the clock.
"""

__version__ = "0.1.0"
