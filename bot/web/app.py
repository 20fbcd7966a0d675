"""The one web service ``parley run`` serves: the providers' webhooks, the staff web
under ``/admin`` and polls' public results pages under ``/r/``."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from bot.app import App
from bot.web import webhooks
from bot.web.admin import build_admin
from bot.web.headers import SecurityHeaders
from bot.web.public import results_page


def build(app: App) -> Starlette:
    routes = [
        *webhooks.routes(app),
        Mount("/admin", app=build_admin(app)),
        Route("/r/{token}", results_page(app), methods=["GET"]),
    ]
    web = Starlette(routes=routes, exception_handlers=webhooks.EXCEPTION_HANDLERS)
    web.add_middleware(SecurityHeaders)
    return web
