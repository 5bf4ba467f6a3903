"""authlib's OAuth2Session, unchanged, as a service would use it.

It authenticates with client_secret_basic, takes a service token by the
client-credentials grant, and calls the resource-service with it. Run by
auth-service/tests/api/oauth/authlib.rs; prints one JSON object.

    python authlib_client_credentials.py TOKEN_URL RESOURCE_URL CLIENT_ID CLIENT_SECRET
"""

import json
import sys

from authlib.integrations.requests_client import OAuth2Session

token_url, resource_url, client_id, client_secret = sys.argv[1:5]

session = OAuth2Session(
    client_id,
    client_secret,
    token_endpoint_auth_method="client_secret_basic",
)
token = session.fetch_token(token_url, grant_type="client_credentials")
me = session.get(f"{resource_url}/api/me")
print(
    json.dumps(
        {
            "token": {k: v for k, v in token.items() if k != "access_token"},
            "access_token": token["access_token"],
            "me_status": me.status_code,
            "me": me.json(),
        }
    )
)
