/**
 * Self-signed TLS certificates for tests, made with `openssl` (Debian package openssl, listed in
 * scripts/setup.sh) in a directory the caller owns and deletes.
 *
 * The certificate says `CA:FALSE`: Deno's TLS (rustls, webpki) refuses a certificate marked as a
 * CA as the server's own ("CaUsedAsEndEntity"), even when it is the trusted one, and openssl's
 * default for a self-signed certificate is `CA:TRUE`.
 *
 * @module
 */

/** Paths of a certificate and its key. */
export interface CertFiles {
  cert: string;
  key: string;
}

/**
 * Makes a P-256 self-signed certificate valid for two days, with the subject alternative names
 * `ips` (default 127.0.0.1 and ::1), as `name`.pem and `name`-key.pem in `dir`.
 */
export async function makeSelfSigned(
  dir: string,
  name = "server",
  ips: readonly string[] = ["127.0.0.1", "::1"],
): Promise<CertFiles> {
  const files = { cert: `${dir}/${name}.pem`, key: `${dir}/${name}-key.pem` };
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-keyout",
      files.key,
      "-out",
      files.cert,
      "-subj",
      `/CN=conntop-test-${name}`,
      "-addext",
      `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(",")}`,
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(
      `Failed to make a test certificate with openssl: exit code ${out.code}: ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
  return files;
}
