"""The value flow's abstract values (python/domain.py) as the memo and
`union` use them: equal values are one, whatever steps they took; a value
is hashed once however often it is looked up; `union` keeps first-seen
order and its cap."""

from __future__ import annotations

import ast

from maniac_guard.python.domain import MAX_VALUES, UNKNOWN, DictV, Opaque, SeqV, Text, union


class CountedSite(ast.expr):
    """A site that counts how often it is hashed (ast nodes hash by identity)."""

    hashed = 0

    def __hash__(self) -> int:
        CountedSite.hashed += 1
        return id(self)


def _text(value: str, site: ast.expr, steps: tuple[tuple[str, int, int, str], ...] = ()) -> Text:
    return Text(value, site, "app.py", False, False, steps)


def test_values_that_differ_only_in_their_steps_are_one_value() -> None:
    site = ast.Constant("k")
    first = _text("k", site, (("app.py", 1, 1, "literal"),))
    later = _text("k", site, (("app.py", 1, 1, "literal"), ("app.py", 4, 1, "KEY")))
    assert first == later and hash(first) == hash(later)
    assert union((first,), (later,)) == (first,)
    assert _text("k", ast.Constant("k")) != first  # another literal: another value


def test_a_value_is_hashed_once_however_often_it_is_looked_up() -> None:
    CountedSite.hashed = 0
    nested = DictV((("api_key", (_text("k", CountedSite()),)),))
    memo = {(nested,): 1}
    for _ in range(5):
        assert memo[(DictV(nested.items),)] == 1  # an equal value built again hashes its own fields
        assert hash(nested) == hash(DictV(nested.items))
    assert CountedSite.hashed == 1  # the nested Text kept its hash


def test_a_value_s_hash_is_that_of_its_compared_fields_so_sets_keep_their_order() -> None:
    site = ast.Constant("k")
    text = _text("k", site)
    assert hash(text) == hash(("k", site, "app.py", False, False))
    assert hash(SeqV(None, (text,))) == hash((None, (text,)))


def test_union_keeps_first_seen_order_and_caps_the_set() -> None:
    values = [(_text(str(i), ast.Constant(str(i))),) for i in range(MAX_VALUES + 5)]
    assert union(values[1], values[0], values[1]) == (*values[1], *values[0])
    capped = union(*values)
    assert len(capped) == MAX_VALUES + 1
    assert capped[:MAX_VALUES] == tuple(v[0] for v in values[:MAX_VALUES]) and capped[-1] == Opaque()
    assert union(UNKNOWN) == UNKNOWN and union() == ()
