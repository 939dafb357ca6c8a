"""Deskmate's development sandbox: faithful local emulators of Zendesk and Slack.

Nothing in the production service imports this package; tests, benchmarks and `make run` do.
"""
