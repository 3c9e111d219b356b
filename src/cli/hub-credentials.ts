/**
 * What the commands that talk to a hub over HTTP (`ssehub publish`, `subscribe`, `bench`) send
 * besides their own request: a token (`--token <jwt>`, else `$SSEHUB_TOKEN`) as
 * `Authorization: Bearer`, and extra headers (`--header 'Name: value'`, repeatable), checked
 * before anything is sent. Also how a 401 or 403 answer of the hub is told: its code and its
 * message, and what to pass to fix it.
 * @module
 */

/** The parseArgs options of the credentials, to spread into a command's options. */
export const CREDENTIAL_OPTIONS = {
  token: { type: "string" },
  header: { type: "string", multiple: true },
} as const;

/** The help lines of CREDENTIAL_OPTIONS, the flags padded to `width` columns. */
export function credentialUsage(width: number): string {
  return [
    `${"  --token JWT".padEnd(width)}token sent as Authorization: Bearer (default: $SSEHUB_TOKEN)`,
    `${"  --header H".padEnd(width)}an extra request header, 'Name: value'; repeat for more`,
  ].join("\n");
}

/** A mistake in the credentials: the command prints it and exits with its usage status. */
export class CredentialError extends Error {
  readonly code = "SSEHUB_ERR_OPTIONS_INVALID";
}

/** What parseArgs gives for CREDENTIAL_OPTIONS. */
export interface CredentialValues {
  readonly token?: string | undefined;
  readonly header?: readonly string[] | undefined;
}

/** A header name: an RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Characters a header value may not hold: controls other than tab, and DEL. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const VALUE_FORBIDDEN = /[\u0000-\u0008\u000a-\u001f\u007f]/;
/** Characters of a token: printable ASCII without space. */
const TOKEN = /^[\u0021-\u007e]+$/;
/** Headers HTTP itself, or the command, sets: a value given here would break the request. */
const MANAGED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "expect",
  "te",
  "trailer",
]);

/**
 * The headers to send for `values` and `env` (`SSEHUB_TOKEN`; the flag wins). Header names keep
 * the case given; a name given twice gets both values, joined with `, ` as HTTP allows.
 * @param ownHeaders the headers the command sets itself (`Content-Type`), refused in --header
 * @throws CredentialError naming the flag and what is wrong with it
 * @example
 * credentialHeaders({ token: "eyJ...", header: ["X-Tenant: acme"] }, process.env, ["Accept"]);
 * // { "X-Tenant": "acme", Authorization: "Bearer eyJ..." }
 */
export function credentialHeaders(
  values: CredentialValues,
  env: Readonly<Record<string, string | undefined>>,
  ownHeaders: readonly string[],
): Record<string, string> {
  const headers: Record<string, string> = {};
  const names = new Map<string, string>();
  const own = new Set(ownHeaders.map((name) => name.toLowerCase()));
  for (const line of values.header ?? []) {
    const [name, value] = parseHeader(line);
    if (own.has(name.toLowerCase())) {
      throw new CredentialError(
        `Cannot use --header ${JSON.stringify(line)}: the command sets ${name} itself`,
      );
    }
    const known = names.get(name.toLowerCase());
    if (known === undefined) {
      names.set(name.toLowerCase(), name);
      headers[name] = value;
    } else {
      headers[known] = `${headers[known]}, ${value}`;
    }
  }
  const token = tokenOf(values.token, env.SSEHUB_TOKEN);
  if (token !== undefined) {
    const given = names.get("authorization");
    if (given !== undefined) {
      throw new CredentialError(
        `Cannot use --header ${JSON.stringify(`${given}: ...`)} with a token (--token or $SSEHUB_TOKEN): both set Authorization; keep one`,
      );
    }
    headers.Authorization = `Bearer ${token}`;
  }
  return headers;
}

/** `[name, value]` of `Name: value`. */
function parseHeader(line: string): [string, string] {
  const colon = line.indexOf(":");
  const shown = JSON.stringify(line);
  if (colon < 0) {
    throw new CredentialError(
      `Cannot use --header ${shown}: write it as 'Name: value', with a colon after the name`,
    );
  }
  const name = line.slice(0, colon).trim();
  const value = line.slice(colon + 1).trim();
  if (!HEADER_NAME.test(name)) {
    throw new CredentialError(
      `Cannot use --header ${shown}: ${name === "" ? "the name is empty" : `the name ${JSON.stringify(name)} holds a character a header name may not (only letters, digits and !#$%&'*+-.^_\`|~)`}`,
    );
  }
  if (VALUE_FORBIDDEN.test(value)) {
    throw new CredentialError(
      `Cannot use --header ${shown}: the value holds a control character (a line break, NUL...), which would break the request`,
    );
  }
  if (MANAGED_HEADERS.has(name.toLowerCase())) {
    throw new CredentialError(`Cannot use --header ${shown}: ${name} is set by HTTP itself`);
  }
  return [name, value];
}

/** The token of the flag, else of the environment; undefined when neither gives one. */
function tokenOf(flag: string | undefined, env: string | undefined): string | undefined {
  const what = flag !== undefined ? "--token" : "$SSEHUB_TOKEN";
  const token = (flag ?? env)?.trim();
  if (token === undefined || (flag === undefined && token === "")) return undefined;
  if (token === "") throw new CredentialError("Cannot use --token: it is empty; give the JWT");
  if (/^bearer\s/i.test(token)) {
    throw new CredentialError(
      `Cannot use ${what}: give the token alone, without "Bearer " (the command adds it)`,
    );
  }
  if (!TOKEN.test(token)) {
    throw new CredentialError(
      `Cannot use ${what}: a token is printable ASCII with no space (a JWT is three base64url parts joined by dots)`,
    );
  }
  return token;
}

/**
 * What to change when the hub answers 401 or 403, printed on the line after its own code and
 * message. Undefined for other statuses, and for a 403 that tokens do not cause (a reserved
 * topic, a refused origin: the hub's message says it all).
 * @param code the hub's error code, when its answer had one
 * @param what the request: "publish" or "subscribe"
 */
export function refusalHint(
  status: number,
  code: string | undefined,
  what: string,
): string | undefined {
  const claim = `mercure.${what}`;
  const key = what === "publish" ? "publisher" : "subscriber";
  switch (code) {
    case "SSEHUB_ERR_AUTH_MISSING":
      return `pass a token with --token or $SSEHUB_TOKEN`;
    case "SSEHUB_ERR_AUTH_INVALID":
      return `check that the token is signed with the hub's ${key} key and has not expired`;
    case "SSEHUB_ERR_AUTH_FORBIDDEN":
      return `the token's ${claim} claim must cover every topic asked for`;
    case undefined:
      // Not the hub's answer (a proxy in front of it): its status is all there is.
      if (status === 401 || status === 403) {
        return `pass the credentials it asks for with --token, $SSEHUB_TOKEN or --header`;
      }
      return undefined;
    default:
      return undefined;
  }
}
