"""Shared helpers for the driver tests."""

import pytest
from faunadb import query as q

NO_POSITION = object()


def raw(dct):
    """A form with its keys as given (values wrapped like the driver does; None stays null)."""
    return q._fn(dct)


class Recorder:
    """FaunaClient observer keeping the last RequestResult (status, headers, raw body)."""

    def __init__(self):
        self.last = None

    def __call__(self, request_result):
        self.last = request_result


def expect_error(action, cls, status, code, description, position=NO_POSITION):
    """Runs `action`, expecting the driver to raise `cls` for one error with these fields.

    `position=NO_POSITION` asserts the error has no `position` key (protocol errors);
    `description=None` skips the description check.
    """
    with pytest.raises(cls) as info:
        action()
    err = info.value
    result = err.request_result
    assert result.status_code == status, result.response_raw
    errors = result.response_content["errors"]
    assert len(errors) == 1, errors
    body = errors[0]
    assert body["code"] == code, body
    if description is not None:
        assert body["description"] == description, body
    if position is NO_POSITION:
        assert "position" not in body, body
    else:
        assert body.get("position") == position, body
    return err


def walk_forward(client, set_expr, size, **opts):
    """All elements of a set, following `after` from the start; also the pages."""
    pages, elems, after = [], [], None
    while True:
        page = client.query(q.paginate(set_expr, size=size, after=after, **opts))
        pages.append(page)
        elems.extend(page["data"])
        assert len(page["data"]) <= size
        if "after" not in page:
            return elems, pages
        assert len(page["data"]) == size, page
        after = page["after"]


def walk_backward(client, set_expr, size, **opts):
    """All elements of a set, following `before` from the end (`before: null`)."""
    pages, elems = [], []
    expr = raw({"paginate": set_expr, "size": size, "before": None, **opts})
    while True:
        page = client.query(expr)
        pages.append(page)
        elems[:0] = page["data"]
        assert len(page["data"]) <= size
        if "before" not in page:
            return elems, pages
        assert len(page["data"]) == size, page
        expr = raw({"paginate": set_expr, "size": size, "before": page["before"], **opts})
