"""Start the three sandboxes together (for `manage.py sandbox`, `make run` and the test fixtures)."""

from __future__ import annotations

from dataclasses import dataclass

from .eenvoudigfactureren.sandbox import EfSandbox
from .kmoshops.sandbox import KmoShopsSandbox
from .sandbox_server import SandboxServer
from .vies.sandbox import ViesSandbox


@dataclass
class Sandboxes:
    kmoshops: SandboxServer
    ef: SandboxServer
    vies: SandboxServer

    @property
    def shop(self) -> KmoShopsSandbox:
        return self.kmoshops.app  # type: ignore[return-value]

    @property
    def ef_app(self) -> EfSandbox:
        return self.ef.app  # type: ignore[return-value]

    @property
    def vies_app(self) -> ViesSandbox:
        return self.vies.app  # type: ignore[return-value]

    @property
    def settings(self) -> dict[str, str]:
        """The settings that point the product at these sandboxes."""
        return {
            "KMOSHOPS_API_URL": f"{self.kmoshops.url}/api/v3",
            "KMOSHOPS_OAUTH_URL": f"{self.kmoshops.url}/api/oauth",
            "KMOSHOPS_CLIENT_ID": self.shop.client_id,
            "KMOSHOPS_CLIENT_SECRET": self.shop.client_secret,
            "EF_API_URL": self.ef.url,
            "VIES_URL": self.vies.url,
        }

    def stop(self) -> None:
        for server in (self.kmoshops, self.ef, self.vies):
            server.stop()


def sandboxes_start(
    *,
    client_id: str,
    client_secret: str,
    webhook_url: str = "",
    host: str = "127.0.0.1",
    ports: tuple[int, int, int] = (0, 0, 0),
) -> Sandboxes:
    shop = KmoShopsSandbox(client_id=client_id, client_secret=client_secret, webhook_url=webhook_url)
    return Sandboxes(
        kmoshops=SandboxServer(shop, host, ports[0]).start(),
        ef=SandboxServer(EfSandbox(), host, ports[1]).start(),
        vies=SandboxServer(ViesSandbox(), host, ports[2]).start(),
    )
