"""Sends usage to a Mikawaya server with Segment's own Python SDK, unmodified.

Usage: python3 send_with_segment_sdk.py HOST WRITE_KEY
Sends, for account EXT-a: 3 users identified and grouped, 40 "Report Run" tracks
(with a numeric property), 10 page views; with gzip on, as the SDK offers. Exits non-zero
if the SDK reports any error.
"""
import sys

from segment.analytics.client import Client

errors = []
client = Client(
    write_key=sys.argv[2],
    host=sys.argv[1],
    gzip=True,
    max_retries=2,
    upload_size=25,
    on_error=lambda error, items: errors.append(repr(error)),
)
for user in range(3):
    user_id = f"sdk-user-{user}"
    client.identify(user_id, {"email": f"{user_id}@customer-a.example", "name": f"SDK User {user}"})
    client.group(user_id, "EXT-a", {"name": "Account a"})
for number in range(40):
    client.track(f"sdk-user-{number % 3}", "Report Run", {"rows": number})
for number in range(10):
    client.page(f"sdk-user-{number % 3}", category="Docs", name="Getting Started")
client.flush()
client.join()
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
