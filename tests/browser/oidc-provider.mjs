// A real OpenID provider for the single sign-on test: npm's oidc-provider (certified),
// with its development login and consent pages. Any login name is accepted; its claims
// are the email it is, a name, and the groups listed below. Prints its issuer URL on the
// first line of stdout.
//
// Environment: REDIRECT_URI (Mikawaya's callback), CLIENT_ID, CLIENT_SECRET.
import Provider from 'oidc-provider';
import http from 'node:http';

const GROUPS = {
  'sso.admin@mikawaya.example': ['mikawaya-admins', 'everyone'],
  'sso.lead@mikawaya.example': ['cs-leaders', 'everyone'],
};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: { email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    conformIdTokenClaims: false,
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          const local = id.split('@')[0];
          return { sub: id, email: id, email_verified: true, name: `SSO ${local}`, groups: GROUPS[id] ?? ['everyone'] };
        },
      };
    },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  console.log(issuer);
});
