"""Local emulators for the providers the send flow talks to: Twilio (SMS) and SendGrid (mail).

Both follow the providers' published contracts closely enough that the official SDKs work
against them unchanged, with fault injection (429s, 5xx, timeouts, the ambiguous "created but
failed" case) and signed status callbacks / event webhooks.

Pointing the SDKs at an emulator (`base_url` from `run_in_thread(...).base_url` or the CLI):

    # Twilio (twilio 9.x): every Domain builds its URLs from `base_url`, so override the api domain's.
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client
    client = Client(settings.account_sid, settings.auth_token, http_client=TwilioHttpClient(timeout=10))
    client.api.base_url = base_url
    client.messages.create(to="+15558675310", from_="+15005550006", body="...", status_callback=url)

    # SendGrid (sendgrid 6.x / python_http_client 3.x): `host` replaces https://api.sendgrid.com;
    # the timeout lives on the underlying python_http_client.Client and is copied to each request.
    from sendgrid import SendGridAPIClient
    sg = SendGridAPIClient(settings.sendgrid_api_key, host=base_url)
    sg.client.timeout = 10
    sg.send(mail)                                   # or sg.client.mail.send.post(request_body=dict)

Put our `custom_args` inside `personalizations[]` (the spec types the top-level one as a string).

What each SDK raises (checked by tests/test_emulators.py):

| case | twilio | sendgrid |
| --- | --- | --- |
| 429 | `twilio.base.exceptions.TwilioRestException`, `.status == 429`, `.code == 20429` | `python_http_client.exceptions.TooManyRequestsError` |
| 500 | `TwilioRestException`, `.status == 500`, `.code == 20500` | `python_http_client.exceptions.InternalServerError` |
| 502 | `TwilioRestException`, `.status == 502`, `.code == 20500` | `python_http_client.exceptions.HTTPError` (base class: 502 has no subclass) |
| 503 | `TwilioRestException`, `.status == 503`, `.code == 20503` | `python_http_client.exceptions.ServiceUnavailableError` |
| 504 | `TwilioRestException`, `.status == 504`, `.code == 20500` | `python_http_client.exceptions.GatewayTimeoutError` |
| read timeout | `requests.exceptions.ReadTimeout` (not wrapped) | `TimeoutError` (= `socket.timeout`; not wrapped in URLError) |
| connection refused | `requests.exceptions.ConnectionError` | `urllib.error.URLError`, `.reason` is a `ConnectionRefusedError` |
| permanent (4xx) | `TwilioRestException`, `.status` 400/401/404, `.code` e.g. 21211, 21610 | `BadRequestsError` (400), `UnauthorizedError` (401), `ForbiddenError` (403), `PayloadTooLargeError` (413) |

sendgrid errors all derive from `python_http_client.exceptions.HTTPError` (not urllib's): status in
`.status_code`, raw body in `.body` (bytes; `.to_dict` parses it), headers in `.headers` (an
`http.client.HTTPMessage`: `exc.headers["Retry-After"]`, `exc.headers["X-RateLimit-Reset"]`).
A connect timeout (not a read timeout) arrives as `URLError` whose `.reason` is a `TimeoutError`
(per urllib's source; twilio's is `requests.exceptions.ConnectTimeout`; neither is exercised in tests).

`TwilioRestException` has `.status` (HTTP), `.code` (Twilio code), `.msg`, `.uri`, `.method` but no
headers: read Retry-After from the HTTP client after the call —
`client.http_client._test_only_last_response.headers["Retry-After"]` (one client per thread) — or
subclass `TwilioHttpClient` and keep `response.headers` from `request()`. Careful: list/page calls
do not raise `TwilioRestException` on errors but the base `TwilioException("Unable to fetch page",
response)`, the HTTP status in `exc.args[1].status_code`. Both SDKs' `requests`/urllib errors are
not wrapped by the SDK at all.

sendgrid-python quirk: `Mail.add_personalization(p)` inserts at index 0 (reverse order); pass
`index=len(mail.personalizations or [])` to append.
"""

from simulate.emulators.app import EmulatorStore, create_app
from simulate.emulators.server import RunningEmulator, run_in_process, run_in_thread, serve
from simulate.emulators.settings import EmulatorSettings

__all__ = [
    "EmulatorSettings",
    "EmulatorStore",
    "RunningEmulator",
    "create_app",
    "run_in_process",
    "run_in_thread",
    "serve",
]
