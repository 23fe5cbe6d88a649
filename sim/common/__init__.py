"""Plumbing every layer shares: the user-facing error, strict schemas and their
error messages, the TOML reader, number formatting, atomic files, provenance.

It imports nothing else of ``sim``: every other package may use it.
"""
