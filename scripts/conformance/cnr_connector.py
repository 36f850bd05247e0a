#!/usr/bin/env python3
"""Drive a CNR endpoint with the official Python connector and print what it saw as JSON.

Used by the conformance test (crates/sandbox/tests/registrar_conformance.rs) to check that
the sandbox registrar answers the official SDK (centralnicreseller-apiconnector 6.0.0)
exactly as it answers domwatch's own client.

    python cnr_connector.py --url http://127.0.0.1:8480/api/call.cgi --login L \
        [--limit 25] [--domain example.com]

The password comes from $DOMWATCH_REGISTRAR_PASSWORD (kept off the command line so it does
not show in process lists). Steps: session login, StatusAccount, a full multi-page
QueryDomainList WIDE=1 walk with requestAllResponsePages, StatusDomain, logout.
"""

import argparse
import json
import os
import sys

try:
    from centralnicreseller.apiconnector import __version__ as connector_version
    from centralnicreseller.apiconnector.apiclient import APIClient
except ImportError:
    sys.exit(
        "centralnicreseller-apiconnector is not installed: "
        "python3 -m venv .venv && .venv/bin/pip install centralnicreseller-apiconnector==6.0.0"
    )


def first(response, column):
    """First value of a column (SDK-normalised name), or None."""
    col = response.getColumn(column)
    if col is None:
        return None
    data = col.getData()
    return data[0] if data else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="API endpoint, e.g. http://127.0.0.1:8480/api/call.cgi")
    parser.add_argument("--login", required=True)
    parser.add_argument("--limit", type=int, default=25, help="page size of the domain list walk")
    parser.add_argument("--domain", help="domain for StatusDomain (default: the first listed)")
    args = parser.parse_args()
    password = os.environ.get("DOMWATCH_REGISTRAR_PASSWORD")
    if not password:
        sys.exit("set DOMWATCH_REGISTRAR_PASSWORD to the account password")

    client = APIClient()
    client.setURL(args.url)
    client.setCredentials(args.login, password)
    out = {"connector_version": connector_version}

    login = client.login()
    out["login"] = {
        "code": login.getCode(),
        "description": login.getDescription(),
        "has_session": first(login, "SESSIONID") is not None,
    }
    if not login.isSuccess():
        print(json.dumps(out, indent=2))
        return 1

    account = client.request({"COMMAND": "StatusAccount"})
    out["status_account"] = {
        "code": account.getCode(),
        "amount": first(account, "AMOUNT"),
        "currency": first(account, "CURRENCY"),
        "credit_threshold": first(account, "CREDITTHRESHOLD"),
    }

    pages = client.requestAllResponsePages(
        {"COMMAND": "QueryDomainList", "WIDE": 1, "LIMIT": args.limit}
    )
    out["pages"] = [
        {
            "code": page.getCode(),
            "first": page.getFirstRecordIndex(),
            "last": page.getLastRecordIndex(),
            "count": int(first(page, "COUNT") or 0),
            "limit": page.getRecordsLimitation(),
            "total": page.getRecordsTotalCount(),
            "page": page.getCurrentPageNumber(),
            "pages": page.getNumberOfPages(),
        }
        for page in pages
    ]
    domains = []
    for page in pages:
        # Records, not columns: the SDK's own row view of a list page.
        for record in page.getRecords():
            row = record.getData()
            if "DOMAIN" not in row:
                continue
            domains.append(
                {
                    "domain": row["DOMAIN"],
                    "paid_until": row.get("PAIDUNTILDATE"),
                    "registration_expiration": row.get("DOMAINREGISTRATIONEXPIRATIONDATE"),
                    "renewal_mode": row.get("RENEWALMODE"),
                }
            )
    out["domains"] = domains
    out["total"] = pages[0].getRecordsTotalCount() if pages else 0

    name = args.domain or (domains[0]["domain"] if domains else None)
    if name:
        status = client.request(
            {"COMMAND": "StatusDomain", "DOMAIN": name, "X-FEE-COMMAND": "renew"}
        )
        out["status_domain"] = {
            "code": status.getCode(),
            "domain": first(status, "DOMAIN"),
            "paid_until": first(status, "PAIDUNTILDATE"),
            "registration_expiration": first(status, "REGISTRATIONEXPIRATIONDATE"),
            "renewal_mode": first(status, "RENEWALMODE"),
            "fee_class": first(status, "X-FEE-CLASS"),
            "fee_amount": first(status, "X-FEE-AMOUNT"),
        }

    missing = client.request({"COMMAND": "StatusDomain", "DOMAIN": "never-registered-domwatch.com"})
    out["status_missing_domain"] = {"code": missing.getCode(), "description": missing.getDescription()}
    last = client.request({"COMMAND": "QueryDomainList", "FIRST": 0, "LAST": 1})
    out["list_with_last"] = {"code": last.getCode(), "description": last.getDescription()}

    logout = client.logout()
    out["logout"] = {"code": logout.getCode()}
    print(json.dumps(out, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
