from oauth2_provider.oauth2_validators import OAuth2Validator


class ProfileClaims(OAuth2Validator):
    """Profile and e-mail claims in the ID token and userinfo, released per scope.

    The form without a `request` argument (values are callables) is the one DOT also lists in
    discovery's claims_supported.
    """

    def get_additional_claims(self):
        return {
            "name": lambda r: r.user.get_full_name() or r.user.username,
            "preferred_username": lambda r: r.user.username,
            "email": lambda r: r.user.email,
            "email_verified": lambda r: True,
        }
