"""The pure diagnosis core: plain data in, findings and plans out. No I/O here."""
