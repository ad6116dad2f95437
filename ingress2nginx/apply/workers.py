"""Who nginx's worker processes run as, and so who must be able to read the files they open.

nginx reads most of the files a config names once, in its master process, when it loads the
config: certificates and their keys, CA bundles, revocation lists. Its workers open one kind
again at every request: the htpasswd files of basic authentication (``auth_basic_user_file``,
`secret_files.READ_BY_WORKERS`). A master started as root — Debian's service, the official
image's default command — runs its workers as another user: the one the ``user`` directive
names, else the one compiled into nginx (``nobody`` on Debian, ``nginx`` in the official
images). Such a worker cannot read a file mode 0600 owned by root, and basic auth answers 500.

So the files workers read get the workers' group, mode 0640, in a --cert-dir of mode 0710
with that group (workers can open a file by name, not list the folder); everything else stays
0600 and ours, private keys included (the root master reads them). Which group:

- ``--nginx-user USER[:GROUP]`` writes ``user USER GROUP;`` into the output (GROUP defaults to
  USER's primary group, named explicitly since nginx would otherwise look for a group named
  USER, which Debian's ``nobody`` does not have) and gives the files to GROUP. Run as another
  user than root, ingress2nginx must be a member of GROUP to do so;
- without it, run as root: no ``user`` directive (the output is the same everywhere), and the
  files go to the group of the user compiled into the nginx on PATH (``nginx -V``:
  ``--user=``/``--group=``), ``nobody`` and its group when it names none or is not installed;
- without it, run as any other user: nginx started by that user runs its workers as that
  user, so the files stay 0600 and ours, as everything else.
"""

from __future__ import annotations

import argparse
import functools
import grp
import os
import pwd
import re
import subprocess
from dataclasses import dataclass
from typing import Any

from ingress2nginx.apply.applying import find_nginx

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?\Z")
"""A user or group name as useradd and groupadd accept it (and nginx writes as one word)."""

NGINX_DEFAULT_USER = "nobody"
"""The worker user nginx is compiled with when its build names none."""


@dataclass(frozen=True, slots=True)
class Workers:
    """What the output says about nginx's workers, and the group given their files."""

    directive: tuple[str, str] | None
    """(user, group) of the ``user`` directive; None writes none."""
    group: int | None
    """Group id of the files workers read at request time (mode 0640); None: 0600, ours."""


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nginx-user",
        metavar="USER[:GROUP]",
        help="write 'user USER GROUP;' (nginx started as root runs its workers as USER) and"
        " give the files workers read at each request (htpasswd) to GROUP, mode 0640"
        " (GROUP: USER's primary group). Default, run as root: no user directive, the files"
        " go to the group of the user compiled into nginx (nobody when unknown); run as"
        " another user: files stay 0600 (docs/deploy.md)",
    )


def settings_fields(args: argparse.Namespace) -> dict[str, Any]:
    """`Settings` fields from ``--nginx-user``; ValueError names a bad value."""
    value = getattr(args, "nginx_user", None)
    workers = named_workers(value) if value is not None else default_workers(os.geteuid())
    return {"nginx_user": workers.directive, "worker_group": workers.group}


def named_workers(value: str) -> Workers:
    """The workers ``--nginx-user USER[:GROUP]`` names; both must exist on this machine."""
    user, _, group = value.partition(":")
    for kind, name in (("user", user), ("group", group or user)):
        if not _NAME.match(name):
            raise ValueError(f"--nginx-user: not a {kind} name: {name!r}")
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ValueError(f"--nginx-user: no user {user!r} on this machine") from None
    group = group or _group_name(entry.pw_gid)
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise ValueError(f"--nginx-user: no group {group!r} on this machine") from None
    if os.geteuid() != 0 and gid != os.getegid() and gid not in os.getgroups():
        raise ValueError(
            f"--nginx-user: the files nginx's workers read must be given to group {group},"
            " which this user is not a member of: run as root or as a member of that group"
        )
    return Workers((user, group), gid)


def default_workers(euid: int) -> Workers:
    """Without ``--nginx-user``: no directive; run as root, the group of nginx's own default
    worker user (see the module docstring)."""
    if euid != 0:
        return Workers(None, None)
    user, group = compiled_user()
    if group is None:
        try:
            group = _group_name(pwd.getpwnam(user).pw_gid)
        except KeyError:
            return Workers(None, None)
    try:
        return Workers(None, grp.getgrnam(group).gr_gid)
    except KeyError:
        return Workers(None, None)


@functools.cache
def compiled_user() -> tuple[str, str | None]:
    """The worker user and group the nginx on PATH was built with (``nginx -V``), or
    `NGINX_DEFAULT_USER` and None (its primary group) when it names none or is not found."""
    binary = find_nginx()
    if binary is None:
        return NGINX_DEFAULT_USER, None
    try:
        result = subprocess.run(
            [binary, "-V"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return NGINX_DEFAULT_USER, None
    return user_from_build(result.stderr + result.stdout)


def user_from_build(version_text: str) -> tuple[str, str | None]:
    """The ``--user=`` and ``--group=`` of ``nginx -V``'s configure arguments; nginx's own
    default (`NGINX_DEFAULT_USER`, its primary group) for what they do not name."""
    user = re.search(r"--user=(\S+)", version_text)
    group = re.search(r"--group=(\S+)", version_text)
    return (
        user.group(1) if user else NGINX_DEFAULT_USER,
        group.group(1) if group else None,
    )


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
