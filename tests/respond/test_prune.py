"""prune: CDS Hooks omits optional elements rather than sending them empty."""

from cds_service.respond.response import prune


def test_prune_drops_null_empty_strings_and_emptied_containers_only():
    body = {
        "a": None,
        "b": "",
        "c": [],
        "d": {},
        "e": 0,
        "f": False,
        "t": (),
        "g": [None, "", {}, [], {"x": None}, [[]], 1, "s", 0.0],
        "h": {"i": {"j": ""}},
        "k": {"l": [{"m": "v"}]},
    }
    assert prune(body) == {"e": 0, "f": False, "t": (), "g": [1, "s", 0.0], "k": {"l": [{"m": "v"}]}}
    assert prune([]) == [] and prune({}) == {} and prune("x") == "x" and prune(None) is None
    assert body["h"] == {"i": {"j": ""}}  # the input is left as it was
