"""The model itself, independent of any engine: the parameter schema and its loading,
the rulebook (plain functions both engines call), the counter-based draws, the
sanction policies (each kind owns its effect) and the state's books.

It imports only `sim.common`; the engines, results and everything above build on it.
"""
