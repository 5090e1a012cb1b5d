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

/**
 * Makes a self-signed certificate (P-256, `CA:FALSE`, the subject alternative names `ips`) that
 * was valid from 2020-01-01 to 2020-01-02 00:00:00 UTC only, as `name`.pem and `name`-key.pem
 * in `dir`. openssl 3.0's `req -x509` cannot date a certificate in the past, so it is signed
 * by `openssl ca -selfsign` with explicit dates (a throw-away CA database in `dir`).
 */
export async function makeExpired(
  dir: string,
  name = "expired",
  ips: readonly string[] = ["127.0.0.1"],
): Promise<CertFiles> {
  const files = { cert: `${dir}/${name}.pem`, key: `${dir}/${name}-key.pem` };
  const ca = `${dir}/${name}-ca`;
  await Deno.mkdir(ca);
  await Deno.writeTextFile(`${ca}/index.txt`, "");
  await Deno.writeTextFile(`${ca}/serial`, "01\n");
  await Deno.writeTextFile(
    `${ca}/ca.cnf`,
    [
      "[ca]",
      "default_ca = d",
      "[d]",
      `database = ${ca}/index.txt`,
      `new_certs_dir = ${ca}`,
      `serial = ${ca}/serial`,
      "default_md = sha256",
      "policy = p",
      "x509_extensions = ext",
      "[p]",
      "commonName = supplied",
      "[ext]",
      "basicConstraints = critical,CA:FALSE",
      `subjectAltName = ${ips.map((ip) => `IP:${ip}`).join(",")}`,
      "",
    ].join("\n"),
  );
  const steps = [
    ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", files.key],
    [
      "req",
      "-new",
      "-key",
      files.key,
      "-subj",
      `/CN=conntop-test-${name}`,
      "-out",
      `${ca}/req.csr`,
    ],
    [
      "ca",
      "-batch",
      "-config",
      `${ca}/ca.cnf`,
      "-selfsign",
      "-keyfile",
      files.key,
      "-in",
      `${ca}/req.csr`,
      "-startdate",
      "20200101000000Z",
      "-enddate",
      "20200102000000Z",
      "-out",
      files.cert,
    ],
  ];
  for (const args of steps) {
    const out = await new Deno.Command("openssl", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code !== 0) {
      throw new Error(
        `Failed to make an expired test certificate with 'openssl ${
          args[0]
        }': exit code ${out.code}: ${new TextDecoder().decode(out.stderr).trim()}`,
      );
    }
  }
  return files;
}
