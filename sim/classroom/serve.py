"""`olsim classroom`'s server process: Solara's own `solara run`, with the websocket's per-message compression off.

Every month a page receives three PNG figures (already compressed) in binary frames; compressing them again cost
the server about a tenth of its time with ten students (py-spy, issue 33) for nothing. Uvicorn has the switch
(`ws_per_message_deflate`) but `solara run` does not pass it on, so it is set as uvicorn's default here before
Solara's command line runs: ``python -m sim.classroom.serve run sim.classroom.app ...`` takes `solara run`'s
arguments.
"""

from __future__ import annotations


def main() -> None:
    import uvicorn

    configure = uvicorn.Config.__init__

    def without_compression(self, *args, **kwargs):
        kwargs.setdefault("ws_per_message_deflate", False)
        configure(self, *args, **kwargs)

    uvicorn.Config.__init__ = without_compression  # type: ignore[method-assign]
    from solara.__main__ import main as solara_main

    solara_main()


if __name__ == "__main__":
    main()
