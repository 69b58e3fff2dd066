"""Uses the client openapi-python-client generated from docs/openapi.yaml
(package acct_client, on PYTHONPATH) against a live `acct serve --demo`:
typed models in, typed models out, and an undocumented status raises
(raise_on_unexpected_status). Arguments: the base URL, the operator token
file, the demo partner's id.
"""
import sys
import uuid

from acct_client import AuthenticatedClient, Client
from acct_client.api.default import (
    get_healthz,
    get_v1_directory_profiles,
    get_v1_events,
    get_v1_me,
    get_v1_partners_id_readiness,
    get_v1_pricing_market_currency_offers_offer_id,
    post_v1_commands,
)
from acct_client.models import (
    CommandResult,
    Country,
    Error,
    Me,
    MeKind,
    PublishOfferCommand,
)


def check(condition, what):
    if not condition:
        raise SystemExit("FAILED: " + what)
    print("ok:", what)


def main():
    base, token_file, partner = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(token_file, encoding="utf-8") as f:
        token = f.read().strip()
    anonymous = Client(base_url=base, raise_on_unexpected_status=True, timeout=30)
    operator = AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=True, timeout=30)

    health = get_healthz.sync_detailed(client=anonymous)
    check(health.status_code == 200, "GET /healthz answers 200")

    me = get_v1_me.sync(client=operator)
    check(isinstance(me, Me) and me.kind == MeKind.OPERATOR and me.user is None,
          "GET /v1/me parses into Me: the operator, no user record")
    check(any(p.code.value == "operate_catalog" for p in me.permissions), "the operator may operate the catalog")

    offer_id = "generated-" + uuid.uuid4().hex[:12]
    command = PublishOfferCommand.from_dict({
        "type": "PublishOffer",
        "command_id": str(uuid.uuid4()),
        "offer": {
            "offer_id": offer_id,
            "display_name": "Generated client offer",
            "segment": "enterprise",
            "license_agreement_type": "corporate",
            "purchase_unit": "1 Month",
            "secondary_license_type": "non_specific",
            "base_offer_ids": [],
            "end_customer_type": "corporate",
            "billing_model": "license_based",
        },
    })
    published = post_v1_commands.sync(client=operator, body=command)
    check(isinstance(published, CommandResult) and published.position >= 1,
          "POST /v1/commands with a generated PublishOfferCommand commits (position %s)"
          % getattr(published, "position", None))

    bad = PublishOfferCommand.from_dict({**command.to_dict(), "command_id": str(uuid.uuid4())})
    bad.offer.offer_id = "not an offer id!"
    refused = post_v1_commands.sync_detailed(client=operator, body=bad)
    check(refused.status_code == 400 and isinstance(refused.parsed, Error)
          and refused.parsed.error.field == "offer.offer_id",
          "a bad offer id is a 400 whose Error names offer.offer_id")

    events = get_v1_events.sync(client=operator, type_="OfferPublished", limit=1000)
    found = [e for e in events.events if e.data and e.data.to_dict().get("offer", {}).get("offer_id") == offer_id]
    check(len(found) == 1 and found[0].position == published.position,
          "GET /v1/events?type=OfferPublished holds the event at the command's position")

    # Price lists are for partners' billing roles, not the operator: a documented 403, parsed.
    quote = get_v1_pricing_market_currency_offers_offer_id.sync_detailed(
        client=operator, market=Country.US, currency="USD", offer_id="azure-plan")
    check(quote.status_code == 403 and isinstance(quote.parsed, Error) and quote.parsed.error.code == "forbidden",
          "GET /v1/pricing/US/USD/offers/azure-plan is a 403 Error for the operator")

    readiness = get_v1_partners_id_readiness.sync(client=operator, id=uuid.UUID(partner))
    check(str(readiness.partner_id) == partner and isinstance(readiness.ready_to_sell, bool),
          "GET /v1/partners/{id}/readiness parses for the demo partner (ready_to_sell %s)" % readiness.ready_to_sell)
    codes = [b.code.value for b in readiness.blockers]
    check(all(isinstance(c, str) and c for c in codes) and readiness.ready_to_sell == (not codes),
          "its blockers are the documented codes (%s)" % ", ".join(codes))

    listings = get_v1_directory_profiles.sync(client=anonymous, q="contoso")
    names = [listing.partner_name for listing in listings.listings]
    check("Contoso Cloud Services" in names, "the public directory finds the demo partner without a token")


if __name__ == "__main__":
    main()
