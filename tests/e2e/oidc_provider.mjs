// A real OpenID Provider (node's `oidc-provider`) for the federated-recipient tests: it issues
// RS256 JWT access tokens through the client-credentials grant, with the audience named by the
// resource indicator (ours when the client sends none, as the delta-sharing client does).
//
//   OPENSHARING_NODE_OIDC=<npm prefix holding oidc-provider> node oidc_provider.mjs PORT AUDIENCE KID
//
// (scripts/setup.sh installs oidc-provider under $OPENSHARING_CACHE/node-oidc; ES modules do not
// read NODE_PATH, hence the variable.)
//
// Clients: `reader` (a recipient), `stranger` (matches no recipient), `short` (30-second tokens
// for the expiry test), which authenticate with HTTP Basic as the delta-sharing client does; and
// `pyiceberg` (a recipient) and `pyiceberg-stranger`, which post their credentials in the form
// body as pyiceberg does. Each has secret `<id>-secret`. `GET /test/counts` answers how many
// discovery and JWKS requests were served, so a test can count the engine's fetches.
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modules = join(process.env.OPENSHARING_NODE_OIDC, "node_modules", "oidc-provider", "lib", "index.js");
const { default: Provider } = await import(pathToFileURL(modules).href);

const [port, audience, kid] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };

const client = (id, authMethod = "client_secret_basic") => ({
  client_id: id,
  client_secret: `${id}-secret`,
  grant_types: ["client_credentials"],
  redirect_uris: [],
  response_types: [],
  token_endpoint_auth_method: authMethod,
});

const provider = new Provider(issuer, {
  clients: [
    client("reader"),
    client("stranger"),
    client("short"),
    client("pyiceberg", "client_secret_post"),
    client("pyiceberg-stranger", "client_secret_post"),
  ],
  jwks: { keys: [signingKey] },
  scopes: ["share"],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource, client) => ({
        scope: "share",
        audience: resource,
        accessTokenFormat: "jwt",
        accessTokenTTL: client.clientId === "short" ? 30 : 3600,
        jwt: { sign: { alg: "RS256" } },
      }),
    },
  },
});

const counts = { discovery: 0, jwks: 0 };
provider.use(async (ctx, next) => {
  if (ctx.path === "/test/counts") {
    ctx.body = counts;
    return;
  }
  if (ctx.path === "/.well-known/openid-configuration") counts.discovery += 1;
  if (ctx.path === "/jwks") counts.jwks += 1;
  await next();
});

provider.listen(Number(port), "127.0.0.1", () => console.log(`oidc-provider ${issuer} kid=${kid}`));
