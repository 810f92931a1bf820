"""Typed dependencies of the orders endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rumbo.orders.writer import OrderWriter


async def _order_writer(request: Request) -> OrderWriter:
    writer: OrderWriter = request.app.state.order_writer
    return writer


# The process's group-commit writer of orders (started by the orders router's lifespan).
OrderWriterDep = Annotated[OrderWriter, Depends(_order_writer)]
