import os

from oauth2_provider.oauth2_validators import OAuth2Validator


class ProfileClaims(OAuth2Validator):
    """Profile and e-mail claims in the ID token and userinfo, released per scope.

    The form without a `request` argument (values are callables) is the one DOT also lists in
    discovery's claims_supported. With DOT_ID_TOKEN_CLAIMS=sub the ID token carries none of them
    (only `sub` and the protocol's claims): they are then only at userinfo, as with providers
    that keep ID tokens small.
    """

    def get_additional_claims(self):
        return {
            "name": lambda r: r.user.get_full_name() or r.user.username,
            "preferred_username": lambda r: r.user.username,
            "email": lambda r: r.user.email,
            "email_verified": lambda r: True,
        }

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        if os.environ.get("DOT_ID_TOKEN_CLAIMS") == "sub":
            for name in self.get_additional_claims():
                claims.pop(name, None)
        return claims, expiration_time
