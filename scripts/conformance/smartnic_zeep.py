#!/usr/bin/env python3
"""Drive a Smart-NIC (domain-bestellsystem) SOAP endpoint with zeep and print what it saw.

Used by crates/sandbox/tests/independent_clients.rs: zeep, an independent SOAP client,
loads the WSDL the endpoint serves and calls it as any PHP or Python integration would.
It asserts what it can check on its own (return codes, echoed clientTRID, the WSDL's
types) and prints JSON for the Rust side to compare with domwatch's own client.

    python smartnic_zeep.py --wsdl http://127.0.0.1:PORT/soap.wsdl --login L \
        --domain example.de --handle P-RSL001 [--limit 50]

The password comes from $DOMWATCH_REGISTRAR_PASSWORD. Steps: domainInfo, a full paged
domainListExtended walk, handleInfo, an unknown operation (posted raw: zeep only calls
operations its WSDL declares) whose fault zeep's own binding reads.
"""

import argparse
import json
import os
import sys

try:
    import requests
    import zeep
    from lxml import etree
    from zeep.transports import Transport
except ImportError:
    sys.exit("zeep is not installed: .venv/bin/pip install -r scripts/requirements-test.txt")

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
NS = "http://soap.domain-bestellsystem.de/soap/1.1/"

# zeep imports the SOAP encoding schema from its URL when a WSDL refers to it (this one
# types a few fields `soap-enc:base64Binary`). Tests reach nothing beyond loopback, so the
# part zeep needs is given here.
SOAP_ENC_SCHEMA = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="{SOAP_ENC}" targetNamespace="{SOAP_ENC}">
  <xs:attribute name="arrayType" type="xs:string"/>
  <xs:attribute name="offset" type="xs:string"/>
  <xs:simpleType name="base64Binary"><xs:restriction base="xs:base64Binary"/></xs:simpleType>
  <xs:complexType name="Array">
    <xs:sequence><xs:any minOccurs="0" maxOccurs="unbounded" processContents="lax"/></xs:sequence>
    <xs:attribute ref="tns:arrayType"/>
    <xs:attribute ref="tns:offset"/>
  </xs:complexType>
</xs:schema>"""


class LoopbackTransport(Transport):
    """zeep's transport, with the SOAP encoding schema served locally."""

    def load(self, url):
        if url.rstrip("/") == SOAP_ENC.rstrip("/"):
            return SOAP_ENC_SCHEMA.encode()
        return super().load(url)


def check(condition, message):
    if not condition:
        sys.exit(f"zeep conformance: {message}")


def returned_ok(answer, trid, what):
    check(answer.returnCode == 1000, f"{what}: returnCode {answer.returnCode} ({answer.returnMessage})")
    check(answer.clientTRID == trid, f"{what}: clientTRID {answer.clientTRID!r} not echoed as {trid!r}")


def items(array):
    """The entries of a zeep array value (a list, an object with `item`, or None)."""
    if array is None:
        return []
    if isinstance(array, list):
        return array
    inner = getattr(array, "item", None)
    return list(inner or [])


def list_walk(service, limit):
    names, offset, pages = [], 0, 0
    while True:
        trid = f"zeep-list-{offset}"
        answer = service.domainListExtended({
            "level": "own", "limit": str(limit), "offset": str(offset),
            "filter": {"item": [{"key": "", "value": ""}]},
            "fields": {"item": ["domainName", "paidUntilDate", "toBeDeletedDate"]},
            "clientTRID": trid,
        })
        returned_ok(answer, trid, "domainListExtended")
        rows = items(answer.domainInfo)
        pages += 1
        for row in rows:
            fields = {i.key: i.value for i in items(row.domainInfoItem)}
            check("domainName" in fields, f"a list row without domainName: {fields}")
            names.append(fields["domainName"])
        if len(rows) < limit:
            return names, pages
        offset += len(rows)


def unknown_operation(client, url, auth):
    envelope = (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{NS}"><SOAP-ENV:Body>'
        '<ns1:domainFly><domainFlyRequest><clientTRID>zeep-fly</clientTRID></domainFlyRequest>'
        "</ns1:domainFly></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    response = requests.post(url, data=envelope.encode(), auth=auth, timeout=20,
                             headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    operation = client.service._binding._operations["domainInfo"]
    try:
        client.service._binding.process_error(etree.fromstring(response.content), operation)
    except zeep.exceptions.Fault as fault:
        return {"http_status": response.status_code, "code": fault.code, "message": fault.message}
    sys.exit("zeep conformance: the unknown operation was not answered with a SOAP fault")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wsdl", required=True)
    parser.add_argument("--login", required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument("--handle", required=True)
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args()
    auth = (args.login, os.environ.get("DOMWATCH_REGISTRAR_PASSWORD", ""))
    session = requests.Session()
    session.auth = auth
    client = zeep.Client(args.wsdl, transport=LoopbackTransport(session=session, timeout=20))
    service = client.service

    info = service.domainInfo({"domainName": args.domain, "clientTRID": "zeep-info"})
    returned_ok(info, "zeep-info", "domainInfo")
    domains = items(info.domainsList)
    check(len(domains) == 1, f"domainInfo lists {len(domains)} domains")
    d = domains[0]
    check(d.domainName == args.domain, f"domainInfo answered for {d.domainName}")
    nameservers = [n.ns for n in items(d.nameservers)]

    names, pages = list_walk(service, args.limit)
    check(pages > 1, "the walk must span several pages")
    check(args.domain in names, f"{args.domain} is not in the list")

    handle = service.handleInfo({"handle": args.handle, "clientTRID": "zeep-handle"})
    returned_ok(handle, "zeep-handle", "handleInfo")

    url = client.service._binding_options["address"]
    fault = unknown_operation(client, url, auth)

    print(json.dumps({
        "zeep": zeep.__version__,
        "domain_info": {
            "domainName": d.domainName, "ownerC": d.ownerC, "adminC": d.adminC,
            "techC": d.techC, "zoneC": d.zoneC, "paidUntilDate": d.paidUntilDate,
            "toBeDeletedDate": d.toBeDeletedDate, "nameservers": nameservers,
            "remarks": d.remarks,
        },
        "list": names,
        "pages": pages,
        "handle": {"handle": handle.handle, "firstname": handle.firstname,
                   "lastname": handle.lastname, "email": handle.email},
        "unknown_operation": fault,
    }))


if __name__ == "__main__":
    main()
