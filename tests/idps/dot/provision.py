"""Creates the test user and the worker's client in a fresh database.

Run by serve.sh through `manage.py shell`; reads DOT_CLIENT_ID, DOT_CLIENT_SECRET,
DOT_REDIRECT_URIS and DOT_POST_LOGOUT_URIS (space-separated) from the environment.
"""
import os

from django.contrib.auth.models import User
from oauth2_provider.models import Application

User.objects.create_user("demo", "demo@example.com", "demo", first_name="Demo", last_name="User")
Application.objects.create(
    name="edgeward",
    client_id=os.environ["DOT_CLIENT_ID"],
    client_secret=os.environ["DOT_CLIENT_SECRET"],
    # A hashed secret costs about 0.25 s per client-authenticated call (PBKDF2); a test
    # provider keeps it plain.
    hash_client_secret=False,
    client_type=Application.CLIENT_CONFIDENTIAL,
    authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
    redirect_uris=os.environ["DOT_REDIRECT_URIS"],
    post_logout_redirect_uris=os.environ["DOT_POST_LOGOUT_URIS"],
    algorithm=Application.RS256_ALGORITHM,
    skip_authorization=True,
)
