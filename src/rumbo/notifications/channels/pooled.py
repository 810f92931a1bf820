"""One pooled aiohttp session per channel, for the providers Rumbo posts to at volume.

httpx's async pool spends most of a busy worker's time on its own bookkeeping (each
request scans every pooled connection, one ``getpeername`` and one ``poll`` each;
encode/httpx#3215): on the outbox worker the same posts to the same local peer went
about eight times as fast through aiohttp (benchmarks/README.md, "push through
aiohttp"). Push services, the WhatsApp Cloud API and the stores' webhook endpoints are
called through such a session:
kept-alive connections, at most ``connections`` at once, the trust store the other
channels use, and the proxy environment honoured.
"""

from __future__ import annotations

import aiohttp
import httpx

# Per request: a message is retried later, not waited for.
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)


class PooledSession:
    """An aiohttp session made on first use (it belongs to the loop running then)."""

    def __init__(self, connections: int = 50) -> None:
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # The trust store the other channels use (httpx's: certifi, or
                # SSL_CERT_FILE), not whatever the host's OpenSSL finds.
                connector=aiohttp.TCPConnector(
                    limit=self._connections, ssl=httpx.create_ssl_context()
                ),
                timeout=REQUEST_TIMEOUT,
                trust_env=True,  # HTTPS_PROXY / NO_PROXY, as for the other channels
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
