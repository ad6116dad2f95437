"""Kubernetes Events on Ingresses the watcher rejects, keeps at their last good version, or leaves
out because nginx refused them: what ``kubectl describe ingress`` shows the operator.

ingress-nginx's admission webhook answered ``kubectl apply`` with the reason of a refusal. Here
the edit is stored first and judged afterwards, so the reason goes where the operator looks
next: a ``core/v1`` Event on the Ingress (type ``Warning``; reason ``RejectedEdit``,
``Rejected`` or ``NginxRefused``; the message names the field and the reason). One Event is
posted per rejected version of an object, never one per pass; a version that becomes fine
again and breaks later gets a new one. Every replica posts its own (``source.host`` and
``reportingInstance`` name it), as each judges on its own. Posting happens on a thread of its
own, from a bounded queue, so a slow or failing API never delays a reload; failures are logged
and dropped (the log and the metrics still say it all).
"""

from __future__ import annotations

import datetime
import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any

from ingress2nginx.cluster.connecting import ClusterConnection, describe, read_json
from ingress2nginx.core.logs import fields
from ingress2nginx.normalize.lastgood import Notice, fingerprint

log = logging.getLogger("ingress2nginx.events")

COMPONENT = "ingress2nginx"
MESSAGE_LIMIT = 1024
"""Event messages are cut to this many characters (the API refuses longer ones in events.k8s.io)."""
QUEUE_SIZE = 256
"""Events waiting to be posted; more are dropped (and logged)."""


class EventRecorder:
    """Posts an Event for each new notice the watcher gives (`notify`)."""

    def __init__(self, connection: ClusterConnection, identity: str) -> None:
        self._connection = connection
        self._identity = identity
        self._posted: dict[tuple[tuple[str, str], str], str] = {}
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(QUEUE_SIZE)
        self._thread = threading.Thread(target=self._run, name="ingress2nginx-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Post what is queued (bounded), then end the thread."""
        try:
            self._queue.put(None, timeout=1.0)
        except queue.Full:
            return
        self._thread.join(timeout=5)

    def notify(self, notices: Sequence[Notice]) -> None:
        """The watcher's hook, after each pass: the Ingresses to tell about now."""
        current = {}
        for notice in notices:
            key = (notice.ingress.key, notice.reason)
            mark = fingerprint(notice.ingress)
            current[key] = mark
            if self._posted.get(key) != mark:
                self._enqueue(event_body(notice, self._identity))
        self._posted = current

    def _enqueue(self, body: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(body)
        except queue.Full:
            log.warning("too many Events waiting; dropped one", extra=fields(
                ingress=body["involvedObject"]["name"], reason=body["reason"]))  # fmt: skip

    def _run(self) -> None:
        while (body := self._queue.get()) is not None:
            namespace = body["metadata"]["namespace"]
            try:
                path = f"/api/v1/namespaces/{namespace}/events"
                read_json(self._connection.send("POST", path, body=body))
            except Exception as error:  # never let the Event thread die
                log.warning("cannot post an Event", extra=fields(reason=describe(error)))


def event_body(notice: Notice, identity: str) -> dict[str, Any]:
    """A ``core/v1`` Event about `notice`'s Ingress."""
    ingress = notice.ingress
    metadata = ingress.metadata
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    involved = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "namespace": ingress.namespace, "name": ingress.name}  # fmt: skip
    for field in ("uid", "resourceVersion"):
        if isinstance(metadata.get(field), str):
            involved[field] = metadata[field]
    message = notice.message
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 3] + "..."
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{ingress.name}.{time.time_ns():x}", "namespace": ingress.namespace},
        "involvedObject": involved,
        "reason": notice.reason,
        "message": message,
        "type": "Warning",
        "source": {"component": COMPONENT, "host": identity},
        "reportingComponent": COMPONENT,
        "reportingInstance": identity,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
