"""A certificate authority made at start-up (trustme), and the certificates it signs."""

import hashlib
import os
import ssl

import trustme

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class Authority:
    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.ca = trustme.CA(organization_name="hybridcloud.ops simulator")
        self.ca_path = os.path.join(state_dir, "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_path)

    def server_context(self, name, identities=LOOPBACK_NAMES, client_auth=False):
        """An SSLContext serving a certificate of its own, written to <name>-cert.pem too."""
        cert = self.ca.issue_cert(*identities, common_name=identities[0],
                                  organization_name="hybridcloud.ops simulator %s" % name)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        if client_auth:
            ctx.verify_mode = ssl.CERT_OPTIONAL
            self.ca.configure_trust(ctx)
        path = os.path.join(self.state_dir, "%s-cert.pem" % name)
        cert.cert_chain_pems[0].write_to_path(path)
        return ctx, path

    def client_certificate(self, name, identity):
        """A client certificate and key signed by this CA, written as two PEM files."""
        cert = self.ca.issue_cert(identity, common_name=identity)
        cert_path = os.path.join(self.state_dir, "%s-client-cert.pem" % name)
        key_path = os.path.join(self.state_dir, "%s-client-key.pem" % name)
        cert.cert_chain_pems[0].write_to_path(cert_path)
        cert.private_key_pem.write_to_path(key_path)
        os.chmod(key_path, 0o600)
        return cert_path, key_path


def sha256_thumbprint(cert_path):
    """SHA-256 of a PEM certificate's DER bytes, as 'AA:BB:...'."""
    with open(cert_path) as handle:
        der = ssl.PEM_cert_to_DER_cert(handle.read())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))
