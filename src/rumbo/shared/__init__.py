"""Services many domains use, one layer above ``config``/``db``/``models``/``kit`` and
below every domain: the languages and their catalogues (:mod:`.i18n`), the live-page
announcer (:mod:`.live`) and the Prometheus metric definitions (:mod:`.metrics`).

Nothing here imports a domain, ``app``, ``cli`` or ``worker`` (tests/test_architecture.py).
"""
