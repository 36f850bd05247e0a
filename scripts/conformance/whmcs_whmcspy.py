#!/usr/bin/env python3
"""Drive a WHMCS External API with whmcspy (a WHMCS client from PyPI) and print what it saw.

Used by crates/sandbox/tests/independent_clients.rs to check that the sandbox WHMCS
answers an independent client as a live WHMCS would. whmcspy pages with its own logic
(`limitstart += numreturned` until a page is empty) and maps HTTP 403 to its
MissingPermission error.

    python whmcs_whmcspy.py --url http://127.0.0.1:PORT/includes/api.php --identifier ID \
        [--foreign-url URL] [--limit 25]

The secret comes from $DOMWATCH_WHMCS_SECRET. `--foreign-url` is a WHMCS that does not
allow this host's IP: the call must fail with MissingPermission "Invalid IP …".
"""

import argparse
import json
import os
import sys

try:
    import whmcspy
    from whmcspy import exceptions
except ImportError:
    sys.exit("whmcspy is not installed: .venv/bin/pip install -r scripts/requirements-test.txt")


def check(condition, message):
    if not condition:
        sys.exit(f"whmcspy conformance: {message}")


def walk(api, action, container, entry, limit):
    """Every entry of a paged list action, with the totals each page reported."""
    rows, totals = [], set()
    for page in api.paginated_call(action, limitnum=limit):
        check(page["result"] == "success", f"{action}: {page}")
        totals.add(int(page["totalresults"]))
        check(int(page["numreturned"]) <= limit, f"{action}: more than limitnum rows")
        rows.extend(page[container][entry])
    check(len(totals) <= 1, f"{action}: totalresults changed while paging: {totals}")
    check(not totals or len(rows) == totals.pop(), f"{action}: walked {len(rows)} rows")
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--identifier", required=True)
    parser.add_argument("--foreign-url")
    parser.add_argument("--limit", type=int, default=25)
    args = parser.parse_args()
    secret = os.environ.get("DOMWATCH_WHMCS_SECRET", "")
    api = whmcspy.WHMCS(args.url, args.identifier, secret)

    domains = list(api.get_clients_domains(limitnum=args.limit))
    ids = [int(d["id"]) for d in domains]
    check(ids == sorted(ids) and len(set(ids)) == len(ids), "domains come once each, by id")
    clients = walk(api, "GetClients", "clients", "client", args.limit)
    invoices = walk(api, "GetInvoices", "invoices", "invoice", args.limit)
    methods = api.call("GetPaymentMethods")["paymentmethods"]["paymentmethod"]

    try:
        api.call("FrobnicateDomains")
        sys.exit("whmcspy conformance: an unknown action succeeded")
    except exceptions.Error as error:
        unknown = str(error)

    foreign = None
    if args.foreign_url:
        try:
            whmcspy.WHMCS(args.foreign_url, args.identifier, secret).call("GetCurrencies")
            sys.exit("whmcspy conformance: a foreign IP was let in")
        except exceptions.MissingPermission as error:
            foreign = str(error)

    print(json.dumps({
        "domains": ids,
        "domain_names": [d["domainname"] for d in domains],
        "payment_names": sorted({d["paymentmethodname"] for d in domains}),
        "clients": [int(c["id"]) for c in clients],
        "invoices": [int(i["id"]) for i in invoices],
        "payment_methods": {m["module"]: m["displayname"] for m in methods},
        "unknown_action": unknown,
        "foreign_ip": foreign,
    }))


if __name__ == "__main__":
    main()
