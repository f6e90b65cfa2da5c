"""``flask`` commands of wxlogin."""

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from .simulator import Simulator, create_simulator_app


@click.command("simulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9100, show_default=True, type=int)
@click.option(
    "--latency-ms", default=0, show_default=True, type=int,
    help="Delay every answer, to play a distant WeChat (benchmarks).",
)
@with_appcontext
def simulator_command(host, port, latency_ms):
    """Serve the WeChat simulator on its own port (development and testing only).

    Point a wxlogin at it with WX_API_BASE=http://HOST:PORT. When WX_APPID/WX_SECRET (or
    WX_APPS) are set, the simulator checks them as WeChat would.
    """
    app = current_app
    if not (app.debug or app.testing):
        raise click.UsageError(
            "The WeChat simulator runs in development only: flask --app wxlogin --debug simulator"
        )
    apps = {} if app.config.get("WX_SIMULATOR_EMBEDDED") else app.config["WX_APPS"]
    simulator = Simulator(apps, timeout_sleep=app.config["WX_TIMEOUT"] + 1, latency=latency_ms / 1000)
    click.echo(f"WeChat simulator on http://{host}:{port} (WX_API_BASE=http://{host}:{port})")
    run_simple(host, port, create_simulator_app(simulator), threaded=True)


def register_commands(app):
    app.cli.add_command(simulator_command)
