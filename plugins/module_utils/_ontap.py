# -*- coding: utf-8 -*-
# Copyright: hybridcloud.ops contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How we talk to NetApp ONTAP: basic or certificate auth, the ONTAP error body
(``error.code``, ``message``, ``target``, ``arguments``), error code "4" (entry doesn't exist),
query values in ONTAP's own syntax kept intact on the wire, and collections read page by page
through ``_links.next.href``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from contextlib import contextmanager

try:
    from urllib.parse import quote, unquote
except ImportError:  # pragma: no cover
    from urllib import quote, unquote

from ansible_collections.hybridcloud.ops.plugins.module_utils._args import (
    connection_spec,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._client import (
    ApiClient, describe_text, vendor_text,
)
from ansible_collections.hybridcloud.ops.plugins.module_utils._errors import ApiError

API_ROOT = "/api"
VENDOR = "ONTAP"
ERROR_ENTRY_NOT_FOUND = "4"
RETURN_TIMEOUT_MAX = 120
# Left as they are in a query value: legal in a URI query and meaningful to ONTAP ("!" not,
# "*" wildcard, "," lists, ":" times and IPv6). Everything else is percent-encoded - "|" as
# %7C, a space as %20 and "+" as %2B, never "+" for a space, which a server may read literally.
VALUE_SAFE = "!*,:@/"


def argument_spec():
    return connection_spec("ONTAP_", client_cert=True)


def parse_error(body):
    """(code, message, correlation id) of an ONTAP error body; ONTAP has no correlation id."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None, None
    code = vendor_text(error.get("code"))
    message = vendor_text(error.get("message"))
    extra = []
    target = vendor_text(error.get("target"))
    if target:
        extra.append("target: %s" % target)
    arguments = error.get("arguments")
    arguments = [vendor_text(a.get("message")) if isinstance(a, dict) else vendor_text(a)
                 for a in (arguments if isinstance(arguments, list) else [arguments])]
    arguments = [a for a in arguments if a]
    if arguments:
        extra.append("arguments: %s" % "; ".join(arguments))
    if extra:
        message = "%s (%s)" % (message or "", ", ".join(extra))
    return code, message, None


@contextmanager
def connect(module):
    """An ``ApiClient`` for an ONTAP cluster, closed when the block ends."""
    with ApiClient.basic_or_certificate(module.params, module._name, API_ROOT, vendor=VENDOR,
                                        parse_error=parse_error) as client:
        yield client


def query_value(value):
    """A filter value as ONTAP reads it: text as given, a list as alternatives (``a|b``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "|".join(query_value(v) for v in value)
    return "%s" % (value,)


def encode_query(pairs):
    """``name=value&...`` with every value byte-for-byte what ONTAP will decode."""
    return "&".join("%s=%s" % (quote(name, safe="."), quote(value, safe=VALUE_SAFE))
                    for name, value in pairs)


def next_page_url(href, page_size, remaining=None, return_timeout=None):
    """The request for ONTAP's ``_links.next.href``: the link exactly as given (it carries the
    query and ONTAP's cursor), except that ``max_records`` never asks past the total cap, and
    ``max_records``/``return_timeout`` are added only when the link lacks them."""
    target, query = (href.partition("#")[0].split("?", 1) + [""])[:2]
    pairs = [p for p in query.split("&") if p]
    names = [unquote(p.partition("=")[0].replace("+", " ")) for p in pairs]
    limit = page_size if remaining is None else min(page_size, remaining)
    if "max_records" in names:
        at = names.index("max_records")
        given = unquote(pairs[at].partition("=")[2])
        if remaining is not None and (not given.isdigit() or int(given) > remaining):
            pairs[at] = "max_records=%d" % limit
    else:
        pairs.append("max_records=%d" % limit)
    if return_timeout is not None and "return_timeout" not in names:
        pairs.append("return_timeout=%d" % return_timeout)
    return "%s?%s" % (target, "&".join(pairs))


def read_pages(client, path, query, page_size, max_records=None, return_timeout=None):
    """Yield the records of each page of an ONTAP collection, one page at a time.

    ``query`` (name, value pairs) goes on the first request with ``max_records`` (the page
    size, or what is left of the total cap) and ``return_timeout``; later pages follow
    ``_links.next.href`` (relative or absolute on the same origin). Stops when there is no next
    link or ``max_records`` records were read. Error code "4" (entry doesn't exist) is an empty
    result. A next link seen before means ONTAP's cursor is broken: that fails rather than
    loop or silently return part of the collection.
    """
    pairs = list(query) + [("max_records", "%d" % (page_size if max_records is None
                                                   else min(page_size, max_records)))]
    if return_timeout is not None:
        pairs.append(("return_timeout", "%d" % return_timeout))
    link = "%s?%s" % (path, encode_query(pairs))
    seen = set()
    received = 0
    while True:
        try:
            body = client.get(link).body or {}
        except ApiError as exc:
            if exc.vendor_code == ERROR_ENTRY_NOT_FOUND:
                yield []
                return
            raise
        records = (body.get("records") or []) if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise ApiError("GET %s: ONTAP answered with something other than a collection of "
                           "records: %s" % (path, describe_text(json.dumps(body))),
                           method="GET", path=path)
        if max_records is not None and received + len(records) > max_records:
            records = records[:max_records - received]
        received += len(records)
        yield records
        href = _next_href(body)
        if not href or (max_records is not None and received >= max_records):
            return
        if href in seen:
            raise ApiError("GET %s: ONTAP returned the next-page link %s a second time after %d "
                           "records; stopping instead of reading the same pages again (a broken "
                           "cursor on the cluster: retry, or narrow the query with filters)"
                           % (path, href, received), method="GET", path=path)
        seen.add(href)
        link = next_page_url(href, page_size,
                             None if max_records is None else max_records - received,
                             return_timeout)


def _next_href(body):
    links = body.get("_links")
    nxt = links.get("next") if isinstance(links, dict) else None
    href = nxt.get("href") if isinstance(nxt, dict) else None
    return href if isinstance(href, str) and href else None
