"""Deskmate's capabilities, one package each. See docs/plugins.md for the contract they implement."""
