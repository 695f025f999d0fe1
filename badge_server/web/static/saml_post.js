// The SAML HTTP-POST binding: carry the signed response to the app's registered address at once.
// (The page's CSP forbids inline script, hence this file; without JavaScript a button does it.)
document.getElementById("saml-post").submit();
