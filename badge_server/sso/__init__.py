"""Single sign-on: the server as OpenID Connect provider and SAML 2.0 identity provider."""

import warnings

from cryptography.utils import CryptographyDeprecationWarning

# pysaml2 imports a cipher mode that cryptography moved (saml2/cryptography/symmetric.py) and
# never uses it here; without this every server start and CLI run prints the warning.
warnings.filterwarnings("ignore", message="CFB has been moved", category=CryptographyDeprecationWarning)
