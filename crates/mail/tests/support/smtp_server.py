"""SMTP test server for domwatch's mail tests (aiosmtpd), and a reader for what it received.

  serve --port N --maildir DIR [--auth-login LOGIN] [--refuse ADDRESS]... [--auth-log FILE]
      An aiosmtpd server on 127.0.0.1:N that stores every accepted message in the Maildir DIR
      (like `python -m aiosmtpd -c aiosmtpd.handlers.Mailbox DIR`, which cannot do the rest):
      with --auth-login, AUTH PLAIN/LOGIN is required and the password is read from the
      environment variable DOMWATCH_SMTP_TEST_PASSWORD (not argv, so `ps` does not show it);
      every attempt is appended to --auth-log as JSON without the password. Each --refuse
      address gets `550 5.1.1` at RCPT TO. The server stops when its standard input closes,
      so it does not outlive a test process that was killed.

  read DIR
      Prints the messages of the Maildir DIR as a JSON list, in delivery order, parsed with
      Python's `email` package (an independent MIME parser): decoded headers, content type,
      text and html bodies, the Date as Unix time, and the raw message.
"""

import argparse
import email
import email.policy
import email.utils
import json
import mailbox
import os
import re
import sys

PASSWORD_VARIABLE = "DOMWATCH_SMTP_TEST_PASSWORD"


def serve(args):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox
    from aiosmtpd.smtp import AuthResult, LoginPassword

    refused = {address.lower() for address in args.refuse}

    class RefusingMailbox(Mailbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.lower() in refused:
                return f"550 5.1.1 <{address}>: mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    smtp_parameters = {}
    if args.auth_login is not None:
        password = os.environ.get(PASSWORD_VARIABLE, "").encode()

        def authenticator(server, session, envelope, mechanism, auth_data):
            success = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login == args.auth_login.encode()
                and auth_data.password == password
            )
            login = auth_data.login.decode(errors="replace") if isinstance(auth_data, LoginPassword) else None
            if args.auth_log:
                with open(args.auth_log, "a", encoding="utf-8") as log:
                    log.write(json.dumps({"mechanism": mechanism, "login": login, "success": success}) + "\n")
            # handled=False: aiosmtpd answers 235 or 535 itself.
            return AuthResult(success=success, handled=False)

        smtp_parameters = {
            "authenticator": authenticator,
            "auth_required": True,
            # The tests talk plain SMTP on loopback; real servers get ?tls=required.
            "auth_require_tls": False,
        }

    controller = Controller(
        RefusingMailbox(args.maildir), hostname="127.0.0.1", port=args.port, **smtp_parameters
    )
    controller.start()  # returns once the server answers
    try:
        sys.stdin.read()  # EOF: the test process is gone
    finally:
        controller.stop()


def delivery_order(key):
    # Maildir keys are `<seconds>.M<microseconds>P<pid>Q<counter>.<host>`.
    match = re.match(r"(\d+)\.M(\d+)P(\d+)Q(\d+)", key)
    return (tuple(int(part) for part in match.groups()) if match else (0, 0, 0, 0), key)


def body_text(message, subtype):
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_type() != f"text/{subtype}":
        return None
    return part.get_content()


def date_unix(message):
    date = message.get("Date")
    if date is None:
        return None
    try:
        return email.utils.parsedate_to_datetime(str(date)).timestamp()
    except (TypeError, ValueError):
        return None  # present but not RFC 5322: the test sees None


def read(args):
    box = mailbox.Maildir(args.maildir, create=False)
    messages = []
    for key in sorted(box.keys(), key=delivery_order):
        raw = box.get_bytes(key)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        messages.append(
            {
                "headers": [[name, str(value)] for name, value in message.items()],
                "date_unix": date_unix(message),
                "content_type": message.get_content_type(),
                "part_types": [part.get_content_type() for part in message.walk()],
                "text": body_text(message, "plain"),
                "html": body_text(message, "html"),
                "raw": raw.decode("utf-8", errors="replace"),
            }
        )
    json.dump(messages, sys.stdout, ensure_ascii=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve")
    serve_parser.add_argument("--port", type=int, required=True)
    serve_parser.add_argument("--maildir", required=True)
    serve_parser.add_argument("--auth-login")
    serve_parser.add_argument("--auth-log")
    serve_parser.add_argument("--refuse", action="append", default=[])
    read_parser = commands.add_parser("read")
    read_parser.add_argument("maildir")
    args = parser.parse_args()
    {"serve": serve, "read": read}[args.command](args)


if __name__ == "__main__":
    main()
