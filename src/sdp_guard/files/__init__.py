"""Reading local files safely: a size cap on every read, and YAML without surprises.

Below ``config`` so that the configuration and the adapters share one reader without ``config``
importing ``adapters`` (which import ``config``).
"""
