"""Waking the polls that wait on a code when it changes, on whichever worker or host.

Each process keeps its waiting polls in memory: code id -> an event per poll, with the
version of the code that poll saw. A change made in this process wakes them at once; one
made elsewhere is seen
- through Redis, when configured: the process making the change publishes the code's id,
  and one listener per process (one connection, not one per poll) wakes its polls;
- through the database, always: one query per ``WATCH_INTERVAL`` per process reads the
  version of every code waited on, so that a change wakes its polls within a second even
  while Redis is down, or a message was lost (Redis delivers them at most once).

A waiting poll holds no database connection and, under gevent, no thread: it is a
greenlet waiting on an event. The watchers run only while polls wait.
"""

import logging
import os
import threading
import time
import weakref

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from ..database import deadline
from ..database.redis_client import RedisError, redis_client
from ..database.upkeep import Every
from ..extensions import db
from ..models import QrLogin

log = logging.getLogger(__name__)

CHANNEL = "wxlogin:qr-login"
WATCH_INTERVAL = 0.5  # seconds: a change elsewhere wakes a poll within this (plus a query)
IDLE_SECONDS = 5  # a watcher with nothing to watch this long stops (and restarts when needed)
_instances = weakref.WeakSet()
_ANY = object()  # wake(): whatever version a poll saw
CHANGED, TIMED_OUT, GIVE_WAY = "changed", "timed out", "give way"  # what wait() ended with


class Wakeups:
    def __init__(self, app):
        self.app = app
        self.stopping = False
        self._waiting = {}  # code id -> {threading.Event: the version its poll saw}
        self._superseded = set()  # events of polls a newer poll of their code replaced
        self._lock = threading.Lock()
        self._watchers = {}  # name -> (thread, pid)
        self._complain = Every(60)
        _instances.add(self)

    def wait(self, code_id, version, timeout):
        """Until the code changes from ``version``, or ``timeout`` seconds. ``CHANGED``: woken
        (look again); ``TIMED_OUT``; ``GIVE_WAY``: answer at once without looking again,
        since a newer poll of the same code took this one's place, or the process stops."""
        event = threading.Event()
        with self._lock:
            if self.stopping:
                return GIVE_WAY
            for older in self._waiting.get(code_id, {}):  # one poll per code: the newest
                self._superseded.add(older)
                older.set()
            self._waiting.setdefault(code_id, {})[event] = version
            self._start("database", self._watch_database)
            if self.app.extensions["redis"] is not None:
                self._start("redis", self._listen_redis)
        try:
            woken = event.wait(timeout)
        finally:
            with self._lock:
                waiters = self._waiting.get(code_id, {})
                waiters.pop(event, None)
                if not waiters:
                    self._waiting.pop(code_id, None)
                superseded = event in self._superseded
                self._superseded.discard(event)
        if superseded or self.stopping:
            return GIVE_WAY
        return CHANGED if woken else TIMED_OUT

    def wake(self, code_id, current=_ANY):
        """Wake the polls of the code that saw another version than ``current``: all of
        them by default."""
        with self._lock:
            events = [e for e, seen in self._waiting.get(code_id, {}).items() if seen != current]
        for event in events:
            event.set()

    def wake_every_poll(self):
        with self._lock:
            events = [e for waiters in self._waiting.values() for e in waiters]
        for event in events:
            event.set()

    def stop(self):
        """The process is stopping: every poll answers now, with the status it has."""
        with self._lock:
            self.stopping = True
        self.wake_every_poll()

    def _start(self, name, loop):
        """Start a watcher unless it runs in this process (a fork does not inherit it)."""
        thread, pid = self._watchers.get(name, (None, None))
        if thread is None or not thread.is_alive() or pid != os.getpid():
            thread = threading.Thread(target=loop, name=f"wxlogin-qr-{name}", daemon=True)
            self._watchers[name] = (thread, os.getpid())
            thread.start()

    def _idle(self, since):
        """True once nothing has waited for IDLE_SECONDS: the watcher then stops (its
        entry is dropped under the lock, so that the next wait starts a new one)."""
        with self._lock:
            if self._waiting:
                return None
            if time.monotonic() - since < IDLE_SECONDS:
                return False
            self._watchers = {n: w for n, w in self._watchers.items() if w[0] is not threading.current_thread()}
            return True

    def _watch_database(self):
        idle_since = time.monotonic()
        while True:
            time.sleep(WATCH_INTERVAL)
            idle = self._idle(idle_since)
            if idle:
                return
            if idle is False:
                continue
            idle_since = time.monotonic()
            with self._lock:
                ids = list(self._waiting)
            try:
                versions = self._read_versions(ids)
            except SQLAlchemyError as exc:
                # The database is away: the polls look for themselves now, and answer 503
                # within their request's budget rather than at the end of their wait.
                if self._complain.due():
                    log.warning("web login polls not watched in the database: %s", type(exc).__name__)
                self.wake_every_poll()
                continue
            for code_id in ids:
                self.wake(code_id, current=versions.get(code_id))

    def _read_versions(self, ids):
        with self.app.app_context():
            deadline.begin_request(self.app.config["DATABASE_TIMEOUT"])
            rows = db.session.execute(sa.select(QrLogin.id, QrLogin.version).where(QrLogin.id.in_(ids)))
            return dict(rows.all())

    def _listen_redis(self):
        idle_since = time.monotonic()
        while True:
            pubsub = None
            try:
                pubsub = self.app.extensions["redis"].pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                while True:
                    message = pubsub.get_message(timeout=WATCH_INTERVAL)
                    if message is not None and str(message["data"], "ascii", "replace").isdigit():
                        self.wake(int(message["data"]))
                    idle = self._idle(idle_since)
                    if idle:
                        return
                    if idle is None:
                        idle_since = time.monotonic()
            except (RedisError, OSError) as exc:
                if self._complain.due():
                    log.warning("web login changes not heard from Redis: %s", type(exc).__name__)
                time.sleep(1)
                if self._idle(idle_since):
                    return
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except (RedisError, OSError):
                        pass


def wait(code_id, version, timeout):
    return current_app.extensions["qr_wakeups"].wait(code_id, version, timeout)


def changed(code_id):
    """The code changed (and the change is committed): wake its polls, here and elsewhere."""
    current_app.extensions["qr_wakeups"].wake(code_id)
    client = redis_client()
    if client is not None:
        try:
            client.publish(CHANNEL, code_id)
        except RedisError as exc:  # the database watchers wake them within a second
            log.warning("web login change not published to Redis: %s", type(exc).__name__)


def wake_everything():
    """For the worker's SIGTERM: polls waiting in this process answer at once."""
    for wakeups in list(_instances):
        wakeups.stop()


def init_app(app):
    app.extensions["qr_wakeups"] = Wakeups(app)
