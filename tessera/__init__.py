"""Tessera: a ticketing platform for sports leagues, concerts and shows."""
