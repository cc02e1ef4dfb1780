"""Several machines: the watcher enqueues photos in Redis, Celery workers classify them.

Only used with ``queue.url`` set and the ``[queue]`` extra installed; nothing
here is imported otherwise. ``task`` (what travels), ``runner`` (one task on a
worker), ``worker`` (``resnet-watch worker``), ``app`` (Celery settings and
sending), ``dispatcher`` (the watcher's side; ``gate``, ``health`` and
``reply_outcome`` are its parts), ``connection`` (Redis URLs).
"""

__all__: list[str] = []
