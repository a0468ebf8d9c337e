"""GCS `dir` access: `opensharing serve` vends a downscoped token through the two calls the
engine builds (a JWT-bearer grant, then Google STS's token exchange with a credential access
boundary) and the host sends. No Google endpoint installs here, so a local stand-in answers both
calls and records them; Google's own `google-auth` library is the oracle for what was sent:
- it verifies our RS256 assertion with the key's public half and checks its claims;
- it builds the token exchange for the same boundary (its `AccessBoundaryRule` validates the
  permission syntax, `inRole:…`), and the form it sends equals ours field for field."""
import hashlib
import http.server
import json
import os
import threading
import urllib.parse
import urllib.request

import pytest

from harness import opensharing_serve, service_account

TOKEN = "e2e-gcs-token-0123456789"
BUCKET = "lake-bucket"
SOURCE_TOKEN = "ya29.source-token"
DOWNSCOPED_TOKEN = "ya29.downscoped-token"


class Recorder(http.server.BaseHTTPRequestHandler):
    """Stands in for oauth2.googleapis.com/token and sts.googleapis.com/v1/token."""
    calls = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.calls.append((self.path, dict(self.headers), body))
        token = SOURCE_TOKEN if self.path == "/token" else DOWNSCOPED_TOKEN
        reply = json.dumps({"access_token": token, "expires_in": 3599, "token_type": "Bearer",
                            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def gcs(tmp_path_factory):
    if os.environ.get("OPENSHARING_SKIP_E2E") == "1":
        pytest.skip("OPENSHARING_SKIP_E2E=1")
    info, public_pem = service_account()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    google = f"http://127.0.0.1:{server.server_address[1]}"
    config = {
        "stores": {"gcs": {"kind": "gcs", "bucket": BUCKET, "service_account_key": json.dumps(info),
                           "vend": {"token_endpoint": f"{google}/token", "sts_endpoint": f"{google}/sts"}}},
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
            {"type": "volume", "name": "v", "store": "gcs", "path": "volumes/v"}]}]}],
        "recipients": [{"name": "e2e", "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest(), "shares": ["s"]}],
    }
    work = tmp_path_factory.mktemp("gcs-downscope")
    try:
        with opensharing_serve(config, work) as (url, _, _, _):
            req = urllib.request.Request(f"{url}/shares/s/schemas/d/volumes/v/temporary-volume-credentials",
                                         data=b"", method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
            with urllib.request.urlopen(req, timeout=30) as r:
                grant = json.loads(r.read())
            yield {"grant": grant, "calls": list(Recorder.calls), "google": google, "public_pem": public_pem,
                   "info": info}
    finally:
        server.shutdown()


def form(body):
    return dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))


def test_the_recipient_gets_the_downscoped_token(gcs):
    assert gcs["grant"]["gcpOauthToken"] == {"oauthToken": DOWNSCOPED_TOKEN}
    assert [path for path, _, _ in gcs["calls"]] == ["/token", "/sts"]


def test_google_auth_verifies_the_assertion(gcs):
    from google.auth import jwt

    _, headers, body = gcs["calls"][0]
    fields = form(body)
    assert fields["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(fields["assertion"], certs=gcs["public_pem"], audience=f"{gcs['google']}/token")
    assert claims["iss"] == gcs["info"]["client_email"]
    assert claims["scope"] == "https://www.googleapis.com/auth/devstorage.read_only"
    assert claims["exp"] - claims["iat"] == 3600
    assert {k.lower(): v for k, v in headers.items()}["content-type"] == "application/x-www-form-urlencoded"


def test_google_auth_sends_the_same_token_exchange(gcs):
    from google.auth import credentials, downscoped

    ours = form(gcs["calls"][1][2])
    rule = json.loads(urllib.parse.unquote(ours["options"]))["accessBoundary"]["accessBoundaryRules"][0]
    boundary = downscoped.CredentialAccessBoundary(rules=[downscoped.AccessBoundaryRule(
        available_resource=rule["availableResource"],
        available_permissions=rule["availablePermissions"],
        availability_condition=downscoped.AvailabilityCondition(
            expression=rule["availabilityCondition"]["expression"]))])

    class Source(credentials.Credentials):
        def refresh(self, request):
            self.token = SOURCE_TOKEN

    sent = []

    class Response:
        status = 200
        headers = {}
        data = json.dumps({"access_token": DOWNSCOPED_TOKEN, "expires_in": 3599, "token_type": "Bearer",
                           "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}).encode()

    def request(url, method="GET", body=None, headers=None, **_):
        sent.append((url, body))
        return Response()

    theirs = downscoped.Credentials(source_credentials=Source(), credential_access_boundary=boundary)
    theirs.refresh(request)
    assert theirs.token == DOWNSCOPED_TOKEN
    url, body = sent[-1]
    assert url == "https://sts.googleapis.com/v1/token"
    expected = form(body.encode() if isinstance(body, str) else body)
    # Both percent-encode the boundary JSON once more inside the form field.
    assert json.loads(urllib.parse.unquote(expected.pop("options"))) == json.loads(urllib.parse.unquote(ours.pop("options")))
    assert expected == ours
    # And the boundary allows reading and listing the volume's prefix only.
    assert rule["availableResource"] == f"//storage.googleapis.com/projects/_/buckets/{BUCKET}"
    assert rule["availablePermissions"] == ["inRole:roles/storage.objectViewer"]
    assert f"'projects/_/buckets/{BUCKET}/objects/volumes/v/'" in rule["availabilityCondition"]["expression"]
