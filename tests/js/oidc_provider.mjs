// A real OpenID Connect provider for the tests (npm's oidc-provider, a certified
// implementation): one confidential client, the development login and consent pages,
// any login accepted as the account's subject.
//   node oidc_provider.mjs PORT REDIRECT_URI CLIENT_ID CLIENT_SECRET
import Provider from "oidc-provider";

const [port, redirectUri, clientId, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    response_types: ["code"],
    grant_types: ["authorization_code"],
    token_endpoint_auth_method: "client_secret_basic",
  }],
  cookies: { keys: ["mvoting-tests-only"] },
  claims: { openid: ["sub"], profile: ["name"] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, sub) {
    return { accountId: sub, async claims() { return { sub, name: `Citizen ${sub}` }; } };
  },
});
provider.proxy = false;
provider.listen(Number(port), "127.0.0.1", () => {
  process.stdout.write(`listening ${issuer}\n`);
});
