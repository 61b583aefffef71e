from svccommon import context
from svccommon.identity import identity_from_uris, spiffe_id


def test_identity_is_read_from_spiffe_uri_of_our_trust_domain():
    uris = ("https://example.com", spiffe_id("aicosts.local", "usage"))
    assert identity_from_uris(uris, "aicosts.local") == "usage"


def test_foreign_trust_domain_or_odd_paths_give_no_identity():
    assert identity_from_uris((spiffe_id("evil.example", "usage"),), "aicosts.local") is None
    assert identity_from_uris(("spiffe://aicosts.local/ns/aicosts/sa/usage/extra",), "aicosts.local") is None
    assert identity_from_uris(("spiffe://aicosts.local/ns/other/sa/usage",), "aicosts.local") is None
    assert identity_from_uris((), "aicosts.local") is None


def test_request_context_round_trips_through_metadata():
    ctx = context.RequestContext(
        request_id="req-1", account_id="acc-9", client_ip="10.0.0.1", user_agent="ua"
    )
    assert context.RequestContext.from_metadata(dict(ctx.to_metadata())) == ctx


def test_bad_request_id_in_metadata_is_replaced():
    ctx = context.RequestContext.from_metadata({"x-request-id": "no spaces allowed"})
    assert context.valid_request_id(ctx.request_id) and ctx.request_id != "no spaces allowed"
