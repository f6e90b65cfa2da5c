"""Production entry point: ``gunicorn wsgi:app`` (settings in gunicorn.conf.py).

A ``.env`` file in the working directory is read first, as ``flask run`` does; variables
already set in the environment win. This entry point is always production: a stray
FLASK_DEBUG=1 must not bring in the simulator or the development signing key.
"""

from dotenv import load_dotenv

load_dotenv()

from wxlogin import create_app  # noqa: E402  (the environment must be complete first)

app = create_app({"DEBUG": False})
