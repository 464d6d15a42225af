import asyncio
import socket

from hdss_spawner.readiness import wait_listening


async def test_true_once_the_port_listens():
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        assert await wait_listening("127.0.0.1", port, timeout=5) is True


async def test_false_when_nothing_listens_within_the_timeout():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connections are refused
        assert await wait_listening("127.0.0.1", port, timeout=0.5) is False
